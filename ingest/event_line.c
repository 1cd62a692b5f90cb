/*
 * event_line — the line pass, the first of the event scan's readings of a
 * line (event_parse.c; internal to the ingest layer).
 *
 * The line is copied once into the parser's copy (event_fields.h,
 * RG_LINE_PASS_MAX bytes at most, NUL padding after it) and read there
 * with no bounds checks: the padding stops every run. A string value is
 * taken where it lies in the copy, its closing quote overwritten with the
 * NUL that terminates it, so no string is copied on its own; keys are
 * recognised by comparing their first eight bytes as one word. Each value
 * goes through event_usual.h's acceptance, exactly as the compact scan
 * takes it. (A simdjson-style first pass, a bit per quote for the whole
 * line and strings found from the bits, was measured and cost more on
 * these ~220-byte lines than finding each string's end with one 16-byte
 * compare: docs/bench.md.)
 *
 * Only the compact usual line is read here (no whitespace between tokens,
 * plain strings: printable ASCII without escapes, known keys once each);
 * anything else returns LINE_NO and the compact scan then reads the line
 * from the start, so every reject still comes from the general scan and
 * rg_event_check. tests/unit/ingest/test_event_parse.c compares the
 * three readings on every one-byte change, deletion and truncation of
 * usual lines; fuzz_event compares them on any input.
 */
#include <string.h>

#include "event_fields.h"
#include "event_line_numbers.h"
#include "event_usual.h"

/* A key's first (up to) eight bytes as the little-endian word a load of
 * them gives, the rest zero: compile-time constants for the dispatch. */
#define KB(s, i) ((i) < sizeof(s) - 1 ? (uint64_t)(unsigned char)(s)[(i) < sizeof(s) - 1 ? (i) : 0] << (8 * (i)) : 0)
#define KW(s) (KB(s, 0) | KB(s, 1) | KB(s, 2) | KB(s, 3) | KB(s, 4) | KB(s, 5) | KB(s, 6) | KB(s, 7))

/* A known key of n bytes at k (in the padded copy: eight bytes can be
 * loaded from any key) -> its field, or -1. */
static inline __attribute__((always_inline)) int key_field(const unsigned char *k, size_t n)
{
    uint64_t w = load64(k);
    if (n < 8)
        w &= (UINT64_C(1) << (8 * n)) - 1;
    switch (n) {
    case 2: return w == KW("ts") ? F_TS : w == KW("ip") ? F_IP : -1;
    case 3: return w == KW("ref") ? F_REF : -1;
    case 4: return w == KW("type") ? F_TYPE : w == KW("mode") ? F_MODE : w == KW("kind") ? F_KIND : -1;
    case 5: return w == KW("topic") ? F_TOPIC : -1;
    case 6:
        return w == KW("amount") ? F_AMOUNT : w == KW("region") ? F_REGION : w == KW("shares") ? F_SHARES
             : w == KW("target") ? F_TARGET : w == KW("reason") ? F_REASON : w == KW("client") ? F_CLIENT
             : w == KW("offset") ? F_OFFSET : -1;
    case 7: return w == KW("account") ? F_ACCOUNT : w == KW("payload") ? F_PAYLOAD : -1;
    case 8:
        return w == KW("event_id") ? F_EVENT_ID : w == KW("location") ? F_LOCATION
             : w == KW("currency") ? F_CURRENCY : -1;
    case 9:
        switch (k[8]) {
        case 'd': return w == KW("device_i") ? F_DEVICE_ID : w == KW("packet_i") ? F_PACKET_ID : -1;
        case 's': return w == KW("client_t") ? F_CLIENT_TS : -1;
        case 'n': return w == KW("partitio") ? F_PARTITION : -1;
        default: return -1;
        }
    case 12: return w == KW("counterp") && memcmp(k + 8, "arty", 4) == 0 ? F_COUNTERPARTY : -1;
    case 23:
        return w == KW("counterp") && memcmp(k + 8, "arty_created_at", 15) == 0 ? F_COUNTERPARTY_CREATED_AT : -1;
    default: return -1;
    }
}

/* The index of m's lowest set bit (m != 0) as a 64-bit count: GCC widens
 * __builtin_ctz's int with a sign extension it cannot see is a no-op,
 * one instruction on every key and string value. (tzcnt runs as bsf on
 * CPUs without BMI1, the same count for a non-zero m.) */
static inline uint64_t low_bit(uint64_t m)
{
    uint64_t n;
    __asm__("tzcnt %1, %0" : "=r"(n) : "r"(m) : "cc");
    return n;
}

