/*
 * riskgate run under faults on the mock cluster (stream_kafka_harness.h):
 * the action topic's broker down and back, the coordinator's (and two
 * events partitions') broker down and back, produce and commit request
 * errors, topics that vanish and return. Throughout, no committed offset
 * may pass an event whose decisions are not on the action topic, and in
 * the end every decision arrives.
 */
#include "stream_kafka_harness.h"

/* Fault windows are set by wall time (the window only makes the fault
 * bite; nothing asserts on how long anything took). */
typedef struct fault_window {
    int broker;
    int64_t down_at;        /* take it down at this time */
    int64_t outage_ms;      /* and bring it back this long after */
    int64_t went_down;
    int more_events;        /* produced right after the fault hits */
    bool down, up;
} fault_window;

static void hold_broker_down(harness *h, int round, void *arg)
{
    (void)round;
    fault_window *w = arg;
    int64_t t = now_ms();
    /* Only once decisions flow: the runner holds its partitions and is
     * mid-stream when the fault hits. */
    if (!w->down && t >= w->down_at && h->n_seen_distinct > 0) {
        assert_int_equal(rd_kafka_mock_broker_set_down(h->mc, w->broker), 0);
        w->down = true;
        /* The reader cannot see acknowledged decisions on a down broker,
         * so the invariant is checked again once it is back (committed
         * offsets only grow, so a violation made now is still visible). */
        h->actions_unreadable = w->broker == 3;
        if (w->more_events)
            produce_workload(h, 100000, w->more_events, 0);
        w->went_down = t;
    } else if (w->down && !w->up && t >= w->went_down + w->outage_ms) {
        assert_int_equal(rd_kafka_mock_broker_set_up(h->mc, w->broker), 0);
        w->up = true;
        h->actions_unreadable = false;
        h->hold_completion = false;
    }
}

static void test_actions_broker_down_and_back(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-down", true, true);
    reader_start(&h);
    runner r;
    runner_start(&r, &h, NULL, 0, 50);
    /* Decisions queue up while broker 3 is down; offsets must hold. */
    fault_window w = {.broker = 3, .down_at = now_ms(), .outage_ms = 2000, .more_events = 1500};
    produce_workload(&h, 0, 500, 0);
    /* Not done before the outage has happened and ended, however fast the
     * first 500 go through. */
    h.hold_completion = true;
    await_all(&h, 90000, hold_broker_down, &w);
    assert_true(w.up);
    assert_int_equal(runner_stop(&r), 0);
    harness_down(&h);
}

static void test_coordinator_and_events_broker_down(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-down1", true, true);
    reader_start(&h);
    runner r;
    runner_start(&r, &h, NULL, 0, 50);
    /* Broker 1: the group coordinator and two events partitions. */
    fault_window w = {.broker = 1, .down_at = now_ms(), .outage_ms = 2000};
    produce_workload(&h, 0, 4000, 0);
    h.hold_completion = true;
    await_all(&h, 90000, hold_broker_down, &w);
    assert_true(w.up);
    assert_int_equal(runner_stop(&r), 0);
    harness_down(&h);
}

static void inject_request_errors(harness *h, int round, void *arg)
{
    (void)arg;
    if (round != 0)
        return;
    /* Produce: retriable (not leader, timed out) and permanent
     * (authorization) errors: the runner must produce again, never drop. */
    rd_kafka_mock_push_request_errors(h->mc, 0 /* Produce */, 8, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    /* OffsetCommit: failed commits are retried at the next interval.
     * Errors that keep the coordinator here; those that drop it
     * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) have their own
     * regression test, test_stream_commit.c. */
    rd_kafka_mock_push_request_errors(h->mc, 8 /* OffsetCommit */, 4, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
}

static void test_produce_and_commit_request_errors(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-errors", true, true);
    reader_start(&h);
    produce_workload(&h, 0, 1500, 0);
    runner r;
    runner_start(&r, &h, NULL, 0, 50);
    await_all(&h, 90000, inject_request_errors, NULL);
    assert_int_equal(runner_stop(&r), 0);
    harness_down(&h);
}


static void topics_come_back(harness *h, int round, void *arg)
{
    int64_t *gone_at = arg;
    if (round == 0) {
        *gone_at = now_ms();
        produce_workload(h, 0, 600, 50);
        /* Both topics vanish (metadata says unknown topic): the runner
         * must log it once, keep running and pick up when they return. */
        rd_kafka_mock_topic_set_error(h->mc, EVENTS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        rd_kafka_mock_topic_set_error(h->mc, ACTIONS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    }
    if (*gone_at && now_ms() >= *gone_at + 3000) {
        *gone_at = 0;
        rd_kafka_mock_topic_set_error(h->mc, EVENTS, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_mock_topic_set_error(h->mc, ACTIONS, RD_KAFKA_RESP_ERR_NO_ERROR);
    }
}

static void test_missing_topics(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-missing", true, true);
    reader_start(&h);
    /* A short session: librdkafka 2.0's mock coordinator completes a
     * rejoin only after a session timeout in some sequences. */
    static const char *const props[] = {"topic.metadata.refresh.interval.ms=200", "consumer.session.timeout.ms=6000"};
    runner r;
    runner_start(&r, &h, props, 2, 50);
    int64_t gone_at = 0;
    await_all(&h, 120000, topics_come_back, &gone_at);
    assert_int_equal(runner_stop(&r), 0);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actions_broker_down_and_back),
        cmocka_unit_test(test_coordinator_and_events_broker_down),
        cmocka_unit_test(test_produce_and_commit_request_errors),
        cmocka_unit_test(test_missing_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
