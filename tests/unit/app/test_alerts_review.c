/* Tests for the alert store's review features (schema 3): migrating a
 * first-round file, review actions and who may do them, the history,
 * every list filter and sort (both ways a rule or a search is read),
 * per-rule daily counts, related alerts, the outbox list, users and their
 * hashed tokens. The first-round behaviour: test_alerts_store.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "alerts_fixture.h"
#include "store/users.h"

typedef struct ctx {
    char path[512];
    rg_alert_store *s;
    char err[512];
} ctx;

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    fix_db_path(c->path, sizeof c->path, "alerts-review");
    c->s = rg_alert_store_open(c->path, RG_ALERTS_CREATE, c->err, sizeof c->err);
    if (!c->s || fix_fill(c->s) < 0) {
        fprintf(stderr, "%s\n", c->err);
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


/* The ids a filter lists, joined by ' '. */
static char *ids_of(ctx *c, const rg_alert_filter *f)
{
    rg_alert *a;
    size_t n;
    assert_int_equal(rg_alert_store_list(c->s, f, &a, &n, c->err, sizeof c->err), 0);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_strbuf_puts(&b, "");
    for (size_t i = 0; i < n; i++)
        rg_strbuf_printf(&b, "%s%s", i ? " " : "", a[i].decision_id);
    rg_alerts_free(a, n);
    int64_t total;
    assert_int_equal(rg_alert_store_count(c->s, f, &total, c->err, sizeof c->err), 0);
    if (!f->limit && !f->offset)
        assert_int_equal(total, (int64_t)n);
    return b.data;
}

#define assert_ids(c, f, want)                  \
    do {                                        \
        char *got_ = ids_of(c, f);              \
        assert_string_equal(got_, want);        \
        free(got_);                             \
    } while (0)

static int review(ctx *c, rg_review_action action, const char *id, const char *value, const char *who,
                  rg_role role, rg_review_result *res)
{
    rg_review_op op = {.action = action, .who = who, .role = role};
    if (action == RG_REVIEW_LABEL)
        op.label = value;
    if (action == RG_REVIEW_ASSIGN)
        op.assignee = value;
    return rg_alert_store_review(c->s, &op, &id, 1, res, c->err, sizeof c->err);
}

/* What happened to one id, as a short word. */
static const char *outcome(ctx *c, rg_review_action action, const char *id, const char *value,
                           const char *who, rg_role role)
{
    rg_review_result res;
    assert_int_equal(review(c, action, id, value, who, role, &res), 0);
    static const char *const W[] = {"done", "unchanged", "not_found", "forbidden"};
    return W[res.outcome];
}

