#include "timeutil.h"

#include <stdio.h>

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

bool rg_parse_rfc3339(const char *s, size_t len, int64_t *out_ms, const char **why)
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
