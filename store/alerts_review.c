/*
 * alerts_review.c — the analyst's side of the alert store: label, resolve
 * (and the release decision it may queue), and the outbox that streaming
 * drains. Contracts in alerts.h. Every value reaches SQL as a bound
 * parameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../common/timeutil.h"
#include "alerts_internal.h"

/* ---- review ----------------------------------------------------------- */

/* A review change runs in its own transaction, after any open batch. */
static int begin_review(rg_alert_store *s, char *errstr, size_t errstr_size)
{
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    return rg_alerts_exec(s, "BEGIN IMMEDIATE", errstr, errstr_size);
}

static int end_review(rg_alert_store *s, int result, char *errstr, size_t errstr_size)
{
    if (result < 0 || result == 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return result;
    }
    if (rg_alerts_exec(s, "COMMIT", errstr, errstr_size) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return result;
}

static int log_review(rg_alert_store *s, int64_t alert_id, int64_t now_ms, const char *who,
                      const char *what, const char *value, const char *note, char *errstr,
                      size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "INSERT INTO review_log (alert_id, at_ms, who, what, value, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, alert_id);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, what, -1, SQLITE_STATIC);
    if (value)
        sqlite3_bind_text(st, 5, value, -1, SQLITE_STATIC);
    if (note)
        sqlite3_bind_text(st, 6, note, -1, SQLITE_STATIC);
    int rc = rg_alerts_step_done(s, st, "writing the review history", errstr, errstr_size);
    sqlite3_finalize(st);
    return rc;
}

static bool has_action(const char *actions, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = actions; (p = strstr(p, name)) != NULL; p += n) {
        if ((p == actions || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
            return true;
    }
    return false;
}

/* The release decision for a resolved-legit frozen alert (docs/review.md). */
static void release_json(sqlite3_stmt *st, int64_t now_ms, rg_strbuf *out)
{
    const char *alert_id = (const char *)sqlite3_column_text(st, 1);
    const char *event_id = (const char *)sqlite3_column_text(st, 2);
    const char *subject = (const char *)sqlite3_column_text(st, 3);
    const char *event_type = (const char *)sqlite3_column_text(st, 4);
    const char *ruleset = (const char *)sqlite3_column_text(st, 5);
    const char *labelled_by = (const char *)sqlite3_column_text(st, 8);
    const char *resolved_by = (const char *)sqlite3_column_text(st, 9);
    const char *note = (const char *)sqlite3_column_text(st, 10);
    rg_strbuf_puts(out, "{\"decision_id\":");
    rg_strbuf reason = RG_STRBUF_INIT;
    rg_alert_release_id(alert_id, &reason);
    rg_strbuf_put_json_str(out, reason.data, reason.len);
    rg_strbuf_puts(out, ",\"event_id\":");
    rg_strbuf_put_json_str(out, event_id, strlen(event_id));
    rg_strbuf_puts(out, ",\"event_type\":");
    rg_strbuf_put_json_str(out, event_type, strlen(event_type));
    rg_strbuf_puts(out, ",\"subject\":");
    rg_strbuf_put_json_str(out, subject, strlen(subject));
    rg_strbuf_puts(out, ",\"actions\":[\"release\"],\"rules\":[{\"id\":\"analyst_release\",\"reason\":");
    rg_strbuf_reset(&reason);
    rg_strbuf_printf(&reason, "alert %s resolved as legit by %s", alert_id, resolved_by);
    rg_strbuf_put_json_str(out, reason.data, reason.len);
    rg_strbuf_puts(out, ",\"evidence\":{\"alert_id\":");
    rg_strbuf_put_json_str(out, alert_id, strlen(alert_id));
    rg_strbuf_puts(out, ",\"label\":\"legit\",\"labelled_by\":");
    rg_strbuf_put_json_str(out, labelled_by, strlen(labelled_by));
    rg_strbuf_puts(out, ",\"resolved_by\":");
    rg_strbuf_put_json_str(out, resolved_by, strlen(resolved_by));
    if (note) {
        rg_strbuf_puts(out, ",\"note\":");
        rg_strbuf_put_json_str(out, note, strlen(note));
    }
    rg_strbuf_puts(out, "}}],\"ts\":");
    char ts[32];
    rg_format_utc_ms(now_ms, ts, sizeof ts);
    rg_strbuf_put_json_str(out, ts, strlen(ts));
    rg_strbuf_puts(out, ",\"ruleset\":");
    rg_strbuf_put_json_str(out, ruleset, strlen(ruleset));
    rg_strbuf_putc(out, '}');
    rg_strbuf_free(&reason);
}

/* Queue the release when the alert is now frozen + resolved + legit. */
static int maybe_queue_release(rg_alert_store *s, const char *decision_id, int64_t now_ms,
                               bool *queued, char *errstr, size_t errstr_size)
{
    *queued = false;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT id, decision_id, event_id, subject, event_type, ruleset, actions, status,"
           " labelled_by, resolved_by, note, label FROM alerts WHERE decision_id = ?1",
        errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int result = -1;
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "reading an alert", errstr, errstr_size);
        goto done;
    }
    const char *actions = (const char *)sqlite3_column_text(st, 6);
    const char *status = (const char *)sqlite3_column_text(st, 7);
    const char *label = (const char *)sqlite3_column_text(st, 11);
    result = 0;
    if (!actions || !has_action(actions, "freeze") || !status || strcmp(status, "resolved") != 0 ||
        !label || strcmp(label, "legit") != 0)
        goto done;

    rg_strbuf json = RG_STRBUF_INIT;
    release_json(st, now_ms, &json);
    rg_strbuf release_id = RG_STRBUF_INIT;
    rg_alert_release_id((const char *)sqlite3_column_text(st, 1), &release_id);
    sqlite3_stmt *ins = rg_alerts_prepare(
        s, "INSERT INTO outbox (decision_id, alert_id, subject, json, created_ms)"
           " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (decision_id) DO NOTHING",
        errstr, errstr_size);
    if (!ins || !rg_strbuf_ok(&json) || !rg_strbuf_ok(&release_id)) {
        if (ins)
            snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        result = -1;
    } else {
        sqlite3_bind_text(ins, 1, release_id.data, (int)release_id.len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 2, sqlite3_column_int64(st, 0));
        sqlite3_bind_text(ins, 3, (const char *)sqlite3_column_text(st, 3), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, json.data, (int)json.len, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, now_ms);
        result = rg_alerts_step_done(s, ins, "queuing a release", errstr, errstr_size);
        *queued = result == 0 && sqlite3_changes(s->db) > 0;
    }
    sqlite3_finalize(ins);
    rg_strbuf_free(&json);
    rg_strbuf_free(&release_id);
done:
    sqlite3_finalize(st);
    return result;
}

