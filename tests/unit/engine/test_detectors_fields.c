/*
 * Unit tests for the stateless families (detectors/fields.c, client.c)
 * and detectors/complaints.c (ref_age, ref_counterparty), plus the
 * registry. Owner: detectors.
 */
#include "test_detectors_util.h"

static rg_value field(const char *name, const rg_event *ev)
{
    det_fixture f;
    fixture_begin(&f, name);
    const rg_name_use *u = fixture_use(&f, name, 0, NULL);
    fixture_create(&f);
    rg_value v = fixture_peek(&f, u, ev, NULL);
    fixture_end(&f);
    return v;
}

static void test_registry(void **unused)
{
    const char *every_name[] = {
        "type", "amount", "counterparty", "kind", "shares", "mode", "currency", "reason", "ip", "device_id",
        "region", "packet_id", "ref", "account", "target", "client.automation", "client.hooked",
        "client.packages", "clock_skew", "count", "counterparty_age", "counterparty_senders",
        "geo_distance_km", "geo_accuracy_km", "ip_country", "new_device", "prev_login_country", "claim_delay",
        "packet_expired", "packet_overclaimed", "packet_reclaimed", "ref_age", "ref_counterparty",
    };
    for (size_t i = 0; i < sizeof every_name / sizeof every_name[0]; i++) {
        const rg_detector *d = NULL;
        const rg_name_spec *spec = rg_registry_find(every_name[i], strlen(every_name[i]), &d);
        if (!spec)
            fail_msg("no built-in name %s", every_name[i]);
        assert_non_null(d);
        assert_true(rg_registry_index(d) >= 0);
        assert_ptr_equal(rg_detectors[rg_registry_index(d)], d);
        assert_non_null(spec->doc);
    }
    const rg_detector *d = (const rg_detector *)1;
    assert_null(rg_registry_find("nope", 4, &d));
    assert_null(d);
    assert_non_null(rg_registry_find("count_x", 5, NULL));   /* by length: "count" */
    assert_null(rg_registry_find("count", 4, NULL));          /* "coun" is no name */
    assert_int_equal(rg_registry_index(NULL), -1);
    /* Names are unique across families. */
    for (size_t a = 0; rg_detectors[a]; a++)
        for (size_t i = 0; i < rg_detectors[a]->n_names; i++) {
            const char *n = rg_detectors[a]->names[i].name;
            const rg_detector *owner = NULL;
            rg_registry_find(n, strlen(n), &owner);
            assert_ptr_equal(owner, rg_detectors[a]);
        }
    /* Filterable: what a count() filter may use. */
    const rg_name_spec *count = rg_registry_find("count", 5, NULL);
    assert_false(count->filterable);
    assert_int_equal(count->args[0], RG_ARG_DURATION);
    assert_int_equal(count->args[1], RG_ARG_CONDITION);
    assert_true(rg_registry_find("claim_delay", 11, NULL)->filterable);
    assert_true(rg_registry_find("ip_country", 10, NULL)->filterable);
    assert_false(rg_registry_find("new_device", 10, NULL)->filterable);
}

static void test_transfer_fields(void **unused)
{
    rg_event t = mk_transfer(T0, "u-1", "u-77", 250000);
    assert_string_value(field("type", &t), "transfer");
    assert_int_value(field("amount", &t), 250000);
    assert_int_equal(field("amount", &t).type, RG_T_MONEY);
    assert_string_value(field("counterparty", &t), "u-77");
    assert_string_value(field("currency", &t), "CNY");
    assert_string_value(field("mode", &t), "realtime");
    assert_string_value(field("account", &t), "u-1");
    assert_unknown(field("kind", &t));
    assert_unknown(field("shares", &t));
    assert_unknown(field("reason", &t));
    assert_unknown(field("packet_id", &t));
    assert_unknown(field("ip", &t));
    assert_unknown(field("device_id", &t));
    assert_unknown(field("region", &t));
    assert_unknown(field("target", &t));
    t.ip = "114.114.114.114";
    t.device_id = "d-1";
    assert_string_value(field("ip", &t), "114.114.114.114");
    assert_string_value(field("device_id", &t), "d-1");
}

