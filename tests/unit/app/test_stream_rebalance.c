/*
 * riskgate run as a consumer group of two instances on the mock cluster
 * (stream_kafka_harness.h; docs/scale-out.md, "Rebalances"):
 *   1. one instance decides a first batch alone;
 *   2. a second instance joins while the first works through a second
 *      batch, slowly (the action topic's broker answers 200 ms late and the
 *      producer queue is small, so outputs are in flight when partitions
 *      move): some of the nine tasks move to the second, each restored
 *      from its snapshot before it takes a record;
 *   3. the first instance stops with half of a third batch on the events
 *      topic (it may take some or all of that half before it stops; under
 *      load it has taken all of it); its tasks move to the second,
 *      restored likewise, and the second half is produced once the first
 *      has stopped, so the second instance surely consumes events.
 * Throughout, the harness's invariant. At the end every decision is on the
 * action topic, a second copy only with the same body, and every body is
 * replay's: the entity stage's senders and the decide stage's count()
 * windows came back with their tasks (a task that started empty writes
 * other bodies).
 *
 * Twice: with riskgate's cooperative-sticky assignment, and with an eager
 * one. librdkafka 2.0.2's mock coordinator keeps a rejoining group in
 * JoinGroup for session.timeout.ms - 1 s, so a cooperative member holding
 * partitions sees its session expire and its assignment lost: its tasks
 * are dropped without a final snapshot and their next owner evaluates
 * again from the last one (docs/scale-out.md, "Lost"): duplicates with the
 * same decision_id and body. An eager member gives everything up before
 * it rejoins, so every move there is a clean revoke (final snapshot,
 * then the next owner resumes exactly): nothing is evaluated twice, which
 * the instances' counts show exactly.
 *
 * Each batch is on the events topic before the instances see it, so the
 * entity stage's merge order is replay's (a partition whose task is moving
 * still has data, is not drained, and is waited for).
 */
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

static double tasks_held(runner *r)
{
    double n = 0;
    static const char *const stages[] = {"ingest", "entity", "decide"};
    for (int k = 0; k < 3; k++) {
        char sample[64];
        snprintf(sample, sizeof sample, "riskgate_tasks{stage=\"%s\"}", stages[k]);
        double v = runner_metric(r, sample);
        if (v < 0)
            return -1;
        n += v;
    }
    return n;
}

typedef struct group_watch {
    runner *first, *second;
    bool shared;                /* both held tasks at once, nine in all */
    bool second_holds_all;
    double restores;            /* the second's restores when it was seen holding tasks */
} group_watch;

/* Phase 2: done once the tasks were seen shared between the two (and the
 * batch is processed: await_all). */
static void watch_shared(harness *h, int round, void *arg)
{
    (void)round;
    group_watch *w = arg;
    double a = tasks_held(w->first), b = tasks_held(w->second);
    if (!w->shared && a > 0 && b > 0 && a + b == 3 * NPART) {
        w->shared = true;
        w->restores = runner_metric(w->second, "riskgate_restores_total");
        h->hold_completion = false;
    }
}

/* Phase 3: done once the second holds every task. */
static void watch_alone(harness *h, int round, void *arg)
{
    (void)round;
    group_watch *w = arg;
    if (tasks_held(w->second) == 3 * NPART) {
        w->second_holds_all = true;
        h->hold_completion = false;
    }
}

static void join_and_leave(const char *group, const char *strategy, bool exact)
{
    harness h;
    harness_up(&h, group);
    reader_start(&h);
    const char *props[3] = {"producer.queue.buffering.max.messages=64"};
    size_t n_props = 1;
    char strategy_prop[96];
    if (strategy) {
        snprintf(strategy_prop, sizeof strategy_prop, "consumer.partition.assignment.strategy=%s", strategy);
        props[n_props++] = strategy_prop;
    }
    /* Snapshots every second: <group>.state stays well under the mock's
     * 5 MB partition tail (it does not compact). The merge waits for a
     * silent source (drained or not) as long as a move can take: a task
     * that was drained when it moved may find the next batch only on its
     * new owner, and replay's order needs it waited for (the bounds have
     * their own tests). */
    runner_opts o = {.props = props,
                     .n_props = n_props,
                     .metrics = true,
                     .checkpoint_interval_ms = 1000,
                     .max_idle_ms = 30000,
                     .max_wait_ms = 30000};
    runner r1, r2;

    /* 1. Alone. */
    produce_batch(&h, 0, 600, 40);
    runner_start_opts(&r1, &h, &o);
    await_all(&h, 60000, NULL, NULL);
    assert_int_equal(tasks_held(&r1), 3 * NPART);

    /* 2. A second instance joins mid-batch, outputs in flight. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, ACTIONS_BROKER, 200), 0);
    produce_batch(&h, 100000, 2400, 40);
    runner_start_opts(&r2, &h, &o);
    group_watch w = {.first = &r1, .second = &r2};
    h.hold_completion = true;
    await_all(&h, 90000, watch_shared, &w);
    assert_true(w.shared);
    /* The tasks it held were restored (or found no snapshot) first. */
    assert_true(w.restores >= 1);

    /* 3. The first leaves with half a batch waiting; the second takes over
     * and gets the other half after the first stopped. */
    produce_batch(&h, 200000, 750, 40);
    assert_int_equal(runner_stop(&r1), 0);
    produce_batch(&h, 200750, 750, 40);
    h.hold_completion = true;
    await_all(&h, 90000, watch_alone, &w);
    assert_true(w.second_holds_all);
    assert_int_equal(runner_stop(&r2), 0);

    final_check(&h);
    if (getenv("RG_TEST_VERBOSE"))
        fprintf(stderr, "%s: events %llu + %llu of %zu, decisions %llu + %llu of %zu, %zu duplicates\n", group,
                (unsigned long long)r1.counts.events, (unsigned long long)r2.counts.events, h.n_ev,
                (unsigned long long)r1.counts.decisions, (unsigned long long)r2.counts.decisions, h.n_expected,
                h.n_duplicates);
    /* Both took events; nothing was lost. */
    assert_true(r1.counts.events > 0 && r2.counts.events > 0);
    assert_true(r1.counts.events + r2.counts.events >= h.n_ev);
    assert_true(r1.counts.decisions + r2.counts.decisions >= h.n_expected);
    if (exact) {
        /* Clean revokes only: nothing evaluated twice. */
        assert_int_equal(r1.counts.events + r2.counts.events, h.n_ev);
        assert_int_equal(r1.counts.decisions + r2.counts.decisions, h.n_expected);
        assert_int_equal(h.n_duplicates, 0);
    }
    /* Every decision as replay makes it. */
    check_replay(&h, 0);
    harness_down(&h);
}

static void test_cooperative_join_and_leave(void **state)
{
    (void)state;
    join_and_leave("g-rebalance-coop", NULL, false);
}

static void test_eager_join_and_leave(void **state)
{
    (void)state;
    join_and_leave("g-rebalance-eager", "roundrobin", true);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_cooperative_join_and_leave),
        STREAM_TEST(test_eager_join_and_leave),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
