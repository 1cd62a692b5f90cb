/*
 * The event parser's fast paths against its general reading: the line
 * pass (event_line.c) and the compact scan (event_compact.c) must give
 * what the general scan gives, the same event or the same reject, on
 * usual lines, on every one-byte change, deletion and truncation of them
 * and on the forms next to the usual ones; and event_usual.h's readers
 * of a value as bytes what they give as an rg_json_val. (The contract
 * itself, rule by rule: test_event_parse.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "ingest/event_fields.h"
#include "ingest/event_parse.h"
#include "ingest/event_usual.h"

#define A128 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* The three readings compared: every path (fast[0]), no line pass
 * (fast[1]: the compact scan first), the general scan alone. */
static void readings_new(rg_event_parser *fast[2], rg_event_parser **general)
{
    fast[0] = rg_event_parser_new();
    fast[1] = rg_event_parser_new();
    *general = rg_event_parser_new();
    assert_non_null(fast[0]);
    assert_non_null(fast[1]);
    assert_non_null(*general);
    fast[1]->no_line_pass = true;
    (*general)->general_only = true;
}

static void readings_free(rg_event_parser *fast[2], rg_event_parser *general)
{
    rg_event_parser_free(fast[0]);
    rg_event_parser_free(fast[1]);
    rg_event_parser_free(general);
}

/* ip: IPv4 text is read inline (event_check.c), IPv6 by inet_pton; the
 * family and bytes (or the rejection) must be inet_pton's for every
 * text: random strings over digits and dots, and near misses. */
static void test_ip_as_inet_pton(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new(), *p_compact = rg_event_parser_new();
    assert_non_null(p);
    assert_non_null(p_compact);
    p_compact->no_line_pass = true;
    rg_event ev;
    rg_reject rej;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    char ip[40], line[256];
    static const char *const fixed[] = {"1.2.3.4", "255.255.255.255", "256.1.1.1", "01.2.3.4", "0.0.0.0", "1.2.3",
                                        "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3.4.5", "00.1.1.1", "1.2.3.04",
                                        "10.0.0.1", "::ffff:1.2.3.4", "1.2.3.4a", "", "1.2.3.255", "1.2.3.256",
                                        "1.2.3.4.5.6.7.8", "1111.2.3.4", "1.2.3.0255", "255.255.255.2555",
                                        "9.9.9.9", "0.0.0.00", "100.200.250.199", "1.2..3.4"};
    for (int i = 0; i < 100000 + (int)(sizeof fixed / sizeof *fixed); i++) {
        if (i < (int)(sizeof fixed / sizeof *fixed)) {
            snprintf(ip, sizeof ip, "%s", fixed[i]);
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t n = 1 + x % 16;
            for (size_t k = 0; k < n; k++)
                ip[k] = "0123456789.....5"[(x >> (4 * k % 60)) % 16 ^ (k & 1)];
            ip[n] = 0;
        }
        unsigned char want[16] = {0};
        int v4 = inet_pton(AF_INET, ip, want) == 1;
        int v6 = !v4 && inet_pton(AF_INET6, ip, want) == 1;
        snprintf(line, sizeof line, "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":5,\"account\":\"a\",\"ip\":\"%s\"}",
                 ip);
        /* the line pass's reader (line_ipv4), then rg_ipv4_text's */
        for (int k = 0; k < 2; k++) {
            rg_event_parser *q = k ? p_compact : p;
            int rc = rg_event_parse(q, line, strlen(line), &ev, &rej);
            if (!v4 && !v6) {
                if (rc == 0 || rej.kind != RG_REJ_BAD_IP)
                    fail_msg("%s: accepted as an IP", ip);
                continue;
            }
            assert_int_equal(rc, 0);
            assert_int_equal(ev.ip_family, v4 ? AF_INET : AF_INET6);
            if (memcmp(ev.ip_bin, want, v4 ? 4 : 16) != 0)
                fail_msg("%s: other bytes than inet_pton's", ip);
        }
    }
    rg_event_parser_free(p);
    rg_event_parser_free(p_compact);
}