static void test_migrates_first_round_file(void **state)
{
    ctx *c = *state;
    char path[600];
    snprintf(path, sizeof path, "%s.v2", c->path);
    fix_db_remove(path);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* A version-2 file as the first round wrote it (its schema, verbatim). */
    const char *v2 =
        "CREATE TABLE alerts (id INTEGER PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE, event_id TEXT NOT NULL,"
        " subject TEXT NOT NULL, event_type TEXT NOT NULL, ts_ms INTEGER NOT NULL, actions TEXT NOT NULL,"
        " ruleset TEXT NOT NULL, suppressed INTEGER NOT NULL DEFAULT 0, decision_json TEXT NOT NULL,"
        " event_json TEXT, stored_ms INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'open'"
        " CHECK (status IN ('open', 'resolved')), label TEXT CHECK (label IN ('fraud', 'legit')), note TEXT,"
        " labelled_by TEXT, labelled_ms INTEGER, resolved_by TEXT, resolved_ms INTEGER);"
        "CREATE TABLE hits (alert_id INTEGER NOT NULL REFERENCES alerts(id), position INTEGER NOT NULL,"
        " rule_id TEXT NOT NULL, suppressed INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (alert_id, position))"
        " WITHOUT ROWID;"
        "CREATE INDEX alerts_ts ON alerts(ts_ms, decision_id);"
        "CREATE INDEX alerts_status_ts ON alerts(status, ts_ms, decision_id);"
        "CREATE INDEX alerts_subject_ts ON alerts(subject, ts_ms);"
        "CREATE INDEX hits_rule ON hits(rule_id, alert_id);"
        "CREATE INDEX alerts_labelled ON alerts(ts_ms, decision_id) WHERE label IS NOT NULL;"
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE,"
        " alert_id INTEGER NOT NULL REFERENCES alerts(id), subject TEXT NOT NULL, json TEXT NOT NULL,"
        " created_ms INTEGER NOT NULL, sent_ms INTEGER);"
        "CREATE INDEX outbox_unsent ON outbox(id) WHERE sent_ms IS NULL;"
        "CREATE INDEX outbox_alert ON outbox(alert_id);"
        "CREATE TABLE review_log (id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts(id),"
        " at_ms INTEGER NOT NULL, who TEXT NOT NULL, what TEXT NOT NULL, note TEXT);"
        "CREATE INDEX review_log_alert ON review_log(alert_id, id);"
        "INSERT INTO alerts VALUES (1, 'm-5/u-m', 'm-5', 'u-m', 'transfer', 1795305840000, 'freeze', 'r1', 0,"
        " '{}', '{\"event_id\":\"m-5\",\"type\":\"transfer\",\"account\":\"s-5\",\"counterparty\":\"u-m\"}', 1,"
        " 'resolved', 'fraud', 'mule ring', 'ana', 2, 'bo', 3);"
        "INSERT INTO alerts VALUES (2, 'c-1/u-8', 'c-1', 'u-8', 'red_packet_claim', 1795305900000, 'freeze', 'r1',"
        " 0, '{}', '{\"event_id\":\"c-1\",\"account\":\"u-8\",\"packet_id\":\"p-5\"}', 1, 'open', NULL, NULL,"
        " NULL, NULL, NULL, NULL);"
        "INSERT INTO alerts VALUES (3, 'i-1/u-3', 'i-1', 'u-3', 'transfer', 1795305960000, 'review', 'r1', 0,"
        " '{}', NULL, 1, 'open', NULL, NULL, NULL, NULL, NULL, NULL);"
        "INSERT INTO hits VALUES (1, 0, 'new_account_mule', 0), (1, 1, 'large_transfer', 0),"
        " (2, 0, 'forged_claim', 0), (3, 0, 'clock_tamper', 0);"
        "INSERT INTO review_log VALUES (1, 1, 2, 'ana', 'label fraud', 'mule ring'), (2, 1, 3, 'bo', 'resolve', NULL);"
        "PRAGMA user_version = 2;";
    assert_int_equal(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    rg_alert_store *s = rg_alert_store_open(path, RG_ALERTS_EXISTING, c->err, sizeof c->err);
    assert_non_null(s);
    assert_int_equal(rg_alert_store_schema_version(s), 3);
    assert_int_equal(fix_side_query(path, "SELECT count(*) FROM sqlite_master WHERE name = 'alerts_ts'"), 0);
    rg_alert a;
    assert_int_equal(rg_alert_store_get(s, "m-5/u-m", &a, c->err, sizeof c->err), 1);
    assert_string_equal(a.party, "s-5");     /* the subject is the counterparty: the sender */
    assert_null(a.object);
    assert_null(a.assignee);
    rg_alert_clear(&a);
    assert_int_equal(rg_alert_store_get(s, "c-1/u-8", &a, c->err, sizeof c->err), 1);
    assert_null(a.party);
    assert_string_equal(a.object, "p-5");
    rg_alert_clear(&a);
    /* Rules, counts and search indexes were built for the old rows. */
    assert_int_equal(fix_side_query(path, "SELECT count(*) FROM alerts WHERE rules = 'new_account_mule large_transfer'"), 1);
    rg_rule_precision *p;
    size_t n;
    assert_int_equal(rg_alert_store_precision(s, &p, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(p[2].rule_id, "large_transfer");
    assert_int_equal(p[2].alerts, 1);
    assert_int_equal(p[2].fraud, 1);
    rg_rule_precision_free(p, n);
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    f.search = "ring";
    rg_alert *l;
    assert_int_equal(rg_alert_store_list(s, &f, &l, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(l[0].decision_id, "m-5/u-m");
    rg_alerts_free(l, n);
    f.search = "U-8";
    assert_int_equal(rg_alert_store_list(s, &f, &l, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 1);
    rg_alerts_free(l, n);
    /* The old history reads in the new form, and nothing of it changed. */
    rg_alert_change *h;
    assert_int_equal(rg_alert_store_history(s, "m-5/u-m", &h, &n, c->err, sizeof c->err), 1);
    assert_int_equal(n, 2);
    assert_string_equal(h[0].what, "label");
    assert_string_equal(h[0].value, "fraud");
    assert_string_equal(h[0].note, "mule ring");
    assert_string_equal(h[1].what, "resolve");
    rg_alert_changes_free(h, n);
    assert_int_equal(fix_side_query(path, "SELECT count(*) FROM review_log WHERE what = 'label fraud'"), 1);
    /* And it takes new alerts. */
    fix_decision d;
    fix_make(&d, "n-1", "u-m", FIX_T0, "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY));
    assert_int_equal(rg_alert_store_add(s, &d.d, c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_close(s, c->err, sizeof c->err), 0);
    assert_int_equal(fix_side_query(path, "SELECT sum(alerts) FROM rule_days WHERE rule_id = 'large_transfer'"), 2);
    fix_db_remove(path);
}

static void test_roles_and_outcomes(void **state)
{
    ctx *c = *state;
    const rg_role A = RG_ROLE_ANALYST, L = RG_ROLE_LEAD;
    assert_string_equal(outcome(c, RG_REVIEW_LABEL, "e-1/u-1", "fraud", "ana", A), "done");
    assert_string_equal(outcome(c, RG_REVIEW_LABEL, "nope/u-1", "fraud", "ana", A), "not_found");
    assert_string_equal(outcome(c, RG_REVIEW_RESOLVE, "e-1/u-1", NULL, "ana", A), "done");
    assert_string_equal(outcome(c, RG_REVIEW_RESOLVE, "e-1/u-1", NULL, "ana", A), "unchanged");
    assert_string_equal(outcome(c, RG_REVIEW_REOPEN, "e-1/u-1", NULL, "ana", A), "forbidden");
    assert_string_equal(outcome(c, RG_REVIEW_REOPEN, "e-1/u-1", NULL, "lea", L), "done");
    assert_string_equal(outcome(c, RG_REVIEW_REOPEN, "e-1/u-1", NULL, "lea", L), "unchanged");
    /* Assignment: an analyst takes unassigned alerts, and gives back their own. */
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "bo", "ana", A), "forbidden");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "ana", "ana", A), "done");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "ana", "ana", A), "unchanged");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", NULL, "ana", A), "done");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "ana", "ana", A), "done");
    /* A lead reassigns; the analyst can no longer take it back or drop it. */
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "bo", "lea", L), "done");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "ana", "ana", A), "forbidden");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", NULL, "ana", A), "forbidden");
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-2/u-2", "bo", "bo", A), "unchanged");
    /* ... but still label and resolve it. */
    assert_string_equal(outcome(c, RG_REVIEW_LABEL, "e-2/u-2", "legit", "ana", A), "done");

    rg_review_result res;
    rg_review_op bad = {.action = RG_REVIEW_LABEL, .label = "maybe", .who = "ana"};
    const char *id = "e-1/u-1";
    assert_int_equal(rg_alert_store_review(c->s, &bad, &id, 1, &res, c->err, sizeof c->err), -1);
    bad = (rg_review_op){.action = RG_REVIEW_ASSIGN, .assignee = "bad name", .who = "lea"};
    assert_int_equal(rg_alert_store_review(c->s, &bad, &id, 1, &res, c->err, sizeof c->err), -1);
    assert_non_null(strstr(c->err, "not a name"));
    bad = (rg_review_op){.action = RG_REVIEW_ASSIGN, .assignee = "none", .who = "lea"};
    assert_int_equal(rg_alert_store_review(c->s, &bad, &id, 1, &res, c->err, sizeof c->err), -1);
    bad = (rg_review_op){.action = RG_REVIEW_RESOLVE, .who = ""};
    assert_int_equal(rg_alert_store_review(c->s, &bad, &id, 1, &res, c->err, sizeof c->err), -1);
    assert_int_equal(rg_alert_store_review(c->s, &bad, &id, RG_REVIEW_MAX_IDS + 1, &res, c->err, sizeof c->err), -1);

    /* The history: every change, in order, with who; nothing for the
     * unchanged, forbidden or refused ones. */
    rg_alert_change *h;
    size_t n;
    assert_int_equal(rg_alert_store_history(c->s, "e-2/u-2", &h, &n, c->err, sizeof c->err), 1);
    static const char *const want[][3] = {
        {"ana", "assign", "ana"}, {"ana", "unassign", NULL}, {"ana", "assign", "ana"},
        {"lea", "assign", "bo"}, {"ana", "label", "legit"},
    };
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(h[i].who, want[i][0]);
        assert_string_equal(h[i].what, want[i][1]);
        if (want[i][2])
            assert_string_equal(h[i].value, want[i][2]);
        else
            assert_null(h[i].value);
        assert_true(i == 0 || h[i].at_ms >= h[i - 1].at_ms);
    }
    rg_strbuf b = RG_STRBUF_INIT;
    rg_alert_history_to_json("e-2/u-2", h, n, &b);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "history")), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "history"), 3), "who")), "lea");
    json_decref(j);
    rg_strbuf_free(&b);
    rg_alert_changes_free(h, n);
    assert_int_equal(rg_alert_store_history(c->s, "e-3/u-1", &h, &n, c->err, sizeof c->err), 1);
    assert_int_equal(n, 0);
    rg_alert_changes_free(h, n);
    assert_int_equal(rg_alert_store_history(c->s, "x/y", &h, &n, c->err, sizeof c->err), 0);

    rg_alert a;
    assert_int_equal(rg_alert_store_get(c->s, "e-2/u-2", &a, c->err, sizeof c->err), 1);
    assert_string_equal(a.assignee, "bo");
    assert_true(a.assigned_ms > 0);
    rg_alert_clear(&a);
    assert_int_equal(rg_alert_store_get(c->s, "e-1/u-1", &a, c->err, sizeof c->err), 1);
    assert_string_equal(a.status, "open");    /* reopened */
    assert_null(a.resolved_by);
    rg_alert_clear(&a);
}

