/*
 * hash — SipHash-1-3 under a per-process random key for tables, and
 * SipHash-2-4 under a fixed key for stored fingerprints; see hash.h.
 * Owner: common (the detectors engineer).
 *
 * SipHash follows the reference implementation (Aumasson, Bernstein:
 * "SipHash: a fast short-input PRF", 2012); the -2-4 test vectors of its
 * paper are checked in tests/unit/common. 1-3 is the variant Rust's and
 * Python's tables settled on for speed: one compression round per 8-byte
 * word, three to finish.
 */
#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static unsigned char process_key[16];
bool rg_hash_aes;
static const char *process_key_source = "unset";
uint32_t rg_hash_key_generation;

/* The fingerprint key: fixed, so fingerprints saved in a checkpoint by
 * one process are compared with those of the next. Any 16 bytes would
 * do; these are the first digits of pi's fractional part. */
static const unsigned char fingerprint_key[16] = {0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3,
                                                  0x13, 0x19, 0x8a, 0x2e, 0x03, 0x70, 0x73, 0x44};

static inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static inline uint64_t load64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

#define SIPROUND                                                                                                 \
    do {                                                                                                         \
        v0 += v1;                                                                                                \
        v1 = rotl(v1, 13);                                                                                       \
        v1 ^= v0;                                                                                                \
        v0 = rotl(v0, 32);                                                                                       \
        v2 += v3;                                                                                                \
        v3 = rotl(v3, 16);                                                                                       \
        v3 ^= v2;                                                                                                \
        v0 += v3;                                                                                                \
        v3 = rotl(v3, 21);                                                                                       \
        v3 ^= v0;                                                                                                \
        v2 += v1;                                                                                                \
        v1 = rotl(v1, 17);                                                                                       \
        v1 ^= v2;                                                                                                \
        v2 = rotl(v2, 32);                                                                                       \
    } while (0)

/* Inlined with constant rounds at each call, so each variant unrolls. */
static inline uint64_t siphash_cd(const unsigned char *key, const unsigned char *in, size_t len, int c, int d)
{
    uint64_t k0 = load64(key), k1 = load64(key + 8);
    uint64_t v0 = UINT64_C(0x736f6d6570736575) ^ k0;
    uint64_t v1 = UINT64_C(0x646f72616e646f6d) ^ k1;
    uint64_t v2 = UINT64_C(0x6c7967656e657261) ^ k0;
    uint64_t v3 = UINT64_C(0x7465646279746573) ^ k1;
    const unsigned char *end = in + (len - len % 8);
    for (; in != end; in += 8) {
        uint64_t m = load64(in);
        v3 ^= m;
        for (int i = 0; i < c; i++)
            SIPROUND;
        v0 ^= m;
    }
    uint64_t b = (uint64_t)len << 56;
    switch (len & 7) {
    case 7: b |= (uint64_t)in[6] << 48; /* fall through */
    case 6: b |= (uint64_t)in[5] << 40; /* fall through */
    case 5: b |= (uint64_t)in[4] << 32; /* fall through */
    case 4: b |= (uint64_t)in[3] << 24; /* fall through */
    case 3: b |= (uint64_t)in[2] << 16; /* fall through */
    case 2: b |= (uint64_t)in[1] << 8;  /* fall through */
    case 1: b |= (uint64_t)in[0]; break;
    case 0: break;
    }
    v3 ^= b;
    for (int i = 0; i < c; i++)
        SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    for (int i = 0; i < d; i++)
        SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t rg_siphash(const unsigned char key[16], const void *data, size_t len, int c_rounds, int d_rounds)
{
    return siphash_cd(key, data, len, c_rounds, d_rounds);
}

/*
 * The AES-round table hash (hash.h): keys of up to 32 bytes, on a CPU
 * with AES-NI. As Go's runtime maps and Rust's aHash place keys: a 16-byte
 * block (an id of up to 16 bytes as two overlapping words, which with its
 * length determine every byte; up to 32 as two such blocks, each its own
 * lane) is whitened with a secret key chosen by its length, then goes
 * through four AES rounds under secret round keys. Every key is derived
 * from the process key, so, as with SipHash, nobody who cannot read the
 * process's memory can compute where an id lands, or choose ids that
 * collide: the rounds are a permutation, so two keys of one length never
 * share the 128 bits that come out of a lane, and the whitening keys of
 * two lengths differ by a secret (ids that load as the same words,
 * "aaaaaaaa" and "aaaaaaaaa", land apart). Not a PRF with a proof, as
 * SipHash is; nothing stored or compared across processes uses it
 * (docs/state.md, "The table function"). A lane is a whitening xor and
 * four aesenc, ~25 instructions an 11-byte id against SipHash-1-3's
 * ~140; the memo of strmap_memo.h is then skipped (a hit cost more).
 * Longer keys, and CPUs without AES-NI, take SipHash-1-3.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RG_HASH_HAS_AES 1
#include <immintrin.h>

/* The keys (hash.h declares them, for its inline copy of lane 0). */
#define AES_ROUNDS RG_HASH_AES_ROUNDS
rg_hash_aes_keys rg_hash_aes_key;

/* A 128-bit key from the process key: SipHash-2-4 under it of two
 * counters. */
static __m128i derive_key(uint64_t *counter)
{
    unsigned char c[8];
    uint64_t w[2];
    for (int i = 0; i < 2; i++, (*counter)++) {
        memcpy(c, counter, sizeof c);
        w[i] = siphash_cd(process_key, c, sizeof c, 2, 4);
    }
    return _mm_set_epi64x((long long)w[1], (long long)w[0]);
}

static void aes_keys_derive(void)
{
    uint64_t counter = 0;
    for (int lane = 0; lane < 2; lane++) {
        for (int len = 0; len <= 32; len++)
            rg_hash_aes_key.whiten[lane][len] = derive_key(&counter);
        for (int r = 0; r < AES_ROUNDS; r++)
            rg_hash_aes_key.round[lane][r] = derive_key(&counter);
    }
}

__attribute__((target("aes"))) static inline __m128i aes_lane(__m128i block, int lane, size_t len)
{
    __m128i x = _mm_xor_si128(block, rg_hash_aes_key.whiten[lane][len]);
    for (int r = 0; r < AES_ROUNDS; r++)
        x = _mm_aesenc_si128(x, rg_hash_aes_key.round[lane][r]);
    return x;
}

/* A key of 0..32 bytes: one lane up to 16, two beyond. */
__attribute__((target("aes"))) static uint64_t aes_hash(const unsigned char *p, size_t len)
{
    if (len <= 16)
        return rg_hash_fold(aes_lane(len ? rg_hash_short_block(p, len) : _mm_setzero_si128(), 0, len));
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + len - 16));
    return rg_hash_fold(_mm_xor_si128(aes_lane(a, 0, len), aes_lane(b, 1, len)));
}

