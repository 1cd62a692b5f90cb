/*
 * json_scan — strict RFC 8259 scanning primitives for the event contract.
 *
 * Not a general JSON library: no tree is built. The event parser
 * (event_parse.c) drives the scan of the object it knows and calls these
 * primitives for each token; values it does not know are validated and
 * skipped with rg_json_value. Everything RFC 8259 forbids is refused:
 * trailing commas, leading zeros, NaN/Infinity, comments, single quotes,
 * raw control characters in strings, invalid UTF-8 (raw bytes and \u
 * escapes: a lone surrogate is invalid, a pair is decoded).
 *
 * Memory: decoded strings are written to one arena sized at rg_json_begin
 * from the text length. Decoding never grows a string (an escape is at
 * least as long as what it stands for, and the two quotes pay for the
 * NUL), so the arena never moves during a scan and pointers into it stay
 * valid until the next rg_json_begin. The duplicate-key set is a hash table
 * reused across scans (entries are stamped with a scan generation, so
 * nothing is cleared per line).
 *
 * Errors: a failing primitive returns -1 after rg_json_fail has set
 * err_kind (invalid_json, invalid_utf8, too_deep, duplicate_key, or
 * line_too_long for out of memory) and err_msg ("... at byte N").
 * Not thread-safe; one scanner per parser.
 */
#ifndef RG_JSON_SCAN_H
#define RG_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reject.h"

typedef enum rg_json_type {
    RG_JSON_NONE = 0, /* absent (never written by the scanner) */
    RG_JSON_NULL,
    RG_JSON_FALSE,
    RG_JSON_TRUE,
    RG_JSON_NUMBER,
    RG_JSON_STRING,
    RG_JSON_ARRAY,
    RG_JSON_OBJECT
} rg_json_type;

/* "a string", "null", "an array", ...: for "got X" in messages. */
const char *rg_json_type_desc(rg_json_type t);

typedef struct rg_json_num {
    const char *text;  /* the literal as written, in the input */
    size_t len;
    bool is_int;       /* no fraction and no exponent */
    bool neg;
    bool big;          /* integer magnitude did not fit (saturated) */
    uint64_t mag;      /* integer magnitude when is_int && !big */
    /* Set by the compact scan's number reading (rg_json_plain_number):
     * when w_ok, the value is exactly w * 10^e10 (e10 in -22..0, w <=
     * 2^53), Clinger's fast path of rg_json_num_double without reading
     * the digits again. */
    bool w_ok;
    int e10;
    uint64_t w;
} rg_json_num;

typedef struct rg_json_val {
    rg_json_type type;
    const char *str;   /* STRING: decoded, NUL-terminated, in the arena */
    size_t str_len;
    bool str_has_nul;  /* STRING: held U+0000 (\u0000) */
    rg_json_num num;   /* NUMBER */
} rg_json_val;

struct rg_json_keyslot;

typedef struct rg_json_scanner {
    const unsigned char *start, *p, *end; /* the text and the cursor */
    char *arena;
    size_t arena_used, arena_cap;
    struct rg_json_keyslot *keys; /* duplicate-key set, open addressing */
    size_t keys_cap, keys_count;
    uint32_t keys_gen;            /* scan generation stamping live slots */
    uint32_t next_object;         /* id of the next object opened */
    void *c_locale;               /* locale_t "C" for strtod_l, made on first use */
    rg_reject_kind err_kind;
    char err_msg[200];
} rg_json_scanner;

/* Start scanning text[0..len). Makes the arena large enough for every
 * string of this text. -1 (err_kind line_too_long, "out of memory") when
 * it cannot. */
int rg_json_begin(rg_json_scanner *s, const char *text, size_t len);
void rg_json_scanner_free(rg_json_scanner *s); /* releases buffers; reusable */

/* Skip JSON whitespace (space, tab, LF, CR only). */
static inline void rg_json_ws(rg_json_scanner *s)
{
    /* Every whitespace byte is <= ' ': one compare for the usual none. */
    while (s->p < s->end && *s->p <= ' ' && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Any value at the cursor. `depth` is the nesting level a container here
 * would have (a top-level value is at 1); deeper than RG_EVENT_MAX_DEPTH
 * fails as too_deep before anything is read inside it. Containers are
 * validated and skipped (out->type says which). */
int rg_json_value(rg_json_scanner *s, int depth, rg_json_val *out);

/* A string at the cursor (which must be at '"'), decoded into the arena. */
int rg_json_string(rg_json_scanner *s, rg_json_val *out);

/* An object member's name at the cursor (at '"'): as rg_json_string, but
 * a name of plain printable ASCII without escapes (every known key) is
 * not copied: out->str then points into the text, NOT NUL-terminated,
 * valid while the text is. Compare it by its length. */
int rg_json_key(rg_json_scanner *s, rg_json_val *out);

/*
 * Inline fast paths of rg_json_key and rg_json_string for the event scan:
 * a name or string of plain printable ASCII (no escape) whose closing
 * quote is within the next 16 (keys) or 32 (strings) bytes, with that
 * many bytes of text left, is read here; anything else goes to the
 * out-of-line primitive, which then reads it from the start. Same results
 * either way (tests/unit/ingest/test_json_syntax.c compares them).
 */
#ifdef __SSE2__
#include <emmintrin.h>

/* A bit per byte of p[0..16) that ends a plain run: '"', '\\', below 0x20
 * or with its top bit set. With '"' (0x22) flipped to 0x20 by an xor with
 * 2 (which keeps 0x00..0x1f below 0x20, 0x20..0x7f above it but for '"',
 * and the top bit), one signed compare above 0x20 finds the bytes a run
 * may hold but the backslash; the run's bytes are those and not a
 * backslash, and the rest stop it. Every constant here is the second
 * operand of its instruction, so none is copied before use (a compare
 * for each stop byte made the compiler copy and reload them). */
static inline unsigned rg_json_plain_mask(__m128i v)
{
    __m128i above = _mm_cmpgt_epi8(_mm_xor_si128(v, _mm_set1_epi8(0x02)), _mm_set1_epi8(0x20));
    return (unsigned)_mm_movemask_epi8(_mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), above));
}

