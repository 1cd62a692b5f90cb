/*
 * riskgate run in a consumer group on the mock cluster
 * (stream_kafka_harness.h): a second instance joins mid-stream; the
 * cooperative-sticky assignor moves partitions, the first instance commits
 * what it finished before giving them up (or, on librdkafka 2.0's mock,
 * finds its assignment lost), and every decision still arrives with every
 * partition committed to its end.
 */
#include "stream_kafka_harness.h"

/* librdkafka 2.0's mock coordinator answers a cooperative rejoin only
 * after a session timeout (the first member then finds its assignment
 * lost, and the test covers that path too): keep the session short. */
static const char *const rebalance_props[] = {"consumer.session.timeout.ms=6000"};

typedef struct second_runner {
    runner r;
    bool started;
} second_runner;

static void join_second_instance(harness *h, int round, void *arg)
{
    second_runner *sr = arg;
    (void)round;
    /* Mid-stream (decisions flowing), a second instance joins: the
     * cooperative-sticky assignor moves some partitions to it, and the
     * first commits what it finished before giving them up. */
    if (!sr->started && h->n_seen_distinct > 0) {
        runner_start(&sr->r, h, rebalance_props, 1, 50);
        sr->started = true;
        produce_workload(h, 100000, 1500, 0);
        h->hold_completion = false;
    }
}

static void test_rebalance_cooperative(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-rebalance", true, true);
    reader_start(&h);
    produce_workload(&h, 0, 1500, 0);
    runner r1;
    runner_start(&r1, &h, rebalance_props, 1, 50);
    second_runner sr = {.started = false};
    h.hold_completion = true;
    await_all(&h, 120000, join_second_instance, &sr);
    assert_true(sr.started);
    assert_int_equal(runner_stop(&sr.r), 0);
    assert_int_equal(runner_stop(&r1), 0);
    /* After both left, everything is still committed to the end. */
    assert_int_equal(check_invariant(&h), 3);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rebalance_cooperative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
