/*
 * Unit tests for the condition language (rules/expr_*.c): precedence,
 * three-valued logic, comparisons with unknowns, durations, money, lists,
 * any(), abs(), arithmetic edge cases and the bare-identifier rule.
 * Conditions are loaded from small rule files and evaluated on hand-made
 * events through the real detectors and a real rg_eval_ctx.
 */
#include "test_rules_util.h"

#include "rules/expr.h"
#include "rules/functions.h"

static const char *const TRI[] = {"FALSE", "TRUE", "UNKNOWN"};

#define assert_tri(expr, ev, want)                                                             \
    do {                                                                                       \
        rg_tri got_ = eval_on((expr), (ev));                                                   \
        if (got_ != (want))                                                                    \
            fail_msg("%s: got %s, want %s", (expr), TRI[got_], TRI[want]);                     \
    } while (0)

/* The loader's errors for expr contain `want` (one line, position and
 * message, as "test.yaml:11:7: unknown name 'foo'"). */
#define assert_expr_error(expr, want)                                                          \
    do {                                                                                       \
        char *e_ = expr_errors(expr);                                                          \
        if (!strstr(e_, (want)))                                                               \
            fail_msg("%s: errors were\n%swanted %s", (expr), e_, (want));                      \
        free(e_);                                                                              \
    } while (0)

static rg_event transfer(int64_t amount)
{
    return mk_transfer(T0, "u-1", "u-2", amount);
}

/* The tree's shape shows how the parser bound the operators. */
static const rg_expr *tree_of(rules_fx *f, const char *expr)
{
    fx_load_expr(f, expr);
    return rg_ruleset_rule(f->rs, 0)->when;
}

static void test_precedence_shape(void **state)
{
    (void)state;
    rules_fx f;
    const rg_expr *e = tree_of(&f, "true or false and false");
    assert_int_equal(e->kind, RG_X_OR);          /* and binds tighter than or */
    assert_int_equal(e->b->kind, RG_X_AND);
    fx_close(&f);

    e = tree_of(&f, "not true and false");
    assert_int_equal(e->kind, RG_X_AND);         /* not binds tighter than and */
    assert_int_equal(e->a->kind, RG_X_NOT);
    fx_close(&f);

    e = tree_of(&f, "not amount > 5");
    assert_int_equal(e->kind, RG_X_NOT);         /* comparison binds tighter than not */
    assert_int_equal(e->a->kind, RG_X_CMP);
    fx_close(&f);

    e = tree_of(&f, "amount == 2 + 3 * 4");
    assert_int_equal(e->kind, RG_X_CMP);
    assert_int_equal(e->b->kind, RG_X_ARITH);
    assert_int_equal(e->b->op, RG_OP_ADD);       /* * binds tighter than + */
    assert_int_equal(e->b->b->op, RG_OP_MUL);
    fx_close(&f);

    e = tree_of(&f, "amount - 1 - 2 > 0");       /* left associative */
    assert_int_equal(e->a->op, RG_OP_SUB);
    assert_int_equal(e->a->a->op, RG_OP_SUB);
    fx_close(&f);
}

static void test_precedence_values(void **state)
{
    (void)state;
    rg_event ev = transfer(14);
    assert_tri("true or false and false", &ev, RG_TRUE);      /* = true or (false and false) */
    assert_tri("(true or false) and false", &ev, RG_FALSE);
    assert_tri("not true and false", &ev, RG_FALSE);          /* = (not true) and false */
    assert_tri("not (true and false)", &ev, RG_TRUE);
    assert_tri("amount == 2 + 3 * 4", &ev, RG_TRUE);
    assert_tri("amount == (2 + 3) * 4 - 6", &ev, RG_TRUE);
    assert_tri("amount == 20 - 4 - 2", &ev, RG_TRUE);
    assert_tri("amount == 56 / 2 / 2", &ev, RG_TRUE);
    assert_tri("-amount == -14", &ev, RG_TRUE);
    assert_tri("amount - -4 == 18", &ev, RG_TRUE);
    assert_tri("-amount * 2 == -28", &ev, RG_TRUE);
    assert_tri("- -amount == 14", &ev, RG_TRUE);
}

