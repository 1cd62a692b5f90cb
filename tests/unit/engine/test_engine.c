/* Unit tests for decisions/: the engine's per-event flow, decision
 * grouping and order, cooldowns, dedupe, and rule reload (swap) keeping
 * the state both files use. Events are real JSON through the event
 * contract, rule files real YAML through the loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "decisions/engine.h"
#include "ingest/event_parse.h"
#include "rules/ruleset.h"

typedef struct collected {
    rg_strbuf lines;      /* emitted decisions, one per line */
    int emitted, suppressed;
} collected;

static int collect(void *opaque, const rg_decision *d, void *ticket)
{
    collected *c = opaque;
    if (d->emit) {
        rg_strbuf_append(&c->lines, d->json, d->json_len);
        rg_strbuf_putc(&c->lines, '\n');
        c->emitted++;
    } else {
        c->suppressed++;
    }
    /* Contract: the subject is the part of the id after "event_id/". */
    assert_int_equal(strncmp(d->decision_id, d->event_id, strlen(d->event_id)), 0);
    assert_string_equal(d->decision_id + strlen(d->event_id) + 1, d->subject);
    return 0;
}

static const rg_sink_ops collect_ops = {.name = "test collector", .decision = collect};

static rg_ruleset *load(const char *yaml)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("t.yaml", yaml, strlen(yaml), &errors);
    if (!rs)
        fail_msg("refused: %s", errors ? errors : "?");
    return rs;
}

static rg_engine_result feed(rg_engine *e, rg_event_parser *p, const char *json, collected *c)
{
    rg_event ev;
    rg_reject rej;
    if (rg_event_parse(p, json, strlen(json), &ev, &rej) != 0)
        fail_msg("event refused: %s: %s", rej.error, json);
    rg_sink sink = {.ops = &collect_ops, .self = c};
    return rg_engine_process(e, &ev, json, strlen(json), &sink);
}

static const char *RULES_TWO =
    "version: 1\n"
    "rules:\n"
    "  - id: big\n"
    "    on: [transfer]\n"
    "    when: amount >= 1000\n"
    "    then:\n"
    "      - review: account\n"
    "      - freeze: counterparty\n"
    "    message: \"amount {amount}\"\n"
    "  - id: huge\n"
    "    on: [transfer]\n"
    "    when: amount >= 5000\n"
    "    then:\n"
    "      - face_verify: account\n"
    "    cooldown: 1h\n";

/* Subject a first (the first rule to hit it is `big`), with both rules in
 * file order and actions in the contract's order; then b, which only
 * `big` aims at. */
static void test_full_lines(void **state)
{
    (void)state;
    rg_ruleset *rs = load(RULES_TWO);
    char err[256];
    rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
    rg_event_parser *p = rg_event_parser_new();
    collected c = {RG_STRBUF_INIT, 0, 0};
    feed(e, p,
         "{\"event_id\":\"t1\",\"type\":\"transfer\",\"ts\":\"2026-11-22T10:00:00Z\","
         "\"account\":\"a\",\"counterparty\":\"b\",\"amount\":6000}",
         &c);
    char expect[2048];
    snprintf(expect, sizeof expect,
             "{\"decision_id\":\"t1/a\",\"event_id\":\"t1\",\"event_type\":\"transfer\",\"subject\":\"a\","
             "\"actions\":[\"face_verify\",\"review\"],\"rules\":[{\"id\":\"big\",\"reason\":\"amount 60.00 CNY\","
             "\"evidence\":{\"amount\":6000}},{\"id\":\"huge\",\"reason\":\"huge\",\"evidence\":{\"amount\":6000}}],"
             "\"ts\":\"2026-11-22T10:00:00.000Z\",\"ruleset\":\"%s\"}\n"
             "{\"decision_id\":\"t1/b\",\"event_id\":\"t1\",\"event_type\":\"transfer\",\"subject\":\"b\","
             "\"actions\":[\"freeze\"],\"rules\":[{\"id\":\"big\",\"reason\":\"amount 60.00 CNY\","
             "\"evidence\":{\"amount\":6000}}],\"ts\":\"2026-11-22T10:00:00.000Z\",\"ruleset\":\"%s\"}\n",
             rg_ruleset_id(rs), rg_ruleset_id(rs));
    assert_string_equal(c.lines.data, expect);
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
    assert_int_equal(st.decisions, 2);
    assert_int_equal(st.rule_hits[0], 1); /* hits count events, not subjects */
    assert_int_equal(st.rule_hits[1], 1);
    assert_int_equal(st.actions[RG_ACT_FREEZE], 1);
    assert_int_equal(st.actions[RG_ACT_FACE_VERIFY], 1);
    assert_int_equal(st.actions[RG_ACT_REVIEW], 1);
    rg_strbuf_free(&c.lines);
    rg_event_parser_free(p);
    rg_engine_free(e);
    rg_ruleset_free(rs);
}

