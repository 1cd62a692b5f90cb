/*
 * fuzz_rulefiles — several rule files loaded as one rule set
 * (rules.md "Several files": override, append, settings last-wins), on
 * arbitrary bytes. The input is cut into up to four files at lines
 * "#---" (a YAML comment, so a seed is also one valid file); file i is
 * named "fI.yaml".
 *
 * Beyond "no crash, no over-read, no leak": a refused set must give a
 * non-empty error text whose every line is "fI.yaml:LINE:COLUMN: message"
 * for one of the files given, with positive numbers and files in order;
 * an accepted one must have 12 hex digits of id, describe itself (text
 * and JSON), keep every use in a slot, have rule indexes 0..n-1 and ids
 * unique, and evaluate and explain every rule on an event without
 * detector state (every stateful name unknown). Each file is copied to an
 * exact-size buffer so ASan sees any read past its end.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "rules/eval.h"
#include "rules/explain.h"
#include "rules/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

#define MAX_FILES 4

static void check_errors(const char *errors, size_t n_files)
{
    CHECK(errors && *errors);
    int last_file = 0;
    for (const char *line = errors; *line;) {
        const char *nl = strchr(line, '\n');
        CHECK(nl);
        int f = -1, l = 0, c = 0, n = 0;
        CHECK(sscanf(line, "f%d.yaml:%d:%d: %n", &f, &l, &c, &n) == 3 && n > 0);
        CHECK(f >= 0 && (size_t)f < n_files && f >= last_file);   /* files in the order given */
        CHECK(l >= 1 && c >= 1 && line + n < nl);
        last_file = f;
        line = nl + 1;
    }
}

static void exercise(const rg_ruleset *rs, size_t n_files)
{
    CHECK(strlen(rg_ruleset_id(rs)) == 12);
    CHECK(rg_ruleset_file_count(rs) == n_files);
    rg_strbuf out = RG_STRBUF_INIT;
    rg_ruleset_describe(rs, &out);
    rg_ruleset_describe_json(rs, &out);
    CHECK(rg_strbuf_ok(&out));
    for (size_t i = 0; i < rg_ruleset_use_count(rs); i++)
        CHECK(rg_ruleset_use(rs, i)->slot == i && rg_ruleset_use(rs, i)->evidence_key);
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        CHECK(r->index == i && r->file);
        for (size_t k = 0; k < i; k++)
            CHECK(strcmp(rg_ruleset_rule(rs, k)->id, r->id) != 0);
    }

    rg_eval_ctx ctx;
    if (rg_eval_ctx_init(&ctx, rs, NULL, NULL) != 0)
        abort();
    for (int type = 0; type < RG_EV_TYPE_COUNT; type++) {
        rg_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = (rg_event_type)type;
        ev.ts_ms = 1795305600000;
        ev.event_id = "e-1";
        ev.event_id_len = 3;
        ev.account = "u-1";
        ev.account_len = 3;
        ev.amount = 250000;
        ev.currency = "CNY";
        ev.client_automation = -1;
        ev.client_hooked = -1;
        rg_eval_begin(&ctx, &ev);
        rg_strbuf_reset(&out);
        rg_explain_text(&ctx, &ev, &out);
        rg_explain_json_members(&ctx, &ev, &out);
        CHECK(rg_strbuf_ok(&out));
    }
    rg_eval_ctx_free(&ctx);
    rg_strbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rg_rule_source src[MAX_FILES];
    char names[MAX_FILES][16];
    char *copies[MAX_FILES] = {NULL};
    size_t n = 0, start = 0;
    const char *text = (const char *)data;
    for (size_t i = 0; i <= size && n < MAX_FILES; i++) {
        bool cut = i == size || (n + 1 < MAX_FILES && i + 5 <= size && (i == 0 || text[i - 1] == '\n') &&
                                 memcmp(text + i, "#---", 4) == 0 && text[i + 4] == '\n');
        if (!cut)
            continue;
        size_t len = (i == size ? size : i) - start;
        copies[n] = malloc(len ? len : 1);
        if (!copies[n])
            goto done;
        if (len)
            memcpy(copies[n], text + start, len);
        snprintf(names[n], sizeof names[n], "f%zu.yaml", n);
        src[n] = (rg_rule_source){names[n], copies[n], len};
        n++;
        start = i + 5;
        if (i == size)
            break;
    }
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_sources(src, n, &errors);
    if (rs) {
        CHECK(errors == NULL);
        exercise(rs, n);
        rg_ruleset_free(rs);
    } else {
        check_errors(errors, n);
        free(errors);
    }
done:
    for (size_t i = 0; i < MAX_FILES; i++)
        free(copies[i]);
    return 0;
}
