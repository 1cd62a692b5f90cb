/*
 * stream_kafka_runner — the REAL runner for the Kafka tests: rg_stream_new
 * with the harness's rule file (stream_kafka_harness.h) and the
 * configuration every test runner gets (runner_config in
 * stream_kafka_runner.c, with runner_opts on top), rg_stream_run in a
 * thread; its metrics endpoint read over HTTP; and the teardown that stops
 * what a failed test left running (STREAM_TEST).
 *
 * Ownership: runner_start_opts puts what the runner's thread touches
 * (its stream, stop flags, copies of every string its configuration
 * names) on the heap and lists it as live; runner_stop (or, after a
 * failed test, harness_teardown) joins the thread, frees it and takes it
 * off the list. The runner handle is the test's (its core is opaque). The
 * thread never touches the harness or the test's stack.
 */
#ifndef RG_TEST_STREAM_KAFKA_RUNNER_H
#define RG_TEST_STREAM_KAFKA_RUNNER_H

#include "stream/run.h"
#include "stream_kafka_harness.h"

typedef struct runner_core runner_core;   /* stream_kafka_runner.c */

typedef struct runner {
    runner_core *core;
    rg_stream_counts counts;    /* as rg_stream_run left them (runner_stop) */
} runner;

/* For a test that makes the mock cluster refuse Produce requests:
 * librdkafka 2.0.2's mock checks an idempotent producer's sequence numbers
 * only when the producer is transactional (rdkafka_mock.c,
 * rd_kafka_mock_validate_records). A batch pipelined behind one refused
 * with a retriable error is then stored ahead of it, and the producer
 * takes the refused batch for delivered ("implicitly acked by subsequent
 * batch success") though it never was: the record is lost. A real broker
 * refuses the later batch (OUT_OF_ORDER_SEQUENCE_NUMBER) and the producer
 * sends both again in order. One Produce request in flight per connection
 * leaves the mock nothing to misorder. */
#define RUNNER_ONE_PRODUCE_IN_FLIGHT "producer.max.in.flight.requests.per.connection=1"

/* What a test may set beyond the harness's defaults (NULL: nothing). */
typedef struct runner_opts {
    const char *const *props;   /* -X */
    size_t n_props;
    const char *alerts_path;    /* --alerts */
    const char *state_dir;      /* --state */
    int64_t checkpoint_interval_ms;   /* 0: 200 */
    int64_t max_idle_ms;              /* 0: 50 */
    int64_t max_wait_ms;              /* 0: 20000 */
    int64_t drain_timeout_ms;         /* 0: 30000 */
    bool metrics;                     /* the endpoint on a free loopback port (runner_metric) */
} runner_opts;

void runner_start_opts(runner *r, harness *h, const runner_opts *o);
void runner_start(runner *r, harness *h);   /* no runner_opts */
/* Whether rg_stream_run returned on its own within timeout_ms. */
bool runner_await_exit(runner *r, int64_t timeout_ms);
int runner_stop(runner *r);   /* rg_stream_run's result */

/* GET path from a running runner's metrics endpoint (runner_opts.metrics):
 * the status (0 when it could not be read) and the body in a static
 * buffer (*body). */
int runner_get(runner *r, const char *path, const char **body);
/* A value on a running runner's metrics endpoint (runner_opts.metrics;
 * published once a second): the sample named exactly `sample` (with its
 * labels), or -1 when it cannot be read. */
double runner_metric(runner *r, const char *sample);

/* Every Kafka test's teardown (STREAM_TEST): the runners a failed test
 * left running are stopped (their drain still has the failed test's mock
 * cluster, which is never freed), so cmocka can report the failure and go
 * on; one that does not stop within a minute ends the program. */
int harness_teardown(void **state);

#define STREAM_TEST(f) cmocka_unit_test_teardown(f, harness_teardown)

/* Runner logs go to stderr at warn and above (faults say what is wrong);
 * RG_TEST_VERBOSE turns on debug, RG_TEST_FILTER picks tests by name. */
void harness_main_setup(void);

#endif