static void test_bulk_and_release_once(void **state)
{
    ctx *c = *state;
    /* One call, several ids: the unknown one is reported, the others done. */
    const char *ids[] = {"e-3/u-1", "e-9/u-9", "e-2/u-2", "e-3/u-1"};
    rg_review_result res[4];
    rg_review_op op = {.action = RG_REVIEW_LABEL, .label = "legit", .note = "call centre", .who = "ana",
                       .role = RG_ROLE_ANALYST};
    assert_int_equal(rg_alert_store_review(c->s, &op, ids, 4, res, c->err, sizeof c->err), 0);
    assert_int_equal(res[0].outcome, RG_REVIEW_DONE);
    assert_int_equal(res[1].outcome, RG_REVIEW_NOT_FOUND);
    assert_int_equal(res[2].outcome, RG_REVIEW_DONE);
    assert_int_equal(res[3].outcome, RG_REVIEW_DONE);
    op = (rg_review_op){.action = RG_REVIEW_RESOLVE, .who = "ana", .role = RG_ROLE_ANALYST};
    assert_int_equal(rg_alert_store_review(c->s, &op, ids, 3, res, c->err, sizeof c->err), 0);
    assert_true(res[0].release_queued);       /* e-3 froze u-1 */
    assert_true(res[2].release_queued);       /* e-2 froze u-2 */
    /* Reopened and resolved again: the release is not queued twice. */
    assert_string_equal(outcome(c, RG_REVIEW_REOPEN, "e-3/u-1", NULL, "lea", RG_ROLE_LEAD), "done");
    assert_int_equal(review(c, RG_REVIEW_RESOLVE, "e-3/u-1", NULL, "lea", RG_ROLE_LEAD, res), 0);
    assert_int_equal(res[0].outcome, RG_REVIEW_DONE);
    assert_false(res[0].release_queued);
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM outbox"), 2);

    rg_outbox_item *items;
    size_t n;
    int64_t total;
    assert_int_equal(rg_alert_store_outbox_mark_sent(c->s, 1, c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_outbox_list(c->s, 1, &items, &n, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 2);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].decision_id, "e-2/u-2/release"); /* newest first */
    assert_string_equal(items[0].alert_id, "e-2/u-2");
    assert_int_equal(items[0].sent_ms, 0);
    rg_outbox_items_free(items, n);
    assert_int_equal(rg_alert_store_outbox_list(c->s, 0, &items, &n, &total, c->err, sizeof c->err), 0);
    assert_int_equal(n, 2);
    assert_true(items[1].sent_ms > 0);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_release_to_json(&items[1], &b);
    assert_non_null(strstr(b.data, "{\"id\":\"e-3/u-1/release\",\"alert_id\":\"e-3/u-1\",\"subject\":\"u-1\",\"state\":\"sent\""));
    rg_strbuf_free(&b);
    rg_outbox_items_free(items, n);
}

