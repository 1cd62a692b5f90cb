/*
 * riskgate run's main path on the mock cluster (stream_kafka_harness.h):
 * configuration refused with a config error, consume -> decide -> produce
 * in event-time order across partitions with delivery-driven commits,
 * and a full producer queue that pauses processing without dropping.
 */
#include "stream_kafka_harness.h"

static void test_bad_config_is_a_config_error(void **state)
{
    (void)state;
    rg_stream_config cfg;
    rg_stream_config_init(&cfg);
    cfg.brokers = "127.0.0.1:1";
    fake_proc fp;
    rg_stream_processor proc;
    fake_init(&fp, &proc);
    char err[512];
    rg_stream_error se;
    static const char *const bad_secret[] = {"sasl.password"};  /* no '=' */
    cfg.kafka_props = bad_secret;
    cfg.n_kafka_props = 1;
    assert_null(rg_stream_new(&cfg, &proc, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    static const char *const unknown[] = {"no.such.property=hunter2"};
    cfg.kafka_props = unknown;
    assert_null(rg_stream_new(&cfg, &proc, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    assert_non_null(strstr(err, "no.such.property"));
    static const char *const secret_bad[] = {"ssl.key.password.bogus=hunter2"};
    cfg.kafka_props = secret_bad;
    assert_null(rg_stream_new(&cfg, &proc, &se, err, sizeof err));
    assert_null(strstr(err, "hunter2"));
    static const char *const autocommit[] = {"enable.auto.commit=true"};
    cfg.kafka_props = autocommit;
    assert_null(rg_stream_new(&cfg, &proc, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    cfg.kafka_props = NULL;
    cfg.n_kafka_props = 0;
    cfg.metrics_addr = "10.1.2.3:9464";
    assert_null(rg_stream_new(&cfg, &proc, &se, err, sizeof err));
    assert_int_equal(se, RG_STREAM_ERR_CONFIG);
    fake_free(&fp);
}


static void test_consume_decide_produce_and_merge_order(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-basic", true, true);
    /* Event time interleaves across partitions: a per-partition reader
     * would evaluate partition 0's events before partition 1's. */
    produce_workload(&h, 0, 3000, 100);
    reader_start(&h);
    runner r;
    /* Every partition has data from the start, so the merge waits for
     * each one's data (backlog) and the order is exact. */
    runner_start(&r, &h, NULL, 0, 100);
    await_all(&h, 60000, NULL, NULL);
    /* The merge gave event-time order across the three partitions. */
    pthread_mutex_lock(&r.fp.lock);
    size_t n = r.fp.n_order;
    size_t inversions = 0;
    for (size_t i = 1; i < n; i++)
        if (r.fp.order_ts[i] < r.fp.order_ts[i - 1])
            inversions++;
    pthread_mutex_unlock(&r.fp.lock);
    assert_int_equal(n, 3000 - 30);
    assert_int_equal(inversions, 0);
    assert_int_equal(runner_stop(&r), 0);
    reader_catch_up(&h);
    assert_int_equal(h.n_deadletters, 30);
    assert_int_equal(h.n_duplicates, 0);
    harness_down(&h);
}


static void test_full_producer_queue(void **state)
{
    (void)state;
    harness h;
    harness_up(&h, "g-queue", true, true);
    reader_start(&h);
    produce_workload(&h, 0, 3000, 0);
    /* A tiny queue (and a slow action broker): processing must pause,
     * never drop. */
    rd_kafka_mock_broker_set_rtt(h.mc, 3, 20);
    static const char *const props[] = {"producer.queue.buffering.max.messages=8"};
    runner r;
    runner_start(&r, &h, props, 1, 50);
    await_all(&h, 90000, NULL, NULL);
    assert_int_equal(runner_stop(&r), 0);
    harness_down(&h);
}


int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_config_is_a_config_error),
        cmocka_unit_test(test_consume_decide_produce_and_merge_order),
        cmocka_unit_test(test_full_producer_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
