/*
 * The rejects-file / dead-letter record: key order, null field, raw vs
 * raw_base64, truncation at 64 KiB without splitting a UTF-8 sequence, and
 * a source that is not UTF-8. Every record must be valid JSON (jansson).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/reject.h"

static json_t *record(const rg_reject *rej, const char *source, const void *raw, size_t len, rg_strbuf *b)
{
    rg_strbuf_reset(b);
    rg_reject_write_json(rej, source, raw, len, b);
    assert_true(rg_strbuf_ok(b));
    json_error_t err;
    json_t *j = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!j)
        fail_msg("not JSON: %s (%s)", b->data, err.text);
    return j;
}

static void test_shape(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    rg_reject rej = {RG_REJ_OUT_OF_RANGE, "amount", "amount: must be 1..10^12, got -5"};
    const char raw[] = "{\"amount\":-5}";
    json_t *j = record(&rej, "cap.jsonl:7", raw, sizeof raw - 1, &b);
    assert_string_equal(b.data, "{\"error\":\"amount: must be 1..10^12, got -5\",\"kind\":\"out_of_range\","
                                "\"field\":\"amount\",\"source\":\"cap.jsonl:7\",\"raw\":\"{\\\"amount\\\":-5}\"}");
    json_decref(j);

    rg_reject nofield = {RG_REJ_INVALID_JSON, NULL, "invalid JSON: x at byte 0"};
    j = record(&nofield, "f:1", "x\ty", 3, &b);
    assert_true(json_is_null(json_object_get(j, "field")));
    assert_string_equal(json_string_value(json_object_get(j, "raw")), "x\ty");
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "invalid_json");
    json_decref(j);
    rg_strbuf_free(&b);
}

static void test_raw_base64(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    rg_reject rej = {RG_REJ_INVALID_UTF8, "account", "account: invalid UTF-8 in string at byte 12"};
    const char raw[] = "{\"account\":\"\xff\xfe\"}";
    json_t *j = record(&rej, "f:2", raw, sizeof raw - 1, &b);
    assert_null(json_object_get(j, "raw"));
    assert_string_equal(json_string_value(json_object_get(j, "raw_base64")), "eyJhY2NvdW50Ijoi//4ifQ==");
    json_decref(j);
    /* a NUL byte is valid UTF-8: escaped in raw */
    j = record(&rej, "f:3", "a\0b", 3, &b);
    assert_non_null(strstr(b.data, "\"raw\":\"a\\u0000b\""));
    json_decref(j);
    /* a source that is not UTF-8 (a file name) still gives valid JSON */
    j = record(&rej, "caf\xe9.jsonl:1", "x", 1, &b);
    assert_string_equal(json_string_value(json_object_get(j, "source")), "caf\xef\xbf\xbd.jsonl:1");
    json_decref(j);
    rg_strbuf_free(&b);
}

static void test_truncation(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    rg_reject rej = {RG_REJ_LINE_TOO_LONG, NULL, "line of 70000 bytes, over the limit"};
    size_t n = RG_REJECT_RAW_MAX + 5000;
    char *raw = malloc(n);
    memset(raw, 'a', n);
    /* a 3-byte character straddling the 64 KiB cut */
    memcpy(raw + RG_REJECT_RAW_MAX - 1, "\xe4\xb8\xad", 3);
    json_t *j = record(&rej, "f:1", raw, n, &b);
    const char *kept = json_string_value(json_object_get(j, "raw"));
    assert_non_null(kept);
    assert_int_equal(strlen(kept), RG_REJECT_RAW_MAX - 1);
    json_decref(j);
    /* the character ends exactly at the cut: kept whole */
    memset(raw, 'a', n);
    memcpy(raw + RG_REJECT_RAW_MAX - 3, "\xe4\xb8\xad", 3);
    j = record(&rej, "f:1", raw, n, &b);
    assert_int_equal(strlen(json_string_value(json_object_get(j, "raw"))), RG_REJECT_RAW_MAX);
    json_decref(j);
    /* invalid bytes past the cut do not matter; before it they give base64 of the first 64 KiB */
    raw[n - 1] = (char)0xff;
    j = record(&rej, "f:1", raw, n, &b);
    assert_non_null(json_object_get(j, "raw"));
    json_decref(j);
    raw[10] = (char)0xff;
    j = record(&rej, "f:1", raw, n, &b);
    const char *b64 = json_string_value(json_object_get(j, "raw_base64"));
    assert_non_null(b64);
    assert_int_equal(strlen(b64), (RG_REJECT_RAW_MAX + 2) / 3 * 4);
    json_decref(j);
    free(raw);
    rg_strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_raw_base64),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
