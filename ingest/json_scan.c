/*
 * json_scan — strict RFC 8259 scanning primitives (see json_scan.h).
 * Owned by the ingest layer. This is the hot path of replay: strings are
 * scanned and copied eight bytes at a time while they are plain printable
 * ASCII, and nothing is allocated per token.
 */
#include "json_scan.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"
#include "event_parse.h"

struct rg_json_keyslot {
    uint32_t gen;   /* == scanner's keys_gen when live */
    uint32_t obj;
    uint64_t hash;
    const char *key;
    size_t len;
};

const char *rg_json_type_desc(rg_json_type t)
{
    switch (t) {
    case RG_JSON_NULL: return "null";
    case RG_JSON_FALSE:
    case RG_JSON_TRUE: return "a boolean";
    case RG_JSON_NUMBER: return "a number";
    case RG_JSON_STRING: return "a string";
    case RG_JSON_ARRAY: return "an array";
    case RG_JSON_OBJECT: return "an object";
    case RG_JSON_NONE: break;
    }
    return "nothing";
}

int rg_json_fail(rg_json_scanner *s, rg_reject_kind kind, const char *what)
{
    s->err_kind = kind;
    snprintf(s->err_msg, sizeof s->err_msg, "%s%s at byte %zu", kind == RG_REJ_INVALID_JSON ? "invalid JSON: " : "",
             what, (size_t)(s->p - s->start));
    return -1;
}

int rg_json_begin(rg_json_scanner *s, const char *text, size_t len)
{
    s->start = s->p = (const unsigned char *)text;
    s->end = s->start + len;
    s->arena_used = 0;
    s->keys_count = 0;
    s->next_object = 0;
    if (++s->keys_gen == 0) { /* wrapped: stale stamps could look live */
        if (s->keys)
            memset(s->keys, 0, s->keys_cap * sizeof *s->keys);
        s->keys_gen = 1;
    }
    /* Decoded strings never outgrow their encoding (see the header), so
     * len + a little slack holds every string of this text. */
    size_t need = len + 64;
    if (need > s->arena_cap) {
        size_t cap = s->arena_cap ? s->arena_cap : 4096;
        while (cap < need)
            cap *= 2;
        char *a = realloc(s->arena, cap);
        if (!a)
            return rg_json_fail(s, RG_REJ_LINE_TOO_LONG, "out of memory for a line this long");
        s->arena = a;
        s->arena_cap = cap;
    }
    return 0;
}

void rg_json_scanner_free(rg_json_scanner *s)
{
    free(s->arena);
    free(s->keys);
    if (s->c_locale)
        freelocale((locale_t)s->c_locale);
    memset(s, 0, sizeof *s);
}

static int keys_grow(rg_json_scanner *s)
{
    size_t cap = s->keys_cap ? s->keys_cap * 2 : 64;
    struct rg_json_keyslot *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < s->keys_cap; i++) {
        struct rg_json_keyslot *o = &s->keys[i];
        if (o->gen != s->keys_gen)
            continue;
        size_t j = (size_t)o->hash & (cap - 1);
        while (t[j].gen == s->keys_gen)
            j = (j + 1) & (cap - 1);
        t[j] = *o;
    }
    free(s->keys);
    s->keys = t;
    s->keys_cap = cap;
    return 0;
}

int rg_json_key_add(rg_json_scanner *s, uint32_t obj, const char *key, size_t len)
{
    if ((s->keys_count + 1) * 2 > s->keys_cap && keys_grow(s) != 0)
        return rg_json_fail(s, RG_REJ_LINE_TOO_LONG, "out of memory for the keys of a line this long");
    uint64_t h = rg_hash_bytes(key, len) ^ ((uint64_t)obj * UINT64_C(0x9E3779B97F4A7C15));
    size_t j = (size_t)h & (s->keys_cap - 1);
    for (;;) {
        struct rg_json_keyslot *k = &s->keys[j];
        if (k->gen != s->keys_gen) {
            *k = (struct rg_json_keyslot){s->keys_gen, obj, h, key, len};
            s->keys_count++;
            return 0;
        }
        if (k->hash == h && k->obj == obj && k->len == len && memcmp(k->key, key, len) == 0)
            return rg_json_fail(s, RG_REJ_DUPLICATE_KEY, "duplicate key in one object");
        j = (j + 1) & (s->keys_cap - 1);
    }
}

