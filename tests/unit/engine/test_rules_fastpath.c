/*
 * Unit tests for the specialised condition nodes (rules/expr_eval.c,
 * "Specialised nodes"): every shape the loader specialises answers what
 * the generic walk answers, on events that make its names known, unknown,
 * or of another runtime type than the static one (a preset value), and a
 * comparison whose left operand is unknown leaves its right one unasked.
 * Owner: rules.
 */
#include "test_rules_util.h"

#include <arpa/inet.h>

#include "rules/expr.h"

static const char *const TRI[] = {"FALSE", "TRUE", "UNKNOWN"};

/* Each shape that gets its own evaluator, and shapes around them. */
static const char *const EXPRS[] = {
    "amount > 5000", "amount >= 100000", "amount < 100000", "amount <= 7", "amount == 7", "amount != 7",
    "clock_skew > 5m", "clock_skew <= 1s", "shares == 3",
    "reason == fraud", "reason != fraud", "type == transfer", "type != login", "ip == '1.2.3.4'",
    "type in [transfer, login]", "device_id in ['d-1', 'd-2']", "device_id in devices",
    "client.automation", "not client.hooked", "client.automation or client.hooked",
    "client.automation and amount > 5", "amount > 5 or client.hooked", "not (amount > 5 and clock_skew < 1s)",
    "big", "double_amount > 15", "claim_delay + clock_skew > 1s", "clock_skew > claim_delay", "amount * 2 >= 14",
    "any(client.packages in tools)", "any(client.packages in ['com.fake.grabber'])", "not any(client.packages in tools)",
    "ip in tools", "geo_accuracy_km < 1 + geo_distance_km", "clock_skew > 1s + claim_delay",
    "geo_distance_km > 500 + geo_accuracy_km", "5 < amount", "geo_accuracy_km >= 0",
    /* roots the event type settles for some types (rg_expr_fold_types) */
    "type == login and amount > 5", "amount > 5 and type == transfer", "type == transfer or client.hooked",
    "client.hooked or type != login", "not (type == login)", "type in [transfer, complaint] and clock_skew > 1s",
    "big and type == transfer", "type == transfer and amount > 5 and client.hooked", "not type == complaint or big",
    /* gated on the event's parts (rg_expr.fire_all, fire_any) */
    "client.automation or client.hooked or any(client.packages in tools)", "client.automation and client.hooked",
    "(client.automation or amount > 5) and client.hooked", "(client.automation or client.hooked) and clock_skew > 1s",
    "geo_distance_km > 500 + geo_accuracy_km or client.hooked", "not client.automation or client.hooked",
    /* chains of boolean names (bool_name_fires, fires_or's left chain) */
    "client.hooked or big or client.automation", "big or client.hooked or amount > 5 or client.automation",
    "(client.automation or big) or (client.hooked or big)", "big and client.hooked and client.automation",
};

/* An event of each kind the shapes care about. */
static rg_event event_at(size_t i)
{
    rg_event ev;
    switch (i) {
    case 0: ev = mk_transfer(T0, "u-1", "u-2", 7); break;
    case 1: ev = mk_transfer(T0, "u-1", "u-2", 200000); break;
    case 2:
        ev = mk_event(RG_EV_LOGIN, T0, "u-1");   /* amount unknown */
        ev.ip = "1.2.3.4";
        ev.device_id = "d-2";
        ev.client_automation = 1;
        ev.client_hooked = 0;
        break;
    case 3:
        ev = mk_event(RG_EV_COMPLAINT, T0, "u-1");
        ev.reason = RG_REASON_FRAUD;
        ev.has_client_ts = true;
        ev.client_ts_ms = T0 - 600000;
        break;
    case 4: {
        static const char *const packages[] = {"com.fake.grabber", NULL};
        ev = mk_transfer(T0, "u-1", "u-2", 3);
        ev.has_client_packages = true;
        ev.client_packages = packages;
        ev.n_client_packages = 1;
        ev.client_automation = 0;
        ev.client_hooked = 1;
        ev.has_client_ts = true;
        ev.client_ts_ms = T0 + 500;
        break;
    }
    default: ev = mk_event(RG_EV_LOGIN, T0, "u-1"); break;   /* nothing known */
    }
    return ev;
}
#define N_EVENTS 6

