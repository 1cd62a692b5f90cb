/*
 * Unit tests for loading rule files (rules/yaml_load.c, load_rules.c,
 * load_names.c, ruleset.c): the default pack, every kind of error with its
 * exact FILE:LINE:COLUMN, all errors of a file reported at once, name uses
 * (merging, slots, evidence keys, unused signals), settings, lists,
 * subjects and the check-rules description.
 */
#include "test_rules_util.h"

#ifndef RG_TEST_DATA
#define RG_TEST_DATA "tests/data"
#endif

/* The whole error output of a refused file equals `want`. */
static void assert_errors(const char *yaml, const char *want)
{
    char *errors = must_refuse(yaml);
    if (strcmp(errors, want) != 0)
        fail_msg("errors were\n%s\nwanted\n%s", errors, want);
    free(errors);
}

static const rg_rule *rule_by_id(const rg_ruleset *rs, const char *id)
{
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++)
        if (strcmp(rg_ruleset_rule(rs, i)->id, id) == 0)
            return rg_ruleset_rule(rs, i);
    fail_msg("no rule %s", id);
    return NULL;
}

static const char *evidence_keys(const rg_rule *r, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < r->n_evidence; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s", i ? "," : "", r->evidence[i]->evidence_key);
    return buf;
}

static void test_default_pack(void **state)
{
    (void)state;
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(RG_SOURCE_DIR "/rules/default.yaml", &errors);
    if (!rs)
        fail_msg("%s", errors);
    static const char *const ids[] = {"hf_transfers_24h", "new_recipient_large", "new_account_mule",
                                      "large_transfer", "ip_geo_mismatch", "new_device_remote_ip",
                                      "instant_claims", "recall_burst", "automation_client", "clock_tamper",
                                      "forged_claim", "complaint_fraud_1h", "complaint_late"};
    assert_int_equal(rg_ruleset_rule_count(rs), 13);
    for (size_t i = 0; i < 13; i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        assert_string_equal(r->id, ids[i]);
        assert_int_equal(r->index, i);
        assert_true(r->enabled);
        assert_int_equal(r->cooldown_ms, 0);
        assert_non_null(r->message);
    }
    assert_null(rg_ruleset_rule(rs, 13));
    assert_int_equal(strlen(rg_ruleset_id(rs)), 12);
    char buf[256];
    const rg_rule *r = rule_by_id(rs, "new_recipient_large");
    assert_int_equal(r->on_mask, RG_EV_BIT(RG_EV_TRANSFER));
    assert_string_equal(evidence_keys(r, buf, sizeof buf), "counterparty_age_s,amount");
    r = rule_by_id(rs, "new_account_mule");
    assert_string_equal(evidence_keys(r, buf, sizeof buf), "counterparty_age_s,counterparty_senders_24h");
    assert_int_equal(r->n_then, 1);
    assert_int_equal(r->then[0].action, RG_ACT_FREEZE);
    assert_int_equal(r->then[0].subject, RG_SUBJ_COUNTERPARTY);
    r = rule_by_id(rs, "ip_geo_mismatch");
    assert_int_equal(r->on_mask, RG_EV_ALL);
    r = rule_by_id(rs, "new_device_remote_ip");
    assert_int_equal(r->n_then, 2);
    assert_int_equal(r->then[0].action, RG_ACT_FACE_VERIFY);
    assert_int_equal(r->then[1].action, RG_ACT_FREEZE);
    r = rule_by_id(rs, "complaint_fraud_1h");
    assert_int_equal(r->then[0].subject, RG_SUBJ_REF_COUNTERPARTY);
    assert_int_equal(r->then[1].subject, RG_SUBJ_ACCOUNT);
    assert_string_equal(evidence_keys(r, buf, sizeof buf), "reason,ref_age_s");
    r = rule_by_id(rs, "automation_client");
    assert_int_equal(r->on_mask, RG_EV_BIT(RG_EV_TRANSFER) | RG_EV_BIT(RG_EV_RED_PACKET_SEND) |
                                     RG_EV_BIT(RG_EV_RED_PACKET_CLAIM) | RG_EV_BIT(RG_EV_RECALL_REQUEST));
    /* Subjects resolve through names. */
    assert_null(rg_ruleset_subject_use(rs, RG_SUBJ_ACCOUNT));
    assert_string_equal(rg_ruleset_subject_use(rs, RG_SUBJ_COUNTERPARTY)->spec->name, "counterparty");
    assert_string_equal(rg_ruleset_subject_use(rs, RG_SUBJ_REF_COUNTERPARTY)->spec->name, "ref_counterparty");
    size_t n = 0;
    const char *const *tools = rg_ruleset_list(rs, "recall_tools", &n);
    assert_non_null(tools);
    assert_true(n >= 5);
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= strcmp(tools[i], "com.fake.redpacket.grabber") == 0;
    assert_true(found);
    assert_int_equal(rg_ruleset_dedupe_horizon_ms(rs), HOUR_MS);
    assert_int_equal(rg_ruleset_history_horizon_ms(rs), 7 * 24 * HOUR_MS);
    /* Every slot is 0..n-1 and every detector's uses are in detector_slot order. */
    for (size_t i = 0; i < rg_ruleset_use_count(rs); i++)
        assert_int_equal(rg_ruleset_use(rs, i)->slot, i);
    for (size_t d = 0; rg_detectors[d]; d++) {
        const rg_name_use *const *uses = rg_ruleset_detector_uses(rs, rg_detectors[d], &n);
        for (size_t k = 0; k < n; k++) {
            assert_ptr_equal(uses[k]->detector, rg_detectors[d]);
            assert_int_equal(uses[k]->detector_slot, k);
            assert_int_equal(uses[k]->detector_index, d);
        }
    }
    rg_ruleset_free(rs);
}

