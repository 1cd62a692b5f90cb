/* Unit tests for decisions/engine_ship.c and the engine's prefetch: values
 * between stages by use slot (rg_engine_role.ship_by_slot, replay
 * --workers) give the decisions of the keyed form and of one engine, a
 * cut list seeds only what came before the cut, and prefetching (stages
 * 0, 1 and 2) changes no decision. Events are real JSON through the event
 * contract, the rule file real YAML through the loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/strmap.h"
#include "decisions/engine.h"
#include "detectors/account_store.h"
#include "ingest/event_parse.h"
#include "rules/ruleset.h"

/* Entity names (counterparty_age, counterparty_senders) beside decide
 * names (count()), and a rule that needs only one of the two entity
 * names (new_recipient) beside one that needs both (mule). */
static const char *RULES =
    "version: 1\n"
    "rules:\n"
    "  - id: new_recipient\n"
    "    on: transfer\n"
    "    when: counterparty_age < 72h and amount >= 1000\n"
    "    then:\n"
    "      - review: account\n"
    "  - id: mule\n"
    "    on: transfer\n"
    "    when: counterparty_age < 72h and counterparty_senders(24h) >= 3\n"
    "    then:\n"
    "      - freeze: counterparty\n"
    "  - id: busy\n"
    "    on: transfer\n"
    "    when: count(1h, type == transfer) >= 2\n"
    "    then:\n"
    "      - review: account\n";

#define N_EVENTS 6
static const char *EVENTS[N_EVENTS] = {
    "{\"event_id\":\"o1\",\"type\":\"account_open\",\"ts\":1700000000000,\"account\":\"mule1\"}",
    "{\"event_id\":\"t1\",\"type\":\"transfer\",\"ts\":1700000060000,\"account\":\"s1\",\"counterparty\":\"mule1\","
    "\"amount\":500}",
    "{\"event_id\":\"t2\",\"type\":\"transfer\",\"ts\":1700000120000,\"account\":\"s2\",\"counterparty\":\"mule1\","
    "\"amount\":2000}",
    "{\"event_id\":\"t3\",\"type\":\"transfer\",\"ts\":1700000180000,\"account\":\"s3\",\"counterparty\":\"mule1\","
    "\"amount\":700}",
    "{\"event_id\":\"t4\",\"type\":\"transfer\",\"ts\":1700000240000,\"account\":\"s1\",\"counterparty\":\"mule1\","
    "\"amount\":1500}",
    "{\"event_id\":\"t5\",\"type\":\"transfer\",\"ts\":1700000300000,\"account\":\"s4\",\"counterparty\":\"other\","
    "\"amount\":9000}",
};

static int collect(void *opaque, const rg_decision *d, void *ticket)
{
    (void)ticket;
    rg_strbuf *out = opaque;
    if (d->emit) {
        rg_strbuf_append(out, d->json, d->json_len);
        rg_strbuf_putc(out, '\n');
    }
    return 0;
}

static const rg_sink_ops collect_ops = {.name = "test collector", .decision = collect};

static rg_ruleset *load(void)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("t.yaml", RULES, strlen(RULES), &errors);
    if (!rs)
        fail_msg("refused: %s", errors ? errors : "?");
    return rs;
}

static void parse_all(rg_event_parser **p, rg_event *ev)
{
    for (size_t i = 0; i < N_EVENTS; i++) {
        rg_reject rej;
        p[i] = rg_event_parser_new();
        assert_non_null(p[i]);
        if (rg_event_parse(p[i], EVENTS[i], strlen(EVENTS[i]), &ev[i], &rej) != 0)
            fail_msg("event refused: %s: %s", rej.error, EVENTS[i]);
    }
}

static void free_parsers(rg_event_parser **p)
{
    for (size_t i = 0; i < N_EVENTS; i++)
        rg_event_parser_free(p[i]);
}

/* One engine for everything; with `prefetch`, every event is announced
 * three, two and one events ahead (stages 0, 1, 2), as replay does. */
static void run_one(const rg_ruleset *rs, bool prefetch, rg_strbuf *out)
{
    char err[256];
    rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
    assert_non_null(e);
    rg_event_parser *p[N_EVENTS];
    rg_event ev[N_EVENTS];
    parse_all(p, ev);
    rg_sink sink = {.ops = &collect_ops, .self = out};
    for (size_t i = 0; i < N_EVENTS; i++) {
        for (int stage = 0; prefetch && stage <= 2; stage++)
            if (i + 3 - (size_t)stage < N_EVENTS)
                rg_engine_prefetch(e, &ev[i + 3 - stage], stage);
        rg_engine_process(e, &ev[i], EVENTS[i], strlen(EVENTS[i]), &sink);
    }
    free_parsers(p);
    rg_engine_free(e);
}

/* An entity engine (counterparty) before a decide engine (the rest), the
 * values between them keyed or by slot; `cut` > 0 drops that many bytes
 * from the end of every value list before the decide engine reads it. */
