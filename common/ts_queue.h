/*
 * ts_queue — records to forget in order of their event time, popped
 * from the oldest as the watermark moves: expiry at O(1) (in-order) or
 * O(log n) (late) per record, with no scan of the map that holds them.
 *
 * Owner: common (the detectors engineer). Used by the complaints family
 * (transfers), which keeps one record per event in an rg_strmap and
 * forgets it a fixed time after its own ts (dedupe did too, until it let
 * go of its ids a map at a time: ingest/dedupe.c). An entry is
 * {ts, where the record sits in the map}: the owner finds the record
 * from its number (rg_strmap_placed_record) and deletes it with
 * rg_strmap_del_placed, without hashing its key again.
 *
 * Most events arrive in time order, and for those a heap is pure cost (a
 * pop sifts through log n levels): an entry whose ts is at least that of
 * the last one queued goes to a FIFO (blocks, below; ts non-decreasing by
 * construction), and only late ones go to a binary min-heap. oldest()
 * looks at whichever of the two holds the smaller ts, so entries leave
 * in the same order of ts as from one heap (ties: the FIFO first).
 * Entries that no longer match their record (the owner moved it to a
 * newer ts and queued it again) are the owner's to skip when they pop.
 *
 * Memory: 16 bytes per entry. The heap is an array that doubles as it
 * fills and halves (past 1,024 entries) when a quarter full. The FIFO is
 * a list of blocks of RG_TS_BLOCK entries, one more taken as the newest
 * fills and each given back as its last entry leaves (one kept spare):
 * it never copies its entries, so a queue of millions grows at a
 * constant cost per entry. (It was a ring that doubled: each doubling
 * copied every entry into fresh memory. On four days of transfers, all
 * kept, the queue's pushes were 3.2% of a replay's samples, 1.6% in
 * blocks; and in a stream one event paid for the whole copy.) Not
 * thread-safe.
 */
#ifndef RG_TS_QUEUE_H
#define RG_TS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strmap.h"

typedef struct rg_ts_entry {
    int64_t ts_ms;
    rg_strmap_place place;  /* where the record sits in the map (rg_strmap_put_placed) */
} rg_ts_entry;

/* Entries per FIFO block (32 KiB). */
#define RG_TS_BLOCK 2048

typedef struct rg_ts_block {
    struct rg_ts_block *next;   /* the next newer block */
    rg_ts_entry e[RG_TS_BLOCK];
} rg_ts_block;

typedef struct rg_ts_queue {
    rg_ts_entry *heap;   /* entries that arrived out of order */
    size_t n, cap;
    /* Entries in time order: head->e[fifo_head] is the oldest,
     * tail->e[fifo_tail - 1] the newest (fifo_n > 0: fifo_tail >= 1). */
    rg_ts_block *head, *tail, *spare;
    size_t fifo_head, fifo_tail, fifo_n, fifo_blocks;   /* fifo_blocks: held, the spare included */
} rg_ts_queue;

#define RG_TS_QUEUE_INIT ((rg_ts_queue){0})

/* Inline below: the in-order cases, which every event takes (a call
 * each cost dedupe ~20 instructions an event). */
void rg_ts_queue_free(rg_ts_queue *q);   /* the heap array and the blocks; the queue is empty after */
int rg_ts_queue_push_slow(rg_ts_queue *q, rg_ts_entry e);
void rg_ts_queue_pop_heap(rg_ts_queue *q);
void rg_ts_queue_pop_block(rg_ts_queue *q);   /* the head block emptied: the next one, or empty */
void rg_ts_queue_shrink_now(rg_ts_queue *q);
size_t rg_ts_queue_bytes(const rg_ts_queue *q);   /* the heap at its capacity and the blocks */

static inline size_t rg_ts_queue_count(const rg_ts_queue *q) { return q->n + q->fifo_n; }

/* Whether the oldest entry is the FIFO's (false: the heap's, or none). */
static inline bool rg_ts_queue_oldest_in_fifo(const rg_ts_queue *q)
{
    return q->fifo_n && (!q->n || q->head->e[q->fifo_head].ts_ms <= q->heap[0].ts_ms);
}

/* The entry with the smallest ts, or NULL when empty. */
static inline const rg_ts_entry *rg_ts_queue_oldest(const rg_ts_queue *q)
{
    if (rg_ts_queue_oldest_in_fifo(q))
        return &q->head->e[q->fifo_head];
    return q->n ? &q->heap[0] : NULL;
}

/* The FIFO's oldest entry leaves. */
static inline void rg_ts_queue_pop_fifo(rg_ts_queue *q)
{
    q->fifo_n--;
    if (++q->fifo_head == RG_TS_BLOCK || !q->fifo_n)
        rg_ts_queue_pop_block(q);
}

/* Remove the entry oldest() returned (the queue must not be empty). */
static inline void rg_ts_queue_pop(rg_ts_queue *q)
{
    if (!rg_ts_queue_oldest_in_fifo(q)) {
        rg_ts_queue_pop_heap(q);
        return;
    }
    rg_ts_queue_pop_fifo(q);
}

/* Take the oldest entry when its ts is before `before`: copied to *out
 * and removed (true), or false with the queue unchanged. oldest() and
 * pop() in one, deciding once which array holds the oldest: an expiry
 * loop asked that three times an entry. */
static inline bool rg_ts_queue_take_before(rg_ts_queue *q, int64_t before, rg_ts_entry *out)
{
    if (rg_ts_queue_oldest_in_fifo(q)) {
        const rg_ts_entry *e = &q->head->e[q->fifo_head];
        if (e->ts_ms >= before)
            return false;
        *out = *e;
        rg_ts_queue_pop_fifo(q);
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
    /* In time order (not older than the newest queued) and room in the
     * newest block: the FIFO. */
    if (q->fifo_n && q->fifo_tail < RG_TS_BLOCK && q->tail->e[q->fifo_tail - 1].ts_ms <= e.ts_ms) {
        q->tail->e[q->fifo_tail++] = e;
        q->fifo_n++;
        return 0;
    }
    return rg_ts_queue_push_slow(q, e);
}

/* Give memory back after a burst (call after popping): so the footprint
 * follows the entries within one horizon rather than the peak. */
static inline void rg_ts_queue_shrink(rg_ts_queue *q)
{
    if (q->cap > 1024 && q->n < q->cap / 4)
        rg_ts_queue_shrink_now(q);
}

/* The FIFO's entry k places after its oldest, for a prefetch (NULL when
 * it holds no more than k). */
static inline const rg_ts_entry *rg_ts_queue_fifo_at(const rg_ts_queue *q, size_t k)
{
    if (k >= q->fifo_n)
        return NULL;
    const rg_ts_block *b = q->head;
    for (k += q->fifo_head; k >= RG_TS_BLOCK; k -= RG_TS_BLOCK)
        b = b->next;
    return &b->e[k];
}

#endif
