/*
 * Unit tests for detectors/velocity.c: count(W, FILTER) windows on event
 * time (detection.md "Window semantics"), with FILTER == NULL meaning
 * "every event of the account" (detector.h); filters over real rule
 * expressions are tested in test_detectors.c. Owner: detectors.
 */
#include "test_detectors_util.h"

#include "detectors/window.h"

static const rg_name_use *setup_count(det_fixture *f, int64_t window_ms)
{
    fixture_begin(f, "count");
    const rg_name_use *u = fixture_use(f, "count", window_ms, NULL);
    fixture_create(f);
    return u;
}

/* 51 payments in 20 h: the 51st sees 51 (E included), the 50th sees 50. */
static void test_fifty_vs_fifty_one(void **unused)
{
    det_fixture f;
    const rg_name_use *count_24h = setup_count(&f, DAY_MS);
    for (int i = 0; i < 50; i++) {
        rg_event ev = mk_event(RG_EV_TRANSFER, T0 + i * 24 * MIN_MS, "hf-51");
        rg_value v = fixture_step(&f, count_24h, &ev, NULL);
        assert_int_value(v, i + 1);
    }
    rg_event ev = mk_event(RG_EV_TRANSFER, T0 + 20 * HOUR_MS, "hf-51");
    assert_int_value(fixture_step(&f, count_24h, &ev, NULL), 51);
    /* Another account is not counted with this one. */
    rg_event other = mk_event(RG_EV_TRANSFER, T0 + 20 * HOUR_MS, "hf-50");
    assert_int_value(fixture_peek(&f, count_24h, &other, NULL), 1);
    fixture_end(&f);
}

/* An event exactly W old is outside (E.ts - W, E.ts]; W - 1 ms is inside. */
static void test_window_boundary(void **unused)
{
    det_fixture f;
    const rg_name_use *count_24h = setup_count(&f, DAY_MS);
    rg_event first = mk_event(RG_EV_TRANSFER, T0, "a");
    fixture_step(&f, count_24h, &first, NULL);
    rg_event exactly_w = mk_event(RG_EV_TRANSFER, T0 + DAY_MS, "a");
    assert_int_value(fixture_peek(&f, count_24h, &exactly_w, NULL), 1);
    rg_event w_minus_1 = mk_event(RG_EV_TRANSFER, T0 + DAY_MS - 1, "a");
    assert_int_value(fixture_peek(&f, count_24h, &w_minus_1, NULL), 2);
    fixture_end(&f);
}

/* Sliding, never calendar days: 30 events before midnight and 30 after,
 * all within 24 h, count 60 however the day boundary falls. */
static void test_across_midnight(void **unused)
{
    det_fixture f;
    const rg_name_use *count_24h = setup_count(&f, DAY_MS);
    int64_t start = T0 - 3 * HOUR_MS;   /* 21:00 the day before */
    rg_value v = rg_unknown(RG_T_INT);
    for (int i = 0; i < 60; i++) {
        rg_event ev = mk_event(RG_EV_TRANSFER, start + i * 6 * MIN_MS, "hf-mid");
        v = fixture_step(&f, count_24h, &ev, NULL);
    }
    assert_int_value(v, 60);
    /* 24 h after the first: the first is out, the other 59 and E are in. */
    rg_event later = mk_event(RG_EV_TRANSFER, start + DAY_MS, "hf-mid");
    assert_int_value(fixture_peek(&f, count_24h, &later, NULL), 60);
    rg_event much_later = mk_event(RG_EV_TRANSFER, start + DAY_MS + 6 * MIN_MS, "hf-mid");
    assert_int_value(fixture_peek(&f, count_24h, &much_later, NULL), 59);
    fixture_end(&f);
}

/* Out of order: a late event is counted by ts, not by arrival. */
static void test_out_of_order(void **unused)
{
    det_fixture f;
    const rg_name_use *count_10m = setup_count(&f, 10 * MIN_MS);
    int64_t ts[] = {T0, T0 + 8 * MIN_MS, T0 + 12 * MIN_MS};
    for (size_t i = 0; i < 3; i++) {
        rg_event ev = mk_event(RG_EV_RECALL_REQUEST, ts[i], "rc");
        fixture_step(&f, count_10m, &ev, NULL);
    }
    /* Late: ts T0 + 5m sees T0 and itself, not the later ones. */
    rg_event late = mk_event(RG_EV_RECALL_REQUEST, T0 + 5 * MIN_MS, "rc");
    assert_int_value(fixture_step(&f, count_10m, &late, NULL), 2);
    /* At T0 + 14m: (T0+4m, T0+14m] holds 5m, 8m, 12m and E. */
    rg_event now = mk_event(RG_EV_RECALL_REQUEST, T0 + 14 * MIN_MS, "rc");
    assert_int_value(fixture_step(&f, count_10m, &now, NULL), 4);
    /* Same ts twice (two events in one ms) both count. */
    rg_event same = mk_event(RG_EV_RECALL_REQUEST, T0 + 14 * MIN_MS, "rc");
    assert_int_value(fixture_step(&f, count_10m, &same, NULL), 5);
    fixture_end(&f);
}

