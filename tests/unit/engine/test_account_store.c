/* Unit tests for detectors/account_store: one record per account shared by
 * the families, a slice each; the record lives while a slice is in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "detectors/account_store.h"

#define KEY(s) (s), strlen(s)

typedef struct two {
    int64_t a, b;
} two;

static bool drop_odd(void *slice, void *arg)
{
    (*(int *)arg)++;
    return ((two *)slice)->a % 2 == 0;
}

static void test_slices_share_one_record(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    assert_non_null(s);
    rg_account_slice x, y;
    assert_int_equal(rg_account_store_reserve(s, sizeof(two), &x), 0);
    assert_int_equal(rg_account_store_reserve(s, 4, &y), 0);   /* padded to 8 */
    assert_int_equal(y.offset, sizeof(two));
    assert_int_equal(y.size, 8);
    assert_int_equal(rg_account_store_seal(s), 0);
    rg_account_slice late;
    assert_int_equal(rg_account_store_reserve(s, 8, &late), -1);   /* layout fixed */

    bool created;
    two *t = rg_account_put(&x, KEY("acct-1"), &created);
    assert_non_null(t);
    assert_true(created);
    t->a = 7;
    assert_null(rg_account_get(&y, KEY("acct-1")));   /* y's slice is not in use */
    assert_int_equal(rg_account_records(s), 1);
    int32_t *v = rg_account_put(&y, KEY("acct-1"), &created);
    assert_true(created);
    *v = 3;
    assert_int_equal(rg_account_records(s), 1);     /* the same record */
    assert_ptr_equal(rg_account_put(&x, KEY("acct-1"), &created), t);
    assert_false(created);
    assert_int_equal(rg_account_count(&x), 1);
    assert_int_equal(rg_account_count(&y), 1);

    /* Releasing one slice keeps the record for the other, zeroes the
     * slice, and a new claim starts from zero. */
    rg_account_release(&x, KEY("acct-1"));
    assert_null(rg_account_get(&x, KEY("acct-1")));
    assert_int_equal(*(int32_t *)rg_account_get(&y, KEY("acct-1")), 3);
    t = rg_account_put(&x, KEY("acct-1"), &created);
    assert_true(created);
    assert_int_equal(t->a, 0);
    rg_account_release(&x, KEY("acct-1"));
    rg_account_release(&y, KEY("acct-1"));
    assert_int_equal(rg_account_records(s), 0);   /* no slice left: gone */
    rg_account_store_free(s);
}

static void test_sweep_and_sorted(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice x, y;
    assert_int_equal(rg_account_store_reserve(s, sizeof(two), &x), 0);
    assert_int_equal(rg_account_store_reserve(s, sizeof(two), &y), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%03d", 99 - i);
        ((two *)rg_account_put(&x, KEY(key), NULL))->a = i;
        if (i < 10)
            ((two *)rg_account_put(&y, KEY(key), NULL))->a = i;
    }
    int visited = 0;
    /* Only x's records are visited; odd ones released, and their records
     * go unless y still uses them. */
    assert_int_equal(rg_account_sweep(&x, drop_odd, &visited), 50);
    assert_int_equal(visited, 100);
    assert_int_equal(rg_account_count(&x), 50);
    assert_int_equal(rg_account_records(s), 55);   /* 50 even + 5 odd kept by y */
    size_t n;
    rg_strmap_item *items = rg_account_sorted(&y, &n);
    assert_non_null(items);
    assert_int_equal(n, 10);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(items[i - 1].key, items[i].key) < 0);
    assert_int_equal(((two *)items[0].value)->a, 9);   /* k090 was put at i = 9 */
    free(items);
    rg_account_store_free(s);
}

static bool keep_all(void *slice, void *arg) { return true; }

static bool drop_all(void *slice, void *arg) { return false; }

/* A quiet account (windowed slices empty) moves to the dormant map at
 * the next sweep, with its kept slices only; any access to a kept slice
 * brings it back, contents intact; windowed slices come back empty. */
