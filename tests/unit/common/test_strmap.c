/* Unit tests for common/strmap: put, get and delete, sweeps that see each
 * entry once, the hash memo, churn by key and by place, zeroed reuse,
 * clear, the maps fitted to their first key, and the slabs' memory
 * accounting. (They were test_common.c's until it passed 600 lines.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"

struct rec {
    int64_t n;
};

static bool keep_even(void *v, void *arg)
{
    (void)arg;
    return ((struct rec *)v)->n % 2 == 0;
}

struct visits {
    size_t n;
};

static bool count_drop_odd(void *v, void *arg)
{
    ((struct visits *)arg)->n++;
    return ((struct rec *)v)->n % 2 == 0;
}

/* A sweep's keep() sees each entry once. The table's layout follows the
 * process's hash key, so no one set of keys is sure to make a cluster
 * that wraps the table's end (where a sweep from slot 0 saw an entry
 * twice after a removal shifted it back across the end: about 1 map in
 * 20 of 100 keys); 400 maps of fresh keys make it all but certain. */
static void test_strmap_sweep_visits_once(void **state)
{
    (void)state;
    char key[32];
    for (int round = 0; round < 400; round++) {
        rg_strmap *m = rg_strmap_new(sizeof(struct rec));
        for (int i = 0; i < 100; i++) {
            int n = snprintf(key, sizeof key, "r%d-k%03d", round, i);
            struct rec *r = rg_strmap_put(m, key, (size_t)n, NULL);
            assert_non_null(r);
            r->n = i;
        }
        struct visits v = {0};
        assert_int_equal(rg_strmap_sweep(m, count_drop_odd, &v, NULL), 50);
        if (v.n != 100)
            fail_msg("round %d: keep() called %zu times for 100 entries", round, v.n);
        v.n = 0;
        assert_int_equal(rg_strmap_sweep(m, count_drop_odd, &v, NULL), 0);
        assert_int_equal(v.n, 50);
        rg_strmap_free(m, NULL);
    }
}

static void test_strmap(void **state)
{
    (void)state;
    rg_strmap *m = rg_strmap_new(sizeof(struct rec));
    char key[32];
    struct rec *first = NULL;
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "acct-%d", i);
        bool created;
        struct rec *r = rg_strmap_put(m, key, (size_t)n, &created);
        assert_non_null(r);
        assert_true(created);
        r->n = i;
        if (i == 0)
            first = r;
    }
    /* Records never move, however much the table grows. */
    assert_ptr_equal(rg_strmap_get(m, "acct-0", 6), first);
    assert_int_equal(rg_strmap_count(m), 5000);
    size_t kl;
    assert_string_equal(rg_strmap_key(m, first, &kl), "acct-0");
    assert_int_equal(kl, 6);
    assert_int_equal(rg_strmap_sweep(m, keep_even, NULL, NULL), 2500);
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "acct-%d", i);
        struct rec *r = rg_strmap_get(m, key, (size_t)n);
        if (i % 2) {
            assert_null(r);
        } else {
            assert_non_null(r);
            assert_int_equal(r->n, i);
        }
    }
    assert_true(rg_strmap_del(m, "acct-0", 6, NULL));
    assert_false(rg_strmap_del(m, "acct-0", 6, NULL));
    assert_int_equal(rg_strmap_count(m), 2499);
    assert_true(rg_strmap_bytes(m) > 2499 * sizeof(struct rec));
    rg_strmap_free(m, NULL);
}

/* The memo of recent key hashes (strmap.c) holds keys of up to 32 bytes
 * as words read from both ends: keys of every length from 1 to 40 that
 * differ in one byte only, each in a heap block of exactly its size (ASan
 * sees any read past it), asked several times over in a shuffled order,
 * must each find their own record; put_placed and del_placed delete by
 * place. */