/* Both answers for expr on event i, and whether it fires (rg_eval_fires,
 * on a third copy, so that nothing the others computed is in its memo);
 * `amount` preset to *preset when given (a value of another runtime type
 * than the name's static one). */
static void both_ways(const char *expr, size_t i, const rg_value *preset, rg_tri *fast, rg_tri *generic, bool *fires)
{
    char *yaml = one_rule_file(expr);
    rules_fx f, g, h;
    fx_load(&f, yaml);
    fx_load(&g, yaml);
    fx_load(&h, yaml);
    free(yaml);
    const rg_expr *when = rg_ruleset_rule(f.rs, 0)->when;
    assert_non_null(when->tri);   /* every boolean root is specialised */
    rg_expr_despecialise(rg_ruleset_rule(g.rs, 0)->when);
    rg_event ev = event_at(i);
    rules_fx *fx[3] = {&f, &g, &h};
    rg_tri *out[2] = {fast, generic};
    for (int k = 0; k < 3; k++) {
        fx_begin(fx[k], &ev);
        const rg_name_use *amount = fx_use_named(fx[k]->rs, "amount");
        if (preset && amount)
            rg_eval_preset(&fx[k]->ctx, amount, *preset);
        if (k < 2)
            *out[k] = rg_eval_condition(&fx[k]->ctx, rg_ruleset_rule(fx[k]->rs, 0)->when);
        else
            *fires = rg_eval_fires(&fx[k]->ctx, rg_ruleset_rule(fx[k]->rs, 0)->when);
        fx_end(fx[k], &ev);
    }
    fx_close(&f);
    fx_close(&g);
    fx_close(&h);
}

static void test_specialised_equals_generic(void **state)
{
    (void)state;
    const rg_value number = rg_number(5.5), unknown = rg_unknown(RG_T_MONEY);
    const rg_value *presets[] = {NULL, &number, &unknown};
    for (size_t x = 0; x < sizeof EXPRS / sizeof EXPRS[0]; x++)
        for (size_t i = 0; i < N_EVENTS; i++)
            for (size_t p = 0; p < 3; p++) {
                rg_tri fast, generic;
                bool fires;
                both_ways(EXPRS[x], i, presets[p], &fast, &generic, &fires);
                if (fast != generic)
                    fail_msg("%s on event %zu (preset %zu): specialised %s, generic %s", EXPRS[x], i, p, TRI[fast],
                             TRI[generic]);
                if (fires != (generic == RG_TRUE))
                    fail_msg("%s on event %zu (preset %zu): fires %d, generic %s", EXPRS[x], i, p, fires,
                             TRI[generic]);
            }
}

/* The specialised answers, spelled out (the comparison above cannot see a
 * mistake both ways share). */
static void test_specialised_answers(void **state)
{
    (void)state;
    rg_event seven = event_at(0), login = event_at(2), complaint = event_at(3);
    const struct {
        const char *expr;
        const rg_event *ev;
        rg_tri want;
    } cases[] = {
        {"amount > 6", &seven, RG_TRUE},         {"amount > 7", &seven, RG_FALSE},
        {"amount >= 7", &seven, RG_TRUE},        {"amount < 7", &seven, RG_FALSE},
        {"amount <= 7", &seven, RG_TRUE},        {"amount == 7", &seven, RG_TRUE},
        {"amount != 7", &seven, RG_FALSE},       {"amount > 6", &login, RG_UNKNOWN},
        {"amount != 7", &login, RG_UNKNOWN},     {"reason == fraud", &complaint, RG_TRUE},
        {"reason != fraud", &complaint, RG_FALSE}, {"reason == fraud", &seven, RG_UNKNOWN},
        {"type in [transfer, login]", &login, RG_TRUE}, {"type in [complaint]", &login, RG_FALSE},
        {"device_id in ['d-1', 'd-2']", &seven, RG_UNKNOWN}, {"client.automation", &login, RG_TRUE},
        {"client.automation", &seven, RG_UNKNOWN}, {"clock_skew > 5m", &complaint, RG_TRUE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rg_tri got = eval_on(cases[i].expr, cases[i].ev);
        if (got != cases[i].want)
            fail_msg("%s: got %s, want %s", cases[i].expr, TRI[got], TRI[cases[i].want]);
    }
}

/* A comparison (or sum) whose left operand is unknown is unknown whatever
 * the right one is: the right one is not evaluated (so an event without a
 * location asks no GeoIP lookup for geo_accuracy_km). */
static void test_unknown_left_operand_skips_the_right(void **state)
{
    (void)state;
    static const char *const exprs[] = {"claim_delay > clock_skew", "claim_delay + clock_skew > 5m"};
    for (size_t x = 0; x < 2; x++) {
        rules_fx f;
        fx_load_expr(&f, exprs[x]);
        rg_event complaint = event_at(3);   /* no claim_delay (not a claim), a client_ts */
        fx_begin(&f, &complaint);
        assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_UNKNOWN);
        assert_true(fx_asked(&f, "claim_delay"));
        if (fx_asked(&f, "clock_skew"))
            fail_msg("%s: clock_skew was evaluated although claim_delay is unknown", exprs[x]);
        fx_end(&f, &complaint);
        fx_close(&f);
    }
    /* A known left operand: the right one is asked. */
    rules_fx f;
    fx_load_expr(&f, "clock_skew > claim_delay");
    rg_event complaint = event_at(3);
    fx_begin(&f, &complaint);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_UNKNOWN);
    assert_true(fx_asked(&f, "clock_skew") && fx_asked(&f, "claim_delay"));
    fx_end(&f, &complaint);
    fx_close(&f);
}

