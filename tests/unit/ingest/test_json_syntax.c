/*
 * JSON syntax as the event reader sees it (RFC 8259): edge cases, and a
 * differential check that for a list of tricky texts our acceptance equals
 * jansson's (json_loadb with JSON_REJECT_DUPLICATES | JSON_DECODE_ANY |
 * JSON_ALLOW_NUL). Where the two differ by design the text is listed apart
 * with the reason: jansson refuses numbers it cannot represent (1e400,
 * 2^64), which are syntactically valid JSON and are range questions for
 * the contract; and we bound depth at RG_EVENT_MAX_DEPTH, jansson at 2048.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/event_parse.h"
#include "ingest/json_scan.h"

/* Accepted as JSON: parsed, or rejected only by the contract. */
static bool syntax_ok(rg_event_parser *p, const char *text, size_t len, rg_reject *rej)
{
    rg_event ev;
    if (rg_event_parse(p, text, len, &ev, rej) == 0)
        return true;
    switch (rej->kind) {
    case RG_REJ_INVALID_JSON:
    case RG_REJ_INVALID_UTF8:
    case RG_REJ_TOO_DEEP:
    case RG_REJ_DUPLICATE_KEY:
    case RG_REJ_LINE_TOO_LONG:
        return false;
    default:
        return true;
    }
}

static const char *const tricky[] = {
    /* accepted */
    "{}", "[]", "0", "-0", "1", "-1", "0.5", "-0.0e-0", "1E+2", "1e-2", "123456789", "\"\"",
    "true", "false", "null", " \t\r\n{ } \n", "{\"a\":[]}", "{\"a\":{\"a\":{}}}", "[1,[2,[3]]]",
    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u4E2D\"", "\"\\ud83d\\ude00\"", "\"\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80\"",
    "\"\xef\xbf\xbf\"", "\"\xf4\x8f\xbf\xbf\"", "{\"a\":1,\"b\":1}", "{\"a\":{\"x\":1},\"b\":{\"x\":1}}",
    "[{\"a\":1},{\"a\":1}]", "{\"\\u0061\":1,\"b\":2}", "\"\\u0000\"", "{\"\":1}", "\"\x7f\"",
    /* rejected */
    "", " ", "{", "}", "[", "]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1,]", "[,1]", "{,}",
    "01", "-01", "00", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity",
    "nul", "tru", "True", "NULL", "'a'", "{'a':1}", "{a:1}", "/* c */ {}", "{} // c", "{}x", "[] []",
    "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
    "\"\\ud800\\ud800\"", "\"\t\"", "\"\n\"", "\"\x01\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xe0\x80\xaf\"",
    "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xc3\"", "\"\xe4\xb8\"", "\"\x80\"",
    "{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}", "{\"x\":{\"a\":1,\"a\":1}}", "[{\"a\":1,\"a\":1}]",
    "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[1 2]", "\xef\xbb\xbf{}", "{}\x00",
};

static void test_differential_jansson(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++) {
        const char *t = tricky[i];
        size_t len = strlen(t);
        if (strcmp(t, "{}\x00") == 0)
            len = 3; /* a NUL byte after the value */
        json_error_t err;
        json_t *j = json_loadb(t, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        bool theirs = j != NULL;
        json_decref(j);
        rg_reject rej;
        bool ours = syntax_ok(p, t, len, &rej);
        if (ours != theirs)
            fail_msg("text %zu (%s): jansson %s, we %s (%s)", i, t, theirs ? "accepts" : "refuses",
                     ours ? "accept" : "refuse", ours ? "" : rej.error);
    }
    rg_event_parser_free(p);
}

/* Differences by design, each with jansson's view asserted too, so a
 * jansson upgrade that changes them is noticed. */
static void test_known_differences(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    rg_reject rej;
    json_error_t err;
    const char *const numbers[] = {"1e400", "-1e400", "18446744073709551616", "[99999999999999999999999]"};
    for (size_t i = 0; i < 4; i++) {
        assert_true(syntax_ok(p, numbers[i], strlen(numbers[i]), &rej));
        assert_null(json_loadb(numbers[i], strlen(numbers[i]), JSON_DECODE_ANY, &err));
    }
    rg_event_parser_free(p);
}

static char *nested(char open, char close, size_t depth)
{
    char *s = malloc(2 * depth + 1);
    assert_non_null(s);
    memset(s, open, depth);
    memset(s + depth, close, depth);
    s[2 * depth] = '\0';
    return s;
}