/* Several windows on one account, each its own use. */
static void test_two_windows(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "count");
    const rg_name_use *count_10m = fixture_use(&f, "count", 10 * MIN_MS, NULL);
    const rg_name_use *count_24h = fixture_use(&f, "count", DAY_MS, NULL);
    fixture_create(&f);
    for (int i = 0; i < 10; i++) {
        rg_event ev = mk_event(RG_EV_LOGIN, T0 + i * 5 * MIN_MS, "u");
        fixture_fold(&f, &ev, NULL);
    }
    rg_event ev = mk_event(RG_EV_LOGIN, T0 + 50 * MIN_MS, "u");
    assert_int_value(fixture_peek(&f, count_10m, &ev, NULL), 2);   /* 45m and E */
    assert_int_value(fixture_peek(&f, count_24h, &ev, NULL), 11);
    fixture_end(&f);
}

/* Bursts far apart: the window keeps only what can still be asked, and
 * expire() drops idle accounts. */
static void test_trim_and_expire(void **unused)
{
    det_fixture f;
    const rg_name_use *count_10m = setup_count(&f, 10 * MIN_MS);
    for (int i = 0; i < 1000; i++) {
        rg_event ev = mk_event(RG_EV_LOGIN, T0 + i * SEC_MS, "burst");
        fixture_fold(&f, &ev, NULL);
    }
    rg_detector_stats st = fixture_stats(&f);
    assert_int_equal(st.entities, 1);
    assert_int_equal(st.window_entries, 1000);   /* all within 10m + 1h lateness */
    rg_event later = mk_event(RG_EV_LOGIN, T0 + 3 * HOUR_MS, "burst");
    assert_int_value(fixture_step(&f, count_10m, &later, NULL), 1);
    st = fixture_stats(&f);
    assert_int_equal(st.window_entries, 1);
    f.det->expire(f.state, T0 + 5 * HOUR_MS);
    st = fixture_stats(&f);
    assert_int_equal(st.entities, 0);
    assert_int_equal(st.window_entries, 0);
    fixture_end(&f);
}

/* A record's windows are not looked at by a trim below its trim due
 * time (velocity.c: the first watermark at which an entry can go); a
 * late entry, inserted before the others, brings that time forward, so
 * the next sweep drops it from the short window (it stayed there when
 * the due time followed only the newest entries). */
static void test_late_entry_brings_trim_forward(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "count");
    const rg_name_use *count_10m = fixture_use(&f, "count", 10 * MIN_MS, NULL);
    (void)fixture_use(&f, "count", DAY_MS, NULL);
    fixture_create(&f);
    rg_event on_time = mk_event(RG_EV_LOGIN, T0 + 2 * HOUR_MS, "u");
    fixture_fold(&f, &on_time, NULL);
    rg_event late = mk_event(RG_EV_LOGIN, T0 + 65 * MIN_MS, "u");   /* 55 min late: within max_lateness */
    fixture_fold(&f, &late, NULL);
    assert_int_equal(fixture_stats(&f).window_entries, 4);
    rg_event other = mk_event(RG_EV_LOGIN, T0 + 140 * MIN_MS, "v");
    fixture_fold(&f, &other, NULL);
    /* Cutoff of the 10m window: 140 - 60 - 10 = 70 min past T0 > 65. */
    f.det->expire(f.state, T0 + 140 * MIN_MS);
    assert_int_equal(fixture_stats(&f).window_entries, 3 + 2);   /* u: 1 + 2, v: 1 + 1 */
    rg_event again = mk_event(RG_EV_LOGIN, T0 + 141 * MIN_MS, "u");
    assert_int_value(fixture_peek(&f, count_10m, &again, NULL), 1);   /* E alone */
    fixture_end(&f);
}

