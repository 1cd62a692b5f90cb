/*
 * Task snapshots taken while records are in flight, and restarts from
 * them (stream_kafka_harness.h; docs/scale-out.md, "State moves with its
 * partition").
 *
 * A task serialises its state between two records, produces the snapshot
 * only once every output of the input it covers is acknowledged, and
 * commits its input position only once the snapshot is. Checked from
 * outside, many times a second, with the action topic's broker slow
 * (100 ms more per request, so hundreds of decisions are in flight), a
 * snapshot every 50 ms per task and events arriving all along: every
 * snapshot header on <group>.state, and every committed offset, must be
 * at a position whose input has all its outputs on their topics (the
 * harness's invariant); a crash at that moment would restart there and
 * lose nothing. Then a new runner on the same group restores every task
 * and goes on: nothing is read or decided again, and the decisions of
 * new events are replay's (the counterparty stage's state came back).
 * Also: --state DIR is only a cache; /readyz says "restoring" while a
 * restore runs.
 */
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

typedef struct snap_check {
    int produced_rounds;        /* rounds that produce more events */
    int next_event;
    int behind;                 /* checks that saw a task's position inside its input, not at its end */
} snap_check;

/* Once per round: more events during the first rounds, and the invariant
 * checked a few times, 20 ms apart (snapshots come every 50 ms). */
static void check_snapshots(harness *h, int round, void *arg)
{
    snap_check *c = arg;
    if (round < c->produced_rounds) {
        /* Partition 2 gets its first events only in round 3: its tasks
         * start empty, while snapshots of the others wait for
         * acknowledgements. */
        produce_batch_on(h, c->next_event, 300, 40, round <= 3 ? 2 : 3);
        c->next_event += 300;
    } else {
        h->hold_completion = false;
    }
    for (int i = 0; i < 6; i++) {
        if (check_invariant(h) < 0)
            continue;
        for (int p = 0; p < NPART; p++)
            if (h->pos[2][p] > 0 && h->pos[2][p] < h->data_end[2][p])
                c->behind++;
        sleep_ms(20);
    }
}

/* Once a runner was started over events from `first` on (the harness
 * held `before` events then): it takes them, stops cleanly, and every
 * task resumed exactly where the last run left it (only the new events
 * were taken, nothing was decided twice) with decisions that read the
 * restored state as replay's do. */
static void finish_exactly(harness *h, runner *r, size_t before, int first)
{
    await_all(h, 60000, NULL, NULL);
    assert_int_equal(runner_stop(r), 0);
    final_check(h);
    assert_int_equal(r->counts.events, h->n_ev - before);
    assert_int_equal(h->n_duplicates, 0);
    check_replay(h, first);
}

static size_t headers_read(const harness *h)
{
    size_t n = 0;
    for (int p = 0; p < 3 * NPART; p++)
        n += h->headers[p].n;
    return n;
}

static void test_snapshots_in_flight_and_restart(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-snap");
    char dir[160];
    snprintf(dir, sizeof dir, "%s/state", h.dir);
    /* Broker 3 leads the action topic: every request takes 100 ms more. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, ACTIONS_BROKER, 100), 0);
    reader_start(&h);
    snap_check c = {.produced_rounds = 8};
    runner r;
    runner_opts o = {.state_dir = dir, .checkpoint_interval_ms = 50};
    runner_start_opts(&r, &h, &o);
    produce_batch_on(&h, 0, 300, 40, 2);
    c.next_event = 300;
    h.hold_completion = true;
    await_all(&h, 120000, check_snapshots, &c);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    if (getenv("RG_TEST_VERBOSE"))
        fprintf(stderr, "%d checks, %zu snapshot headers, %d positions seen inside their input\n", h.checks,
                headers_read(&h), c.behind);
    /* The checks saw snapshots taken mid-stream, not only the last ones. */
    assert_true(headers_read(&h) >= 9 * 5);
    assert_true(c.behind >= 1);
    assert_int_equal(h.n_duplicates, 0);

    /* A restart: new events first (so the entity stage's order is
     * replay's), then a new runner on the same group and state. */
    size_t before = h.n_ev;
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, ACTIONS_BROKER, 0), 0);
    produce_batch(&h, 100000, 600, 40);
    runner_start_opts(&r, &h, &o);
    finish_exactly(&h, &r, before, 100000);
    harness_down(&h);
}

/* ---- the --state directory is only a cache ---- */

/* A shell command made of fmt with up to three paths. */
static void shell(const char *fmt, const char *a, const char *b, const char *c)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, a, b, c);
    assert_int_equal(system(cmd), 0);
}

/* One more run over a preloaded batch: every task resumes exactly where
 * the last run left it (only the new events are taken, nothing is
 * decided twice) and the new decisions are replay's. */
