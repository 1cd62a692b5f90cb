/*
 * event_line_numbers — the line pass's readers of numbers and IPv4
 * addresses (event_line.c), on the parser's padded copy of the line: 16
 * bytes can be loaded at any place in it, the NUL padding ends every run.
 * Each reads the usual form in one step and leaves every other form to
 * the general reading (rg_json_plain_number, rg_usual_coordinate,
 * rg_ipv4_text), with which tests/unit/ingest/test_event_parse.c and
 * test_event_fastpath.c compare it. Internal to the ingest layer: only
 * event_line.c includes it.
 */
#ifndef RG_EVENT_LINE_NUMBERS_H
#define RG_EVENT_LINE_NUMBERS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "event_fields.h"

/* The eight bytes at p as one little-endian word. */
static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/* A bit per digit among the 16 bytes at d. */
static inline unsigned digit_mask(const unsigned char *d)
{
    __m128i t = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)(const void *)d), _mm_set1_epi8('0'));
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(t, _mm_set1_epi8(9)), _mm_set1_epi8(9)));
}

/* How many digits start at d (0..16), from one 16-byte compare. */
static inline unsigned digit_run(const unsigned char *d)
{
    return (unsigned)__builtin_ctz(~digit_mask(d)); /* bit 16 and up of ~mask are set */
}

/* The value of the k (1..8) digits that are the first bytes of the
 * little-endian word x, eight at a time (the digits shifted to its top,
 * zeros before them). */
static inline uint64_t digits_value8_word(uint64_t x, unsigned k)
{
    uint64_t w = (x << (8 * (8 - k))) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    w = (w * 2561) >> 8;
    w = ((w & UINT64_C(0x00FF00FF00FF00FF)) * 6553601) >> 16;
    return ((w & UINT64_C(0x0000FFFF0000FFFF)) * UINT64_C(42949672960001)) >> 32;
}

/* The value of the k (1..8) digits at d. */
static inline uint64_t digits_value8(const unsigned char *d, unsigned k)
{
    return digits_value8_word(load64(d), k);
}

/* The value of the k (1..16) digits at d. */
static inline uint64_t digits_value(const unsigned char *d, unsigned k)
{
    if (k <= 8)
        return digits_value8(d, k);
    return digits_value8(d, k - 8) * 100000000 + digits_value8(d + k - 8, 8);
}

/* 10^0 .. 10^16, for a fraction of up to 16 digits. */
static const uint64_t pow10[17] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000,
                                   1000000000, 10000000000, 100000000000, 1000000000000,
                                   10000000000000, 100000000000000, 1000000000000000,
                                   10000000000000000};

/*
 * rg_json_plain_number at q in the padded copy, its digits counted with
 * one compare and read eight at a time: an integer part of 1..16 digits
 * and a fraction of 1..16 here, anything else by rg_json_plain_number
 * itself. Same length and same *n (the wrapping of w included: w is the
 * integer part times 10^digits plus the fraction, modulo 2^64, as its
 * digit-by-digit reading makes it).
 */
static inline long line_number(const unsigned char *q, const unsigned char *e, rg_json_num *n)
{
    const unsigned char *d = q;
    bool neg = *d == '-';
    d += neg;
    unsigned k = digit_run(d);
    if (k == 0 || k > 16 || (k > 1 && *d == '0'))
        return rg_json_plain_number(q, e, n);
    uint64_t m = digits_value(d, k), w = m;
    int sig = m ? (int)k : 0, e10 = 0;
    bool is_int = true;
    d += k;
    if (*d == '.') {
        const unsigned char *frac_at = d + 1;
        unsigned fd = digit_run(frac_at);
        if (fd == 0 || fd > 16)
            return rg_json_plain_number(q, e, n);
        w = m * pow10[fd] + digits_value(frac_at, fd);
        unsigned lz = 0;
        while (!m && lz < fd && frac_at[lz] == '0')
            lz++; /* 0.00x: leading zeros are not significant */
        sig += (int)(fd - lz);
        e10 = -(int)fd;
        is_int = false;
        d = frac_at + fd;
    }
    if (d >= e || *d == '.' || (*d | 0x20) == 'e')
        return rg_json_plain_number(q, e, n);
    return rg_json_plain_number_fill(n, q, d, is_int, neg, m, sig, w, e10);
}

/*
 * The usual forms of a number, read in one step for what takes them
 * (line_number and rg_json_num_double read every other form; the two
 * readings agree on these, tests/unit/ingest/test_event_parse.c checks):
 *
 * An unsigned integer of 1..16 digits without a leading zero (or "0"),
 * followed by ',' or '}' (what ends a usual top-level value): its length,
 * its value in *m; 0 for anything else.
 */
static inline long line_uint(const unsigned char *q, uint64_t *m)
{
    unsigned k = digit_run(q);
    if (k == 0 || k > 16 || (k > 1 && *q == '0') || (q[k] != ',' && q[k] != '}'))
        return 0;
    *m = digits_value(q, k);
    return k;
}