const char *rg_role_name(rg_role r) { return r == RG_ROLE_ANALYST ? "analyst" : "lead"; }

int rg_role_from_name(const char *name)
{
    if (name && strcmp(name, "lead") == 0)
        return RG_ROLE_LEAD;
    if (name && strcmp(name, "analyst") == 0)
        return RG_ROLE_ANALYST;
    return -1;
}

bool rg_alert_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > RG_ALERT_NAME_MAX || strcmp(name, "none") == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

/* The columns one review step needs, read inside its transaction. */
typedef struct review_row {
    int64_t id;
    bool resolved;
    char *assignee;
} review_row;

static int read_review_row(rg_alert_store *s, sqlite3_stmt *st, const char *decision_id, review_row *r,
                           char *errstr, size_t errstr_size)
{
    sqlite3_reset(st);
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "reading an alert", errstr, errstr_size);
        return -1;
    }
    r->id = sqlite3_column_int64(st, 0);
    r->resolved = strcmp((const char *)sqlite3_column_text(st, 1), "resolved") == 0;
    r->assignee = rg_alerts_col_dup(st, 2);
    sqlite3_reset(st);
    return 1;
}

/* Run an UPDATE with ?1 = the alert's id, ?2 = now and up to three texts
 * ?3..?5 (a statement without some of them leaves those binds unused). */