/* x, y drawn from client.automation / client.hooked: -1 unknown. */
static rg_tri eval_pair(const char *expr, int x, int y)
{
    rg_event ev = mk_event(RG_EV_LOGIN, T0, "u-1");
    ev.client_automation = (int8_t)x;
    ev.client_hooked = (int8_t)y;
    return eval_on(expr, &ev);
}

static void test_three_valued_tables(void **state)
{
    (void)state;
    const int vals[3] = {0, 1, -1};   /* FALSE, TRUE, UNKNOWN, in rg_tri order */
    /* Kleene: rows x, columns y. */
    static const rg_tri AND[3][3] = {{RG_FALSE, RG_FALSE, RG_FALSE},
                                     {RG_FALSE, RG_TRUE, RG_UNKNOWN},
                                     {RG_FALSE, RG_UNKNOWN, RG_UNKNOWN}};
    static const rg_tri OR[3][3] = {{RG_FALSE, RG_TRUE, RG_UNKNOWN},
                                    {RG_TRUE, RG_TRUE, RG_TRUE},
                                    {RG_UNKNOWN, RG_TRUE, RG_UNKNOWN}};
    static const rg_tri NOT[3] = {RG_TRUE, RG_FALSE, RG_UNKNOWN};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            assert_int_equal(eval_pair("client.automation and client.hooked", vals[i], vals[j]), AND[i][j]);
            assert_int_equal(eval_pair("client.automation or client.hooked", vals[i], vals[j]), OR[i][j]);
        }
        assert_int_equal(eval_pair("not client.automation", vals[i], 0), NOT[i]);
        /* A boolean name alone is a comparison: unknown stays unknown. */
        assert_int_equal(eval_pair("client.automation", vals[i], 0), i == 2 ? RG_UNKNOWN : (rg_tri)i);
        assert_int_equal(eval_pair("client.automation == true", vals[i], 0), i == 2 ? RG_UNKNOWN : (rg_tri)i);
    }
}

static void test_comparisons_with_unknown(void **state)
{
    (void)state;
    rg_event login = mk_event(RG_EV_LOGIN, T0, "u-1");   /* no ip, no device, no amount */
    assert_tri("ip == '1.2.3.4'", &login, RG_UNKNOWN);
    assert_tri("ip != '1.2.3.4'", &login, RG_UNKNOWN);
    assert_tri("not ip == '1.2.3.4'", &login, RG_UNKNOWN);   /* not unknown: still no hit */
    assert_tri("amount > 5", &login, RG_UNKNOWN);
    assert_tri("amount + 1 > 5", &login, RG_UNKNOWN);        /* arithmetic on unknown */
    assert_tri("amount > 5 or true", &login, RG_TRUE);       /* unknown or true */
    assert_tri("amount > 5 and false", &login, RG_FALSE);    /* unknown and false */
    assert_tri("amount > 5 and true", &login, RG_UNKNOWN);
    assert_tri("device_id in ['d-1', 'd-2']", &login, RG_UNKNOWN);
    assert_tri("device_id in devices", &login, RG_UNKNOWN);
    assert_tri("counterparty_age < 72h", &login, RG_UNKNOWN);
    login.ip = "1.2.3.4";
    assert_tri("ip == '1.2.3.4'", &login, RG_TRUE);
    assert_tri("ip == \"1.2.3.5\"", &login, RG_FALSE);
}

static void test_durations(void **state)
{
    (void)state;
    rg_event ev = transfer(1);
    assert_tri("72h == 259200000ms", &ev, RG_TRUE);
    assert_tri("72h == 3d", &ev, RG_TRUE);
    assert_tri("1h + 30m == 90m", &ev, RG_TRUE);
    assert_tri("1h - 30m == 1800s", &ev, RG_TRUE);
    assert_tri("2 * 45m == 90m", &ev, RG_TRUE);
    assert_tri("45m * 2 == 90m", &ev, RG_TRUE);
    assert_tri("90m / 2 == 45m", &ev, RG_TRUE);
    assert_tri("500ms < 1s", &ev, RG_TRUE);
    assert_tri("-1s < 0s", &ev, RG_TRUE);
    assert_tri("abs(-90s) == 1m + 30s", &ev, RG_TRUE);
    /* clock_skew = |client_ts - ts| */
    rg_event claim = mk_event(RG_EV_RED_PACKET_CLAIM, T0, "u-1");
    claim.has_client_ts = true;
    claim.client_ts_ms = T0 - 6 * MIN_MS;
    assert_tri("clock_skew > 5m", &claim, RG_TRUE);
    assert_tri("clock_skew + 1m == 7m", &claim, RG_TRUE);
    assert_tri("clock_skew > 6m", &claim, RG_FALSE);
    claim.has_client_ts = false;
    assert_tri("clock_skew > 5m", &claim, RG_UNKNOWN);
}

