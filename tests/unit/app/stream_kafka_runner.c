/*
 * stream_kafka_runner.c — the runner in a thread (stream_kafka_runner.h).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "rules/ruleset.h"
#include "stream/log.h"
#include "stream/run.h"
#include "stream_kafka_runner.h"

/* What a runner's thread touches, on the heap with copies of every
 * string its configuration names: a test that fails (cmocka jumps out of
 * it) leaves its stack to be reused, and its runners must still stop
 * cleanly (harness_teardown). */
struct runner_core {
    pthread_t thread;
    rg_stream *stream;
    volatile sig_atomic_t stop, reload;
    int rc;
    volatile int finished;      /* rg_stream_run returned */
    char bootstrap[256], group[64], rules_path[128], state_dir[256], alerts_path[256];
    const char *rules_list[1];
    char props_buf[16][160];
    const char *props[16];      /* its -X */
};

/* Runners started and not stopped yet. */
static runner_core *live_runners[8];
static int n_live_runners;

static void runner_live(runner_core *c, bool live)
{
    if (live) {
        assert_true(n_live_runners < 8);
        live_runners[n_live_runners++] = c;
        return;
    }
    for (int i = 0; i < n_live_runners; i++)
        if (live_runners[i] == c)
            live_runners[i] = live_runners[--n_live_runners];
}

int harness_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < n_live_runners; i++)
        live_runners[i]->stop = 1;
    int64_t deadline = now_ms() + 60000;
    while (n_live_runners) {
        runner_core *c = live_runners[0];
        while (!__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) && now_ms() < deadline)
            sleep_ms(20);
        if (!__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE)) {
            fprintf(stderr, "a failed test's runner did not stop within a minute: exiting\n");
            fflush(NULL);
            _exit(1);
        }
        pthread_join(c->thread, NULL);
        runner_live(c, false);
        rg_stream_free(c->stream);
        free(c);
    }
    return 0;
}

static void *runner_main(void *arg)
{
    runner_core *c = arg;
    c->rc = rg_stream_run(c->stream, &c->stop, &c->reload);
    __atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

static const char *core_copy(char *buf, size_t n, const char *s)
{
    if (!s)
        return NULL;
    assert_true(strlen(s) < n);
    snprintf(buf, n, "%s", s);
    return buf;
}

/* The configuration every test runner gets (before rg_stream_new), its
 * strings copied into c. */
static void runner_config(rg_stream_config *cfg, runner_core *c, harness *h, const runner_opts *o)
{
    rg_stream_config_init(cfg);
    cfg->brokers = core_copy(c->bootstrap, sizeof c->bootstrap, h->bootstrap);
    cfg->group = core_copy(c->group, sizeof c->group, h->group);
    cfg->events_topic = EVENTS;
    cfg->actions_topic = ACTIONS;
    cfg->deadletter_topic = DEADLETTER;
    c->rules_list[0] = core_copy(c->rules_path, sizeof c->rules_path, h->rules_path);
    cfg->rules_paths = c->rules_list;
    cfg->n_rules_paths = 1;
    /* RG_TEST_X adds one -X property to every runner (e.g. librdkafka's
     * debug contexts). */
    size_t n = 0, max = sizeof c->props / sizeof *c->props;
    for (size_t i = 0; o && i < o->n_props && n + 1 < max; i++, n++)
        c->props[n] = core_copy(c->props_buf[n], sizeof c->props_buf[n], o->props[i]);
    if (getenv("RG_TEST_X")) {
        c->props[n] = core_copy(c->props_buf[n], sizeof c->props_buf[n], getenv("RG_TEST_X"));
        n++;
    }
    cfg->kafka_props = c->props;
    cfg->n_kafka_props = n;
    /* Drained, silent partitions hold the entity merge back at most this
     * long: short, because each new batch jumps ahead in event time. */
    cfg->max_idle_ms = o && o->max_idle_ms ? o->max_idle_ms : 50;
    /* A partition that may still hold older events is waited for this
     * long: generous, so merge order never depends on how fast a fetch is;
     * it costs nothing when partitions are caught up. */
    cfg->max_wait_ms = o && o->max_wait_ms ? o->max_wait_ms : 20000;
    cfg->commit_interval_ms = 100;
    cfg->checkpoint_interval_ms = o && o->checkpoint_interval_ms ? o->checkpoint_interval_ms : 200;
    cfg->drain_timeout_ms = o && o->drain_timeout_ms ? o->drain_timeout_ms : 30000;
    if (o) {
        cfg->alerts_path = core_copy(c->alerts_path, sizeof c->alerts_path, o->alerts_path);
        cfg->state_dir = core_copy(c->state_dir, sizeof c->state_dir, o->state_dir);
        cfg->metrics_addr = o->metrics ? "127.0.0.1:0" : NULL;
    }
}

static rg_ruleset *load_rules(harness *h)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(h->rules_path, &errors);
    if (!rs)
        fail_msg("rules: %s", errors ? errors : "?");
    free(errors);
    return rs;
}

void runner_start_opts(runner *r, harness *h, const runner_opts *o)
{
    memset(r, 0, sizeof *r);
    runner_core *c = calloc(1, sizeof *c);
    assert_non_null(c);
    rg_stream_config cfg;
    runner_config(&cfg, c, h, o);
    rg_ruleset *rs = load_rules(h);
    char err[512];
    rg_stream_error se;
    c->stream = rg_stream_new(&cfg, rs, NULL, &se, err, sizeof err);
    if (!c->stream) {
        rg_ruleset_free(rs);
        free(c);
        fail_msg("rg_stream_new: %s", err);
    }
    assert_int_equal(pthread_create(&c->thread, NULL, runner_main, c), 0);
    runner_live(c, true);
    r->core = c;
}

void runner_start(runner *r, harness *h) { runner_start_opts(r, h, NULL); }

bool runner_await_exit(runner *r, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (!__atomic_load_n(&r->core->finished, __ATOMIC_ACQUIRE) && now_ms() < deadline)
        sleep_ms(20);
    return __atomic_load_n(&r->core->finished, __ATOMIC_ACQUIRE);
}

int runner_stop(runner *r)
{
    runner_core *c = r->core;
    c->stop = 1;
    pthread_join(c->thread, NULL);
    runner_live(c, false);
    rg_stream_get_counts(c->stream, &r->counts);
    rg_stream_free(c->stream);
    int rc = c->rc;
    free(c);
    r->core = NULL;
    return rc;
}

int runner_get(runner *r, const char *path, const char **body)
{
    unsigned port = rg_stream_metrics_port(r->core->stream);
    assert_true(port > 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static char resp[65536];
    size_t n = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        char req[256];
        int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
        if (write(fd, req, (size_t)len) == (ssize_t)len) {
            ssize_t got;
            while (n + 1 < sizeof resp && (got = read(fd, resp + n, sizeof resp - 1 - n)) > 0)
                n += (size_t)got;
        }
    }
    close(fd);
    resp[n] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    const char *b = strstr(resp, "\r\n\r\n");
    *body = b ? b + 4 : resp + n;
    return status;
}

double runner_metric(runner *r, const char *sample)
{
    const char *body;
    if (runner_get(r, "/metrics", &body) != 200)
        return -1;
    size_t len = strlen(sample);
    for (const char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, sample, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
    return -1;
}


void harness_main_setup(void)
{
    rg_log_set_level(getenv("RG_TEST_VERBOSE") ? RG_LOG_DEBUG : RG_LOG_WARN);
    if (getenv("RG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("RG_TEST_FILTER"));
}
