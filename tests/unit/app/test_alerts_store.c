/* Unit tests for store/alerts*.c: schema and migrations, adding decisions
 * (dedupe, batching, the sink), listing with filters, label/resolve and
 * the release outbox, per-rule precision, JSON output. Schema 3's review
 * features: test_alerts_review.c (migration, history, users) and
 * test_alerts_review_lists.c (filters, search, counts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "alerts_fixture.h"

#define RG_STR_(x) #x
#define RG_STR(x) RG_STR_(x)

typedef struct ctx {
    char path[512];
    rg_alert_store *s;
    char err[512];
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    fix_db_path(c->path, sizeof c->path, "alerts-store");
    c->s = rg_alert_store_open(c->path, RG_ALERTS_CREATE, c->err, sizeof c->err);
    if (!c->s) {
        fprintf(stderr, "%s\n", c->err);
        free(c);
        return -1;
    }
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    rg_alert_store_close(c->s, NULL, 0);
    fix_db_remove(c->path);
    free(c);
    return 0;
}

/* One integer from a side connection (what another process sees). */

static void side_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_schema_wal_and_version(void **state)
{
    ctx *c = *state;
    assert_int_equal(rg_alert_store_schema_version(c->s), RG_ALERT_SCHEMA_VERSION);
    assert_int_equal(fix_side_query(c->path, "PRAGMA user_version"), RG_ALERT_SCHEMA_VERSION);
    /* WAL is persistent: a fresh connection sees it. */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    /* The indexes the queries rely on exist. */
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                         " AND name IN ('alerts_queue', 'alerts_status_ts',"
                                         " 'alerts_subject_ts', 'hits_rule', 'outbox_unsent',"
                                         " 'alerts_label_ts', 'alerts_assignee_ts', 'alerts_party',"
                                         " 'alerts_object')"), 9);
}

static void test_refuses_newer(void **state)
{
    ctx *c = *state;
    assert_int_equal(fix_fill(c->s), 0);
    rg_alert_store_close(c->s, NULL, 0);
    c->s = NULL;
    side_exec(c->path, "PRAGMA user_version = 99");
    assert_null(rg_alert_store_open(c->path, RG_ALERTS_EXISTING, c->err, sizeof c->err));
    assert_non_null(strstr(c->err, "newer"));
    side_exec(c->path, "PRAGMA user_version = " RG_STR(RG_ALERT_SCHEMA_VERSION));
    c->s = rg_alert_store_open(c->path, RG_ALERTS_EXISTING, c->err, sizeof c->err);
    assert_non_null(c->s);
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM alerts"), 5);
}

static void test_open_missing_and_garbage(void **state)
{
    ctx *c = *state;
    char path[600];
    snprintf(path, sizeof path, "%s.missing", c->path);
    assert_null(rg_alert_store_open(path, RG_ALERTS_EXISTING, c->err, sizeof c->err));
    assert_non_null(strstr(c->err, "no such alert store"));
    snprintf(path, sizeof path, "%s.garbage", c->path);
    FILE *f = fopen(path, "w");
    fputs("this is not a database, it is a text file long enough to have a header....\n", f);
    fclose(f);
    assert_null(rg_alert_store_open(path, RG_ALERTS_EXISTING, c->err, sizeof c->err));
    assert_non_null(strstr(c->err, path));
    unlink(path);
}