static void test_cooldown_and_dedupe(void **state)
{
    (void)state;
    rg_ruleset *rs = load("version: 1\n"
                          "rules:\n"
                          "  - id: huge\n"
                          "    on: [transfer]\n"
                          "    when: amount >= 5000\n"
                          "    then: [{face_verify: account}]\n"
                          "    cooldown: 1h\n");
    char err[256];
    rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
    rg_event_parser *p = rg_event_parser_new();
    collected c = {RG_STRBUF_INIT, 0, 0};
    const char *fmt = "{\"event_id\":\"%s\",\"type\":\"transfer\",\"ts\":\"%s\",\"account\":\"a\","
                      "\"counterparty\":\"b\",\"amount\":6000}";
    char line[256];
    snprintf(line, sizeof line, fmt, "c1", "2026-11-22T10:00:00Z");
    assert_int_equal(feed(e, p, line, &c), RG_ENGINE_OK);
    /* The same id again: a duplicate, never evaluated. */
    assert_int_equal(feed(e, p, line, &c), RG_ENGINE_DUPLICATE);
    /* 59m59.999s later: within the cooldown, suppressed but counted. */
    snprintf(line, sizeof line, fmt, "c2", "2026-11-22T10:59:59.999Z");
    feed(e, p, line, &c);
    /* Exactly 1 h later: emitted again. */
    snprintf(line, sizeof line, fmt, "c3", "2026-11-22T11:00:00Z");
    feed(e, p, line, &c);
    /* A late event 10 minutes before the first: within the cooldown too. */
    snprintf(line, sizeof line, fmt, "c4", "2026-11-22T10:50:00Z");
    feed(e, p, line, &c);
    assert_int_equal(c.emitted, 2);
    assert_int_equal(c.suppressed, 2);
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
    assert_int_equal(st.events, 5);
    assert_int_equal(st.duplicates, 1);
    assert_int_equal(st.rule_hits[0], 4);
    assert_int_equal(st.decisions, 2);
    assert_int_equal(st.suppressed, 2);
    assert_non_null(strstr(c.lines.data, "\"c1/a\""));
    assert_non_null(strstr(c.lines.data, "\"c3/a\""));
    assert_null(strstr(c.lines.data, "\"c2/a\""));
    rg_strbuf_free(&c.lines);
    rg_event_parser_free(p);
    rg_engine_free(e);
    rg_ruleset_free(rs);
}

static const char *COUNT_RULES =
    "version: 1\n"
    "rules:\n"
    "  - id: many\n"
    "    on: [login]\n"
    "    when: count(1h, type == login) >= 3\n"
    "    then: [{review: account}]\n";

