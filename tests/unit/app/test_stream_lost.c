/*
 * An assignment declared lost while the same process goes on
 * (docs/scale-out.md, "Rebalances", "Lost"): the group coordinator answers
 * the member's heartbeat or offset commit ILLEGAL_GENERATION /
 * UNKNOWN_MEMBER_ID (the mock does so to a commit sent mid-rebalance,
 * issue 18's rolling restarts), librdkafka declares the whole assignment
 * lost, every task is dropped without a final snapshot, and the member
 * rejoins and gets its partitions back: each task is restored from its
 * last snapshot in the same process, while the dropped tasks' records are
 * still in that process's producer queue (the internal topics' broker
 * answers late) and while new events keep coming.
 *
 * Throughout, the harness's invariant; at the end every decision on the
 * action topic (duplicates only with the same body) and every body as
 * replay makes it.
 */
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

typedef struct lose_plan {
    int rounds;                 /* losses to cause */
    int done;
    int16_t api;                /* Heartbeat (12) or OffsetCommit (8) */
    rd_kafka_resp_err_t err;
    int64_t next_at;
    runner *r;
    double restores;            /* riskgate_restores_total when the last loss was caused */
} lose_plan;

static double metric(runner *r, const char *name)
{
    double v = runner_metric(r, name);
    return v < 0 ? 0 : v;
}

/* One loss every few seconds, each once the previous one's tasks were
 * restored; a batch of events is produced just before each (outputs are
 * in flight when the tasks are dropped). */
static void lose(harness *h, int round, void *arg)
{
    (void)round;
    lose_plan *p = arg;
    double restores = metric(p->r, "riskgate_restores_total");
    /* First the runner holds its nine tasks (its first restores, published
     * once a second), then each loss is followed by nine more. */
    if (p->done == 0 ? restores < 9 : restores < p->restores + 9)
        return;
    if (p->done == p->rounds) {
        h->hold_completion = false;
        return;
    }
    if (now_ms() < p->next_at)
        return;
    p->restores = restores;
    produce_batch(h, 100000 * (p->done + 1), 900, 40);
    /* The member's next request of that kind is answered with it. */
    rd_kafka_mock_push_request_errors(h->mc, p->api, 1, p->err);
    p->done++;
    p->next_at = now_ms() + 2500;
}

static void lost_and_restored(const char *group, int16_t api, rd_kafka_resp_err_t err)
{
    harness h;
    harness_up(&h, group);
    reader_start(&h);
    /* Outputs stay in flight a while: the internal topics' broker answers
     * late. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, INTERNAL_BROKER, 100), 0);
    produce_batch(&h, 0, 1200, 40);
    runner_opts o = {.metrics = true, .checkpoint_interval_ms = 500};
    runner r;
    runner_start_opts(&r, &h, &o);
    lose_plan p = {.rounds = 2, .api = api, .err = err, .next_at = now_ms() + 1500, .r = &r};
    h.hold_completion = true;
    await_all(&h, 180000, lose, &p);
    produced_flush(&h);
    await_all(&h, 60000, NULL, NULL);
    assert_int_equal(p.done, p.rounds);
    /* Each loss gave the tasks up and took them back in this process. */
    assert_true(metric(&r, "riskgate_restores_total") >= 9 * (p.rounds + 1));
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    if (getenv("RG_TEST_VERBOSE"))
        fprintf(stderr, "%s: events %llu of %zu, decisions %llu of %zu, %zu duplicates\n", group,
                (unsigned long long)r.counts.events, h.n_ev, (unsigned long long)r.counts.decisions, h.n_expected,
                h.n_duplicates);
    check_replay(&h, 0);
    harness_down(&h);
}

static void test_heartbeat_illegal_generation(void **state)
{
    (void)state;
    lost_and_restored("g-lost-hb", 12 /* Heartbeat */, RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION);
}

static void test_commit_unknown_member(void **state)
{
    (void)state;
    lost_and_restored("g-lost-commit", 8 /* OffsetCommit */, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_heartbeat_illegal_generation),
        STREAM_TEST(test_commit_unknown_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