static void test_add_get_and_dedupe(void **state)
{
    ctx *c = *state;
    fix_decision f;
    fix_make(&f, "e-9", "u-7", FIX_T0, "new_account_mule,large_transfer",
             RG_ACT_BIT(RG_ACT_FREEZE) | RG_ACT_BIT(RG_ACT_FACE_VERIFY));
    f.hits[1].suppressed = true;
    assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 1);
    /* Re-delivered: same decision_id, no second alert, in or out of a batch. */
    assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 0);
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 0);
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM alerts"), 1);
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM hits"), 2);

    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "e-9/u-7", &a, c->err, sizeof c->err), 1);
    assert_string_equal(a.event_id, "e-9");
    assert_string_equal(a.subject, "u-7");
    assert_string_equal(a.event_type, "transfer");
    assert_string_equal(a.actions, "freeze face_verify");
    assert_string_equal(a.ruleset, "abc123def456");
    assert_string_equal(a.status, "open");
    assert_null(a.label);
    assert_int_equal(a.ts_ms, FIX_T0);
    assert_int_equal(a.n_hits, 2);
    assert_string_equal(a.hits[0].rule_id, "new_account_mule");
    assert_string_equal(a.hits[0].reason, "new_account_mule fired on e-9");
    assert_string_equal(a.hits[0].evidence_json, "{\"amount\":1000,\"who\":\"u-7\"}");
    assert_false(a.hits[0].suppressed);
    assert_true(a.hits[1].suppressed);
    assert_string_equal(a.decision_json, f.json);
    assert_string_equal(a.event_json, f.raw);
    assert_null(a.release_json);
    rg_alert_clear(&a);

    assert_int_equal(rg_alert_store_get(c->s, "nope/u-1", &a, c->err, sizeof c->err), 0);
    assert_non_null(strstr(c->err, "no alert with id 'nope/u-1'"));
}

static void test_batches_commit_by_rows_and_flush(void **state)
{
    ctx *c = *state;
    rg_alert_store_set_batch(c->s, 3, 60000);
    for (int i = 0; i < 10; i++) {
        fix_decision f;
        char ev[16];
        snprintf(ev, sizeof ev, "b-%d", i);
        fix_make(&f, ev, "u-1", FIX_T0 + i, "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY));
        assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 1);
    }
    /* Three full batches are committed; the tenth add is still open. */
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM alerts"), 9);
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM alerts"), 10);
}

