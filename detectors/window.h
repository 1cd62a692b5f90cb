/*
 * window — a sorted multiset of event timestamps (ms) for exact sliding
 * windows on event time, shared by the detector families.
 *
 * Owner: detectors. A window answers "how many timestamps in (lo, hi]"
 * by binary search, so a count is O(log n) for any W a rule file asks,
 * and stays exact when events arrive out of order: an insert goes to its
 * place in ts order (a short shift when it is only slightly late, none in
 * the usual in-order case), never appended blindly.
 *
 * Storage is a ring (head index, power-of-two capacity) so trimming the
 * oldest entries is O(1) per entry. The first RG_WINDOW_INLINE timestamps
 * live inside the struct: most accounts see few events per window, and
 * they then cost no heap allocation at all. An emptied window returns to
 * inline storage, so an idle account holds no heap memory.
 *
 * Not thread-safe; no global state. Allocation failure in insert returns
 * -1 and leaves the window unchanged.
 */
#ifndef RG_WINDOW_H
#define RG_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#define RG_WINDOW_INLINE 2

typedef struct rg_window {
    uint32_t n;      /* entries held */
    /* Ring position and size in one word (a window is kept per account
     * per count() use, so its 4 bytes matter): bits 0..26 the ring index
     * of the oldest entry, bits 27..31 log2 of the capacity (0 or 1:
     * inline storage; more: a heap power of two, at most 2^27). */
    uint32_t ring;
    union {
        int64_t *heap;
        int64_t inline_ts[RG_WINDOW_INLINE];
    } u;
} rg_window;   /* 24 bytes */

/* A zeroed struct is a valid empty window too. */
void rg_window_init(rg_window *w);
void rg_window_free(rg_window *w);   /* back to empty inline; NULL-safe */

/* Number of timestamps t with lo_ms < t <= hi_ms. */
uint32_t rg_window_count(const rg_window *w, int64_t lo_ms, int64_t hi_ms);

/* Insert ts_ms at its place in ts order. 0, or -1 on allocation failure. */
int rg_window_insert(rg_window *w, int64_t ts_ms);

/* Remove one occurrence of ts_ms; returns whether one was there. */
int rg_window_remove(rg_window *w, int64_t ts_ms);

/* Drop every timestamp <= cutoff_ms (they can no longer be in any window
 * that is still asked for); may shrink the heap buffer. Returns how many. */
uint32_t rg_window_trim(rg_window *w, int64_t cutoff_ms);

/* Oldest / newest timestamp; INT64_MIN when empty. */
int64_t rg_window_oldest(const rg_window *w);
int64_t rg_window_newest(const rg_window *w);

/* The i-th oldest timestamp (i < n). */
int64_t rg_window_at(const rg_window *w, uint32_t i);

/* Heap bytes held beyond the struct itself (allocator overhead included). */
size_t rg_window_heap_bytes(const rg_window *w);

/* Estimated allocator bookkeeping per malloc'd block, as strmap counts it. */
#define RG_MALLOC_OVERHEAD 16

#endif