/* Bytes of the 8 at v that end a verbatim run: below 0x20, with the top
 * bit set, '"' or '\\' (SWAR). The lowest flagged byte is exact (a
 * borrow only runs upwards), which is all the callers use. */
static inline uint64_t stop_bytes(uint64_t v)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return (v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & highs;
}

/* Copy the run of plain printable ASCII (not '"' or '\\') at s->p to *dst,
 * 16 (or 8) bytes per step: each block is stored whole before it is known
 * how much of it belongs to the run (the arena has room for that:
 * json_scan.h sizes it at the text's length + 64, and no decoded string
 * outgrows its encoding), then the first stopping byte's position is the
 * end. */
static void copy_plain_run(rg_json_scanner *s, char **dst)
{
    const unsigned char *p = s->p, *end = s->end;
    char *d = *dst;
#ifdef __SSE2__
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        _mm_storeu_si128((__m128i *)(void *)d, v);
        unsigned stop = rg_json_stop_mask(v);
        if (stop) {
            size_t n = (size_t)__builtin_ctz(stop);
            s->p = p + n;
            *dst = d + n;
            return;
        }
        p += 16;
        d += 16;
    }
#endif
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        memcpy(d, &v, 8);
        uint64_t stop = stop_bytes(v);
        if (stop) {
            size_t n = (size_t)__builtin_ctzll(stop) >> 3;
            s->p = p + n;
            *dst = d + n;
            return;
        }
        p += 8;
        d += 8;
    }
    while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        *d++ = (char)*p++;
    s->p = p;
    *dst = d;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xC0 | cp >> 6);
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xE0 | cp >> 12);
        *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *d++ = (char)(0xF0 | cp >> 18);
        *d++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *d++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *d++ = (char)(0x80 | (cp & 0x3F));
    }
    return d;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int string_escape(rg_json_scanner *s, char **dst, bool *has_nul)
{
    const unsigned char *p = s->p; /* at '\\' */
    if (s->end - p < 2)
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "unterminated string");
    char *d = *dst;
    switch (p[1]) {
    case '"': *d++ = '"'; break;
    case '\\': *d++ = '\\'; break;
    case '/': *d++ = '/'; break;
    case 'b': *d++ = '\b'; break;
    case 'f': *d++ = '\f'; break;
    case 'n': *d++ = '\n'; break;
    case 'r': *d++ = '\r'; break;
    case 't': *d++ = '\t'; break;
    case 'u': {
        uint32_t cp, lo;
        if (s->end - p < 6 || hex4(p + 2, &cp) != 0)
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "bad \\u escape (4 hex digits expected)");
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return rg_json_fail(s, RG_REJ_INVALID_UTF8, "lone low surrogate \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s->end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return rg_json_fail(s, RG_REJ_INVALID_UTF8, "lone high surrogate \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            s->p += 6;
        }
        if (cp == 0)
            *has_nul = true;
        d = put_utf8(d, cp);
        s->p += 6;
        *dst = d;
        return 0;
    }
    default:
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "bad escape in string");
    }
    s->p += 2;
    *dst = d;
    return 0;
}

int rg_json_key(rg_json_scanner *s, rg_json_val *out)
{
    /* A plain name (printable ASCII, no escape) is its own decoding: find
     * its closing quote eight bytes at a time and point at it. */
    const unsigned char *start = s->p + 1, *p = start, *end = s->end;
#ifdef __SSE2__
    while (end - p >= 16) {
        unsigned stop = rg_json_stop_mask16(p);
        if (stop) {
            p += __builtin_ctz(stop);
            goto found;
        }
        p += 16;
    }
#endif
    for (;;) {
        if (end - p < 8)
            return rg_json_string(s, out);   /* near the end: the careful way */
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t stop = stop_bytes(v);
        if (stop) {
            p += (size_t)__builtin_ctzll(stop) >> 3;
            break;
        }
        p += 8;
    }
#ifdef __SSE2__
found:
#endif
    if (*p != '"')
        return rg_json_string(s, out);       /* an escape, UTF-8 or a control byte */
    out->type = RG_JSON_STRING;
    out->str = (const char *)start;
    out->str_len = (size_t)(p - start);
    out->str_has_nul = false;
    s->p = p + 1;
    return 0;
}

