/*
 * Detector tests that need the other layers for real: count() filters as
 * the rule loader parses them (evaluated in observe, against state from
 * before the event, including names of other families such as
 * claim_delay and ip_country), and the geo names over the GeoIP test
 * databases (tests/data/geo/README.md; built by the geo_mmdb fixture into
 * $RG_TEST_BUILD/geo). A small driver plays the engine's part: begin,
 * observe, evaluate, update, for each event. Owner: detectors.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "geo/geo.h"
#include "geo/geo_cache.h"
#include "rules/expr.h"
#include "rules/ruleset.h"
#include "test_detectors_util.h"

#define MAX_DETECTORS 32

typedef struct driver {
    rg_ruleset *rs;
    rg_geo *geo;
    void *states[MAX_DETECTORS];
    size_t n_detectors;
    rg_eval_ctx ctx;
} driver;

static const char pack[] =
    "version: 1\n"
    "settings:\n"
    "  max_lateness: 1h\n"
    "signals:\n"
    "  payments_24h: count(24h, type in [transfer, red_packet_send])\n"
    "  instant_claims_10m: count(10m, type == red_packet_claim and claim_delay < 1s)\n"
    "  cn_logins_1h: count(1h, type == login and ip_country == CN)\n"
    "rules:\n"
    "  - id: hf\n"
    "    when: payments_24h > 50\n"
    "    then:\n"
    "      - face_verify: account\n"
    "  - id: instant\n"
    "    on: red_packet_claim\n"
    "    when: claim_delay < 1s and instant_claims_10m >= 5\n"
    "    then:\n"
    "      - face_verify: account\n"
    "  - id: cn\n"
    "    when: cn_logins_1h > 3\n"
    "    then:\n"
    "      - review: account\n"
    "  - id: geo\n"
    "    when: geo_distance_km > 500 + geo_accuracy_km\n"
    "    then:\n"
    "      - face_verify: account\n"
    "  - id: nd\n"
    "    on: login\n"
    "    when: new_device and ip_country != prev_login_country\n"
    "    then:\n"
    "      - freeze: account\n"
    "  - id: forged\n"
    "    on: red_packet_claim\n"
    "    when: packet_expired or packet_overclaimed or packet_reclaimed\n"
    "    then:\n"
    "      - review: account\n";

static const char *geo_path(const char *file)
{
    static char path[4200];
    const char *build = getenv("RG_TEST_BUILD");
    snprintf(path, sizeof path, "%s/geo/%s", build && *build ? build : RG_TEST_BUILD, file);
    return path;
}

static void driver_open(driver *d, const char *mmdb)
{
    memset(d, 0, sizeof *d);
    char *errors = NULL;
    d->rs = rg_ruleset_load_buffer("test.yaml", pack, sizeof pack - 1, &errors);
    if (!d->rs)
        fail_msg("rule file refused:\n%s", errors ? errors : "?");
    if (mmdb) {
        char err[512] = "";
        d->geo = rg_geo_open(geo_path(mmdb), err, sizeof err);
        if (!d->geo)
            fail_msg("cannot open %s: %s (did the geo_mmdb fixture run?)", mmdb, err);
    }
    while (rg_detectors[d->n_detectors])
        d->n_detectors++;
    assert_true(d->n_detectors <= MAX_DETECTORS);
    for (size_t i = 0; i < d->n_detectors; i++) {
        size_t n = 0;
        const rg_name_use *const *uses = rg_ruleset_detector_uses(d->rs, rg_detectors[i], &n);
        if (!n)
            continue;
        rg_detector_config cfg = {
            .uses = uses,
            .n_uses = n,
            .history_horizon_ms = rg_ruleset_history_horizon_ms(d->rs),
            .max_lateness_ms = rg_ruleset_max_lateness_ms(d->rs),
            .geo = d->geo,
        };
        char err[256] = "";
        d->states[i] = rg_detectors[i]->create(&cfg, err, sizeof err);
        if (!d->states[i])
            fail_msg("create %s: %s", rg_detectors[i]->family, err);
    }
    assert_int_equal(rg_eval_ctx_init(&d->ctx, d->rs, d->states, d->geo), 0);
}

static void driver_close(driver *d)
{
    for (size_t i = 0; i < d->n_detectors; i++)
        if (d->states[i])
            rg_detectors[i]->destroy(d->states[i]);
    rg_eval_ctx_free(&d->ctx);
    rg_ruleset_free(d->rs);
    rg_geo_close(d->geo);
}

static const rg_name_use *find_use(const driver *d, const char *name)
{
    for (size_t i = 0; i < rg_ruleset_use_count(d->rs); i++) {
        const rg_name_use *u = rg_ruleset_use(d->rs, i);
        if (strcmp(u->spec->name, name) == 0)
            return u;
    }
    fail_msg("no use of %s in the pack", name);
    return NULL;
}

/* One event through the engine's steps; returns the value of `name` as a
 * rule would have seen it (NULL: evaluate nothing). */