static void test_dormant_records(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice win, kept_a, kept_b;
    assert_int_equal(rg_account_store_reserve(s, 40, &win), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 8, &kept_a), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 16, &kept_b), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "acct-%03d", i);
        ((two *)rg_account_put(&win, KEY(key), NULL))->a = i;
        ((two *)rg_account_put(&kept_a, KEY(key), NULL))->a = 1000 + i;
        if (i % 2)
            ((two *)rg_account_put(&kept_b, KEY(key), NULL))->b = 2000 + i;
    }
    assert_int_equal(rg_account_dormant_records(s), 0);
    /* Windowed slices emptied: by a release, and by a sweep. */
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "acct-%03d", i);
        rg_account_release(&win, KEY(key));
    }
    assert_int_equal(rg_account_active_records(s), 100);   /* released: moved at the next sweep */
    assert_int_equal(rg_account_sweep(&win, keep_all, NULL), 0);
    assert_int_equal(rg_account_dormant_records(s), 50);
    assert_int_equal(rg_account_active_records(s), 50);
    assert_int_equal(rg_account_records(s), 100);
    assert_int_equal(rg_account_count(&kept_a), 100);
    assert_int_equal(rg_account_count(&kept_b), 50);
    assert_int_equal(rg_account_count(&win), 50);

    /* The windowed slice of a dormant account holds nothing, and asking
     * does not wake it. */
    assert_null(rg_account_get(&win, KEY("acct-007")));
    assert_int_equal(rg_account_dormant_records(s), 50);
    /* A kept slice it does not hold: nothing, still dormant. */
    assert_null(rg_account_get(&kept_b, KEY("acct-006")));
    assert_int_equal(rg_account_dormant_records(s), 50);
    /* A kept slice it holds: promoted, both kept slices intact. */
    two *b = rg_account_get(&kept_b, KEY("acct-007"));
    assert_non_null(b);
    assert_int_equal(b->b, 2007);
    assert_int_equal(rg_account_dormant_records(s), 49);
    assert_int_equal(((two *)rg_account_get(&kept_a, KEY("acct-007")))->a, 1007);
    assert_null(rg_account_get(&win, KEY("acct-007")));
    /* put of a windowed slice on a dormant account wakes it too. */
    bool created;
    two *w = rg_account_put(&win, KEY("acct-008"), &created);
    assert_true(created);
    assert_int_equal(w->a, 0);
    assert_int_equal(((two *)rg_account_get(&kept_a, KEY("acct-008")))->a, 1008);
    assert_int_equal(rg_account_dormant_records(s), 48);

    /* sorted and foreach of a kept slice see both maps, in key order. */
    size_t n;
    rg_strmap_item *items = rg_account_sorted(&kept_a, &n);
    assert_non_null(items);
    assert_int_equal(n, 100);
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof key, "acct-%03d", (int)i);
        assert_string_equal(items[i].key, key);
        assert_int_equal(((two *)items[i].value)->a, 1000 + (int64_t)i);
    }
    free(items);
    items = rg_account_sorted(&win, &n);
    assert_int_equal(n, 51);   /* 50 active + acct-008 */
    free(items);

    /* A kept slice's sweep reaches dormant records: releasing every
     * kept_b leaves kept_a's; releasing kept_a empties the store. */
    assert_int_equal(rg_account_sweep(&kept_b, drop_all, NULL), 50);
    assert_int_equal(rg_account_records(s), 100);
    assert_int_equal(rg_account_sweep(&win, drop_all, NULL), 51);
    assert_int_equal(rg_account_active_records(s), 0);
    assert_int_equal(rg_account_sweep(&kept_a, drop_all, NULL), 100);
    assert_int_equal(rg_account_records(s), 0);
    rg_account_store_free(s);
}

