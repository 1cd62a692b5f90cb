/*
 * fuzz_rules — the rule-file loader on arbitrary bytes (rules layer).
 *
 * Beyond "no crash, no over-read, no leak": a refused file must come with
 * a non-empty error text whose every line is "FILE:LINE:COLUMN: message"
 * with positive numbers; an accepted one must describe itself, give every
 * use a slot 0..n-1, and evaluate every rule (message and evidence too)
 * on an event without any detector state, where every name is unknown.
 * The input is copied to an exact-size buffer so ASan sees any read past
 * `len`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "rules/eval.h"
#include "rules/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

static void check_errors(const char *errors)
{
    CHECK(errors && *errors);
    /* One line per error, printable: valid UTF-8, no control characters
     * but the newlines that end lines. */
    CHECK(rg_utf8_valid(errors, strlen(errors)));
    for (const char *p = errors; *p; p++)
        CHECK((unsigned char)*p >= 0x20 || *p == '\n');
    const char *line = errors;
    while (*line) {
        const char *nl = strchr(line, '\n');
        CHECK(nl);   /* newline-terminated */
        CHECK(strncmp(line, "f.yaml:", 7) == 0);
        int l = 0, c = 0, n = 0;
        CHECK(sscanf(line + 7, "%d:%d: %n", &l, &c, &n) == 2 && n > 0);
        CHECK(l >= 1 && c >= 1);
        CHECK(line + 7 + n < nl);   /* a message follows */
        line = nl + 1;
    }
}

static void exercise(const rg_ruleset *rs)
{
    rg_strbuf out = RG_STRBUF_INIT;
    rg_ruleset_describe(rs, &out);
    CHECK(rg_strbuf_ok(&out));
    for (size_t i = 0; i < rg_ruleset_use_count(rs); i++)
        CHECK(rg_ruleset_use(rs, i)->slot == i && rg_ruleset_use(rs, i)->evidence_key);

    rg_eval_ctx ctx;
    if (rg_eval_ctx_init(&ctx, rs, NULL, NULL) != 0)
        abort();
    static const char *const pk[] = {"com.example.autoclick"};
    rg_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = RG_EV_TRANSFER;
    ev.ts_ms = 1795305600000;
    ev.event_id = "e-1";
    ev.event_id_len = 3;
    ev.account = "u-1";
    ev.account_len = 3;
    ev.counterparty = "u-2";
    ev.counterparty_len = 3;
    ev.amount = 250000;
    ev.currency = "CNY";
    ev.client_automation = -1;
    ev.client_hooked = -1;
    ev.has_client_packages = true;
    ev.client_packages = pk;
    ev.n_client_packages = 1;
    rg_eval_begin(&ctx, &ev);
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        rg_tri t = rg_eval_condition(&ctx, r->when);
        CHECK(t == RG_TRUE || t == RG_FALSE || t == RG_UNKNOWN);
        rg_strbuf_reset(&out);
        rg_eval_reason(&ctx, r, &out);
        rg_eval_evidence_json(&ctx, r, &out);
        CHECK(rg_strbuf_ok(&out));
    }
    rg_eval_ctx_free(&ctx);
    rg_strbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("f.yaml", copy, size, &errors);
    if (rs) {
        CHECK(errors == NULL);
        CHECK(strlen(rg_ruleset_id(rs)) == 12);
        exercise(rs);
        rg_ruleset_free(rs);
    } else {
        check_errors(errors);
        free(errors);
    }
    free(copy);
    return 0;
}