/* A late event within max_lateness still sees its exact window. */
static void test_late_within_lateness(void **unused)
{
    det_fixture f;
    const rg_name_use *count_10m = setup_count(&f, 10 * MIN_MS);
    for (int i = 0; i < 5; i++) {
        rg_event ev = mk_event(RG_EV_LOGIN, T0 + i * MIN_MS, "late");
        fixture_fold(&f, &ev, NULL);
    }
    rg_event jump = mk_event(RG_EV_LOGIN, T0 + 65 * MIN_MS, "other");
    fixture_fold(&f, &jump, NULL);
    f.det->expire(f.state, T0 + 65 * MIN_MS);
    rg_event late = mk_event(RG_EV_LOGIN, T0 + 6 * MIN_MS, "late");
    assert_int_value(fixture_step(&f, count_10m, &late, NULL), 6);
    fixture_end(&f);
}

/* Against a brute-force reference: three accounts, events up to 50 min
 * out of order (within the 1 h max_lateness: every count exact), two
 * windows, expire() now and then. */
static void test_matches_reference(void **unused)
{
    enum { N = 4000 };
    static int64_t ts[N];
    static int acct[N];
    det_fixture f;
    fixture_begin(&f, "count");
    const rg_name_use *w10m = fixture_use(&f, "count", 10 * MIN_MS, NULL);
    const rg_name_use *w2h = fixture_use(&f, "count", 2 * HOUR_MS, NULL);
    fixture_create(&f);
    const char *accounts[] = {"a", "b", "c"};
    uint64_t rnd = 0x243F6A8885A308D3ull;
    for (int i = 0; i < N; i++) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        ts[i] = T0 + i * 15 * SEC_MS - (int64_t)(rnd % (50 * MIN_MS));
        acct[i] = (int)((rnd >> 32) % 3);
        rg_event ev = mk_event(RG_EV_LOGIN, ts[i], accounts[acct[i]]);
        const rg_name_use *uses[] = {w10m, w2h};
        for (int u = 0; u < 2; u++) {
            int64_t expect = 1;
            for (int j = 0; j < i; j++)
                expect += acct[j] == acct[i] && ts[j] > ts[i] - uses[u]->window_ms && ts[j] <= ts[i];
            rg_value v = fixture_peek(&f, uses[u], &ev, NULL);
            if (!v.known || v.u.i != expect)
                fail_msg("event %d: got %lld, expected %lld", i, (long long)v.u.i, (long long)expect);
        }
        fixture_fold(&f, &ev, NULL);
        if (i % 700 == 699)
            f.det->expire(f.state, T0 + i * 15 * SEC_MS);
    }
    fixture_end(&f);
}

/* Count in a reference: entries t with lo < t <= hi. */
static uint32_t ref_count(const int64_t *ref, size_t n, int64_t lo, int64_t hi)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ref[i] > lo && ref[i] <= hi;
    return c;
}

/* window.h directly: two windows sharing one base, an account active for
 * 200 days (the base must move: offsets are 32-bit, 49.7 days), events
 * up to 90 days out of order now and then (the window goes wide, stays
 * exact, and narrows again once trimmed), compared with a plain array. */
static void test_window_offsets_rebase_and_wide(void **unused)
{
    enum { N = 6000 };
    static int64_t ref[2][N];
    size_t n_ref[2] = {0, 0};
    rg_window ws[2];
    rg_window_init(&ws[0]);
    rg_window_init(&ws[1]);
    int64_t base = 0;
    const int64_t keep[2] = {DAY_MS, 30 * DAY_MS};
    bool went_wide = false;
    uint64_t rnd = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < N; i++) {
        rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
        int64_t now = T0 + (int64_t)i * 48 * MIN_MS;   /* 200 days */
        int64_t ts = now - (int64_t)(rnd % (10 * MIN_MS));
        if (rnd % 500 == 0)
            ts = now - 90 * DAY_MS;   /* far out of order */
        int w = (int)((rnd >> 40) & 1);
        (void)rg_window_group_fit(ws, 2, &base, ts);
        assert_int_equal(rg_window_insert(&ws[w], base, ts), 0);
        ref[w][n_ref[w]++] = ts;
        went_wide |= rg_window_entry_bytes(&ws[w]) == 8 * (size_t)rg_window_len(&ws[w]);
        for (int k = 0; k < 2; k++) {
            /* Trim as velocity does, and the reference with it. */
            int64_t cutoff = now - keep[k];
            rg_window_trim(&ws[k], base, cutoff);
            size_t m = 0;
            for (size_t j = 0; j < n_ref[k]; j++)
                if (ref[k][j] > cutoff)
                    ref[k][m++] = ref[k][j];
            n_ref[k] = m;
            assert_int_equal(rg_window_len(&ws[k]), n_ref[k]);
            int64_t lo = ts - (int64_t)(rnd % (2 * keep[k]));
            uint32_t got = rg_window_count(&ws[k], base, lo, ts), expect = ref_count(ref[k], n_ref[k], lo, ts);
            if (got != expect)
                fail_msg("event %d window %d: got %u, expected %u", i, k, got, expect);
        }
    }
    assert_true(went_wide);
    /* Trimmed back to a span that fits: narrow again (4 bytes an entry). */
    for (int k = 0; k < 2; k++)
        assert_int_equal(rg_window_entry_bytes(&ws[k]), 4 * (size_t)rg_window_len(&ws[k]));
    rg_window_free(&ws[0]);
    rg_window_free(&ws[1]);
}


