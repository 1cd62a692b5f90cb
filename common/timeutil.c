#include "timeutil.h"

#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, no tables, no locale, no timezone database. */
int64_t rg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

bool rg_valid_date(int64_t y, unsigned m, unsigned d)
{
    static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return false;
    unsigned max = mdays[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

#define FAIL(msg)            \
    do {                     \
        if (why)             \
            *why = (msg);    \
        return false;        \
    } while (0)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* Eight bytes of a fixed template at once: each byte where `digits` is
 * 0xFF must be '0'..'9', every other byte must equal `seps`' byte. The
 * digit test works per byte without carries between bytes (a byte's low
 * seven bits plus 0x46 or 0x50 stays below 0x100). Returns the word with
 * each digit byte's value 0..9 (separators 0), or UINT64_MAX. */
static inline uint64_t template8(const unsigned char *u, uint64_t digits, uint64_t seps)
{
    uint64_t w;
    memcpy(&w, u, 8);
    const uint64_t h = digits & UINT64_C(0x8080808080808080), lo7 = digits & UINT64_C(0x7F7F7F7F7F7F7F7F);
    uint64_t x = w & digits, lo = x & lo7;
    uint64_t bad = (x & h) | ((lo + (digits & UINT64_C(0x4646464646464646))) & h) |
                   (~(lo + (digits & UINT64_C(0x5050505050505050))) & h);
    if (bad || (w & ~digits) != seps)
        return UINT64_MAX;
    return x - (digits & UINT64_C(0x3030303030303030));
}

#define BYTE_AT(w, i) ((unsigned)((w) >> (8 * (i))) & 0xFF)

/* The last dates read, per thread: a capture's times mostly fall on one
 * or two dates (its own and UTC's), so the date part of the text is
 * nearly always one just converted. A slot holds the 10 bytes
 * "YYYY-MM-DD" (as two words) of a date that passed the checks below,
 * and its day number; slots are picked by the day's last digit's parity,
 * so a date and the next one do not evict each other. Only a pure
 * function is memoised: the result never depends on what is cached. */
struct date_memo {
    uint64_t ymd;   /* "YYYY-MM-", 0 when empty (never looked up) */
    uint16_t dd;
    int64_t days;
};
static _Thread_local struct date_memo date_memo[2];

/* "YYYY-MM-DD" at u, year >= 1970, a calendar date: its day number
 * (days_from_civil, for y >= 1969 after the shift, in unsigned 32 bits),
 * or -1. */
static int64_t fast_date(const unsigned char *u)
{
    uint64_t ymd;
    uint16_t dd;
    memcpy(&ymd, u, 8);
    memcpy(&dd, u + 8, 2);
    struct date_memo *m = &date_memo[u[9] & 1];
    if (m->ymd == ymd && m->dd == dd && ymd != 0)
        return m->days;
    uint64_t a = template8(u, UINT64_C(0x00FFFF00FFFFFFFF), UINT64_C(0x2D00002D00000000)); /* YYYY-MM- */
    unsigned d0 = (unsigned)u[8] - '0', d1 = (unsigned)u[9] - '0';
    if (a == UINT64_MAX || d0 > 9 || d1 > 9)
        return -1;
    unsigned year = BYTE_AT(a, 0) * 1000 + BYTE_AT(a, 1) * 100 + BYTE_AT(a, 2) * 10 + BYTE_AT(a, 3);
    unsigned mon = BYTE_AT(a, 5) * 10 + BYTE_AT(a, 6), day = d0 * 10 + d1;
    static const unsigned char mdays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || mon - 1 > 11 || day - 1 >= mdays[mon] || (mon == 2 && day == 29 && !rg_valid_date(year, mon, day)))
        return -1;
    unsigned y = year - (mon <= 2), era = y / 400, yoe = y - era * 400;
    unsigned doy = (153 * (mon > 2 ? mon - 3 : mon + 9) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    int64_t days = (int64_t)era * 146097 + (int64_t)doe - 719468;
    *m = (struct date_memo){ymd, dd, days};
    return days;
}

/* The last hours read, per thread, by their zone's form (slot 0: "Z" or
 * "z", slot 1: "+HH:MM" or "-HH:MM"): consecutive events mostly share
 * the date, the hour and the zone, so "YYYY-MM-DDTHH:" and the zone's
 * text are nearly always those of the previous time of that form. A slot
 * holds them exactly as bytes (the date and hour as "YYYY-MM-" and the
 * six bytes "DDTHH:", the zone as its one byte or its six), only after
 * rfc3339_fast checked them all (a calendar date from 1970 on, a 'T' or
 * 't', an hour of 0..23, a zone within +-23:59), with the epoch ms of
 * HH:00:00.000 in that zone. Only a pure function is memoised: the result
 * never depends on what is cached. An empty slot's zone is UINT64_MAX,
 * which no text gives (six bytes leave the top two zero, one byte more). */
struct hour_memo {
    uint64_t ymd;   /* "YYYY-MM-" */
    uint64_t dh;    /* "DDTHH:" (the top two bytes zero) */
    uint64_t zone;  /* 'Z' or 'z'; or "+HH:MM" as six bytes */
    int64_t base_ms;
};
static _Thread_local struct hour_memo hour_memo[2] = {{.zone = UINT64_MAX}, {.zone = UINT64_MAX}};

#define DH_BYTES UINT64_C(0xFFFFFFFFFFFF)

static inline uint64_t load_u64(const unsigned char *u)
{
    uint64_t w;
    memcpy(&w, u, sizeof w);
    return w;
}

/* The zone of a time of len >= 20 bytes as hour_memo keys it: its slot,
 * where it starts, and its text; false when the last bytes cannot be a
 * zone of the fixed form (then the memo is not asked). */
static inline bool memo_zone(const unsigned char *u, size_t len, unsigned *slot, size_t *at, uint64_t *zone)
{
    unsigned char last = u[len - 1];
    if ((last | 0x20) == 'z') {
        *slot = 0, *at = len - 1, *zone = last;
        return true;
    }
    if (len < 25) /* 19 bytes, then six of zone */
        return false;
    *slot = 1, *at = len - 6, *zone = load_u64(u + len - 8) >> 16;
    return true;
}

/* rfc3339_fast for a time whose date, hour and zone are those of its
 * memo slot: only minutes, seconds and a fraction of none, three or six
 * digits are read (the fast path's checks of them, which are the general
 * path's). False, with nothing decided, for anything else. */
static inline bool rfc3339_memo(const unsigned char *u, size_t len, int64_t *out_ms)
{
    unsigned slot;
    size_t at;
    uint64_t zone;
    if (len < 20 || !memo_zone(u, len, &slot, &at, &zone))
        return false;
    const struct hour_memo *m = &hour_memo[slot];
    if (zone != m->zone || load_u64(u) != m->ymd || (load_u64(u + 8) & DH_BYTES) != m->dh)
        return false;
    /* "MM:SS" (bytes 3..7 of "HH:MM:SS"; the hour is the memo's): digits
     * are the bytes 0x30..0x3F whose low half plus 6 stays below 16, the
     * same test as the fraction's below (no byte carries into the next). */
    uint64_t t = load_u64(u + 11);
    if ((t & UINT64_C(0xF0F0FFF0F0000000)) != UINT64_C(0x30303A3030000000) ||
        ((t + UINT64_C(0x0606000606000000)) & UINT64_C(0xF0F000F0F0000000)) != UINT64_C(0x3030003030000000))
        return false;
    uint64_t c = t & UINT64_C(0x0F0F000F0F000000);
    uint64_t pairs = c * 10 + (c >> 8); /* as in rfc3339_fast: bytes 3 and 6 are MM and SS */
    unsigned mm = BYTE_AT(pairs, 3), ss = BYTE_AT(pairs, 6);
    if (mm > 59 || ss > 60)
        return false;
    unsigned frac_ms = 0;
    if (at != 19) { /* ".ddd" or ".dddddd", the zone right after: the first three digits are the ms */
        uint32_t f;
        memcpy(&f, u + 19, 4);
        if ((f & 0xF0F0F0FF) != 0x3030302E || ((f + 0x06060600) & 0xF0F0F000) != 0x30303000)
            return false;
        if (at != 23) {
            uint32_t g;
            if (at != 26)
                return false;
            memcpy(&g, u + 22, 4); /* the third digit again, then the last three */
            if ((g & 0xF0F0F0F0) != 0x30303030 || ((g + 0x06060606) & 0xF0F0F0F0) != 0x30303030)
                return false;
        }
        frac_ms = ((f >> 8) & 0xF) * 100 + ((f >> 16) & 0xF) * 10 + ((f >> 24) & 0xF);
    }
    int64_t ms = m->base_ms + (int64_t)(mm * 60 + ss) * 1000 + frac_ms;
    if (ms < RG_TS_MIN_MS || ms > RG_TS_MAX_MS)
        return false;
    *out_ms = ms;
    return true;
}

/* The fast path for what nearly every event's time looks like: the 19-byte
 * "YYYY-MM-DDTHH:MM:SS" checked eight bytes at a time (the date through
 * fast_date's memo), year 1970 or later, then the fraction and offset as
 * the general path reads them. True with
 * *out_ms set only when rg_parse_rfc3339_general gives the same value;
 * false for anything else (the general path then reads it, errors
 * included). tests/unit/common/test_common.c compares the two. */
static bool rfc3339_fast(const unsigned char *u, size_t len, int64_t *out_ms)
{
    if (len < 20 || (u[10] | 0x20) != 't') /* 'T', or the lower-case separator RFC 3339 allows */
        return false;
    uint64_t c = template8(u + 11, UINT64_C(0xFFFF00FFFF00FFFF), UINT64_C(0x00003A00003A0000)); /* HH:MM:SS */
    if (c == UINT64_MAX)
        return false;
    /* Each pair of digit bytes at once: byte i of c * 10 + (c >> 8) is
     * 10 * digit i + digit i + 1, at most 99, so no byte carries into the
     * next; bytes 0, 3 and 6 are then HH, MM and SS. */
    uint64_t pairs = c * 10 + (c >> 8);
    unsigned hh = BYTE_AT(pairs, 0), mm = BYTE_AT(pairs, 3), ss = BYTE_AT(pairs, 6);
    if (hh > 23 || mm > 59 || ss > 60)
        return false;
    int64_t days = fast_date(u);
    if (days < 0)
        return false;
    size_t i = 19;
    unsigned frac_ms = 0;
    if (len >= 24 && u[19] == '.' && (unsigned)(u[20] - '0') <= 9 && (unsigned)(u[21] - '0') <= 9 &&
        (unsigned)(u[22] - '0') <= 9 && (unsigned)(u[23] - '0') > 9) { /* milliseconds, the usual fraction */
        frac_ms = (unsigned)(u[20] - '0') * 100 + (unsigned)(u[21] - '0') * 10 + (unsigned)(u[22] - '0');
        i = 23;
    } else if (u[i] == '.') {
        unsigned scale = 100;
        for (i++; i < len && u[i] >= '0' && u[i] <= '9'; i++) {
            frac_ms += (unsigned)(u[i] - '0') * scale; /* truncate past ms */
            scale /= 10;
        }
        if (i == 20 || i >= len)
            return false;
    }
    int offset_min = 0;
    if ((u[i] | 0x20) == 'z') {
        if (i + 1 != len)
            return false;
    } else {
        if ((u[i] != '+' && u[i] != '-') || len - i != 6 || u[i + 3] != ':')
            return false;
        unsigned oh0 = (unsigned)u[i + 1] - '0', oh1 = (unsigned)u[i + 2] - '0', om0 = (unsigned)u[i + 4] - '0',
                 om1 = (unsigned)u[i + 5] - '0';
        if (oh0 > 9 || oh1 > 9 || om0 > 9 || om1 > 9)
            return false;
        unsigned oh = oh0 * 10 + oh1, om = om0 * 10 + om1;
        if (oh > 23 || om > 59)
            return false;
        offset_min = (int)(oh * 60 + om) * (u[i] == '-' ? -1 : 1);
    }
    int64_t hour_ms = (days * 86400 + (int64_t)hh * 3600 - (int64_t)offset_min * 60) * 1000;
    unsigned slot;
    size_t at;
    uint64_t zone;
    if (memo_zone(u, len, &slot, &at, &zone) && at == i) /* all checked: the hour's memo */
        hour_memo[slot] = (struct hour_memo){load_u64(u), load_u64(u + 8) & DH_BYTES, zone, hour_ms};
    int64_t ms = hour_ms + (int64_t)(mm * 60 + ss) * 1000 + frac_ms;
    if (ms < RG_TS_MIN_MS || ms > RG_TS_MAX_MS)
        return false;
    *out_ms = ms;
    return true;
}
#else
static bool rfc3339_memo(const unsigned char *u, size_t len, int64_t *out_ms)
{
    (void)u, (void)len, (void)out_ms;
    return false;
}

static bool rfc3339_fast(const unsigned char *u, size_t len, int64_t *out_ms)
{
    (void)u, (void)len, (void)out_ms;
    return false;
}
#endif

/* Every time the hour memo does not answer, out of line: the memo's hit
 * then needs no registers saved. */
static __attribute__((noinline)) bool rfc3339_unmemoised(const char *s, size_t len, int64_t *out_ms,
                                                         const char **why)
{
    return rfc3339_fast((const unsigned char *)s, len, out_ms) || rg_parse_rfc3339_general(s, len, out_ms, why);
}

bool rg_parse_rfc3339(const char *s, size_t len, int64_t *out_ms, const char **why)
{
    if (rfc3339_memo((const unsigned char *)s, len, out_ms))
        return true;
    return rfc3339_unmemoised(s, len, out_ms, why);
}

bool rg_parse_rfc3339_general(const char *s, size_t len, int64_t *out_ms, const char **why)
{
    unsigned year, mon, day, hh, mm, ss;
    /* YYYY-MM-DDTHH:MM:SS is 19 bytes, then fraction and offset. */
    if (len < 20)
        FAIL("not an RFC 3339 date-time");
    if (!digits(s, 4, &year) || s[4] != '-' || !digits(s + 5, 2, &mon) || s[7] != '-' ||
        !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &hh) ||
        s[13] != ':' || !digits(s + 14, 2, &mm) || s[16] != ':' || !digits(s + 17, 2, &ss))
        FAIL("not an RFC 3339 date-time");
    if (!rg_valid_date(year, mon, day))
        FAIL("not a calendar date");
    if (hh > 23 || mm > 59 || ss > 60)
        FAIL("time of day out of range");
    size_t i = 19;
    unsigned frac_ms = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        unsigned scale = 100;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            frac_ms += (unsigned)(s[i] - '0') * scale; /* truncate past ms */
            scale /= 10;
            i++;
        }
        if (i == start)
            FAIL("empty fraction of a second");
    }
    if (i >= len)
        FAIL("missing time zone offset (Z or +HH:MM)");
    int offset_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        unsigned oh, om;
        if (len - i != 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om))
            FAIL("bad time zone offset");
        if (oh > 23 || om > 59)
            FAIL("time zone offset out of range");
        offset_min = (int)(oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        FAIL("bad time zone offset");
    }
    if (i != len)
        FAIL("trailing characters after the date-time");
    int64_t days = rg_days_from_civil(year, mon, day);
    int64_t secs = days * 86400 + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss -
                   (int64_t)offset_min * 60;
    int64_t ms = secs * 1000 + frac_ms;
    if (ms < RG_TS_MIN_MS || ms > RG_TS_MAX_MS)
        FAIL("date-time out of range (1970..9999)");
    *out_ms = ms;
    return true;
}

