/*
 * test_rules_util — helpers shared by the rule-language tests
 * (tests/unit/engine/test_rules_*.c): load a rule file from a string,
 * create the detectors it uses the way the engine does, and evaluate a
 * rule's condition, message and evidence for a hand-made event.
 *
 * Owner: rules. Header-only (static functions); each test program includes
 * it once.
 */
#ifndef RG_TEST_RULES_UTIL_H
#define RG_TEST_RULES_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/strbuf.h"
#include "detectors/detector.h"
#include "rules/eval.h"
#include "rules/ruleset.h"

#define SEC_MS INT64_C(1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
/* 2026-11-22T00:00:00Z */
#define T0 INT64_C(1795305600000)

#define FX_MAX_DETECTORS 32

typedef struct rules_fx {
    rg_ruleset *rs;
    void *state[FX_MAX_DETECTORS];
    rg_eval_ctx ctx;
} rules_fx;

/* Load or fail the test, printing the loader's errors. */
static inline rg_ruleset *must_load(const char *yaml)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("test.yaml", yaml, strlen(yaml), &errors);
    if (!rs) {
        fprintf(stderr, "rule file refused:\n%s--- file:\n%s\n", errors ? errors : "(no message)\n", yaml);
        free(errors);
        fail();
    }
    assert_null(errors);
    return rs;
}

/* The errors of a file that must be refused (caller frees). */
static inline char *must_refuse(const char *yaml)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("test.yaml", yaml, strlen(yaml), &errors);
    if (rs) {
        rg_ruleset_free(rs);
        fail_msg("rule file accepted but should be refused:\n%s", yaml);
    }
    assert_non_null(errors);
    return errors;
}

static inline void fx_open(rules_fx *f, rg_ruleset *rs)
{
    memset(f, 0, sizeof *f);
    f->rs = rs;
    for (size_t d = 0; rg_detectors[d]; d++) {
        assert_true(d < FX_MAX_DETECTORS);
        size_t n = 0;
        const rg_name_use *const *uses = rg_ruleset_detector_uses(rs, rg_detectors[d], &n);
        if (!n)
            continue;
        rg_detector_config cfg = {.uses = uses, .n_uses = n,
                                  .history_horizon_ms = rg_ruleset_history_horizon_ms(rs),
                                  .max_lateness_ms = rg_ruleset_max_lateness_ms(rs)};
        char err[256] = "";
        f->state[d] = rg_detectors[d]->create(&cfg, err, sizeof err);
        if (!f->state[d])
            fail_msg("%s: create failed: %s", rg_detectors[d]->family, err);
    }
    assert_int_equal(rg_eval_ctx_init(&f->ctx, rs, f->state, NULL), 0);
}

static inline void fx_load(rules_fx *f, const char *yaml) { fx_open(f, must_load(yaml)); }

static inline void fx_close(rules_fx *f)
{
    rg_eval_ctx_free(&f->ctx);
    for (size_t d = 0; rg_detectors[d]; d++)
        if (f->state[d])
            rg_detectors[d]->destroy(f->state[d]);
    rg_ruleset_free(f->rs);
    memset(f, 0, sizeof *f);
}

/* Start an event the way the engine does (observe before evaluation). */
static inline void fx_begin(rules_fx *f, const rg_event *ev)
{
    rg_eval_begin(&f->ctx, ev);
    for (size_t d = 0; rg_detectors[d]; d++)
        if (f->state[d] && rg_detectors[d]->observe)
            rg_detectors[d]->observe(f->state[d], ev, &f->ctx);
}

/* Fold the event into detector state (after rules and evidence). */
static inline void fx_end(rules_fx *f, const rg_event *ev)
{
    for (size_t d = 0; rg_detectors[d]; d++)
        if (f->state[d] && rg_detectors[d]->update)
            rg_detectors[d]->update(f->state[d], ev, &f->ctx);
}

static inline rg_tri fx_rule(rules_fx *f, size_t i, const rg_event *ev)
{
    fx_begin(f, ev);
    rg_tri t = rg_eval_condition(&f->ctx, rg_ruleset_rule(f->rs, i)->when);
    fx_end(f, ev);
    return t;
}

/* A rule file with one rule whose `when` is `expr`, plus a few lists and
 * signals for the tests to use. The expression goes in a YAML literal
 * block so that it needs no quoting. */
/* The use named `name` in the file, or NULL. */
static inline const rg_name_use *fx_use_named(const rg_ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rg_ruleset_use_count(rs); i++)
        if (strcmp(rg_ruleset_use(rs, i)->spec->name, name) == 0)
            return rg_ruleset_use(rs, i);
    return NULL;
}

/* Whether the use named `name` was computed for the current event. */
static inline bool fx_asked(const rules_fx *f, const char *name)
{
    const rg_name_use *u = fx_use_named(f->rs, name);
    assert_non_null(u);
    return f->ctx.memo_gen[u->slot] == f->ctx.gen;
}

static inline const char *tri_name(rg_tri t) { return t == RG_TRUE ? "TRUE" : t == RG_FALSE ? "FALSE" : "UNKNOWN"; }

static inline char *one_rule_file(const char *expr)
{
    static const char head[] =
        "version: 1\n"
        "lists:\n"
        "  tools: [com.example.autoclick, com.fake.grabber]\n"
        "  devices: [d-1, d-2]\n"
        "signals:\n"
        "  big: amount >= 100000\n"
        "  double_amount: amount * 2\n"
        "rules:\n"
        "  - id: t\n"
        "    when: |-\n"
        "      ";
    static const char tail[] = "\n    then:\n      - review: account\n";
    size_t n = sizeof head + strlen(expr) + sizeof tail;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s%s%s", head, expr, tail);
    return s;
}

/* Load one_rule_file(expr) into f. */
static inline void fx_load_expr(rules_fx *f, const char *expr)
{
    char *yaml = one_rule_file(expr);
    fx_load(f, yaml);
    free(yaml);
}

/* Evaluate `expr` as a rule condition on ev (fresh detectors). */
static inline rg_tri eval_on(const char *expr, const rg_event *ev)
{
    rules_fx f;
    fx_load_expr(&f, expr);
    rg_tri t = fx_rule(&f, 0, ev);
    fx_close(&f);
    return t;
}

/* The loader's errors for `expr` as a condition (caller frees). */
static inline char *expr_errors(const char *expr)
{
    char *yaml = one_rule_file(expr);
    char *errors = must_refuse(yaml);
    free(yaml);
    return errors;
}

static inline rg_event mk_event(rg_event_type type, int64_t ts_ms, const char *account)
{
    rg_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.ts_ms = ts_ms;
    ev.event_id = "e-1";
    ev.event_id_len = 3;
    ev.account = account;
    ev.account_len = strlen(account);
    ev.client_automation = -1;
    ev.client_hooked = -1;
    ev.shares = 1;
    ev.currency = "CNY";
    return ev;
}

static inline rg_event mk_transfer(int64_t ts_ms, const char *account, const char *counterparty, int64_t amount)
{
    rg_event ev = mk_event(RG_EV_TRANSFER, ts_ms, account);
    ev.counterparty = counterparty;
    ev.counterparty_len = strlen(counterparty);
    ev.amount = amount;
    return ev;
}

#endif
