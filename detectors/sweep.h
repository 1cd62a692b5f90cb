/*
 * sweep — when a family's expire() should sweep its maps.
 *
 * Owner: detectors. A sweep visits every record, O(entities); the engine
 * calls expire() every few thousand events however big the maps are, so
 * sweeping each time would cost O(entities) per few thousand events —
 * a third of a replay's time on 50k accounts. A map is swept only once
 * the events folded in since its last sweep reach `per_record` times its
 * size (or it is small, and a sweep is cheap anyway): each event then
 * pays for at most 1 / per_record record visits per map, and a map holds
 * at most its live records plus what that many events could have left
 * behind. The packets and complaints maps use 1 (a map at most about
 * twice its live size); the account store's sweep, whose visit costs
 * most (every windowed slice trimmed, quiet records demoted: ~400
 * instructions against ~60 for a packet), uses RG_SWEEP_ACCOUNTS_EVERY =
 * 2 (issue 16: 339 -> 205 instructions per event on the month's middle;
 * docs/state.md has the bytes per active account it costs). A limit of
 * the rule, either way: a map that gains a new record at more than one
 * in per_record of the events folded in grows as fast as the count it
 * waits for, and is not swept (past RG_SWEEP_ALWAYS_BELOW) until that
 * changes. Records touched in between are trimmed on the spot anyway,
 * and eval treats a record past its horizon as absent, so when a sweep
 * runs never changes an answer.
 */
#ifndef RG_SWEEP_H
#define RG_SWEEP_H

#include <stdbool.h>
#include <stddef.h>

/* Below this many records a sweep always runs (cheap, and tests and small
 * streams see expiry at once). */
#define RG_SWEEP_ALWAYS_BELOW 4096

/* Whether to sweep a map of `records` entries now, once `per_record`
 * events per record have been folded in since the last sweep; resets the
 * counter of events folded when it says yes. */
static inline bool rg_sweep_due_every(size_t *folded_since_sweep, size_t records, size_t per_record)
{
    if (records >= RG_SWEEP_ALWAYS_BELOW && *folded_since_sweep / per_record < records)
        return false;
    *folded_since_sweep = 0;
    return true;
}

static inline bool rg_sweep_due(size_t *folded_since_sweep, size_t records)
{
    return rg_sweep_due_every(folded_since_sweep, records, 1);
}

/* Events per record between two sweeps of the account store (velocity's
 * and counterparty's expire). */
#define RG_SWEEP_ACCOUNTS_EVERY 2

#endif