/* Only kept slices: no dormant map, records stay where they are. */
static void test_kept_only_store(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice kept;
    assert_int_equal(rg_account_store_reserve_kept(s, 8, &kept), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    ((two *)rg_account_put(&kept, KEY("a"), NULL))->a = 5;
    assert_int_equal(rg_account_sweep(&kept, keep_all, NULL), 0);
    assert_int_equal(rg_account_active_records(s), 1);
    assert_int_equal(rg_account_dormant_records(s), 0);
    assert_int_equal(rg_account_dormant_bytes(s), 0);
    rg_account_store_free(s);
}

/* What a dormant account costs, with the default pack's kept slices
 * (login 24 B, registration 8 B): docs/state.md quotes this figure. */
static void test_dormant_cost(void **unused)
{
    enum { N = 100000 };
    rg_account_store *s = rg_account_store_new();
    rg_account_slice win, login, reg;
    assert_int_equal(rg_account_store_reserve(s, 96, &win), 0);   /* velocity 56 + received 40 */
    assert_int_equal(rg_account_store_reserve_kept(s, 24, &login), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 8, &reg), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char key[16];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "acct%07d", i);
        assert_non_null(rg_account_put(&login, KEY(key), NULL));
        assert_non_null(rg_account_put(&reg, KEY(key), NULL));
    }
    assert_int_equal(rg_account_sweep(&win, keep_all, NULL), 0);
    assert_int_equal(rg_account_dormant_records(s), N);
    double per = (double)rg_account_dormant_bytes(s) / N;
    printf("# dormant account (login 24 B + registration 8 B, 11-byte ids): %.1f B\n", per);
    assert_true(per <= 80);
    rg_account_store_free(s);
}

/* A store with windowed slices a and b and kept slice k over 100
 * accounts: a on all (value i), b on even ones, k on multiples of 3. */
static rg_account_store *three_slices(rg_account_slice *a, rg_account_slice *b, rg_account_slice *k)
{
    rg_account_store *s = rg_account_store_new();
    assert_int_equal(rg_account_store_reserve(s, 16, a), 0);
    assert_int_equal(rg_account_store_reserve(s, 16, b), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 16, k), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "acct-%03d", i);
        ((two *)rg_account_put(a, KEY(key), NULL))->a = i;
        if (i % 2 == 0)
            ((two *)rg_account_put(b, KEY(key), NULL))->a = i;
        if (i % 3 == 0)
            ((two *)rg_account_put(k, KEY(key), NULL))->a = i;
    }
    return s;
}

/* Deferred sweeps (the engine's expiry) share one walk and leave the
 * store exactly as the same sweeps run one after the other. */
static void test_deferred_sweeps_share_a_walk(void **unused)
{
    rg_account_slice a1, b1, k1, a2, b2, k2;
    rg_account_store *now = three_slices(&a1, &b1, &k1), *later = three_slices(&a2, &b2, &k2);
    int visits_now = 0, visits_later = 0;
    assert_int_equal(rg_account_sweep(&a1, drop_odd, &visits_now), 50);
    assert_int_equal(rg_account_sweep(&b1, drop_all, NULL), 50);

    rg_account_store_defer(later, true);
    assert_int_equal(rg_account_sweep(&a2, drop_odd, &visits_later), 0);
    assert_int_equal(rg_account_sweep(&b2, drop_all, NULL), 0);
    assert_int_equal(rg_account_active_records(later), 100);   /* nothing ran yet */
    assert_int_equal(visits_later, 0);
    rg_account_store_run_sweeps(later);
    rg_account_store_defer(later, false);

    assert_int_equal(visits_later, visits_now);   /* each slice judged once */
    assert_int_equal(rg_account_active_records(later), rg_account_active_records(now));
    assert_int_equal(rg_account_dormant_records(later), rg_account_dormant_records(now));
    assert_int_equal(rg_account_count(&a2), rg_account_count(&a1));
    assert_int_equal(rg_account_count(&b2), 0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "acct-%03d", i);
        assert_int_equal(rg_account_get(&a2, KEY(key)) != NULL, rg_account_get(&a1, KEY(key)) != NULL);
        assert_int_equal(rg_account_get(&k2, KEY(key)) != NULL, i % 3 == 0);
    }
    /* Running again with nothing noted does nothing. */
    rg_account_store_run_sweeps(later);
    assert_int_equal(rg_account_count(&a2), 50);
    rg_account_store_free(now);
    rg_account_store_free(later);
}

/* The focus (one lookup per id per event) stays true when the event's
 * own calls create and delete records, also when the account and the
 * counterparty are one id at two addresses. */