/* A decision whose event names other parties than the fixture's. */
static void add_raw(ctx *c, const char *ev, const char *subject, int64_t ts, const char *rule, const char *raw)
{
    fix_decision f;
    fix_make(&f, ev, subject, ts, rule, RG_ACT_BIT(RG_ACT_FREEZE));
    snprintf(f.raw, sizeof f.raw, "%s", raw);
    f.d.event_raw = f.raw;
    f.d.event_raw_len = strlen(f.raw);
    assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 1);
}

static void test_filters_and_sorts(void **state)
{
    ctx *c = *state;
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    assert_ids(c, &f, "e-1/u-1 e-2/u-2 e-3/u-1 e-4/u-2 e-5/u-1");
    f.newest_first = true;
    assert_ids(c, &f, "e-5/u-1 e-4/u-2 e-3/u-1 e-2/u-2 e-1/u-1");

    assert_int_equal(rg_alert_store_label(c->s, "e-2/u-2", "fraud", "mule 100%_ring", "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_label(c->s, "e-4/u-2", "legit", NULL, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_resolve(c->s, "e-4/u-2", "ana", NULL, c->err, sizeof c->err), 1);
    assert_string_equal(outcome(c, RG_REVIEW_ASSIGN, "e-5/u-1", "bo", "lea", RG_ROLE_LEAD), "done");
    rg_alert_filter_init(&f);
    f.label = "fraud";
    assert_ids(c, &f, "e-2/u-2");
    f.label = "none";
    assert_ids(c, &f, "e-1/u-1 e-3/u-1 e-5/u-1");
    f.status = "open";
    f.action = "face_verify";
    assert_ids(c, &f, "e-1/u-1 e-5/u-1");
    rg_alert_filter_init(&f);
    f.action = "freeze";
    assert_ids(c, &f, "e-2/u-2 e-3/u-1");
    f.action = "release";
    assert_ids(c, &f, "");
    rg_alert_filter_init(&f);
    f.assignee = "bo";
    assert_ids(c, &f, "e-5/u-1");
    f.assignee = "none";
    assert_ids(c, &f, "e-1/u-1 e-2/u-2 e-3/u-1 e-4/u-2");
    rg_alert_filter_init(&f);
    f.rule = "large_transfer";
    f.label = "none";
    assert_ids(c, &f, "e-1/u-1 e-5/u-1");

    /* Search: subjects and notes anywhere (any case), ids from the start. */
    rg_alert_filter_init(&f);
    f.search = "U-2";
    assert_ids(c, &f, "e-2/u-2 e-4/u-2");
    f.search = "e-3";
    assert_ids(c, &f, "e-3/u-1");
    f.search = "e-3/u-1";
    assert_ids(c, &f, "e-3/u-1");
    f.search = "100%_r";                      /* LIKE's wildcards are plain text */
    assert_ids(c, &f, "e-2/u-2");
    f.search = "%_";                          /* under 3 characters: ids from the start only */
    assert_ids(c, &f, "");
    f.search = "2";
    assert_ids(c, &f, "");
    f.search = "e-";
    assert_ids(c, &f, "e-1/u-1 e-2/u-2 e-3/u-1 e-4/u-2 e-5/u-1");
    f.search = "nothing like it";
    assert_ids(c, &f, "");
    f.search = "u-1' OR '1'='1";
    assert_ids(c, &f, "");

    /* Entities: the subject, the other party, the object, the event. */
    add_raw(c, "m-1", "u-m", FIX_T0 + 10000, "new_account_mule",
            "{\"event_id\":\"m-1\",\"type\":\"transfer\",\"account\":\"s-1\",\"counterparty\":\"u-m\",\"amount\":1}");
    add_raw(c, "k-1", "u-k", FIX_T0 + 11000, "clock_tamper",
            "{\"event_id\":\"k-1\",\"type\":\"red_packet_claim\",\"account\":\"u-k\",\"packet_id\":\"p-7\",\"amount\":1}");
    add_raw(c, "x/1", "u-k", FIX_T0 + 12000, "recall_burst",
            "{\"event_id\":\"x/1\",\"type\":\"recall_request\",\"account\":\"u-k\",\"ref\":\"p-7\"}");
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    rg_alert_filter_init(&f);
    f.entity = "u-9";                         /* counterparty of the fixture's five */
    assert_ids(c, &f, "e-1/u-1 e-2/u-2 e-3/u-1 e-4/u-2 e-5/u-1");
    f.entity = "s-1";                         /* the mule's sender */
    assert_ids(c, &f, "m-1/u-m");
    f.entity = "u-m";
    assert_ids(c, &f, "m-1/u-m");
    f.entity = "p-7";                         /* claimed, and asked back */
    assert_ids(c, &f, "k-1/u-k x%2F1/u-k");
    f.entity = "x/1";                         /* the event itself */
    assert_ids(c, &f, "x%2F1/u-k");
    f.entity = "e-3";
    assert_ids(c, &f, "e-3/u-1");

    /* Sorts, both ways. */
    rg_alert_filter_init(&f);
    f.sort = RG_SORT_SUBJECT;
    f.until_ms = FIX_T0 + 5000;               /* the fixture's five */
    assert_ids(c, &f, "e-1/u-1 e-3/u-1 e-5/u-1 e-2/u-2 e-4/u-2");
    f.newest_first = true;
    assert_ids(c, &f, "e-4/u-2 e-2/u-2 e-5/u-1 e-3/u-1 e-1/u-1");
    f.sort = RG_SORT_STATUS;
    f.newest_first = false;
    assert_ids(c, &f, "e-1/u-1 e-2/u-2 e-3/u-1 e-5/u-1 e-4/u-2");
    f.limit = 2;
    f.offset = 1;
    assert_ids(c, &f, "e-2/u-2 e-3/u-1");
}

/* Many alerts: a common rule and a broad search term take the other path
 * (a walk of the queue index) and must answer the same. */
static void test_common_rule_and_broad_search(void **state)
{
    ctx *c = *state;
    rg_alert_store_set_batch(c->s, 50000, 600000);
    for (int i = 0; i < 20100; i++) {
        fix_decision f;
        char ev[24], subj[24];
        snprintf(ev, sizeof ev, "b-%05d", i);
        snprintf(subj, sizeof subj, "acct-%04d", i % 2500);
        fix_make(&f, ev, subj, FIX_T0 + 100000 + i, i % 3 ? "large_transfer" : "large_transfer,recall_burst",
                 RG_ACT_BIT(RG_ACT_FACE_VERIFY));
        assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 1);
    }
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    int64_t total;
    f.rule = "large_transfer";                /* > 20000 hits: tested on the rules column */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 20100 + 3);
    f.rule = "recall_burst";                  /* 6700 + 1: through its hits */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 6700 + 1);
    f.rule = "large";                         /* a prefix of a rule id is not the rule */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 0);
    rg_alert_filter_init(&f);
    f.search = "acct";                        /* 2500 subjects: scanned */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 20100);
    bool exact = true;
    assert_int_equal(rg_alert_store_count_upto(c->s, &f, 1000, &total, &exact, c->err, sizeof c->err), 0);
    assert_false(exact);
    assert_int_equal(total, 1000);
    assert_int_equal(rg_alert_store_count_upto(c->s, &f, 30000, &total, &exact, c->err, sizeof c->err), 0);
    assert_true(exact);
    assert_int_equal(total, 20100);
    rg_alert_filter_init(&f);
    f.status = "open";                        /* one index counts it exactly, whatever the cap */
    assert_int_equal(rg_alert_store_count_upto(c->s, &f, 10, &total, &exact, c->err, sizeof c->err), 0);
    assert_true(exact);
    assert_int_equal(total, 20105);
    f.action = "face_verify";                 /* common: walked, capped */
    assert_int_equal(rg_alert_store_count_upto(c->s, &f, 10, &total, &exact, c->err, sizeof c->err), 0);
    assert_false(exact);
    f.action = "review";                      /* rare: through its index */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 1);
    rg_alert_filter_init(&f);
    f.limit = 3;
    f.newest_first = true;
    assert_ids(c, &f, "b-20099/acct-0099 b-20098/acct-0098 b-20097/acct-0097");
    f.limit = 0;
    f.newest_first = false;
    f.search = "cct-001";                     /* 10 subjects: through the index */
    assert_int_equal(rg_alert_store_count(c->s, &f, &total, c->err, sizeof c->err), 0);
    assert_int_equal(total, 10 * 9);          /* acct-0010..0019, 9 alerts each (i % 2500 < 100) */
    f.search = "CCT-0019";
    f.limit = 2;
    f.newest_first = true;
    assert_ids(c, &f, "b-20019/acct-0019 b-17519/acct-0019");
}