static rg_value step(driver *d, const rg_event *ev, const char *name)
{
    rg_value v = rg_unknown(RG_T_NONE);
    rg_eval_begin(&d->ctx, ev);
    for (size_t i = 0; i < d->n_detectors; i++)
        if (d->states[i] && rg_detectors[i]->observe)
            rg_detectors[i]->observe(d->states[i], ev, &d->ctx);
    if (name)
        v = rg_eval_use(&d->ctx, find_use(d, name));
    for (size_t i = 0; i < d->n_detectors; i++)
        if (d->states[i] && rg_detectors[i]->update)
            rg_detectors[i]->update(d->states[i], ev, &d->ctx);
    return v;
}

/* The value of `name` for ev without folding ev in (as another rule on
 * the same event would see it). */
static rg_value peek(driver *d, const rg_event *ev, const char *name)
{
    rg_eval_begin(&d->ctx, ev);
    for (size_t i = 0; i < d->n_detectors; i++)
        if (d->states[i] && rg_detectors[i]->observe)
            rg_detectors[i]->observe(d->states[i], ev, &d->ctx);
    return rg_eval_use(&d->ctx, find_use(d, name));
}

static rg_event with_ip(rg_event ev, const char *ip)
{
    ev.ip = ip;
    if (inet_pton(AF_INET, ip, ev.ip_bin) == 1)
        ev.ip_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, ev.ip_bin) == 1)
        ev.ip_family = AF_INET6;
    else
        fail_msg("bad ip %s", ip);
    return ev;
}

static rg_event with_location(rg_event ev, double lat, double lon)
{
    ev.has_location = true;
    ev.lat = lat;
    ev.lon = lon;
    return ev;
}

/* Transfers and packet sends count together; logins do not, and a login
 * E is not included in its own count. */
static void test_filter_payments(void **unused)
{
    driver d;
    driver_open(&d, NULL);
    rg_value v = rg_unknown(RG_T_NONE);
    for (int i = 0; i < 50; i++) {
        rg_event ev = i % 5 == 0 ? mk_event(RG_EV_RED_PACKET_SEND, T0 + i * MIN_MS, "hf-mix")
                                 : mk_transfer(T0 + i * MIN_MS, "hf-mix", "x", 100);
        v = step(&d, &ev, "payments_24h");
        rg_event login = mk_event(RG_EV_LOGIN, T0 + i * MIN_MS + 1, "hf-mix");
        rg_value at_login = step(&d, &login, "payments_24h");
        assert_int_value(at_login, i + 1);
    }
    assert_int_value(v, 50);
    rg_event fifty_first = mk_transfer(T0 + 20 * HOUR_MS, "hf-mix", "x", 100);
    assert_int_value(step(&d, &fifty_first, "payments_24h"), 51);
    /* 24 h after the first payment, it has left the window. */
    rg_event later = mk_event(RG_EV_RED_PACKET_SEND, T0 + DAY_MS, "hf-mix");
    assert_int_value(step(&d, &later, "payments_24h"), 51);
    driver_close(&d);
}

static rg_event send_packet(int64_t ts_ms, const char *packet)
{
    rg_event ev = mk_event(RG_EV_RED_PACKET_SEND, ts_ms, "ps0");
    ev.packet_id = packet;
    ev.packet_id_len = strlen(packet);
    ev.amount = 1000;
    return ev;
}

static rg_event claim_packet(int64_t ts_ms, const char *account, const char *packet)
{
    rg_event ev = mk_event(RG_EV_RED_PACKET_CLAIM, ts_ms, account);
    ev.packet_id = packet;
    ev.packet_id_len = strlen(packet);
    ev.amount = 100;
    return ev;
}

/* The filter uses claim_delay (packets family) as each claim arrives: a
 * 999 ms claim is instant, a 1000 ms one is not, an unknown send counts
 * neither way. */