static void test_money(void **state)
{
    (void)state;
    rg_event ev = transfer(100000);
    assert_tri("amount >= 100000", &ev, RG_TRUE);
    assert_tri("amount > 100000", &ev, RG_FALSE);
    assert_tri("amount == 100000", &ev, RG_TRUE);
    assert_tri("amount + 1 > 100000", &ev, RG_TRUE);
    assert_tri("amount - amount == 0", &ev, RG_TRUE);
    assert_tri("double_amount == 200000", &ev, RG_TRUE);   /* a money signal */
    assert_tri("big", &ev, RG_TRUE);                       /* a boolean signal */
    assert_tri("not big", &ev, RG_FALSE);
    ev = transfer(99999);
    assert_tri("amount >= 100000", &ev, RG_FALSE);
    assert_tri("big", &ev, RG_FALSE);
}

static void test_in_lists(void **state)
{
    (void)state;
    rg_event ev = transfer(200);
    ev.device_id = "d-2";
    assert_tri("type in [transfer, red_packet_send]", &ev, RG_TRUE);
    assert_tri("type in [login, 'complaint']", &ev, RG_FALSE);
    assert_tri("currency in ['CNY', \"USD\"]", &ev, RG_TRUE);
    assert_tri("amount in [100, 200]", &ev, RG_TRUE);
    assert_tri("amount in [100, 300]", &ev, RG_FALSE);
    assert_tri("amount in []", &ev, RG_FALSE);
    assert_tri("device_id in devices", &ev, RG_TRUE);
    assert_tri("not device_id in devices", &ev, RG_FALSE);
    ev.device_id = "d-3";
    assert_tri("device_id in devices", &ev, RG_FALSE);
    ev.device_id = "d-";   /* a prefix of list items is not in the list */
    assert_tri("device_id in devices", &ev, RG_FALSE);
}

static void test_any(void **state)
{
    (void)state;
    static const char *const hit[] = {"com.vendor.keyboard", "com.fake.grabber"};
    static const char *const miss[] = {"com.vendor.keyboard"};
    rg_event ev = mk_event(RG_EV_RED_PACKET_CLAIM, T0, "u-1");
    const char *expr = "any(client.packages in tools)";
    assert_tri(expr, &ev, RG_UNKNOWN);          /* packages not reported */
    ev.has_client_packages = true;
    assert_tri(expr, &ev, RG_FALSE);            /* empty array */
    ev.client_packages = miss;
    ev.n_client_packages = 1;
    assert_tri(expr, &ev, RG_FALSE);
    ev.client_packages = hit;
    ev.n_client_packages = 2;
    assert_tri(expr, &ev, RG_TRUE);
    assert_tri("any(client.packages in [com.vendor.keyboard])", &ev, RG_TRUE);
    assert_tri("any(client.packages in ['com.x'])", &ev, RG_FALSE);
    /* The default pack's rule: unknown flags do not hide a listed package. */
    assert_tri("client.automation or client.hooked or any(client.packages in tools)", &ev, RG_TRUE);
    ev.client_packages = miss;
    ev.n_client_packages = 1;
    assert_tri("client.automation or client.hooked or any(client.packages in tools)", &ev, RG_UNKNOWN);
}

