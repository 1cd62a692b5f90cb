/* Tests for the alert store's review features (schema 3): migrating a
 * first-round file, review actions and who may do them, the history, the
 * outbox list, users and their hashed tokens. Every list filter and sort
 * (both ways a rule or a search is read), per-rule daily counts and
 * related alerts: test_alerts_review_lists.c. The first-round behaviour:
 * test_alerts_store.c. */
#include <jansson.h>
#include <sqlite3.h>

#include "alerts_review_fixture.h"
#include "store/users.h"

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
        cmocka_unit_test_setup_teardown(test_users_and_tokens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