static inline unsigned rg_json_stop_mask(__m128i v)
{
    return rg_json_plain_mask(v) ^ 0xFFFFu;
}

static inline unsigned rg_json_stop_mask16(const unsigned char *p)
{
    return rg_json_stop_mask(_mm_loadu_si128((const __m128i *)(const void *)p));
}

/* The other bits: 0xFFFF when all 16 bytes may be in a run. (A caller
 * that tests this and then counts the first zero bit needs no xor.)
 *
 * On x86-64 with GNU C, the same four operations in asm, each constant a
 * memory operand: the compiler otherwise loads the three constants into
 * registers, and in the line pass's loop, where every call clobbers
 * them, that is three loads on each key and string value.
 * tests/unit/ingest/test_json_syntax.c checks it byte by byte. */
#if defined(__x86_64__) && defined(__GNUC__)
static inline unsigned rg_json_plain_mask16(const unsigned char *p)
{
    static const union {
        unsigned char b[16];
        __m128i v;
    } two = {{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}},
      space = {{0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20}},
      backslash = {{'\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\', '\\'}};
    __m128i v, above;
    unsigned m;
    __asm__("movdqu %[p], %[v]\n\t"
            "movdqa %[v], %[above]\n\t"
            "pxor %[two], %[above]\n\t"        /* '"' to 0x20 */
            "pcmpgtb %[space], %[above]\n\t"   /* signed: above 0x20 */
            "pcmpeqb %[backslash], %[v]\n\t"
            "pandn %[above], %[v]\n\t"         /* above and not a backslash */
            "pmovmskb %[v], %[m]"
            : [v] "=&x"(v), [above] "=&x"(above), [m] "=r"(m)
            : [p] "m"(*(const unsigned char(*)[16])p), [two] "m"(two.v), [space] "m"(space.v),
              [backslash] "m"(backslash.v));
    return m;
}
#else
static inline unsigned rg_json_plain_mask16(const unsigned char *p)
{
    return rg_json_plain_mask(_mm_loadu_si128((const __m128i *)(const void *)p));
}
#endif
#endif

/* A plain name at q (at its opening quote), end the text's end: its
 * length, its closing quote at q[1 + length]; -1 when it is not plain
 * and within 16 bytes (with 16 bytes of text to look at). */
static inline long rg_json_plain_key(const unsigned char *q, const unsigned char *end)
{
#ifdef __SSE2__
    if (end - q >= 17) {
        unsigned m = rg_json_stop_mask16(q + 1);
        if (m) {
            unsigned n = (unsigned)__builtin_ctz(m);
            if (q[1 + n] == '"')
                return n;
        }
    }
#else
    (void)q, (void)end;
#endif
    return -1;
}

/* The same for a string value of at most 31 plain bytes, copied to d
 * (which must have 32 bytes of room: the arena has, see the header)
 * without its NUL. A string that ends the text's last 32 bytes is looked
 * at with a second block that ends where the text ends. */
static inline long rg_json_plain_string(const unsigned char *q, const unsigned char *end, char *d)
{
#ifdef __SSE2__
    if (end - q < 17)
        return -1;
    /* Each block is loaded once: stored to d, then looked at (a load
     * after the store could not be merged with the first, d may alias). */
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(q + 1));
    _mm_storeu_si128((__m128i *)(void *)d, v);
    unsigned m = rg_json_stop_mask(v), n = 0;
    if (!m) {
        const unsigned char *b = end - q >= 33 ? q + 17 : end - 16; /* b <= q + 17, b > q */
        v = _mm_loadu_si128((const __m128i *)(const void *)b);
        _mm_storeu_si128((__m128i *)(void *)(d + (b - q - 1)), v);
        m = rg_json_stop_mask(v) >> (q + 17 - b);
        if (!m)
            return -1;
        n = 16;
    }
    n += (unsigned)__builtin_ctz(m);
    if (q[1 + n] == '"')
        return n;
#else
    (void)q, (void)end, (void)d;
#endif
    return -1;
}

/* A plain number's reading from q to d into *n (its length returned):
 * integer part m, sig significant digits, value w * 10^e10. Shared by
 * rg_json_plain_number and the line pass's reading (event_line.c). */
static inline long rg_json_plain_number_fill(rg_json_num *n, const unsigned char *q, const unsigned char *d,
                                             bool is_int, bool neg, uint64_t m, int sig, uint64_t w, int e10)
{
    n->text = (const char *)q;
    n->len = (size_t)(d - q);
    n->is_int = is_int;
    n->neg = neg;
    n->big = false;
    n->mag = m;
    n->w_ok = sig <= 18 && w <= (UINT64_C(1) << 53) && e10 >= -22;
    n->w = w;
    n->e10 = e10;
    return d - q;
}

/* A plain number at q: an optional '-', an integer part of 1..18 digits
 * without a leading zero (or a lone 0), an optional fraction, no
 * exponent, followed by a byte that could not continue it (so within
 * the text): its length, with *n as rg_json_value's number reading fills
 * it (mag is the integer part); -1 for anything else, which the general
 * reading then takes (errors included). */
static inline long rg_json_plain_number(const unsigned char *q, const unsigned char *end, rg_json_num *n)
{
    const unsigned char *d = q;
    bool neg = d < end && *d == '-';
    d += neg;
    if (d >= end || (unsigned)(*d - '0') > 9)
        return -1;
    const unsigned char *int_at = d;
    uint64_t m = (uint64_t)(*d++ - '0');
    if (m != 0) {
        const unsigned char *lim = end - d > 17 ? d + 17 : end;   /* no pointer past end */
        while (d < lim && (unsigned)(*d - '0') <= 9)
            m = m * 10 + (uint64_t)(*d++ - '0');
    }
    /* Significant digits and their value for rg_json_num_double, counted
     * as its fast path counts them (leading zeros are not significant). */
    int sig = m ? (int)(d - int_at) : 0, e10 = 0;
    uint64_t w = m;
    bool is_int = true;
    if (d < end && *d == '.') {
        is_int = false;
        d++;
        if (d >= end || (unsigned)(*d - '0') > 9)
            return -1;
        const unsigned char *frac_at = d;
        for (; d < end && (unsigned)(*d - '0') <= 9; d++)
            w = w * 10 + (uint64_t)(*d - '0'); /* wraps only when sig > 18 */
        long fd = d - frac_at, lz = 0;
        while (!m && lz < fd && frac_at[lz] == '0')
            lz++; /* 0.00x: leading zeros are not significant */
        sig += (int)(fd - lz < 100 ? fd - lz : 100);
        e10 = fd < 100 ? -(int)fd : -100;
    }
    if (d >= end || (unsigned)(*d - '0') <= 9 || *d == '.' || (*d | 0x20) == 'e')
        return -1;
    return rg_json_plain_number_fill(n, q, d, is_int, neg, m, sig, w, e10);
}

static inline int rg_json_key_inline(rg_json_scanner *s, rg_json_val *out)
{
    long n = rg_json_plain_key(s->p, s->end);
    if (n < 0)
        return rg_json_key(s, out);
    out->type = RG_JSON_STRING;
    out->str = (const char *)s->p + 1;
    out->str_len = (size_t)n;
    out->str_has_nul = false;
    s->p += n + 2;
    return 0;
}

/* A plain string of n bytes that rg_json_plain_string copied to the
 * arena's free end: NUL-terminated and kept there, as rg_json_string
 * would have left it. */
static inline void rg_json_keep_plain(rg_json_scanner *s, rg_json_val *out, size_t n)
{
    char *d = s->arena + s->arena_used;
    d[n] = '\0';
    out->type = RG_JSON_STRING;
    out->str = d;
    out->str_len = n;
    out->str_has_nul = false;
    s->arena_used += n + 1;
}

/* Blocks are stored to the arena whole before their end is known:
 * rg_json_string's copy does the same (the arena has the room). */
static inline int rg_json_string_inline(rg_json_scanner *s, rg_json_val *out)
{
    long n = rg_json_plain_string(s->p, s->end, s->arena + s->arena_used);
    if (n < 0)
        return rg_json_string(s, out);
    rg_json_keep_plain(s, out, (size_t)n);
    s->p += n + 2;
    return 0;
}

/* A new object's id for rg_json_key_add. */
static inline uint32_t rg_json_object(rg_json_scanner *s) { return ++s->next_object; }

/* Add key to object `obj`'s key set: 0 when new, -1 (duplicate_key, or
 * out of memory) when it was already there. The key bytes must stay put
 * until the next rg_json_begin (arena or input). */
int rg_json_key_add(rg_json_scanner *s, uint32_t obj, const char *key, size_t len);

/* Convert a NUMBER to a double (correctly rounded, locale-independent);
 * overflow gives +-HUGE_VAL. Uses the arena transiently. */
double rg_json_num_double(rg_json_scanner *s, const rg_json_num *n);

/* Record an error at the cursor and return -1. */
int rg_json_fail(rg_json_scanner *s, rg_reject_kind kind, const char *what);

#endif