/* Everything an accepted line yields, as text, or the reject. */
static void describe(int rc, const rg_event *ev, const rg_reject *rej, const rg_event_line *info, char *out,
                     size_t size)
{
#define S(x) ((x) ? (x) : "(null)")
    int n = snprintf(out, size, "envelope=%d raw=%.*s|", info->is_envelope, (int)info->event_raw_len,
                     info->event_raw);
    if (rc != 0) {
        snprintf(out + n, size - (size_t)n, "reject %d %s %s", rej->kind, S(rej->field), rej->error);
        return;
    }
    n += snprintf(out + n, size - (size_t)n,
                  "%d %lld %.*s %.*s ip=%s/%d/%02x%02x%02x%02x%02x%02x dev=%s loc=%d/%a/%a cts=%d/%lld cl=%d/%d/%d/%zu "
                  "reg=%s amt=%lld cp=%s cur=%s/%d mode=%d/%d cca=%d/%lld pk=%s sh=%lld/%d kind=%d/%d tgt=%s ref=%s "
                  "rsn=%d/%d",
                  ev->type, (long long)ev->ts_ms, (int)ev->event_id_len, ev->event_id, (int)ev->account_len,
                  ev->account, S(ev->ip), ev->ip_family, ev->ip_bin[0], ev->ip_bin[1], ev->ip_bin[2], ev->ip_bin[3],
                  ev->ip_bin[4], ev->ip_bin[15], S(ev->device_id), ev->has_location, ev->lat, ev->lon,
                  ev->has_client_ts, (long long)ev->client_ts_ms, ev->client_automation, ev->client_hooked,
                  ev->has_client_packages, ev->n_client_packages, S(ev->region), (long long)ev->amount,
                  S(ev->counterparty), S(ev->currency), ev->currency_given, ev->mode, ev->mode_given,
                  ev->has_counterparty_created_at, (long long)ev->counterparty_created_at_ms, S(ev->packet_id),
                  (long long)ev->shares, ev->shares_given, ev->kind, ev->kind_given, S(ev->target), S(ev->ref),
                  ev->reason, ev->reason_given);
    for (size_t i = 0; i < ev->n_client_packages && (size_t)n < size; i++)
        n += snprintf(out + n, size - (size_t)n, " [%s]", ev->client_packages[i]);
#undef S
}

static void compare_one(rg_event_parser *fast, rg_event_parser *general, const char *line, size_t len,
                        const char *what)
{
    char a[2048], b[2048];
    rg_event ev;
    rg_reject rej;
    rg_event_line info;
    int rc = rg_event_parse_line(fast, line, len, &ev, &rej, &info);
    describe(rc, &ev, &rej, &info, a, sizeof a);
    rc = rg_event_parse_line(general, line, len, &ev, &rej, &info);
    describe(rc, &ev, &rej, &info, b, sizeof b);
    if (strcmp(a, b) != 0)
        fail_msg("%.*s\n %s: %s\n general scan: %s", (int)len, line, what, a, b);
}

/* The line pass first (the default), and the compact scan alone. */
static void compare_paths(rg_event_parser *const fast[2], rg_event_parser *general, const char *line, size_t len)
{
    compare_one(fast[0], general, line, len, "line pass");
    compare_one(fast[1], general, line, len, "compact scan");
}

/* The line pass (event_line.c) and the compact scan (event_parse.c)
 * must each leave what the general scan leaves: every line below, and every one-byte change, deletion and
 * truncation of it, gives the same event or the same reject (kind, field,
 * message with its byte position) either way. */
