/*
 * Unit tests for detectors/counterparty.c: counterparty_age (from
 * counterparty_created_at, from an earlier account_open, unknown) and
 * counterparty_senders(W) (distinct senders, E included, exact windows,
 * late events). Owner: detectors.
 */
#include "test_detectors_util.h"

static void test_age_from_created_at(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "counterparty_age");
    const rg_name_use *age = fixture_use(&f, "counterparty_age", 0, NULL);
    fixture_create(&f);
    rg_event ev = mk_transfer(T0, "snd-r2", "new-r2", 250000);
    ev.has_counterparty_created_at = true;
    ev.counterparty_created_at_ms = T0 - 46 * HOUR_MS;
    assert_int_value(fixture_step(&f, age, &ev, NULL), 46 * HOUR_MS);
    /* The enrichment is not remembered for the next transfer. */
    rg_event plain = mk_transfer(T0 + 1, "snd-r2", "new-r2", 250000);
    assert_unknown(fixture_step(&f, age, &plain, NULL));
    fixture_end(&f);
}

static void test_age_from_account_open(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "counterparty_age");
    const rg_name_use *age = fixture_use(&f, "counterparty_age", 0, NULL);
    fixture_create(&f);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0, "new-r1");
    fixture_fold(&f, &open, NULL);
    /* 72 h boundary: 72h - 1ms old vs exactly 72 h (the rule says < 72h). */
    rg_event t1 = mk_transfer(T0 + 72 * HOUR_MS - 1, "snd-r1", "new-r1", 100000);
    assert_int_value(fixture_step(&f, age, &t1, NULL), 72 * HOUR_MS - 1);
    rg_event t2 = mk_transfer(T0 + 72 * HOUR_MS, "snd-r1", "new-r1", 100000);
    assert_int_value(fixture_step(&f, age, &t2, NULL), 72 * HOUR_MS);
    /* created_at on the event wins over the open seen. */
    rg_event t3 = mk_transfer(T0 + 80 * HOUR_MS, "snd-r1", "new-r1", 100000);
    t3.has_counterparty_created_at = true;
    t3.counterparty_created_at_ms = T0 + 79 * HOUR_MS;
    assert_int_value(fixture_step(&f, age, &t3, NULL), HOUR_MS);
    /* Never opened, no enrichment: unknown ("not new"). */
    rg_event t4 = mk_transfer(T0 + HOUR_MS, "snd-r1", "old-r3", 100000);
    assert_unknown(fixture_step(&f, age, &t4, NULL));
    /* Not a transfer: unknown. */
    rg_event login = mk_event(RG_EV_LOGIN, T0, "new-r1");
    assert_unknown(fixture_step(&f, age, &login, NULL));
    fixture_end(&f);
}

/* A registration is a fact about the account, kept for good (rules.md
 * "State is bounded"): `counterparty_age >= 30d` is known for an account
 * opened long ago, however quiet it was, and sweeps keep it. */
static void test_age_kept_for_good(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "counterparty_age");
    const rg_name_use *age = fixture_use(&f, "counterparty_age", 0, NULL);
    fixture_create(&f);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0, "cp");
    fixture_fold(&f, &open, NULL);
    for (int d = 1; d <= 400; d += 3) {   /* other accounts' days go by */
        rg_event other = mk_event(RG_EV_ACCOUNT_OPEN, T0 + d * DAY_MS, "someone-else");
        fixture_fold(&f, &other, NULL);
        f.det->expire(f.state, T0 + d * DAY_MS);
    }
    assert_int_equal(fixture_stats(&f).entities, 2);
    rg_event t1 = mk_transfer(T0 + 14 * DAY_MS + 400 * DAY_MS, "x", "cp", 1);
    assert_int_value(fixture_step(&f, age, &t1, NULL), 414 * DAY_MS);
    /* A second open of the same account later does not rejuvenate it. */
    rg_event again = mk_event(RG_EV_ACCOUNT_OPEN, T0 + 415 * DAY_MS, "cp");
    fixture_fold(&f, &again, NULL);
    rg_event t2 = mk_transfer(T0 + 416 * DAY_MS, "x", "cp", 1);
    assert_int_value(fixture_step(&f, age, &t2, NULL), 416 * DAY_MS);
    fixture_end(&f);
}

static const rg_name_use *setup_senders(det_fixture *f, int64_t window_ms)
{
    fixture_begin(f, "counterparty_senders");
    const rg_name_use *u = fixture_use(f, "counterparty_senders", window_ms, NULL);
    fixture_create(f);
    return u;
}

