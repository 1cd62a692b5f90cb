/*
 * Unit tests for detectors/login.c: new_device and prev_login_country
 * (detection.md new_device_remote_ip and its near misses). GeoIP answers
 * come from a faked context memo here; real databases are used in
 * test_detectors.c. Owner: detectors.
 */
#include <sys/socket.h>

#include "common/binio.h"
#include "common/strbuf.h"
#include "test_detectors_util.h"

typedef struct login_fixture {
    det_fixture f;
    const rg_name_use *new_device;
    const rg_name_use *prev_country;
} login_fixture;

static void setup(login_fixture *lf)
{
    fixture_begin(&lf->f, "new_device");
    lf->new_device = fixture_use(&lf->f, "new_device", 0, NULL);
    lf->prev_country = fixture_use(&lf->f, "prev_login_country", 0, NULL);
    fixture_create(&lf->f);
}

static rg_event login_at(int64_t ts_ms, const char *account, const char *device)
{
    rg_event ev = mk_event(RG_EV_LOGIN, ts_ms, account);
    ev.device_id = device;
    ev.ip = "192.0.2.1";
    ev.ip_family = AF_INET;   /* only "has an ip" matters with a faked memo */
    return ev;
}

/* Fold a login placed in `country` (NULL: not in the database). */
static void login_from(login_fixture *lf, rg_event *ev, const char *country)
{
    rg_eval_ctx ctx;
    rg_geo_result where = geo_at(country ? country : "", true, 0, 0, 0);
    fake_geo(&ctx, ev, country ? &where : NULL);
    fixture_fold(&lf->f, ev, &ctx);
}

/* nd-1: logins on device a from CN, then device b from RU: new device,
 * previous country CN. */
static void test_new_device_other_country(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0 - 90 * DAY_MS, "nd-1");
    open.device_id = "d-nd-1-0";
    fixture_fold(&lf.f, &open, NULL);
    rg_event a1 = login_at(T0, "nd-1", "d-nd1-a");
    /* First login ever: not a new device, and no previous country. */
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &a1, NULL), false);
    assert_unknown(fixture_peek(&lf.f, lf.prev_country, &a1, NULL));
    login_from(&lf, &a1, "CN");
    rg_event a2 = login_at(T0 + HOUR_MS, "nd-1", "d-nd1-a");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &a2, NULL), false);
    login_from(&lf, &a2, "CN");
    rg_event b = login_at(T0 + 2 * HOUR_MS, "nd-1", "d-nd1-b");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &b, NULL), true);
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &b, NULL), "CN");
    login_from(&lf, &b, "RU");
    /* After it: device b is known, the previous country is RU. */
    rg_event b2 = login_at(T0 + 3 * HOUR_MS, "nd-1", "d-nd1-b");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &b2, NULL), false);
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &b2, NULL), "RU");
    fixture_end(&lf.f);
}

/* nd-2 (new device, same country) is a new device; nd-3 (same device,
 * other country) is not: the rule needs both. */
static void test_new_device_same_country(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event a = login_at(T0, "nd-2", "d-nd2-a");
    login_from(&lf, &a, "CN");
    rg_event b = login_at(T0 + 2 * HOUR_MS, "nd-2", "d-nd2-b");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &b, NULL), true);
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &b, NULL), "CN");
    rg_event c = login_at(T0, "nd-3", "d-nd3-a");
    login_from(&lf, &c, "CN");
    rg_event d = login_at(T0 + 2 * HOUR_MS, "nd-3", "d-nd3-a");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &d, NULL), false);
    fixture_end(&lf.f);
}

/* nd-4: an account whose first login comes from abroad is not judged. */
static void test_first_login_ever(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0 - DAY_MS, "nd-4");
    open.device_id = "d-nd-4-0";
    fixture_fold(&lf.f, &open, NULL);
    rg_event transfer = mk_transfer(T0 - HOUR_MS, "nd-4", "x", 100);
    transfer.device_id = "d-nd-4-1";
    fixture_fold(&lf.f, &transfer, NULL);
    rg_event first = login_at(T0, "nd-4", "d-nd4-a");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &first, NULL), false);
    assert_unknown(fixture_peek(&lf.f, lf.prev_country, &first, NULL));
    fixture_end(&lf.f);
}

