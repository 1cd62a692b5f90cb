/*
 * Extreme times and durations through every time computation of the
 * detectors, the cooldowns and dedupe (issue 12.4): `cooldown:
 * 106751991167d` wrapped `last + cooldown` (decisions/cooldown.c), a huge
 * window plus max_lateness wrapped counterparty's keep span and trim
 * cutoff, and every family's `watermark - horizon` could leave int64.
 * The rule loader refuses absurd durations now, but event times still
 * range over 0 .. 9999-12-31 (events.md allows any RFC 3339 time or epoch
 * ms), and a duration at the loader's maximum must still work. Under
 * UBSan (make test) an overflow aborts the test; the assertions check
 * that saturated arithmetic keeps each answer's meaning: a window longer
 * than all time holds everything, a cooldown longer than all time never
 * ends, a horizon longer than all time forgets nothing.
 * Owner: detectors.
 */
#include "common/timeutil.h"
#include "decisions/cooldown.h"
#include "ingest/dedupe.h"
#include "test_detectors_util.h"

/* 106751991167 days in ms: the largest whole number of days in int64 ms,
 * the duration of the report. */
#define ABSURD_MS (INT64_C(106751991167) * DAY_MS)
#define FAR_PAST RG_TS_MIN_MS
#define FAR_FUTURE RG_TS_MAX_MS

static void test_cooldown_longer_than_time(void **unused)
{
    rg_cooldowns *c = rg_cooldowns_new();
    assert_non_null(c);
    const int64_t durations[] = {ABSURD_MS, INT64_MAX};
    for (size_t i = 0; i < 2; i++) {
        char subject[16];
        snprintf(subject, sizeof subject, "acct-%zu", i);
        assert_false(rg_cooldowns_suppress(c, "r", subject, strlen(subject), FAR_FUTURE, durations[i], INT64_MIN));
        rg_cooldowns_expire(c, FAR_FUTURE);
        /* Never ends: suppressed before and after, from either side. */
        assert_true(rg_cooldowns_suppress(c, "r", subject, strlen(subject), FAR_PAST, durations[i], INT64_MIN));
        rg_cooldowns_expire(c, FAR_FUTURE);
        assert_true(rg_cooldowns_suppress(c, "r", subject, strlen(subject), FAR_FUTURE, durations[i], INT64_MIN));
    }
    /* An ordinary cooldown at the far end of time still ends. */
    assert_false(rg_cooldowns_suppress(c, "r2", "s", 1, FAR_FUTURE - HOUR_MS, HOUR_MS, INT64_MIN));
    assert_true(rg_cooldowns_suppress(c, "r2", "s", 1, FAR_FUTURE - 1, HOUR_MS, INT64_MIN));
    rg_cooldowns_expire(c, FAR_FUTURE);
    assert_false(rg_cooldowns_suppress(c, "r2", "s", 1, FAR_FUTURE, HOUR_MS, INT64_MIN));
    rg_cooldowns_free(c);
}

static void test_dedupe_horizon_longer_than_time(void **unused)
{
    rg_dedupe *d = rg_dedupe_new(INT64_MAX);
    assert_non_null(d);
    assert_false(rg_dedupe_check(d, "e-1", 3, FAR_PAST));
    assert_false(rg_dedupe_check(d, "e-2", 3, FAR_FUTURE));
    assert_true(rg_dedupe_check(d, "e-1", 3, FAR_FUTURE));   /* never forgotten */
    rg_dedupe_set_horizon(d, HOUR_MS);
    assert_false(rg_dedupe_check(d, "e-3", 3, FAR_FUTURE));
    assert_false(rg_dedupe_check(d, "e-1", 3, FAR_FUTURE));   /* forgotten now */
    rg_dedupe_free(d);
}

/* count() with a window longer than all time, events at both ends of
 * time and max_lateness as long: every event counts, nothing is trimmed. */
