/*
 * alerts.c — opening and closing the alert store (pragmas; the schema and
 * its migrations are in alerts_schema.c) and the helpers every part of it
 * shares. Writing alerts in batches (rg_alert_store_add): alerts_add.c
 * (the sink over it: alerts_sink.c). Reading: alerts_query.c,
 * alerts_plan.c, alerts_stats.c; review and history: alerts_review.c;
 * the outbox: alerts_outbox.c; JSON output: alerts_json.c.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/timeutil.h"
#include "../decisions/decision_id.h"
#include "../ingest/event.h"
#include "alerts_internal.h"

int64_t rg_alert_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void rg_alerts_sql_error(const rg_alert_store *s, const char *what, char *errstr, size_t errstr_size)
{
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s: %s: %s", s->path, what,
                 s->db ? sqlite3_errmsg(s->db) : "out of memory");
}

int rg_alerts_exec(rg_alert_store *s, const char *sql, char *errstr, size_t errstr_size)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        if (errstr && errstr_size)
            snprintf(errstr, errstr_size, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *rg_alerts_prepare(rg_alert_store *s, const char *sql, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        rg_alerts_sql_error(s, "preparing a statement", errstr, errstr_size);
        return NULL;
    }
    return st;
}

char *rg_alerts_col_dup(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? strdup((const char *)t) : NULL;
}

int rg_alerts_step_done(rg_alert_store *s, sqlite3_stmt *st, const char *what, char *errstr,
                        size_t errstr_size)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, what, errstr, errstr_size);
        return -1;
    }
    return 0;
}

bool rg_alerts_grow(void *items_ptr, size_t *cap, size_t n, size_t elem_size)
{
    void **items = items_ptr;
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *grown = realloc(*items, ncap * elem_size);
    if (!grown)
        return false;
    *items = grown;
    *cap = ncap;
    return true;
}

void rg_alerts_not_found(const rg_alert_store *s, const char *decision_id, char *errstr,
                         size_t errstr_size)
{
    if (rg_decision_id_parse(decision_id, strlen(decision_id), NULL, NULL))
        snprintf(errstr, errstr_size, "%s: no alert with id '%s'", s->path, decision_id);
    else
        snprintf(errstr, errstr_size,
                 "%s: no alert with id '%s' (an alert id is EVENT_ID/SUBJECT, with '/' and '%%'"
                 " inside either part written %%2F and %%25)", s->path, decision_id);
}

rg_alert_store *rg_alert_store_open(const char *path, rg_alert_open_mode mode, char *errstr,
                                    size_t errstr_size)
{
    rg_alert_store *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        snprintf(errstr, errstr_size, "%s: out of memory", path);
        free(s);
        return NULL;
    }
    s->batch_rows = RG_ALERT_BATCH_ROWS;
    s->batch_ms = RG_ALERT_BATCH_MS;

    int flags = SQLITE_OPEN_READWRITE | (mode == RG_ALERTS_CREATE ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (mode == RG_ALERTS_EXISTING && rc == SQLITE_CANTOPEN)
            snprintf(errstr, errstr_size, "%s: no such alert store (cannot open the file)", path);
        else
            rg_alerts_sql_error(s, "cannot open", errstr, errstr_size);
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* Wait for another process's write (a replay batch, a label) rather
     * than fail at once. */
    sqlite3_busy_timeout(s->db, 5000);

    /* WAL: readers (serve, alerts list) never block the writer. NORMAL
     * sync is durable at checkpoints and never corrupts; a power cut can
     * lose the last batches, which a replay or the stream re-delivers. */
    /* 16 KiB pages for a new file (ignored for an existing one): an alert
     * with its decision and event is about 1 KiB, and bigger pages mean
     * fewer writes per batch. Must come before the switch to WAL. */
    if (rg_alerts_exec(s, "PRAGMA page_size=16384", errstr, errstr_size) < 0)
        goto fail;
    sqlite3_stmt *st = rg_alerts_prepare(s, "PRAGMA journal_mode=WAL", errstr, errstr_size);
    if (!st)
        goto fail;
    rc = sqlite3_step(st);
    const char *jm = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    bool wal = jm && strcmp(jm, "wal") == 0;
    sqlite3_finalize(st);
    if (!wal) {
        if (rc == SQLITE_ROW)
            snprintf(errstr, errstr_size, "%s: cannot switch the alert store to WAL mode", path);
        else
            rg_alerts_sql_error(s, "not an alert store", errstr, errstr_size);
        goto fail;
    }
    /* 64 MiB of page cache: the unique decision_id and subject indexes are
     * written in random order, and with SQLite's default 2 MiB a million
     * alerts spend most of their time re-reading index pages. */
    if (rg_alerts_exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                          " PRAGMA cache_size=-65536", errstr, errstr_size) < 0)
        goto fail;
    if (rg_alerts_migrate(s, errstr, errstr_size) < 0)
        goto fail;

    s->insert_alert = rg_alerts_prepare(
        s,
        "INSERT INTO alerts (decision_id, event_id, subject, event_type, ts_ms, actions, ruleset,"
        " suppressed, decision_json, event_json, stored_ms, rules, party, object)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
        " ON CONFLICT (decision_id) DO NOTHING",
        errstr, errstr_size);
    s->insert_hit = s->insert_alert ? rg_alerts_prepare(
        s,
        "INSERT INTO hits (alert_id, position, rule_id, suppressed) VALUES (?1, ?2, ?3, ?4)",
        errstr, errstr_size) : NULL;
    s->insert_subject = s->insert_hit ? rg_alerts_prepare(
        s, "INSERT OR IGNORE INTO subjects (name) VALUES (?1)", errstr, errstr_size) : NULL;
    s->insert_subject_fts = s->insert_subject ? rg_alerts_prepare(
        s, "INSERT INTO subjects_fts (rowid, name) VALUES (?1, ?2)", errstr, errstr_size) : NULL;
    s->add_rule_day = s->insert_subject_fts ? rg_alerts_prepare(
        s, "INSERT INTO rule_days (rule_id, day, alerts) VALUES (?1, ?2, ?3)"
           " ON CONFLICT (rule_id, day) DO UPDATE SET alerts = alerts + excluded.alerts",
        errstr, errstr_size) : NULL;
    if (!s->add_rule_day)
        goto fail;
    return s;
fail:
    rg_alert_store_close(s, NULL, 0);
    return NULL;
}

int rg_alert_store_close(rg_alert_store *s, char *errstr, size_t errstr_size)
{
    if (!s)
        return 0;
    int rc = 0;
    if (s->db && s->in_batch)
        rc = rg_alert_store_flush(s, errstr, errstr_size);
    sqlite3_finalize(s->insert_alert);
    sqlite3_finalize(s->insert_hit);
    sqlite3_finalize(s->insert_subject);
    sqlite3_finalize(s->insert_subject_fts);
    sqlite3_finalize(s->add_rule_day);
    rg_alerts_clear_rule_days(s);
    free(s->days);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
    return rc;
}

void rg_alert_store_set_batch(rg_alert_store *s, size_t batch_rows, int64_t batch_ms)
{
    if (batch_rows)
        s->batch_rows = batch_rows;
    if (batch_ms)
        s->batch_ms = batch_ms;
}

void rg_alert_store_set_busy_timeout(rg_alert_store *s, int timeout_ms)
{
    sqlite3_busy_timeout(s->db, timeout_ms);
}

int rg_alert_store_schema_version(const rg_alert_store *s) { return s->schema_version; }

const char *rg_alert_store_last_error(const rg_alert_store *s) { return s->last_error; }