/* The length of the plain string whose opening quote is at q, or -1 when
 * a byte a plain string cannot hold (backslash, control, non-ASCII) comes
 * before its closing quote, given the plain mask of the 16 bytes at b
 * (rg_json_plain_mask16, not 0xFFFF: the first zero bit is that byte). */
static inline long plain_length(const unsigned char *q, const unsigned char *b, unsigned plain)
{
    b += low_bit(~plain); /* zero-extended: bit 16 and up set */
    long n = b - (q + 1);
    if (n < 0)
        __builtin_unreachable(); /* b only moves on: callers' tests of n >= 0 are of the quote alone */
    return *b == '"' ? n : -1;
}

/* plain_run past its first 32 bytes, out of line: with no loop in the
 * line pass's own, the compiler folds the compares' constants into them
 * instead of keeping them in registers that every call in the loop
 * clobbers (three loads a run). */
static __attribute__((noinline)) long plain_run_on(const unsigned char *q)
{
    const unsigned char *b = q + 33;
    for (;;) {
        unsigned m = rg_json_plain_mask16(b);
        if (m != 0xFFFF)
            return plain_length(q, b, m);
        b += 16;
    }
}

/* The length of the plain string whose opening quote is at q, or -1 when
 * a byte a plain string cannot hold (backslash, control, non-ASCII) comes
 * before its closing quote. The copy's NUL padding ends every run. */
static inline long plain_run(const unsigned char *q)
{
    unsigned m = rg_json_plain_mask16(q + 1);
    if (m != 0xFFFF)
        return plain_length(q, q + 1, m);
    m = rg_json_plain_mask16(q + 17); /* times and the longer ids */
    return m != 0xFFFF ? plain_length(q, q + 17, m) : plain_run_on(q);
}

/*
 * Key prediction: captured lines of one event type write their keys in
 * one order, so the key that followed field `prev` on a line of type t
 * last time (p->key_after[t + 1][prev]; row 0 before the type is read) is
 * compared first, with the comma before it, its quotes and its colon, in
 * one 16-byte compare: `,"name":` at q is exactly what finding the member
 * separator and reading the key would have found. (The copy's opening
 * '{' is made a ',' so the first key is read the same way.) A miss reads
 * the separator and the key the ordinary way and remembers the key: its
 * pattern is copied into the guess (rg_key_guess), so a hit reads the
 * guess alone, with no lookup of the field's pattern and no test for "no
 * guess" (an empty guess wants a bit no compare sets).
 * Names of up to 12 bytes have a pattern; longer ones are always read.
 */
#define KEY_PATTERN(name) {{",\"" name "\":"}, (1u << (sizeof(name) + 3)) - 1, sizeof(name) + 3}
static const struct {
    union {
        char text[16];
        __m128i v;
    } u;
    unsigned want;  /* a bit per byte of `"name":`, 0 for no pattern */
    unsigned bytes;
} key_pattern[F_COUNT] = {
    [F_EVENT_ID] = KEY_PATTERN("event_id"), [F_TYPE] = KEY_PATTERN("type"), [F_TS] = KEY_PATTERN("ts"),
    [F_ACCOUNT] = KEY_PATTERN("account"), [F_IP] = KEY_PATTERN("ip"), [F_DEVICE_ID] = KEY_PATTERN("device_id"),
    [F_LOCATION] = KEY_PATTERN("location"), [F_CLIENT_TS] = KEY_PATTERN("client_ts"),
    [F_CLIENT] = KEY_PATTERN("client"), [F_REGION] = KEY_PATTERN("region"),
    [F_COUNTERPARTY] = KEY_PATTERN("counterparty"), [F_AMOUNT] = KEY_PATTERN("amount"),
    [F_CURRENCY] = KEY_PATTERN("currency"), [F_MODE] = KEY_PATTERN("mode"),
    [F_PACKET_ID] = KEY_PATTERN("packet_id"), [F_SHARES] = KEY_PATTERN("shares"), [F_KIND] = KEY_PATTERN("kind"),
    [F_TARGET] = KEY_PATTERN("target"), [F_REF] = KEY_PATTERN("ref"), [F_REASON] = KEY_PATTERN("reason"),
};

/* Whether the guess k is the key at q (never when there is none). The
 * guess carries its pattern, so a hit reads nothing else. */
static inline bool predicted(const unsigned char *q, const rg_key_guess *k)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)q);
    uint32_t want = k->want;
    return ((uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_load_si128((const __m128i *)(const void *)k->text))) &
            want) == want;
}