static void run_batch(harness *h, const runner_opts *o, int first)
{
    size_t before = h->n_ev;
    produce_batch(h, first, 600, 40);
    runner r;
    runner_start_opts(&r, h, o);
    finish_exactly(h, &r, before, first);
}

/* Kafka is the truth; --state DIR only spares reading it, and only a copy
 * of a snapshot Kafka has (or had: when Kafka's newest is unusable) is
 * taken from it:
 *   - a stale cache (an older generation) and a corrupt one are ignored;
 *   - no cache at all: everything comes from <group>.state;
 *   - Kafka's newest header unusable (a newer generation whose chunks are
 *     missing, written here by hand for every task): the cache's copy of
 *     the last good one is used. Without the cache the instance would stop
 *     (docs/scale-out.md: an incomplete newest snapshot; before main's
 *     c01b2ea the tasks started empty, and this test then failed on a
 *     body that was not replay's).
 * Each restart resumes exactly (run_batch). */
static void test_state_dir_is_only_a_cache(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-cache");
    char dir[160], old[176];
    snprintf(dir, sizeof dir, "%s/state", h.dir);
    snprintf(old, sizeof old, "%s/state.old", h.dir);
    reader_start(&h);
    runner_opts o = {.state_dir = dir};

    run_batch(&h, &o, 0);
    shell("cp -r '%s' '%s'%s", dir, old, "");      /* the cache as of now */
    run_batch(&h, &o, 100000);

    /* Stale: the first run's cache back; one file corrupt. */
    shell("rm -rf '%s' && mv '%s' '%s'", dir, old, dir);
    shell("test -f '%s/g-cache.entity-1.snap' && head -c 100 /dev/urandom > '%s/g-cache.entity-1.snap'%s", dir, dir,
          "");
    run_batch(&h, &o, 200000);

    /* None. */
    shell("rm -rf '%s'%s%s", dir, "", "");
    run_batch(&h, &o, 300000);

    /* Kafka's newest header of every task names a generation that does not
     * exist (no chunks): the cache holds the last good one. */
    reader_catch_up(&h, 5000);
    for (int sp = 0; sp < 3 * NPART; sp++) {
        rg_strbuf *hb = &h.last_header[sp];
        assert_true(hb->len > 20);
        unsigned char *gen = (unsigned char *)hb->data + 12;   /* "RGSNAP", version, kind, partition */
        for (int i = 0; i < 8 && ++gen[i] == 0; i++)
            ;   /* + 1, little-endian */
        char key[32];
        static const char *const kinds[] = {"ingest", "entity", "decide"};
        snprintf(key, sizeof key, "%s/%d", kinds[sp / NPART], sp % NPART);
        assert_int_equal(rd_kafka_producev(h.producer, RD_KAFKA_V_TOPIC(h.state_topic), RD_KAFKA_V_PARTITION(sp),
                                           RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE(hb->data, hb->len),
                                           RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                         0);
    }
    assert_int_equal(rd_kafka_flush(h.producer, 10000), 0);
    run_batch(&h, &o, 400000);
    harness_down(&h);
}

/* /readyz answers "not ready: restoring assigned tasks" while a new owner
 * restores its tasks (a load balancer or Kubernetes sends nothing its way
 * meanwhile), and ready once they are held: with the state topic's broker
 * slow (500 ms a request), the restore of nine tasks takes seconds, which
 * a poll every 20 ms cannot miss. Then it goes on exactly (replay's
 * bodies, nothing evaluated twice). */
static void test_not_ready_while_restoring(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-ready");
    reader_start(&h);
    runner_opts o = {.metrics = true};
    run_batch(&h, &o, 0);   /* every task has a snapshot now */

    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, INTERNAL_BROKER, 500), 0);
    size_t before = h.n_ev;
    produce_batch(&h, 100000, 300, 40);
    runner r;
    runner_start_opts(&r, &h, &o);
    bool restoring = false, ready = false;
    char seen[512] = "";
    int64_t deadline = now_ms() + 120000;
    while (!ready && now_ms() < deadline) {
        const char *body;
        int status = runner_get(&r, "/readyz", &body);
        if (status == 503 && strstr(body, "restoring assigned tasks"))
            restoring = true;
        if (status == 200)
            ready = true;
        else if (strlen(seen) + 80 < sizeof seen && !strstr(seen, body))
            snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "[%d %.60s]", status, body);
        sleep_ms(20);
    }
    if (!restoring || !ready)
        fail_msg("readyz: restoring seen %d, ready %d; other answers: %s", restoring, ready, seen);
    /* Ready means restored: the tasks' restores are counted by then. */
    assert_true(runner_metric(&r, "riskgate_restores_total") >= 1);
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, INTERNAL_BROKER, 0), 0);
    finish_exactly(&h, &r, before, 100000);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_snapshots_in_flight_and_restart),
        STREAM_TEST(test_state_dir_is_only_a_cache),
        STREAM_TEST(test_not_ready_while_restoring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
