/*
 * dedupe: duplicates within the horizon (inclusive), forgotten after it,
 * out-of-order event times, set_horizon and set_lateness (what a shorter
 * one forgot stays forgotten), memory bounded by the ids within one
 * horizon after a million distinct ids over a long span, and a model of
 * the contract, checkpoints included.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/binio.h"
#include "common/strbuf.h"
#include "ingest/dedupe.h"

#define H INT64_C(3600000)
#define CHECK(d, id, ts) rg_dedupe_check((d), (id), strlen(id), (ts))

static void test_within_and_after_horizon(void **state)
{
    (void)state;
    rg_dedupe *d = rg_dedupe_new(H);
    assert_false(CHECK(d, "e-1", 1000));
    assert_true(CHECK(d, "e-1", 1000));
    assert_true(CHECK(d, "e-1", 1000 + H)); /* exactly one horizon later: still a duplicate */
    assert_false(CHECK(d, "e-2", 1000 + H + 1)); /* moves the watermark past e-1's horizon */
    assert_false(CHECK(d, "e-1", 1000 + H + 1)); /* forgotten: evaluated again */
    assert_true(CHECK(d, "e-1", 1000 + H + 2));  /* and remembered anew */
    assert_int_equal(rg_dedupe_size(d), 2);
    /* ids differ by bytes, not by C string: an embedded NUL counts */
    assert_false(rg_dedupe_check(d, "a\0b", 3, 5000 + H));
    assert_false(rg_dedupe_check(d, "a\0c", 3, 5000 + H));
    assert_true(rg_dedupe_check(d, "a\0b", 3, 5000 + H));
    rg_dedupe_free(d);
    rg_dedupe_free(NULL);
}

static void test_out_of_order(void **state)
{
    (void)state;
    rg_dedupe *d = rg_dedupe_new(H);
    assert_false(CHECK(d, "late", 10 * H));      /* watermark 10h */
    assert_false(CHECK(d, "old", 9 * H + 1));     /* behind, but within the horizon */
    assert_true(CHECK(d, "old", 9 * H + 1));
    assert_false(CHECK(d, "ancient", 2 * H));     /* far behind: not remembered at all */
    assert_false(CHECK(d, "ancient", 2 * H));
    assert_int_equal(rg_dedupe_size(d), 2);
    /* a later arrival with an older ts expires first, whatever the order
     * of arrival: "old" (9h+1) goes when the watermark passes 10h+1 while
     * "late" (10h) stays until 11h */
    assert_false(CHECK(d, "tick", 10 * H + 2));
    assert_false(CHECK(d, "old", 10 * H + 2));
    assert_true(CHECK(d, "late", 10 * H + 2));
    assert_false(CHECK(d, "tick2", 11 * H + 1));
    assert_false(CHECK(d, "late", 11 * H + 1));
    /* a duplicate seen with an older ts than the first is still a duplicate */
    assert_false(CHECK(d, "x", 11 * H + 1));
    assert_true(CHECK(d, "x", 10 * H + 5));
    rg_dedupe_free(d);
}

static void test_set_horizon(void **state)
{
    (void)state;
    rg_dedupe *d = rg_dedupe_new(H);
    assert_false(CHECK(d, "a", 0));
    rg_dedupe_set_horizon(d, 10);
    assert_false(CHECK(d, "b", 11)); /* "a" now beyond the shorter horizon */
    assert_false(CHECK(d, "a", 11));
    rg_dedupe_set_horizon(d, 0);
    assert_true(CHECK(d, "a", 11)); /* same instant: still remembered */
    assert_false(CHECK(d, "c", 12));
    assert_false(CHECK(d, "a", 12));
    rg_dedupe_free(d);

    /* A horizon made longer does not bring back what the shorter one
     * forgot: "x" went at ts 150 (cutoff 50); under 1000 it would be a
     * duplicate of itself, had it been kept. */
    d = rg_dedupe_new(100);
    assert_false(CHECK(d, "x", 0));
    assert_false(CHECK(d, "y", 150));
    rg_dedupe_set_horizon(d, 1000);
    assert_false(CHECK(d, "x", 150));   /* evaluated, remembered anew */
    assert_true(CHECK(d, "x", 150));
    assert_true(CHECK(d, "y", 150));
    assert_int_equal(rg_dedupe_size(d), 2);
    /* The same through a lateness made longer. */
    rg_dedupe_free(d);
    d = rg_dedupe_new(100);
    assert_false(CHECK(d, "x", 0));
    assert_false(CHECK(d, "y", 150));
    rg_dedupe_set_lateness(d, 1000);
    assert_false(CHECK(d, "x", 60));
    assert_int_equal(rg_dedupe_size(d), 2);
    rg_dedupe_free(d);
}