static int update_alert(rg_alert_store *s, const char *sql, int64_t id, int64_t now_ms, const char *t1,
                        const char *t2, const char *t3, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(s, sql, errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    const char *t[3] = {t1, t2, t3};
    for (int i = 0; i < 3; i++)
        if (t[i])
            sqlite3_bind_text(st, 3 + i, t[i], -1, SQLITE_STATIC);
    int rc = rg_alerts_step_done(s, st, "changing an alert", errstr, errstr_size);
    sqlite3_finalize(st);
    return rc;
}

/* Whether op->role may do op to an alert in state r (why: when not). */
static const char *forbidden(const rg_review_op *op, const review_row *r)
{
    if (op->role == RG_ROLE_LEAD)
        return NULL;
    if (op->action == RG_REVIEW_REOPEN)
        return "only a lead may reopen an alert";
    if (op->action != RG_REVIEW_ASSIGN)
        return NULL;
    if (op->assignee && strcmp(op->assignee, op->who) != 0)
        return "an analyst may assign an alert only to themselves";
    if (r->assignee && strcmp(r->assignee, op->who) != 0)
        return "assigned to someone else: only a lead may reassign it";
    return NULL;
}

/* One alert of a review call, inside its transaction. */
static int review_one(rg_alert_store *s, sqlite3_stmt *row_st, const rg_review_op *op, const char *id,
                      int64_t now_ms, rg_review_result *res, char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof *res);
    review_row r = {0};
    int found = read_review_row(s, row_st, id, &r, errstr, errstr_size);
    if (found <= 0) {
        res->outcome = RG_REVIEW_NOT_FOUND;
        return found;
    }
    int rc = 0;
    const char *why = forbidden(op, &r);
    if (why) {
        res->outcome = RG_REVIEW_FORBIDDEN;
        res->why = why;
        goto done;
    }
    switch (op->action) {
    case RG_REVIEW_LABEL:
        rc = update_alert(s, "UPDATE alerts SET label = ?3, note = coalesce(?4, note), labelled_by = ?5,"
                             " labelled_ms = ?2 WHERE id = ?1",
                          r.id, now_ms, op->label, op->note, op->who, errstr, errstr_size);
        if (rc == 0)
            rc = log_review(s, r.id, now_ms, op->who, "label", op->label, op->note, errstr, errstr_size);
        break;
    case RG_REVIEW_RESOLVE:
    case RG_REVIEW_REOPEN: {
        bool resolve = op->action == RG_REVIEW_RESOLVE;
        if (r.resolved == resolve) {
            res->outcome = RG_REVIEW_UNCHANGED;
            res->why = resolve ? "already resolved" : "already open";
            goto done;
        }
        rc = update_alert(s, resolve ? "UPDATE alerts SET status = 'resolved', resolved_by = ?3,"
                                       " resolved_ms = ?2 WHERE id = ?1"
                                     : "UPDATE alerts SET status = 'open', resolved_by = NULL,"
                                       " resolved_ms = NULL WHERE id = ?1",
                          r.id, now_ms, resolve ? op->who : NULL, NULL, NULL, errstr, errstr_size);
        if (rc == 0)
            rc = log_review(s, r.id, now_ms, op->who, resolve ? "resolve" : "reopen", NULL, NULL, errstr,
                            errstr_size);
        break;
    }
    case RG_REVIEW_ASSIGN:
        if ((!r.assignee && !op->assignee) || (r.assignee && op->assignee && strcmp(r.assignee, op->assignee) == 0)) {
            res->outcome = RG_REVIEW_UNCHANGED;
            res->why = op->assignee ? "already assigned so" : "not assigned";
            goto done;
        }
        rc = update_alert(s, op->assignee ? "UPDATE alerts SET assignee = ?3, assigned_ms = ?2 WHERE id = ?1"
                                          : "UPDATE alerts SET assignee = NULL, assigned_ms = NULL"
                                            " WHERE id = ?1",
                          r.id, now_ms, op->assignee, NULL, NULL, errstr, errstr_size);
        if (rc == 0)
            rc = log_review(s, r.id, now_ms, op->who, op->assignee ? "assign" : "unassign", op->assignee,
                            NULL, errstr, errstr_size);
        break;
    }
    if (rc == 0 && (op->action == RG_REVIEW_LABEL || op->action == RG_REVIEW_RESOLVE))
        rc = maybe_queue_release(s, id, now_ms, &res->release_queued, errstr, errstr_size);
    res->outcome = RG_REVIEW_DONE;
done:
    free(r.assignee);
    return rc < 0 ? -1 : 1;
}

static int check_op(const rg_review_op *op, size_t n, char *errstr, size_t errstr_size)
{
    if (!op->who || !*op->who)
        snprintf(errstr, errstr_size, "a review change needs the analyst's name");
    else if (n > RG_REVIEW_MAX_IDS)
        snprintf(errstr, errstr_size, "at most %d alerts at once", RG_REVIEW_MAX_IDS);
    else if (op->action == RG_REVIEW_LABEL &&
             (!op->label || (strcmp(op->label, "fraud") != 0 && strcmp(op->label, "legit") != 0)))
        snprintf(errstr, errstr_size, "label must be fraud or legit");
    else if (op->action == RG_REVIEW_ASSIGN && op->assignee && !rg_alert_name_valid(op->assignee))
        snprintf(errstr, errstr_size,
                 "not a name: '%.80s' (1-%d characters of A-Z a-z 0-9 . _ @ -, not 'none')",
                 op->assignee, RG_ALERT_NAME_MAX);
    else if (op->action > RG_REVIEW_ASSIGN)
        snprintf(errstr, errstr_size, "unknown review action");
    else
        return 0;
    return -1;
}