static void test_abs_and_arithmetic_edges(void **state)
{
    (void)state;
    rg_event ev = transfer(300);
    assert_tri("abs(amount - 500) == 200", &ev, RG_TRUE);
    assert_tri("abs(-5) == 5", &ev, RG_TRUE);
    assert_tri("abs(amount) == amount", &ev, RG_TRUE);
    /* Division by zero and int64 overflow have no value: unknown. */
    assert_tri("amount / 0 > 1", &ev, RG_UNKNOWN);
    assert_tri("amount / (2 - 2) == 0", &ev, RG_UNKNOWN);
    assert_tri("not amount / 0 > 1", &ev, RG_UNKNOWN);
    assert_tri("amount * 9223372036854775807 > 0", &ev, RG_UNKNOWN);
    assert_tri("amount / 0 > 1 or amount == 300", &ev, RG_TRUE);
    assert_tri("7 / 2 == 3", &ev, RG_TRUE);      /* integer division truncates */
    assert_tri("-7 / 2 == -3", &ev, RG_TRUE);
}

/* min and max are rows of the function table (rules/functions.c): the
 * checker types them by the row's argument rule, the evaluator calls its
 * eval. */
static void test_min_max(void **state)
{
    (void)state;
    rg_event ev = transfer(300);
    assert_tri("min(amount, 500) == 300", &ev, RG_TRUE);
    assert_tri("max(amount, 500) == 500", &ev, RG_TRUE);
    assert_tri("min(500, amount) == amount", &ev, RG_TRUE);
    assert_tri("max(-5, -7) == -5", &ev, RG_TRUE);
    assert_tri("min(1h, 90m) == 60m", &ev, RG_TRUE);
    assert_tri("max(abs(-2h), 1h) == 2h", &ev, RG_TRUE);
    assert_tri("max(geo_accuracy_km, 5) > 1", &ev, RG_UNKNOWN);     /* unknown in, unknown out */
    assert_tri("min(clock_skew, 1h) < 2h", &ev, RG_UNKNOWN);
    assert_tri("min(clock_skew, 1h) < 2h or true", &ev, RG_TRUE);
    assert_expr_error("min(amount, 1h) > 0", "test.yaml:11:19: wrong type: min() needs numbers of one kind, got "
                                             "money 'amount' and duration 1h");
    assert_expr_error("max(type, 1) > 0", "test.yaml:11:11: wrong type: max() needs a number, got string 'type'");
    assert_expr_error("min(amount) > 0", "test.yaml:11:7: min() takes 2 arguments: min(a, b)");
    assert_expr_error("abs(1, 2) > 0", "test.yaml:11:7: abs() takes 1 argument: abs(x)");
    assert_expr_error("any(client.packages in tools, 1)",
                      "test.yaml:11:7: any() takes one membership test: any(client.packages in LIST)");
    assert_expr_error("max > 1", "test.yaml:11:7: 'max' is a function: write max(...)");
    /* Function names are reserved: no signal or list may take them. */
    char *errors = must_refuse("version: 1\nsignals:\n  min: amount > 1\nlists:\n  max: [a]\nrules: []\n");
    assert_non_null(strstr(errors, "test.yaml:3:3: 'min' is a reserved word and cannot name a signal"));
    assert_non_null(strstr(errors, "test.yaml:5:3: 'max' is a reserved word and cannot name a list"));
    free(errors);
}

/* Checkpoints hold canonical forms of count() filters: abs() and any()
 * keep the bytes they had before functions became table rows (their old
 * node kinds + 1: 9 and 12), and every function's byte is its own. */
static void test_function_canonical_bytes(void **state)
{
    (void)state;
    rg_ruleset *rs = must_load("version: 1\nlists:\n  l: [a]\nrules:\n"
                               "  - {id: a, when: 'count(1h, abs(amount) > 5) > 1', then: [review: account]}\n"
                               "  - {id: b, when: 'count(1h, any(client.packages in l)) > 1', then: [review: account]}\n");
    const rg_name_use *ua = rg_ruleset_rule(rs, 0)->evidence[0], *ub = rg_ruleset_rule(rs, 1)->evidence[0];
    /* Filter form: kind CMP (6 + 1), op GT, BOOL, then abs: 9. */
    rg_strbuf f = RG_STRBUF_INIT;
    rg_expr_canonical(ua->filter, &f);
    assert_true(f.len > 4);
    assert_int_equal((unsigned char)f.data[0], RG_X_CMP + 1);
    assert_int_equal((unsigned char)f.data[3], 9);
    rg_strbuf_reset(&f);
    rg_expr_canonical(ub->filter, &f);
    assert_int_equal((unsigned char)f.data[0], 12);
    rg_strbuf_free(&f);
    rg_ruleset_free(rs);
    for (size_t i = 0; i < rg_function_count(); i++)
        for (size_t k = 0; k < i; k++)
            assert_int_not_equal(rg_function_at(i)->form_code, rg_function_at(k)->form_code);
}