/* 4 vs 5 distinct senders; the same sender twice counts once. */
static void test_senders_distinct(void **unused)
{
    det_fixture f;
    const rg_name_use *senders = setup_senders(&f, DAY_MS);
    const char *who[] = {"ms1-0", "ms1-1", "ms1-0", "ms1-2", "ms1-3"};
    int64_t expect[] = {1, 2, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        rg_event ev = mk_transfer(T0 + i * HOUR_MS, who[i], "mule-1", 1000);
        assert_int_value(fixture_step(&f, senders, &ev, NULL), expect[i]);
    }
    rg_event fifth = mk_transfer(T0 + 5 * HOUR_MS, "ms1-4", "mule-1", 1000);
    assert_int_value(fixture_step(&f, senders, &fifth, NULL), 5);
    /* A repeat sender at E: E's sender already counted. */
    rg_event again = mk_transfer(T0 + 6 * HOUR_MS, "ms1-1", "mule-1", 1000);
    assert_int_value(fixture_step(&f, senders, &again, NULL), 5);
    /* Another counterparty is not mixed in. */
    rg_event other = mk_transfer(T0 + 6 * HOUR_MS, "ms1-1", "mule-2", 1000);
    assert_int_value(fixture_step(&f, senders, &other, NULL), 1);
    /* Not a transfer: unknown. */
    rg_event login = mk_event(RG_EV_LOGIN, T0, "mule-1");
    assert_unknown(fixture_step(&f, senders, &login, NULL));
    fixture_end(&f);
}

/* The window is (E.ts - W, E.ts]: a sender exactly W old drops out. */
static void test_senders_window_boundary(void **unused)
{
    det_fixture f;
    const rg_name_use *senders = setup_senders(&f, DAY_MS);
    rg_event a = mk_transfer(T0, "a", "hub", 1);
    fixture_step(&f, senders, &a, NULL);
    rg_event b = mk_transfer(T0 + HOUR_MS, "b", "hub", 1);
    fixture_step(&f, senders, &b, NULL);
    rg_event at_w = mk_transfer(T0 + DAY_MS, "c", "hub", 1);
    assert_int_value(fixture_peek(&f, senders, &at_w, NULL), 2);   /* b, c */
    rg_event before_w = mk_transfer(T0 + DAY_MS - 1, "c", "hub", 1);
    assert_int_value(fixture_peek(&f, senders, &before_w, NULL), 3);
    /* a sends again later: its latest time moves, it counts once. */
    rg_event a2 = mk_transfer(T0 + 20 * HOUR_MS, "a", "hub", 1);
    assert_int_value(fixture_step(&f, senders, &a2, NULL), 2);
    rg_event d = mk_transfer(T0 + 25 * HOUR_MS, "d", "hub", 1);
    assert_int_value(fixture_peek(&f, senders, &d, NULL), 2);   /* b (1h) is exactly W old: a and d */
    fixture_end(&f);
}

/* A late transfer is counted over the window it belongs to. */
static void test_senders_out_of_order(void **unused)
{
    det_fixture f;
    const rg_name_use *senders = setup_senders(&f, HOUR_MS);
    const char *who[] = {"s0", "s1", "s2", "s0"};
    int64_t at[] = {T0, T0 + 10 * MIN_MS, T0 + 40 * MIN_MS, T0 + 50 * MIN_MS};
    for (int i = 0; i < 4; i++) {
        rg_event ev = mk_transfer(at[i], who[i], "hub", 1);
        fixture_step(&f, senders, &ev, NULL);
    }
    /* Late at T0+20m: (T0-40m, T0+20m] holds s0@0, s1@10m, and E (s3). */
    rg_event late = mk_transfer(T0 + 20 * MIN_MS, "s3", "hub", 1);
    assert_int_value(fixture_step(&f, senders, &late, NULL), 3);
    /* Late from s2 at T0+5m: s0@0 and E's s2 (s2's own later one is after E). */
    rg_event late2 = mk_transfer(T0 + 5 * MIN_MS, "s2", "hub", 1);
    assert_int_value(fixture_step(&f, senders, &late2, NULL), 2);
    /* In order again at T0+65m: (T0+5m, T0+65m] s1, s3, s2, s0 + E(s4). */
    rg_event now = mk_transfer(T0 + 65 * MIN_MS, "s4", "hub", 1);
    assert_int_value(fixture_step(&f, senders, &now, NULL), 5);
    fixture_end(&f);
}

