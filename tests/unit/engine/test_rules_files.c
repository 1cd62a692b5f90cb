/*
 * Unit tests for loading several rule files as one rule set (rules.md
 * "Several files"; rules/load_files.c, load_rules.c, yaml_load.c): the
 * rule order with overrides, list appends, settings last-wins, the ruleset
 * id over every file's bytes, errors in their own file with both places of
 * a duplicate; and the load-time checks of issue 12: durations above the
 * maximum, rules that can only be true past history_horizon.
 */
#include "common/strmap.h"
#include "rules/expr.h"
#include "rules/names.h"
#include "rules/sha256.h"
#include "test_rules_util.h"

/* Load files a, b (and c when not NULL) named a.yaml, b.yaml, c.yaml. */
static rg_ruleset *load3(const char *a, const char *b, const char *c, char **errors)
{
    rg_rule_source src[3] = {{"a.yaml", a, strlen(a)}, {"b.yaml", b, strlen(b)}, {"c.yaml", c, c ? strlen(c) : 0}};
    return rg_ruleset_load_sources(src, c ? 3 : 2, errors);
}

static rg_ruleset *must_load3(const char *a, const char *b, const char *c)
{
    char *errors = NULL;
    rg_ruleset *rs = load3(a, b, c, &errors);
    if (!rs)
        fail_msg("refused:\n%s", errors ? errors : "(none)");
    return rs;
}

static void assert_refused3(const char *a, const char *b, const char *c, const char *want)
{
    char *errors = NULL;
    rg_ruleset *rs = load3(a, b, c, &errors);
    if (rs) {
        rg_ruleset_free(rs);
        fail_msg("accepted, but should be refused with\n%s", want);
    }
    if (!errors || strcmp(errors, want) != 0)
        fail_msg("errors were\n%s\nwanted\n%s", errors ? errors : "(none)", want);
    free(errors);
}

static const char PACK[] = "version: 1\n"
                           "settings:\n"
                           "  dedupe_horizon: 2h\n"
                           "  max_lateness: 30m\n"
                           "lists:\n"
                           "  tools: [com.a, com.b]\n"
                           "signals:\n"
                           "  pay_1h: count(1h, type == transfer)\n"
                           "rules:\n"
                           "  - id: first\n"
                           "    when: amount > 100\n"
                           "    then: [review: account]\n"
                           "  - id: big\n"
                           "    on: transfer\n"
                           "    when: amount > 5000000\n"
                           "    then: [face_verify: account]\n"
                           "  - id: tools_used\n"
                           "    when: any(client.packages in tools)\n"
                           "    then: [review: account]\n";

static const char MINE[] = "version: 1\n"
                           "settings:\n"
                           "  dedupe_horizon: 10m\n"
                           "lists:\n"
                           "  tools: {append: [com.c]}\n"
                           "rules:\n"
                           "  - id: big\n"
                           "    override: true\n"
                           "    on: transfer\n"
                           "    when: amount > 2000000 and pay_1h > 1\n"
                           "    then: [freeze: account]\n"
                           "  - id: added\n"
                           "    when: account in tools\n"
                           "    then: [review: account]\n";

static void test_override_append_settings(void **state)
{
    (void)state;
    rg_ruleset *rs = must_load3(PACK, MINE, NULL);
    /* The override takes the replaced rule's place; new rules follow. */
    static const char *const ids[] = {"first", "big", "tools_used", "added"};
    assert_int_equal(rg_ruleset_rule_count(rs), 4);
    for (size_t i = 0; i < 4; i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        assert_string_equal(r->id, ids[i]);
        assert_int_equal(r->index, i);
    }
    const rg_rule *big = rg_ruleset_rule(rs, 1);
    assert_string_equal(big->file, "b.yaml");
    assert_int_equal(big->line, 7);
    assert_int_equal(big->then[0].action, RG_ACT_FREEZE);
    assert_string_equal(rg_ruleset_rule(rs, 0)->file, "a.yaml");
    /* The list has its items and the append, in the order written. */
    size_t n = 0;
    const char *const *tools = rg_ruleset_list(rs, "tools", &n);
    assert_int_equal(n, 3);
    assert_string_equal(tools[0], "com.a");
    assert_string_equal(tools[2], "com.c");
    /* Settings: the last file that sets a key wins; the others stay. */
    assert_int_equal(rg_ruleset_dedupe_horizon_ms(rs), 10 * MIN_MS);
    assert_int_equal(rg_ruleset_max_lateness_ms(rs), 30 * MIN_MS);
    assert_int_equal(rg_ruleset_history_horizon_ms(rs), 7 * 24 * HOUR_MS);
    /* Files, in order. */
    assert_int_equal(rg_ruleset_file_count(rs), 2);
    assert_string_equal(rg_ruleset_file(rs, 0), "a.yaml");
    assert_string_equal(rg_ruleset_path(rs), "a.yaml + b.yaml");
    rg_ruleset_free(rs);
}