/* The memo's generation wraps after 2^32 events: rg_eval_begin (inline)
 * then restarts it (rg_eval_restart_gens) so that no entry of an old
 * event looks fresh, and the next event computes its names anew. */
static void test_generation_wrap(void **state)
{
    (void)state;
    rules_fx f;
    fx_load_expr(&f, "amount > 5");
    rg_event seven = event_at(0), login = event_at(2);
    fx_begin(&f, &seven);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_TRUE);
    fx_end(&f, &seven);
    const rg_name_use *u = fx_use_named(f.rs, "amount");
    f.ctx.gen = UINT32_MAX;
    f.ctx.memo_gen[u->slot] = 1;   /* what an entry of 2^32 events ago would say */
    f.ctx.geo_gen = 1;
    fx_begin(&f, &login);
    assert_int_equal(f.ctx.gen, 1);
    assert_int_equal(f.ctx.geo_gen, 0);
    assert_false(fx_asked(&f, "amount"));
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_UNKNOWN);
    fx_end(&f, &login);
    fx_close(&f);
}

/* `amount op INTEGER` fills amount's memo entry from the event itself
 * (expr_eval.c, amount_ref): on every event type, with the fields family
 * held and not, the entry is byte for byte what the family's eval gives
 * through rg_eval_use on a walked copy, and the answer the walk's. */
static void test_amount_read_in_place(void **state)
{
    (void)state;
    static const char *const exprs[] = {"amount > 5", "amount >= 7", "amount < 7", "amount != 7"};
    size_t fields = 0;
    while (rg_detectors[fields] && strcmp(rg_detectors[fields]->family, "fields") != 0)
        fields++;
    assert_non_null(rg_detectors[fields]);
    for (size_t x = 0; x < sizeof exprs / sizeof exprs[0]; x++)
        for (int t = 0; t < RG_EV_TYPE_COUNT; t++)
            for (int held = 0; held < 2; held++) {
                rules_fx f, g;
                fx_load_expr(&f, exprs[x]);
                fx_load_expr(&g, exprs[x]);
                rg_expr_despecialise(rg_ruleset_rule(g.rs, 0)->when);
                void *kept_f = f.state[fields], *kept_g = g.state[fields];
                if (!held)
                    f.state[fields] = g.state[fields] = NULL;
                rg_event ev = mk_event((rg_event_type)t, T0, "u-1");
                ev.amount = 7;   /* set whatever the type: only some types have it */
                fx_begin(&f, &ev);
                fx_begin(&g, &ev);
                rg_tri fast = rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when);
                rg_tri walked = rg_eval_condition(&g.ctx, rg_ruleset_rule(g.rs, 0)->when);
                assert_int_equal(fast, walked);
                const rg_name_use *uf = fx_use_named(f.rs, "amount"), *ug = fx_use_named(g.rs, "amount");
                assert_true(fx_asked(&f, "amount"));
                rg_value want;
                memset(&want, 0, sizeof want);
                want = rg_eval_use(&g.ctx, ug);
                assert_memory_equal(&f.ctx.memo[uf->slot], &g.ctx.memo[ug->slot], sizeof want);
                assert_int_equal(want.known, held && (t == RG_EV_TRANSFER || t == RG_EV_RED_PACKET_SEND ||
                                                      t == RG_EV_RED_PACKET_CLAIM));
                f.state[fields] = kept_f;
                g.state[fields] = kept_g;
                fx_close(&f);
                fx_close(&g);
            }
}