__attribute__((target("aes"))) static uint64_t aes_hash_u64(uint64_t value)
{
    return rg_hash_fold(aes_lane(_mm_set_epi64x(0, (long long)value), 0, 8));
}

static bool cpu_has_aes(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("aes");
}
#endif

uint64_t rg_hash_bytes(const void *data, size_t len)
{
#ifdef RG_HASH_HAS_AES
    if (rg_hash_aes && len <= 32)
        return aes_hash(data, len);
#endif
    return siphash_cd(process_key, data, len, 1, 3);
}

uint64_t rg_hash_u64(uint64_t value)
{
#ifdef RG_HASH_HAS_AES
    if (rg_hash_aes)
        return aes_hash_u64(value);
#endif
    unsigned char bytes[8];
    memcpy(bytes, &value, sizeof bytes);
    return siphash_cd(process_key, bytes, sizeof bytes, 1, 3);
}

const char *rg_hash_table_function(void) { return rg_hash_aes ? "aes-4" : "siphash-1-3"; }

void rg_hash_use_aes(bool on)
{
#ifdef RG_HASH_HAS_AES
    rg_hash_aes = on && cpu_has_aes();
    if (rg_hash_aes)
        aes_keys_derive();
#else
    (void)on;
#endif
    rg_hash_key_generation++;
}

uint64_t rg_fingerprint64(const void *data, size_t len)
{
    uint64_t h = siphash_cd(fingerprint_key, data, len, 2, 4);
    return h ? h : 1;   /* 0 means "empty" to the tables that hold them */
}

void rg_hash_set_key(const unsigned char key[16])
{
    memcpy(process_key, key, sizeof process_key);
    process_key_source = "set";
    rg_hash_use_aes(rg_hash_aes);
}

const char *rg_hash_key_source(void) { return process_key_source; }

static bool read_urandom(unsigned char *buf, size_t len)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n <= 0 && errno != EINTR)
            break;
        if (n > 0)
            got += (size_t)n;
    }
    close(fd);
    return got == len;
}

/* getrandom without
 * GRND_NONBLOCK could block early at boot; with it, a kernel whose pool
 * is not ready yet answers EAGAIN and /dev/urandom (which never blocks)
 * is read instead. */
static void draw_process_key(void);

/* Before main, so no thread can see the key or the function change. */
__attribute__((constructor)) static void init_process_key(void)
{
    draw_process_key();
    rg_hash_use_aes(true);
}

static void draw_process_key(void)
{
    size_t got = 0;
    while (got < sizeof process_key) {
        ssize_t n = getrandom(process_key + got, sizeof process_key - got, GRND_NONBLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == sizeof process_key) {
        process_key_source = "getrandom";
        return;
    }
    if (read_urandom(process_key, sizeof process_key)) {
        process_key_source = "/dev/urandom";
        return;
    }
    /* No kernel randomness at all: still differs between runs, never
     * secret. */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t seed[2] = {(uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 30 ^ (uint64_t)getpid() << 48,
                        (uint64_t)(uintptr_t)&got ^ (uint64_t)(uintptr_t)&process_key};
    memcpy(process_key, seed, sizeof process_key);
    process_key_source = "fallback";
}
