/*
 * Memory tests for the stateful families: 100k accounts with a few events
 * each, the default pack's uses. Asserts bytes per account (from each
 * family's stats) stays under the budget of docs/state.md, and that
 * expire() past the horizon leaves nothing behind, and that a stream
 * that adds a record per event is still swept (sweep.h). Prints the
 * measured figures (the numbers docs/state.md quotes). Owner: detectors.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_detectors_util.h"

#define N_ACCOUNTS 100000

static char account_name[N_ACCOUNTS][16];

static void make_names(void)
{
    for (int i = 0; i < N_ACCOUNTS; i++)
        snprintf(account_name[i], sizeof account_name[i], "acct%07d", i);
}

static void report(const char *what, const det_fixture *f, size_t per)
{
    rg_detector_stats st = fixture_stats(f);
    printf("# %-34s entities %7zu  bytes %10zu  entries %7zu  = %6.1f B per %s\n", what, st.entities,
           st.bytes, st.window_entries, (double)st.bytes / N_ACCOUNTS, per == 1 ? "account" : "transfer");
}

/* Three count() uses (payments 24h, instant claims 10m, recalls 10m): an
 * account with 4 payments in the last 24 h. */
static void test_velocity_memory(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "count");
    fixture_use(&f, "count", DAY_MS, NULL);
    fixture_use(&f, "count", 10 * MIN_MS, NULL);
    fixture_use(&f, "count", 10 * MIN_MS, NULL);
    fixture_create(&f);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < N_ACCOUNTS; i++) {
            rg_event ev = mk_transfer(T0 + k * HOUR_MS + i, account_name[i], "x", 1);
            fixture_fold(&f, &ev, NULL);
        }
    report("velocity, 3 uses, 4 events/account", &f, 1);
    rg_detector_stats st = fixture_stats(&f);
    assert_int_equal(st.entities, N_ACCOUNTS);
    /* Beyond the timestamps themselves, at the size they are stored (4 B
     * offsets; an 8-B figure would hide 4 B per entry of overhead). The
     * ring's unused slack is counted against the budget. */
    assert_true(st.window_bytes > 0 && st.window_bytes <= st.bytes);
    size_t beyond = st.bytes - st.window_bytes;
    printf("# velocity: %.1f B per account beyond window entries at their stored size\n",
           (double)beyond / N_ACCOUNTS);
    assert_true(beyond / N_ACCOUNTS <= 256);
    f.det->expire(f.state, T0 + 3 * DAY_MS);
    st = fixture_stats(&f);
    assert_int_equal(st.entities, 0);
    assert_int_equal(st.window_entries, 0);
    fixture_end(&f);
}

static void test_login_memory(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "new_device");
    fixture_use(&f, "new_device", 0, NULL);
    fixture_use(&f, "prev_login_country", 0, NULL);
    fixture_create(&f);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0 + i, account_name[i]);
        open.device_id = "d-0";
        fixture_fold(&f, &open, NULL);
        rg_event login = mk_event(RG_EV_LOGIN, T0 + HOUR_MS + i, account_name[i]);
        login.device_id = "d-1";
        fixture_fold(&f, &login, NULL);
    }
    report("login, 2 devices/account", &f, 1);
    rg_detector_stats st = fixture_stats(&f);
    assert_int_equal(st.entities, N_ACCOUNTS);
    assert_true(st.bytes / N_ACCOUNTS <= 160);
    /* Kept for good: nothing expires. */
    f.det->expire(f.state, T0 + 90 * DAY_MS);
    assert_int_equal(fixture_stats(&f).entities, N_ACCOUNTS);
    fixture_end(&f);
}

/* Every account opened (registration) and paid by 3 others. */
static void test_counterparty_memory(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "counterparty_age");
    fixture_use(&f, "counterparty_age", 0, NULL);
    fixture_use(&f, "counterparty_senders", DAY_MS, NULL);
    fixture_create(&f);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0 + i, account_name[i]);
        fixture_fold(&f, &open, NULL);
    }
    for (int k = 1; k <= 3; k++)
        for (int i = 0; i < N_ACCOUNTS; i++) {
            rg_event t = mk_transfer(T0 + k * HOUR_MS + i, account_name[(i + k * 7919) % N_ACCOUNTS],
                                     account_name[i], 100);
            fixture_fold(&f, &t, NULL);
        }
    report("counterparty, age + senders(24h)", &f, 1);
    rg_detector_stats st = fixture_stats(&f);
    assert_int_equal(st.entities, 2 * N_ACCOUNTS);   /* a registration and a received record each */
    assert_true(st.window_bytes > 0 && st.window_bytes <= st.bytes);
    size_t beyond = st.bytes - st.window_bytes;   /* received transfers at their stored size */
    printf("# counterparty: %.1f B per account beyond window entries at their stored size\n",
           (double)beyond / N_ACCOUNTS);
    assert_true(beyond / N_ACCOUNTS <= 320);
    /* The received transfers go with their window; the registrations are
     * kept for good, each account in a dormant record of 8 bytes. The
     * active map keeps its peak's slabs and table (maps never shrink), so
     * the total falls only by the transfer arrays, and the dormant map is
     * added: test_account_store measures a dormant account alone. */
    f.det->expire(f.state, T0 + 9 * DAY_MS);
    st = fixture_stats(&f);
    assert_int_equal(st.entities, N_ACCOUNTS);
    assert_int_equal(st.window_entries, 0);
    report("counterparty, 9 days later (dormant)", &f, 1);
    assert_true(st.bytes / N_ACCOUNTS <= 160);
    fixture_end(&f);
}