static void test_filter_instant_claims(void **unused)
{
    driver d;
    driver_open(&d, NULL);
    static const char *packets[] = {"p-0", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6"};
    int64_t delay_ms[] = {999, 300, 1000, 999, 0, 999, 200};
    int64_t expect[] = {1, 2, 2, 3, 4, 5, 6};
    for (int i = 0; i < 7; i++) {
        int64_t sent_ms = T0 + i * MIN_MS;
        rg_event send = send_packet(sent_ms, packets[i]);
        step(&d, &send, NULL);
        rg_event claim = claim_packet(sent_ms + delay_ms[i], "ic-1", packets[i]);
        assert_int_value(step(&d, &claim, "instant_claims_10m"), expect[i]);
    }
    rg_event unseen = claim_packet(T0 + 8 * MIN_MS, "ic-1", "p-never-sent");
    assert_int_value(step(&d, &unseen, "instant_claims_10m"), 6);
    /* ic-3's claims are someone else's count. */
    rg_event send = send_packet(T0 + 9 * MIN_MS, "p-7");
    step(&d, &send, NULL);
    rg_event other = claim_packet(T0 + 9 * MIN_MS + 200, "ic-3", "p-7");
    assert_int_value(step(&d, &other, "instant_claims_10m"), 1);
    driver_close(&d);
}

/* count() decides a filter that the event's type settles from a table
 * made at create (rg_expr_type_settles) instead of asking the folded
 * root: for every event type, a settled answer is what rg_eval_condition
 * gives on such an event, and the pack's filters are settled wherever
 * they do not reach past `type`. */
static void test_filters_settled_by_type(void **unused)
{
    driver d;
    driver_open(&d, NULL);
    size_t n_filters = 0, n_settled = 0;
    for (size_t u = 0; u < rg_ruleset_use_count(d.rs); u++) {
        const rg_name_use *use = rg_ruleset_use(d.rs, u);
        if (use->signal || !use->filter)
            continue;
        n_filters++;
        for (int t = 0; t < RG_EV_TYPE_COUNT; t++) {
            rg_event ev = claim_packet(T0, "st-1", "p-st");
            ev.type = (rg_event_type)t;
            rg_eval_begin(&d.ctx, &ev);
            assert_int_equal(d.ctx.type_slot, (unsigned)t + 1);
            int settled = rg_expr_type_settles(use->filter, d.ctx.type_slot);
            assert_int_equal(rg_expr_type_settles(use->filter, 0), -1);   /* type unknown: ask */
            if (settled < 0)
                continue;
            n_settled++;
            assert_int_equal(settled, rg_eval_condition(&d.ctx, use->filter));
        }
    }
    assert_int_equal(n_filters, 3);
    /* payments: settled on every type; claims and logins: all but their own */
    assert_int_equal(n_settled, 3 * RG_EV_TYPE_COUNT - 2);
    driver_close(&d);
}

/* The packets family answers all its names at the first ask of a claim
 * (into the memo, rg_eval_preset): whichever name is asked first, every
 * name reads what that name's own evaluation (no context: answered
 * alone, no memo) gives, on claims in time, repeated, over the amount,
 * expired and of an unseen send. */
static void test_packet_names_answered_at_once(void **unused)
{
    static const char *names[] = {"claim_delay", "packet_expired", "packet_overclaimed", "packet_reclaimed"};
    driver d;
    driver_open(&d, NULL);
    const rg_name_use *uses[4];
    for (size_t k = 0; k < 4; k++)
        uses[k] = find_use(&d, names[k]);
    size_t fam = uses[0]->detector_index;
    rg_event send = send_packet(T0, "p-1");
    step(&d, &send, NULL);
    rg_event claims[] = {
        claim_packet(T0 + 500, "ic-1", "p-1"),      claim_packet(T0 + 2 * SEC_MS, "ic-2", "p-1"),
        claim_packet(T0 + 3 * SEC_MS, "ic-1", "p-1"), claim_packet(T0 + 4 * SEC_MS, "ic-3", "p-never-sent"),
        claim_packet(T0 + 25 * HOUR_MS, "ic-4", "p-1"),
    };
    claims[1].amount = 600;   /* 100 + 600 + 400 > 1000 from the third claim on */
    claims[2].amount = 400;
    int known_claims = 0;
    for (size_t c = 0; c < sizeof claims / sizeof claims[0]; c++) {
        rg_value alone[4];
        for (size_t k = 0; k < 4; k++)
            alone[k] = rg_detectors[fam]->eval(d.states[fam], uses[k], &claims[c], NULL);
        known_claims += alone[0].known;
        for (size_t first = 0; first < 4; first++) {
            rg_eval_begin(&d.ctx, &claims[c]);
            (void)rg_eval_use(&d.ctx, uses[first]);
            for (size_t k = 0; k < 4; k++) {
                rg_value v = rg_eval_use(&d.ctx, uses[k]);
                assert_int_equal(v.known, alone[k].known);
                assert_int_equal(v.type, alone[k].type);
                if (v.known && v.type == RG_T_BOOL)
                    assert_int_equal(v.u.b, alone[k].u.b);
                else if (v.known)
                    assert_int_equal(v.u.i, alone[k].u.i);
            }
        }
        step(&d, &claims[c], NULL);
    }
    assert_int_equal(known_claims, 4);
    /* What the claims folded in: the third was over the amount and a repeat. */
    rg_event again = claim_packet(T0 + 5 * SEC_MS, "ic-2", "p-1");
    assert_bool_value(peek(&d, &again, "packet_reclaimed"), true);
    assert_bool_value(rg_eval_use(&d.ctx, uses[2]), true);
    assert_bool_value(rg_eval_use(&d.ctx, uses[1]), false);
    driver_close(&d);
}

/* A filter on ip_country: geo as each login arrived. */
static void test_filter_geo(void **unused)
{
    driver d;
    driver_open(&d, "flat.mmdb");
    const char *ips[] = {"1.0.0.1", "3.0.0.1", "2.0.0.7", "8.8.8.8", "192.0.2.9", "2001:db8:4::1"};
    int64_t expect[] = {1, 1, 2, 2, 3, 4};
    for (int i = 0; i < 6; i++) {
        rg_event ev = with_ip(mk_event(RG_EV_LOGIN, T0 + i * MIN_MS, "cn"), ips[i]);
        assert_int_value(step(&d, &ev, "cn_logins_1h"), expect[i]);
    }
    driver_close(&d);
}

/* ip_geo_mismatch's condition on an event with an IP but no location:
 * the distance is unknown before any lookup, so the accuracy on its right
 * is not asked either and the database is not asked at all (most events
 * have no location); with a location it is asked once. */
static void test_no_lookup_without_location(void **unused)
{
    driver d;
    driver_open(&d, "flat.mmdb");
    const rg_expr *when = NULL;
    for (size_t i = 0; i < rg_ruleset_rule_count(d.rs); i++)
        if (strcmp(rg_ruleset_rule(d.rs, i)->id, "geo") == 0)
            when = rg_ruleset_rule(d.rs, i)->when;
    assert_non_null(when);
    rg_event ev = with_ip(mk_event(RG_EV_TRANSFER, T0, "geo-9"), "1.0.0.1");
    rg_eval_begin(&d.ctx, &ev);
    assert_int_equal(rg_eval_condition(&d.ctx, when), RG_UNKNOWN);
    uint64_t hits, misses;
    rg_geo_cache_counts(d.ctx.geo_cache, &hits, &misses);
    assert_int_equal(hits + misses, 0);
    ev = with_location(ev, 39.9110, 116.3950);   /* Beijing, the IP in Shanghai */
    rg_eval_begin(&d.ctx, &ev);
    assert_int_equal(rg_eval_condition(&d.ctx, when), RG_TRUE);
    rg_geo_cache_counts(d.ctx.geo_cache, &hits, &misses);
    assert_int_equal(misses, 1);
    driver_close(&d);
}

static void check_geo_names(const char *mmdb, double accuracy_shanghai, double accuracy_us)
{
    driver d;
    driver_open(&d, mmdb);
    /* Shanghai IP, device in Beijing: ~1068.7 km. */
    rg_event far = with_location(with_ip(mk_event(RG_EV_LOGIN, T0, "geo-1"), "1.0.0.1"), 39.9110, 116.3950);
    rg_value km = step(&d, &far, "geo_distance_km");
    assert_true(km.known);
    assert_true(km.u.d > 1067.0 && km.u.d < 1070.0);
    rg_value acc = step(&d, &far, "geo_accuracy_km");
    assert_true(acc.known);
    assert_true(acc.u.d == accuracy_shanghai);
    assert_string_value(step(&d, &far, "ip_country"), "CN");
    /* At the IP's own position: 0 km. */
    rg_event near = with_location(with_ip(mk_event(RG_EV_LOGIN, T0, "geo-2"), "1.0.0.1"), 31.2222, 121.4581);
    km = step(&d, &near, "geo_distance_km");
    assert_true(km.known);
    assert_true(km.u.d < 0.1);
    /* Country level: no distance, but a country. */
    rg_event us = with_location(with_ip(mk_event(RG_EV_LOGIN, T0, "geo-3"), "4.0.0.1"), 31.2, 121.4);
    assert_unknown(step(&d, &us, "geo_distance_km"));
    assert_string_value(step(&d, &us, "ip_country"), "US");
    acc = step(&d, &us, "geo_accuracy_km");
    assert_true(acc.known);
    assert_true(acc.u.d == accuracy_us);
    /* Not in the database: all unknown. */
    rg_event none = with_location(with_ip(mk_event(RG_EV_LOGIN, T0, "geo-4"), "8.8.8.8"), 31.2, 121.4);
    assert_unknown(step(&d, &none, "geo_distance_km"));
    assert_unknown(step(&d, &none, "geo_accuracy_km"));
    assert_unknown(step(&d, &none, "ip_country"));
    /* A record without country: ip_country unknown. */
    rg_event nocountry = with_ip(mk_event(RG_EV_LOGIN, T0, "geo-5"), "5.0.0.1");
    assert_unknown(step(&d, &nocountry, "ip_country"));
    /* No location, or no IP: no distance. */
    rg_event noloc = with_ip(mk_event(RG_EV_LOGIN, T0, "geo-6"), "1.0.0.1");
    assert_unknown(step(&d, &noloc, "geo_distance_km"));
    rg_event noip = with_location(mk_event(RG_EV_LOGIN, T0, "geo-7"), 39.9, 116.4);
    assert_unknown(step(&d, &noip, "geo_distance_km"));
    assert_unknown(step(&d, &noip, "ip_country"));
    /* IPv6 city level. */
    rg_event v6 = with_location(with_ip(mk_event(RG_EV_LOGIN, T0, "geo-8"), "2001:db8:1::5"), 35.6895, 139.6917);
    km = step(&d, &v6, "geo_distance_km");
    assert_true(km.known);
    assert_true(km.u.d < 0.1);
    assert_string_value(step(&d, &v6, "ip_country"), "JP");
    driver_close(&d);
}

static void test_geo_names_flat(void **unused)
{
    check_geo_names("flat.mmdb", 0.0, 0.0);
}

static void test_geo_names_maxmind(void **unused)
{
    check_geo_names("maxmind.mmdb", 20.0, 1000.0);
}

/* Without a database every geo name is unknown (and nothing breaks). */
static void test_geo_without_database(void **unused)
{
    driver d;
    driver_open(&d, NULL);
    rg_event ev = with_location(with_ip(mk_event(RG_EV_LOGIN, T0, "g"), "1.0.0.1"), 39.9, 116.4);
    ev.device_id = "d-1";
    assert_unknown(step(&d, &ev, "geo_distance_km"));
    assert_unknown(step(&d, &ev, "ip_country"));
    assert_unknown(step(&d, &ev, "prev_login_country"));
    assert_bool_value(step(&d, &ev, "new_device"), false);
    driver_close(&d);
}

/* new_device_remote_ip with real lookups: CN logins, then a new device
 * from FR; the same device from FR later is not new. */
static void test_login_countries(void **unused)
{
    driver d;
    driver_open(&d, "maxmind.mmdb");
    rg_event a1 = with_ip(mk_event(RG_EV_LOGIN, T0, "nd-1"), "1.0.0.1");
    a1.device_id = "d-a";
    assert_bool_value(step(&d, &a1, "new_device"), false);
    rg_event a2 = with_ip(mk_event(RG_EV_LOGIN, T0 + HOUR_MS, "nd-1"), "8.8.8.8");   /* not placed */
    a2.device_id = "d-a";
    assert_string_value(step(&d, &a2, "prev_login_country"), "CN");
    rg_event b = with_ip(mk_event(RG_EV_LOGIN, T0 + 2 * HOUR_MS, "nd-1"), "3.0.0.1");
    b.device_id = "d-b";
    assert_bool_value(peek(&d, &b, "new_device"), true);
    assert_string_value(peek(&d, &b, "prev_login_country"), "CN");
    assert_string_value(step(&d, &b, "ip_country"), "FR");
    rg_event b2 = with_ip(mk_event(RG_EV_LOGIN, T0 + 3 * HOUR_MS, "nd-1"), "3.0.0.1");
    b2.device_id = "d-b";
    assert_bool_value(peek(&d, &b2, "new_device"), false);
    assert_string_value(step(&d, &b2, "prev_login_country"), "FR");
    driver_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_payments),   cmocka_unit_test(test_filter_instant_claims),
        cmocka_unit_test(test_filter_geo),
        cmocka_unit_test(test_packet_names_answered_at_once),
        cmocka_unit_test(test_filters_settled_by_type),
        cmocka_unit_test(test_no_lookup_without_location),
        cmocka_unit_test(test_geo_names_flat),
        cmocka_unit_test(test_geo_names_maxmind), cmocka_unit_test(test_geo_without_database),
        cmocka_unit_test(test_login_countries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
