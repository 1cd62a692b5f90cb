/*
 * cmd_alerts_show — `riskgate alerts show ALERT_ID [--json]` (cli.md
 * "Alerts", docs/review.md): the decision with its reasons and evidence,
 * the event as it came, the review state, the subject's other recent
 * alerts and the alert's history. Text from the store goes through
 * rg_put_clean (alerts_cli.h), so an event field cannot drive the
 * analyst's terminal. --json is the review API's writer
 * (rg_alert_store_show_json): the same keys in the same order.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../store/alerts.h"
#include "alerts_cli.h"

/* The subject's other alerts shown (API and CLI alike). */
#define RECENT_ALERTS 10

/* The subject's other alerts, newest first: up to RECENT_ALERTS + 1 are
 * read (one may be `a` itself); *others gets shallow copies of at most
 * RECENT_ALERTS of them (owned by *all). */
static int recent_for_subject(rg_alert_store *s, const rg_alert *a, rg_alert **all, size_t *n_all,
                              rg_alert *others, size_t *n_others, char *err, size_t err_size)
{
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    f.subject = a->subject;
    f.newest_first = true;
    f.limit = RECENT_ALERTS + 1;
    *n_others = 0;
    if (rg_alert_store_list(s, &f, all, n_all, err, err_size) < 0)
        return -1;
    for (size_t i = 0; i < *n_all && *n_others < RECENT_ALERTS; i++)
        if (strcmp((*all)[i].decision_id, a->decision_id) != 0)
            others[(*n_others)++] = (*all)[i];
    return 0;
}

static void print_evidence(FILE *out, const char *evidence_json)
{
    json_t *ev = evidence_json ? json_loads(evidence_json, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    size_t width = 0;
    json_object_foreach(ev, key, v) {
        if (rg_text_width(key) > width)
            width = rg_text_width(key);
    }
    json_object_foreach(ev, key, v) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs("      ", out);
        rg_put_cell(out, key, width, false);
        rg_put_clean(out, json_is_string(v) ? json_string_value(v) : text);
        fputc('\n', out);
        free(text);
    }
    json_decref(ev);
}

static void print_show(FILE *out, const rg_alert *a, const rg_alert *recent, size_t n_recent)
{
    char t1[32], t2[32];
    rg_fmt_time(a->ts_ms, t1, sizeof t1);
    fputs("alert      ", out), rg_put_clean(out, a->decision_id), fputc('\n', out);
    fputs("event      ", out), rg_put_clean(out, a->event_id), fputc(' ', out);
    rg_put_clean(out, a->event_type), fprintf(out, " at %s\n", t1);
    fputs("subject    ", out), rg_put_clean(out, a->subject), fputc('\n', out);
    fputs("actions    ", out), rg_put_clean(out, *a->actions ? a->actions : "-");
    fputs(a->suppressed ? " (suppressed by cooldown: nothing emitted)\n" : "\n", out);
    fputs("ruleset    ", out), rg_put_clean(out, a->ruleset), fputc('\n', out);
    fputs("status     ", out), rg_put_clean(out, a->status);
    if (a->resolved_ms) {
        rg_fmt_time(a->resolved_ms, t2, sizeof t2);
        fputs(" by ", out), rg_put_clean(out, a->resolved_by), fprintf(out, " at %s", t2);
    }
    fputs("\nlabel      ", out), rg_put_clean(out, a->label);
    if (a->labelled_ms) {
        rg_fmt_time(a->labelled_ms, t2, sizeof t2);
        fputs(" by ", out), rg_put_clean(out, a->labelled_by), fprintf(out, " at %s", t2);
    }
    fputc('\n', out);
    if (a->note)
        fputs("note       ", out), rg_put_clean(out, a->note), fputc('\n', out);
    fputs("assignee   ", out), rg_put_clean(out, a->assignee), fputc('\n', out);
    if (a->party)
        fputs("party      ", out), rg_put_clean(out, a->party), fputc('\n', out);
    if (a->object)
        fputs("object     ", out), rg_put_clean(out, a->object), fputc('\n', out);
    if (a->release_json) {
        json_t *rel = json_loads(a->release_json, 0, NULL);
        fputs("release    ", out);
        rg_put_clean(out, json_string_value(json_object_get(rel, "decision_id")));
        if (a->release_sent_ms) {
            rg_fmt_time(a->release_sent_ms, t2, sizeof t2);
            fprintf(out, " sent to the action topic at %s\n", t2);
        } else {
            fputs(" queued (streaming delivers it to the action topic)\n", out);
        }
        json_decref(rel);
    }
    fputs("\nrules\n", out);
    for (size_t i = 0; i < a->n_hits; i++) {
        fputs("  ", out), rg_put_clean(out, a->hits[i].rule_id);
        fputs(a->hits[i].suppressed ? " (suppressed)\n" : "\n", out);
        if (a->hits[i].reason)
            fputs("    ", out), rg_put_clean(out, a->hits[i].reason), fputc('\n', out);
        print_evidence(out, a->hits[i].evidence_json);
    }
    fputs("\nevent\n", out);
    json_t *ev = a->event_json ? json_loads(a->event_json, 0, NULL) : NULL;
    char *pretty = ev ? json_dumps(ev, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (pretty) {
        for (char *line = strtok(pretty, "\n"); line; line = strtok(NULL, "\n"))
            fputs("  ", out), rg_put_clean(out, line), fputc('\n', out);
    } else {
        fputs(a->event_json ? "  " : "  (not stored: the alert was imported from decisions)\n", out);
        if (a->event_json)
            rg_put_clean(out, a->event_json), fputc('\n', out);
    }
    free(pretty);
    json_decref(ev);
    fprintf(out, "\nother recent alerts of ");
    rg_put_clean(out, a->subject);
    fputc('\n', out);
    if (n_recent)
        rg_alerts_print_table(out, recent, n_recent, "  ");
    else
        fputs("  (none)\n", out);
}

int rg_alerts_do_show(rg_alert_store *s, alerts_opts *o, const char *id)
{
    char err[512];
    if (o->json) {
        rg_strbuf b = RG_STRBUF_INIT;
        int rc = rg_alert_store_show_json(s, id, RECENT_ALERTS, &b, err, sizeof err);
        if (rc > 0) {
            rg_strbuf_putc(&b, '\n');
            fwrite(b.data, 1, b.len, stdout);
        } else {
            fprintf(stderr, "riskgate alerts show: %s\n", err);
        }
        rg_strbuf_free(&b);
        return rc > 0 ? 0 : 1;
    }
    rg_alert a, *recent = NULL, others[RECENT_ALERTS];
    size_t n_recent = 0, n_others = 0;
    if (rg_alert_store_get(s, id, &a, err, sizeof err) <= 0) {
        fprintf(stderr, "riskgate alerts show: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (recent_for_subject(s, &a, &recent, &n_recent, others, &n_others, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts show: %s\n", err);
        rc = 1;
    } else {
        print_show(stdout, &a, others, n_others);
    }
    if (rc == 0) {
        printf("\nhistory\n");
        fflush(stdout);
        rc = rg_alerts_do_history(s, o, id);
    }
    rg_alerts_free(recent, n_recent);
    rg_alert_clear(&a);
    return rc;
}
