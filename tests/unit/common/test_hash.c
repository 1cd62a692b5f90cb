/*
 * Unit tests for common/hash: SipHash against published vectors, the
 * per-process key (random, never the same twice), stable fingerprints,
 * and what it is for (issue 12.6): ids crafted to share one hash under
 * the old table hash spread over a table under the keyed one, and no
 * order that reaches output depends on the key. Owner: common.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"
#include "common/hash_flood.h"
#include "common/strmap.h"

/* SipHash-2-4, key 00..0f, message 00..(n-1): the reference
 * implementation's vectors (Aumasson, Bernstein), n = 0..63. */
static const uint64_t sip24_vectors[64] = {
    0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull, 0x85676696d7fb7e2dull,
    0xcf2794e0277187b7ull, 0x18765564cd99a68dull, 0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull,
    0x93f5f5799a932462ull, 0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
    0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull, 0xa129ca6149be45e5ull,
    0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull, 0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull,
    0xbed65cf21aa2ee98ull, 0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
    0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull, 0x2f2e6163076bcfadull,
    0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull, 0xad87a3535c49ef28ull, 0x32d892fad841c342ull,
    0x7127512f72f27cceull, 0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
    0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull, 0x9abfd8766a33735cull,
    0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull, 0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull,
    0xf935451de4f21df2ull, 0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
    0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull, 0xa192d576b245165aull,
    0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full, 0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull,
    0xb78dbfaf3a8d83bdull, 0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
    0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull, 0x958a324ceb064572ull,
};

static void test_siphash_vectors(void **unused)
{
    unsigned char key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    for (size_t n = 0; n < 64; n++)
        assert_int_equal(rg_siphash(key, msg, n, 2, 4), sip24_vectors[n]);
    /* SipHash-1-3 (the table variant), zero key, as other implementations
     * give it (e.g. Rust's sip-hash crates). */
    unsigned char zero[16] = {0};
    assert_int_equal(rg_siphash(zero, "", 0, 1, 3), 0xd1fba762150c532cull);
    assert_int_equal(rg_siphash(zero, "siphash", 7, 1, 3), 0x8264ceeccb16bcbeull);
    assert_int_equal(rg_siphash(zero, "digest-sip_hash", 15, 1, 3), 0xce31007e34130c0aull);
}

/* Fingerprints are saved in checkpoints: they must never change between
 * processes or releases. These values pin the function and its key. */
static void test_fingerprint_stable(void **unused)
{
    assert_int_equal(rg_fingerprint64("d-phone-1", 9), rg_fingerprint64("d-phone-1", 9));
    assert_true(rg_fingerprint64("", 0) != 0);
    assert_true(rg_fingerprint64("a", 1) != rg_fingerprint64("b", 1));
    static const unsigned char key[16] = {0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3,
                                          0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44};
    assert_int_equal(rg_fingerprint64("acct-1", 6), rg_siphash(key, "acct-1", 6, 2, 4));
    /* ... and it is not the table hash. */
    assert_true(rg_fingerprint64("acct-1", 6) != rg_hash_bytes("acct-1", 6));
}

/* The process key comes from the kernel, and differs per process: run
 * this program again with --print-hash and compare. */
static void test_process_key_random(void **unused)
{
    assert_string_equal(rg_hash_key_source(), "getrandom");
    char cmd[4200];
    ssize_t n = readlink("/proc/self/exe", cmd, sizeof cmd - 32);
    assert_true(n > 0);
    strcpy(cmd + n, " --print-hash");
    uint64_t seen[3];
    for (int i = 0; i < 3; i++) {
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        unsigned long long v = 0;
        assert_int_equal(fscanf(p, "%llx", &v), 1);
        assert_int_equal(pclose(p), 0);
        seen[i] = v;
    }
    assert_true(seen[0] != seen[1] && seen[1] != seen[2] && seen[0] != seen[2]);
    assert_true(seen[0] != rg_hash_bytes("account-1", 9));
}

static bool collect_key(const char *key, size_t keylen, void *value, void *arg)
{
    char *order = arg;
    strncat(order, key, keylen);
    strcat(order, ",");
    return true;
}

/* Iteration order follows the key; the sorted order (what checkpoints
 * and outputs use) never does. */
