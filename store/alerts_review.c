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

/* Run a prepared, bound statement to completion; -1 with errstr on failure. */
static int step_done(rg_alert_store *s, sqlite3_stmt *st, const char *what, char *errstr,
                     size_t errstr_size)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, what, errstr, errstr_size);
        return -1;
    }
    return 0;
}

static int log_review(rg_alert_store *s, const char *decision_id, int64_t now_ms, const char *who,
                      const char *what, const char *note, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "INSERT INTO review_log (alert_id, at_ms, who, what, note)"
           " SELECT id, ?2, ?3, ?4, ?5 FROM alerts WHERE decision_id = ?1",
        errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, what, -1, SQLITE_STATIC);
    if (note)
        sqlite3_bind_text(st, 5, note, -1, SQLITE_STATIC);
    int rc = step_done(s, st, "writing the review log", errstr, errstr_size);
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
        result = step_done(s, ins, "queuing a release", errstr, errstr_size);
        *queued = result == 0 && sqlite3_changes(s->db) > 0;
    }
    sqlite3_finalize(ins);
    rg_strbuf_free(&json);
    rg_strbuf_free(&release_id);
done:
    sqlite3_finalize(st);
    return result;
}

int rg_alert_store_label(rg_alert_store *s, const char *decision_id, const char *label,
                         const char *note, const char *who, char *errstr, size_t errstr_size)
{
    if (!label || (strcmp(label, "fraud") != 0 && strcmp(label, "legit") != 0)) {
        snprintf(errstr, errstr_size, "label must be fraud or legit");
        return -1;
    }
    if (!who || !*who) {
        snprintf(errstr, errstr_size, "labelling needs the analyst's name");
        return -1;
    }
    if (begin_review(s, errstr, errstr_size) < 0)
        return -1;
    int64_t now_ms = rg_alert_now_ms();
    int result = -1;
    bool queued;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "UPDATE alerts SET label = ?2, note = coalesce(?3, note), labelled_by = ?4,"
           " labelled_ms = ?5 WHERE decision_id = ?1",
        errstr, errstr_size);
    if (!st)
        goto done;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, label, -1, SQLITE_STATIC);
    if (note)
        sqlite3_bind_text(st, 3, note, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now_ms);
    if (step_done(s, st, "labelling an alert", errstr, errstr_size) < 0)
        goto done;
    if (sqlite3_changes(s->db) == 0) {
        rg_alerts_not_found(s, decision_id, errstr, errstr_size);
        result = 0;
        goto done;
    }
    char what[16];
    snprintf(what, sizeof what, "label %s", label);
    if (log_review(s, decision_id, now_ms, who, what, note, errstr, errstr_size) < 0 ||
        maybe_queue_release(s, decision_id, now_ms, &queued, errstr, errstr_size) < 0)
        goto done;
    result = 1;
done:
    sqlite3_finalize(st);
    return end_review(s, result, errstr, errstr_size);
}

int rg_alert_store_resolve(rg_alert_store *s, const char *decision_id, const char *who,
                           bool *queued_release, char *errstr, size_t errstr_size)
{
    bool queued = false;
    if (queued_release)
        *queued_release = false;
    if (!who || !*who) {
        snprintf(errstr, errstr_size, "resolving needs the analyst's name");
        return -1;
    }
    if (begin_review(s, errstr, errstr_size) < 0)
        return -1;
    int64_t now_ms = rg_alert_now_ms();
    int result = -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "UPDATE alerts SET status = 'resolved', resolved_by = ?2, resolved_ms = ?3"
           " WHERE decision_id = ?1 AND status = 'open'",
        errstr, errstr_size);
    sqlite3_stmt *exists = rg_alerts_prepare(s, "SELECT 1 FROM alerts WHERE decision_id = ?1",
                                             errstr, errstr_size);
    if (!st || !exists)
        goto done;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    if (step_done(s, st, "resolving an alert", errstr, errstr_size) < 0)
        goto done;
    if (sqlite3_changes(s->db) == 0) {
        sqlite3_bind_text(exists, 1, decision_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(exists);
        if (rc == SQLITE_DONE) {
            rg_alerts_not_found(s, decision_id, errstr, errstr_size);
            result = 0;
        } else if (rc == SQLITE_ROW) {
            result = 1; /* already resolved: nothing changes */
        } else {
            rg_alerts_sql_error(s, "reading an alert", errstr, errstr_size);
        }
        goto done;
    }
    if (log_review(s, decision_id, now_ms, who, "resolve", NULL, errstr, errstr_size) < 0 ||
        maybe_queue_release(s, decision_id, now_ms, &queued, errstr, errstr_size) < 0)
        goto done;
    result = 1;
done:
    sqlite3_finalize(st);
    sqlite3_finalize(exists);
    result = end_review(s, result, errstr, errstr_size);
    if (queued_release)
        *queued_release = result == 1 && queued;
    return result;
}

/* ---- outbox ----------------------------------------------------------- */

void rg_outbox_items_free(rg_outbox_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].decision_id);
        free(items[i].subject);
        free(items[i].json);
    }
    free(items);
}

int rg_alert_store_outbox_pending(rg_alert_store *s, size_t max, rg_outbox_item **out, size_t *n,
                                  char *errstr, size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT id, decision_id, subject, json, created_ms FROM outbox"
           " WHERE sent_ms IS NULL ORDER BY id LIMIT ?1",
        errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, max ? (sqlite3_int64)max : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            rg_outbox_item *ni = realloc(*out, ncap * sizeof *ni);
            if (!ni)
                goto oom;
            *out = ni;
            cap = ncap;
        }
        rg_outbox_item *it = &(*out)[(*n)++];
        it->id = sqlite3_column_int64(st, 0);
        it->decision_id = rg_alerts_col_dup(st, 1);
        it->subject = rg_alerts_col_dup(st, 2);
        it->json = rg_alerts_col_dup(st, 3);
        it->created_ms = sqlite3_column_int64(st, 4);
        if (!it->decision_id || !it->subject || !it->json)
            goto oom;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "reading the outbox", errstr, errstr_size);
        goto fail;
    }
    return 0;
oom:
    sqlite3_finalize(st);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
fail:
    rg_outbox_items_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}

int rg_alert_store_outbox_mark_sent(rg_alert_store *s, int64_t id, char *errstr, size_t errstr_size)
{
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "UPDATE outbox SET sent_ms = ?2 WHERE id = ?1 AND sent_ms IS NULL", errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, rg_alert_now_ms());
    int rc = step_done(s, st, "marking an outbox item sent", errstr, errstr_size);
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    return sqlite3_changes(s->db) > 0 ? 1 : 0;
}
