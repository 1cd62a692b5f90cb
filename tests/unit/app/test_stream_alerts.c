/*
 * riskgate run --alerts on the mock cluster (stream_kafka_harness.h, the
 * fake processor handing every decision to the store):
 *   - another process holds the store's write lock for seconds mid-stream
 *     (SQLITE_BUSY): nothing is lost, and no committed offset passes an
 *     event whose alert is not in the store (checked from outside all
 *     along, beside the action-topic invariant); at the end the store holds
 *     exactly one alert per decision produced;
 *   - the release outbox: an alert labelled legit and resolved through the
 *     store API is delivered to the action topic and marked sent; a
 *     delivery that fails is produced again; with the action topic's broker
 *     down the row stays unsent, and is delivered (once) and marked when
 *     the broker is back.
 */
#include <sqlite3.h>

#include "store/alerts.h"
#include "stream_kafka_harness.h"

typedef struct alerts_db {
    char dir[64];
    char path[96];
    sqlite3 *reader;            /* the test's own read connection (WAL: never blocks) */
} alerts_db;

static void db_up(alerts_db *db)
{
    snprintf(db->dir, sizeof db->dir, "/tmp/rg-alerts-XXXXXX");
    assert_non_null(mkdtemp(db->dir));
    snprintf(db->path, sizeof db->path, "%s/alerts.db", db->dir);
    /* Created by the runner; open ours once it exists. */
    db->reader = NULL;
}

