/*
 * The event contract (events.md), rule by rule: for each rule a small line
 * that is accepted and one that is rejected, asserting kind, field and a
 * piece of the message. Data-driven: a new case is a new table row.
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

#define OK (-1)
#define HEAD "{\"event_id\":\"e-1\",\"ts\":\"2026-11-22T00:00:00Z\",\"account\":\"u-1\","
#define LOGIN HEAD "\"type\":\"login\""
#define TRANSFER HEAD "\"type\":\"transfer\",\"counterparty\":\"u-2\""
#define SEND HEAD "\"type\":\"red_packet_send\",\"packet_id\":\"p-1\",\"amount\":100"
#define A128 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

typedef struct rule_case {
    const char *json;
    int kind;          /* OK or an rg_reject_kind */
    const char *field; /* expected rej.field (NULL: none) */
    const char *msg;   /* substring of rej.error */
} rule_case;

static const rule_case cases[] = {
    /* the examples of events.md are all accepted */
    {"{\"event_id\":\"e-1\",\"type\":\"account_open\",\"ts\":\"2026-11-20T09:00:00Z\",\"account\":\"u-77\",\"region\":\"CN\",\"device_id\":\"d-9\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e-2\",\"type\":\"login\",\"ts\":\"2026-11-22T08:00:00.250+08:00\",\"account\":\"u-1\",\"ip\":\"114.114.114.114\",\"device_id\":\"d-1\",\"location\":{\"lat\":31.23,\"lon\":121.47}}", OK, NULL, NULL},
    {"{\"event_id\":\"e-3\",\"type\":\"transfer\",\"ts\":1795340265123,\"account\":\"u-1\",\"counterparty\":\"u-77\",\"amount\":250000,\"ip\":\"114.114.114.114\",\"device_id\":\"d-1\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e-4\",\"type\":\"red_packet_send\",\"ts\":\"2026-11-22T00:01:00Z\",\"account\":\"u-1\",\"packet_id\":\"p-5\",\"amount\":10000,\"shares\":10,\"kind\":\"group\",\"target\":\"g-3\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e-5\",\"type\":\"red_packet_claim\",\"ts\":\"2026-11-22T00:01:00.300Z\",\"account\":\"u-8\",\"packet_id\":\"p-5\",\"amount\":900,\"client_ts\":\"2026-11-22T00:11:02Z\",\"client\":{\"automation\":true,\"packages\":[\"com.example.autoclick\"]}}", OK, NULL, NULL},
    {"{\"event_id\":\"e-6\",\"type\":\"recall_request\",\"ts\":\"2026-11-22T00:02:00Z\",\"account\":\"u-1\",\"ref\":\"p-5\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e-7\",\"type\":\"complaint\",\"ts\":\"2026-11-22T00:30:00Z\",\"account\":\"u-1\",\"ref\":\"e-3\",\"reason\":\"fraud\"}", OK, NULL, NULL},

    /* required common fields */
    {"{\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_MISSING_FIELD, "event_id", "required"},
    {"{\"event_id\":null,\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_WRONG_TYPE, "event_id", "got null"},
    {"{\"event_id\":7,\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_WRONG_TYPE, "event_id", "got a number"},
    {"{\"event_id\":\"e\",\"ts\":0,\"account\":\"a\"}", RG_REJ_MISSING_FIELD, "type", "required"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"account\":\"a\"}", RG_REJ_MISSING_FIELD, "ts", "required"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":0}", RG_REJ_MISSING_FIELD, "account", "required"},
    {"{\"event_id\":\"e\",\"type\":\"teleport\",\"ts\":0,\"account\":\"a\"}", RG_REJ_UNKNOWN_TYPE, "type", "teleport"},
    {"{\"event_id\":\"e\",\"type\":\"Login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_UNKNOWN_TYPE, "type", "unknown event type"},
    {"{\"event_id\":\"e\",\"type\":[],\"ts\":0,\"account\":\"a\"}", RG_REJ_WRONG_TYPE, "type", "got an array"},

    /* string byte limits */
    {"{\"event_id\":\"" A128 "\",\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", OK, NULL, NULL},
    {"{\"event_id\":\"" A128 "a\",\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_STRING_TOO_LONG, "event_id", "129 bytes"},
    {"{\"event_id\":\"\",\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_EMPTY_STRING, "event_id", "empty"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":0,\"account\":\"" A64 "\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":0,\"account\":\"" A64 "a\"}", RG_REJ_STRING_TOO_LONG, "account", "65 bytes"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":0,\"account\":\"\"}", RG_REJ_EMPTY_STRING, "account", "empty"},
    /* limits are bytes, not characters: 22 x 3-byte characters = 66 bytes */
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":0,\"account\":\"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\"}", RG_REJ_STRING_TOO_LONG, "account", "66 bytes"},
    /* an escape counts as what it decodes to: \u0061 is one byte */
    {"{\"event_id\":\"\\u0061\",\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e\\u0000\",\"type\":\"login\",\"ts\":0,\"account\":\"a\"}", RG_REJ_BAD_STRING, "event_id", "U+0000"},
    {LOGIN ",\"device_id\":\"" A128 "\"}", OK, NULL, NULL},
    {LOGIN ",\"device_id\":\"" A128 "a\"}", RG_REJ_STRING_TOO_LONG, "device_id", "129"},
    {LOGIN ",\"device_id\":\"\"}", RG_REJ_EMPTY_STRING, "device_id", "empty"},
    {LOGIN ",\"device_id\":null}", OK, NULL, NULL},

    /* ts and client_ts */
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":\"2026-11-22T14:37:45.123456789+08:00\",\"account\":\"a\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":\"yesterday\",\"account\":\"a\"}", RG_REJ_BAD_TIME, "ts", "RFC 3339"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":\"2026-02-30T00:00:00Z\",\"account\":\"a\"}", RG_REJ_BAD_TIME, "ts", "calendar"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":\"2026-11-22T00:00:00\",\"account\":\"a\"}", RG_REJ_BAD_TIME, "ts", "RFC 3339"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":\"1969-12-31T23:59:59Z\",\"account\":\"a\"}", RG_REJ_BAD_TIME, "ts", "range"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":253402300799999,\"account\":\"a\"}", OK, NULL, NULL},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":253402300800000,\"account\":\"a\"}", RG_REJ_OUT_OF_RANGE, "ts", "epoch milliseconds"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":-1,\"account\":\"a\"}", RG_REJ_OUT_OF_RANGE, "ts", "got -1"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":1.5e12,\"account\":\"a\"}", RG_REJ_WRONG_TYPE, "ts", "non-integer"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":true,\"account\":\"a\"}", RG_REJ_WRONG_TYPE, "ts", "got a boolean"},
    {"{\"event_id\":\"e\",\"type\":\"login\",\"ts\":null,\"account\":\"a\"}", RG_REJ_WRONG_TYPE, "ts", "got null"},
    {LOGIN ",\"client_ts\":\"2026-11-22T00:00:00Z\"}", OK, NULL, NULL},
    {LOGIN ",\"client_ts\":\"soon\"}", RG_REJ_BAD_TIME, "client_ts", "RFC 3339"},
    {LOGIN ",\"client_ts\":{}}", RG_REJ_WRONG_TYPE, "client_ts", "got an object"},

    /* ip */
    {LOGIN ",\"ip\":\"2001:db8::1\"}", OK, NULL, NULL},
    {LOGIN ",\"ip\":\"999.1.1.1\"}", RG_REJ_BAD_IP, "ip", "999.1.1.1"},
    {LOGIN ",\"ip\":\"\"}", RG_REJ_BAD_IP, "ip", "not an IPv4"},
    {LOGIN ",\"ip\":\"fe80::1%eth0\"}", RG_REJ_BAD_IP, "ip", "not an IPv4"},
    {LOGIN ",\"ip\":1}", RG_REJ_WRONG_TYPE, "ip", "got a number"},

    /* location */
    {LOGIN ",\"location\":{\"lat\":-90,\"lon\":180}}", OK, NULL, NULL},
    {LOGIN ",\"location\":{\"lat\":95,\"lon\":0}}", RG_REJ_OUT_OF_RANGE, "location.lat", "got 95"},
    {LOGIN ",\"location\":{\"lat\":0,\"lon\":-180.0001}}", RG_REJ_OUT_OF_RANGE, "location.lon", "[-180, 180]"},
    {LOGIN ",\"location\":{\"lat\":1e400,\"lon\":0}}", RG_REJ_OUT_OF_RANGE, "location.lat", "1e400"},
    {LOGIN ",\"location\":{\"lon\":0}}", RG_REJ_MISSING_FIELD, "location.lat", "required"},
    {LOGIN ",\"location\":{\"lat\":0}}", RG_REJ_MISSING_FIELD, "location.lon", "required"},
    {LOGIN ",\"location\":{\"lat\":\"1\",\"lon\":0}}", RG_REJ_WRONG_TYPE, "location.lat", "got a string"},
    {LOGIN ",\"location\":{\"lat\":null,\"lon\":0}}", RG_REJ_WRONG_TYPE, "location.lat", "got null"},
    {LOGIN ",\"location\":[1,2]}", RG_REJ_WRONG_TYPE, "location", "got an array"},
    {LOGIN ",\"location\":{\"lat\":1,\"lon\":2,\"acc\":{\"m\":5}}}", OK, NULL, NULL},
    {LOGIN ",\"location\":{\"lat\":1,\"lat\":2,\"lon\":0}}", RG_REJ_DUPLICATE_KEY, "location.lat", "duplicate"},
    {LOGIN ",\"location\":null}", OK, NULL, NULL},

    /* client */
    {LOGIN ",\"client\":{\"automation\":false,\"hooked\":true,\"packages\":[]}}", OK, NULL, NULL},
    {LOGIN ",\"client\":{\"automation\":\"yes\"}}", RG_REJ_WRONG_TYPE, "client.automation", "boolean"},
    {LOGIN ",\"client\":{\"hooked\":1}}", RG_REJ_WRONG_TYPE, "client.hooked", "boolean"},
    {LOGIN ",\"client\":{\"packages\":\"x\"}}", RG_REJ_WRONG_TYPE, "client.packages", "array of strings"},
    {LOGIN ",\"client\":{\"packages\":[\"a\",\"b\",3]}}", RG_REJ_WRONG_TYPE, "client.packages[2]", "got a number"},
    {LOGIN ",\"client\":{\"packages\":[\"a\",\"\"]}}", RG_REJ_EMPTY_STRING, "client.packages[1]", "empty"},
    {LOGIN ",\"client\":{\"packages\":[\"a\\u0000\"]}}", RG_REJ_BAD_STRING, "client.packages[0]", "U+0000"},
    {LOGIN ",\"client\":{\"packages\":[[[]]]}}", RG_REJ_WRONG_TYPE, "client.packages[0]", "got an array"},
    {LOGIN ",\"client\":true}", RG_REJ_WRONG_TYPE, "client", "object"},
    {LOGIN ",\"client\":{\"x\":1,\"x\":2}}", RG_REJ_DUPLICATE_KEY, "client.x", "duplicate"},

    /* transfer: counterparty, amount, currency, mode, counterparty_created_at */
    {TRANSFER ",\"amount\":1}", OK, NULL, NULL},
    {TRANSFER ",\"amount\":1000000000000}", OK, NULL, NULL},
    {TRANSFER ",\"amount\":1000000000001}", RG_REJ_OUT_OF_RANGE, "amount", "must be 1..10^12"},
    {TRANSFER ",\"amount\":0}", RG_REJ_OUT_OF_RANGE, "amount", "got 0"},
    {TRANSFER ",\"amount\":-5}", RG_REJ_OUT_OF_RANGE, "amount", "got -5"},
    {TRANSFER ",\"amount\":-0}", RG_REJ_OUT_OF_RANGE, "amount", "got -0"},
    {TRANSFER ",\"amount\":\"100\"}", RG_REJ_WRONG_TYPE, "amount", "must be a JSON integer 1..10^12, got a string"},
    {TRANSFER ",\"amount\":1e3}", RG_REJ_WRONG_TYPE, "amount", "got 1e3"},
    {TRANSFER ",\"amount\":1.0}", RG_REJ_WRONG_TYPE, "amount", "got 1.0"},
    {TRANSFER ",\"amount\":1e400}", RG_REJ_WRONG_TYPE, "amount", "integer"},
    {TRANSFER ",\"amount\":true}", RG_REJ_WRONG_TYPE, "amount", "got a boolean"},
    {TRANSFER ",\"amount\":null}", RG_REJ_WRONG_TYPE, "amount", "got null"},
    {TRANSFER ",\"amount\":99999999999999999999999999}", RG_REJ_OUT_OF_RANGE, "amount", "must be 1..10^12"},
    {TRANSFER "}", RG_REJ_MISSING_FIELD, "amount", "required for type transfer"},
    {HEAD "\"type\":\"transfer\",\"amount\":5}", RG_REJ_MISSING_FIELD, "counterparty", "required for type transfer"},
    {HEAD "\"type\":\"transfer\",\"amount\":5,\"counterparty\":\"" A64 "a\"}", RG_REJ_STRING_TOO_LONG, "counterparty", "65"},
    {TRANSFER ",\"amount\":5,\"currency\":\"USD\",\"mode\":\"delay_24h\",\"counterparty_created_at\":1700000000000}", OK, NULL, NULL},
    {TRANSFER ",\"amount\":5,\"currency\":\"usd\"}", RG_REJ_BAD_VALUE, "currency", "ISO 4217"},
    {TRANSFER ",\"amount\":5,\"currency\":\"USDT\"}", RG_REJ_BAD_VALUE, "currency", "USDT"},
    {TRANSFER ",\"amount\":5,\"mode\":\"later\"}", RG_REJ_BAD_VALUE, "mode", "realtime, delay_2h, delay_24h"},
    {TRANSFER ",\"amount\":5,\"mode\":1}", RG_REJ_WRONG_TYPE, "mode", "got a number"},
    {TRANSFER ",\"amount\":5,\"counterparty_created_at\":\"x\"}", RG_REJ_BAD_TIME, "counterparty_created_at", "RFC 3339"},

    /* account_open: region */
    {HEAD "\"type\":\"account_open\",\"region\":\"cn\"}", RG_REJ_BAD_VALUE, "region", "alpha-2"},
    {HEAD "\"type\":\"account_open\",\"region\":\"CHN\"}", RG_REJ_BAD_VALUE, "region", "CHN"},
    {HEAD "\"type\":\"account_open\"}", OK, NULL, NULL},

    /* red packets */
    {SEND ",\"shares\":10000,\"kind\":\"timed\",\"target\":\"g-1\"}", OK, NULL, NULL},
    {SEND ",\"shares\":10001}", RG_REJ_OUT_OF_RANGE, "shares", "1..10000"},
    {SEND ",\"shares\":0}", RG_REJ_OUT_OF_RANGE, "shares", "got 0"},
    {SEND ",\"shares\":2.5}", RG_REJ_WRONG_TYPE, "shares", "integer"},
    {SEND ",\"kind\":\"huge\"}", RG_REJ_BAD_VALUE, "kind", "normal, lucky, group, timed"},
    {SEND ",\"target\":\"\"}", RG_REJ_EMPTY_STRING, "target", "empty"},
    {SEND ",\"target\":\"" A128 "a\"}", RG_REJ_STRING_TOO_LONG, "target", "129"},
    {HEAD "\"type\":\"red_packet_send\",\"amount\":100}", RG_REJ_MISSING_FIELD, "packet_id", "red_packet_send"},
    {HEAD "\"type\":\"red_packet_claim\",\"amount\":5}", RG_REJ_MISSING_FIELD, "packet_id", "red_packet_claim"},
    {HEAD "\"type\":\"red_packet_claim\",\"packet_id\":\"p\"}", RG_REJ_MISSING_FIELD, "amount", "red_packet_claim"},
    {HEAD "\"type\":\"red_packet_claim\",\"packet_id\":\"" A128 "a\",\"amount\":5}", RG_REJ_STRING_TOO_LONG, "packet_id", "129"},

    /* recall_request, complaint */
    {HEAD "\"type\":\"recall_request\"}", RG_REJ_MISSING_FIELD, "ref", "recall_request"},
    {HEAD "\"type\":\"recall_request\",\"ref\":\"\"}", RG_REJ_EMPTY_STRING, "ref", "empty"},
    {HEAD "\"type\":\"complaint\",\"ref\":\"e-3\",\"reason\":\"mistake\"}", OK, NULL, NULL},
    {HEAD "\"type\":\"complaint\",\"ref\":\"e-3\",\"reason\":\"angry\"}", RG_REJ_BAD_VALUE, "reason", "fraud, mistake, other"},

    /* unknown fields: validated, then ignored; so are another type's fields */
    {LOGIN ",\"future\":{\"a\":[1,2,{\"b\":null}]},\"amount\":\"whatever\"}", OK, NULL, NULL},
    {LOGIN ",\"future\":{\"a\":1,\"a\":2}}", RG_REJ_DUPLICATE_KEY, "future", "duplicate"},
    {LOGIN ",\"future\":1,\"future\":1}", RG_REJ_DUPLICATE_KEY, "future", "duplicate"},
    {LOGIN ",\"account\":\"b\"}", RG_REJ_DUPLICATE_KEY, "account", "duplicate"},
    {LOGIN ",\"future\":[1,]}", RG_REJ_INVALID_JSON, "future", "invalid JSON"},
    {LOGIN ",\"x\":\"\xff\"}", RG_REJ_INVALID_UTF8, "x", "UTF-8"},

    /* syntax wins over the contract; not_object over the contract */
    {"{\"event_id\":\"e\",\"type\":\"transfer\",\"amount\":\"bad\"", RG_REJ_INVALID_JSON, NULL, "invalid JSON"},
    {"[1,2,3]", RG_REJ_NOT_OBJECT, NULL, "got an array"},
    {"\"just a string\"", RG_REJ_NOT_OBJECT, NULL, "got a string"},
    {"", RG_REJ_INVALID_JSON, NULL, "no JSON value"},
    {LOGIN "} x", RG_REJ_INVALID_JSON, NULL, "trailing"},
};

static void test_rules(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    assert_non_null(p);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rule_case *c = &cases[i];
        rg_event ev;
        rg_reject rej;
        memset(&rej, 0, sizeof rej);
        int rc = rg_event_parse(p, c->json, strlen(c->json), &ev, &rej);
        if (c->kind == OK) {
            if (rc != 0)
                fail_msg("case %zu should be accepted: %s\n  got %s: %s", i, c->json,
                         rg_reject_kind_name(rej.kind), rej.error);
            continue;
        }
        if (rc == 0)
            fail_msg("case %zu should be rejected: %s", i, c->json);
        if ((int)rej.kind != c->kind)
            fail_msg("case %zu: kind %s, expected %s (%s)", i, rg_reject_kind_name(rej.kind),
                     rg_reject_kind_name((rg_reject_kind)c->kind), rej.error);
        if (c->field == NULL ? rej.field != NULL : (rej.field == NULL || strcmp(rej.field, c->field) != 0))
            fail_msg("case %zu: field %s, expected %s (%s)", i, rej.field ? rej.field : "(null)",
                     c->field ? c->field : "(null)", rej.error);
        if (c->msg && !strstr(rej.error, c->msg))
            fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, rej.error, c->msg);
    }
    rg_event_parser_free(p);
}

