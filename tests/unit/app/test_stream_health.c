/* Unit tests for the operations side of stream/metrics.h: /healthz and
 * /readyz over real HTTP on loopback, riskgate_build_info (the versions
 * the libraries report at run time), riskgate_ruleset_info with its label
 * escaped, riskgate_rules_last_reload_successful, and
 * riskgate_checkpoint_age_seconds before and after the first snapshot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream/metrics.h"

/* One HTTP/1.0 request; returns the status, the body in body[]. */
static int http(unsigned port, const char *method, const char *path, char *body, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[256];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
    char resp[65536];
    size_t got = 0;
    ssize_t r;
    while (got < sizeof resp - 1 && (r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)r;
    close(fd);
    resp[got] = '\0';
    int status = 0;
    assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
    const char *b = strstr(resp, "\r\n\r\n");
    snprintf(body, size, "%s", b ? b + 4 : "");
    return status;
}

static void test_probes(void **state)
{
    (void)state;
    rg_metrics m;
    assert_int_equal(rg_metrics_init(&m), 0);
    char err[256], body[65536];
    unsigned port = 0;
    assert_int_equal(rg_metrics_serve(&m, "127.0.0.1:0", &port, err, sizeof err), 0);

    assert_int_equal(http(port, "GET", "/healthz", body, sizeof body), 200);
    assert_string_equal(body, "ok\n");
    /* Not ready until the runner says so. */
    assert_int_equal(http(port, "GET", "/readyz", body, sizeof body), 503);
    assert_string_equal(body, "not ready: starting\n");

    rg_metrics_set_ready(&m, true, NULL);
    assert_int_equal(http(port, "GET", "/readyz", body, sizeof body), 200);
    assert_string_equal(body, "ready\n");
    rg_metrics_set_ready(&m, false, "restoring assigned tasks");
    assert_int_equal(http(port, "GET", "/readyz", body, sizeof body), 503);
    assert_string_equal(body, "not ready: restoring assigned tasks\n");
    /* Alive while not ready: a liveness probe must not kill a restore. */
    assert_int_equal(http(port, "GET", "/healthz", body, sizeof body), 200);

    assert_int_equal(http(port, "GET", "/nope", body, sizeof body), 404);
    assert_non_null(strstr(body, "/healthz"));
    assert_int_equal(http(port, "POST", "/readyz", body, sizeof body), 405);
    assert_int_equal(http(port, "HEAD", "/healthz", body, sizeof body), 200);

    rg_metrics_set_ruleset(&m, "d0037442a874");
    rg_metrics_publish(&m, 1000);
    assert_int_equal(http(port, "GET", "/metrics", body, sizeof body), 200);
    assert_non_null(strstr(body, "riskgate_ruleset_info{ruleset=\"d0037442a874\"} 1\n"));
    assert_non_null(strstr(body, "# TYPE riskgate_build_info gauge\nriskgate_build_info{version=\"" RG_VERSION "\","));
    rg_metrics_free(&m);
}

static char *render(rg_metrics *m, int64_t now_ms)
{
    rg_strbuf b = RG_STRBUF_INIT;
    rg_metrics_render(m, now_ms, &b);
    assert_true(rg_strbuf_ok(&b));
    return b.data;
}

static void test_info_metrics(void **state)
{
    (void)state;
    rg_metrics m;
    assert_int_equal(rg_metrics_init(&m), 0);
    rg_versions v;
    rg_metrics_versions(&v);
    assert_string_equal(v.riskgate, RG_VERSION);
    assert_string_equal(v.librdkafka, rd_kafka_version_str());
    assert_non_null(strstr(v.librdkafka_features, "ssl"));
    char want[512];
    snprintf(want, sizeof want,
             "riskgate_build_info{version=\"%s\",librdkafka=\"%s\",libmaxminddb=\"%s\",sqlite=\"%s\","
             "libmicrohttpd=\"%s\"} 1\n",
             v.riskgate, v.librdkafka, v.libmaxminddb, v.sqlite, v.libmicrohttpd);
    char *text = render(&m, 0);
    assert_non_null(strstr(text, want));
    /* No rule set yet: the label is empty, not missing. */
    assert_non_null(strstr(text, "riskgate_ruleset_info{ruleset=\"\"} 1\n"));
    assert_non_null(strstr(text, "riskgate_rules_last_reload_successful 1\n"));
    free(text);

    /* A label value is escaped as the exposition format asks. */
    rg_metrics_set_ruleset(&m, "a\"b\\c\nd");
    rg_metrics_rule_reload(&m, false);
    text = render(&m, 0);
    assert_non_null(strstr(text, "riskgate_ruleset_info{ruleset=\"a\\\"b\\\\c\\nd\"} 1\n"));
    assert_non_null(strstr(text, "riskgate_rules_last_reload_successful 0\n"));
    assert_non_null(strstr(text, "riskgate_rule_reloads_total{result=\"refused\"} 1\n"));
    free(text);
    /* A good reload after a refused one: successful again, both counted. */
    rg_metrics_rule_reload(&m, true);
    text = render(&m, 0);
    assert_non_null(strstr(text, "riskgate_rules_last_reload_successful 1\n"));
    assert_non_null(strstr(text, "riskgate_rule_reloads_total{result=\"ok\"} 1\n"));
    free(text);
    rg_metrics_free(&m);
}

static void test_checkpoint_age(void **state)
{
    (void)state;
    rg_metrics m;
    assert_int_equal(rg_metrics_init(&m), 0);
    /* No task held: nothing is owed, 0 (never -1). */
    rg_metrics_publish(&m, 1000);
    char *text = render(&m, 5000);
    assert_non_null(strstr(text, "riskgate_checkpoint_age_seconds 0\n"));
    free(text);
    /* Tasks held from t=2s, no snapshot yet: the age counts from then. */
    m.tasks_held[2] = 3;
    rg_metrics_publish(&m, 2000);
    rg_metrics_publish(&m, 3000);   /* still the first holding instant */
    text = render(&m, 9500);
    assert_non_null(strstr(text, "riskgate_checkpoint_age_seconds 7.5\n"));
    free(text);
    /* The first durable snapshot at t=9s. */
    m.last_checkpoint_ms = 9000;
    text = render(&m, 10000);
    assert_non_null(strstr(text, "riskgate_checkpoint_age_seconds 1\n"));
    free(text);
    /* Tasks given up: 0 again. */
    m.tasks_held[2] = 0;
    rg_metrics_publish(&m, 11000);
    text = render(&m, 20000);
    assert_non_null(strstr(text, "riskgate_checkpoint_age_seconds 0\n"));
    free(text);
    rg_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probes),
        cmocka_unit_test(test_info_metrics),
        cmocka_unit_test(test_checkpoint_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