static void test_strmap_memo_lengths(void **state)
{
    (void)state;
    rg_strmap *m = rg_strmap_new(sizeof(struct rec));
    enum { MAXLEN = 40 };
    char *keys[MAXLEN + 1][MAXLEN];
    rg_strmap_place places[MAXLEN + 1][MAXLEN];
    for (int len = 1; len <= MAXLEN; len++) {
        for (int at = 0; at < len; at++) {
            /* malloc, not test_malloc: its guard bytes would hide an over-read */
            char *k = malloc((size_t)len);
            assert_non_null(k);
            memset(k, 'k', (size_t)len);
            k[at] = (char)('A' + at % 26);   /* one byte differs, at each position in turn */
            keys[len][at] = k;
            bool created;
            struct rec *r = rg_strmap_put_placed(m, k, (size_t)len, &created, &places[len][at]);
            assert_non_null(r);
            assert_true(created);
            r->n = len * 100 + at;
        }
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < MAXLEN * MAXLEN; i++) {
            int len = 1 + (i * 7 + round) % MAXLEN, at = (i * 13 + round) % len;
            struct rec *r = rg_strmap_get(m, keys[len][at], (size_t)len);
            assert_non_null(r);
            assert_int_equal(r->n, len * 100 + at);
        }
    for (int len = 1; len <= MAXLEN; len++)
        for (int at = 0; at < len; at++) {
            assert_true(rg_strmap_del_placed(m, places[len][at], NULL));
            assert_null(rg_strmap_get(m, keys[len][at], (size_t)len));
            free(keys[len][at]);
        }
    assert_int_equal(rg_strmap_count(m), 0);
    rg_strmap_free(m, NULL);
}

/* Deletion closes the gap by backward shift (by key, and by place as the
 * expiry queues delete): a map churned at up to its 3/4 load, so that
 * clusters are long and some wrap the table's end, against a plain array
 * of which keys are in it. After every delete each key must be found
 * exactly when it is in (with its own record), whatever shifted. */
static void test_strmap_churn(void **state)
{
    (void)state;
    enum { KEYS = 96, STEPS = 20000 };
    char key[32];
    for (int round = 0; round < 20; round++) {
        rg_strmap *m = rg_strmap_new(sizeof(struct rec));
        bool in[KEYS] = {false};
        rg_strmap_place places[KEYS];
        uint32_t x = 2463534242u + (uint32_t)round;
        for (int step = 0; step < STEPS; step++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            int k = (int)(x % KEYS);
            int n = snprintf(key, sizeof key, "c%d-%d", round, k);
            if (!in[k]) {
                bool created;
                struct rec *r = rg_strmap_put_placed(m, key, (size_t)n, &created, &places[k]);
                assert_non_null(r);
                assert_true(created);
                r->n = k;
                in[k] = true;
                continue;
            }
            if (x & 0x100)
                assert_true(rg_strmap_del_placed(m, places[k], NULL));
            else
                assert_true(rg_strmap_del(m, key, (size_t)n, NULL));
            in[k] = false;
            for (int j = 0; j < KEYS; j++) {
                int nj = snprintf(key, sizeof key, "c%d-%d", round, j);
                struct rec *r = rg_strmap_get(m, key, (size_t)nj);
                if (!in[j]) {
                    assert_null(r);
                } else {
                    assert_non_null(r);
                    assert_int_equal(r->n, j);
                }
            }
        }
        rg_strmap_free(m, NULL);
    }
}

/* A record comes back zero-filled after its place held another, dirtied
 * to its last byte, for every record stride (value sizes 0..100 with
 * short inline keys: strides 16, 24, 32, ... up to 128, every residue of
 * the 32-byte zeroing steps), with the key and tag of the new entry. */
static void test_strmap_reused_zeroed(void **state)
{
    (void)state;
    for (size_t vs = 0; vs <= 100; vs++) {
        rg_strmap *m = rg_strmap_new_sized(vs, 11);
        unsigned char *a = rg_strmap_put(m, "first", 5, NULL);
        assert_non_null(a);
        if (vs)
            memset(a, 0xff, vs);
        rg_strmap_set_tag(m, a, 0xff);
        assert_true(rg_strmap_del(m, "first", 5, NULL));
        bool created;
        unsigned char *b = rg_strmap_put(m, "sec", 3, &created);
        assert_true(created);
        assert_ptr_equal(a, b);   /* the place is reused */
        for (size_t i = 0; i < vs; i++)
            assert_int_equal(b[i], 0);
        size_t kl;
        assert_string_equal(rg_strmap_key(m, b, &kl), "sec");
        assert_int_equal(kl, 3);
        assert_int_equal(rg_strmap_tag(m, b), 0);
        rg_strmap_free(m, NULL);
    }
}

/* clear empties the map and keeps its memory for what comes next: no
 * key is found, the records are handed out again (zeroed, from the
 * first), long keys' heap copies are given back (ASan: no leak), and the
 * hashed lookups agree with the plain ones. */
static int cleared_values;
static void count_cleared(void *value)
{
    (void)value;
    cleared_values++;
}