static void test_depth(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    rg_reject rej;
    rg_event ev;
    char *ok = nested('[', ']', RG_EVENT_MAX_DEPTH);
    assert_int_equal(rg_event_parse(p, ok, strlen(ok), &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_NOT_OBJECT);
    free(ok);
    char *deep = nested('[', ']', RG_EVENT_MAX_DEPTH + 1);
    assert_int_equal(rg_event_parse(p, deep, strlen(deep), &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_TOO_DEEP);
    free(deep);
    /* 1 MiB of '[' (no closers): refused at depth 33, no stack overflow. */
    size_t n = 1 << 20;
    char *huge = malloc(n);
    memset(huge, '[', n);
    assert_int_equal(rg_event_parse(p, huge, n, &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_TOO_DEEP);
    memset(huge, '{', n);
    assert_int_equal(rg_event_parse(p, huge, n, &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_INVALID_JSON); /* {{ : a key was expected */
    for (size_t i = 0; i + 5 <= n; i += 5)
        memcpy(huge + i, "{\"a\":", 5);
    assert_int_equal(rg_event_parse(p, huge, n, &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_TOO_DEEP);
    free(huge);
    /* depth inside a known field counts from the top: event = 1 */
    char line[512];
    char *arr = nested('[', ']', RG_EVENT_MAX_DEPTH - 1);
    snprintf(line, sizeof line, "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":1,\"account\":\"a\",\"x\":%s}", arr);
    free(arr);
    assert_int_equal(rg_event_parse(p, line, strlen(line), &ev, &rej), 0);
    arr = nested('[', ']', RG_EVENT_MAX_DEPTH);
    snprintf(line, sizeof line, "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":1,\"account\":\"a\",\"x\":%s}", arr);
    free(arr);
    assert_int_equal(rg_event_parse(p, line, strlen(line), &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_TOO_DEEP);
    assert_string_equal(rej.field, "x");
    rg_event_parser_free(p);
}

/* Many keys in one object: the key set grows, duplicates found far apart. */
static void test_many_keys(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    rg_reject rej;
    rg_event ev;
    size_t n = 20000, cap = n * 16 + 128;
    char *s = malloc(cap);
    size_t len = (size_t)snprintf(s, cap, "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":1,\"account\":\"a\"");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, ",\"k%zu\":%zu", i, i);
    size_t before_dup = len;
    s[len++] = '}';
    assert_int_equal(rg_event_parse(p, s, len, &ev, &rej), 0);
    len = before_dup + (size_t)snprintf(s + before_dup, cap - before_dup, ",\"k7\":{}}");
    assert_int_equal(rg_event_parse(p, s, len, &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_DUPLICATE_KEY);
    assert_string_equal(rej.field, "k7");
    /* the same keys in sibling objects are fine, and the set is reused */
    for (int round = 0; round < 3; round++) {
        const char *t = "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":1,\"account\":\"a\",\"k7\":{\"k7\":{\"k7\":1}},\"k8\":[{\"k7\":1},{\"k7\":2}]}";
        assert_int_equal(rg_event_parse(p, t, strlen(t), &ev, &rej), 0);
    }
    free(s);
    rg_event_parser_free(p);
}

static void test_error_messages(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    rg_reject rej;
    rg_event ev;
    const char *t = "{\"event_id\":\"e\",\"amount\":01}";
    assert_int_equal(rg_event_parse(p, t, strlen(t), &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_INVALID_JSON);
    assert_string_equal(rej.field, "amount");
    assert_non_null(strstr(rej.error, "leading zero"));
    assert_non_null(strstr(rej.error, "at byte 26"));
    t = "{\"event_id\":\"\\ud800x\"}";
    assert_int_equal(rg_event_parse(p, t, strlen(t), &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_INVALID_UTF8);
    assert_non_null(strstr(rej.error, "surrogate"));
    t = "{\"a\":1,}";
    assert_int_equal(rg_event_parse(p, t, strlen(t), &ev, &rej), -1);
    assert_int_equal(rej.kind, RG_REJ_INVALID_JSON);
    assert_non_null(strstr(rej.error, "string key expected"));
    rg_event_parser_free(p);
}

/* rg_json_stop_mask and rg_json_plain_mask (its complement) against
 * their definition: every byte value at every
 * one of the 16 places, among bytes that do not stop a run. */
static void test_stop_mask(void **state)
{
    (void)state;
#ifdef __SSE2__
    unsigned char block[16];
    for (int at = 0; at < 16; at++) {
        for (int b = 0; b < 256; b++) {
            memset(block, 'a' + at, sizeof block);
            block[at] = (unsigned char)b;
            bool stops = b == '"' || b == '\\' || b < 0x20 || b >= 0x80;
            unsigned want = stops ? 1u << at : 0;
            if (rg_json_stop_mask16(block) != want || rg_json_plain_mask16(block) != (want ^ 0xFFFFu))
                fail_msg("byte 0x%02x at %d: masks %04x %04x, want %04x", b, at, rg_json_stop_mask16(block),
                         rg_json_plain_mask16(block), want);
        }
    }
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential_jansson),
        cmocka_unit_test(test_known_differences),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_many_keys),
        cmocka_unit_test(test_error_messages),
        cmocka_unit_test(test_stop_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