/* The earlier list's items are what a rule of the earlier file sees too:
 * every rule sees the list as the whole rule set makes it. */
static void test_append_seen_by_earlier_rules(void **state)
{
    (void)state;
    rules_fx f;
    fx_open(&f, must_load3(PACK, MINE, NULL));
    static const char *const pk[] = {"com.c"};
    rg_event ev = mk_event(RG_EV_LOGIN, T0, "u-1");
    ev.has_client_packages = true;
    ev.client_packages = pk;
    ev.n_client_packages = 1;
    assert_int_equal(fx_rule(&f, 2, &ev), RG_TRUE);   /* tools_used, written in a.yaml */
    fx_close(&f);
}

/* Names are one rule set's: a rule of the first file may use a signal
 * and a list the second file defines. */
static void test_names_across_files(void **state)
{
    (void)state;
    static const char a[] = "version: 1\nrules:\n  - id: r\n    when: later_sig and account in later_list\n"
                            "    then: [review: account]\n";
    static const char b[] = "version: 1\nlists:\n  later_list: [u-1]\nsignals:\n  later_sig: amount > 5\n";
    rules_fx f;
    fx_open(&f, must_load3(a, b, NULL));
    rg_event ev = mk_transfer(T0, "u-1", "u-2", 6);
    assert_int_equal(fx_rule(&f, 0, &ev), RG_TRUE);
    fx_close(&f);
}

/* The id covers every file's bytes in order: cat a b | sha256sum. */
static void test_ruleset_id_over_all_files(void **state)
{
    (void)state;
    rg_ruleset *rs = must_load3(PACK, MINE, NULL);
    size_t la = strlen(PACK), lb = strlen(MINE);
    char *cat = malloc(la + lb);
    assert_non_null(cat);
    memcpy(cat, PACK, la);
    memcpy(cat + la, MINE, lb);
    char want[13];
    rg_sha256_hex(cat, la + lb, want, 12);
    assert_string_equal(rg_ruleset_id(rs), want);
    free(cat);
    rg_ruleset_free(rs);

    /* One file: as before, sha256sum FILE. */
    rs = must_load(PACK);
    rg_sha256_hex(PACK, la, want, 12);
    assert_string_equal(rg_ruleset_id(rs), want);
    rg_ruleset_free(rs);
}

/* The bundled pack plus a file of changes loads to the same rules, in the
 * same order, with the same evidence keys, as the file merged by hand. */