static void test_fields_and_defaults(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    rg_event ev;
    rg_reject rej;
    const char *t = "  {\"event_id\":\"e-3\",\"type\":\"transfer\",\"ts\":\"2026-11-22T08:00:00.250+08:00\","
                    "\"account\":\"u-1\",\"counterparty\":\"u-\\u4e2d\",\"amount\":250000,"
                    "\"ip\":\"::ffff:1.2.3.4\",\"location\":{\"lat\":31.23,\"lon\":121.47},"
                    "\"client\":{\"hooked\":true,\"packages\":[\"a.b\",\"\\ud83d\\ude00\"]}}\r\n ";
    assert_int_equal(rg_event_parse(p, t, strlen(t), &ev, &rej), 0);
    assert_int_equal(ev.type, RG_EV_TRANSFER);
    assert_int_equal(ev.ts_ms, INT64_C(1795305600250));
    assert_string_equal(ev.event_id, "e-3");
    assert_int_equal(ev.event_id_len, 3);
    assert_string_equal(ev.counterparty, "u-\xe4\xb8\xad");
    assert_int_equal(ev.counterparty_len, 5);
    assert_int_equal(ev.amount, 250000);
    assert_string_equal(ev.currency, "CNY");
    assert_false(ev.currency_given);
    assert_int_equal(ev.mode, RG_MODE_REALTIME);
    assert_false(ev.mode_given);
    assert_int_equal(ev.ip_family, AF_INET6);
    assert_true(ev.has_location);
    assert_true(ev.lat > 31.229 && ev.lat < 31.231);
    assert_int_equal(ev.client_automation, -1);
    assert_int_equal(ev.client_hooked, 1);
    assert_true(ev.has_client_packages);
    assert_int_equal(ev.n_client_packages, 2);
    assert_string_equal(ev.client_packages[1], "\xf0\x9f\x98\x80");
    assert_false(ev.has_client_ts);
    assert_null(ev.device_id);
    assert_null(ev.packet_id);

    const char *s = "{\"event_id\":\"e\",\"type\":\"red_packet_send\",\"ts\":5,\"account\":\"a\","
                    "\"packet_id\":\"p\",\"amount\":7,\"ip\":\"10.0.0.1\"}";
    assert_int_equal(rg_event_parse(p, s, strlen(s), &ev, &rej), 0);
    assert_int_equal(ev.shares, 1);
    assert_false(ev.shares_given);
    assert_int_equal(ev.kind, RG_PACKET_NORMAL);
    assert_int_equal(ev.ip_family, AF_INET);
    assert_memory_equal(ev.ip_bin, "\x0a\x00\x00\x01", 4);
    assert_null(ev.target);

    const char *c = "{\"event_id\":\"e\",\"type\":\"complaint\",\"ts\":5,\"account\":\"a\",\"ref\":\"r\"}";
    assert_int_equal(rg_event_parse(p, c, strlen(c), &ev, &rej), 0);
    assert_int_equal(ev.reason, RG_REASON_FRAUD);
    assert_false(ev.reason_given);
    assert_string_equal(ev.ref, "r");
    rg_event_parser_free(p);
}

