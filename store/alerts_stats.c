/*
 * alerts_stats.c — per-rule figures: precision over every alert, alerts
 * and labels per rule and day (the rule_days table, kept by alerts.c and a
 * label trigger). Contracts in alerts.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts_internal.h"

void rg_rule_precision_free(rg_rule_precision *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].rule_id);
    free(p);
}

/* Per-rule counts come from rule_days (kept when alerts are stored and
 * labelled: alerts.c), so they cost a few rows per rule and day. */
int rg_alert_store_precision(rg_alert_store *s, rg_rule_precision **out, size_t *n, char *errstr,
                             size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    /* The open batch's hits are counted when it commits. */
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT rule_id, sum(alerts), sum(fraud) + sum(legit), sum(fraud), sum(legit)"
           " FROM rule_days GROUP BY rule_id HAVING sum(alerts) > 0 ORDER BY rule_id",
        errstr, errstr_size);
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!rg_alerts_grow(out, &cap, *n, sizeof **out))
            goto oom;
        rg_rule_precision *p = &(*out)[*n];
        p->rule_id = rg_alerts_col_dup(st, 0);
        if (!p->rule_id)
            goto oom;
        (*n)++;
        p->alerts = sqlite3_column_int64(st, 1);
        p->labelled = sqlite3_column_int64(st, 2);
        p->fraud = sqlite3_column_int64(st, 3);
        p->legit = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "computing precision", errstr, errstr_size);
        goto fail;
    }
    return 0;
oom:
    sqlite3_finalize(st);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
fail:
    rg_rule_precision_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}

void rg_rule_days_free(rg_rule_day *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        free(d[i].rule_id);
    free(d);
}

int rg_alert_store_rule_days(rg_alert_store *s, int64_t from_day, int64_t to_day, rg_rule_day **out,
                             size_t *n, int64_t *first_day, int64_t *last_day, char *errstr,
                             size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT rule_id, day, alerts, fraud, legit FROM rule_days WHERE day BETWEEN ?1 AND ?2"
           " AND alerts > 0 ORDER BY rule_id, day",
        errstr, errstr_size);
    sqlite3_stmt *last = st ? rg_alerts_prepare(s, "SELECT min(day), max(day) FROM rule_days WHERE alerts > 0",
                                                errstr, errstr_size) : NULL;
    if (!last) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_int64(st, 1, from_day);
    sqlite3_bind_int64(st, 2, to_day);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!rg_alerts_grow(out, &cap, *n, sizeof **out))
            goto oom;
        rg_rule_day *d = &(*out)[*n];
        if (!(d->rule_id = rg_alerts_col_dup(st, 0)))
            goto oom;
        (*n)++;
        d->day = sqlite3_column_int64(st, 1);
        d->alerts = sqlite3_column_int64(st, 2);
        d->fraud = sqlite3_column_int64(st, 3);
        d->legit = sqlite3_column_int64(st, 4);
    }
    if (rc == SQLITE_DONE && (first_day || last_day)) {
        rc = sqlite3_step(last);
        bool any = rc == SQLITE_ROW && sqlite3_column_type(last, 0) != SQLITE_NULL;
        if (first_day)
            *first_day = any ? sqlite3_column_int64(last, 0) : INT64_MIN;
        if (last_day)
            *last_day = any ? sqlite3_column_int64(last, 1) : INT64_MIN;
        rc = rc == SQLITE_ROW ? SQLITE_DONE : rc;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(last);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "reading hits per rule and day", errstr, errstr_size);
        rg_rule_days_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
oom:
    sqlite3_finalize(st);
    sqlite3_finalize(last);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
    rg_rule_days_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}
