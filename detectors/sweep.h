/*
 * sweep — when a family's expire() should sweep its maps.
 *
 * Owner: detectors. A sweep visits every record, O(entities); the engine
 * calls expire() every few thousand events however big the maps are, so
 * sweeping each time would cost O(entities) per few thousand events —
 * a third of a replay's time on 50k accounts. A map is swept only once
 * the events folded in since its last sweep reach its size (or it is
 * small, and a sweep is cheap anyway): each event then pays for at most
 * one record visit per map, and a map holds at most its live records plus
 * what that many events could have left behind (about twice its live
 * size in the worst case). Records touched in between are trimmed on the
 * spot anyway, and eval treats a record past its horizon as absent, so
 * when a sweep runs never changes an answer.
 */
#ifndef RG_SWEEP_H
#define RG_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

/* Below this many records a sweep always runs (cheap, and tests and small
 * streams see expiry at once). */
#define RG_SWEEP_ALWAYS_BELOW 4096

/* Whether to sweep a map of `records` entries now; resets the counter of
 * events folded since the last sweep when it says yes. */
static inline bool rg_sweep_due(size_t *folded_since_sweep, size_t records)
{
    if (records >= RG_SWEEP_ALWAYS_BELOW && *folded_since_sweep < records)
        return false;
    *folded_since_sweep = 0;
    return true;
}

#endif