static void test_error_kinds(void **state)
{
    (void)state;
    /* unknown name: column of the token inside the expression */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: amount > 5 and foo\n    then: [review: account]\n",
                  "test.yaml:4:26: unknown name 'foo'\n");
    /* wrong type, with the fix */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: counterparty_age < 259200000\n    then: [review: account]\n",
                  "test.yaml:4:30: wrong type: cannot compare duration 'counterparty_age' with integer 259200000 "
                  "(write 72h)\n");
    /* duplicate id */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then: [review: account]\n"
                  "  - id: a\n    when: true\n    then: [review: account]\n",
                  "test.yaml:6:9: duplicate rule id 'a' (first at line 3)\n");
    /* bad duration */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then: [review: account]\n    cooldown: 5y\n",
                  "test.yaml:6:15: bad duration '5y' for cooldown (an integer and a unit: ms, s, m, h or d, e.g. 1h)\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    when: clock_skew > 5x\n    then: [review: account]\n",
                  "test.yaml:4:24: bad duration '5x' (an integer and one of the units ms, s, m, h, d, e.g. 72h)\n");
    /* unknown list */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: device_id in nolist\n    then: [review: account]\n",
                  "test.yaml:4:24: unknown list 'nolist'\n");
    /* unknown action, unknown subject */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then:\n      - zap: account\n"
                  "      - review: nobody\n",
                  "test.yaml:6:9: unknown action 'zap' (expected freeze, face_verify or review)\n"
                  "test.yaml:7:17: unknown subject 'nobody' (expected account, counterparty or ref_counterparty)\n");
    /* unknown event type */
    assert_errors("version: 1\nrules:\n  - id: a\n    on: [login, logon]\n    when: true\n    then: [review: account]\n",
                  "test.yaml:4:17: unknown event type 'logon' (one of: account_open, login, transfer, "
                  "red_packet_send, red_packet_claim, recall_request, complaint)\n");
    /* bad id */
    assert_errors("version: 1\nrules:\n  - id: Big-One\n    when: true\n    then: [review: account]\n",
                  "test.yaml:3:9: bad rule id 'Big-One': use lower-case letters, digits and _, at most 64\n");
    /* subjects that the rule's events cannot have */
    assert_errors("version: 1\nrules:\n  - id: a\n    on: login\n    when: true\n    then: [freeze: counterparty]\n",
                  "test.yaml:6:20: subject 'counterparty' is the counterparty of a transfer: add transfer to 'on'\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    on: transfer\n    when: true\n    then: [review: ref_counterparty]\n",
                  "test.yaml:6:20: subject 'ref_counterparty' is named by a complaint: add complaint to 'on'\n");
}