static void test_focus_follows_creates_and_deletes(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice w, k;
    assert_int_equal(rg_account_store_reserve(s, 16, &w), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 16, &k), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char account[] = "acct-1", counterparty[] = "acct-1";
    rg_account_focus(s, account, 6, counterparty, 6);
    assert_null(rg_account_get(&w, account, 6));        /* resolves: no record */
    assert_null(rg_account_get(&w, counterparty, 6));
    two *via_cp = rg_account_put(&w, counterparty, 6, NULL);   /* created through the other address */
    assert_non_null(via_cp);
    via_cp->a = 7;
    assert_ptr_equal(rg_account_get(&w, account, 6), via_cp);
    assert_non_null(rg_account_put(&k, account, 6, NULL));
    rg_account_release(&w, account, 6);
    assert_null(rg_account_get(&w, counterparty, 6));
    rg_account_release(&k, counterparty, 6);          /* the record goes */
    assert_int_equal(rg_account_records(s), 0);
    assert_null(rg_account_get(&k, account, 6));
    assert_non_null(rg_account_put(&w, account, 6, NULL));   /* made anew, seen by both */
    assert_non_null(rg_account_get(&w, counterparty, 6));
    rg_account_unfocus(s);
    /* The same address now holds another id: without the focus it is
     * looked up by its bytes. */
    memcpy(account, "acct-2", 6);
    assert_null(rg_account_get(&w, account, 6));
    assert_int_equal(rg_account_records(s), 1);
    rg_account_store_free(s);
}

/* The event's ids are fingerprinted once per focus, and only for that
 * focus: a new event's id at the same address gets its own fingerprint
 * (a parser reuses its buffers), an id not focused is fingerprinted from
 * its bytes. */
static void test_focus_fingerprints_once_per_event(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice w;
    assert_int_equal(rg_account_store_reserve(s, 16, &w), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char account[] = "acct-1", counterparty[] = "acct-9", other[] = "acct-5";
    assert_int_equal(rg_account_fingerprint(NULL, account, 6), rg_fingerprint64("acct-1", 6));
    rg_account_focus(s, account, 6, counterparty, 6);
    assert_int_equal(rg_account_fingerprint(s, account, 6), rg_fingerprint64("acct-1", 6));
    assert_int_equal(rg_account_fingerprint(s, counterparty, 6), rg_fingerprint64("acct-9", 6));
    assert_int_equal(rg_account_fingerprint(s, account, 6), rg_fingerprint64("acct-1", 6));   /* again: kept */
    assert_int_equal(rg_account_fingerprint(s, other, 6), rg_fingerprint64("acct-5", 6));
    assert_int_equal(rg_account_fingerprint(s, account, 5), rg_fingerprint64("acct-", 5));   /* another length */
    rg_account_unfocus(s);
    memcpy(account, "acct-2", 6);   /* the next event, in the same buffer */
    assert_int_equal(rg_account_fingerprint(s, account, 6), rg_fingerprint64("acct-2", 6));
    rg_account_focus(s, account, 6, NULL, 0);
    assert_int_equal(rg_account_fingerprint(s, account, 6), rg_fingerprint64("acct-2", 6));
    memcpy(account, "acct-3", 6);
    rg_account_focus(s, account, 6, NULL, 0);   /* refocused without an unfocus */
    assert_int_equal(rg_account_fingerprint(s, account, 6), rg_fingerprint64("acct-3", 6));
    rg_account_store_free(s);
}

/* With fingerprints kept, a focused account's fingerprint comes from its
 * record: made when the record is (put, or a promotion from the dormant
 * map, which keeps none), and the same value as from its bytes. The
 * record's copy is what is read: planting another value in it shows. */
static void test_records_keep_fingerprints(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice win, kept;
    assert_int_equal(rg_account_store_reserve(s, 16, &win), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 8, &kept), 0);
    rg_account_store_keep_fingerprints(s);
    assert_int_equal(rg_account_store_seal(s), 0);
    rg_account_store_keep_fingerprints(s);   /* sealed: no effect */
    char key[16];
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "acct-%03d", i);
        rg_account_put(&win, KEY(key), NULL);
        rg_account_put(&kept, KEY(key), NULL);
        if (i % 2)
            rg_account_release(&win, KEY(key));   /* dormant at the sweep */
    }
    assert_int_equal(rg_account_sweep(&win, keep_all, NULL), 0);
    assert_int_equal(rg_account_dormant_records(s), 20);
    for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "acct-%03d", i);
        rg_account_focus(s, KEY(key), NULL, 0);
        if (i % 4 == 1)
            assert_non_null(rg_account_get(&kept, KEY(key)));   /* promoted first */
        assert_int_equal(rg_account_fingerprint(s, KEY(key)), rg_fingerprint64(key, strlen(key)));
        rg_account_unfocus(s);
    }
    /* Read from the record, not made again: a record's copy changed
     * under it is what comes back. */
    snprintf(key, sizeof key, "acct-%03d", 0);
    unsigned char *slice = rg_account_get(&win, KEY(key));
    assert_non_null(slice);
    uint64_t planted = 42;
    memcpy(slice + 16 + 8, &planted, sizeof planted);   /* win 16 B, kept 8 B, then the fingerprint */
    rg_account_focus(s, KEY(key), NULL, 0);
    assert_int_equal(rg_account_fingerprint(s, KEY(key)), 42);
    rg_account_unfocus(s);
    /* No record: made from the bytes. */
    rg_account_focus(s, "nobody", 6, NULL, 0);
    assert_int_equal(rg_account_fingerprint(s, "nobody", 6), rg_fingerprint64("nobody", 6));
    rg_account_unfocus(s);
    rg_account_store_free(s);
}