static sqlite3 *db_reader(alerts_db *db)
{
    if (!db->reader) {
        assert_int_equal(sqlite3_open_v2(db->path, &db->reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db->reader, 5000);
    }
    return db->reader;
}

static void db_down(alerts_db *db)
{
    sqlite3_close(db->reader);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", db->dir);
    assert_int_equal(system(cmd), 0);
}

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

/* The alert-side invariant: every event below a committed offset has all
 * its alerts in the store (the runner commits only after writing them). */
static void check_alerts_committed(harness *h, alerts_db *db)
{
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(c, EVENTS, p);
    if (rd_kafka_committed(h->checker, c, 1000) != 0) {
        rd_kafka_topic_partition_list_destroy(c);
        return;
    }
    for (int p = 0; p < 3; p++) {
        int64_t committed = c->elems[p].offset;
        if (c->elems[p].err || committed < 0)
            continue;
        for (size_t i = 0; i < h->n_produced; i++) {
            if (h->produced[i].partition != p || h->produced[i].offset >= committed)
                continue;
            char ids[128];
            snprintf(ids, sizeof ids, "%s", h->produced[i].ids);
            char *save = NULL;
            for (char *id = strtok_r(ids, ";", &save); id; id = strtok_r(NULL, ";", &save))
                if (!db_has_alert(db, id))
                    fail_msg("partition %d committed at %lld but alert %s (offset %lld) is not in the store", p,
                             (long long)committed, id, (long long)h->produced[i].offset);
        }
    }
    rd_kafka_topic_partition_list_destroy(c);
}

/* ---- SQLITE_BUSY: another process holds the write lock ---- */

typedef struct lock_window {
    alerts_db *db;
    sqlite3 *holder;            /* a writer of our own, holding BEGIN IMMEDIATE */
    int64_t locked_at;
    bool locked, released;
} lock_window;

static void hold_write_lock(harness *h, int round, void *arg)
{
    (void)round;
    lock_window *w = arg;
    if (!w->locked && h->n_seen_distinct > 0) {
        assert_int_equal(sqlite3_open(w->db->path, &w->holder), SQLITE_OK);
        assert_int_equal(sqlite3_exec(w->holder, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        w->locked = true;
        w->locked_at = now_ms();
        /* Decisions keep flowing to Kafka meanwhile; their alerts wait. */
        produce_workload(h, 100000, 1500, 0);
    } else if (w->locked && !w->released && now_ms() - w->locked_at >= 3000) {
        assert_int_equal(sqlite3_exec(w->holder, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(w->holder);
        w->released = true;
        h->hold_completion = false;
    }
    if (w->locked && w->db->reader)
        check_alerts_committed(h, w->db);
    else if (w->locked)
        db_reader(w->db);
}

static void test_alerts_wait_for_a_locked_store(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-alerts-busy", true, true);
    alerts_db db;
    db_up(&db);
    reader_start(&h);
    runner r;
    runner_opts o = {.alerts_path = db.path};
    runner_start_opts(&r, &h, NULL, 0, 50, &o);
    produce_workload(&h, 0, 500, 0);
    lock_window w = {.db = &db};
    h.hold_completion = true;
    await_all(&h, 120000, hold_write_lock, &w);
    assert_true(w.released);
    assert_int_equal(runner_stop(&r), 0);
    check_alerts_committed(&h, &db);
    /* Exactly one alert per decision produced. */
    assert_int_equal(db_count(&db, "SELECT count(*) FROM alerts"), (int64_t)h.n_expected);
    assert_int_equal(db_count(&db, "SELECT count(DISTINCT decision_id) FROM alerts"), (int64_t)h.n_expected);
    assert_true(r.counts.alert_store_errors > 0);   /* it did meet the lock */
    harness_down(&h);
    db_down(&db);
}

/* ---- the release outbox ---- */

/* Expect one more record on the action topic: the release of alert id. */
static void expect_release(harness *h, const char *alert_id, char *release_id, size_t n)
{
    snprintf(release_id, n, "%s/release", alert_id);
    bool created = false;
    rg_strmap_put(h->expected, release_id, strlen(release_id), &created);
    assert_true(created);
    h->n_expected++;
}

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

static bool seen(harness *h, const char *id)
{
    int *count = rg_strmap_get(h->expected, id, strlen(id));
    return count && *count > 0;
}

static void test_release_outbox_delivery(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-alerts-outbox", true, true);
    alerts_db db;
    db_up(&db);
    reader_start(&h);
    runner r;
    runner_opts o = {.alerts_path = db.path};
    runner_start_opts(&r, &h, NULL, 0, 50, &o);
    produce_workload(&h, 0, 300, 0);
    await_all(&h, 60000, NULL, NULL);
    char err[512];
    rg_alert_store *store = rg_alert_store_open(db.path, RG_ALERTS_EXISTING, err, sizeof err);
    if (!store)
        fail_msg("%s", err);

    /* 1. Released while everything is up: delivered and marked sent. A
     * permanent produce error first makes one delivery fail: produced again. */
    rd_kafka_mock_push_request_errors(h.mc, 0 /* Produce */, 2, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    char rel1[160];
    expect_release(&h, "e-000003/u-3", rel1, sizeof rel1);
    release(store, "e-000003/u-3");
    await_all(&h, 60000, NULL, NULL);
    await_unsent(store, 0, 10000);

    /* 2. Released while the action topic's broker is down: the row stays
     * unsent; delivered once and marked when the broker is back. */
    assert_int_equal(rd_kafka_mock_broker_set_down(h.mc, 3), 0);
    char rel2[160];
    expect_release(&h, "e-000006/u-6", rel2, sizeof rel2);
    release(store, "e-000006/u-6");
    sleep_ms(3000);                      /* three outbox reads */
    assert_int_equal(unsent(store), 1);
    assert_int_equal(rd_kafka_mock_broker_set_up(h.mc, 3), 0);
    await_all(&h, 60000, NULL, NULL);
    await_unsent(store, 0, 10000);
    assert_true(seen(&h, rel1) && seen(&h, rel2));

    assert_int_equal(runner_stop(&r), 0);
    reader_catch_up(&h);
    /* One record per release however often the outbox was read. */
    assert_int_equal(*(int *)rg_strmap_get(h.expected, rel1, strlen(rel1)), 1);
    assert_int_equal(*(int *)rg_strmap_get(h.expected, rel2, strlen(rel2)), 1);
    assert_true(r.counts.releases_delivered >= 2);
    assert_int_equal(rg_alert_store_close(store, err, sizeof err), 0);
    harness_down(&h);
    db_down(&db);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alerts_wait_for_a_locked_store),
        cmocka_unit_test(test_release_outbox_delivery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