/* A new velocity record takes rg_window_empty_group_base instead of the
 * fit's call: the base a refit of empty windows chooses, for times of
 * every sign, and a later fit of an in-order time keeps it. */
static void test_empty_group_base_is_refit(void **unused)
{
    int64_t times[] = {T0, 0, -T0, T0 + 40 * DAY_MS, INT64_C(253402300799999), INT64_C(-62135596800000)};
    for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
        rg_window ws[3];
        memset(ws, 0, sizeof ws);
        int64_t base = INT64_C(7);   /* a zeroed record's is 0: any that does not fit */
        if (times[k] - base >= 0 && times[k] - base <= INT64_C(0xffffffff))
            base = times[k] + 1;
        assert_true(rg_window_group_refit(ws, 3, &base, times[k]));
        assert_int_equal(base, rg_window_empty_group_base(times[k]));
        int64_t later = rg_window_empty_group_base(times[k]);
        assert_true(rg_window_group_fit(ws, 3, &later, times[k] + 60 * SEC_MS));
        assert_int_equal(later, base);
    }
}

/* count(60d): a window longer than 32-bit offsets reach. Entries that do
 * not fit the base are kept as full timestamps, and every count is exact
 * (against a brute-force reference), through save/load too. */
static void test_window_longer_than_offsets(void **unused)
{
    enum { N = 400 };
    static int64_t ts[N];
    det_fixture f;
    const rg_name_use *w60d = setup_count(&f, 60 * DAY_MS);
    for (int i = 0; i < N; i++) {
        ts[i] = T0 + (int64_t)i * 7 * HOUR_MS;   /* 117 days */
        rg_event ev = mk_event(RG_EV_TRANSFER, ts[i], "long");
        int64_t expect = 1;
        for (int j = 0; j < i; j++)
            expect += ts[j] > ts[i] - 60 * DAY_MS;
        rg_value v = fixture_step(&f, w60d, &ev, NULL);
        if (!v.known || v.u.i != expect)
            fail_msg("event %d: got %lld, expected %lld", i, (long long)v.u.i, (long long)expect);
    }
    rg_detector_stats st = fixture_stats(&f);
    assert_int_equal(st.window_bytes, 8 * st.window_entries);   /* wide */
    /* Saved and loaded into a fresh state: the same bytes again, and the
     * same count for the next event. */
    rg_strbuf saved = RG_STRBUF_INIT, again = RG_STRBUF_INIT;
    assert_int_equal(f.det->save(f.state, &saved), 0);
    void *loaded = f.det->create(&f.cfg, (char[64]){0}, 64);
    assert_non_null(loaded);
    rg_reader in;
    rg_reader_init(&in, saved.data, saved.len, 0);
    if (f.det->load(loaded, f.det->state_version, &in) != 0)
        fail_msg("load: %s", in.error);
    assert_int_equal(f.det->save(loaded, &again), 0);
    assert_int_equal(again.len, saved.len);
    assert_memory_equal(again.data, saved.data, saved.len);
    rg_event next = mk_event(RG_EV_TRANSFER, ts[N - 1] + HOUR_MS, "long");
    rg_value before = fixture_peek(&f, w60d, &next, NULL);
    f.det->destroy(f.state);
    f.state = loaded;
    rg_value after = fixture_peek(&f, w60d, &next, NULL);
    assert_int_equal(before.u.i, after.u.i);
    rg_strbuf_free(&saved);
    rg_strbuf_free(&again);
    fixture_end(&f);
}

/* rg_window_insert's inline appends and a full inline window's or narrow
 * ring's growth (rg_window_grow_narrow, rg_window_grow_ring) against the
 * general insert
 * (rg_window_insert_at), rg_window_trim (an inline window's and a
 * narrow ring's by rg_window_trim_by_kind) against the general trim
 * (rg_window_trim_some),
 * and rg_window_count's inline count against rg_window_count_at: two
 * windows fed the same times (mostly in order, some late or equal,
 * bursts that outgrow the inline room and the heap ring, trims that
 * shrink it back, times that do not fit the base) hold the same entries
 * in the same storage after every step. */