_Static_assert(sizeof(rg_key_guess) == 32, "a guess is 32 bytes: two to a cache line");

void rg_event_line_init(rg_event_parser *p)
{
    for (size_t t = 0; t < sizeof p->key_after / sizeof p->key_after[0]; t++)
        for (size_t i = 0; i < sizeof p->key_after[0] / sizeof p->key_after[0][0]; i++)
            p->key_after[t][i] = (rg_key_guess){.want = 1u << 16};
}

/* `"lat":` or `"lon":` at q: the member's value slot, bit and limit. */
static inline bool location_key(rg_event_parser *p, const unsigned char *q, rg_json_val **val, unsigned *bit,
                                double *limit)
{
    uint64_t w = load64(q) & UINT64_C(0xFFFFFFFFFFFF);
    if (w == KW("\"lat\":")) {
        *val = &p->lat, *bit = LOC_LAT, *limit = 90;
        return true;
    }
    if (w == KW("\"lon\":")) {
        *val = &p->lon, *bit = LOC_LON, *limit = 180;
        return true;
    }
    return false;
}

/*
 * The scan state of this line (rg_event_scan_begin: the scanner on the
 * line, its arena and key set, the sub-object bits), set up when first
 * needed: by an unknown key (its duplicate check), a value read by the
 * compact scan's reading, or a coordinate that may need the arena. A
 * usual line needs none of it; nothing reads that state after a usual
 * line (the next line sets it up again), and any other outcome sends the
 * line to the compact scan, which sets it up from the start.
 */
typedef struct line_scan {
    const char *json;
    size_t len;
    uint32_t obj; /* the top-level object's id for rg_json_key_add */
    bool begun;
} line_scan;

static inline __attribute__((always_inline)) bool line_scan_ready(rg_event_parser *p, line_scan *ls)
{
    if (!ls->begun) {
        if (rg_event_scan_begin(p, ls->json, ls->len) != 0)
            return false;
        ls->obj = rg_json_object(&p->js);
        ls->begun = true;
    }
    return true;
}

/* A compact location object at q ('{'): {"lat":N,"lon":N} in either order
 * with plain numbers, taken into ev as rg_usual_take would: the byte
 * after it, or NULL when it is anything else (or not usual). */
static inline const unsigned char *line_location(rg_event_parser *p, line_scan *ls, rg_event *ev,
                                                 const unsigned char *q, const unsigned char *e)
{
    double d[2];
    unsigned seen = 0;
    q++;
    for (int i = 0; i < 2; i++) {
        rg_json_val *val;
        unsigned bit;
        double limit;
        if (!location_key(p, q, &val, &bit, &limit) || (seen & bit))
            return NULL;
        seen |= bit;
        q += 6;
        long n = line_coordinate(q, limit, &d[bit - 1]);
        if (n == 0) { /* not the usual form: the general number reading */
            if ((n = line_number(q, e, &val->num)) < 0)
                return NULL;
            val->type = RG_JSON_NUMBER;
            if (!line_scan_ready(p, ls) || !rg_usual_coordinate(p, val, limit, &d[bit - 1]))
                return NULL;
        } else if (n < 0) {
            return NULL;
        }
        q += n;
        if (*q != (i ? '}' : ','))
            return NULL;
        q++;
    }
    p->loc_seen = seen;
    ev->lat = d[0];
    ev->lon = d[1];
    ev->has_location = true;
    return q;
}

static inline uint32_t load32(const unsigned char *p)
{
    uint32_t w;
    memcpy(&w, p, sizeof w);
    return w;
}

/*
 * A compact client object at q ('{') in its usual forms: the members
 * "automation" and "hooked" with true, false or null, and "packages" with
 * null or a list of plain strings of 1..RG_PACKAGE_MAX bytes (at most
 * RG_PACKAGES_MAX), each once, in any order. What rg_usual_client reads
 * is set in p as the compact scan's reading (scan_sub_object) sets it
 * (client_seen, the types of the flags and of the list, pkgs, n_pkgs,
 * pkg_bad), the strings NUL-terminated where they lie in the copy; the
 * byte after the object is returned. NULL for anything else (another
 * key, a duplicate, another value or form), with nothing that reading
 * looks at changed: it then reads the object from the line itself.
 */
