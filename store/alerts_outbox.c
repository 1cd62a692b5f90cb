/*
 * alerts_outbox.c — the release outbox as streaming and the analysts read
 * it: what is queued, marking a delivered release sent, every release
 * (contracts in alerts.h; releases are queued by alerts_review.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_internal.h"

void rg_outbox_items_free(rg_outbox_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].decision_id);
        free(items[i].subject);
        free(items[i].json);
        free(items[i].alert_id);
    }
    free(items);
}

/* Rows of an outbox query with ?1 = the row limit: id, decision_id,
 * subject, json, created_ms, then (listing) sent_ms, the alert's id and
 * the count of all rows. */
static int read_outbox(rg_alert_store *s, const char *sql, size_t max, bool listing, rg_outbox_item **out,
                       size_t *n, int64_t *total, char *errstr, size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    if (total)
        *total = 0;
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(s, sql, errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, max ? (sqlite3_int64)max : -1);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!rg_alerts_grow(out, &cap, *n, sizeof **out))
            goto oom;
        rg_outbox_item *it = &(*out)[(*n)++];
        memset(it, 0, sizeof *it);
        it->id = sqlite3_column_int64(st, 0);
        it->decision_id = rg_alerts_col_dup(st, 1);
        it->subject = rg_alerts_col_dup(st, 2);
        it->json = rg_alerts_col_dup(st, 3);
        it->created_ms = sqlite3_column_int64(st, 4);
        if (listing) {
            it->sent_ms = sqlite3_column_int64(st, 5);
            it->alert_id = rg_alerts_col_dup(st, 6);
            if (total)
                *total = sqlite3_column_int64(st, 7);
        }
        if (!it->decision_id || !it->subject || !it->json || (listing && !it->alert_id))
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

int rg_alert_store_outbox_pending(rg_alert_store *s, size_t max, rg_outbox_item **out, size_t *n,
                                  char *errstr, size_t errstr_size)
{
    return read_outbox(s, "SELECT id, decision_id, subject, json, created_ms FROM outbox"
                          " WHERE sent_ms IS NULL ORDER BY id LIMIT ?1",
                       max, false, out, n, NULL, errstr, errstr_size);
}

int rg_alert_store_outbox_list(rg_alert_store *s, size_t max, rg_outbox_item **out, size_t *n,
                               int64_t *total, char *errstr, size_t errstr_size)
{
    return read_outbox(s, "SELECT o.id, o.decision_id, o.subject, o.json, o.created_ms, o.sent_ms,"
                          " a.decision_id, (SELECT count(*) FROM outbox)"
                          " FROM outbox o JOIN alerts a ON a.id = o.alert_id ORDER BY o.id DESC LIMIT ?1",
                       max, true, out, n, total, errstr, errstr_size);
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
    int rc = rg_alerts_step_done(s, st, "marking an outbox item sent", errstr, errstr_size);
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    return sqlite3_changes(s->db) > 0 ? 1 : 0;
}
