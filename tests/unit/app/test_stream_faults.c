/*
 * riskgate run under faults on the mock cluster (stream_kafka_harness.h):
 * the action topic's broker down and back, the coordinator's (and two
 * events partitions') broker down and back, the internal topics' broker
 * down and back, produce and commit request errors, topics that vanish and
 * return, a stop while the state topic's broker is down. Throughout, no task's position passes input whose outputs are
 * not on their topics (the harness's invariant), and in the end every
 * decision arrives, a second copy only with the same body.
 */
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

/* Fault windows are set by wall time (the window only makes the fault
 * bite; nothing asserts on how long anything took). */
typedef struct fault_window {
    int broker;
    int64_t outage_ms;      /* bring it back this long after it went down */
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
     * mid-stream when the fault hits. While the broker is down the
     * invariant cannot be read (check_invariant says so); positions only
     * grow, so a violation made meanwhile is still visible after. */
    if (!w->down && h->n_seen_distinct > 0) {
        assert_int_equal(rd_kafka_mock_broker_set_down(h->mc, w->broker), 0);
        w->down = true;
        w->went_down = t;
        /* Produced now, flushed once the broker is back (it may lead an
         * events partition). */
        if (w->more_events)
            produce_batch_async(h, 100000, w->more_events, 0);
    } else if (w->down && !w->up && t >= w->went_down + w->outage_ms) {
        assert_int_equal(rd_kafka_mock_broker_set_up(h->mc, w->broker), 0);
        w->up = true;
        produced_flush(h);
        h->hold_completion = false;
    }
}

static void run_outage(const char *group, int broker, int before, int during)
{
    harness h;
    harness_up(&h, group);
    reader_start(&h);
    /* A partition that may still send older records is waited for up to
     * max_wait_ms; once its broker is back it must be known drained again
     * (or send its data), never waited for to the bound: a bound beyond
     * the test's own deadline makes that visible. */
    runner_opts o = {.max_wait_ms = 600000};
    runner r;
    runner_start_opts(&r, &h, &o);
    fault_window w = {.broker = broker, .outage_ms = 2000, .more_events = during};
    produce_batch(&h, 0, before, 0);
    /* Not done before the outage has happened and ended, however fast the
     * first events go through. */
    h.hold_completion = true;
    await_all(&h, 90000, hold_broker_down, &w);
    assert_true(w.up);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    harness_down(&h);
}

/* Decisions queue up while the action topic's broker is down; the decide
 * tasks' positions must hold. */
static void test_actions_broker_down_and_back(void **state)
{
    (void)state;
    run_outage("g-down3", ACTIONS_BROKER, 500, 1500);
}

/* Broker 1: the group coordinator and events partitions 0 and 2. */
static void test_coordinator_and_events_broker_down(void **state)
{
    (void)state;
    run_outage("g-down1", 1, 3000, 0);
}

/* Broker 2: every internal topic (records between stages, snapshots) and
 * events partition 1. */
static void test_internal_topics_broker_down(void **state)
{
    (void)state;
    run_outage("g-down2", INTERNAL_BROKER, 500, 1500);
}

/* Partitions 0 and 2 (broker 1) drained, broker 1 down long enough for
 * the drain probes to fail, back, then events on partition 1 only: the
 * entity stage must not wait on the silent partitions beyond the bounds
 * for drained sources (max_idle_ms) once their broker is back; a source
 * left "not drained" would hold it to max_wait_ms, here beyond the test's
 * deadline. */
static void test_drained_partitions_after_their_leader_returns(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-redrain");
    reader_start(&h);
    runner_opts o = {.max_wait_ms = 600000};
    runner r;
    runner_start_opts(&r, &h, &o);
    produce_batch(&h, 0, 300, 0);
    await_all(&h, 60000, NULL, NULL);
    /* Everything drained. Long enough down for the probes to fail. */
    assert_int_equal(rd_kafka_mock_broker_set_down(h.mc, 1), 0);
    sleep_ms(3000);
    assert_int_equal(rd_kafka_mock_broker_set_up(h.mc, 1), 0);
    sleep_ms(2000);
    produce_batch_to(&h, 100000, 300, 1);
    await_all(&h, 60000, NULL, NULL);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    harness_down(&h);
}