static void test_packet_and_other_fields(void **unused)
{
    rg_event s = mk_event(RG_EV_RED_PACKET_SEND, T0, "u-1");
    s.packet_id = "p-5";
    s.packet_id_len = 3;
    s.amount = 10000;
    s.shares = 10;
    s.kind = RG_PACKET_GROUP;
    s.target = "g-3";
    assert_string_value(field("kind", &s), "group");
    assert_int_value(field("shares", &s), 10);
    assert_string_value(field("target", &s), "g-3");
    assert_string_value(field("packet_id", &s), "p-5");
    assert_unknown(field("counterparty", &s));
    rg_event c = mk_event(RG_EV_COMPLAINT, T0, "u-1");
    c.ref = "e-3";
    c.ref_len = 3;
    assert_string_value(field("reason", &c), "fraud");   /* the parser's default */
    assert_string_value(field("ref", &c), "e-3");
    assert_unknown(field("amount", &c));
    rg_event o = mk_event(RG_EV_ACCOUNT_OPEN, T0, "u-77");
    assert_unknown(field("region", &o));
    o.region = "CN";
    assert_string_value(field("region", &o), "CN");
}

static void test_client(void **unused)
{
    rg_event ev = mk_event(RG_EV_RED_PACKET_CLAIM, T0, "au-1");
    assert_unknown(field("client.automation", &ev));
    assert_unknown(field("client.hooked", &ev));
    assert_unknown(field("client.packages", &ev));
    assert_unknown(field("clock_skew", &ev));
    ev.client_automation = 1;
    ev.client_hooked = 0;
    static const char *const pkgs[] = {"com.example.autoclick"};
    ev.has_client_packages = true;
    ev.client_packages = pkgs;
    ev.n_client_packages = 1;
    assert_bool_value(field("client.automation", &ev), true);
    assert_bool_value(field("client.hooked", &ev), false);
    rg_value p = field("client.packages", &ev);
    assert_true(p.known);
    assert_int_equal(p.type, RG_T_STRLIST);
    assert_int_equal(p.u.list.n, 1);
    assert_string_equal(p.u.list.items[0], "com.example.autoclick");
    /* clock_skew is |client_ts - ts|, either direction. */
    ev.has_client_ts = true;
    ev.client_ts_ms = T0 + 5 * MIN_MS + 1;
    assert_int_value(field("clock_skew", &ev), 5 * MIN_MS + 1);
    ev.client_ts_ms = T0 - 5 * MIN_MS;
    assert_int_value(field("clock_skew", &ev), 5 * MIN_MS);
}

typedef struct ref_fixture {
    det_fixture f;
    const rg_name_use *age, *counterparty;
} ref_fixture;

static void setup_refs(ref_fixture *rf)
{
    fixture_begin(&rf->f, "ref_age");
    rf->age = fixture_use(&rf->f, "ref_age", 0, NULL);
    rf->counterparty = fixture_use(&rf->f, "ref_counterparty", 0, NULL);
    fixture_create(&rf->f);
}

static rg_event complaint(int64_t ts_ms, const char *account, const char *ref)
{
    rg_event ev = mk_event(RG_EV_COMPLAINT, ts_ms, account);
    ev.ref = ref;
    ev.ref_len = strlen(ref);
    return ev;
}