/* The i-th account's id: 3 to 18 bytes by i (ids are compared in words
 * of 4 or 8 bytes, or by memcmp, by their length). */
static void account_name(char *buf, size_t size, int i)
{
    static const char *const forms[] = {"a%02d", "acc-%03d", "acct-%03d", "acct-%05d-x", "account-%03d-of-all"};
    snprintf(buf, size, forms[i % 5], i);
}

/* A focus hint (the hash the engine's prefetch made) changes no answer:
 * for present and absent ids of 3 to 18 bytes, with the right hash,
 * another present id's hash (a peek that finds a record of another key),
 * an absent id's and none, a focused get finds what an unfocused one
 * finds. The map has
 * seen deletes (slots shifted back) so that hints lead anywhere. */
static void test_focus_hints_change_no_answer(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice w;
    assert_int_equal(rg_account_store_reserve(s, 16, &w), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char key[32], other[32], absent[32], focused[32];
    for (int i = 0; i < 300; i++) {
        account_name(key, sizeof key, i);
        assert_non_null(rg_account_put(&w, KEY(key), NULL));
    }
    for (int i = 0; i < 300; i += 3) {
        account_name(key, sizeof key, i);
        rg_account_release(&w, KEY(key));
    }
    int hinted_hits = 0;
    for (int i = 0; i < 400; i++) {
        account_name(key, sizeof key, i);
        account_name(other, sizeof other, (i * 7 + 1) % 300);
        snprintf(absent, sizeof absent, "none-%03d", i);
        const void *want = rg_account_get(&w, KEY(key));   /* no focus: the full lookup */
        const uint32_t hints[] = {rg_strmap_hash(KEY(key)), rg_strmap_hash(KEY(other)), rg_strmap_hash(KEY(absent)),
                                  0};
        for (size_t h = 0; h < sizeof hints / sizeof hints[0]; h++) {
            memcpy(focused, key, sizeof key);   /* the event's own bytes, at another address */
            rg_account_focus(s, KEY(focused), NULL, 0);
            rg_account_focus_hint(s, hints[h], 0);
            assert_ptr_equal(rg_account_get(&w, KEY(focused)), want);
            assert_ptr_equal(rg_account_get(&w, KEY(focused)), want);   /* resolved once */
            rg_account_unfocus(s);
            hinted_hits += h == 0 && want;
        }
    }
    assert_int_equal(hinted_hits, 200);
    rg_account_store_free(s);
}

/* A sealed store of two windowed slices (16 and 8 B) and a kept one
 * (8 B), into sl[0..2]: the layout of the fast-path tests below. */
static rg_account_store *two_windowed_one_kept(rg_account_slice sl[3])
{
    rg_account_store *s = rg_account_store_new();
    assert_non_null(s);
    assert_int_equal(rg_account_store_reserve(s, 16, &sl[0]), 0);
    assert_int_equal(rg_account_store_reserve(s, 8, &sl[1]), 0);
    assert_int_equal(rg_account_store_reserve_kept(s, 8, &sl[2]), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    return s;
}

/* The inline fast path of a focused get and fingerprint (the answer the
 * focus holds) against the full lookup by the id's bytes at another
 * address, after every step of a pseudo-random run of puts and releases
 * of two windowed slices and a kept one, on an account and a
 * counterparty that are sometimes one id, with sweeps (demoting to the
 * dormant map) between the events. */
static void test_focused_fast_path_matches_lookup(void **unused)
{
    rg_account_slice sl[3];
    rg_account_store *s = two_windowed_one_kept(sl);
    uint32_t seed = 12345;
    int checked = 0;
    for (int event = 0; event < 400; event++) {
        char account[16], counterparty[16], copy[16];
        seed = seed * 1103515245u + 12345u;
        snprintf(account, sizeof account, "acct-%02u", (seed >> 16) % 12);
        seed = seed * 1103515245u + 12345u;
        snprintf(counterparty, sizeof counterparty, "acct-%02u", (seed >> 16) % 12);
        rg_account_focus(s, KEY(account), KEY(counterparty));
        for (int step = 0; step < 8; step++) {
            seed = seed * 1103515245u + 12345u;
            const char *id = (seed >> 8) & 1 ? account : counterparty;
            const rg_account_slice *which = &sl[(seed >> 12) % 3];
            switch ((seed >> 20) % 3) {
            case 0:
                assert_non_null(rg_account_put(which, KEY(id), NULL));
                break;
            case 1:
                rg_account_release(which, KEY(id));
                break;
            default:
                (void)rg_account_get(which, KEY(id));
                break;
            }
            for (int i = 0; i < 2; i++) {
                const char *focused = i ? counterparty : account;
                memcpy(copy, focused, sizeof copy);   /* not focused: the full lookup */
                for (int k = 0; k < 3; k++) {
                    void *fast = rg_account_get(&sl[k], KEY(focused));
                    assert_ptr_equal(fast, rg_account_get_of(&sl[k], KEY(focused)));
                    assert_ptr_equal(fast, rg_account_get(&sl[k], KEY(copy)));
                    checked++;
                }
                assert_int_equal(rg_account_slice_fingerprint(&sl[0], KEY(focused)),
                                 rg_fingerprint64(focused, strlen(focused)));
            }
        }
        rg_account_unfocus(s);
        if (event % 50 == 49)
            (void)rg_account_sweep(&sl[0], keep_all, NULL);
    }
    assert_int_equal(checked, 400 * 8 * 6);
    assert_true(rg_account_dormant_records(s) + rg_account_active_records(s) > 0);
    rg_account_store_free(s);
}

/* Accounts 0..199 with different slices of sl in use (and, with
 * releases, every fifth giving one back). */
static void put_varied(rg_account_slice sl[3], bool releases)
{
    char key[32];
    for (int i = 0; i < 200; i++) {
        account_name(key, sizeof key, i);
        for (int k = 0; k < 3; k++)
            if ((i >> k) & 1 || i % 7 == 0)
                assert_non_null(rg_account_put(&sl[k], KEY(key), NULL));
        if (releases && i % 5 == 0)
            rg_account_release(&sl[(i / 5) % 3], KEY(key));
    }
}

/* rg_account_peeked_slice (by the in-use bits peek_records read) against
 * rg_account_slice_in (which reads them from the map) for every slice,
 * over records with different slices in use, deleted ones, and hashes of
 * present and absent ids, as account and as counterparty. */
static void test_peeked_slice_matches_slice_in(void **unused)
{
    rg_account_slice sl[3];
    rg_account_store *s = two_windowed_one_kept(sl);
    char key[32], other[32];
    put_varied(sl, true);
    int found = 0;
    for (int i = 0; i < 260; i++) {
        account_name(key, sizeof key, i);
        snprintf(other, sizeof other, "none-%03d", i);
        rg_account_peeked p;
        rg_account_peek_records(s, rg_strmap_hash(KEY(key)), rg_strmap_hash(KEY(other)), &p);
        for (int k = 0; k < 3; k++) {
            assert_ptr_equal(rg_account_peeked_slice(&sl[k], &p, false), rg_account_slice_in(&sl[k], p.account));
            assert_ptr_equal(rg_account_peeked_slice(&sl[k], &p, true), rg_account_slice_in(&sl[k], p.counterparty));
            found += rg_account_peeked_slice(&sl[k], &p, false) != NULL;
        }
        rg_account_peek_records(s, rg_strmap_hash(KEY(other)), 0, &p);
        for (int k = 0; k < 3; k++) {
            assert_ptr_equal(rg_account_peeked_slice(&sl[k], &p, false), rg_account_slice_in(&sl[k], p.account));
            assert_null(rg_account_peeked_slice(&sl[k], &p, true));
        }
    }
    assert_true(found > 200);
    rg_account_store_free(s);
}

/* The engine's stage 1 and 2 split (rg_account_prefetch_peek, then
 * rg_account_peeked_from) against rg_account_peek_records, which probes
 * and reads the bits in one: the same records and bits while nothing
 * changed between, for present and absent ids; and after the record is
 * deleted, still a record's bytes (no crash, its bits as they are now). */
static void test_prefetch_peek_matches_peek_records(void **unused)
{
    rg_account_slice sl[3];
    rg_account_store *s = two_windowed_one_kept(sl);
    char key[32], other[32];
    put_varied(sl, false);
    int found = 0;
    for (int i = 0; i < 260; i++) {
        account_name(key, sizeof key, i);
        snprintf(other, sizeof other, "none-%03d", i);
        uint32_t ha = rg_strmap_hash(KEY(key)), hc = rg_strmap_hash(KEY(other));
        rg_account_peeked want, got;
        rg_account_peek_records(s, ha, hc, &want);
        rg_account_peeked_from(s, rg_account_prefetch_peek(s, ha), rg_account_prefetch_peek(s, hc), &got);
        assert_ptr_equal(got.account, want.account);
        assert_ptr_equal(got.counterparty, want.counterparty);
        assert_int_equal(got.account_used, want.account_used);
        assert_int_equal(got.counterparty_used, want.counterparty_used);
        found += got.account != NULL;
        /* Peeked, then every slice released (the record deleted) before
         * the next stage: the bits read then are the freed record's. */
        const void *kept = rg_account_prefetch_peek(s, ha);
        if (kept && i % 3 == 0) {
            for (int k = 0; k < 3; k++)
                rg_account_release(&sl[k], KEY(key));
            rg_account_peeked_from(s, kept, NULL, &got);
            assert_ptr_equal(got.account, kept);
            rg_account_peek_records(s, ha, 0, &want);
            assert_null(want.account);
        }
    }
    assert_true(found > 150);
    rg_account_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefetch_peek_matches_peek_records),
        cmocka_unit_test(test_slices_share_one_record),
        cmocka_unit_test(test_sweep_and_sorted),
        cmocka_unit_test(test_dormant_records),
        cmocka_unit_test(test_kept_only_store),
        cmocka_unit_test(test_dormant_cost),
        cmocka_unit_test(test_deferred_sweeps_share_a_walk),
        cmocka_unit_test(test_focus_follows_creates_and_deletes),
        cmocka_unit_test(test_focus_fingerprints_once_per_event),
        cmocka_unit_test(test_records_keep_fingerprints),
        cmocka_unit_test(test_focus_hints_change_no_answer),
        cmocka_unit_test(test_focused_fast_path_matches_lookup),
        cmocka_unit_test(test_peeked_slice_matches_slice_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
