/*
 * hash_flood — ids crafted to collide under the table hash riskgate used
 * before common/hash.c (a fixed-seed multiply-xorshift, until issue
 * 12.6), for the test and the benchmark that show the keyed hash spreads
 * them (tests/unit/common/test_hash.c, bench/bench_hashflood.c).
 *
 * Owner: common (the detectors engineer). Test and benchmark code only:
 * nothing in the program includes it. Header-only.
 *
 * The old function was invertible step by step, so anyone could aim at
 * a hash: a 16-byte id is one chosen word (here "flood" and a counter)
 * and one solved word. Every id made here has the same low 32 bits of
 * the old hash, hence the same 32-bit hash and the same home slot in
 * every strmap table, which turned each insert and lookup into a walk
 * over all the ids before it. The bytes are binary; an attacker limited
 * to JSON strings needs a longer search over printable ids for the low
 * bits a table of a given size uses, which is cheap with this function.
 */
#ifndef RG_HASH_FLOOD_H
#define RG_HASH_FLOOD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RG_FLOOD_ID_LEN 16

static const uint64_t flood_c1 = 0x87C37B91114253D5ull, flood_c2 = 0x4CF5AD432745937Full;
static const uint64_t flood_m1 = 0xFF51AFD7ED558CCDull, flood_m2 = 0xC4CEB9FE1A85EC53ull;

/* The table hash before issue 12.6, exactly. */
static inline uint64_t rg_old_table_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xC2B2AE3D27D4EB4Full);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w * flood_c1;
        h = (h << 31 | h >> 33) * flood_c2;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < len; i++)
        w |= (uint64_t)p[i] << (8 * i);
    h ^= w * flood_c1;
    h ^= h >> 33;
    h *= flood_m1;
    h ^= h >> 33;
    h *= flood_m2;
    h ^= h >> 33;
    return h ? h : 1;
}

/* x^-1 mod 2^64 for odd x (Newton: each step doubles the correct bits). */
static inline uint64_t flood_inverse(uint64_t x)
{
    uint64_t y = x;
    for (int i = 0; i < 6; i++)
        y *= 2 - x * y;
    return y;
}

/* The i-th id whose old hash is (i << 32) | low32, in out[16]. */
static inline void rg_flood_id(uint32_t i, uint32_t low32, unsigned char out[RG_FLOOD_ID_LEN])
{
    memcpy(out, "flood", 5);
    out[5] = (unsigned char)('A' + i % 26);
    out[6] = (unsigned char)('A' + i / 26 % 26);
    out[7] = (unsigned char)('A' + i / 676 % 26);
    uint64_t w1;
    memcpy(&w1, out, 8);
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)RG_FLOOD_ID_LEN * 0xC2B2AE3D27D4EB4Full);
    h ^= w1 * flood_c1;
    h = (h << 31 | h >> 33) * flood_c2;
    /* Undo the finaliser from the wanted hash (xor-shift by 33 is its own
     * inverse on 64 bits), then solve the second word. */
    uint64_t f = (uint64_t)(i + 1) << 32 | low32;
    f ^= f >> 33;
    f *= flood_inverse(flood_m2);
    f ^= f >> 33;
    f *= flood_inverse(flood_m1);
    f ^= f >> 33;
    uint64_t before = f * flood_inverse(flood_c2);
    before = before >> 31 | before << 33;
    uint64_t w2 = (before ^ h) * flood_inverse(flood_c1);
    memcpy(out + 8, &w2, 8);
}

#endif