static void test_ref_age(void **unused)
{
    ref_fixture rf;
    setup_refs(&rf);
    rg_event t = mk_transfer(T0, "cv-1", "sc-1", 30000);
    t.event_id = "e-0019463";
    t.event_id_len = strlen(t.event_id);
    fixture_fold(&rf.f, &t, NULL);
    rg_event c30 = complaint(T0 + 30 * MIN_MS, "cv-1", "e-0019463");
    assert_int_value(fixture_peek(&rf.f, rf.age, &c30, NULL), 30 * MIN_MS);
    assert_string_value(fixture_peek(&rf.f, rf.counterparty, &c30, NULL), "sc-1");
    rg_event c2h = complaint(T0 + 2 * HOUR_MS, "cv-1", "e-0019463");
    assert_int_value(fixture_peek(&rf.f, rf.age, &c2h, NULL), 2 * HOUR_MS);
    rg_event c1h = complaint(T0 + HOUR_MS, "cv-1", "e-0019463");
    assert_int_value(fixture_peek(&rf.f, rf.age, &c1h, NULL), HOUR_MS);
    /* Unknown ref: a transfer never seen. */
    rg_event unknown = complaint(T0 + MIN_MS, "cv-1", "e-nope");
    assert_unknown(fixture_peek(&rf.f, rf.age, &unknown, NULL));
    assert_unknown(fixture_peek(&rf.f, rf.counterparty, &unknown, NULL));
    /* A recall of the transfer sees it too; a login has no ref. */
    rg_event recall = mk_event(RG_EV_RECALL_REQUEST, T0 + MIN_MS, "cv-1");
    recall.ref = "e-0019463";
    recall.ref_len = strlen(recall.ref);
    assert_int_value(fixture_peek(&rf.f, rf.age, &recall, NULL), MIN_MS);
    rg_event login = mk_event(RG_EV_LOGIN, T0, "cv-1");
    assert_unknown(fixture_peek(&rf.f, rf.age, &login, NULL));
    fixture_end(&rf.f);
}

/* Counterparty ids longer than the record's inline room (23 bytes) are
 * copied to the heap; those up to it stay inside, the 23-byte one with
 * its NUL on the room's last byte, which marks a heap copy when it is
 * not 0 (complaints.c). Each length on either side of the edge reads
 * back whole, and expiry frees every copy (ASan: no leak, no double
 * free) and gives back what the stats counted for them. */
static void test_ref_long_counterparty(void **unused)
{
    ref_fixture rf;
    setup_refs(&rf);
    static const char chars[] = "merchant-0123456789-abcdefghij-0123456789-klmnopqrstuvwxyz-01234";
    static const size_t lengths[] = {1, 22, 23, 24, 41, 64};
    enum { N_LENGTHS = sizeof lengths / sizeof lengths[0] };
    char ids[N_LENGTHS][65], event_ids[N_LENGTHS][16];
    size_t bytes_before = fixture_stats(&rf.f).bytes;
    for (size_t i = 0; i < N_LENGTHS; i++) {
        memcpy(ids[i], chars, lengths[i]);
        ids[i][lengths[i]] = '\0';
        snprintf(event_ids[i], sizeof event_ids[i], "e-len-%zu", lengths[i]);
        rg_event t = mk_transfer(T0 + (int64_t)i, "a", ids[i], 1);
        t.event_id = event_ids[i];
        t.event_id_len = strlen(event_ids[i]);
        fixture_fold(&rf.f, &t, NULL);
    }
    for (size_t i = 0; i < N_LENGTHS; i++) {
        /* (its own ts: the record cache matches an event by its address,
         * ts and type, and each c here has the same address) */
        rg_event c = complaint(T0 + MIN_MS + (int64_t)i, "a", event_ids[i]);
        assert_string_value(fixture_peek(&rf.f, rf.counterparty, &c, NULL), ids[i]);
    }
    assert_true(fixture_stats(&rf.f).bytes > bytes_before);
    rf.f.det->expire(rf.f.state, T0 + 8 * DAY_MS);
    assert_int_equal(fixture_stats(&rf.f).entities, 0);
    fixture_end(&rf.f);
}

/* Past the horizon a transfer is unknown even before a sweep drops it:
 * answers never depend on when expire() ran. */
static void test_ref_horizon_without_sweep(void **unused)
{
    ref_fixture rf;
    setup_refs(&rf);
    rg_event t = mk_transfer(T0, "a", "b", 1);
    t.event_id = "e-1";
    t.event_id_len = 3;
    fixture_fold(&rf.f, &t, NULL);
    rg_event other = mk_transfer(T0 + 7 * DAY_MS, "x", "y", 1);
    other.event_id = "e-2";
    other.event_id_len = 3;
    fixture_fold(&rf.f, &other, NULL);
    rg_event c = complaint(T0 + 7 * DAY_MS, "a", "e-1");
    assert_unknown(fixture_peek(&rf.f, rf.age, &c, NULL));
    fixture_end(&rf.f);
}