static inline unsigned char *line_client(rg_event_parser *p, unsigned char *q)
{
    unsigned seen = 0;
    rg_json_type flag[2] = {RG_JSON_NULL, RG_JSON_NULL}, packages = RG_JSON_NULL;
    size_t n_pkgs = 0;
    q++;
    while (*q != '}') {
        long n;
        if (*q != '"' || (n = plain_run(q)) < 0 || q[n + 2] != ':')
            return NULL;
        const unsigned char *k = q + 1;
        unsigned bit;
        if (n == 10 && memcmp(k, "automation", 10) == 0)
            bit = CL_AUTOMATION;
        else if (n == 6 && memcmp(k, "hooked", 6) == 0)
            bit = CL_HOOKED;
        else if (n == 8 && memcmp(k, "packages", 8) == 0)
            bit = CL_PACKAGES;
        else
            return NULL;
        if (seen & bit)
            return NULL; /* a duplicate: the scans say so */
        seen |= bit;
        q += n + 3;
        uint32_t w = load32(q);
        if (w == KW("null")) {
            q += 4; /* the type stays null */
        } else if (bit == CL_PACKAGES) {
            if (*q != '[')
                return NULL;
            packages = RG_JSON_ARRAY;
            q++;
            while (*q != ']') {
                if (*q != '"' || (n = plain_run(q)) < 1 || n > RG_PACKAGE_MAX || n_pkgs == RG_PACKAGES_MAX)
                    return NULL;
                q[n + 1] = '\0';
                p->pkgs[n_pkgs++] = (const char *)q + 1;
                q += n + 2;
                if (*q == ',' && q[1] != ']')
                    q++;
                else if (*q != ']')
                    return NULL;
            }
            q++;
        } else if (w == KW("true")) {
            flag[bit == CL_HOOKED] = RG_JSON_TRUE;
            q += 4;
        } else if (w == KW("fals") && q[4] == 'e') {
            flag[bit == CL_HOOKED] = RG_JSON_FALSE;
            q += 5;
        } else {
            return NULL;
        }
        if (*q == ',' && q[1] != '}')
            q++;
        else if (*q != '}')
            return NULL;
    }
    p->client_seen = seen;
    p->automation.type = flag[0];
    p->hooked.type = flag[1];
    p->packages.type = packages;
    p->n_pkgs = n_pkgs;
    p->pkg_bad = false;
    return q + 1;
}

/* memset(ev, 0, sizeof *ev) as 16-byte stores: GCC makes the memset a
 * `rep stos` of ~36 steps (each one counted), paid on every line. Same
 * bytes, padding included. */
static inline void line_clear_event(rg_event *ev)
{
    unsigned char *b = (unsigned char *)ev;
    __m128i zero = _mm_setzero_si128();
    __asm__("" : "+x"(zero)); /* opaque: GCC would merge the stores back into the memset */
    size_t i = 0;
#pragma GCC unroll 32
    for (; i + 16 <= sizeof *ev; i += 16)
        _mm_storeu_si128((__m128i *)(void *)(b + i), zero);
    if (i < sizeof *ev)
        memset(b + i, 0, sizeof *ev - i);
}

