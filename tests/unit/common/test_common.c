/* Unit tests for common/: time parsing and formatting, durations, the
 * string buffer's JSON and base64 output, UTF-8 validation (strmap's are
 * test_strmap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/timeutil.h"

static int64_t ts(const char *s)
{
    int64_t ms = -1;
    const char *why = NULL;
    if (!rg_parse_rfc3339(s, strlen(s), &ms, &why))
        return -1;
    return ms;
}

static void test_rfc3339_forms(void **state)
{
    (void)state;
    assert_int_equal(ts("2026-11-22T14:37:45.123Z"), 1795358265123LL);
    /* +08:00 is 8 hours ahead of UTC: the same instant as 00:00Z. */
    assert_int_equal(ts("2026-11-22T08:00:00.250+08:00"), ts("2026-11-22T00:00:00.250Z"));
    assert_int_equal(ts("2026-11-22t00:00:00z"), ts("2026-11-22T00:00:00Z"));
    /* Fractions are truncated to milliseconds, never rounded up. */
    assert_int_equal(ts("2026-11-22T00:00:00.1239999Z"), ts("2026-11-22T00:00:00.123Z"));
    assert_int_equal(ts("2026-11-22T00:00:00.5Z"), ts("2026-11-22T00:00:00.500Z"));
    assert_int_equal(ts("2024-02-29T00:00:00Z"), 1709164800000LL);
    assert_int_equal(ts("1970-01-01T00:00:00Z"), 0);
}

static void test_rfc3339_rejects(void **state)
{
    (void)state;
    const char *bad[] = {"yesterday", "2026-13-45T99:00:00Z", "2026-02-29T00:00:00Z",
                         "2026-11-22T24:00:00Z", "2026-11-22T00:60:00Z", "2026-11-22T00:00:00",
                         "2026-11-22 00:00:00Z", "2026-11-22T00:00:00.Z", "2026-11-22T00:00:00+8:00",
                         "2026-11-22T00:00:00+24:00", "2026-11-22T00:00:00Zjunk", "1969-12-31T23:59:59Z",
                         "2026-04-31T00:00:00Z", "2100-02-29T00:00:00Z", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t ms;
        const char *why = NULL;
        if (rg_parse_rfc3339(bad[i], strlen(bad[i]), &ms, &why))
            fail_msg("accepted %s", bad[i]);
        assert_non_null(why);
    }
}

/* rg_parse_rfc3339's fast path for the fixed form must give exactly what
 * the general path gives (value, or failure and its reason) on the usual
 * forms and on every one-byte mutation of them, and on random dates. */
static void check_rfc3339_paths(const char *s, size_t len)
{
    int64_t a = -7, b = -7;
    const char *wa = NULL, *wb = NULL;
    bool ra = rg_parse_rfc3339(s, len, &a, &wa), rb = rg_parse_rfc3339_general(s, len, &b, &wb);
    if (ra != rb || a != b || wa != wb)
        fail_msg("%.*s: fast path %d %lld (%s), general %d %lld (%s)", (int)len, s, ra, (long long)a,
                 wa ? wa : "-", rb, (long long)b, wb ? wb : "-");
}

static void test_rfc3339_fast_path(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "2026-11-29T06:00:38.099+08:00", "2026-11-28T22:00:52.293Z", "1970-01-01T00:00:00.000Z",
        "1970-01-01T00:59:59.999+01:00", "1969-12-31T23:59:59.999-01:00", "9999-12-31T23:59:59.999Z",
        "9999-12-31T23:59:59.999-00:01", "2024-02-29T12:00:00.000z", "2100-02-28t23:59:60.999-23:59",
        "2000-02-29T00:00:00.000+23:59", "2026-11-22T14:37:45.123Z", "2026-11-29T06:00:38Z",
        "2026-11-29T06:00:38+08:00", "2026-11-29T06:00:38.123456Z", "2026-11-29T06:00:38.123456-05:30",
        "2026-11-29T06:00:38.1Z", "2026-11-29T06:00:38.123456789012+00:00"};
    static const char alphabet[] = "0123456789-:T.Zz+t /\\\x80\x7f";
    uint64_t x = 0x2545F4914F6CDD1DULL;
    size_t checked = 0;
    for (size_t f = 0; f < sizeof forms / sizeof *forms; f++) {
        char buf[40];
        size_t len = strlen(forms[f]);
        check_rfc3339_paths(forms[f], len);
        for (size_t i = 0; i < len; i++) {
            for (size_t c = 0; c < sizeof alphabet - 1; c++) {
                memcpy(buf, forms[f], len);
                buf[i] = alphabet[c];
                check_rfc3339_paths(buf, len);
                checked++;
            }
        }
        for (size_t cut = 0; cut < len; cut++)
            check_rfc3339_paths(forms[f], cut);
    }
    for (int i = 0; i < 300000; i++) { /* random valid-looking fields, out-of-range ones included */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        char buf[40];
        int n = snprintf(buf, sizeof buf, "%04u-%02u-%02uT%02u:%02u:%02u", (unsigned)(1960 + x % 8100),
                         (unsigned)(x >> 13) % 14, (unsigned)(x >> 17) % 33, (unsigned)(x >> 23) % 25,
                         (unsigned)(x >> 28) % 61, (unsigned)(x >> 34) % 62);
        unsigned frac_digits = (unsigned)(x >> 40) % 8; /* 0: no fraction; 7: "." alone */
        if (frac_digits)
            n += snprintf(buf + n, sizeof buf - (size_t)n, ".%.*s", (int)(frac_digits % 7),
                          &"987654321"[(x >> 44) % 3]);
        if ((x >> 50) & 1)
            n += snprintf(buf + n, sizeof buf - (size_t)n, "Z");
        else
            n += snprintf(buf + n, sizeof buf - (size_t)n, "%c%02u:%02u", (x >> 51) & 1 ? '-' : '+',
                          (unsigned)(x >> 52) % 25, (unsigned)(x >> 57) % 61);
        check_rfc3339_paths(buf, (size_t)n);
        checked++;
    }
    assert_true(checked > 300000);
}