/* The input is not NUL-terminated: a parse of a prefix must not look past it. */
static void test_reads_only_len(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    const char *t = "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":5,\"account\":\"a\"}";
    size_t n = strlen(t);
    char *copy = test_malloc(n); /* exact size: ASan catches any over-read */
    memcpy(copy, t, n);
    rg_event ev;
    rg_reject rej;
    assert_int_equal(rg_event_parse(p, copy, n, &ev, &rej), 0);
    for (size_t k = 0; k < n; k++)
        assert_int_equal(rg_event_parse(p, copy, k, &ev, &rej), -1);
    test_free(copy);
    rg_event_parser_free(p);
}

/* lat/lon are read by a fast path (Clinger's: few digits, a small
 * exponent) and strtod otherwise; either way the double must be exactly
 * strtod's. Literals of every shape: 1 to 20 digits, 0 to 17 after the
 * point, exponents, leading zeros, negative zero, halfway cases. */
static void test_locations_exact(void **state)
{
    (void)state;
    rg_event_parser *p = rg_event_parser_new();
    rg_event ev;
    rg_reject rej;
    uint64_t x = 88172645463325252ULL;
    char lit[64], line[256];
    size_t checked = 0;
    static const char *const fixed[] = {"0", "-0", "-0.0", "0.0000000000000000000000001", "89.999999999999999999",
                                        "9007199254740993", "9007199254740992.5", "0.1e1", "1E+2", "-45e-1",
                                        "30.68872", "104.09168", "0.30000000000000004", "2.2250738585072014e-308"};
    for (int i = 0; i < 200000 + (int)(sizeof fixed / sizeof *fixed); i++) {
        if (i < (int)(sizeof fixed / sizeof *fixed)) {
            snprintf(lit, sizeof lit, "%s", fixed[i]);
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            int int_digits = (int)(x % 3), frac = (int)((x >> 8) % 18), exp = (int)((x >> 16) % 8);
            size_t n = 0;
            if (x >> 63)
                lit[n++] = '-';
            uint64_t y = x;
            for (int k = 0; k <= int_digits; k++, y /= 10)
                lit[n++] = (char)('0' + (k == 0 && int_digits ? 1 + y % 9 : y % 10));
            if (frac) {
                lit[n++] = '.';
                uint64_t z = x * 2862933555777941757ULL + 3037000493ULL;
                for (int k = 0; k < frac; k++, z = z * 6364136223846793005ULL + 1442695040888963407ULL)
                    lit[n++] = (char)('0' + (z >> 60) % 10);
            }
            if (exp == 1)
                n += (size_t)snprintf(lit + n, sizeof lit - n, "e-%d", (int)((x >> 24) % 30));
            else if (exp == 2)
                n += (size_t)snprintf(lit + n, sizeof lit - n, "E%d", (int)((x >> 24) % 3));
            lit[n] = 0;
        }
        double want = strtod(lit, NULL);
        if (want < -90 || want > 90)
            continue;
        snprintf(line, sizeof line,
                 "{\"event_id\":\"e\",\"type\":\"login\",\"ts\":5,\"account\":\"a\","
                 "\"location\":{\"lat\":%s,\"lon\":%s}}", lit, lit);
        assert_int_equal(rg_event_parse(p, line, strlen(line), &ev, &rej), 0);
        if (memcmp(&ev.lat, &want, sizeof want) != 0 || memcmp(&ev.lon, &want, sizeof want) != 0)
            fail_msg("%s: parsed %.17g, strtod %.17g", lit, ev.lat, want);
        checked++;
    }
    assert_true(checked > 100000);
    rg_event_parser_free(p);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rg_event_type_name(RG_EV_RED_PACKET_CLAIM), "red_packet_claim");
    assert_null(rg_event_type_name(RG_EV_TYPE_COUNT));
    assert_int_equal(rg_event_type_from_name("complaint", 9), RG_EV_COMPLAINT);
    assert_int_equal(rg_event_type_from_name("complain", 8), -1);
    assert_string_equal(rg_packet_kind_name(RG_PACKET_TIMED), "timed");
    assert_string_equal(rg_transfer_mode_name(RG_MODE_DELAY_2H), "delay_2h");
    assert_string_equal(rg_complaint_reason_name(RG_REASON_OTHER), "other");
    assert_int_equal(rg_packet_lifetime_ms(RG_PACKET_NORMAL), 24 * 3600 * 1000);
    assert_int_equal(rg_packet_lifetime_ms(RG_PACKET_LUCKY), 24 * 3600 * 1000);
    assert_int_equal(rg_packet_lifetime_ms(RG_PACKET_GROUP), 72 * 3600 * 1000);
    assert_int_equal(rg_packet_lifetime_ms(RG_PACKET_TIMED), 60 * 1000);
    for (int k = 0; k < RG_REJ_KIND_COUNT; k++)
        assert_non_null(rg_reject_kind_name((rg_reject_kind)k));
    assert_string_equal(rg_reject_kind_name(RG_REJ_BAD_ENVELOPE), "bad_envelope");
    assert_null(rg_reject_kind_name(RG_REJ_KIND_COUNT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_fields_and_defaults),
        cmocka_unit_test(test_reads_only_len),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_locations_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