static void test_swap_keeps_shared_state(void **state)
{
    (void)state;
    rg_ruleset *rs1 = load("version: 1\n"
                           "rules:\n"
                           "  - id: nd\n"
                           "    on: [login]\n"
                           "    when: new_device\n"
                           "    then: [{review: account}]\n");
    char err[256];
    rg_engine *e = rg_engine_new(rs1, NULL, err, sizeof err);
    rg_event_parser *p = rg_event_parser_new();
    collected c = {RG_STRBUF_INIT, 0, 0};
    feed(e, p, "{\"event_id\":\"l1\",\"type\":\"login\",\"ts\":\"2026-11-22T10:00:00Z\",\"account\":\"a\",\"device_id\":\"d1\"}", &c);
    feed(e, p, "{\"event_id\":\"l2\",\"type\":\"login\",\"ts\":\"2026-11-22T10:01:00Z\",\"account\":\"a\",\"device_id\":\"d1\"}", &c);
    assert_int_equal(c.emitted, 0);

    /* The new file uses new_device too (and more): device history stays,
     * so d1 is still known and d2 is new. */
    rg_ruleset *rs2 = load("version: 1\n"
                           "rules:\n"
                           "  - id: nd2\n"
                           "    on: [login]\n"
                           "    when: new_device and device_id != \"zz\"\n"
                           "    then: [{face_verify: account}]\n");
    assert_int_equal(rg_engine_swap_rules(e, rs2, err, sizeof err), 0);
    rg_ruleset_free(rs1);
    assert_ptr_equal(rg_engine_ruleset(e), rs2);
    feed(e, p, "{\"event_id\":\"l3\",\"type\":\"login\",\"ts\":\"2026-11-22T10:02:00Z\",\"account\":\"a\",\"device_id\":\"d1\"}", &c);
    assert_int_equal(c.emitted, 0);
    feed(e, p, "{\"event_id\":\"l4\",\"type\":\"login\",\"ts\":\"2026-11-22T10:03:00Z\",\"account\":\"a\",\"device_id\":\"d2\"}", &c);
    assert_int_equal(c.emitted, 1);
    assert_non_null(strstr(c.lines.data, "\"l4/a\""));
    assert_non_null(strstr(c.lines.data, "nd2"));
    /* Dedupe carries over the swap. */
    assert_int_equal(feed(e, p, "{\"event_id\":\"l1\",\"type\":\"login\",\"ts\":\"2026-11-22T10:04:00Z\",\"account\":\"a\",\"device_id\":\"d9\"}", &c),
                     RG_ENGINE_DUPLICATE);

    /* Swap to a file using count(): velocity starts empty, the engine
     * keeps working, and the old login detector's state is freed (ASan). */
    rg_ruleset *rs3 = load(COUNT_RULES);
    assert_int_equal(rg_engine_swap_rules(e, rs3, err, sizeof err), 0);
    rg_ruleset_free(rs2);
    c.emitted = 0;
    feed(e, p, "{\"event_id\":\"m1\",\"type\":\"login\",\"ts\":\"2026-11-22T11:00:00Z\",\"account\":\"a\"}", &c);
    feed(e, p, "{\"event_id\":\"m2\",\"type\":\"login\",\"ts\":\"2026-11-22T11:01:00Z\",\"account\":\"a\"}", &c);
    assert_int_equal(c.emitted, 0);
    feed(e, p, "{\"event_id\":\"m3\",\"type\":\"login\",\"ts\":\"2026-11-22T11:02:00Z\",\"account\":\"a\"}", &c);
    assert_int_equal(c.emitted, 1);
    rg_strbuf_free(&c.lines);
    rg_event_parser_free(p);
    rg_engine_free(e);
    rg_ruleset_free(rs3);
}

/* Reload and count(): a use in the new file keeps its window when the old
 * file had a use with an equal window and an equal filter (compared by
 * structure across the two files: "login" quoted or bare, spacing, are
 * the same filter); any other use starts empty. */