static void test_string_literals(void **state)
{
    (void)state;
    rg_event ev = mk_event(RG_EV_COMPLAINT, T0, "u-1");
    ev.reason = RG_REASON_FRAUD;
    assert_tri("reason == fraud", &ev, RG_TRUE);
    assert_tri("fraud == reason", &ev, RG_TRUE);
    assert_tri("reason == 'fraud'", &ev, RG_TRUE);
    assert_tri("reason != mistake", &ev, RG_TRUE);
    assert_tri("type == complaint", &ev, RG_TRUE);
    assert_tri("account == 'u-1'", &ev, RG_TRUE);
    assert_tri("account == \"it's\"", &ev, RG_FALSE);
    assert_tri("account == 'it\\'s'", &ev, RG_FALSE);
    rg_event send = mk_event(RG_EV_RED_PACKET_SEND, T0, "u-1");
    send.kind = RG_PACKET_TIMED;
    assert_tri("kind != timed", &send, RG_FALSE);
    assert_tri("kind in [group, timed]", &send, RG_TRUE);
    /* A bare word is a string only beside a string-typed name. */
    assert_expr_error("foo == 3", "test.yaml:11:7: unknown name 'foo'");
    assert_expr_error("'x' == foo", "test.yaml:11:14: unknown name 'foo'");
    assert_expr_error("foo == bar", "test.yaml:11:14: unknown name 'bar'");
    assert_expr_error("amount == foo", "test.yaml:11:17: unknown name 'foo'");
    assert_expr_error("foo", "test.yaml:11:7: unknown name 'foo'");
    assert_expr_error("amount in [foo]", "test.yaml:11:18: unknown name 'foo'");
    assert_expr_error("type == tools", "test.yaml:11:15: 'tools' is a list: use it as 'x in tools'");
    /* Values of enumerated fields are checked. */
    assert_expr_error("type == transfre", "test.yaml:11:15: 'type' is never 'transfre'");
    assert_expr_error("reason in [fraud, fruad]", "test.yaml:11:25: 'reason' is never 'fruad'");
}