static void run_split(const rg_ruleset *rs, bool by_slot, size_t cut, rg_strbuf *out)
{
    char err[256];
    uint32_t cp = rg_family_bit("counterparty");
    assert_int_not_equal(cp, 0);
    rg_engine_role entity = {.families = cp, .ship_by_slot = by_slot};
    rg_engine_role decide = {.families = RG_FAMILIES_ALL & ~cp, .decide = true, .dedupe = true,
                             .ship_by_slot = by_slot};
    rg_engine *ee = rg_engine_new_role(rs, NULL, &entity, err, sizeof err);
    rg_engine *de = rg_engine_new_role(rs, NULL, &decide, err, sizeof err);
    assert_non_null(ee);
    assert_non_null(de);
    rg_event_parser *p[N_EVENTS];
    rg_event ev[N_EVENTS];
    parse_all(p, ev);
    rg_sink sink = {.ops = &collect_ops, .self = out};
    for (size_t i = 0; i < N_EVENTS; i++) {
        rg_strbuf values = RG_STRBUF_INIT;
        rg_engine_process_stage(ee, &ev[i], EVENTS[i], strlen(EVENTS[i]), cp, NULL, 0, &values, NULL);
        assert_true(rg_strbuf_ok(&values));
        assert_true(values.len >= 2);   /* the count, at least */
        size_t len = values.len > cut ? values.len - cut : 0;
        rg_engine_process_stage(de, &ev[i], EVENTS[i], strlen(EVENTS[i]), RG_FAMILIES_ALL, values.data, len, NULL,
                                &sink);
        rg_strbuf_free(&values);
    }
    free_parsers(p);
    rg_engine_free(ee);
    rg_engine_free(de);
}

static void assert_same(const rg_strbuf *a, const rg_strbuf *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->data, b->data, a->len);
}

static void test_slots_decide_as_keys_and_one_engine(void **state)
{
    (void)state;
    rg_ruleset *rs = load();
    rg_strbuf one = RG_STRBUF_INIT, keyed = RG_STRBUF_INIT, slots = RG_STRBUF_INIT;
    run_one(rs, false, &one);
    run_split(rs, false, 0, &keyed);
    run_split(rs, true, 0, &slots);
    /* The entity names reached the decide engine: both of their rules
     * fired (new_recipient on t2 and t4, mule on t3 and t4), and busy. */
    assert_non_null(one.data);
    assert_non_null(strstr(one.data, "\"new_recipient\""));
    assert_non_null(strstr(one.data, "\"mule\""));
    assert_non_null(strstr(one.data, "\"busy\""));
    assert_same(&one, &keyed);
    assert_same(&one, &slots);
    rg_strbuf_free(&one);
    rg_strbuf_free(&keyed);
    rg_strbuf_free(&slots);
    rg_ruleset_free(rs);
}

/* counterparty_age ships before counterparty_senders (the rule set's
 * order). Cut into the last value, the list seeds the age alone: the rule
 * needing only the age still fires, the one needing both does not (an
 * unknown never fires a rule); nothing is read past the cut (ASan). */
static void test_cut_slots_seed_what_came_before(void **state)
{
    (void)state;
    rg_ruleset *rs = load();
    rg_strbuf whole = RG_STRBUF_INIT, cut = RG_STRBUF_INIT;
    run_split(rs, true, 0, &whole);
    run_split(rs, true, 1, &cut);
    assert_non_null(strstr(whole.data, "\"mule\""));
    assert_non_null(cut.data);
    assert_null(strstr(cut.data, "\"mule\""));
    assert_non_null(strstr(cut.data, "\"new_recipient\""));
    /* Every possible cut: no crash, no read past the end. */
    for (size_t c = 2; c < 80; c++) {
        rg_strbuf out = RG_STRBUF_INIT;
        run_split(rs, true, c, &out);
        if (out.data)
            assert_null(strstr(out.data, "\"mule\""));
        rg_strbuf_free(&out);
    }
    rg_strbuf_free(&whole);
    rg_strbuf_free(&cut);
    rg_ruleset_free(rs);
}

static void test_prefetch_changes_nothing(void **state)
{
    (void)state;
    rg_ruleset *rs = load();
    rg_strbuf plain = RG_STRBUF_INIT, ahead = RG_STRBUF_INIT;
    run_one(rs, false, &plain);
    run_one(rs, true, &ahead);
    assert_true(plain.len > 0);
    assert_same(&plain, &ahead);
    rg_strbuf_free(&plain);
    rg_strbuf_free(&ahead);
    rg_ruleset_free(rs);
}

/* The peeks behind stage 2: a present key's hash leads to its record; an
 * empty table to none; a slice not in use reads as NULL. */
static void test_peeks(void **state)
{
    (void)state;
    rg_strmap *m = rg_strmap_new(sizeof(uint64_t));
    assert_null(rg_strmap_peek_hashed(m, rg_strmap_hash("a1", 2)));
    uint64_t *v = rg_strmap_put(m, "a1", 2, NULL);
    *v = 42;
    for (int i = 0; i < 100; i++) {
        char key[16];
        int n = snprintf(key, sizeof key, "k%d", i);
        *(uint64_t *)rg_strmap_put(m, key, (size_t)n, NULL) = (uint64_t)i;
    }
    v = rg_strmap_get(m, "a1", 2);
    assert_ptr_equal(rg_strmap_peek_hashed(m, rg_strmap_hash("a1", 2)), v);
    rg_strmap_free(m, NULL);

    rg_account_store *s = rg_account_store_new();
    rg_account_slice one, two;
    assert_int_equal(rg_account_store_reserve(s, sizeof(uint64_t), &one), 0);
    assert_int_equal(rg_account_store_reserve(s, sizeof(uint64_t), &two), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    uint64_t *slice = rg_account_put(&one, "acc", 3, NULL);
    *slice = 7;
    rg_account_peeked got;
    rg_account_peek_records(s, rg_strmap_hash("acc", 3), 0, &got);
    assert_non_null(got.account);
    assert_null(got.counterparty);
    assert_ptr_equal(rg_account_slice_in(&one, got.account), slice);
    assert_null(rg_account_slice_in(&two, got.account));   /* nothing in that slice */
    assert_null(rg_account_slice_in(&one, NULL));
    rg_account_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slots_decide_as_keys_and_one_engine),
        cmocka_unit_test(test_cut_slots_seed_what_came_before),
        cmocka_unit_test(test_prefetch_changes_nothing),
        cmocka_unit_test(test_peeks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