static void test_swap_velocity_keeps_equal_windows(void **state)
{
    (void)state;
    rg_ruleset *rs1 = load("version: 1\n"
                           "rules:\n"
                           "  - id: many\n"
                           "    on: [login]\n"
                           "    when: count(1h, type == login) >= 3\n"
                           "    then: [{review: account}]\n"
                           "  - id: listed\n"
                           "    on: [login]\n"
                           "    when: count(1h, device_id in watched) >= 3\n"
                           "    then: [{review: account}]\n"
                           "lists:\n"
                           "  watched: [d1, d2]\n");
    char err[256];
    rg_engine *e = rg_engine_new(rs1, NULL, err, sizeof err);
    rg_event_parser *p = rg_event_parser_new();
    collected c = {RG_STRBUF_INIT, 0, 0};
    feed(e, p, "{\"event_id\":\"v1\",\"type\":\"login\",\"ts\":\"2026-11-22T10:00:00Z\",\"account\":\"a\",\"device_id\":\"d1\"}", &c);
    feed(e, p, "{\"event_id\":\"v2\",\"type\":\"login\",\"ts\":\"2026-11-22T10:01:00Z\",\"account\":\"a\",\"device_id\":\"d1\"}", &c);
    assert_int_equal(c.emitted, 0);

    /* kept:   the same use, written differently: keeps its 2 logins;
     * fresh:  2h instead of 1h: another use, starts empty (fires on
     *         exactly one login in its window: the event itself);
     * relist: the same list name with other items: another filter. */
    rg_ruleset *rs2 = load("version: 1\n"
                           "rules:\n"
                           "  - id: kept\n"
                           "    on: [login]\n"
                           "    when: count(60m,type==\"login\") >= 3\n"
                           "    then: [{review: account}]\n"
                           "  - id: fresh\n"
                           "    on: [login]\n"
                           "    when: count(2h, type == login) == 1\n"
                           "    then: [{review: account}]\n"
                           "  - id: relist\n"
                           "    on: [login]\n"
                           "    when: count(1h, device_id in watched) == 1\n"
                           "    then: [{review: account}]\n"
                           "lists:\n"
                           "  watched: [d1, d3]\n");
    assert_int_equal(rg_engine_swap_rules(e, rs2, err, sizeof err), 0);
    rg_ruleset_free(rs1);
    feed(e, p, "{\"event_id\":\"v3\",\"type\":\"login\",\"ts\":\"2026-11-22T10:02:00Z\",\"account\":\"a\",\"device_id\":\"d1\"}", &c);
    assert_int_equal(c.emitted, 1);
    assert_non_null(strstr(c.lines.data, "\"id\":\"kept\""));
    assert_non_null(strstr(c.lines.data, "\"id\":\"fresh\""));
    assert_non_null(strstr(c.lines.data, "\"id\":\"relist\""));

    /* Back to the first file: its 1h use is the same as `kept`, so the
     * three logins stay; the list use differs from `relist`'s (other
     * items): empty again, so a fourth login counts 1 there. */
    rg_ruleset *rs3 = load("version: 1\n"
                           "rules:\n"
                           "  - id: four\n"
                           "    on: [login]\n"
                           "    when: count(1h, type == login) == 4 and count(1h, device_id in watched) == 1\n"
                           "    then: [{review: account}]\n"
                           "lists:\n"
                           "  watched: [d1, d2]\n");
    assert_int_equal(rg_engine_swap_rules(e, rs3, err, sizeof err), 0);
    rg_ruleset_free(rs2);
    c.emitted = 0;
    feed(e, p, "{\"event_id\":\"v4\",\"type\":\"login\",\"ts\":\"2026-11-22T10:03:00Z\",\"account\":\"a\",\"device_id\":\"d2\"}", &c);
    assert_int_equal(c.emitted, 1);
    assert_non_null(strstr(c.lines.data, "\"id\":\"four\""));
    rg_strbuf_free(&c.lines);
    rg_event_parser_free(p);
    rg_engine_free(e);
    rg_ruleset_free(rs3);
}

static void test_same_input_same_bytes(void **state)
{
    (void)state;
    const char *events[] = {
        "{\"event_id\":\"x1\",\"type\":\"transfer\",\"ts\":1795340265123,\"account\":\"a\",\"counterparty\":\"b\",\"amount\":7000}",
        "{\"event_id\":\"x2\",\"type\":\"transfer\",\"ts\":\"2026-11-22T08:00:00.250+08:00\",\"account\":\"b\",\"counterparty\":\"a\",\"amount\":1000}",
        "{\"event_id\":\"x3\",\"type\":\"transfer\",\"ts\":\"2026-11-22T00:00:00Z\",\"account\":\"c\",\"counterparty\":\"\\u4e2d\\\"q\",\"amount\":9000}",
    };
    rg_strbuf runs[2] = {RG_STRBUF_INIT, RG_STRBUF_INIT};
    for (int r = 0; r < 2; r++) {
        rg_ruleset *rs = load(RULES_TWO);
        char err[256];
        rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
        rg_event_parser *p = rg_event_parser_new();
        collected c = {RG_STRBUF_INIT, 0, 0};
        for (size_t i = 0; i < 3; i++)
            feed(e, p, events[i], &c);
        rg_strbuf_append(&runs[r], c.lines.data, c.lines.len);
        rg_strbuf_free(&c.lines);
        rg_event_parser_free(p);
        rg_engine_free(e);
        rg_ruleset_free(rs);
    }
    assert_int_equal(runs[0].len, runs[1].len);
    assert_memory_equal(runs[0].data, runs[1].data, runs[0].len);
    /* JSON escaping of a subject with a quote and non-ASCII text. */
    assert_non_null(strstr(runs[0].data, "\"subject\":\"\xe4\xb8\xad\\\"q\""));
    rg_strbuf_free(&runs[0]);
    rg_strbuf_free(&runs[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_lines),
        cmocka_unit_test(test_cooldown_and_dedupe),
        cmocka_unit_test(test_swap_keeps_shared_state),
        cmocka_unit_test(test_swap_velocity_keeps_equal_windows),
        cmocka_unit_test(test_same_input_same_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
