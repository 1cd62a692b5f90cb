/*
 * dedupe — drop an event_id seen again within the dedupe horizon.
 *
 * An id is remembered with the event time it was seen at. A later event
 * with the same id is a duplicate when their times are at most the horizon
 * apart (events.md: "seen again within the dedupe horizon"): the answer
 * depends on the two events alone, not on what else arrived in between, so
 * it is the same in replay and in streaming whatever the interleaving of
 * partitions (issue: late events must not be double-counted). An id is
 * kept until the watermark (the highest ts seen) is more than horizon +
 * lateness past it: an event up to `lateness` behind the watermark
 * (settings.max_lateness) still finds every id it could duplicate. Memory
 * is bounded by the distinct ids within horizon + lateness of event time,
 * however long the stream.
 * Expiry is amortised (a time-ordered queue popped as the watermark moves),
 * never a full scan.
 *
 * Deterministic: the answer depends only on the sequence of (id, ts)
 * given (and, after a load, on the state saved). Not thread-safe.
 */
#ifndef RG_DEDUPE_H
#define RG_DEDUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"
#include "../common/strmap.h"
#include "../common/ts_queue.h"

typedef struct rg_dedupe rg_dedupe;

rg_dedupe *rg_dedupe_new(int64_t horizon_ms);   /* NULL on OOM */
void rg_dedupe_free(rg_dedupe *d);              /* NULL-safe */

/* True when id is a duplicate (skip the event). Otherwise remembers it
 * and returns false. On allocation failure the id is not remembered
 * (false is returned: an event is never dropped for lack of memory). */
bool rg_dedupe_check(rg_dedupe *d, const char *id, size_t len, int64_t ts_ms);

/* The start of every dedupe memory: dedupe.c's own, read here by the
 * inline prefetch (a call cost more than its one prefetch). */
typedef struct rg_dedupe_head {
    rg_strmap *ids;       /* id -> first-seen ts */
    rg_ts_queue queue;    /* every id remembered, by its ts */
} rg_dedupe_head;

/* A hint that an id whose table hash is `hash` (rg_strmap_hash) will be
 * checked soon. Stage 0: the id's table slot. Stage 1 is not strmap's
 * (the record the slot's hash leads to): an id is almost always new,
 * and a new id's check reads no record, only slots (a record's key is
 * compared on a hash match alone: a duplicate, rare), so that walk of
 * the probe run found nothing on nearly every event. What the check does
 * write at stage 1's distance is the record expiry deletes next. */
static inline void rg_dedupe_prefetch(const rg_dedupe *d, uint32_t hash, int stage)
{
    const rg_dedupe_head *h = (const rg_dedupe_head *)(const void *)d;
    if (stage == 0)
        rg_strmap_prefetch_hashed(h->ids, hash, 0);
    else if (stage == 1 && rg_ts_queue_next_rec(&h->queue))
        __builtin_prefetch(rg_ts_queue_next_rec(&h->queue));
}
size_t rg_dedupe_size(const rg_dedupe *d);     /* ids remembered */
size_t rg_dedupe_bytes(const rg_dedupe *d);
void rg_dedupe_set_horizon(rg_dedupe *d, int64_t horizon_ms);
/* How far behind the watermark an event may arrive and still be judged
 * exactly (default 0): ids are kept that much longer. */
void rg_dedupe_set_lateness(rg_dedupe *d, int64_t lateness_ms);

/* Checkpoint (decisions/engine_state.c). save appends the ids held and the
 * watermark (ids in key order, so equal states give equal bytes): 0, or
 * -1 when out of memory. load restores into a new, empty memory from what
 * save wrote; the bytes are untrusted: -1 with the reason in in->error
 * (the memory may then hold part of the ids: the caller frees it). */
int rg_dedupe_save(const rg_dedupe *d, rg_strbuf *out);
int rg_dedupe_load(rg_dedupe *d, rg_reader *in);

#endif
