/*
 * saturate — int64 time arithmetic that clamps instead of overflowing.
 *
 * Owner: common (the detectors engineer). Event times are bounded
 * (0 .. RG_TS_MAX_MS, timeutil.h), but durations from rule files
 * (windows, cooldowns, history_horizon, max_lateness) and watermarks that
 * start at "none" (INT64_MIN) are not, so `watermark - horizon` or
 * `last + cooldown` can leave int64: undefined behaviour in C, and in
 * practice a wrapped time that makes a cooldown or a horizon stop working.
 * Saturated at INT64_MIN / INT64_MAX instead, each comparison keeps its
 * meaning: a cutoff below every time keeps everything, a cooldown ending
 * after every time never ends.
 */
#ifndef RG_SATURATE_H
#define RG_SATURATE_H

#include <stdint.h>

/* a + b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t rg_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* a - b, clamped to [INT64_MIN, INT64_MAX]. */
static inline int64_t rg_sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

/* |a - b|, clamped to INT64_MAX. */
static inline int64_t rg_sat_absdiff(int64_t a, int64_t b)
{
    int64_t d = rg_sat_sub(a, b);
    return d < 0 ? (d == INT64_MIN ? INT64_MAX : -d) : d;
}

#endif