int rg_json_string(rg_json_scanner *s, rg_json_val *out)
{
    char *start = s->arena + s->arena_used, *d = start;
    bool has_nul = false;
    s->p++; /* opening quote */
    for (;;) {
        copy_plain_run(s, &d);
        if (s->p >= s->end)
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "unterminated string");
        unsigned c = *s->p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (string_escape(s, &d, &has_nul) != 0)
                return -1;
        } else if (c < 0x20) {
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "control character in string (escape it)");
        } else {
            size_t n = utf8_seq(s->p, s->end);
            if (n == 0)
                return rg_json_fail(s, RG_REJ_INVALID_UTF8, "invalid UTF-8 in string");
            memcpy(d, s->p, n);
            d += n;
            s->p += n;
        }
    }
    s->p++; /* closing quote */
    *d = '\0';
    out->type = RG_JSON_STRING;
    out->str = start;
    out->str_len = (size_t)(d - start);
    out->str_has_nul = has_nul;
    s->arena_used += out->str_len + 1;
    return 0;
}

static int number(rg_json_scanner *s, rg_json_num *n)
{
    const unsigned char *q = s->p, *e = s->end;
    n->text = (const char *)q;
    n->neg = false;
    n->big = false;
    n->is_int = true;
    n->mag = 0;
    n->w_ok = false;
    if (*q == '-') {
        n->neg = true;
        q++;
    }
    if (q >= e || *q < '0' || *q > '9') {
        s->p = q;
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "digit expected in number");
    }
    if (*q == '0') {
        q++;
        if (q < e && *q >= '0' && *q <= '9') {
            s->p = q;
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "leading zero in number");
        }
    } else {
        uint64_t m = 0;
        for (; q < e && *q >= '0' && *q <= '9'; q++) {
            if (m > (UINT64_MAX - 9) / 10)
                n->big = true;
            else
                m = m * 10 + (uint64_t)(*q - '0');
        }
        n->mag = m;
    }
    if (q < e && *q == '.') {
        n->is_int = false;
        q++;
        if (q >= e || *q < '0' || *q > '9') {
            s->p = q;
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "digit expected after decimal point");
        }
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < e && (*q == 'e' || *q == 'E')) {
        n->is_int = false;
        q++;
        if (q < e && (*q == '+' || *q == '-'))
            q++;
        if (q >= e || *q < '0' || *q > '9') {
            s->p = q;
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "digit expected in exponent");
        }
        while (q < e && *q >= '0' && *q <= '9')
            q++;
    }
    n->len = (size_t)(q - (const unsigned char *)n->text);
    s->p = q;
    return 0;
}

/* Clinger's fast path: a literal whose significant digits form an integer
 * w <= 2^53 and whose decimal exponent e is within +-22 is w * 10^e or
 * w / 10^-e, one IEEE operation on two exact doubles, hence correctly
 * rounded: the same double strtod gives. Locations (lat/lon) always take
 * it; anything else (more digits, a large exponent) goes to strtod.
 * 1 with *out set, or 0. n is a valid JSON number (number() checked). */
static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                               1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int fast_double(const rg_json_num *n, double *out)
{
    const char *p = n->text, *end = n->text + n->len;
    bool neg = p < end && *p == '-';
    p += neg;
    uint64_t w = 0;
    int digits = 0, e10 = 0;
    for (; p < end && *p >= '0' && *p <= '9'; p++) {
        if (digits || *p != '0')
            digits++;
        w = w * 10 + (uint64_t)(*p - '0');
        if (digits > 18)
            return 0;
    }
    if (p < end && *p == '.') {
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (digits || *p != '0')
                digits++;
            w = w * 10 + (uint64_t)(*p - '0');
            e10--;
            if (digits > 18)
                return 0;
        }
    }
    if (p < end) {   /* an exponent */
        p++;
        bool eneg = *p == '-';
        p += *p == '-' || *p == '+';
        int x = 0;
        for (; p < end; p++) {
            x = x * 10 + (*p - '0');
            if (x > 1000)
                return 0;
        }
        e10 += eneg ? -x : x;
    }
    if (w > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22)
        return 0;
    double d = (double)w;
    d = e10 < 0 ? d / pow10[-e10] : d * pow10[e10];
    *out = neg ? -d : d;
    return 1;
}