int rg_alert_store_review(rg_alert_store *s, const rg_review_op *op, const char *const *ids, size_t n,
                          rg_review_result *results, char *errstr, size_t errstr_size)
{
    if (check_op(op, n, errstr, errstr_size) < 0)
        return -1;
    if (begin_review(s, errstr, errstr_size) < 0)
        return -1;
    int64_t now_ms = rg_alert_now_ms();
    int result = -1;
    sqlite3_stmt *row_st = rg_alerts_prepare(
        s, "SELECT id, status, assignee FROM alerts WHERE decision_id = ?1", errstr, errstr_size);
    if (row_st) {
        result = 1;
        for (size_t i = 0; i < n && result == 1; i++)
            result = review_one(s, row_st, op, ids[i], now_ms, &results[i], errstr, errstr_size) < 0 ? -1 : 1;
    }
    sqlite3_finalize(row_st);
    if (end_review(s, result, errstr, errstr_size) < 0)
        return -1;
    return 0;
}

/* The first-round calls, as a lead, on one alert. */
static int review_single(rg_alert_store *s, const rg_review_op *op, const char *decision_id,
                         bool *queued, char *errstr, size_t errstr_size)
{
    rg_review_result res;
    if (rg_alert_store_review(s, op, &decision_id, 1, &res, errstr, errstr_size) < 0)
        return -1;
    if (queued)
        *queued = res.release_queued;
    if (res.outcome == RG_REVIEW_NOT_FOUND) {
        rg_alerts_not_found(s, decision_id, errstr, errstr_size);
        return 0;
    }
    return 1;
}

int rg_alert_store_label(rg_alert_store *s, const char *decision_id, const char *label,
                         const char *note, const char *who, char *errstr, size_t errstr_size)
{
    rg_review_op op = {.action = RG_REVIEW_LABEL, .label = label, .note = note, .who = who};
    return review_single(s, &op, decision_id, NULL, errstr, errstr_size);
}

int rg_alert_store_resolve(rg_alert_store *s, const char *decision_id, const char *who,
                           bool *queued_release, char *errstr, size_t errstr_size)
{
    if (queued_release)
        *queued_release = false;
    rg_review_op op = {.action = RG_REVIEW_RESOLVE, .who = who};
    return review_single(s, &op, decision_id, queued_release, errstr, errstr_size);
}

/* ---- history ---------------------------------------------------------- */

void rg_alert_changes_free(rg_alert_change *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].who);
        free(c[i].what);
        free(c[i].value);
        free(c[i].note);
    }
    free(c);
}

int rg_alert_store_history(rg_alert_store *s, const char *decision_id, rg_alert_change **out,
                           size_t *n, char *errstr, size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT a.id, l.at_ms, l.who, l.what, l.value, l.note FROM alerts a"
           " LEFT JOIN review_log l ON l.alert_id = a.id WHERE a.decision_id = ?1 ORDER BY l.id",
        errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    size_t cap = 0;
    bool found = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        found = true;
        if (sqlite3_column_type(st, 3) == SQLITE_NULL)
            continue; /* the alert, no change yet */
        if (!rg_alerts_grow(out, &cap, *n, sizeof **out))
            goto oom;
        rg_alert_change *c = &(*out)[(*n)++];
        memset(c, 0, sizeof *c);
        c->at_ms = sqlite3_column_int64(st, 1);
        c->who = rg_alerts_col_dup(st, 2);
        c->what = rg_alerts_col_dup(st, 3);
        c->value = rg_alerts_col_dup(st, 4);
        c->note = rg_alerts_col_dup(st, 5);
        if (!c->who || !c->what)
            goto oom;
        /* Rows written before schema 3 hold "label fraud" in `what`. */
        if (!c->value && strncmp(c->what, "label ", 6) == 0) {
            c->value = strdup(c->what + 6);
            c->what[5] = '\0';
            if (!c->value)
                goto oom;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "reading an alert's history", errstr, errstr_size);
        goto fail;
    }
    if (!found) {
        rg_alerts_not_found(s, decision_id, errstr, errstr_size);
        return 0;
    }
    return 1;
oom:
    sqlite3_finalize(st);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
fail:
    rg_alert_changes_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}