static void test_ref_expire(void **unused)
{
    ref_fixture rf;
    setup_refs(&rf);
    rg_event t = mk_transfer(T0, "a", "b", 1);
    t.event_id = "e-1";
    t.event_id_len = 3;
    fixture_fold(&rf.f, &t, NULL);
    rg_detector_stats st = fixture_stats(&rf.f);
    assert_int_equal(st.entities, 1);
    /* A complaint does not extend the transfer's life (rules.md: kept for
     * history_horizon after that event), so ref_age is never known
     * beyond the horizon. */
    rg_event c = complaint(T0 + 6 * DAY_MS, "a", "e-1");
    assert_int_value(fixture_step(&rf.f, rf.age, &c, NULL), 6 * DAY_MS);
    rf.f.det->expire(rf.f.state, T0 + 7 * DAY_MS - 1);
    assert_int_equal(fixture_stats(&rf.f).entities, 1);
    rf.f.det->expire(rf.f.state, T0 + 7 * DAY_MS);
    st = fixture_stats(&rf.f);
    assert_int_equal(st.entities, 0);
    fixture_end(&rf.f);
}

static rg_event transfer_with_id(int64_t ts_ms, const char *event_id, const char *counterparty)
{
    rg_event t = mk_transfer(ts_ms, "a", counterparty, 1);
    t.event_id = event_id;
    t.event_id_len = strlen(event_id);
    return t;
}

/* Transfers leave the map as the watermark passes their horizon, at the
 * update of the event that moves it (their ts queue: complaints.c), with
 * no expire() at all, late ones too; the ones still in the horizon stay
 * known. With a sweep at expire() only, all 216 of these stayed. */
static void test_ref_forgotten_without_expire(void **unused)
{
    ref_fixture rf;
    setup_refs(&rf);
    char ids[9 * 24][16];
    for (int h = 0; h < 9 * 24; h++) {
        snprintf(ids[h], sizeof ids[h], "e-%d", h);
        /* every 10th an hour late (out of ts order: the queue's heap) */
        int64_t ts = T0 + (int64_t)h * HOUR_MS - (h % 10 == 9 ? HOUR_MS : 0);
        rg_event t = transfer_with_id(ts, ids[h], "sc-1");
        fixture_fold(&rf.f, &t, NULL);
        /* The watermark is T0 + h hours: what is left is the last 7 days. */
        size_t live = h < 7 * 24 ? (size_t)h + 1 : 7 * 24;
        size_t held = fixture_stats(&rf.f).entities;
        if (held < live - 1 || held > live + 1)
            fail_msg("after %d hours: %zu transfers held, %zu in the horizon", h, held, live);
    }
    rg_event in_horizon = complaint(T0 + (9 * 24 - 1) * HOUR_MS, "a", "e-100");
    assert_int_value(fixture_peek(&rf.f, rf.age, &in_horizon, NULL), (9 * 24 - 1 - 100) * HOUR_MS);
    rg_event far = mk_event(RG_EV_LOGIN, T0 + 30 * DAY_MS, "a");
    fixture_fold(&rf.f, &far, NULL);
    assert_int_equal(fixture_stats(&rf.f).entities, 0);
    fixture_end(&rf.f);
}

/* The transfer a complaint names is looked up once per event: a parser
 * reuses one event struct, so the next complaint at the same address,
 * ts and type names its own transfer, not the one before. */
static void test_ref_next_event_same_struct(void **unused)
{
    ref_fixture rf;
    setup_refs(&rf);
    rg_event t1 = transfer_with_id(T0, "e-1", "sc-1");
    fixture_fold(&rf.f, &t1, NULL);
    rg_event t2 = transfer_with_id(T0 + HOUR_MS, "e-2", "sc-2");
    fixture_fold(&rf.f, &t2, NULL);
    rg_event c = complaint(T0 + 2 * HOUR_MS, "a", "e-1");
    assert_int_value(fixture_step(&rf.f, rf.age, &c, NULL), 2 * HOUR_MS);
    c.ref = "e-2";   /* the next line, parsed into the same struct */
    assert_int_value(fixture_step(&rf.f, rf.age, &c, NULL), HOUR_MS);
    assert_string_value(fixture_peek(&rf.f, rf.counterparty, &c, NULL), "sc-2");
    fixture_end(&rf.f);
}

