/*
 * ts_queue — records to forget in order of their event time, popped
 * from the oldest as the watermark moves: expiry at O(1) (in-order) or
 * O(log n) (late) per record, with no scan of the map that holds them.
 *
 * Owner: common (the detectors engineer). Used by the complaints family
 * (transfers), which keeps one record per event in an rg_strmap and
 * forgets it a fixed time after its own ts (dedupe did too, until it let
 * go of its ids a map at a time: ingest/dedupe.c). An entry is
 * {ts, the record, where it sits in the map}, so the owner deletes the
 * record with rg_strmap_del_placed without hashing its key again.
 *
 * Most events arrive in time order, and for those a heap is pure cost (a
 * pop sifts through log n levels): an entry whose ts is at least that of
 * the last one queued goes to a FIFO (a ring, ts non-decreasing by
 * construction), and only late ones go to a binary min-heap. oldest()
 * looks at whichever of the two holds the smaller ts, so entries leave
 * in the same order of ts as from one heap (ties: the FIFO first).
 * Entries that no longer match their record (the owner moved it to a
 * newer ts and queued it again) are the owner's to skip when they pop.
 *
 * Memory: 24 bytes per entry, in two arrays that double as they fill and
 * halve (past 1,024 entries) when a quarter full. Not thread-safe.
 */
#ifndef RG_TS_QUEUE_H
#define RG_TS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strmap.h"

typedef struct rg_ts_entry {
    int64_t ts_ms;
    void *rec;              /* the owner's strmap value record (never moves until deleted) */
    rg_strmap_place place;  /* where it sits in the map (rg_strmap_put_placed) */
} rg_ts_entry;

typedef struct rg_ts_queue {
    rg_ts_entry *heap;   /* entries that arrived out of order */
    size_t n, cap;
    rg_ts_entry *fifo;   /* entries in time order: a ring of fifo_cap (a power of two) */
    size_t fifo_head, fifo_n, fifo_cap;
} rg_ts_queue;

#define RG_TS_QUEUE_INIT ((rg_ts_queue){0})

/* Inline below: the in-order cases, which every event takes (a call
 * each cost dedupe ~20 instructions an event). */
void rg_ts_queue_free(rg_ts_queue *q);   /* the arrays; the queue is empty after */
int rg_ts_queue_push_slow(rg_ts_queue *q, rg_ts_entry e);
void rg_ts_queue_pop_heap(rg_ts_queue *q);
void rg_ts_queue_shrink_now(rg_ts_queue *q);
size_t rg_ts_queue_bytes(const rg_ts_queue *q);   /* both arrays, at their capacity */

static inline size_t rg_ts_queue_count(const rg_ts_queue *q) { return q->n + q->fifo_n; }

/* Whether the oldest entry is the FIFO's (false: the heap's, or none). */
static inline bool rg_ts_queue_oldest_in_fifo(const rg_ts_queue *q)
{
    return q->fifo_n && (!q->n || q->fifo[q->fifo_head].ts_ms <= q->heap[0].ts_ms);
}

/* The entry with the smallest ts, or NULL when empty. */
static inline const rg_ts_entry *rg_ts_queue_oldest(const rg_ts_queue *q)
{
    if (rg_ts_queue_oldest_in_fifo(q))
        return &q->fifo[q->fifo_head];
    return q->n ? &q->heap[0] : NULL;
}

/* Remove the entry oldest() returned (the queue must not be empty). */
static inline void rg_ts_queue_pop(rg_ts_queue *q)
{
    if (!rg_ts_queue_oldest_in_fifo(q)) {
        rg_ts_queue_pop_heap(q);
        return;
    }
    q->fifo_head = (q->fifo_head + 1) & (q->fifo_cap - 1);
    q->fifo_n--;
}

/* Take the oldest entry when its ts is before `before`: copied to *out
 * and removed (true), or false with the queue unchanged. oldest() and
 * pop() in one, deciding once which array holds the oldest: an expiry
 * loop asked that three times an entry. */
static inline bool rg_ts_queue_take_before(rg_ts_queue *q, int64_t before, rg_ts_entry *out)
{
    if (rg_ts_queue_oldest_in_fifo(q)) {
        const rg_ts_entry *e = &q->fifo[q->fifo_head];
        if (e->ts_ms >= before)
            return false;
        *out = *e;
        q->fifo_head = (q->fifo_head + 1) & (q->fifo_cap - 1);
        q->fifo_n--;
        return true;
    }
    if (!q->n || q->heap[0].ts_ms >= before)
        return false;
    *out = q->heap[0];
    rg_ts_queue_pop_heap(q);
    return true;
}

/* Queue an entry: 0, or -1 on allocation failure (nothing queued). */
static inline int rg_ts_queue_push(rg_ts_queue *q, rg_ts_entry e)
{
    /* In time order (not older than the newest queued) and room: the FIFO. */
    if (q->fifo_n && q->fifo_n < q->fifo_cap &&
        q->fifo[(q->fifo_head + q->fifo_n - 1) & (q->fifo_cap - 1)].ts_ms <= e.ts_ms) {
        q->fifo[(q->fifo_head + q->fifo_n++) & (q->fifo_cap - 1)] = e;
        return 0;
    }
    return rg_ts_queue_push_slow(q, e);
}

/* Give memory back after a burst (call after popping): so the footprint
 * follows the entries within one horizon rather than the peak. */
static inline void rg_ts_queue_shrink(rg_ts_queue *q)
{
    if ((q->cap > 1024 && q->n < q->cap / 4) || (q->fifo_cap > 1024 && q->fifo_n < q->fifo_cap / 4))
        rg_ts_queue_shrink_now(q);
}

/* The FIFO's entry k places after its oldest, for a prefetch (NULL when
 * it holds no more than k). */
static inline const rg_ts_entry *rg_ts_queue_fifo_at(const rg_ts_queue *q, size_t k)
{
    return k < q->fifo_n ? &q->fifo[(q->fifo_head + k) & (q->fifo_cap - 1)] : NULL;
}

#endif