static void test_rule_days_and_stats(void **state)
{
    ctx *c = *state;
    /* A day later and a week later than the fixture's five. */
    fix_decision f;
    fix_make(&f, "d-1", "u-1", FIX_T0 + 86400000, "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY));
    assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 1);
    fix_make(&f, "w-1", "u-1", FIX_T0 + 7 * 86400000, "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY));
    assert_int_equal(rg_alert_store_add(c->s, &f.d, c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_label(c->s, "e-1/u-1", "fraud", NULL, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_label(c->s, "e-5/u-1", "fraud", NULL, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_label(c->s, "e-5/u-1", "legit", NULL, "bo", c->err, sizeof c->err), 1);
    assert_int_equal(rg_alert_store_label(c->s, "w-1/u-1", "fraud", NULL, "bo", c->err, sizeof c->err), 1);

    /* The counts match a count over every hit. */
    assert_int_equal(fix_side_query(c->path, "SELECT sum(alerts) FROM rule_days"),
                     fix_side_query(c->path, "SELECT count(*) FROM hits"));
    assert_int_equal(fix_side_query(c->path, "SELECT sum(fraud) FROM rule_days WHERE rule_id = 'large_transfer'"), 2);
    assert_int_equal(fix_side_query(c->path, "SELECT sum(legit) FROM rule_days WHERE rule_id = 'large_transfer'"), 1);

    int64_t day0 = FIX_T0 / 86400000; /* 2026-11-22, a Sunday */
    rg_rule_day *d;
    size_t n;
    int64_t first, last;
    assert_int_equal(rg_alert_store_rule_days(c->s, day0, day0 + 7, &d, &n, &first, &last, c->err, sizeof c->err), 0);
    assert_int_equal(first, day0);
    assert_int_equal(last, day0 + 7);
    assert_string_equal(d[0].rule_id, "clock_tamper");
    rg_strbuf b = RG_STRBUF_INIT;
    rg_rule_stats_to_json(d, n, day0 - 6, day0 + 7, &b);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "from")), "2026-11-16");
    assert_string_equal(json_string_value(json_object_get(j, "to")), "2026-11-29");
    json_t *lt = NULL;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(j, "rules"), i, r)
        if (strcmp(json_string_value(json_object_get(r, "id")), "large_transfer") == 0)
            lt = r;
    assert_non_null(lt);
    assert_int_equal(json_integer_value(json_object_get(lt, "alerts")), 5);
    json_t *days = json_object_get(lt, "days");
    assert_int_equal(json_array_size(days), 14);
    assert_int_equal(json_integer_value(json_array_get(days, 6)), 3);   /* Sunday: e-1, e-2, e-5 */
    assert_int_equal(json_integer_value(json_array_get(days, 7)), 1);   /* Monday: d-1 */
    assert_int_equal(json_integer_value(json_array_get(days, 13)), 1);  /* Sunday after: w-1 */
    json_t *weeks = json_object_get(lt, "weeks");
    assert_int_equal(json_array_size(weeks), 2);
    json_t *w0 = json_array_get(weeks, 0), *w1 = json_array_get(weeks, 1);
    assert_string_equal(json_string_value(json_object_get(w0, "start")), "2026-11-16");
    assert_int_equal(json_integer_value(json_object_get(w0, "labelled")), 2);
    assert_true(json_real_value(json_object_get(w0, "precision")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(w1, "alerts")), 2);
    assert_true(json_real_value(json_object_get(w1, "precision")) == 1.0);
    json_decref(j);
    rg_strbuf_free(&b);
    rg_rule_days_free(d, n);
}

