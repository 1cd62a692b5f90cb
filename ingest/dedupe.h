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
 * is bounded by the distinct ids within two spans of horizon + lateness
 * of event time, however long the stream: forgotten ids are let go a
 * span at a time, by clearing a map (dedupe.c), never by a scan.
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
    rg_strmap *young;     /* id -> the ts it is remembered at: put in since the last clear */
    rg_strmap *old;       /* the same, put in before it */
} rg_dedupe_head;

/* A hint that an id whose table hash is `hash` (rg_strmap_hash) will be
 * checked soon: its table slot in both maps, prefetched at stage 0 and
 * read at stage 1 (rg_strmap_touch_slot: a slot only prefetched was
 * often gone again by the check, two events on). A new id's check reads
 * no record, only slots (a record's key is compared on a hash match
 * alone: a duplicate, rare), so there is nothing else to fetch. */
static inline void rg_dedupe_prefetch(const rg_dedupe *d, uint32_t hash, int stage)
{
    const rg_dedupe_head *h = (const rg_dedupe_head *)(const void *)d;
    if (stage == 0) {
        rg_strmap_prefetch_hashed(h->young, hash, 0);
        rg_strmap_prefetch_hashed(h->old, hash, 0);
    } else if (stage == 1) {
        rg_strmap_touch_slot(h->young, hash);
        rg_strmap_touch_slot(h->old, hash);
    }
}
size_t rg_dedupe_size(const rg_dedupe *d);     /* ids remembered (a walk: for stats and tests) */
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