static void test_strmap_clear(void **state)
{
    (void)state;
    rg_strmap *m = rg_strmap_new_sized(sizeof(uint64_t), 11);
    char key[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 1000; i++) {
            /* every 10th key past the inline room: a heap copy */
            int n = snprintf(key, sizeof key, i % 10 ? "k%d" : "a-much-longer-key-%d", i + round);
            uint32_t h = rg_strmap_hash(key, (size_t)n);
            bool created;
            rg_strmap_place place;
            uint64_t *v = rg_strmap_put_placed_hashed(m, key, (size_t)n, h, &created, &place);
            assert_non_null(v);
            assert_true(created);
            assert_int_equal(*v, 0);   /* zeroed, though the last round wrote it */
            *v = (uint64_t)i + 1;
            assert_ptr_equal(rg_strmap_get(m, key, (size_t)n), v);
            assert_ptr_equal(rg_strmap_get_hashed(m, key, (size_t)n, h), v);
        }
        assert_int_equal(rg_strmap_count(m), 1000);
        size_t bytes = rg_strmap_bytes(m);
        cleared_values = 0;
        rg_strmap_clear(m, round == 1 ? count_cleared : NULL);
        assert_int_equal(cleared_values, round == 1 ? 1000 : 0);
        assert_int_equal(rg_strmap_count(m), 0);
        assert_true(rg_strmap_bytes(m) < bytes);   /* the key copies went; */
        assert_true(rg_strmap_bytes(m) > bytes / 2);   /* the table and chunks stay */
        for (int i = 0; i < 1000; i++) {
            int n = snprintf(key, sizeof key, i % 10 ? "k%d" : "a-much-longer-key-%d", i + round);
            assert_null(rg_strmap_get(m, key, (size_t)n));
        }
    }
    rg_strmap_clear(m, NULL);   /* an empty map */
    rg_strmap_clear(NULL, NULL);
    rg_strmap_free(m, NULL);
}

/* rg_strmap_new_fitted: the first key's length sets the inline room. A
 * key that spills costs its heap copy in rg_strmap_bytes; one inline
 * costs nothing beyond its record. */
static size_t bytes_of_put(rg_strmap *m, const char *key, size_t len)
{
    size_t before = rg_strmap_bytes(m);
    assert_non_null(rg_strmap_put(m, key, len, NULL));
    return rg_strmap_bytes(m) - before;
}

static void test_strmap_fitted(void **state)
{
    (void)state;
    char uuid[40], other[40], longer[48];
    snprintf(uuid, sizeof uuid, "6a03e91b-b2f1-eafb-9f1c-f6bec71920cb");
    snprintf(other, sizeof other, "ac4eeb8a-e762-c1cb-73b3-3a733c185bef");
    memset(longer, 'z', sizeof longer);
    /* First key a UUID: later UUIDs are inline; a 46-byte key spills (the
     * room, rounded for alignment, holds 43). */
    rg_strmap *m = rg_strmap_new_fitted(sizeof(int64_t), RG_STRMAP_FIT_ID);
    assert_non_null(m);
    assert_int_equal(bytes_of_put(m, uuid, 36) > 0, 1);   /* the table and the first chunk */
    assert_int_equal(bytes_of_put(m, other, 36), 0);
    assert_true(bytes_of_put(m, longer, 46) >= 47);
    size_t kl;
    assert_string_equal(rg_strmap_key(m, rg_strmap_get(m, other, 36), &kl), other);
    assert_int_equal(kl, 36);
    rg_strmap_free(m, NULL);
    /* First key short: the default room, where a UUID spills. */
    m = rg_strmap_new_fitted(sizeof(int64_t), RG_STRMAP_FIT_ID);
    assert_non_null(m);
    bytes_of_put(m, "e-0012983", 9);
    assert_true(bytes_of_put(m, uuid, 36) >= 37);
    assert_int_equal(bytes_of_put(m, "e-0012984", 9), 0);
    rg_strmap_free(m, NULL);
    /* First key past the limit: the room stops at it. */
    m = rg_strmap_new_fitted(sizeof(int64_t), RG_STRMAP_FIT_ID);
    assert_non_null(m);
    bytes_of_put(m, longer, 48);
    assert_int_equal(bytes_of_put(m, uuid, 36), 0);
    assert_true(bytes_of_put(m, longer, 46) >= 47);
    rg_strmap_free(m, NULL);
}

/* Keys longer than the inline room live in a heap copy; tags ride in the
 * length word; a deleted record's place is reused zeroed; the memory
 * figure counts the slabs, table and key copies. */