static void test_window_insert_fast_path_matches_general(void **unused)
{
    /* Pass 0 mixes in times that do not fit the base (one far ahead
     * keeps the window wide for good); passes 1 and 2 have none, so the
     * narrow ring's paths run often, and with times ten times sparser
     * (pass 2) the window hovers about three entries: each fast path is
     * seen to run. */
    unsigned grew = 0, ring_grew = 0, back_inline = 0, ring_trimmed = 0, inline_trimmed = 0;
    for (int pass = 0; pass < 3; pass++) {
        rg_window fast, general;
        rg_window_init(&fast);
        rg_window_init(&general);
        const int64_t base = T0 - MIN_MS;
        uint64_t rnd = 0x2545F4914F6CDD1Dull;
        int64_t now = T0;
        for (int i = 0; i < 20000; i++) {
            rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
            now += (int64_t)(rnd % ((pass == 2 ? 30 : 3) * MIN_MS));
            int64_t ts = now;
            if (rnd % 7 == 0)
                ts = now - (int64_t)((rnd >> 8) % (5 * MIN_MS));   /* late */
            else if (pass == 0 && rnd % 11 == 0)
                ts = base - 1;                                     /* before the base: wide */
            else if (pass == 0 && rnd % 13 == 0)
                ts = base + INT64_C(0x100000000);                  /* past the offsets: wide */
            uint32_t before = fast.meta;
            assert_int_equal(rg_window_insert(&fast, base, ts), rg_window_insert_at(&general, base, ts));
            grew += before == RG_WINDOW_INLINE && (fast.meta >> 30) == 1;
            ring_grew += (before >> 30) == 1 && (fast.meta >> 30) == 1 && ((fast.meta >> 25) & 31) > ((before >> 25) & 31);
            if (rnd % 5 == 0) {
                int64_t cutoff = now - (int64_t)((rnd >> 16) % (40 * MIN_MS));
                before = fast.meta;
                uint32_t dropped = rg_window_trim(&fast, base, cutoff);
                assert_int_equal(dropped, rg_window_trim_some(&general, base, cutoff));
                back_inline += (before >> 30) == 1 && (fast.meta >> 30) == 0 && rg_window_len(&fast);
                ring_trimmed += (before >> 30) == 1 && (fast.meta >> 30) == 1 && dropped;
                inline_trimmed += (before >> 30) == 0 && dropped;
            }
            assert_int_equal(fast.meta, general.meta);
            assert_int_equal(rg_window_len(&fast), rg_window_len(&general));
            assert_int_equal(rg_window_entry_bytes(&fast), rg_window_entry_bytes(&general));
            for (uint32_t j = 0; j < rg_window_len(&fast); j++)
                assert_int_equal(rg_window_at(&fast, base, j), rg_window_at(&general, base, j));
            /* The inline count against the general one, over windows that
             * cut the entries anywhere (and an empty range). */
            int64_t hi = now - (int64_t)((rnd >> 24) % (2 * MIN_MS)), lo = hi - (int64_t)((rnd >> 32) % (6 * MIN_MS));
            assert_int_equal(rg_window_count(&fast, base, lo, hi), rg_window_count_at(&general, base, lo, hi));
            assert_int_equal(rg_window_count(&fast, base, hi, lo), rg_window_count_at(&general, base, hi, lo));
        }
        rg_window_free(&fast);
        rg_window_free(&general);
    }
    if (grew < 100 || ring_grew < 100 || back_inline < 100 || ring_trimmed < 100 || inline_trimmed < 100)
        fail_msg("fast paths seen too rarely: grew %u, ring grew %u, back inline %u, ring trimmed %u, inline trimmed %u",
                 grew, ring_grew, back_inline, ring_trimmed, inline_trimmed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifty_vs_fifty_one), cmocka_unit_test(test_window_boundary),
        cmocka_unit_test(test_across_midnight),    cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_two_windows),        cmocka_unit_test(test_trim_and_expire),
        cmocka_unit_test(test_late_entry_brings_trim_forward),
        cmocka_unit_test(test_late_within_lateness), cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_window_offsets_rebase_and_wide), cmocka_unit_test(test_window_longer_than_offsets),
        cmocka_unit_test(test_window_insert_fast_path_matches_general),
        cmocka_unit_test(test_empty_group_base_is_refit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