static void test_type_errors(void **state)
{
    (void)state;
    assert_expr_error("counterparty_age < 259200000",
                      "test.yaml:11:26: wrong type: cannot compare duration 'counterparty_age' with integer "
                      "259200000 (write 72h)");
    assert_expr_error("amount > 1h", "test.yaml:11:16: wrong type: cannot compare money 'amount' with duration 1h");
    assert_expr_error("amount", "test.yaml:11:7: wrong type: a condition must be true or false, got money 'amount'");
    assert_expr_error("type < 'a'", "test.yaml:11:7: wrong type: strings can only be compared with == or !=");
    assert_expr_error("amount + 1h > 0", "test.yaml:11:7: wrong type: cannot add money 'amount' and duration 1h");
    assert_expr_error("1h * 1h > 0s", "test.yaml:11:7: wrong type: cannot multiply duration 1h by duration 1h");
    assert_expr_error("amount and true", "test.yaml:11:7: wrong type: 'and' needs a condition, got money 'amount'");
    assert_expr_error("client.packages == 'x'", "test.yaml:11:7: 'client.packages' holds several values");
    assert_expr_error("client.packages in tools", "test.yaml:11:7: 'client.packages' holds several values");
    assert_expr_error("any(type in tools)", "test.yaml:11:11: any() tests a list of values");
    assert_expr_error("count(24h, counterparty_age < 1h) > 1",
                      "test.yaml:11:18: 'counterparty_age' cannot be used in a count() filter");
    assert_expr_error("count(24h, count(1h, true) > 1) > 1",
                      "test.yaml:11:18: count() cannot be used inside a count() filter");
    assert_expr_error("count(24, true) > 1", "test.yaml:11:13: the window of count() must be a positive duration");
    assert_expr_error("count > 1", "test.yaml:11:7: 'count' needs arguments: count(WINDOW, FILTER)");
    assert_expr_error("amount(1) > 1", "test.yaml:11:7: 'amount' takes no arguments");
    assert_expr_error("frob(1) > 1", "test.yaml:11:7: unknown function 'frob'");
    assert_expr_error("device_id in nolist", "test.yaml:11:20: unknown list 'nolist'");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    assert_expr_error("amount > 10w", "test.yaml:11:16: bad duration '10w'");
    assert_expr_error("amount > 1.5", "test.yaml:11:16: decimal numbers are not supported");
    assert_expr_error("amount > 99999999999999999999", "test.yaml:11:16: integer out of range");
    assert_expr_error("amount = 5", "test.yaml:11:14: '=' is not an operator: compare with '=='");
    assert_expr_error("amount > 5 &&  true", "test.yaml:11:18: write 'and' instead of '&'");
    assert_expr_error("(amount > 5", "test.yaml:11:18: expected ')', found end of expression");
    assert_expr_error("amount > 5 amount", "test.yaml:11:18: unexpected 'amount'");
    assert_expr_error("1 < amount < 5", "test.yaml:11:18: comparisons cannot be chained");
    assert_expr_error("type == 'abc", "test.yaml:11:15: unterminated string");
    assert_expr_error("amount > 5 and", "test.yaml:11:21: unexpected end of expression");
    assert_expr_error("amount in 5", "test.yaml:11:17: expected '[' or a list name after 'in'");
}

static void test_depth_limit(void **state)
{
    (void)state;
    char expr[1200];
    size_t n = 0;
    for (int i = 0; i < 150; i++)
        expr[n++] = '(';
    memcpy(expr + n, "true", 4);
    n += 4;
    for (int i = 0; i < 150; i++)
        expr[n++] = ')';
    expr[n] = '\0';
    assert_expr_error(expr, "expression nested too deeply");
    /* 50 levels are fine. */
    n = 0;
    for (int i = 0; i < 50; i++)
        expr[n++] = '(';
    memcpy(expr + n, "true", 4);
    n += 4;
    for (int i = 0; i < 50; i++)
        expr[n++] = ')';
    expr[n] = '\0';
    rg_event ev = transfer(1);
    assert_tri(expr, &ev, RG_TRUE);
}

/* count() filters are conditions the velocity detector evaluates through
 * rg_eval_condition as each event arrives; the window includes E. */
static void test_count_filter(void **state)
{
    (void)state;
    rules_fx f;
    fx_load(&f, "version: 1\n"
                "signals:\n"
                "  big_10m: count(10m, type == transfer and amount >= 1000)\n"
                "rules:\n"
                "  - id: burst\n"
                "    on: transfer\n"
                "    when: big_10m >= 3\n"
                "    then: [review: account]\n");
    static const int64_t amounts[] = {5000, 10, 2000, 3000, 999};
    static const rg_tri want[] = {RG_FALSE, RG_FALSE, RG_FALSE, RG_TRUE, RG_TRUE};
    for (size_t i = 0; i < 5; i++) {
        rg_event ev = mk_transfer(T0 + (int64_t)i * MIN_MS, "u-1", "u-2", amounts[i]);
        assert_int_equal(fx_rule(&f, 0, &ev), want[i]);
    }
    /* 11 minutes after the first: it has left the window. */
    rg_event late = mk_transfer(T0 + 10 * MIN_MS + 1, "u-1", "u-2", 10);
    assert_int_equal(fx_rule(&f, 0, &late), RG_FALSE);
    /* Another account has its own window. */
    rg_event other = mk_transfer(T0 + 10 * MIN_MS + 2, "u-9", "u-2", 5000);
    assert_int_equal(fx_rule(&f, 0, &other), RG_FALSE);
    fx_close(&f);
}

/* The canonical form of a count() use, compared across two rule files:
 * equal for the same window and filter however written (spacing, quotes,
 * 60m for 1h, a list with the same items in another order), different
 * for another window, literal, operand order or list content. */