static void test_count_window_longer_than_time(void **unused)
{
    const int64_t windows[] = {ABSURD_MS, INT64_MAX, HOUR_MS};
    for (size_t w = 0; w < 3; w++) {
        det_fixture f;
        fixture_begin(&f, "count");
        f.cfg.max_lateness_ms = w < 2 ? windows[w] : INT64_MAX;
        const rg_name_use *count = fixture_use(&f, "count", windows[w], NULL);
        fixture_create(&f);
        /* Out of order across all of time; a window (E.ts - W, E.ts]
         * never holds what is later than E. */
        const int64_t times[] = {FAR_PAST, FAR_FUTURE, FAR_PAST + 1, FAR_FUTURE - 1, T0};
        const int64_t all_before[] = {1, 2, 2, 3, 3};
        for (int i = 0; i < 5; i++) {
            rg_event ev = mk_event(RG_EV_LOGIN, times[i], "acct");
            rg_value v = fixture_step(&f, count, &ev, NULL);
            if (w < 2)
                assert_int_value(v, all_before[i]);   /* all of time before E is in the window */
        }
        f.det->expire(f.state, FAR_FUTURE);
        rg_event last = mk_event(RG_EV_LOGIN, FAR_FUTURE, "acct");
        rg_value v = fixture_peek(&f, count, &last, NULL);
        /* 1 h window: FAR_FUTURE - 1 and FAR_FUTURE itself. */
        assert_int_value(v, w < 2 ? 6 : 3);
        fixture_end(&f);
    }
}

/* counterparty_senders with W + max_lateness past int64 (the keep span
 * and the trim cutoff overflowed: counterparty.c:120 and :358). */
static void test_senders_window_longer_than_time(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "counterparty_senders");
    f.cfg.max_lateness_ms = ABSURD_MS;
    const rg_name_use *senders = fixture_use(&f, "counterparty_senders", ABSURD_MS, NULL);
    const rg_name_use *age = fixture_use(&f, "counterparty_age", 0, NULL);
    fixture_create(&f);
    rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, FAR_PAST, "mule");
    fixture_fold(&f, &open, NULL);
    char who[16];
    for (int i = 0; i < 40; i++) {   /* past SMALL_MAX: the sender index too */
        snprintf(who, sizeof who, "s-%d", i);
        rg_event t = mk_transfer(i < 20 ? FAR_PAST + i : FAR_FUTURE - 40 + i, who, "mule", 1);
        assert_int_value(fixture_step(&f, senders, &t, NULL), i + 1);
    }
    f.det->expire(f.state, FAR_FUTURE);
    rg_event t = mk_transfer(FAR_FUTURE, "s-0", "mule", 1);
    assert_int_value(fixture_peek(&f, senders, &t, NULL), 40);
    assert_int_value(fixture_peek(&f, age, &t, NULL), FAR_FUTURE - FAR_PAST);
    /* Enrichment far in the future of the transfer: a negative age. */
    rg_event early = mk_transfer(FAR_PAST, "s-1", "mule", 1);
    early.has_counterparty_created_at = true;
    early.counterparty_created_at_ms = FAR_FUTURE;
    assert_int_value(fixture_step(&f, age, &early, NULL), FAR_PAST - FAR_FUTURE);
    fixture_end(&f);
}

/* A history horizon longer than all time: packets and transfers are
 * never forgotten, wherever their times are. */