int rg_event_line_pass(rg_event_parser *p, const char *json, size_t len, rg_event *ev)
{
    if (len > RG_LINE_PASS_MAX || len < 2 || json[0] != '{' || json[1] != '"')
        return LINE_NO;
    rg_json_scanner *s = &p->js;
    line_scan ls = {.json = json, .len = len};
    unsigned char *a = p->line;
    memcpy(a, json, len);
    memset(a + len, 0, RG_LINE_PAD);
    const unsigned char *e = a + len, *last = e - 1;
    /* The first key is read as the ones after a comma (json[0] is '{'):
     * a[0] becomes ',' through one 16-byte store of the line's first
     * bytes, not a byte store, so that the first key's 16-byte read takes
     * them from that store. After a byte store it waited for the copy and
     * the byte to be written (a failed store forwarding, on every line:
     * 6% of the line pass's samples on that read). The copy stays a
     * memcpy: made of 16-byte moves instead, the reads of the keys and
     * strings after the first waited on them in turn. */
    const __m128i first_byte = _mm_setr_epi8(-1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    /* (read from the line itself when it is that long: not from the copy
     * just written) */
    __m128i head = _mm_loadu_si128((const __m128i *)(const void *)(len >= 16 ? (const unsigned char *)json : a));
    head = _mm_or_si128(_mm_andnot_si128(first_byte, head), _mm_and_si128(first_byte, _mm_set1_epi8(',')));
    _mm_storeu_si128((__m128i *)(void *)a, head);
    unsigned char *q = a;
    uint32_t seen = 0;
    line_clear_event(ev);
    ev->client_automation = ev->client_hooked = -1;
    rg_key_guess *after = p->key_after[0];
    /* The guess for this key: after[the field before it], F_COUNT for
     * none or an unknown one. A hit steps to the next by the guess's own
     * `next`, with no row or field to look up. */
    rg_key_guess *g = &after[F_COUNT];
    for (;;) { /* q at the separator before a key, or at the closing '}' */
        int f;
        uint32_t bit = 0; /* F_BIT(f) of a known field */
        long n;
        if (predicted(q, g)) {
            f = g->field;
            bit = g->bit;
            q += g->bytes;
            g = (rg_key_guess *)(void *)((char *)g + g->next);
        } else {
            if (q[0] != ',' || q[1] != '"') {
                if (q == last && *q == '}') /* never at the start: a[0] is ',' */
                    break;
                return LINE_NO;
            }
            q++;
            if ((n = plain_run(q)) < 0)
                return LINE_NO;
            f = key_field(q + 1, (size_t)n);
            if (f < 0 &&
                (!line_scan_ready(p, &ls) || rg_json_key_add(s, ls.obj, (const char *)q + 1, (size_t)n) != 0))
                return LINE_NO;
            q += n + 2;
            if (*q != ':')
                return LINE_NO;
            q++;
            if (f >= 0)
                bit = F_BIT(f);
            if (f >= 0 && key_pattern[f].bytes) {
                rg_key_guess *k = g;
                memcpy(k->text, key_pattern[f].u.text, sizeof k->text);
                k->want = key_pattern[f].want;
                k->bit = bit;
                k->bytes = (uint8_t)key_pattern[f].bytes;
                k->field = (uint8_t)f;
                k->next = (int16_t)((char *)&after[f] - (char *)k); /* same row */
            }
            g = &after[f >= 0 ? f : F_COUNT];
        }
        if (seen & bit)
            return LINE_NO; /* a duplicate: the general scan says so */
        seen |= bit; /* nothing for an unknown key (bit 0) */
        rg_json_val v;
        unsigned c = *q;
        uint64_t m;
        unsigned char *end;
        /* A plain string and a usual integer are taken as their bytes and
         * their value (event_usual.h), with no rg_json_val built for them;
         * addresses are read by line_ipv4. */
        if (c == '"' && (n = plain_run(q)) >= 0) {
            q[n + 1] = '\0';
            const char *str = (const char *)q + 1;
            q += n + 2;
            if (f >= 0 && !rg_usual_take_string_with(p, ev, f, str, (size_t)n, line_ipv4))
                return LINE_UNUSUAL;
            goto taken;
        } else if (c - '0' <= 9 && (n = line_uint(q, &m)) > 0) {
            q += n;
            if (f >= 0 && !rg_usual_take_uint(ev, f, m))
                return LINE_UNUSUAL;
            goto taken;
        } else if ((c - '0' <= 9 || c == '-') && (n = line_number(q, e, &v.num)) >= 0) {
            v.type = RG_JSON_NUMBER;
            q += n;
        } else if (f == F_LOCATION && c == '{') {
            if (!(q = (unsigned char *)line_location(p, &ls, ev, q, e)))
                return LINE_NO;
            goto next; /* taken */
        } else if (f == F_CLIENT && c == '{' && (end = line_client(p, q)) != NULL) {
            v.type = RG_JSON_OBJECT; /* taken below, as the compact scan takes it */
            q = end;
        } else if (c == 'n' && load32(q) == KW("null")) {
            q += 4; /* what follows is checked as after any value */
            if (f >= 0 && !rg_usual_take_null(f))
                return LINE_UNUSUAL;
            goto taken;
        } else {
            /* Anything else (true or false, client, an unknown field's
             * container) is read by the compact scan's own reading, on
             * the line itself at the same offset. */
            rg_json_val *kept = f >= 0 ? &p->vals[f] : &v;
            if (!line_scan_ready(p, &ls))
                return LINE_NO;
            s->p = s->start + (q - a);
            if (rg_event_scan_value(p, f, kept) != 0)
                return LINE_NO;
            v = *kept;
            q = a + (s->p - s->start);
        }
        if (f >= 0 && !rg_usual_take(p, ev, f, &v)) /* unknown fields are ignored */
            return LINE_UNUSUAL;
    taken:
        if (f == F_TYPE) {
            after = p->key_after[ev->type + 1];
            g = &after[F_TYPE];
        }
    next:;
    }
    p->seen = seen;
    if (ls.begun)
        s->p = s->end;
    return rg_usual_finish(ev, seen) ? LINE_USUAL : LINE_UNUSUAL;
}