static void test_order_independent_of_key(void **unused)
{
    static char order[2][64 * 16];
    char *sorted[2][64];
    for (int k = 0; k < 2; k++) {
        unsigned char key[16];
        memset(key, k + 1, sizeof key);
        rg_hash_set_key(key);
        rg_strmap *m = rg_strmap_new(sizeof(int));
        char id[16];
        for (int i = 0; i < 64; i++) {
            snprintf(id, sizeof id, "acct-%02d", i);
            *(int *)rg_strmap_put(m, id, strlen(id), NULL) = i;
        }
        order[k][0] = '\0';
        rg_strmap_foreach(m, collect_key, order[k]);
        size_t n;
        rg_strmap_item *items = rg_strmap_sorted(m, &n);
        assert_int_equal(n, 64);
        for (size_t i = 0; i < n; i++)
            sorted[k][i] = strdup(items[i].key);
        free(items);
        rg_strmap_free(m, NULL);
    }
    assert_string_not_equal(order[0], order[1]);
    for (int i = 0; i < 64; i++) {
        assert_string_equal(sorted[0][i], sorted[1][i]);
        free(sorted[0][i]);
        free(sorted[1][i]);
    }
}

/* Ids crafted against the old table hash: all share its low 32 bits (one
 * home slot in any table), and spread under the keyed hash. No timing
 * here: bench/bench_hashflood.c measures lookups. */
static void flood_ids_spread(void);
static void test_flood_ids_spread(void **unused)
{
    for (int aes = 0; aes < 2; aes++) {
        rg_hash_use_aes(aes);
        flood_ids_spread();
    }
    rg_hash_use_aes(true);
}

static void flood_ids_spread(void)
{
    enum { N = 4096, SLOTS = 8192 };
    static uint16_t per_slot[SLOTS];
    memset(per_slot, 0, sizeof per_slot);
    rg_strmap *m = rg_strmap_new(sizeof(uint32_t));
    unsigned char id[RG_FLOOD_ID_LEN];
    for (uint32_t i = 0; i < N; i++) {
        rg_flood_id(i, 0x5eed5eedu, id);
        assert_int_equal((uint32_t)rg_old_table_hash(id, sizeof id), 0x5eed5eedu);
        per_slot[rg_hash_bytes(id, sizeof id) & (SLOTS - 1)]++;
        bool created;
        *(uint32_t *)rg_strmap_put(m, (const char *)id, sizeof id, &created) = i;
        assert_true(created);
    }
    unsigned busiest = 0;
    for (int s = 0; s < SLOTS; s++)
        busiest = per_slot[s] > busiest ? per_slot[s] : busiest;
    /* 4096 balls in 8192 bins: the fullest holds ~6 (P(> 12) < 2^-20). */
    assert_true(busiest <= 12);
    for (uint32_t i = 0; i < N; i++) {
        rg_flood_id(i, 0x5eed5eedu, id);
        uint32_t *v = rg_strmap_get(m, (const char *)id, sizeof id);
        assert_non_null(v);
        assert_int_equal(*v, i);
    }
    rg_strmap_free(m, NULL);
}

/* The table function in use is AES rounds exactly when the CPU has them
 * (every x86-64 server CPU since 2010); rg_hash_use_aes(false) gives
 * SipHash-1-3, whose values the test vectors pin. */
static void test_table_function(void **unused)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    bool aes = __builtin_cpu_supports("aes");
#else
    bool aes = false;
#endif
    assert_string_equal(rg_hash_table_function(), aes ? "aes-4" : "siphash-1-3");
    uint32_t generation = rg_hash_key_generation;
    rg_hash_use_aes(false);
    assert_string_equal(rg_hash_table_function(), "siphash-1-3");
    assert_true(rg_hash_key_generation != generation);   /* memo caches drop what they hold */
    static const unsigned char key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    rg_hash_set_key(key);
    assert_int_equal(rg_hash_bytes("account-1", 9), rg_siphash(key, "account-1", 9, 1, 3));
    uint64_t v = UINT64_C(0x0123456789abcdef);
    assert_int_equal(rg_hash_u64(v), rg_siphash(key, &v, 8, 1, 3));
    rg_hash_use_aes(true);
    assert_string_equal(rg_hash_table_function(), aes ? "aes-4" : "siphash-1-3");
}

/* Under either function, every length of a key up to 40 bytes (both AES
 * lanes and SipHash beyond) places differently: the AES path reads a key
 * as overlapping words, so "aaaaaaaa" and "aaaaaaaaa" give it the same
 * words and only the length tells them apart. And the hash follows the
 * process key. */
