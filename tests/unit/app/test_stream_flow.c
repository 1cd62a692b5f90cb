/*
 * riskgate run's main path on the mock cluster (stream_kafka_harness.h),
 * the real runner and rule set: configuration refused with a config error
 * (secret -X values never echoed; internal topics whose partition counts
 * do not fit the events topic), consume -> ingest -> entity -> decide ->
 * produce with exactly replay's decisions, and a full producer queue that
 * pauses processing without dropping anything.
 */
#include "stream_kafka_checks.h"
#include "stream_kafka_harness.h"
#include "stream_kafka_runner.h"

static rg_stream *try_new(rg_stream_config *cfg, const char *const *props, size_t n, rg_stream_error *se, char *err,
                          size_t err_size)
{
    cfg->kafka_props = props;
    cfg->n_kafka_props = n;
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("rules.yaml", RULES_YAML, sizeof RULES_YAML - 1, &errors);
    free(errors);
    assert_non_null(rs);
    err[0] = '\0';
    rg_stream *s = rg_stream_new(cfg, rs, NULL, se, err, err_size);
    if (!s)
        rg_ruleset_free(rs);   /* still ours on failure */
    return s;
}

/* Defaults with a broker address nothing listens on (nothing connects
 * before rg_stream_run). */
static void config_nowhere(rg_stream_config *cfg)
{
    rg_stream_config_init(cfg);
    cfg->brokers = "127.0.0.1:1";
}