static void test_compact_scan_as_general(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{\"event_id\":\"e-0390803\",\"type\":\"login\",\"account\":\"bg10292\",\"ip\":\"182.90.206.83\",\"device_id\":\"d-bg10292-a\",\"location\":{\"lat\":22.86727,\"lon\":108.34263},\"ts\":\"2026-11-29T06:00:38.099+08:00\"}",
        "{\"event_id\":\"e-0465945\",\"type\":\"red_packet_send\",\"account\":\"bg11264\",\"packet_id\":\"p-0053676\",\"amount\":19394,\"shares\":2,\"kind\":\"lucky\",\"target\":\"g-01970\",\"ip\":\"58.35.171.237\",\"device_id\":\"d-bg11264-a\",\"ts\":1795903250636}",
        "{\"event_id\":\"e-0137477\",\"type\":\"red_packet_claim\",\"account\":\"bg10072\",\"packet_id\":\"p-0014431\",\"amount\":619,\"ip\":\"221.6.95.21\",\"device_id\":\"d-bg10072-a\",\"client_ts\":\"2026-11-28T22:01:33.483Z\",\"ts\":\"2026-11-29T06:01:06.124+08:00\"}",
        "{\"event_id\":\"e-0739929\",\"type\":\"transfer\",\"account\":\"bg06359\",\"counterparty\":\"bg00473\",\"amount\":56239,\"currency\":\"CNY\",\"mode\":\"delay_2h\",\"counterparty_created_at\":\"2026-11-01T00:00:00Z\",\"ip\":\"77.192.125.87\",\"device_id\":\"d-bg06359-a\",\"ts\":1795903277451}",
        "{\"event_id\":\"e-5\",\"type\":\"red_packet_claim\",\"ts\":\"2026-11-22T00:01:00.300Z\",\"account\":\"u-8\",\"packet_id\":\"p-5\",\"amount\":900,\"client\":{\"automation\":true,\"hooked\":false,\"packages\":[\"com.example.autoclick\",\"x\"]}}",
        "{\"event_id\":\"e-1\",\"type\":\"account_open\",\"ts\":0,\"account\":\"u-77\",\"region\":\"CN\",\"extra\":{\"a\":[1,2.5e3,null,true]},\"device_id\":\"d-9\"}",
        "{\"event_id\":\"e-7\",\"type\":\"complaint\",\"ts\":\"2026-11-22T00:30:00Z\",\"account\":\"u-1\",\"ref\":\"e-3\",\"reason\":\"mistake\"}",
        "{\"event_id\":\"e-8\",\"type\":\"login\",\"ts\":0,\"account\":\"a\",\"location\":{\"lon\":-0.000000000000000000000123,\"lat\":-0.5},\"ip\":\"::1\"}",
        "{\"event_id\":\"e-9\",\"type\":\"login\",\"ts\":0,\"account\":\"a\",\"location\":{\"lat\":12.34567890123456789,\"lon\":179.9999999999999999999}}",
        "{\"event_id\":\"e-6\",\"type\":\"recall_request\",\"ts\":123456789012345678,\"account\":\"u-1\",\"ref\":\"p-5\"}",
        "{\"event_id\":\"e-2\",\"type\":\"account_open\",\"account\":\"u-2\",\"region\":\"CN\",\"ip\":\"2001:db8::1\",\"device_id\":\"d\",\"ts\":\"2026-02-28T23:30:00+08:00\"}",
        "{\"event_id\":\"e-3\",\"type\":\"login\",\"account\":\"u\",\"amount\":5,\"ip\":\"0.0.0.0\",\"ts\":\"2024-02-29T00:30:00.5-05:30\",\"client_ts\":1795903277451}",
        "{\"event_id\":\"e-4\",\"type\":\"recall_request\",\"account\":\"u\",\"ref\":\"e-3\",\"ts\":253402300799999,\"device_id\":null}",
        "{\"type\":\"transfer\",\"event_id\":\"e-10\",\"account\":\"bg1\",\"counterparty\":\"bg2\",\"amount\":1000000000000,\"mode\":\"delay_24h\",\"currency\":\"USD\",\"counterparty_created_at\":1795903277451,\"ts\":\"2026-12-01T21:52:27Z\"}",
        "{\"event_id\":\"e-11\",\"type\":\"red_packet_send\",\"account\":\"bg1\",\"packet_id\":\"p\",\"amount\":1,\"shares\":10000,\"kind\":\"timed\",\"target\":\"g-1\",\"location\":{\"lon\":-180,\"lat\":90},\"ts\":\"1970-01-01T00:00:00.000Z\"}",
        "{\"event_id\":\"e-12\",\"type\":\"complaint\",\"account\":\"bg1\",\"ref\":\"e-11\",\"reason\":\"other\",\"ip\":\"255.255.255.255\",\"client_ts\":\"2026-12-01T21:52:27.1234+08:00\",\"ts\":\"9999-12-31T23:59:59.999Z\"}",
        "{\"event_id\":\"e-13\",\"type\":\"transfer\",\"account\":\"bg1\",\"counterparty\":\"bg2\",\"amount\":7,\"currency\":\"CNY\",\"ip\":\"10.0.0.1\",\"device_id\":\"d-1\",\"location\":{\"lat\":-0.0,\"lon\":0},\"client_ts\":\"2026-12-01t21:52:27z\",\"ts\":\"2026-12-01T21:52:27.913Z\"}",
        "{\"event_id\":\"e-14\",\"type\":\"transfer\",\"account\":\"bg1\",\"counterparty\":\"bg2\",\"amount\":70,\"currency\":null,\"mode\":null,\"ip\":null,\"device_id\":null,\"location\":null,\"client_ts\":null,\"client\":{\"hooked\":true,\"automation\":null,\"packages\":[]},\"ts\":\"2026-12-01T21:52:27.913Z\"}",
        "{\"event_id\":\"e-15\",\"type\":\"red_packet_send\",\"account\":\"bg1\",\"packet_id\":\"p-1\",\"amount\":70,\"shares\":null,\"kind\":null,\"target\":null,\"client\":null,\"ts\":\"2026-12-01T21:52:27.913Z\"}",
        "{\"event_id\":\"e-16\",\"type\":\"complaint\",\"account\":\"bg1\",\"ref\":\"e-1\",\"reason\":null,\"region\":null,\"client\":{\"packages\":null,\"x\":1},\"ts\":\"2026-12-01T21:52:27.913Z\"}",
        "{\"event_id\":\"e-17\",\"type\":\"login\",\"app_ver\":\"5.1.2\",\"account\":\"bg1\",\"trace\":{\"id\":\"t-1\",\"hops\":[1,2]},\"x_a\":1,\"x_b\":null,\"ts\":\"2026-12-01T21:52:27.913Z\"}",
        /* strings past the line pass's two inline blocks of 16 bytes (plain_run_on) */
        "{\"event_id\":\"e-0123456789abcdef0123456789abcdef\",\"type\":\"login\",\"account\":\"bg1\",\"device_id\":\"d-0123456789abcdef0123456789abcdef0123456789abcdef\",\"ts\":0}",
        /* client's usual forms, read by the line pass itself (line_client), and one it leaves to the scan */
        "{\"event_id\":\"e-18\",\"type\":\"login\",\"account\":\"bg1\",\"client\":{\"automation\":false,\"hooked\":false,\"packages\":[]},\"ts\":\"2026-12-01T21:52:27.913Z\"}",
        "{\"event_id\":\"e-19\",\"type\":\"red_packet_claim\",\"account\":\"bg1\",\"packet_id\":\"p-1\",\"amount\":3,\"client\":{\"packages\":[\"com.eg.android.AlipayGphone\",\"c\"],\"hooked\":true},\"ts\":1795903277451}",
        "{\"event_id\":\"e-20\",\"type\":\"login\",\"account\":\"bg1\",\"client\":{\"automation\":false,\"sdk\":\"com.x\",\"rooted\":null},\"ts\":0}",
        "{\"event_id\":\"e-21\",\"type\":\"login\",\"account\":\"bg1\",\"client\":{},\"client_ts\":5,\"ts\":0}",
        "{\"topic\":\"ev\",\"partition\":0,\"offset\":12,\"payload\":\"{\\\"event_id\\\":\\\"e\\\",\\\"type\\\":\\\"login\\\",\\\"ts\\\":5,\\\"account\\\":\\\"a\\\"}\"}",
    };
    static const char alphabet[] = "\"\\,:{}[] \t01-9.eE+aZTn\x01\x7f\x80\xc3\xff";
    rg_event_parser *fast[2], *general;
    readings_new(fast, &general);
    char buf[512];
    size_t compared = 0;
    for (size_t l = 0; l < sizeof lines / sizeof *lines; l++) {
        size_t len = strlen(lines[l]);
        assert_true(len < sizeof buf);
        compare_paths(fast, general, lines[l], len);
        for (size_t i = 0; i < len; i++) {
            for (size_t c = 0; c < sizeof alphabet - 1; c++) {
                memcpy(buf, lines[l], len);
                buf[i] = alphabet[c];
                compare_paths(fast, general, buf, len);
            }
            memcpy(buf, lines[l], i); /* byte i deleted */
            memcpy(buf + i, lines[l] + i + 1, len - i - 1);
            compare_paths(fast, general, buf, len - 1);
            compare_paths(fast, general, lines[l], i); /* truncated */
            compared += sizeof alphabet + 1;
        }
    }
    assert_true(compared > 30000);
    readings_free(fast, general);
}

