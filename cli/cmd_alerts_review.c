/*
 * cmd_alerts_review — the review side of `riskgate alerts`: label,
 * resolve, reopen and assign on one or more ids at once, history,
 * releases (cli.md "Added in the second round", docs/review.md). Called
 * by cmd_alerts.c with the store open and the options checked.
 *
 * Several ids change in one transaction; each id gets its own line, an
 * unknown one goes to stderr and makes the exit status 1 while the others
 * are still changed (as `git add` treats paths). The CLI acts as a lead:
 * whoever can write the store file can do anything to it anyway.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/strbuf.h"
#include "alerts_cli.h"

/* What one done change prints after "ID: ". */
static void print_done(const rg_review_op *op, const rg_review_result *r)
{
    switch (op->action) {
    case RG_REVIEW_LABEL: printf("labelled %s by %s", op->label, op->who); break;
    case RG_REVIEW_RESOLVE: printf("resolved by %s", op->who); break;
    case RG_REVIEW_REOPEN: printf("reopened by %s", op->who); break;
    case RG_REVIEW_ASSIGN:
        if (op->assignee)
            printf("assigned to %s by %s", op->assignee, op->who);
        else
            printf("unassigned by %s", op->who);
        break;
    }
    if (r->release_queued)
        printf("; release queued for the action topic (legit, and the subject was frozen)");
}