/* A root the event type settles: on an event of another type the answer
 * comes without computing a name (not even `type`); on the type it names,
 * only the rest is evaluated. A type test after a name is not folded away
 * when it is FALSE: the name was computed before and still is. */
static void test_type_fold(void **state)
{
    (void)state;
    rules_fx f;
    fx_load_expr(&f, "type == transfer and amount > 5");
    assert_non_null(rg_ruleset_rule(f.rs, 0)->when->by_type);
    /* What the fold settles (rg_expr_type_settles, which velocity's
     * plans read): FALSE for a login, nothing for a transfer (the residue,
     * amount > 5) and nothing for slot 0 (type unknown). */
    const rg_expr *when = rg_ruleset_rule(f.rs, 0)->when;
    assert_int_equal(rg_expr_type_settles(when, RG_EV_LOGIN + 1), RG_FALSE);
    assert_int_equal(rg_expr_type_settles(when, RG_EV_TRANSFER + 1), -1);
    assert_int_equal(rg_expr_type_settles(when, 0), -1);
    rg_event login = event_at(2), seven = event_at(0);
    fx_begin(&f, &login);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_FALSE);
    assert_false(fx_asked(&f, "amount"));
    assert_false(fx_asked(&f, "type"));
    fx_end(&f, &login);
    fx_begin(&f, &seven);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_TRUE);
    assert_true(fx_asked(&f, "amount"));
    fx_end(&f, &seven);
    /* Without the fields family's state (a role that does not hold it)
     * `type` is unknown: no residue, the root's own evaluator, which asks
     * amount after the unknown type test. */
    size_t fields = 0;
    while (rg_detectors[fields] && strcmp(rg_detectors[fields]->family, "fields") != 0)
        fields++;
    assert_non_null(rg_detectors[fields]);
    void *held = f.state[fields];
    assert_non_null(held);
    f.state[fields] = NULL;
    fx_begin(&f, &login);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_UNKNOWN);
    assert_true(fx_asked(&f, "amount"));
    f.state[fields] = held;
    fx_end(&f, &login);
    fx_close(&f);

    fx_load_expr(&f, "amount > 5 and type == transfer");
    fx_begin(&f, &login);
    assert_int_equal(rg_eval_condition(&f.ctx, rg_ruleset_rule(f.rs, 0)->when), RG_FALSE);
    assert_true(fx_asked(&f, "amount"));   /* as the walk: the left operand first */
    fx_end(&f, &login);
    fx_close(&f);

    /* A filter in error is refused, not folded (folding evaluates its
     * type tests: an unknown list has no items to test). */
    char *errors = expr_errors("count(1h, type in no_such_list) > 1");
    assert_non_null(strstr(errors, "no_such_list"));
    free(errors);

    /* Nothing about the type: no table. */
    fx_load_expr(&f, "amount > 5 and client.hooked");
    assert_null(rg_ruleset_rule(f.rs, 0)->when->by_type);
    fx_close(&f);
}

/* rg_eval_fires asks a conjunct only while the rule can still fire, the
 * one reading the event's own fields first; a conjunct that may look the
 * IP up is asked exactly when the walk asks it; a name whose family says
 * the event lacks the part it needs is not asked at all. */