/* client's value in the forms the line pass reads itself (line_client)
 * and next to them: every one must give what the general scan gives
 * (accepted alike, or the same reject), malformed ones included. */
static void test_line_client_as_general(void **state)
{
    (void)state;
    static const char *const clients[] = {
        "{}", "{\"automation\":true}", "{\"automation\":true,}", "{,\"hooked\":true}", "{\"hooked\":true,,\"automation\":false}",
        "{\"hooked\":truex}", "{\"hooked\":fals}", "{\"hooked\":false }", "{ \"hooked\":false}", "{\"hooked\" :false}",
        "{\"hooked\":true,\"hooked\":false}", "{\"hooked\":null,\"automation\":null,\"packages\":null}",
        "{\"automation\":1}", "{\"automation\":\"yes\"}", "{\"packages\":\"x\"}", "{\"packages\":[\"a\",]}",
        "{\"packages\":[\"a\"],}", "{\"packages\":[,\"a\"]}", "{\"packages\":[\"\"]}", "{\"packages\":[\"\xc3\xa9\"]}",
        "{\"packages\":[\"a\\u0062\"]}", "{\"packages\":[null]}", "{\"packages\":[[]]}", "{\"packages\":[\"a\" ]}",
        "{\"packages\":[\"a\",\"b\"],\"packages\":[]}", "{\"pack\\u0061ges\":[]}", "{\"sdk\":\"x\"}", "{\"packages\":[]",
        "{\"packages\":[\"a\"", "{\"hooked\":true", "{\"automation\":false,\"hooked\":false,\"packages\":[]}"};
    rg_event_parser *fast[2], *general;
    readings_new(fast, &general);
    static char line[80000], client[70000];
    for (size_t i = 0; i < sizeof clients / sizeof *clients + 6; i++) {
        if (i < sizeof clients / sizeof *clients) {
            snprintf(client, sizeof client, "%s", clients[i]);
        } else {
            /* 255..257 items; names of 256 and 257 bytes */
            size_t k = i - sizeof clients / sizeof *clients, n = 0;
            n += (size_t)snprintf(client + n, sizeof client - n, "{\"packages\":[");
            size_t items = k < 3 ? 255 + k : 1, name = k < 3 ? 3 : 255 + (k - 3);
            for (size_t j = 0; j < items; j++) {
                client[n++] = j ? ',' : '"';
                if (j)
                    client[n++] = '"';
                memset(client + n, 'a' + (int)(j % 26), name);
                n += name;
                client[n++] = '"';
            }
            n += (size_t)snprintf(client + n, sizeof client - n, "]}");
        }
        int n = snprintf(line, sizeof line,
                         "{\"event_id\":\"e-1\",\"type\":\"login\",\"account\":\"bg1\",\"client\":%s,\"ts\":0}", client);
        compare_paths(fast, general, line, (size_t)n);
    }
    readings_free(fast, general);
}