/* Many senders over many days: state follows the window, not history. */
static void test_senders_bounded(void **unused)
{
    det_fixture f;
    const rg_name_use *senders = setup_senders(&f, HOUR_MS);
    char name[32];
    rg_value v = rg_unknown(RG_T_INT);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof name, "s%d", i % 700);
        rg_event ev = mk_transfer(T0 + i * 10 * SEC_MS, name, "merchant", 1);
        v = fixture_step(&f, senders, &ev, NULL);
    }
    assert_int_value(v, 360);   /* one per 10 s in the last hour, all distinct */
    rg_detector_stats st = fixture_stats(&f);
    assert_true(st.window_entries <= 2 * 800);   /* 1h + 1h lateness of transfers, plus latest times */
    f.det->expire(f.state, T0 + 30 * DAY_MS);
    assert_int_equal(fixture_stats(&f).entities, 0);
    fixture_end(&f);
}

/* Against a brute-force reference: random senders, events up to 50 min
 * out of order (max_lateness is 1 h, so every answer must be exact),
 * counterparties small (scan path) and busy (index and late paths). */
static void test_senders_match_reference(void **unused)
{
    enum { N = 3000, SENDERS = 40 };
    static int64_t ts[N];
    static int who[N], hub[N];
    det_fixture f;
    fixture_begin(&f, "counterparty_senders");
    const rg_name_use *w1h = fixture_use(&f, "counterparty_senders", HOUR_MS, NULL);
    const rg_name_use *w10m = fixture_use(&f, "counterparty_senders", 10 * MIN_MS, NULL);
    fixture_create(&f);
    uint64_t rnd = 0x9E3779B97F4A7C15ull;
    char sender[16];
    const char *hubs[] = {"busy", "quiet"};
    for (int i = 0; i < N; i++) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        ts[i] = T0 + i * 20 * SEC_MS - (int64_t)(rnd % (50 * MIN_MS));
        who[i] = (int)((rnd >> 20) % SENDERS);
        hub[i] = (rnd >> 40) % 10 == 0;   /* one in ten to the quiet one */
        snprintf(sender, sizeof sender, "s%d", who[i]);
        rg_event ev = mk_transfer(ts[i], sender, hubs[hub[i]], 1);
        const rg_name_use *uses[] = {w1h, w10m};
        for (int u = 0; u < 2; u++) {
            int64_t lo = ts[i] - uses[u]->window_ms;
            bool seen[SENDERS] = {false};
            int64_t expect = 0;
            seen[who[i]] = true;
            expect++;
            for (int j = 0; j < i; j++) {
                if (hub[j] == hub[i] && ts[j] > lo && ts[j] <= ts[i] && !seen[who[j]]) {
                    seen[who[j]] = true;
                    expect++;
                }
            }
            rg_value v = fixture_peek(&f, uses[u], &ev, NULL);
            if (!v.known || v.u.i != expect)
                fail_msg("event %d (%s, W=%lld): got %lld, expected %lld", i, hubs[hub[i]],
                         (long long)uses[u]->window_ms, (long long)v.u.i, (long long)expect);
        }
        fixture_fold(&f, &ev, NULL);
        if (i % 500 == 499)
            f.det->expire(f.state, T0 + i * 20 * SEC_MS);
    }
    fixture_end(&f);
}

/* Counterparties paid now and then, so that each holds none, one (in its
 * record), two or a few transfers (a heap array) and moves between them,
 * against a brute-force reference with events up to 50 min out of order;
 * and a second state reloaded from its checkpoint every 7 events (its
 * transfers always in heap arrays) answers alike and saves the same
 * bytes. */