/* With a lateness, an event up to that far behind the watermark is judged
 * exactly: whether it is a duplicate depends on the two events' times
 * alone, not on how far other partitions' events moved the watermark in
 * between (streaming interleaves partitions differently from a capture). */
static void test_lateness_keeps_ids(void **state)
{
    (void)state;
    /* The same four events in two interleavings: the resend of "p" comes
     * right after it, or after a partition ran 1h30 ahead. */
    for (int order = 0; order < 2; order++) {
        rg_dedupe *d = rg_dedupe_new(H);
        rg_dedupe_set_lateness(d, H);
        assert_false(CHECK(d, "p", 10 * H));
        if (order == 0) {
            assert_true(CHECK(d, "p", 10 * H));           /* resend at once */
            assert_false(CHECK(d, "q", 11 * H + H / 2));
        } else {
            assert_false(CHECK(d, "q", 11 * H + H / 2));  /* another partition ran ahead */
            assert_true(CHECK(d, "p", 10 * H));           /* still a duplicate */
        }
        /* A retried request with a later ts, within the horizon of the
         * first: a duplicate too; one farther apart is a new event. */
        assert_true(CHECK(d, "p", 10 * H + 30000));
        assert_false(CHECK(d, "p", 11 * H + 1));
        assert_true(CHECK(d, "p", 11 * H + 2));           /* remembered at its newer time */
        /* Beyond horizon + lateness behind the watermark, ids go. */
        assert_false(CHECK(d, "tick", 13 * H + 2));
        assert_int_equal(rg_dedupe_size(d), 2);           /* q (11h30) and tick */
        rg_dedupe_free(d);
    }
    /* Without a lateness the same late resend would have been forgotten. */
    rg_dedupe *d = rg_dedupe_new(H);
    assert_false(CHECK(d, "p", 10 * H));
    assert_false(CHECK(d, "q", 11 * H + H / 2));
    assert_false(CHECK(d, "p", 10 * H));
    rg_dedupe_free(d);
}

/* A million distinct ids, one every 10 ms of event time (about 2.8 h), with
 * a 10-minute horizon: at most ~60 000 ids are ever remembered, and the
 * bytes follow. */
static void test_memory_bounded(void **state)
{
    (void)state;
    int64_t horizon = 10 * 60 * 1000, step = 10;
    rg_dedupe *d = rg_dedupe_new(horizon);
    size_t max_size = 0, max_bytes = 0, bytes_at_window = 0;
    char id[32];
    for (int i = 0; i < 1000000; i++) {
        int n = snprintf(id, sizeof id, "e-%07d", i);
        /* a little disorder: every 7th event arrives 5 s late */
        int64_t ts = (int64_t)i * step - (i % 7 == 0 ? 5000 : 0);
        assert_false(rg_dedupe_check(d, id, (size_t)n, ts < 0 ? 0 : ts));
        /* (rg_dedupe_size walks the maps: every 1,021 events, a prime, so
         * the samples fall at every phase of the clears) */
        size_t sz = i % 1021 == 0 ? rg_dedupe_size(d) : 0;
        if (sz > max_size)
            max_size = sz;
        if (i == (int)(horizon / step) * 2)
            bytes_at_window = rg_dedupe_bytes(d);
        if (i % 4096 == 0 && rg_dedupe_bytes(d) > max_bytes)
            max_bytes = rg_dedupe_bytes(d);
    }
    size_t per_horizon = (size_t)(horizon / step);
    assert_true(max_size <= per_horizon + per_horizon / 10);
    assert_true(rg_dedupe_size(d) >= per_horizon - per_horizon / 100); /* some late ones expired early */
    int64_t last = INT64_C(999999) * step;
    assert_true(rg_dedupe_check(d, "e-0999990", 9, last));  /* recent: remembered */
    assert_false(rg_dedupe_check(d, "e-0000001", 9, last)); /* hours ago: forgotten */
    /* memory did not keep growing after the first horizons */
    assert_true(max_bytes <= 2 * bytes_at_window);
    rg_dedupe_free(d);
}