/* Powers of ten as rg_json_num_double divides by them (exact doubles). */
static const double line_pow10[17] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7, 1e8,
                                      1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16};

/*
 * A coordinate in location's usual form: an optional '-', 1..16 integer
 * digits without a leading zero (or "0"), '.', 1..16 fraction digits,
 * then ',' or '}', whose value w * 10^-fd fits Clinger's fast path
 * (rg_json_num_double's w_ok: at most 18 significant digits, w <= 2^53):
 * its length with *out set as rg_usual_coordinate sets it, -1 when that
 * value is outside +-limit (rg_usual_coordinate refuses it), 0 for any
 * other form (then read by line_number and rg_usual_coordinate).
 *
 * Read here: a non-zero integer part and its fraction within the 16
 * bytes one digit compare looks at (at most 14 digits: w < 10^14, under
 * 2^53), so that compare finds both runs. w is the digits read as one
 * number; when there are at most 8 (the usual 22.86727 or 108.34263),
 * they are gathered into one word without the dot and read in one step
 * instead of two and a multiply. The rest (zero integer parts, longer
 * numbers) returns 0.
 */
static inline long line_coordinate(const unsigned char *q, double limit, double *out)
{
    const unsigned char *d = q;
    bool neg = *d == '-';
    d += neg;
    unsigned digits = digit_mask(d);
    unsigned k = (unsigned)__builtin_ctz(~digits);
    /* "0..." (a zero integer part counts the fraction's leading zeros
     * apart) or another leading zero, or no '.' after the digits */
    if (k == 0 || *d == '0' || d[k] != '.')
        return 0;
    unsigned fd = (unsigned)__builtin_ctz(~(digits >> (k + 1)));
    const unsigned char *end = d + k + 1 + fd;
    if (fd == 0 || k + 1 + fd >= 16 || (*end != ',' && *end != '}'))
        return 0; /* no fraction, or digits up to the compare's end */
    uint64_t w;
    if (k + fd <= 8) {
        uint64_t lo = (UINT64_C(1) << (8 * k)) - 1; /* k <= 7 */
        w = digits_value8_word((load64(d) & lo) | (load64(d + 1) & ~lo), k + fd);
    } else {
        w = digits_value(d, k) * pow10[fd] + digits_value(d + k + 1, fd);
    }
    double v = (double)w / line_pow10[fd];
    v = neg ? -v : v;
    if (!(v >= -limit && v <= limit))
        return -1;
    *out = v;
    return end - q;
}

/* The octet of digits u[start..end): 1..3 digits, no leading zero,
 * at most 255 (rg_ipv4_octet's rules). */
static inline __attribute__((always_inline)) bool line_octet(const unsigned char *u, unsigned start, unsigned end,
                                                             unsigned *o)
{
    const unsigned char *d = u + start;
    switch (end - start) {
    case 1: *o = d[0] - '0'; return true;
    case 2: *o = (d[0] - '0') * 10 + (d[1] - '0'); return d[0] != '0';
    case 3: *o = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'); return d[0] != '0' && *o <= 255;
    default: return false; /* no digit, or four */
    }
}

/*
 * rg_ipv4_text (inet_pton's IPv4 reading) for a string in the padded
 * copy, so 16 bytes can be loaded from it: one compare finds its dots and
 * digits, then each octet is read by its length. Same result, and out is
 * left untouched on 0 (tests/unit/ingest/test_event_parse.c compares it
 * with inet_pton).
 */
static inline int line_ipv4(const char *s, size_t len, unsigned char out[4])
{
    if (len < 7 || len > 15) /* "0.0.0.0" .. "255.255.255.255" */
        return 0;
    const unsigned char *u = (const unsigned char *)s;
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)u);
    __m128i t = _mm_sub_epi8(v, _mm_set1_epi8('0'));
    unsigned in = (1u << len) - 1;
    unsigned dots = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('.'))) & in;
    unsigned digits =
        (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(t, _mm_set1_epi8(9)), _mm_set1_epi8(9))) & in;
    if ((dots | digits) != in)
        return 0;
    /* three dots, then four octets between them and the ends */
    unsigned d1 = dots & (dots - 1), d2 = d1 & (d1 - 1);
    if (!d2 || (d2 & (d2 - 1)))
        return 0;
    unsigned e0 = (unsigned)__builtin_ctz(dots), e1 = (unsigned)__builtin_ctz(d1), e2 = (unsigned)__builtin_ctz(d2);
    unsigned octet[4];
    if (!line_octet(u, 0, e0, &octet[0]) || !line_octet(u, e0 + 1, e1, &octet[1]) ||
        !line_octet(u, e1 + 1, e2, &octet[2]) || !line_octet(u, e2 + 1, (unsigned)len, &octet[3]))
        return 0;
    out[0] = (unsigned char)octet[0], out[1] = (unsigned char)octet[1];
    out[2] = (unsigned char)octet[2], out[3] = (unsigned char)octet[3];
    return 1;
}

#endif
