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
 * Timestamps are stored as 32-bit offsets from a base the caller keeps
 * (one int64 for all the windows of a record: rg_window_group_fit moves
 * it), so an entry costs 4 bytes, not 8. A window whose entries span more
 * than 2^32 - 1 ms (49.7 days) from that base — a window longer than
 * that, or an event far out of order — stores them as full int64 instead
 * ("wide"), so every answer is exact whatever the times; it becomes
 * narrow again once it empties or is trimmed back to a span that fits.
 *
 * Storage: the first RG_WINDOW_INLINE offsets live inside the struct
 * (most accounts see few events per window, and then cost no heap
 * allocation at all); more go to a heap ring (head index, power-of-two
 * capacity) so trimming the oldest entries is O(1) per entry. An emptied
 * window returns to inline storage, so an idle account holds no heap
 * memory.
 *
 * Every function that reads or writes times takes the base; it must be
 * the one the window's entries were stored against (a zeroed window has
 * none, any base will do). Not thread-safe; no global state. Allocation
 * failure in insert returns -1 and leaves the window unchanged.
 */
#ifndef RG_WINDOW_H
#define RG_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RG_WINDOW_INLINE 3

typedef struct rg_window {
    /* Bits 30..31 the storage (inline, narrow heap ring, wide heap ring);
     * inline: bits 0..1 the count; heap: bits 0..24 the ring index of
     * the oldest entry, bits 25..29 log2 of the capacity. */
    uint32_t meta;
    uint32_t word;   /* inline: the oldest offset; heap: the count */
    union {
        uint32_t rel[RG_WINDOW_INLINE - 1];   /* inline: the next offsets */
        uint32_t *narrow;                     /* heap ring of offsets */
        int64_t *wide;                        /* heap ring of timestamps */
    } u;
} rg_window;   /* 16 bytes */

/* A zeroed struct is a valid empty window too. */
void rg_window_init(rg_window *w);
/* A hint: fetch the heap ring's lines a trim, a count and an append will
 * read (all of a ring up to 256 bytes, else its two ends). Changes
 * nothing. Inline here: most windows are inline, nothing to fetch. */
void rg_window_prefetch_ring(const rg_window *w);
static inline void rg_window_prefetch(const rg_window *w)
{
    if ((w->meta >> 30) != 0)
        rg_window_prefetch_ring(w);
}
void rg_window_free(rg_window *w);   /* back to empty inline; NULL-safe */

/* Entries held (inline: bits 0..1 of meta; heap: word). Inline here:
 * every per-event trim and count asks it. */
static inline uint32_t rg_window_len(const rg_window *w) { return (w->meta >> 30) == 0 ? (w->meta & 3) : w->word; }

/* Number of timestamps t with lo_ms < t <= hi_ms. */
uint32_t rg_window_count_at(const rg_window *w, int64_t base_ms, int64_t lo_ms, int64_t hi_ms);
/* rg_window_count_at, an inline window (at most 3 entries, what most
 * accounts hold) counted here. */
static inline uint32_t rg_window_count(const rg_window *w, int64_t base_ms, int64_t lo_ms, int64_t hi_ms)
{
    uint32_t meta = w->meta;
    if (meta > RG_WINDOW_INLINE)
        return rg_window_count_at(w, base_ms, lo_ms, hi_ms);
    uint32_t n = 0;
    for (uint32_t i = 0; i < meta; i++) {
        int64_t t = base_ms + (int64_t)(i == 0 ? w->word : w->u.rel[i - 1]);
        n += t > lo_ms && t <= hi_ms;
    }
    return n;
}

/* Insert ts_ms at its place in ts order; a ts that does not fit the base
 * makes the window wide. 0, or -1 on allocation failure. */
int rg_window_insert_at(rg_window *w, int64_t base_ms, int64_t ts_ms);
/* rg_window_insert_at of an offset that fits the base and is not below
 * the newest of a full inline window's three: the narrow ring of four it
 * makes, without the general move's per-entry reads and writes (an
 * account whose window hovers about three entries meets this often). */
int rg_window_grow_narrow(rg_window *w, uint32_t off);
/* The same for a full narrow ring: the ring of twice the room
 * rg_window_insert_at moves it to, its entries oldest first from slot 0,
 * then off. */
int rg_window_grow_ring(rg_window *w, uint32_t off);
/* rg_window_insert_at, with its usual case inline: an in-order time that
 * fits the base, appended where there is room (inline, or a narrow heap
 * ring), which is what a steady account's events are (issue 16). */
