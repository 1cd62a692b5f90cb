/*
 * Unit tests for how rule values are shown (rules/format.c): messages
 * (rg_eval_reason), evidence (rg_eval_evidence_json), and the value
 * printers, including detection.md's worked example, through the real
 * detectors.
 */
#include "test_rules_util.h"

static const char *json_of(rg_value v, rg_strbuf *b)
{
    rg_strbuf_reset(b);
    rg_value_write_json(&v, b);
    return b->data;
}

static const char *text_of(rg_value v, const char *currency, rg_strbuf *b)
{
    rg_strbuf_reset(b);
    rg_value_write_text(&v, currency, b);
    return b->data;
}

static void test_value_json(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    assert_string_equal(json_of(rg_int_typed(RG_T_DURATION, 165600000), &b), "165600");
    assert_string_equal(json_of(rg_int_typed(RG_T_DURATION, 300), &b), "0.3");
    assert_string_equal(json_of(rg_int_typed(RG_T_DURATION, 1250), &b), "1.25");
    assert_string_equal(json_of(rg_int_typed(RG_T_DURATION, 1), &b), "0.001");
    assert_string_equal(json_of(rg_int_typed(RG_T_DURATION, -1500), &b), "-1.5");
    assert_string_equal(json_of(rg_int_typed(RG_T_DURATION, 0), &b), "0");
    assert_string_equal(json_of(rg_int_typed(RG_T_MONEY, 250000), &b), "250000");
    assert_string_equal(json_of(rg_int_typed(RG_T_INT, -7), &b), "-7");
    assert_string_equal(json_of(rg_number(1067.34), &b), "1067.3");
    assert_string_equal(json_of(rg_number(0.0), &b), "0.0");
    assert_string_equal(json_of(rg_number(-0.04), &b), "0.0");   /* never "-0.0" */
    assert_string_equal(json_of(rg_bool(true), &b), "true");
    assert_string_equal(json_of(rg_bool(false), &b), "false");
    assert_string_equal(json_of(rg_string("a\"b\n", 4), &b), "\"a\\\"b\\n\"");
    assert_string_equal(json_of(rg_unknown(RG_T_DURATION), &b), "null");
    assert_string_equal(json_of(rg_unknown(RG_T_STRING), &b), "null");
    static const char *const pk[] = {"com.a", "com.\"b"};
    rg_value list = {.type = RG_T_STRLIST, .known = true};
    list.u.list.items = pk;
    list.u.list.n = 2;
    assert_string_equal(json_of(list, &b), "[\"com.a\",\"com.\\\"b\"]");
    list.u.list.n = 0;
    assert_string_equal(json_of(list, &b), "[]");
    rg_strbuf_free(&b);
}

static void test_value_text(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    assert_string_equal(text_of(rg_int_typed(RG_T_MONEY, 250000), "CNY", &b), "2500.00 CNY");
    assert_string_equal(text_of(rg_int_typed(RG_T_MONEY, 5000001), "USD", &b), "50000.01 USD");
    assert_string_equal(text_of(rg_int_typed(RG_T_MONEY, 5), NULL, &b), "0.05 CNY");
    assert_string_equal(text_of(rg_int_typed(RG_T_MONEY, -150), "CNY", &b), "-1.50 CNY");
    /* Durations: hours are the largest unit. */
    static const struct { int64_t ms; const char *text; } d[] = {
        {165600000, "46h"}, {5400000, "1h30m"}, {600000, "10m"}, {45000, "45s"}, {1500, "1.5s"},
        {300, "300ms"},     {0, "0s"},          {3 * 86400000LL, "72h"}, {3723000, "1h2m3s"},
        {3600250, "1h0.25s"}, {-90000, "-1m30s"},
    };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++)
        assert_string_equal(text_of(rg_int_typed(RG_T_DURATION, d[i].ms), NULL, &b), d[i].text);
    assert_string_equal(text_of(rg_number(1067.25), NULL, &b), "1067.2");   /* %.1f, round-half-even of the double */
    assert_string_equal(text_of(rg_number(12.0), NULL, &b), "12.0");
    assert_string_equal(text_of(rg_int_typed(RG_T_INT, 51), NULL, &b), "51");
    assert_string_equal(text_of(rg_bool(true), NULL, &b), "true");
    assert_string_equal(text_of(rg_string("u-77", 4), NULL, &b), "u-77");
    assert_string_equal(text_of(rg_unknown(RG_T_MONEY), "CNY", &b), "unknown");
    static const char *const pk[] = {"com.a", "com.b"};
    rg_value list = {.type = RG_T_STRLIST, .known = true};
    list.u.list.items = pk;
    list.u.list.n = 2;
    assert_string_equal(text_of(list, NULL, &b), "com.a, com.b");
    list.u.list.n = 0;
    assert_string_equal(text_of(list, NULL, &b), "none");
    rg_strbuf_free(&b);
}