static void test_strmap_slab(void **state)
{
    (void)state;
    rg_strmap *m = rg_strmap_new_sized(sizeof(struct rec), 11);
    char key[80];
    for (int i = 0; i < 3000; i++) {
        /* Every third key is too long to be inline (40 bytes). */
        int n = i % 3 ? snprintf(key, sizeof key, "k%d", i)
                      : snprintf(key, sizeof key, "a-rather-long-account-id-%015d", i);
        struct rec *r = rg_strmap_put(m, key, (size_t)n, NULL);
        assert_non_null(r);
        assert_int_equal(r->n, 0);
        r->n = i;
        rg_strmap_set_tag(m, r, (uint8_t)(i & 0xff));
    }
    for (int i = 0; i < 3000; i++) {
        int n = i % 3 ? snprintf(key, sizeof key, "k%d", i)
                      : snprintf(key, sizeof key, "a-rather-long-account-id-%015d", i);
        struct rec *r = rg_strmap_get(m, key, (size_t)n);
        assert_non_null(r);
        assert_int_equal(r->n, i);
        assert_int_equal(rg_strmap_tag(m, r), i & 0xff);
        size_t kl;
        assert_string_equal(rg_strmap_key(m, r, &kl), key);
        assert_int_equal(kl, n);
    }
    size_t full = rg_strmap_bytes(m);
    /* 3000 records of 8 + 4 + 12 bytes, 1000 key copies, 4096 slots. */
    assert_true(full >= 3000 * 24 + 1000 * 41 + 4096 * 8);
    assert_true(full <= 3000 * 24 + 1000 * 64 + 4096 * 8 + 64 * 24 + 4096);
    /* Delete the long keys and put them back: the places are reused, the
     * records come back zeroed, and the memory does not grow. */
    for (int i = 0; i < 3000; i += 3) {
        int n = snprintf(key, sizeof key, "a-rather-long-account-id-%015d", i);
        assert_true(rg_strmap_del(m, key, (size_t)n, NULL));
    }
    assert_int_equal(rg_strmap_count(m), 2000);
    for (int i = 0; i < 3000; i += 3) {
        int n = snprintf(key, sizeof key, "back-%d", i);
        bool created;
        struct rec *r = rg_strmap_put(m, key, (size_t)n, &created);
        assert_true(created);
        assert_int_equal(r->n, 0);
        assert_int_equal(rg_strmap_tag(m, r), 0);
    }
    assert_true(rg_strmap_bytes(m) <= full);
    /* A long key's heap copy is counted at what the allocator gives for
     * it (strmap.c computes that instead of asking): every length up to
     * the longest id the events allow. */
    char long_key[128];
    memset(long_key, 'x', sizeof long_key);
    for (size_t len = 24; len <= sizeof long_key; len++) {
        rg_strmap *one = rg_strmap_new_sized(sizeof(struct rec), 11);
        assert_non_null(rg_strmap_put(one, "k", 1, NULL));   /* the table and the first chunk */
        size_t before = rg_strmap_bytes(one);
        assert_non_null(rg_strmap_put(one, long_key, len, NULL));
        char *copy = malloc(len + 1);
        assert_non_null(copy);
        assert_int_equal(rg_strmap_bytes(one) - before, rg_heap_block_bytes(copy, len + 1));
        /* Deleted, the copy is no longer counted; the free list's first
         * room (64 record numbers) is. */
        assert_true(rg_strmap_del(one, long_key, len, NULL));
        uint32_t *room = realloc(NULL, 64 * sizeof *room);
        assert_non_null(room);
        assert_int_equal(rg_strmap_bytes(one), before + rg_heap_block_bytes(room, 64 * sizeof *room));
        free(room);
        free(copy);
        rg_strmap_free(one, NULL);
    }
    size_t n_items;
    rg_strmap_item *items = rg_strmap_sorted(m, &n_items);
    assert_int_equal(n_items, 3000);
    for (size_t i = 1; i < n_items; i++)
        assert_true(strcmp(items[i - 1].key, items[i].key) < 0);
    free(items);
    rg_strmap_free(m, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_strmap_sweep_visits_once),
        cmocka_unit_test(test_strmap_slab),
        cmocka_unit_test(test_strmap_fitted),
        cmocka_unit_test(test_strmap_reused_zeroed),
        cmocka_unit_test(test_strmap_clear),
        cmocka_unit_test(test_strmap_memo_lengths),
        cmocka_unit_test(test_strmap_churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
