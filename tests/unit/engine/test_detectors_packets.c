/*
 * Unit tests for detectors/packets.c: claim_delay, packet_expired (per
 * kind, at the lifetime boundary), packet_overclaimed, packet_reclaimed,
 * and unknown when the send was not seen. Owner: detectors.
 */
#include "test_detectors_util.h"

typedef struct packet_fixture {
    det_fixture f;
    const rg_name_use *delay, *expired, *over, *reclaimed;
} packet_fixture;

static void setup(packet_fixture *pf)
{
    fixture_begin(&pf->f, "claim_delay");
    pf->delay = fixture_use(&pf->f, "claim_delay", 0, NULL);
    pf->expired = fixture_use(&pf->f, "packet_expired", 0, NULL);
    pf->over = fixture_use(&pf->f, "packet_overclaimed", 0, NULL);
    pf->reclaimed = fixture_use(&pf->f, "packet_reclaimed", 0, NULL);
    fixture_create(&pf->f);
}

static rg_event send_at(int64_t ts_ms, const char *packet, int64_t amount, rg_packet_kind kind)
{
    rg_event ev = mk_event(RG_EV_RED_PACKET_SEND, ts_ms, "ps7");
    ev.packet_id = packet;
    ev.packet_id_len = strlen(packet);
    ev.amount = amount;
    ev.kind = kind;
    return ev;
}

static rg_event claim_at(int64_t ts_ms, const char *account, const char *packet, int64_t amount)
{
    rg_event ev = mk_event(RG_EV_RED_PACKET_CLAIM, ts_ms, account);
    ev.packet_id = packet;
    ev.packet_id_len = strlen(packet);
    ev.amount = amount;
    return ev;
}

static void test_claim_delay(void **unused)
{
    packet_fixture pf;
    setup(&pf);
    rg_event unseen = claim_at(T0, "ic-1", "p-x", 100);
    assert_unknown(fixture_step(&pf.f, pf.delay, &unseen, NULL));
    assert_unknown(fixture_peek(&pf.f, pf.expired, &unseen, NULL));
    assert_unknown(fixture_peek(&pf.f, pf.over, &unseen, NULL));
    assert_unknown(fixture_peek(&pf.f, pf.reclaimed, &unseen, NULL));
    rg_event send = send_at(T0, "p-1", 1000, RG_PACKET_NORMAL);
    fixture_fold(&pf.f, &send, NULL);
    rg_event c999 = claim_at(T0 + 999, "ic-1", "p-1", 100);
    assert_int_value(fixture_peek(&pf.f, pf.delay, &c999, NULL), 999);
    rg_event c1000 = claim_at(T0 + 1000, "ic-2", "p-1", 100);
    assert_int_value(fixture_peek(&pf.f, pf.delay, &c1000, NULL), 1000);
    /* Not a claim: unknown. */
    assert_unknown(fixture_peek(&pf.f, pf.delay, &send, NULL));
    fixture_end(&pf.f);
}