static void test_same_as_merged_by_hand(void **state)
{
    (void)state;
    static const char merged[] = "version: 1\n"
                                 "settings:\n"
                                 "  dedupe_horizon: 10m\n"
                                 "  max_lateness: 30m\n"
                                 "lists:\n"
                                 "  tools: [com.a, com.b, com.c]\n"
                                 "signals:\n"
                                 "  pay_1h: count(1h, type == transfer)\n"
                                 "rules:\n"
                                 "  - id: first\n"
                                 "    when: amount > 100\n"
                                 "    then: [review: account]\n"
                                 "  - id: big\n"
                                 "    on: transfer\n"
                                 "    when: amount > 2000000 and pay_1h > 1\n"
                                 "    then: [freeze: account]\n"
                                 "  - id: tools_used\n"
                                 "    when: any(client.packages in tools)\n"
                                 "    then: [review: account]\n"
                                 "  - id: added\n"
                                 "    when: account in tools\n"
                                 "    then: [review: account]\n";
    rg_ruleset *two = must_load3(PACK, MINE, NULL), *one = must_load(merged);
    assert_int_equal(rg_ruleset_rule_count(two), rg_ruleset_rule_count(one));
    assert_int_equal(rg_ruleset_use_count(two), rg_ruleset_use_count(one));
    for (size_t i = 0; i < rg_ruleset_rule_count(one); i++) {
        const rg_rule *a = rg_ruleset_rule(two, i), *b = rg_ruleset_rule(one, i);
        assert_string_equal(a->id, b->id);
        assert_int_equal(a->n_evidence, b->n_evidence);
        for (size_t k = 0; k < a->n_evidence; k++)
            assert_string_equal(a->evidence[k]->evidence_key, b->evidence[k]->evidence_key);
        rg_strbuf ca = RG_STRBUF_INIT, cb = RG_STRBUF_INIT;
        rg_expr_canonical(a->when, &ca);
        rg_expr_canonical(b->when, &cb);
        assert_int_equal(ca.len, cb.len);
        assert_memory_equal(ca.data, cb.data, ca.len);
        rg_strbuf_free(&ca);
        rg_strbuf_free(&cb);
    }
    for (size_t s = 0; s < rg_ruleset_use_count(one); s++)
        assert_string_equal(rg_ruleset_use(two, s)->evidence_key, rg_ruleset_use(one, s)->evidence_key);
    rg_ruleset_free(two);
    rg_ruleset_free(one);
}

/* A replaced rule keeps no state alive: its names' detectors are not
 * created, its subject use is dropped. */
static void test_replaced_rule_keeps_no_state(void **state)
{
    (void)state;
    static const char a[] = "version: 1\nrules:\n"
                            "  - id: c\n    on: complaint\n    when: ref_age < 1h\n"
                            "    then: [freeze: ref_counterparty]\n";
    static const char b[] = "version: 1\nrules:\n"
                            "  - id: c\n    override: true\n    on: complaint\n    when: reason == fraud\n"
                            "    then: [review: account]\n";
    rg_ruleset *rs = must_load3(a, b, NULL);
    for (size_t d = 0; rg_detectors[d]; d++) {
        size_t n = 0;
        rg_ruleset_detector_uses(rs, rg_detectors[d], &n);
        if (strcmp(rg_detectors[d]->family, "complaints") == 0)
            assert_int_equal(n, 0);
    }
    assert_null(rg_ruleset_subject_use(rs, RG_SUBJ_REF_COUNTERPARTY));
    rg_ruleset_free(rs);
}

static void test_errors_name_both_places(void **state)
{
    (void)state;
    static const char b[] = "version: 1\n"
                            "lists:\n"
                            "  tools: [com.x]\n"
                            "  other: {append: [y]}\n"
                            "signals:\n"
                            "  pay_1h: count(2h, type == transfer)\n"
                            "rules:\n"
                            "  - id: first\n"
                            "    when: amount > 1\n"
                            "    then: [review: account]\n"
                            "  - id: newone\n"
                            "    override: true\n"
                            "    when: amount > 1\n"
                            "    then: [review: account]\n"
                            "  - id: newone2\n"
                            "    when: nosuch > 1\n"
                            "    then: [review: account]\n"
                            "  - id: newone2\n"
                            "    when: amount > 2\n"
                            "    then: [review: account]\n";
    assert_refused3(
        PACK, b, NULL,
        "b.yaml:3:3: duplicate list 'tools' (first at a.yaml:6:3); to add items write 'tools: {append: [...]}'\n"
        "b.yaml:4:3: list 'other' to append to is not defined in an earlier file\n"
        "b.yaml:6:3: duplicate signal 'pay_1h' (first at a.yaml:8:3)\n"
        "b.yaml:8:9: duplicate rule id 'first' (first at a.yaml:10:9); write 'override: true' to replace it\n"
        "b.yaml:11:9: 'override: true', but no earlier file has a rule 'newone' to replace\n"
        "b.yaml:16:11: unknown name 'nosuch'\n"
        "b.yaml:18:9: duplicate rule id 'newone2' (first at line 15)\n");
}

