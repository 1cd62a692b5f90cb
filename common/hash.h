/*
 * hash — keyed hashes for everything an event can name (account, packet
 * and event ids, JSON keys), so that nobody who sends events can choose
 * ids that collide (hash flooding: a map whose keys all collide answers
 * in linear time). SipHash (Aumasson and Bernstein), as Redis does.
 *
 * Owner: common (the detectors engineer). Two functions, two purposes:
 *
 *   rg_hash_bytes    table placement, keyed with a random key drawn once
 *                    per process (getrandom): four AES rounds under keys
 *                    derived from it for keys of up to 32 bytes on a CPU
 *                    with AES-NI (as Go's maps and Rust's aHash), else
 *                    SipHash-1-3 (hash.c says why either is safe). So
 *                    placement, and with it any map's iteration order,
 *                    differs from run to run. Nothing may let that order
 *                    reach output: whatever is saved or printed is sorted
 *                    by key first (rg_strmap_sorted). Never store these
 *                    values.
 *   rg_fingerprint64 a stable 64-bit fingerprint of an id, for state that
 *                    keeps ids as fingerprints and saves them in
 *                    checkpoints (devices, senders, claimers): SipHash-2-4
 *                    under a fixed key, the same in every process and
 *                    release, never 0. SipHash is a PRF, so without the
 *                    key no one can aim at a given fingerprint; with it
 *                    (the key is in the source), a second id matching a
 *                    given one still costs ~2^64 tries, and two ids of
 *                    one's own choosing that collide ~2^32: such a pair
 *                    can only merge the sender's own ids. Where a
 *                    fingerprint places something in a table, it goes
 *                    through rg_hash_u64 first (keyed per process).
 *
 * Thread-safety: the process key is set before main (a constructor);
 * every function may then be called from any thread. rg_hash_set_key is
 * for tests and benchmarks only, before any map exists.
 */
#ifndef RG_HASH_H
#define RG_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Table hash of data[0..len) under the process key. */
uint64_t rg_hash_bytes(const void *data, size_t len);

/* Table hash of a 64-bit value (a fingerprint) under the process key. */
uint64_t rg_hash_u64(uint64_t value);

/* Stable fingerprint of an id (fixed key); never 0. */
uint64_t rg_fingerprint64(const void *data, size_t len);

/* SipHash-c-d of data under a 16-byte key (exposed for the test vectors). */
uint64_t rg_siphash(const unsigned char key[16], const void *data, size_t len, int c_rounds, int d_rounds);

/* Tests and benchmarks: replace the process key (no map may exist yet,
 * since every table's placement would change under it). */
void rg_hash_set_key(const unsigned char key[16]);

/* How many times the process key was set (1 after the constructor): a
 * cache of table hashes (strmap.c's memo) drops what it holds when this
 * changes. Read-only outside hash.c. */
extern uint32_t rg_hash_key_generation;

/* Whether rg_hash_bytes and rg_hash_u64 use the AES rounds (set before
 * main; read-only outside hash.c). strmap_memo.h skips its memo then. */
extern bool rg_hash_aes;

/* Tests and benchmarks: the table function, AES rounds (when the CPU has
 * them) or SipHash-1-3, with the same rules as rg_hash_set_key. */
void rg_hash_use_aes(bool on);

/* A key of 1..16 bytes as two words: overlapping loads, so the words and
 * the length determine every byte (the AES hash's block, and the SipHash
 * memo's key in strmap_memo.h). */
static inline void rg_hash_short_words(const void *key, size_t len, uint64_t w[2])
{
    const unsigned char *p = key;
    if (len >= 8) {
        memcpy(&w[0], p, sizeof w[0]);
        memcpy(&w[1], p + len - 8, sizeof w[1]);
    } else if (len >= 4) {
        uint32_t a, b;
        memcpy(&a, p, sizeof a);
        memcpy(&b, p + len - 4, sizeof b);
        w[0] = a | (uint64_t)b << 32;
        w[1] = 0;
    } else {
        w[0] = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
        w[1] = 0;
    }
}

/*
 * The table function inline for keys of 1..16 bytes under AES (every id
 * the captures use), for the hot lookups (common/strmap.h rg_strmap_hash,
 * strmap.c's table hash): the same value as rg_hash_bytes (test_hash.c
 * compares them), without its two calls, which cost more than the hash
 * (~45 instructions a hash through rg_hash_bytes, ~20 inline; ~5 table
 * hashes an event). The rounds are written as `aesenc` in asm, not as
 * the intrinsic: an intrinsic needs target("aes") on every function it
 * is inlined into, and GCC then inlines none of those into callers built
 * without it. The asm runs only when rg_hash_aes says the CPU has AES-NI.
 * Keys and lengths outside it go to rg_hash_bytes.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RG_HASH_INLINE_AES 1
#include <emmintrin.h>

#define RG_HASH_AES_ROUNDS 4
/* What hash.c derives from the process key; read-only outside it. */
typedef struct rg_hash_aes_keys {
    __m128i whiten[2][33];                  /* [lane][length] */
    __m128i round[2][RG_HASH_AES_ROUNDS];   /* [lane][round] */
} rg_hash_aes_keys;
extern rg_hash_aes_keys rg_hash_aes_key;

/* One AES round (the key is 16-byte aligned, as the SSE form of the
 * instruction needs of a memory operand). */
static inline __m128i rg_hash_aesenc(__m128i x, const __m128i *key)
{
    __asm__("aesenc %1, %0" : "+x"(x) : "m"(*key));
    return x;
}

/* 1..16 bytes at p as one block (rg_hash_short_words): hash.c's lanes
 * and the inline hash below both load ids so. */
static inline __m128i rg_hash_short_block(const void *p, size_t len)
{
    uint64_t w[2];
    rg_hash_short_words(p, len, w);
    return _mm_set_epi64x((long long)w[1], (long long)w[0]);
}

/* The 128 bits of a lane, folded to the 64 a table hash returns. */
static inline uint64_t rg_hash_fold(__m128i x)
{
    return (uint64_t)_mm_cvtsi128_si64(x) ^ (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(x, x));
}

/* rg_hash_bytes of 1..16 bytes, rg_hash_aes set: hash.c's lane 0 (the
 * block whitened by length, four rounds, the halves folded), its rounds
 * here in asm; test_hash compares the two. */
static inline uint64_t rg_hash_aes_short(const void *data, size_t len)
{
    __m128i x = _mm_xor_si128(rg_hash_short_block(data, len), rg_hash_aes_key.whiten[0][len]);
    for (int r = 0; r < RG_HASH_AES_ROUNDS; r++)
        x = rg_hash_aesenc(x, &rg_hash_aes_key.round[0][r]);
    return rg_hash_fold(x);
}
#endif

/* "aes-4" or "siphash-1-3": the table function in use. */
const char *rg_hash_table_function(void);

/* Where the process key came from: "getrandom", "/dev/urandom", or
 * "fallback" (clock, pid and addresses: not secret, only when the kernel
 * gave nothing), or "set" after rg_hash_set_key. */
const char *rg_hash_key_source(void);

#endif