double rg_json_num_double(rg_json_scanner *s, const rg_json_num *n)
{
    if (n->w_ok) { /* fast_double's sum, done while the number was read */
        double d = (double)n->w / pow10[-n->e10];
        return n->neg ? -d : d;
    }
    double fast;
    if (fast_double(n, &fast))
        return fast;
    /* The number's own input bytes pay for its copy (json_scan.h), so the
     * arena has room; the copy is dropped again at once. */
    if (!s->c_locale)
        s->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    char *buf = s->arena + s->arena_used;
    memcpy(buf, n->text, n->len);
    buf[n->len] = '\0';
    return s->c_locale ? strtod_l(buf, NULL, (locale_t)s->c_locale) : strtod(buf, NULL);
}

static int literal(rg_json_scanner *s, const char *word, size_t len, rg_json_type t, rg_json_val *out)
{
    if ((size_t)(s->end - s->p) < len || memcmp(s->p, word, len) != 0)
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "unexpected character (not a JSON value)");
    s->p += len;
    out->type = t;
    return 0;
}

static int container(rg_json_scanner *s, int depth, rg_json_val *out)
{
    if (depth > RG_EVENT_MAX_DEPTH)
        return rg_json_fail(s, RG_REJ_TOO_DEEP, "nesting deeper than 32 levels");
    rg_json_val v;
    if (*s->p == '[') {
        out->type = RG_JSON_ARRAY;
        s->p++;
        rg_json_ws(s);
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        for (;;) {
            if (rg_json_value(s, depth + 1, &v) != 0)
                return -1;
            rg_json_ws(s);
            if (s->p >= s->end)
                return rg_json_fail(s, RG_REJ_INVALID_JSON, "unterminated array");
            if (*s->p == ']') {
                s->p++;
                return 0;
            }
            if (*s->p != ',')
                return rg_json_fail(s, RG_REJ_INVALID_JSON, "',' or ']' expected");
            s->p++;
            rg_json_ws(s);
        }
    }
    out->type = RG_JSON_OBJECT;
    uint32_t obj = rg_json_object(s);
    s->p++;
    rg_json_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "string key expected");
        const unsigned char *key_at = s->p;
        if (rg_json_key(s, &v) != 0)
            return -1;
        if (rg_json_key_add(s, obj, v.str, v.str_len) != 0) {
            s->p = key_at;
            return -1;
        }
        rg_json_ws(s);
        if (s->p >= s->end || *s->p != ':')
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "':' expected after key");
        s->p++;
        rg_json_ws(s);
        if (rg_json_value(s, depth + 1, &v) != 0)
            return -1;
        rg_json_ws(s);
        if (s->p >= s->end)
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "unterminated object");
        if (*s->p == '}') {
            s->p++;
            return 0;
        }
        if (*s->p != ',')
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "',' or '}' expected");
        s->p++;
        rg_json_ws(s);
    }
}

int rg_json_value(rg_json_scanner *s, int depth, rg_json_val *out)
{
    if (s->p >= s->end)
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "value expected");
    switch (*s->p) {
    case '"':
        return rg_json_string(s, out);
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        out->type = RG_JSON_NUMBER;
        return number(s, &out->num);
    case 't':
        return literal(s, "true", 4, RG_JSON_TRUE, out);
    case 'f':
        return literal(s, "false", 5, RG_JSON_FALSE, out);
    case 'n':
        return literal(s, "null", 4, RG_JSON_NULL, out);
    case '[':
    case '{':
        return container(s, depth, out);
    default:
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "unexpected character (not a JSON value)");
    }
}