/* An error in a signal of the first file is reported there even when a
 * rule of the second file is the first to use it; files in order. */
static void test_errors_in_their_own_file(void **state)
{
    (void)state;
    static const char a[] = "version: 1\nsignals:\n  s: amount > nosuch\nrules:\n"
                            "  - id: r\n    when: amount > 1\n    then: [review: someone]\n";
    static const char b[] = "version: 1\nrules:\n  - id: q\n    when: s\n    then: [review: account]\n";
    static const char c[] = "version: 1\nsettings:\n  dedupe_horizon: 1 hour\n";
    assert_refused3(a, b, c,
                    "a.yaml:3:15: unknown name 'nosuch'\n"
                    "a.yaml:7:20: unknown subject 'someone' (expected account, counterparty or ref_counterparty)\n"
                    "c.yaml:3:19: bad duration '1 hour' for dedupe_horizon (an integer and a unit: ms, s, m, h or "
                    "d, e.g. 1h)\n");
    /* append within the same file is not how a list is extended. */
    static const char d[] = "version: 1\nlists:\n  l: [a]\n";
    static const char e[] = "version: 1\nlists:\n  l: {append: [b], extra: [c]}\n";
    assert_refused3(d, e, NULL, "b.yaml:3:20: unknown key 'extra' in list 'l' (expected append)\n");
    /* A missing file among readable ones: named, the others still checked. */
    const char *paths[] = {RG_SOURCE_DIR "/rules/default.yaml", "/nonexistent/x.yaml"};
    char *errors = NULL;
    assert_null(rg_ruleset_load_files(paths, 2, &errors));
    assert_non_null(errors);
    assert_non_null(strstr(errors, "/nonexistent/x.yaml:1:1: cannot read the rule file: No such file or directory\n"));
    free(errors);
    /* A file over the 64 MiB limit is refused unread. */
    size_t big_len = (size_t)RG_RULES_MAX_FILE_BYTES + 1;
    char *big = calloc(big_len, 1);
    assert_non_null(big);
    rg_rule_source big_src[2] = {{"ok.yaml", PACK, strlen(PACK)}, {"big.yaml", big, big_len}};
    assert_null(rg_ruleset_load_sources(big_src, 2, &errors));
    assert_string_equal(errors, "big.yaml:1:1: rule file larger than 64 MiB\n");
    free(errors);
    free(big);
    /* More files than a rule set may have. */
    rg_rule_source many[RG_RULES_MAX_FILES + 1];
    for (size_t i = 0; i <= RG_RULES_MAX_FILES; i++)
        many[i] = (rg_rule_source){"m.yaml", "version: 1\n", 11};
    assert_null(rg_ruleset_load_sources(many, RG_RULES_MAX_FILES + 1, &errors));
    assert_string_equal(errors, "m.yaml:1:1: more than 64 rule files in one rule set\n");
    free(errors);
}

/* ---- issue 12.4: durations above the documented maximum -------------- */

static void test_duration_maximum(void **state)
{
    (void)state;
    {
        char *errors = must_refuse("version: 1\n"
                                   "settings:\n"
                                   "  history_horizon: 36501d\n"
                                   "  max_lateness: 106751991167d\n"
                                   "  dedupe_horizon: 9999999999999999999999h\n"
                                   "rules:\n"
                                   "  - id: a\n"
                                   "    when: counterparty_age > 36501d\n"
                                   "    cooldown: 106751991167d\n"
                                   "    then: [review: account]\n"
                                   "  - id: b\n"
                                   "    when: count(52560001m, type == login) > 1\n"
                                   "    then: [review: account]\n"
                                   "  - id: c\n"
                                   "    when: counterparty_senders(3153600000001ms) > 1\n"
                                   "    then: [review: account]\n");
        assert_string_equal(errors,
                            "test.yaml:3:20: duration '36501d' for history_horizon is longer than the maximum 36500d "
                            "(100 years)\n"
                            "test.yaml:4:17: duration '106751991167d' for max_lateness is longer than the maximum "
                            "36500d (100 years)\n"
                            "test.yaml:5:19: duration '9999999999999999999999h' for dedupe_horizon is longer than "
                            "the maximum 36500d (100 years)\n"
                            "test.yaml:8:30: duration '36501d' is longer than the maximum 36500d (100 years)\n"
                            "test.yaml:9:15: duration '106751991167d' for cooldown is longer than the maximum "
                            "36500d (100 years)\n"
                            "test.yaml:12:17: duration '52560001m' is longer than the maximum 36500d (100 years)\n"
                            "test.yaml:15:32: duration '3153600000001ms' is longer than the maximum 36500d (100 "
                            "years)\n");
        free(errors);
    }
    /* The maximum itself is accepted everywhere. */
    rg_ruleset *rs = must_load("version: 1\n"
                               "settings:\n  history_horizon: 36500d\n  max_lateness: 876000h\n"
                               "rules:\n"
                               "  - id: a\n"
                               "    when: counterparty_age > 36500d and count(3153600000000ms, type == login) > 1\n"
                               "    cooldown: 52560000m\n"
                               "    then: [review: account]\n");
    assert_int_equal(rg_ruleset_rule(rs, 0)->cooldown_ms, RG_DURATION_MAX_MS);
    assert_int_equal(rg_ruleset_history_horizon_ms(rs), RG_DURATION_MAX_MS);
    rg_ruleset_free(rs);
}

