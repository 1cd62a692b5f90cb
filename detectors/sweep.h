/*
 * sweep — when a family's expire() should sweep its maps.
 *
 * Owner: detectors. A sweep visits every record, O(entities); the engine
 * calls expire() every few thousand events however big the maps are, so
 * sweeping each time would cost O(entities) per few thousand events —
 * a third of a replay's time on 50k accounts. So a family keeps a sweep
 * clock: the events folded in since its last sweep, and the map's size
 * at the first expire() after that sweep (its base: the live records
 * the sweep left, plus a few thousand events' worth). The next sweep
 * runs once the events reach `per_record` times the base (or whenever
 * the map is small, and a sweep is cheap anyway). Each event then pays
 * for about 1 / per_record record visits per map, and a map never holds
 * more than its base plus what per_record times that many events could
 * add: a bound relative to the live state, whatever the traffic.
 * (Before, the rule compared the events with the map's size *now*, and a
 * map that gained a record for every event or two — a transfer-only
 * stream in the complaints map, a flood of fresh ids in the account
 * store — grew as fast as the count it waited for and was never swept
 * past RG_SWEEP_ALWAYS_BELOW.)
 *
 * The packets map uses per_record 1 (the complaints map used it too
 * until its transfers left by a queue: complaints.c); the account store's
 * sweep, whose visit costs most (every windowed slice trimmed, quiet
 * records demoted: ~400 instructions against ~60 for a packet), uses
 * RG_SWEEP_ACCOUNTS_EVERY = 3 (issue 16; with the base, 3 costs what 2
 * did by the old rule, which compared with a larger, later size: 8,054
 * instructions per event on the month's middle either way, 223.7 B per
 * active account against 226.8 B; docs/state.md). Records touched in between are trimmed on the spot
 * anyway, and eval treats a record past its horizon as absent, so when a
 * sweep runs never changes an answer. The clock is saved in checkpoints,
 * so a restored engine sweeps at the moments the uninterrupted one does
 * (and saves the same bytes).
 */
#ifndef RG_SWEEP_H
#define RG_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"
#include "../common/strbuf.h"

/* Below this many records a sweep always runs (cheap, and tests and small
 * streams see expiry at once). */
#define RG_SWEEP_ALWAYS_BELOW 4096

/* A family's sweep clock; RG_SWEEP_CLOCK_INIT on a new state (and on a
 * checkpoint of a format that had no base). */
typedef struct rg_sweep_clock {
    uint64_t folded;   /* events folded in since the last sweep */
    uint64_t base;     /* records at the first expire() since; RG_SWEEP_NO_BASE: not yet */
} rg_sweep_clock;
#define RG_SWEEP_NO_BASE UINT64_MAX
#define RG_SWEEP_CLOCK_INIT ((rg_sweep_clock){0, RG_SWEEP_NO_BASE})

/* One event folded in. */
static inline void rg_sweep_tick(rg_sweep_clock *clock) { clock->folded++; }

/* Whether to sweep a map of `records` entries now (at expire()); when it
 * says yes, the clock starts again (the sweep is expected to follow). */
static inline bool rg_sweep_due_every(rg_sweep_clock *clock, size_t records, size_t per_record)
{
    if (clock->base == RG_SWEEP_NO_BASE)
        clock->base = records;
    if (records >= RG_SWEEP_ALWAYS_BELOW && clock->folded / per_record < clock->base)
        return false;
    *clock = RG_SWEEP_CLOCK_INIT;
    return true;
}

static inline bool rg_sweep_due(rg_sweep_clock *clock, size_t records)
{
    return rg_sweep_due_every(clock, records, 1);
}

/* Checkpoints (every family that sweeps, after its watermark): the
 * clock's two numbers. `base_saved`: the section's format has the base
 * (older ones saved the events alone; the base is then taken anew). */
static inline void rg_sweep_clock_save(rg_strbuf *out, const rg_sweep_clock *clock)
{
    rg_put_u64(out, clock->folded);
    rg_put_u64(out, clock->base);
}

static inline rg_sweep_clock rg_sweep_clock_load(rg_reader *in, bool base_saved)
{
    rg_sweep_clock c = RG_SWEEP_CLOCK_INIT;
    c.folded = rg_get_u64(in, "sweep counter");
    if (base_saved)
        c.base = rg_get_u64(in, "sweep base");
    return c;
}

/* Events per record between two sweeps of the account store (velocity's
 * and counterparty's expire). */
#define RG_SWEEP_ACCOUNTS_EVERY 3

#endif