static void test_horizon_longer_than_time(void **unused)
{
    const int64_t horizons[] = {ABSURD_MS, INT64_MAX};
    for (size_t h = 0; h < 2; h++) {
        det_fixture p;
        fixture_begin(&p, "claim_delay");
        p.cfg.history_horizon_ms = horizons[h];
        const rg_name_use *delay = fixture_use(&p, "claim_delay", 0, NULL);
        const rg_name_use *over = fixture_use(&p, "packet_overclaimed", 0, NULL);
        fixture_create(&p);
        rg_event send = mk_event(RG_EV_RED_PACKET_SEND, FAR_PAST, "a");
        send.packet_id = "p";
        send.packet_id_len = 1;
        send.amount = INT64_C(1000000000000);
        fixture_fold(&p, &send, NULL);
        p.det->expire(p.state, FAR_FUTURE);
        rg_event claim = mk_event(RG_EV_RED_PACKET_CLAIM, FAR_FUTURE, "b");
        claim.packet_id = "p";
        claim.packet_id_len = 1;
        claim.amount = INT64_C(1000000000000);
        assert_int_value(fixture_peek(&p, delay, &claim, NULL), FAR_FUTURE - FAR_PAST);
        assert_bool_value(fixture_step(&p, over, &claim, NULL), false);
        assert_bool_value(fixture_peek(&p, over, &claim, NULL), true);
        fixture_end(&p);

        det_fixture r;
        fixture_begin(&r, "ref_age");
        r.cfg.history_horizon_ms = horizons[h];
        const rg_name_use *ref_age = fixture_use(&r, "ref_age", 0, NULL);
        fixture_create(&r);
        rg_event t = mk_transfer(FAR_PAST, "a", "b", 1);
        t.event_id = "t-1";
        t.event_id_len = 3;
        fixture_fold(&r, &t, NULL);
        r.det->expire(r.state, FAR_FUTURE);
        rg_event c = mk_event(RG_EV_COMPLAINT, FAR_FUTURE, "a");
        c.ref = "t-1";
        c.ref_len = 3;
        assert_int_value(fixture_peek(&r, ref_age, &c, NULL), FAR_FUTURE - FAR_PAST);
        fixture_end(&r);
    }
}

/* An ordinary horizon with events at both ends of time: what the far
 * future makes old is forgotten, and nothing overflows on the way. */
static void test_events_at_both_ends_of_time(void **unused)
{
    det_fixture r;
    fixture_begin(&r, "ref_age");
    const rg_name_use *ref_age = fixture_use(&r, "ref_age", 0, NULL);
    fixture_create(&r);
    rg_event t = mk_transfer(FAR_PAST, "a", "b", 1);
    t.event_id = "t-1";
    t.event_id_len = 3;
    fixture_fold(&r, &t, NULL);
    rg_event c = mk_event(RG_EV_COMPLAINT, FAR_PAST + 1, "a");
    c.ref = "t-1";
    c.ref_len = 3;
    assert_int_value(fixture_peek(&r, ref_age, &c, NULL), 1);
    rg_event future = mk_transfer(FAR_FUTURE, "x", "y", 1);
    future.event_id = "t-2";
    future.event_id_len = 3;
    fixture_fold(&r, &future, NULL);
    assert_unknown(fixture_peek(&r, ref_age, &c, NULL));
    fixture_end(&r);

    det_fixture l;
    fixture_begin(&l, "new_device");
    const rg_name_use *nd = fixture_use(&l, "new_device", 0, NULL);
    fixture_create(&l);
    rg_event a = mk_event(RG_EV_LOGIN, FAR_PAST, "u");
    a.device_id = "d-a";
    fixture_fold(&l, &a, NULL);
    l.det->expire(l.state, FAR_FUTURE);
    rg_event b = mk_event(RG_EV_LOGIN, FAR_FUTURE, "u");
    b.device_id = "d-b";
    assert_bool_value(fixture_peek(&l, nd, &b, NULL), true);   /* kept for good, even that long */
    fixture_end(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cooldown_longer_than_time),
        cmocka_unit_test(test_dedupe_horizon_longer_than_time),
        cmocka_unit_test(test_count_window_longer_than_time),
        cmocka_unit_test(test_senders_window_longer_than_time),
        cmocka_unit_test(test_horizon_longer_than_time),
        cmocka_unit_test(test_events_at_both_ends_of_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