/* ---- issue 12.1: rules only true past history_horizon ----------------- */

static char *horizon_file(const char *when, const char *horizon)
{
    char *s = malloc(1024);
    assert_non_null(s);
    snprintf(s, 1024,
             "version: 1\n%s%s%s"
             "signals:\n  old: ref_age > 8d\n"
             "rules:\n  - id: h\n    on: [complaint, red_packet_claim]\n    when: '%s'\n"
             "    then: [review: account]\n",
             horizon ? "settings:\n  history_horizon: " : "", horizon ? horizon : "", horizon ? "\n" : "", when);
    return s;
}

static void expect_horizon_refusal(const char *when, const char *horizon, const char *want_start)
{
    char *yaml = horizon_file(when, horizon);
    char *errors = must_refuse(yaml);
    if (strncmp(errors, want_start, strlen(want_start)) != 0)
        fail_msg("for '%s': errors were\n%s\nwanted a start of\n%s", when, errors, want_start);
    assert_non_null(strstr(errors, "settings.history_horizon"));
    assert_non_null(strstr(errors, "rule 'h'"));
    free(errors);
    free(yaml);
}

static void expect_horizon_accepted(const char *when, const char *horizon)
{
    char *yaml = horizon_file(when, horizon);
    rg_ruleset_free(must_load(yaml));
    free(yaml);
}

static void test_history_horizon_check(void **state)
{
    (void)state;
    /* `when` is line 7 (9 under a settings block), its value from column
     * 12 (after the quote): the comparison is reported at its column. */
    expect_horizon_refusal("ref_age > 30d", NULL,
                           "test.yaml:7:12: rule 'h' can only be true past settings.history_horizon: 'ref_age > "
                           "30d' needs ref_age to be 7d or more, but what it measures from is kept for "
                           "history_horizon = 7d only (the default); raise history_horizon or change the condition\n");
    expect_horizon_refusal("ref_age >= 7d", NULL, "test.yaml:7:12: rule 'h'");
    expect_horizon_refusal("amount > 1 and 8d < ref_age", NULL, "test.yaml:7:27: rule 'h'");
    expect_horizon_refusal("not (ref_age < 7d)", NULL, "test.yaml:7:17: rule 'h'");
    expect_horizon_refusal("claim_delay > 30d or ref_age == 7d", NULL, "test.yaml:7:12: rule 'h'");
    expect_horizon_refusal("ref_age in [10d, 12d]", NULL, "test.yaml:7:12: rule 'h'");
    expect_horizon_refusal("old and amount > 5", NULL, "test.yaml:7:12: rule 'h'");   /* through a signal */
    expect_horizon_refusal("ref_age > 2d", "2d",
                           "test.yaml:9:12: rule 'h' can only be true past settings.history_horizon: 'ref_age > "
                           "2d' needs ref_age to be 2d or more, but what it measures from is kept for "
                           "history_horizon = 2d only (set at test.yaml:3:20)");

    expect_horizon_accepted("ref_age > 6d", NULL);
    expect_horizon_accepted("ref_age > 7d - 1ms and ref_age < 7d", NULL);   /* 7d - 1ms is below the horizon */
    expect_horizon_accepted("ref_age > 30d or amount > 5", NULL);
    expect_horizon_accepted("not (ref_age > 30d)", NULL);
    expect_horizon_accepted("ref_age < 30d", NULL);
    expect_horizon_accepted("ref_age != 30d", NULL);
    expect_horizon_accepted("clock_skew > 30d", NULL);           /* no history behind it */
    expect_horizon_accepted("counterparty_age > 30d", NULL);     /* an account fact, kept for good */
    expect_horizon_accepted("ref_age > 30d", "31d");
    expect_horizon_accepted("packet_expired or ref_counterparty == \"x\"", "1s");   /* nothing to compare */
}