static void test_registration_only_memory(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "counterparty_age");
    fixture_use(&f, "counterparty_age", 0, NULL);
    fixture_create(&f);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        rg_event open = mk_event(RG_EV_ACCOUNT_OPEN, T0 + i, account_name[i]);
        fixture_fold(&f, &open, NULL);
    }
    report("counterparty, age only", &f, 1);
    assert_true(fixture_stats(&f).bytes / N_ACCOUNTS <= 96);
    fixture_end(&f);
}

/* One packet per account, claimed by two others. */
static void test_packets_memory(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "claim_delay");
    fixture_use(&f, "claim_delay", 0, NULL);
    fixture_use(&f, "packet_overclaimed", 0, NULL);
    fixture_use(&f, "packet_reclaimed", 0, NULL);
    fixture_create(&f);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        rg_event send = mk_event(RG_EV_RED_PACKET_SEND, T0 + i, account_name[i]);
        send.packet_id = account_name[i];   /* ids only need to be unique */
        send.packet_id_len = strlen(account_name[i]);
        send.amount = 1000;
        fixture_fold(&f, &send, NULL);
        for (int k = 1; k <= 2; k++) {
            rg_event claim = mk_event(RG_EV_RED_PACKET_CLAIM, T0 + i + k, account_name[(i + k) % N_ACCOUNTS]);
            claim.packet_id = send.packet_id;
            claim.packet_id_len = send.packet_id_len;
            claim.amount = 100;
            fixture_fold(&f, &claim, NULL);
        }
    }
    report("packets, 1 packet + 2 claims", &f, 1);
    assert_true(fixture_stats(&f).bytes / N_ACCOUNTS <= 192);
    f.det->expire(f.state, T0 + 9 * DAY_MS);
    assert_int_equal(fixture_stats(&f).entities, 0);
    fixture_end(&f);
}

static void test_complaints_memory(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "ref_age");
    fixture_use(&f, "ref_age", 0, NULL);
    fixture_use(&f, "ref_counterparty", 0, NULL);
    fixture_create(&f);
    for (int i = 0; i < N_ACCOUNTS; i++) {
        rg_event t = mk_transfer(T0 + i, account_name[i], account_name[(i + 1) % N_ACCOUNTS], 100);
        t.event_id = account_name[i];
        t.event_id_len = strlen(account_name[i]);
        fixture_fold(&f, &t, NULL);
    }
    report("complaints, per transfer", &f, 2);
    assert_true(fixture_stats(&f).bytes / N_ACCOUNTS <= 160);
    f.det->expire(f.state, T0 + 9 * DAY_MS);
    assert_int_equal(fixture_stats(&f).entities, 0);
    fixture_end(&f);
}

/* A stream where every event adds a record that outlives the next
 * expire() (detectors/sweep.h): the map must still be swept, so that it
 * holds about its live records, not everything ever seen. The expire()
 * cadence is the engine's (every 1,000 events). Before the sweep clock
 * had a base, such a map grew as fast as the count it waited for and was
 * never swept past 4,096 records: these ended at 60,000. */
#define STREAM_EVENTS 60000
#define EXPIRE_EVERY 1000

static void fold_stream(det_fixture *f, int64_t spacing_ms, bool fresh_event_ids)
{
    for (int i = 0; i < STREAM_EVENTS; i++) {
        int64_t ts = T0 + (int64_t)i * spacing_ms;
        rg_event t = mk_transfer(ts, account_name[i], account_name[(i + 1) % N_ACCOUNTS], 100);
        if (fresh_event_ids) {
            t.event_id = account_name[i];
            t.event_id_len = strlen(account_name[i]);
        }
        fixture_fold(f, &t, NULL);
        if ((i + 1) % EXPIRE_EVERY == 0)
            f->det->expire(f->state, ts);
    }
}

static void test_complaints_swept_on_a_transfer_stream(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "ref_age");
    fixture_use(&f, "ref_age", 0, NULL);
    fixture_create(&f);
    /* One transfer a minute: 10,080 of them within the 7-day horizon. */
    fold_stream(&f, MIN_MS, true);
    size_t entities = fixture_stats(&f).entities;
    printf("# complaints, transfer-only stream: %zu records of %d transfers (10,080 live)\n", entities,
           STREAM_EVENTS);
    assert_true(entities <= 3 * 10080);
    fixture_end(&f);
}

static void test_velocity_swept_on_fresh_accounts(void **unused)
{
    det_fixture f;
    fixture_begin(&f, "count");
    fixture_use(&f, "count", 2 * HOUR_MS, NULL);
    fixture_create(&f);
    /* A new account every second, each seen once: 7,200 within the 2 h
     * window. */
    fold_stream(&f, 1000, false);
    size_t entities = fixture_stats(&f).entities;
    printf("# velocity, a fresh account per event: %zu records of %d accounts (7,200 live)\n", entities,
           STREAM_EVENTS);
    assert_true(entities <= 5 * 7200);
    fixture_end(&f);
}

int main(void)
{
    make_names();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_velocity_memory),     cmocka_unit_test(test_login_memory),
        cmocka_unit_test(test_counterparty_memory), cmocka_unit_test(test_registration_only_memory),
        cmocka_unit_test(test_packets_memory),      cmocka_unit_test(test_complaints_memory),
        cmocka_unit_test(test_complaints_swept_on_a_transfer_stream),
        cmocka_unit_test(test_velocity_swept_on_fresh_accounts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