static void test_lengths_and_keys_distinct(void **unused)
{
    for (int aes = 0; aes < 2; aes++) {
        rg_hash_use_aes(aes);
        static const unsigned char k1[16] = {7}, k2[16] = {8};
        rg_hash_set_key(k1);
        char a[41], z[41];
        memset(a, 'a', sizeof a);
        memset(z, 0, sizeof z);
        uint64_t h[41], zh[41];
        for (size_t n = 0; n <= 40; n++) {
            h[n] = rg_hash_bytes(a, n);
            zh[n] = rg_hash_bytes(z, n);
        }
        for (size_t i = 0; i <= 40; i++)
            for (size_t j = i + 1; j <= 40; j++) {
                assert_true(h[i] != h[j]);
                assert_true(zh[i] != zh[j]);
            }
        /* One byte changed anywhere, in keys of 1..32 bytes. */
        for (size_t n = 1; n <= 32; n++)
            for (size_t at = 0; at < n; at++) {
                a[at] = 'b';
                assert_true(rg_hash_bytes(a, n) != h[n]);
                a[at] = 'a';
            }
        rg_hash_set_key(k2);
        for (size_t n = 0; n <= 40; n++)
            assert_true(rg_hash_bytes(a, n) != h[n]);
        assert_true(rg_hash_u64(42) != rg_hash_u64(43));
    }
    rg_hash_use_aes(true);
}

/* Maps answer alike under either function: ids of 1..40 bytes (the AES
 * lanes, SipHash beyond them, and the SipHash path's memo of short and
 * long keys) put, found, deleted and found gone. */
static void test_maps_under_both_functions(void **unused)
{
    enum { N = 6000 };
    for (int aes = 0; aes < 2; aes++) {
        rg_hash_use_aes(aes);
        rg_strmap *m = rg_strmap_new(sizeof(uint32_t));
        char id[48];
        for (uint32_t i = 0; i < N; i++) {
            int n = snprintf(id, sizeof id, "%.*s%u", (int)(i % 36), "0123456789abcdefghijklmnopqrstuvwxyz", i);
            bool created;
            *(uint32_t *)rg_strmap_put(m, id, (size_t)n, &created) = i;
            assert_true(created);
        }
        assert_int_equal(rg_strmap_count(m), N);
        for (uint32_t i = 0; i < N; i++) {
            int n = snprintf(id, sizeof id, "%.*s%u", (int)(i % 36), "0123456789abcdefghijklmnopqrstuvwxyz", i);
            uint32_t *v = rg_strmap_get(m, id, (size_t)n);
            assert_non_null(v);
            assert_int_equal(*v, i);
            if (i % 2)
                assert_true(rg_strmap_del(m, id, (size_t)n, NULL));
        }
        for (uint32_t i = 0; i < N; i++) {
            int n = snprintf(id, sizeof id, "%.*s%u", (int)(i % 36), "0123456789abcdefghijklmnopqrstuvwxyz", i);
            uint32_t *v = rg_strmap_get(m, id, (size_t)n);
            if (i % 2)
                assert_null(v);
            else
                assert_true(v && *v == i);
        }
        rg_strmap_free(m, NULL);
    }
    rg_hash_use_aes(true);
}

/* The inline table hash (hash.h rg_hash_aes_short, strmap.h
 * rg_strmap_hash) is hash.c's AES lane 0 written again: the same value
 * as rg_hash_bytes for every length it takes (1..16), at every offset
 * of the key in memory, under two process keys; and rg_strmap_hash, which
 * picks it or the call, equals rg_strmap_hash_any for 0..40 bytes under
 * either function. */
static void test_inline_hash_matches(void **unused)
{
    static const unsigned char k1[16] = {3, 1, 4, 1, 5, 9, 2, 6}, k2[16] = {2, 7, 1, 8, 2, 8};
    unsigned char buf[64];
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    for (int aes = 0; aes < 2; aes++) {
        rg_hash_use_aes(aes);
        for (int k = 0; k < 2; k++) {
            rg_hash_set_key(k ? k2 : k1);
            for (int round = 0; round < 200; round++) {
                for (size_t i = 0; i < sizeof buf; i++) {
                    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                    buf[i] = (unsigned char)x;
                }
                for (size_t n = 0; n <= 40; n++) {
                    const char *key = (const char *)buf + round % 16;
                    assert_int_equal(rg_strmap_hash(key, n), rg_strmap_hash_any(key, n));
#ifdef RG_HASH_INLINE_AES
                    if (rg_hash_aes && n >= 1 && n <= 16)
                        assert_int_equal(rg_hash_aes_short(key, n), rg_hash_bytes(key, n));
#endif
                }
            }
        }
    }
    rg_hash_use_aes(true);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--print-hash") == 0) {
        printf("%llx\n", (unsigned long long)rg_hash_bytes("account-1", 9));
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_siphash_vectors),          cmocka_unit_test(test_fingerprint_stable),
        cmocka_unit_test(test_process_key_random),       cmocka_unit_test(test_order_independent_of_key),
        cmocka_unit_test(test_flood_ids_spread),         cmocka_unit_test(test_table_function),
        cmocka_unit_test(test_lengths_and_keys_distinct), cmocka_unit_test(test_maps_under_both_functions),
        cmocka_unit_test(test_inline_hash_matches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