static void inject_request_errors(harness *h, int round, void *arg)
{
    (void)arg;
    if (round != 0)
        return;
    /* Produce, on every broker: retriable errors (not leader, timed out,
     * not enough replicas), which librdkafka's idempotent producer sends
     * again in order (with one request in flight: RUNNER_ONE_PRODUCE_IN_FLIGHT
     * says why). */
    rd_kafka_mock_push_request_errors(h->mc, 0 /* Produce */, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    /* ... and permanent ones (authorization) on the action and dead-letter
     * topics' broker: the delivery fails, and the runner produces the
     * record again itself (their order does not matter). */
    assert_int_equal(rd_kafka_mock_broker_push_request_error_rtts(
                         h->mc, ACTIONS_BROKER, 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0,
                         RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, 0, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, 0),
                     0);
    /* OffsetCommit: a failed commit's positions go with the next commit.
     * Errors that keep the coordinator here; those that drop it
     * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) have their own
     * regression test, test_stream_commit.c. */
    rd_kafka_mock_push_request_errors(h->mc, 8 /* OffsetCommit */, 4, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS);
}

/*
 * Not covered, because it fails (a known limitation, reported): a
 * permanent produce error on an INTERNAL topic. The delivery report comes
 * after later records of the same source were handed to librdkafka, which
 * goes on with them (an idempotent producer bumps its epoch and
 * renumbers); the record produced again lands behind them, the next stage
 * takes it for a resend and drops it (stages/decide.c rg_decide_push:
 * src_offset <= last_queued; the entity merge likewise), and its
 * decisions never come while positions pass it. With this test's
 * authorization errors pushed to every broker: "entity/0's position is
 * 754 but the ENRICH for its offset 567 (event 2/1) is not on
 * g-errors.decide", and "904/1028 decisions seen" at the deadline.
 */
static void test_produce_and_commit_request_errors(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-errors");
    reader_start(&h);
    produce_batch(&h, 0, 1500, 40);
    static const char *const props[] = {RUNNER_ONE_PRODUCE_IN_FLIGHT};
    runner_opts o = {.props = props, .n_props = 1};
    runner r;
    runner_start_opts(&r, &h, &o);
    await_all(&h, 90000, inject_request_errors, NULL);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    assert_true(r.counts.delivery_errors > 0);   /* the errors did bite */
    assert_int_equal(h.n_deadletters, 38);
    check_replay(&h, 0);
    harness_down(&h);
}

/* Stopped while the internal topics' broker is down: the final snapshots
 * cannot be written, so the drain is incomplete and says so (-1: exit 1,
 * where a complete drain is 0), and nothing is committed past the last
 * durable snapshots. A new runner, with the broker back, restores them
 * and goes on: nothing lost. */
static void test_stop_with_the_state_broker_down(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-stopdown");
    reader_start(&h);
    produce_batch(&h, 0, 600, 0);
    runner_opts o = {.drain_timeout_ms = 2000};
    runner r;
    runner_start_opts(&r, &h, &o);
    await_all(&h, 60000, NULL, NULL);
    assert_int_equal(rd_kafka_mock_broker_set_down(h.mc, INTERNAL_BROKER), 0);
    assert_int_equal(runner_stop(&r), -1);
    assert_int_equal(rd_kafka_mock_broker_set_up(h.mc, INTERNAL_BROKER), 0);
    produce_batch(&h, 100000, 600, 0);
    runner_start_opts(&r, &h, &o);
    await_all(&h, 60000, NULL, NULL);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    harness_down(&h);
}

static void topics_come_back(harness *h, int round, void *arg)
{
    int64_t *gone_at = arg;
    if (round == 0) {
        produce_batch(h, 0, 600, 50);
        /* The events and action topics vanish (metadata says unknown
         * topic): the runner must keep running and pick up when they
         * return. */
        rd_kafka_mock_topic_set_error(h->mc, EVENTS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        rd_kafka_mock_topic_set_error(h->mc, ACTIONS, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
        *gone_at = now_ms();
    }
    if (*gone_at && now_ms() >= *gone_at + 3000) {
        *gone_at = 0;
        rd_kafka_mock_topic_set_error(h->mc, EVENTS, RD_KAFKA_RESP_ERR_NO_ERROR);
        rd_kafka_mock_topic_set_error(h->mc, ACTIONS, RD_KAFKA_RESP_ERR_NO_ERROR);
        h->hold_completion = false;
    }
}

static void test_missing_topics(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-missing");
    reader_start(&h);
    static const char *const props[] = {"topic.metadata.refresh.interval.ms=200"};
    runner_opts o = {.props = props, .n_props = 1, .max_wait_ms = 600000};
    runner r;
    runner_start_opts(&r, &h, &o);
    int64_t gone_at = 0;
    h.hold_completion = true;
    await_all(&h, 120000, topics_come_back, &gone_at);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_actions_broker_down_and_back),
        STREAM_TEST(test_coordinator_and_events_broker_down),
        STREAM_TEST(test_internal_topics_broker_down),
        STREAM_TEST(test_drained_partitions_after_their_leader_returns),
        STREAM_TEST(test_produce_and_commit_request_errors),
        STREAM_TEST(test_stop_with_the_state_broker_down),
        STREAM_TEST(test_missing_topics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