/* The hour memo (the date, hour and zone of the last time of each zone
 * form) answers only from a time that shares them: every time here comes
 * right after one of its own hour and zone, so the memo is asked with
 * each tail (minutes, seconds, fraction) and each one-byte change of it,
 * and must agree with the general path; times whose prefix differs from
 * the remembered one in one byte must not be answered from it. */
static void test_rfc3339_hour_memo(void **state)
{
    (void)state;
    static const char *const hours[] = {"2026-11-29T06", "2026-11-28t22", "1970-01-01T00", "9999-12-31T23",
                                        "2024-02-29T12", "2000-03-01T00"};
    static const char *const zones[] = {"Z", "z", "+08:00", "-05:30", "+23:59", "-23:59", "+00:00"};
    static const char *const tails[] = {":00:38.099", ":59:59.999", ":00:00", ":30:60.123456", ":05:07.5",
                                        ":05:07.1234", ":60:00.000", ":05:61.000", ":5:07.000", ":05:07.", ":05:07.12a"};
    static const char alphabet[] = "0123456789-:T.Zz+t a\x80";
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t h = 0; h < sizeof hours / sizeof *hours; h++) {
        for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
            char prime[48], buf[48];
            int pn = snprintf(prime, sizeof prime, "%s:00:00%s", hours[h], zones[z]);
            for (size_t t = 0; t < sizeof tails / sizeof *tails; t++) {
                int n = snprintf(buf, sizeof buf, "%s%s%s", hours[h], tails[t], zones[z]);
                for (size_t i = 13; i <= (size_t)n; i++) {
                    for (size_t c = 0; c < sizeof alphabet; c++) {
                        char m[48];
                        memcpy(m, buf, (size_t)n);
                        size_t len = (size_t)n;
                        if (i < len)
                            m[i] = c < sizeof alphabet - 1 ? alphabet[c] : buf[i];
                        check_rfc3339_paths(prime, (size_t)pn); /* the memo now holds this hour */
                        check_rfc3339_paths(m, len);
                    }
                }
            }
            /* a prefix or zone one byte off the remembered one */
            for (int k = 0; k < 2000; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                memcpy(buf, prime, (size_t)pn);
                size_t i = (size_t)(x % (uint64_t)pn);
                buf[i] = alphabet[(x >> 20) % (sizeof alphabet - 1)];
                check_rfc3339_paths(prime, (size_t)pn);
                check_rfc3339_paths(buf, (size_t)pn);
            }
        }
    }
}

static void test_format_utc(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(rg_format_utc_ms(1795358265123LL, buf, sizeof buf), 24);
    assert_string_equal(buf, "2026-11-22T14:37:45.123Z");
    rg_format_utc_ms(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    assert_int_equal(rg_format_utc_ms(0, buf, 10), 0);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(rg_parse_duration("500ms", 5, &ms));
    assert_int_equal(ms, 500);
    assert_true(rg_parse_duration("72h", 3, &ms));
    assert_int_equal(ms, 72LL * 3600 * 1000);
    assert_true(rg_parse_duration("10m", 3, &ms));
    assert_int_equal(ms, 600000);
    assert_true(rg_parse_duration("7d", 2, &ms));
    assert_int_equal(ms, 7LL * 86400000);
    assert_false(rg_parse_duration("10", 2, &ms));
    assert_false(rg_parse_duration("h", 1, &ms));
    assert_false(rg_parse_duration("1.5h", 4, &ms));
    assert_false(rg_parse_duration("10w", 3, &ms));
    assert_false(rg_parse_duration("99999999999999999999d", 21, &ms));
}

static void test_json_str_and_base64(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    static const char in[] = "a\"b\\c\n\x01\xe4\xb8\xad";
    rg_strbuf_put_json_str(&b, in, sizeof in - 1);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\xe4\xb8\xad\"");
    rg_strbuf_reset(&b);
    rg_strbuf_put_base64(&b, "\xff\xfe", 2);
    assert_string_equal(b.data, "//4=");
    rg_strbuf_reset(&b);
    rg_strbuf_put_base64(&b, "abc", 3);
    assert_string_equal(b.data, "YWJj");
    rg_strbuf_reset(&b);
    rg_strbuf_put_i64(&b, INT64_MIN);
    assert_string_equal(b.data, "-9223372036854775808");
    rg_strbuf_reset(&b);
    rg_strbuf_printf(&b, "%0300d", 7); /* longer than the small stack buffer */
    assert_int_equal(b.len, 300);
    rg_strbuf_free(&b);
}

static void test_utf8(void **state)
{
    (void)state;
    assert_true(rg_utf8_valid("plain \xe4\xb8\xad\xf0\x9f\x98\x80", 13));
    assert_false(rg_utf8_valid("\xff\xfe", 2));
    assert_false(rg_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
    assert_false(rg_utf8_valid("\xed\xa0\x80", 3));     /* surrogate U+D800 */
    assert_false(rg_utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_false(rg_utf8_valid("\xe4\xb8", 2));         /* truncated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3339_forms), cmocka_unit_test(test_rfc3339_rejects),
        cmocka_unit_test(test_rfc3339_fast_path), cmocka_unit_test(test_rfc3339_hour_memo),
        cmocka_unit_test(test_format_utc),    cmocka_unit_test(test_durations),
        cmocka_unit_test(test_json_str_and_base64), cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
