/*
 * geo_tree — the open-time check of a search tree's records (geo_tree.h):
 * one branch-free pass over every node, four nodes a step with AVX2 for
 * 24-bit records where the CPU has it, and only when a bad record is
 * found a second pass for the first one. Owner: geo.
 */
#include "geo/geo_tree.h"

#include <stdbool.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_AVX2_TREE_CHECK 1   /* rg_geo_first_bad_node's first pass, where the CPU has AVX2 */
#endif


/* Whether any record of nodes [from, node_count) is bad: one pass without
 * a branch per record, its decoding specialised per record size (~10
 * instructions a node instead of ~40 with the generic decoder). Reading 8
 * bytes at the last node is safe: the 16 zero bytes after the tree were
 * checked before. */
static bool any_bad_scalar(const uint8_t *tree, uint64_t from, uint64_t node_count, uint16_t record_size,
                           uint64_t data_end)
{
    uint64_t any_bad = 0;
    const uint8_t *p = tree + from * (record_size / 4);
    switch (record_size) {
    case 24:
        for (uint64_t node = from; node < node_count; node++, p += 6) {
            uint64_t v;
            memcpy(&v, p, 8);
            v = __builtin_bswap64(v);
            uint64_t left = v >> 40, right = (v >> 16) & 0xffffff;
            any_bad |= RG_GEO_RECORD_BAD(left, node_count, data_end) | RG_GEO_RECORD_BAD(right, node_count, data_end);
        }
        break;
    case 28:
        for (uint64_t node = from; node < node_count; node++, p += 7) {
            uint64_t v;
            memcpy(&v, p, 8);
            v = __builtin_bswap64(v);
            uint64_t left = (v >> 40) | ((v >> 12) & 0xf000000), right = (v >> 8) & 0xfffffff;
            any_bad |= RG_GEO_RECORD_BAD(left, node_count, data_end) | RG_GEO_RECORD_BAD(right, node_count, data_end);
        }
        break;
    default:
        for (uint64_t node = from; node < node_count; node++, p += 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            v = __builtin_bswap64(v);
            uint64_t left = v >> 32, right = v & 0xffffffff;
            any_bad |= RG_GEO_RECORD_BAD(left, node_count, data_end) | RG_GEO_RECORD_BAD(right, node_count, data_end);
        }
        break;
    }
    return any_bad != 0;
}

#ifdef HAVE_AVX2_TREE_CHECK

/* The same test for 24-bit records, eight records (four nodes) per step
 * with AVX2, on CPUs that have it (the pinned IPv4 file: 3.7 M nodes,
 * ~28 instructions a node in the scalar pass, most of a run's open). Each
 * 128-bit half takes 12 bytes (two nodes) and spreads its four big-endian
 * 24-bit records into four 32-bit lanes; a record r is bad when neither
 * r - 1 < node_count (a node, or empty: node_count) nor r - node_count -
 * 16 < data_size (data), the scalar RECORD_BAD in 32-bit lanes. Only
 * called when node_count < 2^24 and data_size < 2^31, so no lane wraps
 * into a false "good". Returns how many nodes it covered (a multiple of
 * 4; the rest is the scalar pass's) and whether any was bad. Loads end at
 * most 4 bytes past the last node covered, inside the checked separator. */
/* Whether each of the four 24-bit records of two nodes at p is good (all
 * ones in its lane) or bad (zero). */
__attribute__((target("avx2"))) static inline __m256i records_good_24(const uint8_t *p, __m256i spread, __m256i one,
                                                                      __m256i n_x, __m256i n16, __m256i size_x,
                                                                      __m256i sign)
{
    __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                          _mm_loadu_si128((const __m128i *)(p + 12)), 1);
    __m256i r = _mm256_shuffle_epi8(raw, spread);
    /* unsigned x < y  <=>  (x ^ sign) < (y ^ sign) signed */
    __m256i is_node = _mm256_cmpgt_epi32(n_x, _mm256_xor_si256(_mm256_sub_epi32(r, one), sign));
    __m256i is_data = _mm256_cmpgt_epi32(size_x, _mm256_xor_si256(_mm256_sub_epi32(r, n16), sign));
    return _mm256_or_si256(is_node, is_data);
}

__attribute__((target("avx2"))) static uint64_t any_bad_avx2_24(const uint8_t *tree, uint64_t node_count,
                                                                uint32_t data_size, bool *bad)
{
    const __m256i spread = _mm256_setr_epi8(2, 1, 0, -1, 5, 4, 3, -1, 8, 7, 6, -1, 11, 10, 9, -1,
                                            2, 1, 0, -1, 5, 4, 3, -1, 8, 7, 6, -1, 11, 10, 9, -1);
    const __m256i one = _mm256_set1_epi32(1), sign = _mm256_set1_epi32(INT32_MIN);
    const __m256i n_x = _mm256_xor_si256(_mm256_set1_epi32((int)node_count), sign);
    const __m256i n16 = _mm256_set1_epi32((int)(node_count + 16));
    const __m256i size_x = _mm256_xor_si256(_mm256_set1_epi32((int)data_size), sign);
    const __m256i all = _mm256_set1_epi32(-1);
    /* Lanes stay all ones while every record seen is good: an AND per
     * four nodes, eight nodes a step. */
    __m256i good = all;
    uint64_t done = 0;
    for (; done + 8 <= node_count; done += 8) {
        const uint8_t *p = tree + done * 6;
        good = _mm256_and_si256(good, records_good_24(p, spread, one, n_x, n16, size_x, sign));
        good = _mm256_and_si256(good, records_good_24(p + 24, spread, one, n_x, n16, size_x, sign));
    }
    if (done + 4 <= node_count) {
        good = _mm256_and_si256(good, records_good_24(tree + done * 6, spread, one, n_x, n16, size_x, sign));
        done += 4;
    }
    *bad = !_mm256_testc_si256(good, all);   /* some lane not all ones */
    return done;
}
#endif

/* The first node with a bad record, node_count when none. Only when a
 * bad record is found, a second pass finds the first. */
uint64_t rg_geo_first_bad_node(const uint8_t *tree, uint64_t node_count, uint16_t record_size, uint64_t data_end)
{
    uint64_t from = 0;
    bool bad = false;
#ifdef HAVE_AVX2_TREE_CHECK
    const uint64_t data_size = data_end - node_count - 16;
    if (record_size == 24 && node_count < (UINT64_C(1) << 24) && data_size < (UINT64_C(1) << 31) &&
        __builtin_cpu_supports("avx2"))
        from = any_bad_avx2_24(tree, node_count, (uint32_t)data_size, &bad);
#endif
    if (!bad && !any_bad_scalar(tree, from, node_count, record_size, data_end))
        return node_count;
    const uint8_t *p = tree;
    for (uint64_t node = 0; node < node_count; node++, p += record_size / 4) {
        uint64_t left, right;
        rg_geo_node_records(p, record_size, &left, &right);
        if (RG_GEO_RECORD_BAD(left, node_count, data_end) | RG_GEO_RECORD_BAD(right, node_count, data_end))
            return node;
    }
    return node_count;
}