static void test_file_structure_errors(void **state)
{
    (void)state;
    assert_errors("", "test.yaml:1:1: empty rule file: expected 'version: 1' and 'rules:'\n");
    assert_errors("rules: []\n", "test.yaml:1:1: missing 'version: 1'\n");
    assert_errors("version: 2\n", "test.yaml:1:10: unsupported version '2': this riskgate reads version 1\n");
    assert_errors("version: 1\nrulez: []\n",
                  "test.yaml:2:1: unknown key 'rulez' in the rule file (expected version, settings, lists, signals, rules)\n");
    assert_errors("version: 1\nversion: 1\n", "test.yaml:2:1: duplicate key 'version' in the rule file (first at line 1)\n");
    assert_errors("version: 1\nsettings:\n  max_latenes: 1m\n",
                  "test.yaml:3:3: unknown key 'max_latenes' in settings (expected dedupe_horizon, history_horizon, "
                  "max_lateness)\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    then: [review: account]\n", "test.yaml:3:5: rule without 'when'\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then: review\n",
                  "test.yaml:5:11: 'then' must be a list of 'action: subject' pairs, e.g. '- freeze: counterparty'\n");
    assert_errors("version: 1\nsignals:\n  amount: 1 + 1\n",
                  "test.yaml:3:3: 'amount' is a built-in name and cannot name a signal\n");
    assert_errors("version: 1\nlists:\n  l: [a]\nsignals:\n  l: 1\n", "test.yaml:5:3: 'l' names both a list and a signal\n");
    assert_errors("version: 1\nsignals:\n  a: b + 1\n  b: a * 2\n",
                  "test.yaml:4:6: signal 'a' depends on itself: a -> b -> a\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then: [review: account]\n    message: 'x {nope} {{'\n",
                  "test.yaml:6:18: unknown name 'nope' in message\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then: [review: account]\n    message: 'x {count}'\n",
                  "test.yaml:6:18: 'count' needs arguments and cannot be a placeholder: name it under signals: and use "
                  "the signal\n");
    assert_errors("version: 1\nrules:\n  - id: a\n    when: true\n    then: [review: account]\n    message: 'x {amount'\n",
                  "test.yaml:6:17: unclosed '{' in message (write {{ for a literal brace)\n");
}

static void test_quoted_columns(void **state)
{
    (void)state;
    /* Double quotes: +1 for the quote. */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: \"amount > 5 and foo\"\n    then: [review: account]\n",
                  "test.yaml:4:27: unknown name 'foo'\n");
    /* Single quotes: '' is one character of the value but two columns. */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: 'account == ''x'' and foo'\n    then: [review: account]\n",
                  "test.yaml:4:33: unknown name 'foo'\n");
    /* A literal block: the line and column of the token itself. */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: |\n      amount > 5 and\n        foo\n    then: [review: account]\n",
                  "test.yaml:6:9: unknown name 'foo'\n");
    /* A folded block: the scalar's start. */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: >\n      amount > 5 and\n      foo\n    then: [review: account]\n",
                  "test.yaml:4:11: unknown name 'foo'\n");
    /* Characters, not bytes: the column counts the multi-byte 'é' once. */
    assert_errors("version: 1\nrules:\n  - id: a\n    when: account == 'é' and foo\n    then: [review: account]\n",
                  "test.yaml:4:30: unknown name 'foo'\n");
}