static void test_senders_one_in_record_matches_reference(void **unused)
{
    enum { N = 3000, SENDERS = 12, HUBS = 40 };
    static int64_t ts[N];
    static int who[N], hub[N];
    det_fixture f, again;
    const rg_name_use *uses[2], *again_uses[2];
    det_fixture *fs[] = {&f, &again};
    for (int k = 0; k < 2; k++) {
        fixture_begin(fs[k], "counterparty_senders");
        const rg_name_use *w1h = fixture_use(fs[k], "counterparty_senders", HOUR_MS, NULL);
        const rg_name_use *w10m = fixture_use(fs[k], "counterparty_senders", 10 * MIN_MS, NULL);
        fixture_create(fs[k]);
        (k ? again_uses : uses)[0] = w1h;
        (k ? again_uses : uses)[1] = w10m;
    }
    rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT;
    uint64_t rnd = 0x243F6A8885A308D3ull;
    char sender[16], to[16];
    for (int i = 0; i < N; i++) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        ts[i] = T0 + i * 3 * MIN_MS - (int64_t)(rnd % (50 * MIN_MS));   /* a hub every ~2 h */
        who[i] = (int)((rnd >> 20) % SENDERS);
        hub[i] = (int)((rnd >> 40) % HUBS);
        snprintf(sender, sizeof sender, "s%d", who[i]);
        snprintf(to, sizeof to, "hub%d", hub[i]);
        rg_event ev = mk_transfer(ts[i], sender, to, 1);
        if (i % 7 == 0)
            fixture_reload(&again, &a);
        for (int u = 0; u < 2; u++) {
            int64_t lo = ts[i] - uses[u]->window_ms;
            bool seen[SENDERS] = {false};
            int64_t expect = 1;
            seen[who[i]] = true;
            for (int j = 0; j < i; j++) {
                if (hub[j] == hub[i] && ts[j] > lo && ts[j] <= ts[i] && !seen[who[j]]) {
                    seen[who[j]] = true;
                    expect++;
                }
            }
            rg_value v = fixture_peek(&f, uses[u], &ev, NULL), w = fixture_peek(&again, again_uses[u], &ev, NULL);
            if (!v.known || v.u.i != expect || !w.known || w.u.i != expect)
                fail_msg("event %d (hub%d, W=%lld): got %lld and %lld, expected %lld", i, hub[i],
                         (long long)uses[u]->window_ms, (long long)v.u.i, (long long)w.u.i, (long long)expect);
        }
        fixture_fold(&f, &ev, NULL);
        fixture_fold(&again, &ev, NULL);
        if (i % 300 == 299) {
            f.det->expire(f.state, T0 + i * 3 * MIN_MS);
            again.det->expire(again.state, T0 + i * 3 * MIN_MS);
        }
        if (i % 50 == 0) {
            fixture_save_bytes(&f, &a);
            fixture_save_bytes(&again, &b);
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.data, b.data, a.len);
        }
    }
    rg_strbuf_free(&a);
    rg_strbuf_free(&b);
    fixture_end(&f);
    fixture_end(&again);
}

/* Reload (the engine moves state with save then load): the registration
 * kept under the old file serves the new one, which also counts senders
 * from the reload on. */
static void test_reload_keeps_registrations(void **unused)
{
    det_fixture old_file, new_file;
    fixture_begin(&old_file, "counterparty_age");
    fixture_use(&old_file, "counterparty_age", 0, NULL);
    fixture_create(&old_file);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0, "mule-1");
    fixture_fold(&old_file, &open, NULL);

    fixture_begin(&new_file, "counterparty_age");
    const rg_name_use *age = fixture_use(&new_file, "counterparty_age", 0, NULL);
    const rg_name_use *senders = fixture_use(&new_file, "counterparty_senders", DAY_MS, NULL);
    fixture_create(&new_file);
    rg_strbuf blob = RG_STRBUF_INIT;
    assert_int_equal(old_file.det->save(old_file.state, &blob), 0);
    rg_reader in;
    rg_reader_init(&in, blob.data, blob.len, 0);
    assert_int_equal(new_file.det->load(new_file.state, new_file.det->state_version, &in), 0);
    fixture_end(&old_file);
    rg_event t1 = mk_transfer(T0 + HOUR_MS, "a", "mule-1", 1);
    assert_int_value(fixture_step(&new_file, age, &t1, NULL), HOUR_MS);
    rg_event t2 = mk_transfer(T0 + 2 * HOUR_MS, "b", "mule-1", 1);
    assert_int_value(fixture_step(&new_file, senders, &t2, NULL), 2);
    /* A truncated section is refused with the reason. */
    rg_reader_init(&in, blob.data, blob.len - 1, 0);
    det_fixture third;
    fixture_begin(&third, "counterparty_age");
    fixture_use(&third, "counterparty_age", 0, NULL);
    fixture_create(&third);
    assert_int_equal(third.det->load(third.state, third.det->state_version, &in), -1);
    assert_false(rg_reader_ok(&in));
    fixture_end(&third);
    rg_strbuf_free(&blob);
    fixture_end(&new_file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_age_from_created_at),    cmocka_unit_test(test_age_from_account_open),
        cmocka_unit_test(test_age_kept_for_good),            cmocka_unit_test(test_senders_distinct),
        cmocka_unit_test(test_senders_window_boundary), cmocka_unit_test(test_senders_out_of_order),
        cmocka_unit_test(test_senders_bounded),         cmocka_unit_test(test_reload_keeps_registrations),
        cmocka_unit_test(test_senders_match_reference),
        cmocka_unit_test(test_senders_one_in_record_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