static void test_related_picture(void **state)
{
    ctx *c = *state;
    /* A mule u-m frozen on four senders' transfers; two senders flagged too. */
    for (int i = 1; i <= 4; i++) {
        char ev[16], raw[256];
        snprintf(ev, sizeof ev, "m-%d", i);
        snprintf(raw, sizeof raw, "{\"event_id\":\"%s\",\"type\":\"transfer\",\"account\":\"s-%d\","
                                  "\"counterparty\":\"u-m\",\"amount\":100000}", ev, i);
        add_raw(c, ev, "u-m", FIX_T0 + 20000 + i, "new_account_mule", raw);
        if (i <= 2) {
            char subj[16];
            snprintf(subj, sizeof subj, "s-%d", i);
            add_raw(c, ev, subj, FIX_T0 + 20000 + i, "large_transfer", raw);
        }
    }
    assert_int_equal(rg_alert_store_flush(c->s, c->err, sizeof c->err), 0);
    rg_strbuf b = RG_STRBUF_INIT;
    assert_int_equal(rg_alert_store_related_json(c->s, "u-m", 200, 24, 40, &b, c->err, sizeof c->err), 0);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    json_t *nodes = json_object_get(j, "nodes");
    assert_string_equal(json_string_value(json_object_get(json_array_get(nodes, 0), "id")), "u-m");
    assert_true(json_is_true(json_object_get(json_array_get(nodes, 0), "subject")));
    assert_int_equal(json_array_size(nodes), 5);            /* u-m and s-1..s-4 */
    assert_int_equal(json_array_size(json_object_get(j, "edges")), 4 + 2);
    json_t *alerts = json_object_get(j, "alerts");          /* the senders' own alerts */
    assert_int_equal(json_array_size(alerts), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 0), "id")), "m-2/s-2");
    json_decref(j);
    rg_strbuf_free(&b);
}

