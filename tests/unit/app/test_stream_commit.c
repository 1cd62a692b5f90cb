/*
 * Offset commits when the group coordinator answers OffsetCommit with
 * NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE (mock cluster, the real
 * runner: stream_kafka_runner.h), while retriable produce errors slow
 * some acknowledgements so snapshots, and their commits, keep coming.
 *
 * The regression: with a commit sent every interval regardless of the
 * previous one's answer, librdkafka 2.0.2 could loop forever after such an
 * answer (each queued OffsetCommit failing with a transport error as the
 * coordinator connection is dropped, each failure marking the coordinator
 * dead again): every decision delivered, offsets never committed again.
 * Seen in 3 of 8 runs of this test before the runner kept to one async
 * commit in flight (stream/run.c, rg_run_commit), 0 of 20 after
 * (docs/streaming.md, "Commits and the group coordinator"). Here every
 * task's position must reach its end: a stall fails at the deadline
 * (60 s, where a healthy run needs a few).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/log.h"
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

/* Produce errors librdkafka retries itself, in order (idempotence). */
static void push_produce_errors(harness *h)
{
    rd_kafka_mock_push_request_errors(h->mc, 0 /* Produce */, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
}

static void inject_coordinator_errors(harness *h, int round, void *arg)
{
    (void)arg;
    if (round != 0)
        return;
    push_produce_errors(h);
    rd_kafka_mock_push_request_errors(h->mc, 8 /* OffsetCommit */, 6, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
}

static void test_commits_resume_after_coordinator_errors(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-coord");
    reader_start(&h);
    produce_batch(&h, 0, 1500, 0);
    static const char *const props[] = {RUNNER_ONE_PRODUCE_IN_FLIGHT};
    runner_opts o = {.props = props, .n_props = 1};
    runner r;
    runner_start_opts(&r, &h, &o);
    await_all(&h, 60000, inject_coordinator_errors, NULL);
    await_committed(&h, 60000);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    assert_true(r.counts.commits > 0);
    harness_down(&h);
}

/* Coordinator errors answered to two rounds of commits, the second once
 * more events arrive after the first has settled: the coordinator is
 * dropped and found again twice. */
static void push_commit_errors(harness *h)
{
    rd_kafka_mock_push_request_errors(h->mc, 8 /* OffsetCommit */, 4, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
                                      RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE);
}

static void inject_twice(harness *h, int round, void *arg)
{
    int64_t *second_at = arg;
    if (round == 0) {
        *second_at = now_ms() + 1500;
        push_commit_errors(h);
    }
    if (*second_at && now_ms() >= *second_at) {
        *second_at = 0;
        /* (Produced before the errors are pushed: the test's own producer
         * would meet produce errors left unconsumed.) */
        produce_batch(h, 100000, 1500, 0);
        push_commit_errors(h);
        h->hold_completion = false;
    }
}

static void test_commits_resume_after_repeated_coordinator_changes(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-coord2");
    reader_start(&h);
    produce_batch(&h, 0, 1500, 0);
    runner r;
    runner_start(&r, &h);
    int64_t second_at = 0;
    h.hold_completion = true;
    await_all(&h, 90000, inject_twice, &second_at);
    /* Even when the coordinator's errors cost the member its session (a
     * loaded machine: 6 s without a heartbeat answer), the rejoined
     * member's restored tasks commit their positions. */
    await_committed(&h, 60000);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    harness_down(&h);
}

/* A drain whose final commit is refused for a reason other than the group
 * moving on is incomplete: -1 (exit 1), and it says why in lines of its
 * own, whatever was logged just before. (The periodic commit's failures
 * are logged at most once every 5 s, and the final commit's failure went
 * through the same rate limit: a SIGTERM after refused periodic commits
 * exited 1 with nothing logged but "stopped with errors".) Then, the
 * errors cleared, a new runner restores the final snapshots and goes on:
 * nothing lost. */
static void test_drain_says_why_its_final_commit_failed(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-finalcommit");
    reader_start(&h);
    produce_batch(&h, 0, 600, 0);
    /* The first runner's log, read after its thread is joined. */
    char *log = NULL;
    size_t log_len = 0;
    FILE *f = open_memstream(&log, &log_len);
    assert_non_null(f);
    rg_log_set_stream(f);
    runner r;
    runner_start(&r, &h);
    await_all(&h, 60000, NULL, NULL);
    /* Refused for good (not retried by librdkafka, not "the group moved
     * on"): the periodic commits before the stop meet them too. */
    rd_kafka_resp_err_t refused[64];
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
        refused[i] = RD_KAFKA_RESP_ERR_OFFSET_METADATA_TOO_LARGE;
    rd_kafka_mock_push_request_errors_array(h.mc, 8 /* OffsetCommit */, sizeof refused / sizeof *refused, refused);
    int rc = runner_stop(&r);
    rg_log_set_stream(NULL);
    fclose(f);
    assert_int_equal(rc, -1);
    if (!strstr(log, "msg=\"final offset commit failed; the drain is incomplete\"") ||
        !strstr(log, "msg=\"drain incomplete (exit 1)"))
        fail_msg("the drain's log does not say why it failed:\n%s", log);
    free(log);
    rd_kafka_mock_clear_request_errors(h.mc, 8);
    produce_batch(&h, 100000, 300, 0);
    runner_start(&r, &h);
    await_all(&h, 60000, NULL, NULL);
    await_committed(&h, 60000);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_commits_resume_after_coordinator_errors),
        STREAM_TEST(test_commits_resume_after_repeated_coordinator_changes),
        STREAM_TEST(test_drain_says_why_its_final_commit_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