/* A plain model of the contract (dedupe.h): every id with its time, all
 * of those older than watermark - horizon - lateness forgotten at each
 * check. Ids arrive mostly in time order (the memory's FIFO) with some
 * late ones (its heap), re-sighted within and beyond the horizon, so
 * expiry must interleave the two in time order to agree. */
#define MODEL_IDS 300

static void test_matches_model(void **state)
{
    (void)state;
    const int64_t horizon = 1000, lateness = 400;
    rg_dedupe *d = rg_dedupe_new(horizon);
    rg_dedupe_set_lateness(d, lateness);
    int64_t seen[MODEL_IDS];
    bool present[MODEL_IDS] = {false};
    int64_t wm = 0, t = 0;
    bool any = false;
    uint64_t rnd = 12345;
    size_t late = 0, dups = 0;
    for (int step = 0; step < 200000; step++) {
        rnd = rnd * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
        unsigned id = (unsigned)(rnd >> 33) % MODEL_IDS;
        t += (int64_t)((rnd >> 20) % 7);
        int64_t ts = t;
        if ((rnd >> 40) % 10 == 0) {   /* a late one, up to twice the lateness behind */
            ts = t - (int64_t)((rnd >> 45) % (2 * lateness));
            late++;
        }
        if (!any || ts > wm)
            wm = ts;
        any = true;
        size_t held = 0;
        for (unsigned i = 0; i < MODEL_IDS; i++) {
            if (present[i] && seen[i] < wm - horizon - lateness)
                present[i] = false;
            held += present[i];
        }
        bool want = false;
        if (present[id]) {
            int64_t apart = ts >= seen[id] ? ts - seen[id] : seen[id] - ts;
            if (apart <= horizon)
                want = true;
            else if (ts > seen[id])
                seen[id] = ts;
        } else if (ts >= wm - horizon - lateness) {
            present[id] = true;
            seen[id] = ts;
            held++;
        }
        char key[16];
        snprintf(key, sizeof key, "id-%u", id);
        assert_int_equal(CHECK(d, key, ts), want);
        assert_int_equal(rg_dedupe_size(d), held);
        dups += want;
        if (step % 997 == 0) {
            /* A checkpoint holds exactly the model's ids, and a memory
             * loaded from it goes on as the model does. */
            rg_strbuf saved = {0};
            assert_int_equal(rg_dedupe_save(d, &saved), 0);
            rg_reader in;
            rg_reader_init(&in, saved.data, saved.len, 0);
            (void)rg_get_u8(&in, "any");
            (void)rg_get_i64(&in, "watermark");
            assert_int_equal(rg_get_u32(&in, "count"), held);
            for (size_t k = 0; k < held; k++) {
                size_t len;
                const char *saved_id = rg_get_str(&in, 64, &len, "id");
                int64_t saved_ts = rg_get_i64(&in, "ts");
                char text[16] = {0};
                unsigned i;
                assert_true(rg_reader_ok(&in) && len < sizeof text);
                memcpy(text, saved_id, len);   /* saved bytes, no NUL */
                assert_true(sscanf(text, "id-%u", &i) == 1 && i < MODEL_IDS);
                assert_true(present[i]);
                assert_true(seen[i] == saved_ts);
            }
            assert_int_equal(rg_reader_left(&in), 0);
            rg_dedupe *loaded = rg_dedupe_new(horizon);
            rg_dedupe_set_lateness(loaded, lateness);
            rg_reader_init(&in, saved.data, saved.len, 0);
            assert_int_equal(rg_dedupe_load(loaded, &in), 0);
            rg_strbuf again = {0};
            assert_int_equal(rg_dedupe_save(loaded, &again), 0);
            assert_true(again.len == saved.len && memcmp(again.data, saved.data, saved.len) == 0);
            rg_strbuf_free(&saved);
            rg_strbuf_free(&again);
            rg_dedupe_free(d);
            d = loaded;
        }
    }
    assert_true(late > 10000 && dups > 10000);   /* both paths were taken */
    rg_dedupe_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_within_and_after_horizon),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_set_horizon),
        cmocka_unit_test(test_lateness_keeps_ids),
        cmocka_unit_test(test_memory_bounded),
        cmocka_unit_test(test_matches_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
