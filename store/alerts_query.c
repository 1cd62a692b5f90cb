/*
 * alerts_query.c — reading alerts: list/scan/get and the alert structs.
 * How a list's SQL is chosen: alerts_plan.c; counts and precision per rule:
 * alerts_plan.c and alerts_stats.c. Contracts in alerts.h.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "alerts_internal.h"

#define ALERT_COLUMNS                                                                        \
    "a.id, a.decision_id, a.event_id, a.subject, a.event_type, a.ts_ms, a.actions, a.ruleset," \
    " a.suppressed, a.status, a.label, a.note, a.labelled_by, a.labelled_ms, a.resolved_by,"   \
    " a.resolved_ms, a.stored_ms, a.assignee, a.assigned_ms, a.party, a.object"
#define ALERT_NCOLS 21

void rg_alert_clear(rg_alert *a)
{
    if (!a)
        return;
    free(a->decision_id);
    free(a->event_id);
    free(a->subject);
    free(a->event_type);
    free(a->actions);
    free(a->ruleset);
    free(a->status);
    free(a->label);
    free(a->note);
    free(a->labelled_by);
    free(a->resolved_by);
    free(a->assignee);
    free(a->party);
    free(a->object);
    for (size_t i = 0; i < a->n_hits; i++) {
        free(a->hits[i].rule_id);
        free(a->hits[i].reason);
        free(a->hits[i].evidence_json);
    }
    free(a->hits);
    free(a->decision_json);
    free(a->event_json);
    free(a->release_json);
    memset(a, 0, sizeof *a);
}

void rg_alerts_free(rg_alert *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        rg_alert_clear(&a[i]);
    free(a);
}

void rg_alert_filter_init(rg_alert_filter *f)
{
    memset(f, 0, sizeof *f);
    f->since_ms = INT64_MIN;
    f->until_ms = INT64_MAX;
}

/* Columns of ALERT_COLUMNS into a (the id into *id). Returns -1 on OOM. */
static int read_alert(sqlite3_stmt *st, rg_alert *a, int64_t *id)
{
    memset(a, 0, sizeof *a);
    *id = sqlite3_column_int64(st, 0);
    a->decision_id = rg_alerts_col_dup(st, 1);
    a->event_id = rg_alerts_col_dup(st, 2);
    a->subject = rg_alerts_col_dup(st, 3);
    a->event_type = rg_alerts_col_dup(st, 4);
    a->ts_ms = sqlite3_column_int64(st, 5);
    a->actions = rg_alerts_col_dup(st, 6);
    a->ruleset = rg_alerts_col_dup(st, 7);
    a->suppressed = sqlite3_column_int(st, 8) != 0;
    a->status = rg_alerts_col_dup(st, 9);
    a->label = rg_alerts_col_dup(st, 10);
    a->note = rg_alerts_col_dup(st, 11);
    a->labelled_by = rg_alerts_col_dup(st, 12);
    a->labelled_ms = sqlite3_column_int64(st, 13);
    a->resolved_by = rg_alerts_col_dup(st, 14);
    a->resolved_ms = sqlite3_column_int64(st, 15);
    a->stored_ms = sqlite3_column_int64(st, 16);
    a->assignee = rg_alerts_col_dup(st, 17);
    a->assigned_ms = sqlite3_column_int64(st, 18);
    a->party = rg_alerts_col_dup(st, 19);
    a->object = rg_alerts_col_dup(st, 20);
    if (!a->decision_id || !a->event_id || !a->subject || !a->event_type || !a->actions ||
        !a->ruleset || !a->status)
        return -1;
    return 0;
}

/* Hits of alert `id` (st: the prepared hits query, reset here). */
static int read_hits(rg_alert_store *s, sqlite3_stmt *st, int64_t id, rg_alert *a, char *errstr,
                     size_t errstr_size)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (a->n_hits == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            rg_alert_hit *nh = realloc(a->hits, ncap * sizeof *nh);
            if (!nh)
                goto oom;
            a->hits = nh;
            cap = ncap;
        }
        rg_alert_hit *h = &a->hits[a->n_hits++];
        memset(h, 0, sizeof *h);
        h->rule_id = rg_alerts_col_dup(st, 0);
        h->suppressed = sqlite3_column_int(st, 1) != 0;
        if (!h->rule_id)
            goto oom;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "reading rule hits", errstr, errstr_size);
        return -1;
    }
    return 0;
oom:
    sqlite3_reset(st);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
    return -1;
}

int rg_alert_store_scan(rg_alert_store *s, const rg_alert_filter *f, rg_alert_cb cb, void *ctx,
                        char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare_list(s, f, ALERT_COLUMNS, errstr, errstr_size);
    sqlite3_stmt *hits = st ? rg_alerts_prepare(
        s, "SELECT rule_id, suppressed FROM hits WHERE alert_id = ? ORDER BY position",
        errstr, errstr_size) : NULL;
    int result = -1;
    if (!st || !hits)
        goto done;
    int rc = SQLITE_DONE;
    result = 0;
    while (result == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rg_alert a;
        int64_t id;
        if (read_alert(st, &a, &id) < 0) {
            rg_alert_clear(&a);
            snprintf(errstr, errstr_size, "%s: out of memory", s->path);
            result = -1;
            break;
        }
        if (read_hits(s, hits, id, &a, errstr, errstr_size) < 0)
            result = -1;
        else
            result = cb(ctx, &a);
        rg_alert_clear(&a);
    }
    if (result == 0 && rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "listing alerts", errstr, errstr_size);
        result = -1;
    }
done:
    sqlite3_finalize(st);
    sqlite3_finalize(hits);
    return result;
}

