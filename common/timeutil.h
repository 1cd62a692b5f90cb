/*
 * timeutil — event time: RFC 3339 and epoch-millisecond parsing, UTC output.
 *
 * Every window in riskgate is computed on event time (`ts`), so these are
 * the only clock functions the engine uses; nothing here reads the wall
 * clock. Pure functions, thread-safe, no allocation.
 */
#ifndef RG_TIMEUTIL_H
#define RG_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Accepted epoch-ms range: 1970-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z. */
#define RG_TS_MIN_MS INT64_C(0)
#define RG_TS_MAX_MS INT64_C(253402300799999)

/*
 * Parse an RFC 3339 date-time ("2026-11-22T14:37:45.123+08:00") of exactly
 * `len` bytes into epoch milliseconds (UTC). 'T'/'t' and 'Z'/'z' are both
 * accepted (RFC 3339 section 5.6 note); the fraction may have any number of
 * digits and is truncated to milliseconds; a leap second (:60) is counted
 * as the next second. Rejects impossible dates (2026-02-30, month 13),
 * hours > 23, minutes > 59, offsets beyond +-23:59, and results outside
 * [RG_TS_MIN_MS, RG_TS_MAX_MS]. On failure returns false and, when `why`
 * is not NULL, points it at a static explanation.
 */
bool rg_parse_rfc3339(const char *s, size_t len, int64_t *out_ms, const char **why);

/* The same without its fast path for the usual fixed form (millisecond
 * fraction, Z or +HH:MM): the reference the fast path is tested against. */
bool rg_parse_rfc3339_general(const char *s, size_t len, int64_t *out_ms, const char **why);

/* Days since 1970-01-01 of a proleptic Gregorian date (no validation). */
int64_t rg_days_from_civil(int64_t y, unsigned m, unsigned d);

/* True when y-m-d is a real calendar date. */
bool rg_valid_date(int64_t y, unsigned m, unsigned d);

/*
 * Write "YYYY-MM-DDTHH:MM:SS.mmmZ" for `epoch_ms` into buf (at least 25
 * bytes), NUL-terminated; returns the length written (24), or 0 when the
 * buffer is too small.
 */
size_t rg_format_utc_ms(int64_t epoch_ms, char *buf, size_t bufsize);

/*
 * Parse a rule-file duration: an integer and a unit, one of ms s m h d
 * ("500ms", "10m", "72h"). Returns false on anything else or on overflow.
 */
bool rg_parse_duration(const char *s, size_t len, int64_t *out_ms);

#endif
