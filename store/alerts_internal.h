/*
 * alerts_internal — what the store's .c files share (store/alerts*.c
 * only; nothing outside store/ includes this). The handle's fields, the
 * error helper and the transaction helpers live here so alerts.c (open,
 * schema, writing) and alerts_review.c (reading, review, outbox) agree.
 */
#ifndef RG_ALERTS_INTERNAL_H
#define RG_ALERTS_INTERNAL_H

#include <sqlite3.h>

#include "alerts.h"

/* SQL for the UTC day number of an epoch-ms expression (floor division,
 * right for times before 1970 too): the rule_days key. */
#define RG_SQL_DAY(ts) "((" ts " - ((" ts " % 86400000) + 86400000) % 86400000) / 86400000)"

struct rg_alert_store {
    sqlite3 *db;
    char *path;
    int schema_version;

    /* Batching (alerts.c). */
    bool in_batch;
    size_t batch_rows;          /* commit after this many adds */
    int64_t batch_ms;           /* ... or when a batch is older than this */
    size_t batch_count;         /* adds in the open batch */
    int64_t batch_started_ms;   /* monotonic */
    uint64_t commits;           /* batches committed: the sink acknowledges by it (alerts_sink.c) */

    /* Prepared once, reused for every add. */
    sqlite3_stmt *insert_alert;
    sqlite3_stmt *insert_hit;
    sqlite3_stmt *insert_subject;       /* the search dictionary (subjects, subjects_fts) */
    sqlite3_stmt *insert_subject_fts;
    sqlite3_stmt *add_rule_day;

    /* Hits of the open batch per (rule, day), added to rule_days when the
     * batch commits: one row update per rule and day instead of one per
     * hit. Few entries (rules x days of a batch): a plain array. */
    struct rg_rule_day_count {
        char *rule_id;
        int64_t day;
        int64_t alerts;
    } *days;
    size_t n_days, cap_days;

    char last_error[512];       /* the sink's last failure */
};

/* Bring the open file to RG_ALERT_SCHEMA_VERSION (alerts_schema.c): each
 * missing migration in its own transaction; a newer file is refused. */
int rg_alerts_migrate(rg_alert_store *s, char *errstr, size_t errstr_size);

/* Fill errstr with "PATH: what: sqlite's message". */
void rg_alerts_sql_error(const rg_alert_store *s, const char *what, char *errstr, size_t errstr_size);

/* Run one statement without results (BEGIN, COMMIT, pragmas, DDL). */
int rg_alerts_exec(rg_alert_store *s, const char *sql, char *errstr, size_t errstr_size);

/* Step a prepared, bound statement that returns nothing (or one row);
 * -1 with "PATH: what: sqlite's message" on failure. */
int rg_alerts_step_done(rg_alert_store *s, sqlite3_stmt *st, const char *what, char *errstr,
                        size_t errstr_size);

/* Prepare sql (fills errstr on failure). */
sqlite3_stmt *rg_alerts_prepare(rg_alert_store *s, const char *sql, char *errstr, size_t errstr_size);

/* errstr = "PATH: no alert with id 'ID'". */
void rg_alerts_not_found(const rg_alert_store *s, const char *decision_id, char *errstr,
                         size_t errstr_size);

/* malloc'd copy of a text column, NULL for SQL NULL (or out of memory). */
char *rg_alerts_col_dup(sqlite3_stmt *st, int col);

/* Room for one more element in a growing array (doubling); false on OOM
 * (the array is left as it was). */
bool rg_alerts_grow(void *items_ptr, size_t *cap, size_t n, size_t elem_size);

/* Forget the open batch's per-rule, per-day hit counts (alerts_add.c;
 * also on close and after a rolled-back batch). */
void rg_alerts_clear_rule_days(rg_alert_store *s);

/* The list query for f (alerts_plan.c): SELECT columns FROM alerts a ...
 * WHERE ... ORDER BY ... LIMIT/OFFSET, prepared and bound. NULL with
 * errstr on failure. The statement refers to f's strings: keep f alive
 * while stepping it. */
sqlite3_stmt *rg_alerts_prepare_list(rg_alert_store *s, const rg_alert_filter *f, const char *columns,
                                     char *errstr, size_t errstr_size);

#endif