typedef struct collect_ctx {
    rg_alert *items;
    size_t n, cap;
} collect_ctx;

static char *dup_or_null(const char *t) { return t ? strdup(t) : NULL; }

/* Deep copy of a listed alert (hits: rule ids and flags). */
static int copy_alert(rg_alert *dst, const rg_alert *src)
{
    *dst = *src;
    dst->decision_id = dup_or_null(src->decision_id);
    dst->event_id = dup_or_null(src->event_id);
    dst->subject = dup_or_null(src->subject);
    dst->event_type = dup_or_null(src->event_type);
    dst->actions = dup_or_null(src->actions);
    dst->ruleset = dup_or_null(src->ruleset);
    dst->status = dup_or_null(src->status);
    dst->label = dup_or_null(src->label);
    dst->note = dup_or_null(src->note);
    dst->labelled_by = dup_or_null(src->labelled_by);
    dst->resolved_by = dup_or_null(src->resolved_by);
    dst->assignee = dup_or_null(src->assignee);
    dst->party = dup_or_null(src->party);
    dst->object = dup_or_null(src->object);
    dst->decision_json = dst->event_json = dst->release_json = NULL;
    dst->hits = src->n_hits ? calloc(src->n_hits, sizeof *dst->hits) : NULL;
    dst->n_hits = dst->hits ? src->n_hits : 0;
    for (size_t i = 0; i < dst->n_hits; i++) {
        dst->hits[i].rule_id = dup_or_null(src->hits[i].rule_id);
        dst->hits[i].suppressed = src->hits[i].suppressed;
        if (!dst->hits[i].rule_id)
            return -1;
    }
    return dst->decision_id && dst->status && (dst->hits || !src->n_hits) ? 0 : -1;
}

static int collect_one(void *opaque, const rg_alert *a)
{
    collect_ctx *c = opaque;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        rg_alert *ni = realloc(c->items, ncap * sizeof *ni);
        if (!ni)
            return -2;
        c->items = ni;
        c->cap = ncap;
    }
    rg_alert *dst = &c->items[c->n++];
    if (copy_alert(dst, a) < 0)
        return -2;
    return 0;
}

int rg_alert_store_list(rg_alert_store *s, const rg_alert_filter *f, rg_alert **out, size_t *n,
                        char *errstr, size_t errstr_size)
{
    collect_ctx c = {0};
    int rc = rg_alert_store_scan(s, f, collect_one, &c, errstr, errstr_size);
    if (rc != 0) {
        if (rc == -2)
            snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        rg_alerts_free(c.items, c.n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    *out = c.items;
    *n = c.n;
    return 0;
}

/* Reasons and evidence from the stored decision's rules[] (matched by
 * rule id; a decision names each rule once). A decision that does not
 * parse leaves them NULL: show still prints what the columns hold. */
static int hit_details(rg_alert_store *s, rg_alert *a, char *errstr, size_t errstr_size)
{
    json_t *root = a->decision_json ? json_loads(a->decision_json, 0, NULL) : NULL;
    json_t *rules = json_object_get(root, "rules");
    int rc = 0;
    for (size_t i = 0; i < a->n_hits && rc == 0; i++) {
        size_t k;
        json_t *r;
        json_array_foreach(rules, k, r) {
            const char *id = json_string_value(json_object_get(r, "id"));
            if (!id || strcmp(id, a->hits[i].rule_id) != 0)
                continue;
            const char *reason = json_string_value(json_object_get(r, "reason"));
            json_t *ev = json_object_get(r, "evidence");
            if ((reason && !(a->hits[i].reason = strdup(reason))) ||
                (ev && !(a->hits[i].evidence_json = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY)))) {
                snprintf(errstr, errstr_size, "%s: out of memory", s->path);
                rc = -1;
            }
            break;
        }
    }
    json_decref(root);
    return rc;
}


int rg_alert_store_get(rg_alert_store *s, const char *decision_id, rg_alert *out, char *errstr,
                       size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT " ALERT_COLUMNS ", a.decision_json, a.event_json,"
           " (SELECT json FROM outbox o WHERE o.alert_id = a.id ORDER BY o.id LIMIT 1),"
           " (SELECT sent_ms FROM outbox o WHERE o.alert_id = a.id ORDER BY o.id LIMIT 1)"
           " FROM alerts a WHERE a.decision_id = ?1",
        errstr, errstr_size);
    sqlite3_stmt *hits = rg_alerts_prepare(
        s, "SELECT rule_id, suppressed FROM hits WHERE alert_id = ? ORDER BY position",
        errstr, errstr_size);
    int result = -1;
    if (!st || !hits)
        goto done;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rg_alerts_not_found(s, decision_id, errstr, errstr_size);
        result = 0;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "reading an alert", errstr, errstr_size);
        goto done;
    }
    int64_t id;
    if (read_alert(st, out, &id) < 0) {
        snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        goto done;
    }
    out->decision_json = rg_alerts_col_dup(st, ALERT_NCOLS);
    out->event_json = rg_alerts_col_dup(st, ALERT_NCOLS + 1);
    out->release_json = rg_alerts_col_dup(st, ALERT_NCOLS + 2);
    out->release_sent_ms = sqlite3_column_int64(st, ALERT_NCOLS + 3);
    if (read_hits(s, hits, id, out, errstr, errstr_size) < 0 ||
        hit_details(s, out, errstr, errstr_size) < 0)
        goto done;
    result = 1;
done:
    if (result != 1)
        rg_alert_clear(out);
    sqlite3_finalize(st);
    sqlite3_finalize(hits);
    return result;
}