/* A device seen on account_open (or any earlier event) is not new. */
static void test_device_seen_on_account_open(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0, "u");
    open.device_id = "d-phone";
    fixture_fold(&lf.f, &open, NULL);
    rg_event l1 = login_at(T0 + MIN_MS, "u", "d-tablet");
    login_from(&lf, &l1, "CN");
    rg_event l2 = login_at(T0 + 2 * MIN_MS, "u", "d-phone");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &l2, NULL), false);
    rg_event pay = mk_transfer(T0 + 3 * MIN_MS, "u", "x", 1);
    pay.device_id = "d-laptop";
    fixture_fold(&lf.f, &pay, NULL);
    rg_event l3 = login_at(T0 + 4 * MIN_MS, "u", "d-laptop");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &l3, NULL), false);
    rg_event l4 = login_at(T0 + 5 * MIN_MS, "u", "d-other");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &l4, NULL), true);
    /* Without a device_id: unknown. */
    rg_event l5 = login_at(T0 + 6 * MIN_MS, "u", NULL);
    assert_unknown(fixture_peek(&lf.f, lf.new_device, &l5, NULL));
    fixture_end(&lf.f);
}

/* A login the database cannot place keeps the last known country. */
static void test_prev_country_skips_unplaced(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event a = login_at(T0, "u", "d");
    login_from(&lf, &a, "JP");
    rg_event b = login_at(T0 + MIN_MS, "u", "d");
    login_from(&lf, &b, NULL);
    rg_event c = login_at(T0 + 2 * MIN_MS, "u", "d");
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &c, NULL), "JP");
    /* A transfer placed elsewhere is no login. */
    rg_event pay = mk_transfer(T0 + 3 * MIN_MS, "u", "x", 1);
    rg_eval_ctx ctx;
    rg_geo_result us = geo_at("US", true, 0, 0, 0);
    fake_geo(&ctx, &pay, &us);
    fixture_fold(&lf.f, &pay, &ctx);
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &c, NULL), "JP");
    fixture_end(&lf.f);
}

/* Many devices: memory stays bounded, the most recent are remembered. */
static void test_device_cap_and_expire(void **unused)
{
    login_fixture lf;
    setup(&lf);
    char dev[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(dev, sizeof dev, "d-%d", i);
        rg_event ev = login_at(T0 + i * SEC_MS, "farm", dev);
        login_from(&lf, &ev, "CN");
    }
    rg_detector_stats st = fixture_stats(&lf.f);
    assert_int_equal(st.entities, 1);
    assert_true(st.bytes < 4096);
    rg_event recent = login_at(T0 + DAY_MS, "farm", "d-999");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &recent, NULL), false);
    rg_event old = login_at(T0 + DAY_MS, "farm", "d-0");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &old, NULL), true);
    /* Devices are facts about the account, kept for good: nothing
     * expires, and the 64 most recent are still known. */
    lf.f.det->expire(lf.f.state, T0 + 80 * DAY_MS);
    assert_int_equal(fixture_stats(&lf.f).entities, 1);
    assert_true(fixture_stats(&lf.f).bytes < 4096);
    rg_event late = login_at(T0 + 80 * DAY_MS, "farm", "d-936");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &late, NULL), false);
    rg_event gone = login_at(T0 + 80 * DAY_MS, "farm", "d-935");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &gone, NULL), true);   /* 65th most recent */
    fixture_end(&lf.f);
}

/* Login history is kept for good (rules.md "State is bounded"): a month
 * without any event does not make the next login a first login, and
 * prev_login_country is still the last placed one. */
static void test_history_kept_past_horizon(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event a = login_at(T0, "u", "d-a");
    login_from(&lf, &a, "CN");
    for (int d = 1; d <= 30; d++) {   /* another account's month */
        rg_event other = login_at(T0 + d * DAY_MS, "v", "d-v");
        login_from(&lf, &other, "CN");
        lf.f.det->expire(lf.f.state, T0 + d * DAY_MS);
    }
    rg_event b = login_at(T0 + 30 * DAY_MS + 1, "u", "d-b");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &b, NULL), true);
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &b, NULL), "CN");
    login_from(&lf, &b, "FR");
    rg_event c = login_at(T0 + 30 * DAY_MS + 2, "u", "d-a");
    assert_bool_value(fixture_peek(&lf.f, lf.new_device, &c, NULL), false);   /* d-a still known */
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &c, NULL), "FR");
    fixture_end(&lf.f);
}