static void test_expired_per_kind(void **unused)
{
    packet_fixture pf;
    setup(&pf);
    rg_event sends[] = {
        send_at(T0, "p-normal", 1000, RG_PACKET_NORMAL),
        send_at(T0, "p-lucky", 1000, RG_PACKET_LUCKY),
        send_at(T0, "p-group", 1000, RG_PACKET_GROUP),
        send_at(T0, "p-timed", 1000, RG_PACKET_TIMED),
    };
    for (size_t i = 0; i < 4; i++)
        fixture_fold(&pf.f, &sends[i], NULL);
    struct {
        const char *packet;
        int64_t at_ms;
        bool expired;
    } cases[] = {
        {"p-normal", 24 * HOUR_MS, false}, {"p-normal", 24 * HOUR_MS + 1, true},
        {"p-lucky", 24 * HOUR_MS, false},  {"p-lucky", 25 * HOUR_MS, true},
        {"p-group", 48 * HOUR_MS, false},  {"p-group", 72 * HOUR_MS, false},
        {"p-group", 72 * HOUR_MS + 1, true}, {"p-timed", 60 * SEC_MS, false},
        {"p-timed", 61 * SEC_MS, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rg_event c = claim_at(T0 + cases[i].at_ms, "fc", cases[i].packet, 1);
        assert_bool_value(fixture_peek(&pf.f, pf.expired, &c, NULL), cases[i].expired);
    }
    fixture_end(&pf.f);
}

/* fc-1/fc-2: 600 + 600 on a 1000 packet: the second overclaims. */
static void test_overclaimed(void **unused)
{
    packet_fixture pf;
    setup(&pf);
    rg_event send = send_at(T0, "p-2", 1000, RG_PACKET_LUCKY);
    fixture_fold(&pf.f, &send, NULL);
    rg_event c1 = claim_at(T0 + 30 * SEC_MS, "fc-1", "p-2", 600);
    assert_bool_value(fixture_step(&pf.f, pf.over, &c1, NULL), false);
    rg_event c2 = claim_at(T0 + 60 * SEC_MS, "fc-2", "p-2", 600);
    assert_bool_value(fixture_peek(&pf.f, pf.over, &c2, NULL), true);
    /* Exactly the amount is not over. */
    rg_event c3 = claim_at(T0 + 60 * SEC_MS, "fc-2", "p-2", 400);
    assert_bool_value(fixture_peek(&pf.f, pf.over, &c3, NULL), false);
    fixture_end(&pf.f);
}

/* fc-3 claims the same packet twice: the second is a reclaim. */
static void test_reclaimed(void **unused)
{
    packet_fixture pf;
    setup(&pf);
    rg_event send = send_at(T0, "p-3", 3000, RG_PACKET_GROUP);
    fixture_fold(&pf.f, &send, NULL);
    rg_event c1 = claim_at(T0 + 20 * SEC_MS, "fc-3", "p-3", 1000);
    assert_bool_value(fixture_step(&pf.f, pf.reclaimed, &c1, NULL), false);
    rg_event other = claim_at(T0 + 30 * SEC_MS, "x-1", "p-3", 1000);
    assert_bool_value(fixture_step(&pf.f, pf.reclaimed, &other, NULL), false);
    rg_event c2 = claim_at(T0 + 40 * SEC_MS, "fc-3", "p-3", 1000);
    assert_bool_value(fixture_peek(&pf.f, pf.reclaimed, &c2, NULL), true);
    assert_bool_value(fixture_peek(&pf.f, pf.over, &c2, NULL), false);   /* 3000 of 3000 */
    fixture_end(&pf.f);
}

static void test_many_claimers_and_expire(void **unused)
{
    packet_fixture pf;
    setup(&pf);
    rg_event send = send_at(T0, "p-big", 1000000, RG_PACKET_GROUP);
    fixture_fold(&pf.f, &send, NULL);
    char who[32];
    for (int i = 0; i < 100; i++) {
        snprintf(who, sizeof who, "c%d", i);
        rg_event c = claim_at(T0 + i * SEC_MS, who, "p-big", 1);
        assert_bool_value(fixture_step(&pf.f, pf.reclaimed, &c, NULL), false);
    }
    rg_event again = claim_at(T0 + HOUR_MS, "c57", "p-big", 1);
    assert_bool_value(fixture_peek(&pf.f, pf.reclaimed, &again, NULL), true);
    pf.f.det->expire(pf.f.state, T0 + 8 * DAY_MS);
    assert_int_equal(fixture_stats(&pf.f).entities, 0);
    fixture_end(&pf.f);
}

/* A claim's update adds its claimer as packet_reclaimed's eval found it
 * (fingerprint and answer kept for the event) or, without an eval, looks
 * again: the same claimers either way, checkpoint bytes and all, over
 * repeats, growth past the inline two and an unseen send. */
static void test_claimer_from_eval_matches_fold_alone(void **unused)
{
    packet_fixture asked, alone;
    setup(&asked);
    setup(&alone);
    static const char *who[] = {"a", "b", "a", "c", "d", "b", "e", "f", "a", "g"};
    rg_event send = send_at(T0, "p-m", 100000, RG_PACKET_GROUP);
    fixture_fold(&asked.f, &send, NULL);
    fixture_fold(&alone.f, &send, NULL);
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
        rg_event c = claim_at(T0 + (int64_t)i * SEC_MS, who[i], i == 6 ? "p-unseen" : "p-m", 10);
        rg_value v = fixture_step(&asked.f, asked.reclaimed, &c, NULL);
        fixture_fold(&alone.f, &c, NULL);
        assert_int_equal(v.known, i != 6);
    }
    rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT;
    fixture_save_bytes(&asked.f, &a);
    fixture_save_bytes(&alone.f, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    rg_event again = claim_at(T0 + MIN_MS, "g", "p-m", 10);
    assert_bool_value(fixture_peek(&asked.f, asked.reclaimed, &again, NULL), true);
    rg_strbuf_free(&a);
    rg_strbuf_free(&b);
    fixture_end(&asked.f);
    fixture_end(&alone.f);
}

/* A packet past the horizon is unknown even before a sweep. */
static void test_horizon_without_sweep(void **unused)
{
    packet_fixture pf;
    setup(&pf);
    rg_event send = send_at(T0, "p-old", 1000, RG_PACKET_GROUP);
    fixture_fold(&pf.f, &send, NULL);
    rg_event other = send_at(T0 + 7 * DAY_MS, "p-new", 1000, RG_PACKET_GROUP);
    fixture_fold(&pf.f, &other, NULL);
    rg_event late = claim_at(T0 + 7 * DAY_MS, "x", "p-old", 1);
    assert_unknown(fixture_peek(&pf.f, pf.expired, &late, NULL));
    fixture_end(&pf.f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_delay), cmocka_unit_test(test_expired_per_kind),
        cmocka_unit_test(test_overclaimed), cmocka_unit_test(test_reclaimed),
        cmocka_unit_test(test_many_claimers_and_expire), cmocka_unit_test(test_horizon_without_sweep),
        cmocka_unit_test(test_claimer_from_eval_matches_fold_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