static void reason_and_evidence(rules_fx *f, size_t rule, const rg_event *ev, rg_strbuf *reason, rg_strbuf *evidence)
{
    const rg_rule *r = rg_ruleset_rule(f->rs, rule);
    fx_begin(f, ev);
    rg_strbuf_reset(reason);
    rg_strbuf_reset(evidence);
    rg_eval_reason(&f->ctx, r, reason);
    rg_eval_evidence_json(&f->ctx, r, evidence);
    fx_end(f, ev);
}

/* detection.md's decision example, with the default pack's rule. */
static void test_detection_example(void **state)
{
    (void)state;
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(RG_SOURCE_DIR "/rules/default.yaml", &errors);
    if (!rs)
        fail_msg("%s", errors);
    rules_fx f;
    fx_open(&f, rs);
    rg_event ev = mk_transfer(T0, "u-1", "u-77", 250000);
    ev.has_counterparty_created_at = true;
    ev.counterparty_created_at_ms = T0 - 165600 * SEC_MS;   /* 46 h before */
    size_t rule = 1;
    assert_string_equal(rg_ruleset_rule(rs, rule)->id, "new_recipient_large");
    fx_begin(&f, &ev);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(rs, rule)->when), RG_TRUE);
    fx_end(&f, &ev);
    rg_strbuf reason = RG_STRBUF_INIT, evidence = RG_STRBUF_INIT;
    reason_and_evidence(&f, rule, &ev, &reason, &evidence);
    assert_string_equal(reason.data, "counterparty u-77 registered 46h ago; amount 2500.00 CNY >= 1000.00");
    assert_string_equal(evidence.data, "{\"counterparty_age_s\":165600,\"amount\":250000}");

    /* new_account_mule: the call's key carries its window. */
    rule = 2;
    assert_string_equal(rg_ruleset_rule(rs, rule)->id, "new_account_mule");
    reason_and_evidence(&f, rule, &ev, &reason, &evidence);
    /* u-1 again: one distinct sender (itself, E included). */
    assert_string_equal(evidence.data, "{\"counterparty_age_s\":165600,\"counterparty_senders_24h\":1}");
    /* Unknown values: null in evidence, "unknown" in the message. */
    rg_event plain = mk_transfer(T0 + SEC_MS, "u-3", "u-99", 500);
    reason_and_evidence(&f, rule, &plain, &reason, &evidence);
    assert_string_equal(evidence.data, "{\"counterparty_age_s\":null,\"counterparty_senders_24h\":1}");
    assert_string_equal(reason.data,
                        "counterparty u-99 registered unknown ago; 1 distinct senders in 24h >= 5");
    /* A login has no counterparty at all. */
    rg_event login = mk_event(RG_EV_LOGIN, T0 + 2 * SEC_MS, "u-1");
    reason_and_evidence(&f, rule, &login, &reason, &evidence);
    assert_string_equal(evidence.data, "{\"counterparty_age_s\":null,\"counterparty_senders_24h\":null}");
    rg_strbuf_free(&reason);
    rg_strbuf_free(&evidence);
    fx_close(&f);
}

static void test_message_template(void **state)
{
    (void)state;
    rules_fx f;
    fx_load(&f, "version: 1\n"
                "signals:\n"
                "  fee: amount / 100\n"
                "rules:\n"
                "  - id: templ\n"
                "    when: amount > 0 and clock_skew > 1s\n"
                "    then: [review: account]\n"
                "    message: '{{literal}} {amount} in {currency} fee {fee}, skew {clock_skew}; dev {device_id} }}'\n"
                "  - id: bare\n"
                "    when: true\n"
                "    then: [review: account]\n");
    rg_event ev = mk_transfer(T0, "u-1", "u-2", 123456);
    ev.currency = "USD";
    ev.has_client_ts = true;
    ev.client_ts_ms = T0 + 1500;
    rg_strbuf reason = RG_STRBUF_INIT, evidence = RG_STRBUF_INIT;
    reason_and_evidence(&f, 0, &ev, &reason, &evidence);
    assert_string_equal(reason.data, "{literal} 1234.56 USD in USD fee 12.34 USD, skew 1.5s; dev unknown }");
    /* Evidence is what the condition compared, not the message's extras. */
    assert_string_equal(evidence.data, "{\"amount\":123456,\"clock_skew_s\":1.5}");
    reason_and_evidence(&f, 1, &ev, &reason, &evidence);
    assert_string_equal(reason.data, "bare");      /* no message: the rule id */
    assert_string_equal(evidence.data, "{}");
    rg_strbuf_free(&reason);
    rg_strbuf_free(&evidence);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_json),
        cmocka_unit_test(test_value_text),
        cmocka_unit_test(test_detection_example),
        cmocka_unit_test(test_message_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