static void test_users_and_tokens(void **state)
{
    ctx *c = *state;
    /* RFC 4231 test cases 1 and 2. */
    unsigned char mac[32], key[20];
    memset(key, 0x0b, sizeof key);
    rg_hmac_sha256(key, sizeof key, "Hi There", 8, mac);
    static const unsigned char want1[4] = {0xb0, 0x34, 0x4c, 0x61};
    assert_memory_equal(mac, want1, 4);
    assert_int_equal(mac[31], 0xf7);
    rg_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
    static const unsigned char want2[4] = {0x5b, 0xdc, 0xc1, 0x46};
    assert_memory_equal(mac, want2, 4);
    assert_int_equal(mac[31], 0x43);

    char ana[RG_USER_TOKEN_HEX + 1], lea[RG_USER_TOKEN_HEX + 1], again[RG_USER_TOKEN_HEX + 1];
    int64_t n;
    assert_int_equal(rg_users_count(c->s, &n, c->err, sizeof c->err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(rg_users_add(c->s, "ana", RG_ROLE_ANALYST, ana, c->err, sizeof c->err), 1);
    assert_int_equal(rg_users_add(c->s, "lea", RG_ROLE_LEAD, lea, c->err, sizeof c->err), 1);
    assert_int_equal(strlen(ana), RG_USER_TOKEN_HEX);
    assert_int_equal(strspn(ana, "0123456789abcdef"), RG_USER_TOKEN_HEX);
    assert_string_not_equal(ana, lea);
    assert_int_equal(rg_users_add(c->s, "ana", RG_ROLE_LEAD, again, c->err, sizeof c->err), 0);
    assert_non_null(strstr(c->err, "already a user 'ana'"));
    assert_string_equal(again, "");
    assert_int_equal(rg_users_add(c->s, "none", RG_ROLE_LEAD, again, c->err, sizeof c->err), -1);
    assert_int_equal(rg_users_add(c->s, "a b", RG_ROLE_LEAD, again, c->err, sizeof c->err), -1);
    assert_int_equal(rg_users_add(c->s, "", RG_ROLE_LEAD, again, c->err, sizeof c->err), -1);

    rg_user u;
    assert_int_equal(rg_users_authenticate(c->s, ana, &u, c->err, sizeof c->err), 1);
    assert_string_equal(u.name, "ana");
    assert_int_equal(u.role, RG_ROLE_ANALYST);
    assert_int_equal(rg_users_authenticate(c->s, lea, &u, c->err, sizeof c->err), 1);
    assert_string_equal(u.name, "lea");
    assert_int_equal(u.role, RG_ROLE_LEAD);
    char wrong[RG_USER_TOKEN_HEX + 2];
    snprintf(wrong, sizeof wrong, "%s", ana);
    wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
    assert_int_equal(rg_users_authenticate(c->s, wrong, &u, c->err, sizeof c->err), 0);
    snprintf(wrong, sizeof wrong, "%.63s", ana);
    assert_int_equal(rg_users_authenticate(c->s, wrong, &u, c->err, sizeof c->err), 0);
    snprintf(wrong, sizeof wrong, "%sa", ana);
    assert_int_equal(rg_users_authenticate(c->s, wrong, &u, c->err, sizeof c->err), 0);
    assert_int_equal(rg_users_authenticate(c->s, "", &u, c->err, sizeof c->err), 0);
    assert_int_equal(rg_users_authenticate(c->s, NULL, &u, c->err, sizeof c->err), 0);
    /* The store holds no token, only keyed hashes of them. */
    assert_int_equal(fix_side_query(c->path, "SELECT count(*) FROM users WHERE instr(CAST(token_hash AS TEXT), 'a') > 0"
                                         " AND length(token_hash) != 32"), 0);
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE instr(hex(salt) || hex(token_hash), upper('%.16s'))", ana);
    assert_int_equal(fix_side_query(c->path, sql), 0);

    rg_user *list;
    size_t len;
    assert_int_equal(rg_users_list(c->s, &list, &len, c->err, sizeof c->err), 0);
    assert_int_equal(len, 2);
    assert_string_equal(list[0].name, "ana");
    assert_string_equal(list[1].name, "lea");
    assert_true(list[1].created_ms > 0);
    free(list);
    assert_int_equal(rg_users_remove(c->s, "ana", c->err, sizeof c->err), 1);
    assert_int_equal(rg_users_remove(c->s, "ana", c->err, sizeof c->err), 0);
    assert_int_equal(rg_users_authenticate(c->s, ana, &u, c->err, sizeof c->err), 0);
    assert_int_equal(rg_users_authenticate(c->s, lea, &u, c->err, sizeof c->err), 1);
    assert_string_equal(rg_role_name(RG_ROLE_ANALYST), "analyst");
    assert_int_equal(rg_role_from_name("lead"), RG_ROLE_LEAD);
    assert_int_equal(rg_role_from_name("admin"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_migrates_first_round_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roles_and_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_and_release_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_and_sorts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_common_rule_and_broad_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_days_and_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_related_picture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_and_tokens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
