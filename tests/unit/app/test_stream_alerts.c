/*
 * riskgate run --alerts on the mock cluster (stream_kafka_harness.h, the
 * real runner: every decision, emitted or not, is an alert):
 *   - another process holds the store's write lock for seconds mid-stream
 *     (SQLITE_BUSY): nothing is lost, and no decide task's position passes
 *     an event whose alerts are not in the store (alerts are outputs like
 *     decisions: checked from outside all along, beside the harness's
 *     invariant); at the end the store holds exactly one alert per
 *     decision;
 *   - the release outbox: an alert with a freeze, labelled legit and
 *     resolved through the store API, is delivered to the action topic and
 *     marked sent; a delivery that fails is produced again; with the action
 *     topic's broker down the row stays unsent, and is delivered (once) and
 *     marked when the broker is back.
 */
#include <sqlite3.h>

#include "store/alerts.h"
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

typedef struct alerts_db {
    char path[160];
    sqlite3 *reader;            /* the test's own read connection (WAL: never blocks) */
} alerts_db;

static void db_up(alerts_db *db, harness *h)
{
    snprintf(db->path, sizeof db->path, "%s/alerts.db", h->dir);
    db->reader = NULL;          /* created by the runner; opened once it exists */
}

static sqlite3 *db_reader(alerts_db *db)
{
    if (!db->reader) {
        assert_int_equal(sqlite3_open_v2(db->path, &db->reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db->reader, 5000);
    }
    return db->reader;
}

static void db_down(alerts_db *db) { sqlite3_close(db->reader); }

static int64_t db_count(alerts_db *db, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db_reader(db), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static bool db_has_alert(alerts_db *db, const char *decision_id)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db_reader(db), "SELECT 1 FROM alerts WHERE decision_id = ?1", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/* The alert side of the invariant, after a check_invariant that read the
 * positions (so the store is read after them): every EVENT record below a
 * decide task's position has all its event's alerts in the store. */
static void check_alerts_covered(harness *h, alerts_db *db)
{
    for (int d = 0; d < NPART; d++)
        for (size_t i = 0; i < h->event_recs[d].n; i++) {
            const rec_seen *rs = &h->event_recs[d].v[i];
            if (rs->offset >= h->pos[2][d])
                continue;
            const ev_rec *e = event_at(h, rs->src_partition, rs->src_offset);
            for (int k = 0; k < e->n_dids; k++)
                if (!db_has_alert(db, e->dids[k]))
                    fail_msg("decide/%d's position is %lld but alert %s (its offset %lld) is not in the store", d,
                             (long long)h->pos[2][d], e->dids[k], (long long)rs->offset);
        }
}

/* ---- SQLITE_BUSY: another process holds the write lock ---- */

typedef struct lock_window {
    alerts_db *db;
    sqlite3 *holder;            /* a writer of our own, holding BEGIN IMMEDIATE */
    int64_t locked_at;
    bool locked, released;
    int alert_checks;
} lock_window;

static void hold_write_lock(harness *h, int round, void *arg)
{
    (void)round;
    lock_window *w = arg;
    if (!w->locked && h->n_seen_distinct > 0) {
        assert_int_equal(sqlite3_open(w->db->path, &w->holder), SQLITE_OK);
        /* The runner may be writing at that moment: wait for its lock. */
        sqlite3_busy_timeout(w->holder, 30000);
        assert_int_equal(sqlite3_exec(w->holder, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        w->locked = true;
        w->locked_at = now_ms();
        /* Decisions keep flowing to Kafka meanwhile; their alerts wait. */
        produce_batch(h, 100000, 1500, 0);
    } else if (w->locked && !w->released && now_ms() - w->locked_at >= 3000) {
        assert_int_equal(sqlite3_exec(w->holder, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(w->holder);
        w->released = true;
        h->hold_completion = false;
    }
    /* Positions as of the previous round's check (read before the store). */
    if (w->locked && h->checks > 0) {
        check_alerts_covered(h, w->db);
        w->alert_checks++;
    }
}

static void test_alerts_wait_for_a_locked_store(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-alerts-busy");
    alerts_db db;
    db_up(&db, &h);
    reader_start(&h);
    runner r;
    runner_opts o = {.alerts_path = db.path};
    runner_start_opts(&r, &h, &o);
    produce_batch(&h, 0, 500, 0);
    lock_window w = {.db = &db};
    h.hold_completion = true;
    await_all(&h, 120000, hold_write_lock, &w);
    assert_true(w.released);
    assert_true(w.alert_checks > 0);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    check_alerts_covered(&h, &db);
    /* Exactly one alert per decision. */
    assert_int_equal(db_count(&db, "SELECT count(*) FROM alerts"), (int64_t)h.n_expected);
    assert_int_equal(db_count(&db, "SELECT count(DISTINCT decision_id) FROM alerts"), (int64_t)h.n_expected);
    assert_true(r.counts.alert_store_errors > 0);   /* it did meet the lock */
    assert_int_equal(r.counts.alerts_stored, h.n_expected);
    db_down(&db);
    harness_down(&h);
}

/* ---- the release outbox ---- */

static void release(rg_alert_store *store, const char *alert_id)
{
    char err[512];
    bool queued = false;
    assert_int_equal(rg_alert_store_label(store, alert_id, "legit", NULL, "tester", err, sizeof err), 1);
    assert_int_equal(rg_alert_store_resolve(store, alert_id, "tester", &queued, err, sizeof err), 1);
    assert_true(queued);
}

static size_t unsent(rg_alert_store *store)
{
    rg_outbox_item *items;
    size_t n;
    char err[512];
    assert_int_equal(rg_alert_store_outbox_pending(store, 0, &items, &n, err, sizeof err), 0);
    rg_outbox_items_free(items, n);
    return n;
}

static void await_unsent(rg_alert_store *store, size_t want, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    size_t n;
    while ((n = unsent(store)) != want) {
        if (now_ms() > deadline)
            fail_msg("%zu releases unsent, expected %zu", n, want);
        sleep_ms(50);
    }
}

static void test_release_outbox_delivery(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-alerts-outbox");
    alerts_db db;
    db_up(&db, &h);
    reader_start(&h);
    runner r;
    runner_opts o = {.alerts_path = db.path};
    runner_start_opts(&r, &h, &o);
    produce_batch(&h, 0, 300, 0);
    await_all(&h, 60000, NULL, NULL);
    char err[512];
    rg_alert_store *store = rg_alert_store_open(db.path, RG_ALERTS_EXISTING, err, sizeof err);
    if (!store)
        fail_msg("%s", err);

    /* 1. Released while everything is up: delivered and marked sent. The
     * action topic's broker first answers two Produce requests with a
     * permanent error: the release is produced again. (e-000003 is a
     * transfer of 150000 to c-3: a freeze on c-3.) */
    assert_int_equal(rd_kafka_mock_broker_push_request_error_rtts(h.mc, ACTIONS_BROKER, 0 /* Produce */, 2,
                                                                  RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0,
                                                                  RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0),
                     0);
    const char *rel1 = "e-000003/c-3/release";
    expect_decision(&h, rel1);
    release(store, "e-000003/c-3");
    await_all(&h, 60000, NULL, NULL);
    await_unsent(store, 0, 10000);

    /* 2. Released while the action topic's broker is down: the row stays
     * unsent; delivered once and marked when the broker is back. */
    assert_int_equal(rd_kafka_mock_broker_set_down(h.mc, ACTIONS_BROKER), 0);
    const char *rel2 = "e-000006/c-6/release";
    expect_decision(&h, rel2);
    release(store, "e-000006/c-6");
    sleep_ms(3000);                      /* three outbox reads */
    assert_int_equal(unsent(store), 1);
    assert_int_equal(rd_kafka_mock_broker_set_up(h.mc, ACTIONS_BROKER), 0);
    await_all(&h, 60000, NULL, NULL);
    await_unsent(store, 0, 10000);

    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    /* One record per release however often the outbox was read. */
    assert_int_equal(seen_count(&h, rel1), 1);
    assert_int_equal(seen_count(&h, rel2), 1);
    assert_true(r.counts.releases_delivered >= 2);
    assert_int_equal(rg_alert_store_close(store, err, sizeof err), 0);
    db_down(&db);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_alerts_wait_for_a_locked_store),
        STREAM_TEST(test_release_outbox_delivery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