size_t rg_format_utc_ms(int64_t epoch_ms, char *buf, size_t bufsize)
{
    if (bufsize < 25)
        return 0;
    int64_t days = epoch_ms / 86400000, rem = epoch_ms % 86400000;
    if (rem < 0) {
        rem += 86400000;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned ms = (unsigned)(rem % 1000), sec = (unsigned)(rem / 1000);
    int n = snprintf(buf, bufsize, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d,
                     sec / 3600, sec / 60 % 60, sec % 60, ms);
    return n > 0 && (size_t)n < bufsize ? (size_t)n : 0;
}

bool rg_parse_duration(const char *s, size_t len, int64_t *out_ms)
{
    size_t i = 0;
    int64_t v = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (s[i] - '0');
        i++;
    }
    if (i == 0)
        return false;
    int64_t unit;
    size_t rest = len - i;
    if (rest == 2 && s[i] == 'm' && s[i + 1] == 's')
        unit = 1;
    else if (rest == 1 && s[i] == 's')
        unit = 1000;
    else if (rest == 1 && s[i] == 'm')
        unit = 60000;
    else if (rest == 1 && s[i] == 'h')
        unit = 3600000;
    else if (rest == 1 && s[i] == 'd')
        unit = 86400000;
    else
        return false;
    if (v > INT64_MAX / unit)
        return false;
    *out_ms = v * unit;
    return true;
}