/* The line pass reads the usual forms of numbers in one step (an
 * unsigned integer for amount, shares and the times; a short decimal
 * for lat/lon) and every other form as the scans do: number literals of
 * every shape in each of those places (0 to 20 integer digits, leading
 * zeros, 0 to 19 fraction digits, signs, exponents, around 2^53 and
 * 18 significant digits) give what the general scan gives. */
static void test_line_numbers_as_general(void **state)
{
    (void)state;
    static const char *const fixed[] = {"0", "-0", "00", "01", "1.", "1.05", "0.5", "-0.5", "9007199254740992",
                                        "9007199254740993", "900719925474099.3", "90071992547409.93",
                                        "1234567890123456", "12345678901234567", "1.23456789012345678",
                                        "12.3456789012345678", "1.2345678901234567", "89.9999999999999999",
                                        "90.0000000000000001", "-180.000000000000001", "1e2", "1.5E-3",
                                        "253402300799999", "253402300800000", "1000000000000", "1000000000001",
                                        "10000", "10001", "-1", "1.0", "1796091336910"};
    static const char *const shapes[] = {
        "{\"event_id\":\"e\",\"type\":\"transfer\",\"account\":\"a\",\"counterparty\":\"b\",\"amount\":%s,\"ts\":5}",
        ("{\"event_id\":\"e\",\"type\":\"red_packet_send\",\"account\":\"a\",\"packet_id\":\"p\",\"amount\":5,"
         "\"shares\":%s,\"ts\":5}"),
        "{\"event_id\":\"e\",\"type\":\"login\",\"account\":\"a\",\"ts\":%s}",
        "{\"event_id\":\"e\",\"type\":\"login\",\"account\":\"a\",\"client_ts\":%s,\"ts\":1}",
        "{\"event_id\":\"e\",\"type\":\"login\",\"account\":\"a\",\"ts\":1,\"location\":{\"lat\":%s,\"lon\":1.5}}",
        "{\"event_id\":\"e\",\"type\":\"login\",\"account\":\"a\",\"location\":{\"lon\":%s,\"lat\":-1.5},\"ts\":1}",
        "{\"event_id\":\"e\",\"type\":\"login\",\"account\":\"a\",\"x\":%s,\"ts\":1}",
    };
    rg_event_parser *fast[2], *general;
    readings_new(fast, &general);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    char lit[64], line[512];
    for (int i = 0; i < 30000 + (int)(sizeof fixed / sizeof *fixed); i++) {
        if (i < (int)(sizeof fixed / sizeof *fixed)) {
            snprintf(lit, sizeof lit, "%s", fixed[i]);
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int int_digits = (int)(x % 21), frac = (int)((x >> 8) % 20), form = (int)((x >> 16) % 16);
            size_t n = 0;
            if (form == 0)
                lit[n++] = '-';
            uint64_t z = x * 2862933555777941757ULL + 3037000493ULL;
            for (int k = 0; k < int_digits; k++, z = z * 6364136223846793005ULL + 1442695040888963407ULL)
                lit[n++] = (char)('0' + (k == 0 && form > 2 && int_digits > 1 ? 1 + (z >> 60) % 9 : (z >> 60) % 10));
            if (form < 8 && frac) {
                lit[n++] = '.';
                for (int k = 0; k < frac; k++, z = z * 6364136223846793005ULL + 1442695040888963407ULL)
                    lit[n++] = (char)('0' + (z >> 60) % 10);
            }
            if (form == 1)
                lit[n++] = 'e', lit[n++] = '1';
            lit[n] = 0;
        }
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            int len = snprintf(line, sizeof line, shapes[s], lit);
            compare_paths(fast, general, line, (size_t)len);
        }
    }
    readings_free(fast, general);
}