static void test_sink_adds(void **state)
{
    ctx *c = *state;
    rg_sink sink;
    assert_int_equal(rg_alert_sink_open(&sink, &(rg_alert_sink_conf){.store = c->s}, c->err, sizeof c->err), 0);
    fix_decision f;
    fix_make(&f, "e-s", "u-s", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    f.d.emit = false; /* every hit under cooldown: still stored */
    f.hits[0].suppressed = true;
    f.d.actions = 0;
    assert_int_equal(rg_sink_decision(&sink, &f.d, NULL), 0);
    assert_int_equal(rg_sink_decision(&sink, &f.d, NULL), 0);
    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "e-s/u-s", &a, c->err, sizeof c->err), 1);
    assert_true(a.suppressed);
    assert_string_equal(a.actions, "");
    rg_alert_clear(&a);
    /* The write path does not parse the decision: broken JSON is kept as
     * it came, and the JSON output still parses. */
    f.d.decision_id = "e-t/u-s";
    f.d.json = "{\"broken";
    f.d.json_len = strlen(f.d.json);
    assert_int_equal(rg_sink_decision(&sink, &f.d, NULL), 0);
    assert_int_equal(rg_alert_store_get(c->s, "e-t/u-s", &a, c->err, sizeof c->err), 1);
    assert_null(a.hits[0].reason);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_alert_to_json(&a, true, &b);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "decision")), "{\"broken");
    json_decref(j);
    rg_strbuf_free(&b);
    rg_alert_clear(&a);

    /* A failing insert rolls the open batch back and says so. */
    rg_alert_store_set_batch(c->s, 100, 60000);
    fix_make(&f, "e-u", "u-s", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    assert_int_equal(rg_sink_decision(&sink, &f.d, NULL), 0);
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    side_exec(c->path, "DROP INDEX hits_rule; DROP TABLE hits");
    fix_make(&f, "e-v", "u-s", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    assert_int_equal(rg_sink_decision(&sink, &f.d, NULL), -1);
    assert_non_null(strstr(rg_alert_store_last_error(c->s), "rolled back"));
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM alerts WHERE event_id = 'e-v'"), 0);
    assert_int_equal(rg_sink_close(&sink, c->err, sizeof c->err), 0);   /* borrowed: the store stays open */
}

/* The store sink acknowledges a decision once the batch holding it
 * committed, never before; a failed add is not acknowledged. */
typedef struct sink_acks {
    void *ticket[8];
    int err[8];
    size_t n;
} sink_acks;

static void on_sink_acked(void *opaque, void *ticket, int err)
{
    sink_acks *a = opaque;
    assert_true(a->n < 8);
    a->ticket[a->n] = ticket;
    a->err[a->n++] = err;
}

static void test_sink_acks_on_commit(void **state)
{
    ctx *c = *state;
    sink_acks a = {0};
    rg_sink sink;
    assert_int_equal(rg_alert_sink_open(&sink, &(rg_alert_sink_conf){.store = c->s, .acked = on_sink_acked,
                                                                    .ack_opaque = &a},
                                        c->err, sizeof c->err),
                     0);
    rg_alert_store_set_batch(c->s, 2, 60000);
    fix_decision f;
    fix_make(&f, "e-a1", "u-a", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    assert_int_equal(rg_sink_decision(&sink, &f.d, (void *)1), RG_SINK_TAKEN);
    fix_make(&f, "e-a2", "u-a", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    assert_int_equal(rg_sink_decision(&sink, &f.d, (void *)2), RG_SINK_TAKEN);
    assert_int_equal(a.n, 0);   /* the batch is still open */
    /* The third add commits the full batch before it: 1 and 2 are in. */
    fix_make(&f, "e-a3", "u-a", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    assert_int_equal(rg_sink_decision(&sink, &f.d, (void *)3), RG_SINK_TAKEN);
    assert_int_equal(a.n, 2);
    assert_ptr_equal(a.ticket[0], (void *)1);
    assert_ptr_equal(a.ticket[1], (void *)2);
    assert_int_equal(a.err[0] | a.err[1], 0);
    assert_int_equal(rg_sink_flush(&sink, c->err, sizeof c->err), 0);
    assert_int_equal(a.n, 3);
    assert_ptr_equal(a.ticket[2], (void *)3);
    /* A failing add is not acknowledged (FAILED: nothing follows). */
    side_exec(c->path, "DROP INDEX hits_rule; DROP TABLE hits");
    fix_make(&f, "e-a4", "u-a", FIX_T0, "clock_tamper", RG_ACT_BIT(RG_ACT_REVIEW));
    assert_int_equal(rg_sink_decision(&sink, &f.d, (void *)4), RG_SINK_FAILED);
    assert_int_equal(a.n, 3);
    assert_int_equal(rg_sink_close(&sink, c->err, sizeof c->err), 0);
    assert_int_equal(a.n, 3);
}

static void test_list_filters_and_order(void **state)
{
    ctx *c = *state;
    assert_int_equal(fix_fill(c->s), 0);
    rg_alert_filter f;
    rg_alert *a;
    size_t n;
    int64_t total;

    rg_alert_filter_init(&f);
    assert_int_equal(rg_alert_store_list(c->s, &f, &a, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 5);
    assert_string_equal(a[0].decision_id, "e-1/u-1");
    assert_string_equal(a[4].decision_id, "e-5/u-1");
    assert_int_equal(a[1].n_hits, 2);
    assert_string_equal(a[1].hits[1].rule_id, "large_transfer");
    assert_null(a[1].hits[0].reason); /* lists carry rule ids only */
    rg_alerts_free(a, n);

    f.rule = "large_transfer";
    assert_int_equal(rg_alert_store_list(c->s, &f, &a, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(a[1].decision_id, "e-2/u-2");
    rg_alerts_free(a, n);

    f.subject = "u-1";
    f.newest_first = true;
    assert_int_equal(rg_alert_store_list(c->s, &f, &a, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(a[0].decision_id, "e-5/u-1");
    rg_alerts_free(a, n);

    rg_alert_filter_init(&f);
    f.since_ms = FIX_T0 + 1000;
    f.until_ms = FIX_T0 + 3000; /* [since, until) */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 2);
    f.limit = 1;
    f.offset = 1;
    assert_int_equal(rg_alert_store_list(c->s, &f, &a, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].decision_id, "e-3/u-1");
    rg_alerts_free(a, n);

    /* Filter values are data, never SQL. */
    rg_alert_filter_init(&f);
    f.subject = "u-1' OR '1'='1";
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 0);

    assert_int_equal(rg_alert_store_label(c->s, "e-2/u-2", "fraud", NULL, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_resolve(c->s, "e-2/u-2", "ana", NULL, c->err, sizeof c->err), 1);
    rg_alert_filter_init(&f);
    f.status = "open";
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 4);
    f.status = "resolved";
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 1);
    rg_alert_filter_init(&f);
    f.labelled_only = true;
    assert_int_equal(rg_alert_store_list(c->s, &f, &a, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(a[0].label, "fraud");
    rg_alerts_free(a, n);
}

static void test_label_and_resolve(void **state)
{
    ctx *c = *state;
    assert_int_equal(fix_fill(c->s), 0);
    assert_int_equal(rg_alert_store_label(c->s, "e-1/u-1", "maybe", NULL, "ana", c->err, sizeof c->err), -1);
    assert_int_equal(rg_alert_store_label(c->s, "e-1/u-1", "fraud", NULL, "", c->err, sizeof c->err), -1);
    assert_int_equal(rg_alert_store_label(c->s, "x/y", "fraud", NULL, "ana", c->err, sizeof c->err), 0);
    assert_int_equal(rg_alert_store_resolve(c->s, "x/y", "ana", NULL, c->err, sizeof c->err), 0);
    assert_non_null(strstr(c->err, "no alert with id 'x/y'"));

    assert_int_equal(rg_alert_store_label(c->s, "e-1/u-1", "legit", "known payee", "ana", c->err, sizeof c->err), 1);
    /* A second label replaces the first; no note keeps the earlier note. */
    assert_int_equal(rg_alert_store_label(c->s, "e-1/u-1", "fraud", NULL, "bo", c->err, sizeof c->err), 1);
    bool queued = true;
    assert_int_equal(rg_alert_store_resolve(c->s, "e-1/u-1", "bo", &queued, c->err, sizeof c->err), 1);
    assert_false(queued);
    assert_int_equal(rg_alert_store_resolve(c->s, "e-1/u-1", "cy", &queued, c->err, sizeof c->err), 1);

    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "e-1/u-1", &a, c->err, sizeof c->err), 1);
    assert_string_equal(a.label, "fraud");
    assert_string_equal(a.note, "known payee");
    assert_string_equal(a.labelled_by, "bo");
    assert_string_equal(a.status, "resolved");
    assert_string_equal(a.resolved_by, "bo"); /* the second resolve changed nothing */
    assert_true(a.labelled_ms > 0 && a.resolved_ms >= a.labelled_ms);
    rg_alert_clear(&a);
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM review_log"), 3);
}

static void test_release_outbox(void **state)
{
    ctx *c = *state;
    assert_int_equal(fix_fill(c->s), 0);
    bool queued = false;
    /* e-3/u-1 froze u-1: legit + resolved queues one release. */
    assert_int_equal(rg_alert_store_label(c->s, "e-3/u-1", "legit", "customer called", "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_resolve(c->s, "e-3/u-1", "ana", &queued, c->err, sizeof c->err), 1);
    assert_true(queued);
    /* Not frozen (face_verify only): no release even when legit. */
    assert_int_equal(rg_alert_store_label(c->s, "e-1/u-1", "legit", NULL, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_resolve(c->s, "e-1/u-1", "ana", &queued, c->err, sizeof c->err), 1);
    assert_false(queued);
    /* Resolved first, labelled legit after: the label queues it. */
    assert_int_equal(rg_alert_store_resolve(c->s, "e-2/u-2", "bo", &queued, c->err, sizeof c->err), 1);
    assert_false(queued);
    assert_int_equal(rg_alert_store_label(c->s, "e-2/u-2", "legit", NULL, "bo", c->err, sizeof c->err), 1);
    /* Labelled again: still one release. */
    assert_int_equal(rg_alert_store_label(c->s, "e-2/u-2", "legit", NULL, "bo", c->err, sizeof c->err), 1);

    rg_outbox_item *items;
    size_t n;
    assert_int_equal(rg_alert_store_outbox_pending(c->s, 0, &items, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].decision_id, "e-3/u-1/release");
    assert_string_equal(items[0].subject, "u-1");
    json_t *j = json_loads(items[0].json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "decision_id")), "e-3/u-1/release");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "actions"), 0)), "release");
    json_t *rule = json_array_get(json_object_get(j, "rules"), 0);
    assert_string_equal(json_string_value(json_object_get(rule, "reason")),
                        "alert e-3/u-1 resolved as legit by ana");
    assert_string_equal(json_string_value(json_object_get(json_object_get(rule, "evidence"), "note")),
                        "customer called");
    assert_string_equal(json_string_value(json_object_get(j, "ruleset")), "abc123def456");
    /* detection.md's key order. */
    assert_true(strstr(items[0].json, "\"decision_id\"") < strstr(items[0].json, "\"event_id\""));
    assert_true(strstr(items[0].json, "\"rules\"") < strstr(items[0].json, "\"ts\""));
    json_decref(j);

    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "e-3/u-1", &a, c->err, sizeof c->err), 1);
    assert_non_null(a.release_json);
    assert_int_equal(a.release_sent_ms, 0);
    rg_alert_clear(&a);

    assert_int_equal(rg_alert_store_outbox_mark_sent(c->s, items[0].id, c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_outbox_mark_sent(c->s, items[0].id, c->err, sizeof c->err), 0);
    rg_outbox_items_free(items, n);
    assert_int_equal(rg_alert_store_outbox_pending(c->s, 10, &items, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].decision_id, "e-2/u-2/release");
    rg_outbox_items_free(items, n);

    assert_int_equal(rg_alert_store_get(c->s, "e-3/u-1", &a, c->err, sizeof c->err), 1);
    assert_true(a.release_sent_ms > 0);
    rg_alert_clear(&a);
}

static void test_precision_counts_every_rule(void **state)
{
    ctx *c = *state;
    assert_int_equal(fix_fill(c->s), 0);
    assert_int_equal(rg_alert_store_label(c->s, "e-2/u-2", "fraud", NULL, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_label(c->s, "e-5/u-1", "legit", NULL, "ana", c->err, sizeof c->err), 1);
    rg_rule_precision *p;
    size_t n;
    assert_int_equal(rg_alert_store_precision(c->s, &p, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 4);
    /* Ordered by rule id. */
    assert_string_equal(p[0].rule_id, "clock_tamper");
    assert_int_equal(p[0].labelled, 0);
    assert_string_equal(p[1].rule_id, "large_transfer");
    assert_int_equal(p[1].alerts, 3);
    assert_int_equal(p[1].labelled, 2);
    assert_int_equal(p[1].fraud, 1);
    assert_int_equal(p[1].legit, 1);
    /* e-2 had two rules: its fraud label counts for both. */
    assert_string_equal(p[2].rule_id, "new_account_mule");
    assert_int_equal(p[2].alerts, 1);
    assert_int_equal(p[2].fraud, 1);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_precision_to_json(p, n, &b);
    assert_non_null(strstr(b.data, "{\"id\":\"clock_tamper\",\"alerts\":1,\"labelled\":0,\"fraud\":0,"
                                   "\"legit\":0,\"precision\":null}"));
    assert_non_null(strstr(b.data, "\"id\":\"large_transfer\",\"alerts\":3,\"labelled\":2,\"fraud\":1,"
                                   "\"legit\":1,\"precision\":0.5000}"));
    rg_strbuf_free(&b);
    rg_rule_precision_free(p, n);
}

static void test_add_json_lines(void **state)
{
    ctx *c = *state;
    fix_decision f;
    fix_make(&f, "j-1", "u-3", FIX_T0, "recall_burst", RG_ACT_BIT(RG_ACT_FREEZE));
    assert_int_equal(rg_alert_store_add_json(c->s, f.json, strlen(f.json), NULL, 0, c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_add_json(c->s, f.json, strlen(f.json), NULL, 0, c->err, sizeof c->err), 0);
    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "j-1/u-3", &a, c->err, sizeof c->err), 1);
    assert_string_equal(a.actions, "freeze");
    assert_int_equal(a.ts_ms, FIX_T0);
    assert_null(a.event_json);
    assert_string_equal(a.hits[0].evidence_json, "{\"amount\":1000,\"who\":\"u-3\"}");
    rg_alert_clear(&a);

    static const struct { const char *line, *msg; } bad[] = {
        {"{\"decision_id\":", "not JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"event_id\":\"e\"}", "decision_id"},
        {"{\"decision_id\":\"a/b\",\"event_id\":\"a\",\"subject\":\"b\",\"event_type\":\"login\","
         "\"ts\":\"yesterday\"}", "ts"},
        {"{\"decision_id\":\"a/b\",\"event_id\":\"a\",\"subject\":\"b\",\"event_type\":\"login\","
         "\"ts\":\"2026-01-01T00:00:00Z\",\"actions\":[\"explode\"],\"rules\":[{\"id\":\"r\"}]}", "unknown action"},
        {"{\"decision_id\":\"a/b\",\"event_id\":\"a\",\"subject\":\"b\",\"event_type\":\"login\","
         "\"ts\":\"2026-01-01T00:00:00Z\",\"actions\":[],\"rules\":[]}", "rules"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(rg_alert_store_add_json(c->s, bad[i].line, strlen(bad[i].line), NULL, 0,
                                                 c->err, sizeof c->err), -1);
        assert_non_null(strstr(c->err, bad[i].msg));
    }
}

static void test_json_output(void **state)
{
    ctx *c = *state;
    assert_int_equal(fix_fill(c->s), 0);
    assert_int_equal(rg_alert_store_label(c->s, "e-2/u-2", "fraud", "mule \"ring\"\n", "ana", c->err, sizeof c->err), 1);
    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "e-2/u-2", &a, c->err, sizeof c->err), 1);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_alert_to_json(&a, true, &b);
    json_error_t jerr;
    json_t *j = json_loads(b.data, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "e-2/u-2");
    assert_string_equal(json_string_value(json_object_get(j, "ts")), "2026-11-22T14:37:46.123Z");
    assert_string_equal(json_string_value(json_object_get(j, "note")), "mule \"ring\"\n");
    assert_int_equal(json_array_size(json_object_get(j, "actions")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(
                         json_array_get(json_object_get(j, "hits"), 1), "evidence"), "amount")), 2000);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "event"), "counterparty")), "u-9");
    assert_true(json_is_null(json_object_get(j, "release")));
    /* Fixed key order: id first, then event fields, review fields, details. */
    assert_true(strncmp(b.data, "{\"id\":\"e-2/u-2\",\"event_id\":\"e-2\",\"event_type\":\"transfer\"", 55) == 0);
    assert_true(strstr(b.data, "\"stored_at\"") < strstr(b.data, "\"hits\""));
    json_decref(j);
    rg_strbuf_free(&b);

    /* Stored text that is not JSON still gives valid JSON. */
    free(a.event_json);
    a.event_json = strdup("{not json");
    rg_alert_to_json(&a, true, &b);
    j = json_loads(b.data, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "event")), "{not json");
    json_decref(j);
    rg_strbuf_free(&b);
    rg_alert_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schema_wal_and_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_newer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_missing_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_get_and_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_commit_by_rows_and_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_adds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sink_acks_on_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_filters_and_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_and_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_precision_counts_every_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_json_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_output, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