static void test_fires_skips_what_cannot_fire(void **state)
{
    (void)state;
    rg_event transfer7 = event_at(0), transfer3 = event_at(4), complaint = event_at(3), login = event_at(2),
             packages = event_at(4), transfer3_ip = event_at(4);
    rg_event transfer7_ip = transfer7;   /* an IP, no client */
    transfer7_ip.ip = "1.2.3.4";
    transfer7_ip.ip_family = AF_INET;
    memcpy(transfer7_ip.ip_bin, (const unsigned char[]){1, 2, 3, 4}, 4);
    transfer3_ip.ip = "1.2.3.4";   /* an IP (no database here: every geo name unknown, after asking) */
    transfer3_ip.ip_family = AF_INET;
    memcpy(transfer3_ip.ip_bin, (const unsigned char[]){1, 2, 3, 4}, 4);
    const struct {
        const char *expr;
        const rg_event *ev;
        bool want;
        const char *asked, *not_asked;   /* NULL: no check */
    } cases[] = {
        /* amount (the event's own) first: FALSE for 3, claim_delay left out */
        {"claim_delay < 1s and amount > 5", &transfer3, false, "amount", "claim_delay"},
        {"claim_delay < 1s and amount > 5", &transfer7, false, "claim_delay", NULL},
        /* written order among state names: clock_skew unknown (no
         * client_ts: settled without asking), claim_delay left out */
        {"clock_skew > 5m and claim_delay < 1s", &transfer7, false, NULL, "claim_delay"},
        /* ... and neither when the event lacks a part a conjunct needs
         * (rg_expr.fire_all: clock_skew needs client_ts) */
        {"claim_delay > 5m and clock_skew > 1s", &transfer7, false, NULL, "claim_delay"},
        {"claim_delay > 5m and clock_skew > 1s", &transfer7, false, NULL, "clock_skew"},
        {"claim_delay > 5m and clock_skew > 1s", &transfer3, false, "claim_delay", NULL},
        /* names whose part the event lacks (rg_detector.name_needs) are not asked */
        {"client.automation or any(client.packages in tools) or clock_skew > 5m", &transfer7, false, NULL,
         "client.automation"},
        {"client.automation or any(client.packages in tools) or clock_skew > 5m", &transfer7, false, NULL,
         "client.packages"},
        {"client.automation or any(client.packages in tools) or clock_skew > 5m", &transfer7, false, NULL,
         "clock_skew"},
        {"geo_distance_km > 500", &transfer7, false, NULL, "geo_distance_km"},
        {"client.automation or client.hooked", &login, true, "client.automation", NULL},
        {"client.automation or any(client.packages in ['com.fake.grabber'])", &packages, true, "client.packages", NULL},
        {"clock_skew > 5m and claim_delay < 1s", &complaint, false, "claim_delay", NULL},
        /* a GeoIP name after an unknown conjunct: asked, as the walk does */
        {"claim_delay < 1s and geo_accuracy_km >= 0", &transfer7, false, "geo_accuracy_km", NULL},
        /* ... and not put after the event's own fields */
        {"geo_accuracy_km >= 0 and amount > 5", &transfer3_ip, false, "geo_accuracy_km", NULL},
        {"geo_accuracy_km >= 0 and amount > 5", &transfer3, false, NULL, "geo_accuracy_km"},   /* no IP */
        /* ... and asked beside a conjunct the event lacks the part for */
        {"clock_skew > 5m and geo_accuracy_km >= 0", &transfer7_ip, false, "geo_accuracy_km", NULL},
        {"client.hooked or geo_accuracy_km < 0", &transfer7_ip, false, "geo_accuracy_km", NULL},
        {"clock_skew > 5m or amount > 5", &transfer7, true, "amount", NULL},
        {"reason == fraud and clock_skew > 5m", &complaint, true, "clock_skew", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rules_fx f;
        fx_load_expr(&f, cases[i].expr);
        fx_begin(&f, cases[i].ev);
        bool got = rg_eval_fires(&f.ctx, rg_ruleset_rule(f.rs, 0)->when);
        if (got != cases[i].want)
            fail_msg("%s (case %zu): fires %d, want %d", cases[i].expr, i, got, cases[i].want);
        if (cases[i].asked && !fx_asked(&f, cases[i].asked))
            fail_msg("%s (case %zu): %s not asked", cases[i].expr, i, cases[i].asked);
        if (cases[i].not_asked && fx_asked(&f, cases[i].not_asked))
            fail_msg("%s (case %zu): %s asked", cases[i].expr, i, cases[i].not_asked);
        fx_end(&f, cases[i].ev);
        fx_close(&f);
    }
}

/* The parts a root cannot be TRUE without (rg_expr.fire_all, fire_any),
 * which rg_eval_fires checks before asking anything: all of a leaf's
 * needs, both sides' of an `and`, one of the sides' of an `or`, nothing
 * through a `not`. (test_specialised_equals_generic checks that the gate
 * never changes whether a rule fires.) */
static void test_fire_parts(void **state)
{
    (void)state;
    const uint32_t A = RG_PART_CLIENT_AUTOMATION, H = RG_PART_CLIENT_HOOKED, P = RG_PART_CLIENT_PACKAGES,
                   TS = RG_PART_CLIENT_TS, GEO = RG_PART_IP | RG_PART_LOCATION;
    const struct {
        const char *expr;
        uint32_t all, any;
    } cases[] = {
        {"client.automation", A, 0},
        {"client.automation or client.hooked or any(client.packages in tools)", 0, A | H | P},
        {"client.automation and client.hooked", A | H, 0},
        {"(client.automation or client.hooked) and clock_skew > 1s", TS, A | H},
        {"geo_distance_km > 500 + geo_accuracy_km", GEO, 0},
        {"geo_distance_km > 500 and client.hooked", 0, 0},   /* may look the IP up beside an UNKNOWN */
        {"client.automation or amount > 5", 0, 0},
        {"not client.automation", 0, 0},
        {"amount > 5", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rules_fx f;
        fx_load_expr(&f, cases[i].expr);
        const rg_expr *when = rg_ruleset_rule(f.rs, 0)->when;
        if (when->fire_all != cases[i].all || when->fire_any != cases[i].any)
            fail_msg("%s: fire_all %#x fire_any %#x, want %#x %#x", cases[i].expr, when->fire_all, when->fire_any,
                     cases[i].all, cases[i].any);
        /* The gate's table (rg_expr.fire_never) says what the two masks say,
         * for every combination of the six parts. */
        for (uint32_t p = 0; p < 64; p++) {
            bool never = (cases[i].all & ~p) || (cases[i].any && !(cases[i].any & p));
            if ((bool)(when->fire_never >> p & 1) != never)
                fail_msg("%s: parts %#x: fire_never says %d, the masks %d", cases[i].expr, p,
                         (int)(when->fire_never >> p & 1), never);
        }
        rg_event bare = mk_transfer(T0, "u-1", "u-2", 7);   /* no client, no IP, no location */
        fx_begin(&f, &bare);
        if ((cases[i].all || cases[i].any) && rg_eval_fires(&f.ctx, when))
            fail_msg("%s fires on an event without its parts", cases[i].expr);
        fx_end(&f, &bare);
        fx_close(&f);
    }
}

/* The promise behind rg_detector.name_needs, for every family that makes
 * it: the name is unknown on an event without one of its parts, through
 * the family's own eval (the memo, nothing settled early), and the
 * event with every part makes the client names known (so the check
 * cannot pass by every value being unknown). */
static void test_name_needs_kept(void **state)
{
    (void)state;
    static const char *const packages[] = {"com.fake.grabber", NULL};
    rg_event full = mk_transfer(T0, "u-1", "u-2", 7);
    full.ip = "1.2.3.4";
    full.ip_family = AF_INET;
    memcpy(full.ip_bin, (const unsigned char[]){1, 2, 3, 4}, 4);
    full.has_location = true;
    full.lat = 31.2;
    full.lon = 121.4;
    full.client_automation = 1;
    full.client_hooked = 0;
    full.has_client_packages = true;
    full.client_packages = packages;
    full.n_client_packages = 1;
    full.has_client_ts = true;
    full.client_ts_ms = T0 - 1000;
    size_t checked = 0;
    for (size_t d = 0; rg_detectors[d]; d++) {
        const rg_detector *det = rg_detectors[d];
        for (size_t i = 0; det->name_needs && i < det->n_names; i++) {
            uint32_t needs = det->name_needs[i];
            if (!needs || det->names[i].args[0] != RG_ARG_NONE)
                continue;
            char yaml[512];
            snprintf(yaml, sizeof yaml,
                     "version: 1\nlists:\n  tools: [x]\nrules:\n  - id: t\n    when: |\n      %s\n"
                     "    then:\n      - review: account\n    message: \"{%s}\"\n",
                     det->names[i].type == RG_T_BOOL ? det->names[i].name : "1 > 2", det->names[i].name);
            rules_fx f;
            fx_load(&f, yaml);
            const rg_name_use *u = fx_use_named(f.rs, det->names[i].name);
            assert_non_null(u);
            fx_begin(&f, &full);
            bool known_full = rg_eval_use(&f.ctx, u).known;
            fx_end(&f, &full);
            if (strcmp(det->family, "client") == 0 && !known_full)
                fail_msg("%s unknown on an event with every part", det->names[i].name);
            for (uint32_t bit = 1; bit; bit <<= 1) {
                if (!(needs & bit))
                    continue;
                rg_event ev = full;
                if (bit == RG_PART_IP)
                    ev.ip_family = 0, ev.ip = NULL;
                else if (bit == RG_PART_LOCATION)
                    ev.has_location = false;
                else if (bit == RG_PART_CLIENT_AUTOMATION)
                    ev.client_automation = -1;
                else if (bit == RG_PART_CLIENT_HOOKED)
                    ev.client_hooked = -1;
                else if (bit == RG_PART_CLIENT_PACKAGES)
                    ev.has_client_packages = false;
                else if (bit == RG_PART_CLIENT_TS)
                    ev.has_client_ts = false;
                else
                    fail_msg("%s needs part %#x, which this test does not know", det->names[i].name, bit);
                assert_int_equal(rg_event_parts(&ev) & bit, 0);
                fx_begin(&f, &ev);
                if (rg_eval_use(&f.ctx, u).known)
                    fail_msg("%s known on an event without part %#x", det->names[i].name, bit);
                fx_end(&f, &ev);
                checked++;
            }
            fx_close(&f);
        }
    }
    assert_true(checked >= 7);   /* four client names, three geo names (the distance two parts) */
}

/* A signal that names one use (`amt: amount`, a count()) is read from that
 * use's memo entry by the specialised nodes: same answers as the walk,
 * and the rule's evidence still shows the signal under its own name. */
static void test_signal_of_one_use(void **state)
{
    (void)state;
    static const char yaml[] = "version: 1\n"
                               "signals:\n"
                               "  amt: amount\n"
                               "  amt2: amt\n"
                               "  transfers_1h: count(1h, type == transfer)\n"
                               "rules:\n"
                               "  - id: t\n"
                               "    when: amt > 5 and amt2 < 1000000 and transfers_1h >= 1\n"
                               "    then:\n"
                               "      - review: account\n";
    rules_fx f, g;
    fx_load(&f, yaml);
    fx_load(&g, yaml);
    rg_expr_despecialise(rg_ruleset_rule(g.rs, 0)->when);
    for (size_t i = 0; i < N_EVENTS; i++) {
        rg_event ev = event_at(i);
        rg_tri t[2];
        rules_fx *fx[2] = {&f, &g};
        rg_strbuf evidence[2] = {RG_STRBUF_INIT, RG_STRBUF_INIT};
        for (int k = 0; k < 2; k++) {
            fx_begin(fx[k], &ev);
            t[k] = rg_eval_condition(&fx[k]->ctx, rg_ruleset_rule(fx[k]->rs, 0)->when);
            rg_eval_evidence_json(&fx[k]->ctx, rg_ruleset_rule(fx[k]->rs, 0), &evidence[k]);
            fx_end(fx[k], &ev);
        }
        const char *fast = evidence[0].data ? evidence[0].data : "", *walk = evidence[1].data ? evidence[1].data : "";
        if (t[0] != t[1] || strcmp(fast, walk) != 0)
            fail_msg("event %zu: specialised %s %s, generic %s %s", i, TRI[t[0]], fast, TRI[t[1]], walk);
        if (i == 1) {   /* 200000 > 5, a transfer: TRUE, evidence by signal name */
            assert_int_equal(t[0], RG_TRUE);
            assert_non_null(strstr(fast, "\"amt\":200000"));
        }
        rg_strbuf_free(&evidence[0]);
        rg_strbuf_free(&evidence[1]);
    }
    fx_close(&f);
    fx_close(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_specialised_equals_generic),
        cmocka_unit_test(test_specialised_answers),
        cmocka_unit_test(test_unknown_left_operand_skips_the_right),
        cmocka_unit_test(test_type_fold),
        cmocka_unit_test(test_amount_read_in_place),
        cmocka_unit_test(test_generation_wrap),
        cmocka_unit_test(test_signal_of_one_use),
        cmocka_unit_test(test_fires_skips_what_cannot_fire),
        cmocka_unit_test(test_fire_parts),
        cmocka_unit_test(test_name_needs_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