static inline int rg_window_insert(rg_window *w, int64_t base_ms, int64_t ts_ms)
{
    if (ts_ms >= base_ms && ts_ms - base_ms <= INT64_C(0xffffffff)) {
        uint32_t off = (uint32_t)(ts_ms - base_ms);
        uint32_t meta = w->meta;
        if (meta == 0) {   /* empty inline */
            w->word = off;
            w->meta = 1;
            return 0;
        }
        if (meta < RG_WINDOW_INLINE) {   /* inline, 1 .. 2 held */
            uint32_t last = meta == 1 ? w->word : w->u.rel[meta - 2];
            if (last <= off) {
                w->u.rel[meta - 1] = off;
                w->meta = meta + 1;
                return 0;
            }
        } else if (meta == RG_WINDOW_INLINE) {   /* inline and full */
            if (w->u.rel[RG_WINDOW_INLINE - 2] <= off)
                return rg_window_grow_narrow(w, off);
        } else if ((meta >> 30) == 1) {   /* narrow ring */
            uint32_t mask = (UINT32_C(1) << ((meta >> 25) & 0x1f)) - 1, n = w->word;
            uint32_t head = meta & ((UINT32_C(1) << 25) - 1);
            if (n && n <= mask && w->u.narrow[(head + n - 1) & mask] <= off) {
                w->u.narrow[(head + n) & mask] = off;
                w->word = n + 1;
                return 0;
            }
            if (n == mask + 1 && w->u.narrow[(head + n - 1) & mask] <= off)
                return rg_window_grow_ring(w, off);   /* full */
        }
    }
    return rg_window_insert_at(w, base_ms, ts_ms);
}

/* Remove one occurrence of ts_ms; returns whether one was there. */
int rg_window_remove(rg_window *w, int64_t base_ms, int64_t ts_ms);

/* Drop every timestamp <= cutoff_ms (they can no longer be in any window
 * that is still asked for); may shrink the heap buffer. Returns how many. */
uint32_t rg_window_trim_some(rg_window *w, int64_t base_ms, int64_t cutoff_ms);
/* rg_window_trim_some by the window's storage: an inline window's or a
 * narrow ring's offsets read in place (a ring trimmed to three or fewer
 * moved back inline directly), not through the general per-entry reads;
 * the same window after, and the same answer (a wide one: the general
 * path). */
uint32_t rg_window_trim_by_kind(rg_window *w, int64_t base_ms, int64_t cutoff_ms);
static inline uint32_t rg_window_trim(rg_window *w, int64_t base_ms, int64_t cutoff_ms)
{
    /* Nothing to drop, decided without a call: an empty window, or an
     * inline one whose oldest entry (base + word) is past the cutoff,
     * which is what a steady account's trims meet. */
    if (!rg_window_len(w) || ((w->meta >> 30) == 0 && base_ms + (int64_t)w->word > cutoff_ms))
        return 0;
    return rg_window_trim_by_kind(w, base_ms, cutoff_ms);
}

/* The i-th oldest timestamp (i < len). */
int64_t rg_window_at(const rg_window *w, int64_t base_ms, uint32_t i);

/* Oldest / newest timestamp; INT64_MIN when empty. The oldest inline
 * here: every trim of a velocity record asks it. */
static inline int64_t rg_window_oldest(const rg_window *w, int64_t base_ms)
{
    if (!rg_window_len(w))
        return INT64_MIN;
    return (w->meta >> 30) == 0 ? base_ms + (int64_t)w->word : rg_window_at(w, base_ms, 0);
}
int64_t rg_window_newest(const rg_window *w, int64_t base_ms);

/* Before inserting ts_ms into one of the n windows sharing *base_ms:
 * when ts_ms does not fit the base, move the base (and every narrow
 * entry's offset, O(entries): about once per 24 days of an account's
 * activity, or on an event far out of order) so that it does, when the
 * narrow entries and ts_ms span less than 2^32 ms. Returns whether
 * ts_ms fits now; when it does not, the insert makes its window wide.
 * A group with no narrow entry is simply rebased on ts_ms. */
bool rg_window_group_refit(rg_window *ws, size_t n, int64_t *base_ms, int64_t ts_ms);
static inline bool rg_window_group_fit(rg_window *ws, size_t n, int64_t *base_ms, int64_t ts_ms)
{
    /* It fits already: the usual case, decided without a call. */
    if (ts_ms >= *base_ms && ts_ms - *base_ms <= INT64_C(0xffffffff))
        return true;
    return rg_window_group_refit(ws, n, base_ms, ts_ms);
}

/* The base rg_window_group_refit gives a group whose windows are all
 * empty, to hold ts_ms: the offsets' range centred on it (same formula).
 * A new record's group takes it without the call over its windows. */
static inline int64_t rg_window_empty_group_base(int64_t ts_ms) { return ts_ms - INT64_C(0xffffffff) / 2; }

/* Heap bytes held beyond the struct itself, allocator header included
 * (rg_heap_block_bytes). */
size_t rg_window_heap_bytes(const rg_window *w);
/* Bytes the entries take where they are stored: 4 per narrow entry, 8
 * per wide one. */
size_t rg_window_entry_bytes(const rg_window *w);

/* Estimated allocator bookkeeping per malloc'd block, where a figure is
 * needed without the block at hand (packets, complaints); the per-account
 * figures use rg_heap_block_bytes. */
#define RG_MALLOC_OVERHEAD 16

#endif