static void test_all_errors_reported(void **state)
{
    (void)state;
    char *errors = NULL;
    const char *path = RG_TEST_DATA "/rules/many_errors.yaml";
    assert_null(rg_ruleset_load_file(path, &errors));
    assert_non_null(errors);
    char want[8192];
    snprintf(want, sizeof want,
             "%1$s:5:19: bad duration '1 hour' for dedupe_horizon (an integer and a unit: ms, s, m, h or d, e.g. 1h)\n"
             "%1$s:6:3: unknown key 'retention' in settings (expected dedupe_horizon, history_horizon, max_lateness)\n"
             "%1$s:12:11: signal 'loop_a' depends on itself: loop_a -> loop_b -> loop_a\n"
             "%1$s:14:9: bad rule id 'Big-Transfer': use lower-case letters, digits and _, at most 64\n"
             "%1$s:15:20: unknown event type 'transfre' (one of: account_open, login, transfer, red_packet_send, "
             "red_packet_claim, recall_request, complaint)\n"
             "%1$s:16:51: wrong type: cannot compare duration 'counterparty_age' with integer 259200000 (write 72h)\n"
             "%1$s:21:64: unknown name 'foo'\n"
             "%1$s:23:17: subject 'counterparty' is the counterparty of a transfer: add transfer to 'on'\n"
             "%1$s:24:9: unknown action 'lock' (expected freeze, face_verify or review)\n"
             "%1$s:25:9: duplicate rule id 'dup' (first at line 19)\n"
             "%1$s:26:35: unknown list 'recall_tools'\n"
             "%1$s:28:17: unknown subject 'someone' (expected account, counterparty or ref_counterparty)\n"
             "%1$s:29:15: bad duration '10 minutes' for cooldown (an integer and a unit: ms, s, m, h or d, e.g. 1h)\n"
             "%1$s:30:16: unknown name 'nosuch' in message\n"
             "%1$s:35:17: subject 'ref_counterparty' is named by a complaint: add complaint to 'on'\n"
             "%1$s:36:14: 'enabled' must be true or false, not 'maybe'\n"
             "%1$s:37:5: unknown key 'colour' in a rule (expected id, on, when, then, message, cooldown, enabled, override)\n",
             path);
    if (strcmp(errors, want) != 0)
        fail_msg("errors were\n%s\nwanted\n%s", errors, want);
    free(errors);

    errors = NULL;
    path = RG_TEST_DATA "/rules/bad_yaml.yaml";
    assert_null(rg_ruleset_load_file(path, &errors));
    snprintf(want, sizeof want,
             "%s:5:4: YAML syntax error: did not find expected '-' indicator while parsing a block collection\n", path);
    assert_string_equal(errors, want);
    free(errors);

    errors = NULL;
    assert_null(rg_ruleset_load_file(RG_TEST_DATA "/rules/no_such_file.yaml", &errors));
    assert_string_equal(errors, RG_TEST_DATA "/rules/no_such_file.yaml:1:1: cannot read the rule file: No such file or "
                                             "directory\n");
    free(errors);
}

static void test_small_pack(void **state)
{
    (void)state;
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(RG_TEST_DATA "/rules/good_small.yaml", &errors);
    if (!rs)
        fail_msg("%s", errors);
    assert_int_equal(rg_ruleset_dedupe_horizon_ms(rs), 30 * MIN_MS);
    assert_int_equal(rg_ruleset_history_horizon_ms(rs), 72 * HOUR_MS);
    assert_int_equal(rg_ruleset_max_lateness_ms(rs), 0);
    const rg_rule *a = rg_ruleset_rule(rs, 0), *b = rg_ruleset_rule(rs, 1);
    assert_int_equal(a->cooldown_ms, 15 * MIN_MS);
    assert_true(a->enabled);
    assert_false(b->enabled);
    assert_int_equal(a->line, 14);
    /* The signal is one use however many rules name it; the unused
     * signal's name (counterparty_age) has no use, so no state. */
    assert_ptr_equal(a->evidence[0], b->evidence[0]);
    assert_string_equal(a->evidence[0]->evidence_key, "logins_1h");
    assert_null(a->evidence[0]->detector);
    assert_non_null(a->evidence[0]->signal);
    const rg_detector *cp = NULL;
    assert_non_null(rg_registry_find("counterparty_age", 16, &cp));
    size_t n = 99;
    assert_null(rg_ruleset_detector_uses(rs, cp, &n));
    assert_int_equal(n, 0);
    /* uses: the signal, count(1h, ...), type (its filter), account */
    assert_int_equal(rg_ruleset_use_count(rs), 4);
    assert_null(rg_ruleset_list(rs, "nope", &n));
    const char *const *vip = rg_ruleset_list(rs, "vip", &n);
    assert_int_equal(n, 2);
    assert_string_equal(vip[0], "u-1");
    assert_string_equal(vip[1], "u-2");

    rg_strbuf out = RG_STRBUF_INIT;
    rg_ruleset_describe(rs, &out);
    assert_non_null(strstr(out.data, "ruleset id "));
    assert_non_null(strstr(out.data, rg_ruleset_id(rs)));
    assert_non_null(strstr(out.data, "logins_1h (integer) = count(1h, type == login)\n"));
    assert_non_null(strstr(out.data, "unused_age (boolean) = counterparty_age < 1h   [unused: no state kept]"));
    assert_non_null(strstr(out.data, "login_burst_hard (line 21) [disabled]"));
    assert_non_null(strstr(out.data, "  velocity: count(1h, type == login) (per account)\n"));
    assert_non_null(strstr(out.data, "vip: 2 items"));
    rg_strbuf_free(&out);
    rg_ruleset_free(rs);
}