/* Format 3 (before the queue) saved a sweep clock after the watermark: a
 * checkpoint of it still loads, its transfers are known and queued (they
 * leave at their horizon), and what format 4 saves loads back. */
static void test_ref_loads_format_3(void **unused)
{
    rg_strbuf blob = RG_STRBUF_INIT;
    rg_put_i64(&blob, T0 + HOUR_MS);   /* watermark */
    rg_put_u64(&blob, 123);            /* events since the last sweep */
    rg_put_u64(&blob, 4567);           /* the sweep's base */
    rg_put_u64(&blob, 0);              /* dropped */
    rg_put_u32(&blob, 2);
    rg_put_str(&blob, "e-1", 3);
    rg_put_i64(&blob, T0 + HOUR_MS);
    rg_put_str(&blob, "sc-1", 4);
    rg_put_str(&blob, "e-2", 3);
    rg_put_i64(&blob, T0);
    rg_put_str(&blob, "", 0);
    ref_fixture rf;
    setup_refs(&rf);
    rg_reader in;
    rg_reader_init(&in, blob.data, blob.len, 0);
    assert_int_equal(rf.f.det->load(rf.f.state, 3, &in), 0);
    rg_event c1 = complaint(T0 + 2 * HOUR_MS, "a", "e-1");
    assert_int_value(fixture_peek(&rf.f, rf.age, &c1, NULL), HOUR_MS);
    assert_string_value(fixture_peek(&rf.f, rf.counterparty, &c1, NULL), "sc-1");
    rg_event c2 = complaint(T0 + 2 * HOUR_MS, "a", "e-2");
    assert_int_value(fixture_peek(&rf.f, rf.age, &c2, NULL), 2 * HOUR_MS);
    assert_unknown(fixture_peek(&rf.f, rf.counterparty, &c2, NULL));

    /* Saved as format 4 and loaded again: the same answers. */
    rg_strbuf_reset(&blob);
    assert_int_equal(rf.f.det->save(rf.f.state, &blob), 0);
    ref_fixture again;
    setup_refs(&again);
    rg_reader_init(&in, blob.data, blob.len, 0);
    assert_int_equal(again.f.det->state_version, 4);
    assert_int_equal(again.f.det->load(again.f.state, 4, &in), 0);
    assert_int_value(fixture_peek(&again.f, again.age, &c1, NULL), HOUR_MS);
    assert_int_value(fixture_peek(&again.f, again.age, &c2, NULL), 2 * HOUR_MS);
    /* The loaded transfers are queued: e-2 leaves first, then e-1. */
    rg_event later = mk_event(RG_EV_LOGIN, T0 + 7 * DAY_MS, "a");
    fixture_fold(&again.f, &later, NULL);
    assert_int_equal(fixture_stats(&again.f).entities, 1);
    later.ts_ms += HOUR_MS;
    fixture_fold(&again.f, &later, NULL);
    assert_int_equal(fixture_stats(&again.f).entities, 0);
    fixture_end(&again.f);
    fixture_end(&rf.f);
    rg_strbuf_free(&blob);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry), cmocka_unit_test(test_transfer_fields),
        cmocka_unit_test(test_packet_and_other_fields), cmocka_unit_test(test_client),
        cmocka_unit_test(test_ref_age), cmocka_unit_test(test_ref_expire),
        cmocka_unit_test(test_ref_long_counterparty), cmocka_unit_test(test_ref_horizon_without_sweep),
        cmocka_unit_test(test_ref_forgotten_without_expire), cmocka_unit_test(test_ref_loads_format_3),
        cmocka_unit_test(test_ref_next_event_same_struct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