static const char *canon(const rg_ruleset *rs, const char *rule_id, rg_strbuf *out)
{
    const rg_detector *velocity = NULL;
    assert_non_null(rg_registry_find("count", 5, &velocity));
    size_t n;
    const rg_name_use *const *uses = rg_ruleset_detector_uses(rs, velocity, &n);
    for (size_t r = 0; r < rg_ruleset_rule_count(rs); r++) {
        const rg_rule *rule = rg_ruleset_rule(rs, r);
        if (strcmp(rule->id, rule_id) != 0)
            continue;
        for (size_t i = 0; i < n; i++) {
            for (size_t k = 0; k < rule->n_evidence; k++) {
                if (rule->evidence[k] == uses[i]) {
                    rg_strbuf_reset(out);
                    rg_use_canonical(uses[i], out);
                    assert_true(rg_strbuf_ok(out));
                    return out->data;
                }
            }
        }
    }
    fail_msg("no count() use in rule %s", rule_id);
    return NULL;
}

static void test_use_canonical_across_files(void **state)
{
    (void)state;
    rg_ruleset *a = must_load("version: 1\n"
                              "lists:\n"
                              "  watched: [d1, d2]\n"
                              "rules:\n"
                              "  - {id: r1, on: login, when: 'count(1h, type == login) >= 3', then: [review: account]}\n"
                              "  - {id: r2, on: transfer, when: 'count(1h, amount >= 1000 and type == transfer) >= 3', then: [review: account]}\n"
                              "  - {id: r3, on: login, when: 'count(1h, device_id in watched) >= 3', then: [review: account]}\n");
    rg_ruleset *b = must_load("version: 1\n"
                              "lists:\n"
                              "  watched: [d2, d1]\n"
                              "  other: [d1, d3]\n"
                              "rules:\n"
                              "  - {id: same, on: login, when: 'count(60m,type==\"login\") >= 9', then: [review: account]}\n"
                              "  - {id: swapped, on: transfer, when: 'count(1h, type == transfer and amount >= 1000) >= 3', then: [review: account]}\n"
                              "  - {id: literal, on: transfer, when: 'count(1h, amount >= 1001 and type == transfer) >= 3', then: [review: account]}\n"
                              "  - {id: window, on: login, when: 'count(2h, type == login) >= 3', then: [review: account]}\n"
                              "  - {id: list_same, on: login, when: 'count(1h, device_id in watched) >= 3', then: [review: account]}\n"
                              "  - {id: list_other, on: login, when: 'count(1h, device_id in other) >= 3', then: [review: account]}\n");
    rg_strbuf x = RG_STRBUF_INIT, y = RG_STRBUF_INIT;
#define SAME(ra, rb) do { canon(a, ra, &x); canon(b, rb, &y); \
        assert_true(x.len == y.len && memcmp(x.data, y.data, x.len) == 0); } while (0)
#define DIFFERENT(ra, rb) do { canon(a, ra, &x); canon(b, rb, &y); \
        assert_false(x.len == y.len && memcmp(x.data, y.data, x.len) == 0); } while (0)
    SAME("r1", "same");
    DIFFERENT("r2", "swapped");   /* structural: operand order counts */
    DIFFERENT("r2", "literal");
    DIFFERENT("r1", "window");
    SAME("r3", "list_same");      /* a list by its items, in any order */
    DIFFERENT("r3", "list_other");
#undef SAME
#undef DIFFERENT
    rg_strbuf_free(&x);
    rg_strbuf_free(&y);
    rg_ruleset_free(a);
    rg_ruleset_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_precedence_shape),
        cmocka_unit_test(test_precedence_values),
        cmocka_unit_test(test_three_valued_tables),
        cmocka_unit_test(test_comparisons_with_unknown),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_money),
        cmocka_unit_test(test_in_lists),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_abs_and_arithmetic_edges),
        cmocka_unit_test(test_min_max),
        cmocka_unit_test(test_function_canonical_bytes),
        cmocka_unit_test(test_string_literals),
        cmocka_unit_test(test_type_errors),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_count_filter),
        cmocka_unit_test(test_use_canonical_across_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