static void test_bad_config_is_a_config_error(void **state)
{
    (void)state;
    rg_stream_config cfg;
    config_nowhere(&cfg);
    char err[512];
    rg_stream_error se;

    cfg.brokers = NULL;
    assert_null(try_new(&cfg, NULL, 0, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_non_null(strstr(err, "--brokers"));
    cfg.brokers = "127.0.0.1:1";

    /* No '=': the entry is named, unless it looks like a secret. */
    static const char *const no_value[] = {"sasl.password"};
    assert_null(try_new(&cfg, no_value, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_null(strstr(err, "sasl.password"));
    static const char *const no_eq_secret[] = {"sasl.password:hunter2"};
    assert_null(try_new(&cfg, no_eq_secret, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_null(strstr(err, "hunter2"));

    static const char *const unknown[] = {"no.such.property=hunter2"};
    assert_null(try_new(&cfg, unknown, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_non_null(strstr(err, "no.such.property"));

    /* A secret-looking property librdkafka refuses: named, value not shown
     * (librdkafka's own message may quote it). */
    static const char *const secret_bad[] = {"ssl.key.password.bogus=hunter2"};
    assert_null(try_new(&cfg, secret_bad, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_null(strstr(err, "hunter2"));
    static const char *const bad_enum[] = {"security.protocol=carrier-pigeon"};
    assert_null(try_new(&cfg, bad_enum, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_non_null(strstr(err, "security.protocol"));

    /* What the delivery guarantee depends on cannot be changed. */
    static const char *const autocommit[] = {"enable.auto.commit=true"};
    assert_null(try_new(&cfg, autocommit, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_non_null(strstr(err, "enable.auto.commit"));
    static const char *const no_idem[] = {"producer.enable.idempotence=false"};
    assert_null(try_new(&cfg, no_idem, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    static const char *const no_eof[] = {"consumer.enable.partition.eof=false"};
    assert_null(try_new(&cfg, no_eof, 1, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);

    /* The metrics endpoint on an address this host does not have. */
    cfg.metrics_addr = "10.1.2.3:9464";
    assert_null(try_new(&cfg, NULL, 0, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    cfg.metrics_addr = NULL;

    /* A topic name derived from the group beyond Kafka's limit. */
    char group[300];
    memset(group, 'g', sizeof group - 1);
    group[sizeof group - 1] = '\0';
    cfg.group = group;
    assert_null(try_new(&cfg, NULL, 0, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
}

/* A secret-looking property whose value librdkafka refuses only when the
 * client is created: rd_kafka_new's message quotes the value ("Unsupported
 * SASL mechanism: ..."), and stream/conf.c promises that a secret-looking
 * -X value never appears in errstr, "even in librdkafka's own refusal
 * message" (it did before rg_run_redact_secrets). The refusal still says
 * what is wrong. */
static void test_secret_refused_at_client_creation(void **state)
{
    (void)state;
    rg_stream_config cfg;
    config_nowhere(&cfg);
    char err[512];
    rg_stream_error se;
    static const char *const sasl_bad[] = {"security.protocol=sasl_plaintext", "sasl.mechanisms=hunter2"};
    assert_null(try_new(&cfg, sasl_bad, 2, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    if (strstr(err, "hunter2"))
        fail_msg("a secret-looking -X value is echoed: %s", err);
    assert_non_null(strstr(err, "SASL mechanism"));
}

/* Internal topics whose partition counts differ from the events topic's:
 * keys would map to other tasks and orphan their state. A configuration
 * error (exit 2), before anything is consumed. */
static void test_internal_topics_that_do_not_fit(void **state)
{
    (void)state;
    harness h;
    harness_up_with(&h, "g-mismatch", 2);
    produce_batch(&h, 0, 30, 0);
    runner r;
    runner_start(&r, &h);
    bool exited = runner_await_exit(&r, 30000);
    int rc = runner_stop(&r);
    assert_true(exited);
    assert_int_equal(rc, -2);
    assert_int_equal(r.counts.events, 0);
    harness_down(&h);
}

static void test_consume_decide_produce(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-basic");
    /* Everything is on the topic before the runner starts: the entity
     * stage's merge then sees every source's records before its progress
     * passes them, and evaluates in replay's (event-time) order. */
    produce_batch(&h, 0, 3000, 100);
    reader_start(&h);
    runner r;
    runner_start(&r, &h);
    await_all(&h, 60000, NULL, NULL);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    /* Every decision once, with replay's body. */
    assert_int_equal(h.n_duplicates, 0);
    check_replay(&h, 0);
    assert_int_equal(h.n_deadletters, 30);
    assert_int_equal(r.counts.events, h.n_ev);
    assert_int_equal(r.counts.decisions, h.n_expected);
    assert_int_equal(r.counts.deadletters, 30);
    assert_int_equal(r.counts.late, 0);
    assert_true(r.counts.snapshots > 0);
    assert_true(h.checks > 0);
    harness_down(&h);
}

/* Also the regression test of a snapshot that never became durable: with
 * the queue full, rg_run_produce serves delivery reports while it waits
 * for room, and stream/snapshot.c's write_pieces used to count the pieces
 * (snap_phase = WRITING, snap_pieces) only after producing them all; a
 * piece acknowledged in that wait was ignored, the snapshot waited for it
 * for ever, the task never snapshotted or committed again, and the drain's
 * final snapshot timed out (then rg_stream_run returned 0 all the same).
 * final_check found partitions committed far behind their ends, or the
 * drain's -1 shows it. */
static void test_full_producer_queue(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-queue");
    reader_start(&h);
    produce_batch(&h, 0, 1500, 0);
    /* A tiny queue (and a slow action broker): processing must pause,
     * never drop. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, ACTIONS_BROKER, 20), 0);
    static const char *const props[] = {"producer.queue.buffering.max.messages=8"};
    runner_opts o = {.props = props, .n_props = 1};
    runner r;
    runner_start_opts(&r, &h, &o);
    await_all(&h, 120000, NULL, NULL);
    assert_int_equal(runner_stop(&r), 0);
    final_check(&h);
    assert_int_equal(r.counts.decisions, h.n_expected);
    harness_down(&h);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        STREAM_TEST(test_bad_config_is_a_config_error),
        STREAM_TEST(test_secret_refused_at_client_creation),
        STREAM_TEST(test_internal_topics_that_do_not_fit),
        STREAM_TEST(test_consume_decide_produce),
        STREAM_TEST(test_full_producer_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