static void test_use_merging_and_keys(void **state)
{
    (void)state;
    rg_ruleset *rs = must_load("version: 1\nrules:\n"
                               "  - id: a\n    when: count(24h, type == login) > 1 and count(24h, type in [login]) > 2\n"
                               "    then: [review: account]\n"
                               "  - id: b\n    when: count(24h,  type == login) > 3 and amount > 5 and amount < 9\n"
                               "    then: [review: account]\n"
                               "  - id: c\n    when: counterparty_senders(24h) > 1 and counterparty_senders(1d) > 1\n"
                               "    then: [review: account]\n");
    char buf[256];
    /* Equal filters share a use whatever the spacing; a different filter
     * with the same window gets its own use and a distinct key. */
    assert_string_equal(evidence_keys(rg_ruleset_rule(rs, 0), buf, sizeof buf), "count_24h,count_24h_2");
    assert_string_equal(evidence_keys(rg_ruleset_rule(rs, 1), buf, sizeof buf), "count_24h,amount");
    assert_ptr_equal(rg_ruleset_rule(rs, 0)->evidence[0], rg_ruleset_rule(rs, 1)->evidence[0]);
    /* 24h and 1d are the same window: one use, keyed as first written. */
    assert_string_equal(evidence_keys(rg_ruleset_rule(rs, 2), buf, sizeof buf), "counterparty_senders_24h");
    assert_int_equal(rg_ruleset_rule(rs, 0)->evidence[0]->window_ms, 24 * HOUR_MS);
    assert_non_null(rg_ruleset_rule(rs, 0)->evidence[0]->filter);
    /* two counts, type, amount, counterparty_senders */
    assert_int_equal(rg_ruleset_use_count(rs), 5);
    rg_ruleset_free(rs);
}

static void test_settings_defaults(void **state)
{
    (void)state;
    rg_ruleset *rs = must_load("version: 1\n");
    assert_int_equal(rg_ruleset_rule_count(rs), 0);
    assert_int_equal(rg_ruleset_use_count(rs), 0);
    assert_int_equal(rg_ruleset_dedupe_horizon_ms(rs), HOUR_MS);
    assert_int_equal(rg_ruleset_history_horizon_ms(rs), 7 * 24 * HOUR_MS);
    assert_int_equal(rg_ruleset_max_lateness_ms(rs), HOUR_MS);
    assert_string_equal(rg_ruleset_path(rs), "test.yaml");
    rg_ruleset_free(rs);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(rg_action_name(RG_ACT_FREEZE), "freeze");
    assert_string_equal(rg_action_name(RG_ACT_FACE_VERIFY), "face_verify");
    assert_string_equal(rg_action_name(RG_ACT_REVIEW), "review");
    assert_string_equal(rg_action_name(RG_ACT_RELEASE), "release");
    assert_string_equal(rg_subject_name(RG_SUBJ_ACCOUNT), "account");
    assert_string_equal(rg_subject_name(RG_SUBJ_COUNTERPARTY), "counterparty");
    assert_string_equal(rg_subject_name(RG_SUBJ_REF_COUNTERPARTY), "ref_counterparty");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_pack),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_file_structure_errors),
        cmocka_unit_test(test_quoted_columns),
        cmocka_unit_test(test_all_errors_reported),
        cmocka_unit_test(test_small_pack),
        cmocka_unit_test(test_use_merging_and_keys),
        cmocka_unit_test(test_settings_defaults),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