/* The line pass's takes of a string and of an integer given as bytes and
 * value (rg_usual_take_string_with, rg_usual_take_uint), and of a null
 * (rg_usual_take_null), against
 * rg_usual_take_value on the rg_json_val the compact scan would pass: for
 * every field, the same answer and the same bytes of the event (which
 * starts as the same non-zero pattern, so a store one makes and the other
 * does not shows). */
static void test_usual_takes_as_value(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    assert_non_null(p);
    static const char *const strings[] = {
        "", "a", A64, A64 "a", A128, A128 "a", "login", "account_open", "transfer", "red_packet_send",
        "red_packet_claim", "recall_request", "complaint", "Login", "CN", "cn", "C", "CNY", "CNY1", "USD",
        "realtime", "delay_2h", "delay_24h", "normal", "lucky", "group", "timed", "fraud", "mistake", "other",
        "1.2.3.4", "255.255.255.255", "256.1.1.1", "::1", "fe80::1", "1.2.3", "0123456789012345678901234567890123456789012345",
        "012345678901234567890123456789012345678901234", "2026-11-22T00:00:00Z", "2026-11-22T00:00:00.123+08:00",
        "2026-11-22T25:00:00Z", "1795340265123", "true", "null"};
    static const uint64_t ints[] = {0, 1, 2, 9999, 10000, 10001, 1000000000000ULL - 1, 1000000000000ULL,
                                    1000000000001ULL, 253402300799999ULL, 253402300800000ULL, 9999999999999999ULL,
                                    UINT64_MAX};
    for (int f = 0; f < F_COUNT; f++) {
        for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
            rg_event a, b;
            memset(&a, 0xA5, sizeof a);
            memset(&b, 0xA5, sizeof b);
            const rg_json_val v = {.type = RG_JSON_STRING, .str = strings[i], .str_len = strlen(strings[i])};
            bool ra = rg_usual_take_value(p, &a, f, &v);
            bool rb = rg_usual_take_string_with(p, &b, f, strings[i], strlen(strings[i]), rg_ipv4_text);
            if (ra != rb || memcmp(&a, &b, sizeof a) != 0)
                fail_msg("field %s, string \"%s\": %d against %d, or another event", rg_field_names[f], strings[i],
                         ra, rb);
        }
        for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
            rg_event a, b;
            memset(&a, 0xA5, sizeof a);
            memset(&b, 0xA5, sizeof b);
            const rg_json_val v = {.type = RG_JSON_NUMBER, .num = {.text = "0", .len = 1, .is_int = true, .mag = ints[i]}};
            bool ra = rg_usual_take_value(p, &a, f, &v);
            bool rb = rg_usual_take_uint(&b, f, ints[i]);
            if (ra != rb || memcmp(&a, &b, sizeof a) != 0)
                fail_msg("field %s, integer %llu: %d against %d, or another event", rg_field_names[f],
                         (unsigned long long)ints[i], ra, rb);
        }
        /* a null, on a cleared event (the line pass clears it first) */
        rg_event a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        const rg_json_val null = {.type = RG_JSON_NULL};
        bool ra = rg_usual_take(p, &a, f, &null);
        bool rb = rg_usual_take_null(f);
        if (ra != rb || memcmp(&a, &b, sizeof a) != 0)
            fail_msg("field %s, null: %d against %d, or another event", rg_field_names[f], ra, rb);
    }
    rg_event_parser_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_as_inet_pton),
        cmocka_unit_test(test_compact_scan_as_general),
        cmocka_unit_test(test_line_numbers_as_general),
        cmocka_unit_test(test_usual_takes_as_value),
        cmocka_unit_test(test_line_client_as_general),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