/* A later file's history_horizon decides, and is named. */
static void test_history_horizon_across_files(void **state)
{
    (void)state;
    static const char a[] = "version: 1\nrules:\n  - id: late\n    on: complaint\n    when: ref_age > 10d\n"
                            "    then: [review: account]\n";
    static const char b[] = "version: 1\nsettings:\n  history_horizon: 30d\n";
    static const char c[] = "version: 1\nsettings:\n  history_horizon: 10d\n";
    rg_ruleset_free(must_load3(a, b, NULL));
    char *errors = NULL;
    assert_null(load3(a, b, c, &errors));
    assert_non_null(errors);
    assert_non_null(strstr(errors, "a.yaml:5:11: rule 'late' can only be true past settings.history_horizon"));
    assert_non_null(strstr(errors, "(set at c.yaml:3:20)"));
    free(errors);
}

/* ---- the name registry: what `names` prints --------------------------- */

static void test_every_name_has_state(void **state)
{
    (void)state;
    size_t n = 0;
    for (size_t d = 0; rg_detectors[d]; d++)
        for (size_t i = 0; i < rg_detectors[d]->n_names; i++, n++) {
            const rg_name_spec *spec = &rg_detectors[d]->names[i];
            rg_name_kept k = rg_name_kept_of(spec, rg_detectors[d]);
            if (k == RG_KEPT_UNSET || !rg_name_kept_word(k))
                fail_msg("%s: no 'kept'", spec->name);
            const char *st = rg_name_state_of(spec, rg_detectors[d]);
            if (!st || !*st)
                fail_msg("%s: no state text", spec->name);
        }
    assert_true(n >= 33);
    /* The per-event facts of rules.md "State is bounded". */
    static const char *const event_facts[] = {"ref_age", "ref_counterparty", "claim_delay", "packet_expired",
                                              "packet_overclaimed", "packet_reclaimed", NULL};
    for (size_t i = 0; event_facts[i]; i++) {
        const rg_detector *d;
        const rg_name_spec *spec = rg_registry_find(event_facts[i], strlen(event_facts[i]), &d);
        assert_non_null(spec);
        assert_int_equal(rg_name_kept_of(spec, d), RG_KEPT_EVENT);
    }
    static const char *const account_facts[] = {"counterparty_age", "new_device", "prev_login_country", NULL};
    for (size_t i = 0; account_facts[i]; i++) {
        const rg_detector *d;
        const rg_name_spec *spec = rg_registry_find(account_facts[i], strlen(account_facts[i]), &d);
        assert_int_equal(rg_name_kept_of(spec, d), RG_KEPT_ACCOUNT);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_override_append_settings),
        cmocka_unit_test(test_append_seen_by_earlier_rules),
        cmocka_unit_test(test_names_across_files),
        cmocka_unit_test(test_ruleset_id_over_all_files),
        cmocka_unit_test(test_same_as_merged_by_hand),
        cmocka_unit_test(test_replaced_rule_keeps_no_state),
        cmocka_unit_test(test_errors_name_both_places),
        cmocka_unit_test(test_errors_in_their_own_file),
        cmocka_unit_test(test_duration_maximum),
        cmocka_unit_test(test_history_horizon_check),
        cmocka_unit_test(test_history_horizon_across_files),
        cmocka_unit_test(test_every_name_has_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
