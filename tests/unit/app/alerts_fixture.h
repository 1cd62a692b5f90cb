/*
 * alerts_fixture — decisions for the alert store tests (test_alerts_*.c,
 * test_serve_*.c): builds an rg_decision the way the engine hands one to
 * its sinks, without needing a rule file or an engine. Header-only, so
 * every test program includes its own copy (tests link rg_app only).
 */
#ifndef RG_TEST_ALERTS_FIXTURE_H
#define RG_TEST_ALERTS_FIXTURE_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/timeutil.h"
#include "decisions/decision_id.h"
#include "decisions/engine.h"
#include "store/alerts.h"

/* Rules by id; only `id` matters to the store. */
static const rg_rule FIX_RULES[] = {
    {.id = "large_transfer", .index = 0},
    {.id = "new_account_mule", .index = 1},
    {.id = "recall_burst", .index = 2},
    {.id = "clock_tamper", .index = 3},
};

static inline const rg_rule *fix_rule(const char *id)
{
    for (size_t i = 0; i < sizeof FIX_RULES / sizeof FIX_RULES[0]; i++)
        if (strcmp(FIX_RULES[i].id, id) == 0)
            return &FIX_RULES[i];
    return NULL;
}

/* Storage behind one fixture decision. */
typedef struct fix_decision {
    rg_decision d;
    rg_decision_hit hits[4];
    char id[160];
    char json[2048];
    char raw[512];
} fix_decision;

/*
 * A decision for event `event_id` at ts_ms on `subject` by rules
 * "a,b" (comma-separated ids of FIX_RULES) with actions mask `actions`.
 */
static inline void fix_make(fix_decision *f, const char *event_id, const char *subject, int64_t ts_ms,
                     const char *rules, unsigned actions)
{
    memset(f, 0, sizeof *f);
    rg_strbuf idb = RG_STRBUF_INIT;
    rg_decision_id_put(&idb, event_id, strlen(event_id), subject, strlen(subject));
    snprintf(f->id, sizeof f->id, "%s", idb.data);
    rg_strbuf_free(&idb);
    char ts[32];
    rg_format_utc_ms(ts_ms, ts, sizeof ts);
    rg_strbuf j = RG_STRBUF_INIT;
    rg_strbuf_printf(&j, "{\"decision_id\":\"%s\",\"event_id\":\"%s\",\"event_type\":\"transfer\","
                         "\"subject\":\"%s\",\"actions\":[", f->id, event_id, subject);
    static const char *const names[] = {"freeze", "face_verify", "review", "release"};
    bool first = true;
    for (int a = 0; a < RG_ACT_COUNT; a++)
        if (actions & RG_ACT_BIT(a)) {
            rg_strbuf_printf(&j, "%s\"%s\"", first ? "" : ",", names[a]);
            first = false;
        }
    rg_strbuf_puts(&j, "],\"rules\":[");
    char copy[128];
    snprintf(copy, sizeof copy, "%s", rules);
    size_t n = 0;
    for (char *r = strtok(copy, ","); r && n < 4; r = strtok(NULL, ","), n++) {
        f->hits[n].rule = fix_rule(r);
        f->hits[n].rule_id = f->hits[n].rule->id;
        rg_strbuf_printf(&j, "%s{\"id\":\"%s\",\"reason\":\"%s fired on %s\","
                             "\"evidence\":{\"amount\":%zu,\"who\":\"%s\"}}",
                         n ? "," : "", r, r, event_id, 1000 * (n + 1), subject);
    }
    rg_strbuf_printf(&j, "],\"ts\":\"%s\",\"ruleset\":\"abc123def456\"}", ts);
    snprintf(f->json, sizeof f->json, "%s", j.data);
    rg_strbuf_free(&j);
    snprintf(f->raw, sizeof f->raw,
             "{\"event_id\":\"%s\",\"type\":\"transfer\",\"ts\":\"%s\",\"account\":\"%s\","
             "\"amount\":6000000,\"counterparty\":\"u-9\"}", event_id, ts, subject);
    f->d = (rg_decision){
        .decision_id = f->id, .event_id = event_id, .subject = subject,
        .event_type = RG_EV_TRANSFER, .ts_ms = ts_ms, .actions = actions,
        .hits = f->hits, .n_hits = n, .ruleset = "abc123def456",
        .json = f->json, .json_len = strlen(f->json),
        .event_raw = f->raw, .event_raw_len = strlen(f->raw), .emit = true,
    };
}

/* A fresh temporary database path (the file does not exist yet). */
static inline void fix_db_path(char *path, size_t size, const char *tag)
{
    const char *dir = getenv("RG_TEST_BUILD");
    snprintf(path, size, "%s/%s-%ld.db", dir && *dir ? dir : "/tmp", tag, (long)getpid());
    char side[1200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static inline void fix_db_remove(const char *path)
{
    char side[1200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    snprintf(side, sizeof side, "%s.token", path);
    unlink(side);
}

#define FIX_T0 INT64_C(1795358265123) /* 2026-11-22T14:37:45.123Z */

/* One integer from a side connection: what another process sees. -1 when
 * the query fails or returns no row. */
static inline int64_t fix_side_query(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Five alerts, two subjects, every rule (the list/precision fixtures):
 *   e-1/u-1 large_transfer                 face_verify  T0
 *   e-2/u-2 new_account_mule,large_transfer freeze+fv   T0+1s
 *   e-3/u-1 recall_burst                   freeze       T0+2s
 *   e-4/u-2 clock_tamper                   review       T0+3s
 *   e-5/u-1 large_transfer                 face_verify  T0+4s  */
static inline int fix_fill(rg_alert_store *s)
{
    static const struct { const char *ev, *subj, *rules; unsigned act; } rows[] = {
        {"e-1", "u-1", "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY)},
        {"e-2", "u-2", "new_account_mule,large_transfer",
         RG_ACT_BIT(RG_ACT_FREEZE) | RG_ACT_BIT(RG_ACT_FACE_VERIFY)},
        {"e-3", "u-1", "recall_burst", RG_ACT_BIT(RG_ACT_FREEZE)},
        {"e-4", "u-2", "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW)},
        {"e-5", "u-1", "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY)},
    };
    char err[512];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fix_decision f;
        fix_make(&f, rows[i].ev, rows[i].subj, FIX_T0 + (int64_t)i * 1000, rows[i].rules, rows[i].act);
        if (rg_alert_store_add(s, &f.d, err, sizeof err) != 1) {
            fprintf(stderr, "fix_fill: %s\n", err);
            return -1;
        }
    }
    return rg_alert_store_flush(s, err, sizeof err);
}

#endif