int rg_alerts_do_review(rg_alert_store *s, alerts_opts *o, rg_review_action action, char **ids,
                        int n_ids, const char *value)
{
    static const char *const NAMES[] = {"label", "resolve", "reopen", "assign"};
    rg_review_op op = {.action = action, .who = rg_alerts_analyst(o), .role = RG_ROLE_LEAD};
    if (action == RG_REVIEW_LABEL) {
        op.label = value;
        op.note = o->note;
    } else if (action == RG_REVIEW_ASSIGN) {
        op.assignee = strcmp(value, "none") == 0 ? NULL : value;
    }
    rg_review_result *res = calloc((size_t)n_ids, sizeof *res);
    char err[512];
    if (!res) {
        fprintf(stderr, "riskgate alerts %s: out of memory\n", NAMES[action]);
        return 1;
    }
    int rc = 0;
    if (rg_alert_store_review(s, &op, (const char *const *)ids, (size_t)n_ids, res, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts %s: %s\n", NAMES[action], err);
        free(res);
        return 1;
    }
    for (int i = 0; i < n_ids; i++) {
        if (res[i].outcome == RG_REVIEW_NOT_FOUND) {
            char msg[768];
            snprintf(msg, sizeof msg, "no alert with id '%s'", ids[i]);
            /* The store's message explains a malformed id. */
            rg_alert a;
            if (rg_alert_store_get(s, ids[i], &a, err, sizeof err) == 0)
                snprintf(msg, sizeof msg, "%s", err);
            else if (a.decision_id)
                rg_alert_clear(&a);
            fprintf(stderr, "riskgate alerts %s: ", NAMES[action]);
            rg_put_clean(stderr, msg);
            fputc('\n', stderr);
            rc = 1;
            continue;
        }
        rg_put_clean(stdout, ids[i]);
        fputs(": ", stdout);
        if (res[i].outcome == RG_REVIEW_DONE)
            print_done(&op, &res[i]);
        else
            printf("unchanged (%s)", res[i].why ? res[i].why : "nothing to do");
        fputc('\n', stdout);
    }
    free(res);
    return rc;
}

int rg_alerts_do_history(rg_alert_store *s, alerts_opts *o, const char *id)
{
    char err[512];
    rg_alert_change *c;
    size_t n;
    int rc = rg_alert_store_history(s, id, &c, &n, err, sizeof err);
    if (rc <= 0) {
        fprintf(stderr, "riskgate alerts history: %s\n", err);
        return 1;
    }
    if (o->json) {
        rg_strbuf b = RG_STRBUF_INIT;
        rg_alert_history_to_json(id, c, n, &b);
        rg_strbuf_putc(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
        rg_strbuf_free(&b);
        rg_alert_changes_free(c, n);
        return 0;
    }
    if (n == 0) {
        printf("  (no changes yet)\n");
        rg_alert_changes_free(c, n);
        return 0;
    }
    size_t who_w = strlen("WHO");
    for (size_t i = 0; i < n; i++)
        if (rg_text_width(c[i].who) > who_w)
            who_w = rg_text_width(c[i].who);
    printf("  %-24s  ", "TIME (UTC)");
    rg_put_cell(stdout, "WHO", who_w, false);
    printf("CHANGE\n");
    for (size_t i = 0; i < n; i++) {
        char t[32];
        rg_fmt_time(c[i].at_ms, t, sizeof t);
        printf("  %-24s  ", t);
        rg_put_cell(stdout, c[i].who, who_w, false);
        rg_put_clean(stdout, c[i].what);
        if (c[i].value) {
            fputc(' ', stdout);
            rg_put_clean(stdout, c[i].value);
        }
        if (c[i].note) {
            fputs(": \"", stdout);
            rg_put_clean(stdout, c[i].note);
            fputc('"', stdout);
        }
        fputc('\n', stdout);
    }
    rg_alert_changes_free(c, n);
    return 0;
}

int rg_alerts_do_releases(rg_alert_store *s, alerts_opts *o)
{
    char err[512];
    rg_outbox_item *items;
    size_t n;
    int64_t total;
    if (rg_alert_store_outbox_list(s, o->filter.limit, &items, &n, &total, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts releases: %s\n", err);
        return 1;
    }
    if (o->json) {
        rg_strbuf b = RG_STRBUF_INIT;
        rg_strbuf_printf(&b, "{\"total\":%lld,\"releases\":[", (long long)total);
        for (size_t i = 0; i < n; i++) {
            if (i)
                rg_strbuf_putc(&b, ',');
            rg_release_to_json(&items[i], &b);
        }
        rg_strbuf_puts(&b, "]}\n");
        fwrite(b.data, 1, b.len, stdout);
        rg_strbuf_free(&b);
    } else if (n == 0) {
        printf("no releases queued or sent\n");
    } else {
        enum { C_CREATED, C_ID, C_SUBJECT, C_STATE, C_ALERT, NC };
        static const char *const HEAD[NC] = {"QUEUED (UTC)", "RELEASE_ID", "SUBJECT", "STATE", "ALERT_ID"};
        size_t w[NC];
        for (int k = 0; k < NC; k++)
            w[k] = rg_text_width(HEAD[k]);
        char (*created)[32] = calloc(n, 32), (*state)[48] = calloc(n, 48);
        for (size_t i = 0; created && state && i < n; i++) {
            rg_fmt_time(items[i].created_ms, created[i], 32);
            char sent[32];
            rg_fmt_time(items[i].sent_ms, sent, sizeof sent);
            snprintf(state[i], 48, items[i].sent_ms ? "sent %s" : "queued", sent);
            const char *v[NC] = {created[i], items[i].decision_id, items[i].subject, state[i], items[i].alert_id};
            for (int k = 0; k < NC; k++)
                if (rg_text_width(v[k]) > w[k])
                    w[k] = rg_text_width(v[k]);
        }
        for (int k = 0; k < NC; k++)
            rg_put_cell(stdout, HEAD[k], w[k], k == NC - 1);
        fputc('\n', stdout);
        for (size_t i = 0; created && state && i < n; i++) {
            const char *v[NC] = {created[i], items[i].decision_id, items[i].subject, state[i], items[i].alert_id};
            for (int k = 0; k < NC; k++)
                rg_put_cell(stdout, v[k], w[k], k == NC - 1);
            fputc('\n', stdout);
        }
        free(created);
        free(state);
        if ((int64_t)n < total)
            printf("... %lld more: --limit N shows more (0: all)\n", (long long)(total - (int64_t)n));
    }
    rg_outbox_items_free(items, n);
    return 0;
}