/* A login without an ip skips like an unplaced one: with a context that
 * has no GeoIP answer (the engine's rg_eval_geo gives none without ip). */
static void test_prev_country_login_without_ip(void **unused)
{
    login_fixture lf;
    setup(&lf);
    rg_event a = login_at(T0, "u", "d");
    login_from(&lf, &a, "DE");
    rg_event b = login_at(T0 + MIN_MS, "u", "d");
    b.ip = NULL;
    b.ip_family = 0;
    login_from(&lf, &b, NULL);
    rg_event c = login_at(T0 + 2 * MIN_MS, "u", "d");
    assert_string_value(fixture_peek(&lf.f, lf.prev_country, &c, NULL), "DE");
    fixture_end(&lf.f);
}

/* The last device's id (the fast path) against the fingerprints alone:
 * two states fed the same events, one keeping its records' last device
 * ids, one reloaded from its checkpoint before every event (so it never
 * has one), answer new_device alike and save the same bytes. The events
 * mix ids of 3, 11 (differing in their middle byte), 16 (kept) and 17
 * bytes (not), logins and other types, an account cycling more than
 * DEVICES_MAX devices (evictions), and
 * new_device asked before the update (its fingerprint reused) or not. */
static void test_last_device_matches_fingerprints(void **unused)
{
    static const char *const accounts[] = {"u1", "u2", "farm"};
    static const char *const devices[] = {"d-a", "d-b", "dddddddddddd-16a", "dddddddddddd-16b",
                                          "dddddddddddd-17ab", "dddddddddddd-17ac", "abc1-device", "abc2-device"};
    login_fixture fast, slow;
    setup(&fast);
    setup(&slow);
    rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT;
    char farm_device[32];
    uint32_t seed = 12345;
    for (int i = 0; i < 4000; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t r = seed >> 8;
        const char *account = accounts[r % 3];
        const char *device = devices[(r >> 2) % 8];
        if (account == accounts[2]) {   /* farm: 80 devices in turn, some repeated at once */
            snprintf(farm_device, sizeof farm_device, (r & 64) ? "farm-%02d" : "farm-device-long-%04d", (i / 2) % 80);
            device = farm_device;
        }
        rg_event ev = login_at(T0 + i * SEC_MS, account, device);
        if ((r >> 5) % 4 == 0)
            ev.type = RG_EV_TRANSFER;
        fixture_reload(&slow.f, &a);
        rg_value want = fixture_peek(&slow.f, slow.new_device, &ev, NULL);
        rg_value got = (r >> 7) % 2 ? fixture_step(&fast.f, fast.new_device, &ev, NULL)
                                    : fixture_peek(&fast.f, fast.new_device, &ev, NULL);
        assert_int_equal(got.known, want.known);
        if (want.known)
            assert_int_equal(got.u.b, want.u.b);
        if ((r >> 7) % 2 == 0)
            fixture_fold(&fast.f, &ev, NULL);
        fixture_fold(&slow.f, &ev, NULL);
        if (i % 97 == 0) {
            fixture_save_bytes(&fast.f, &a);
            fixture_save_bytes(&slow.f, &b);
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.data, b.data, a.len);
        }
    }
    fixture_save_bytes(&fast.f, &a);
    fixture_save_bytes(&slow.f, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    rg_strbuf_free(&a);
    rg_strbuf_free(&b);
    fixture_end(&fast.f);
    fixture_end(&slow.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_device_other_country), cmocka_unit_test(test_new_device_same_country),
        cmocka_unit_test(test_first_login_ever),         cmocka_unit_test(test_device_seen_on_account_open),
        cmocka_unit_test(test_prev_country_skips_unplaced), cmocka_unit_test(test_device_cap_and_expire),
        cmocka_unit_test(test_history_kept_past_horizon), cmocka_unit_test(test_prev_country_login_without_ip),
        cmocka_unit_test(test_last_device_matches_fingerprints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
