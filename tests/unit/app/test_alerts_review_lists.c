/* Tests for what the alert store lists and counts for review (schema 3):
 * every list filter and sort (both ways a rule or a search is read, and
 * capped counts), per-rule daily counts and the Rules JSON, the related
 * graph. Review actions, history, outbox and users:
 * test_alerts_review.c. */
#include <jansson.h>

#include "alerts_review_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_filters_and_sorts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_common_rule_and_broad_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rule_days_and_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_related_picture, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
