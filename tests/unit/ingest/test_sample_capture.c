/*
 * The shared sample capture read end to end through rg_capture: exactly
 * 21 rejects (each of a known kind and field) and 17536 events, no blank
 * line rejected. Skipped when the sample is not on this machine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ingest/capture.h"

static const char *sample_path(void)
{
    static char path[4096];
    const char *env = getenv("RG_SAMPLE_CAPTURE");
    if (env && access(env, R_OK) == 0)
        return env;
    snprintf(path, sizeof path, "%s/samples/capture.jsonl.gz", RG_SOURCE_DIR);
    if (access(path, R_OK) == 0)
        return path;
    if (access("/work/shared/sample/capture.jsonl.gz", R_OK) == 0)
        return "/work/shared/sample/capture.jsonl.gz";
    return NULL;
}

static const struct {
    unsigned line;
    const char *kind;
    const char *field; /* NULL: none */
} expected[] = {
    {1803, "invalid_json", NULL},          /* truncated object */
    {2644, "invalid_json", NULL},          /* not json at all */
    {2846, "not_object", NULL},            /* [1,2,3] */
    {5099, "missing_field", "event_id"},
    {5389, "unknown_type", "type"},        /* teleport */
    {5971, "out_of_range", "amount"},      /* -5 */
    {7212, "wrong_type", "amount"},        /* "100" */
    {8984, "bad_time", "ts"},              /* yesterday */
    {9822, "out_of_range", "location.lat"},/* 95 */
    {11473, "string_too_long", "account"},
    {13207, "wrong_type", "amount"},       /* 1e400 */
    {13951, "missing_field", "packet_id"},
    {14201, "out_of_range", "amount"},     /* 10^13 + 1 */
    {14601, "bad_ip", "ip"},
    {15200, "too_deep", "account"},
    {15318, "bad_time", "ts"},             /* month 13 */
    {15636, "wrong_type", "event_id"},     /* null */
    {15890, "not_object", NULL},           /* "just a string" */
    {16138, "empty_string", "account"},
    {17178, "missing_field", "ref"},
    {17360, "invalid_utf8", "account"},
};

static void test_sample(void **state)
{
    (void)state;
    const char *path = sample_path();
    if (!path)
        skip();
    rg_capture *c = rg_capture_new(&path, 1);
    assert_non_null(c);
    rg_capture_item item;
    char err[512];
    size_t events = 0, rejects = 0;
    rg_capture_status st;
    while ((st = rg_capture_next(c, &item, err, sizeof err)) != RG_CAPTURE_END) {
        assert_int_not_equal(st, RG_CAPTURE_ERROR);
        if (st == RG_CAPTURE_EVENT) {
            events++;
            continue;
        }
        assert_true(rejects < sizeof expected / sizeof expected[0]);
        const char *colon = strrchr(item.source, ':');
        assert_non_null(colon);
        assert_int_equal(strtoul(colon + 1, NULL, 10), expected[rejects].line);
        assert_string_equal(rg_reject_kind_name(item.reject.kind), expected[rejects].kind);
        if (expected[rejects].field)
            assert_string_equal(item.reject.field, expected[rejects].field);
        else
            assert_null(item.reject.field);
        assert_true(strlen(item.reject.error) > 0);
        rejects++;
    }
    assert_int_equal(rejects, 21);
    assert_int_equal(events, 17536);
    const rg_capture_stats *stats = rg_capture_get_stats(c);
    assert_int_equal(stats->lines, 17557);
    uint64_t done, total;
    rg_capture_progress(c, &done, &total);
    assert_true(total > 0);
    assert_int_equal(done, total);
    rg_capture_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_sample)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
