/*
 * window — sorted timestamp ring; see window.h for the contract.
 * Owner: detectors.
 */
#include "window.h"

#include <stdlib.h>
#include <string.h>

#define HEAD_BITS 27
#define HEAD_MASK ((UINT32_C(1) << HEAD_BITS) - 1)
#define MAX_CAP_LOG2 HEAD_BITS   /* the head must fit its bits */

static uint32_t head_of(const rg_window *w) { return w->ring & HEAD_MASK; }
static uint32_t cap_log2(const rg_window *w) { return w->ring >> HEAD_BITS; }
static int on_heap(const rg_window *w) { return (UINT32_C(1) << cap_log2(w)) > RG_WINDOW_INLINE; }

static void set_ring(rg_window *w, uint32_t head, uint32_t log2_cap)
{
    w->ring = (log2_cap << HEAD_BITS) | (head & HEAD_MASK);
}

static int64_t *storage(rg_window *w)
{
    return on_heap(w) ? w->u.heap : w->u.inline_ts;
}

static const int64_t *storage_c(const rg_window *w)
{
    return on_heap(w) ? w->u.heap : w->u.inline_ts;
}

static uint32_t capacity(const rg_window *w)
{
    return on_heap(w) ? UINT32_C(1) << cap_log2(w) : RG_WINDOW_INLINE;
}

static uint32_t log2_of(uint32_t pow2)
{
    uint32_t l = 0;
    while ((UINT32_C(1) << l) < pow2)
        l++;
    return l;
}

/* Logical index i (0 = oldest) to the ring slot. Inline capacity is 2, a
 * power of two, so the same mask works for both storages. */
static uint32_t slot(const rg_window *w, uint32_t i)
{
    return (head_of(w) + i) & (capacity(w) - 1);
}

static int64_t at(const rg_window *w, uint32_t i)
{
    return storage_c(w)[slot(w, i)];
}

void rg_window_init(rg_window *w)
{
    memset(w, 0, sizeof *w);
}

void rg_window_free(rg_window *w)
{
    if (!w)
        return;
    if (on_heap(w))
        free(w->u.heap);
    rg_window_init(w);
}

/* First logical index whose timestamp is > x (n when none). */
static uint32_t upper_bound(const rg_window *w, int64_t x)
{
    uint32_t lo = 0, hi = w->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (at(w, mid) <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t rg_window_count(const rg_window *w, int64_t lo_ms, int64_t hi_ms)
{
    if (!w->n || hi_ms <= lo_ms)
        return 0;
    /* Fast path: the usual query is "up to now", past the newest entry. */
    uint32_t upto = at(w, w->n - 1) <= hi_ms ? w->n : upper_bound(w, hi_ms);
    uint32_t before = at(w, 0) > lo_ms ? 0 : upper_bound(w, lo_ms);
    return upto > before ? upto - before : 0;
}

/* Move the entries into a fresh buffer of new_cap (a power of two >= n),
 * oldest first. new_cap <= RG_WINDOW_INLINE means back to inline. */
static int relocate(rg_window *w, uint32_t new_cap)
{
    int64_t tmp[RG_WINDOW_INLINE];
    int64_t *dst;
    if (new_cap <= RG_WINDOW_INLINE) {
        new_cap = RG_WINDOW_INLINE;
        dst = tmp;
    } else {
        dst = malloc((size_t)new_cap * sizeof *dst);
        if (!dst)
            return -1;
    }
    for (uint32_t i = 0; i < w->n; i++)
        dst[i] = at(w, i);
    if (on_heap(w))
        free(w->u.heap);
    if (new_cap == RG_WINDOW_INLINE)
        memcpy(w->u.inline_ts, tmp, sizeof tmp);
    else
        w->u.heap = dst;
    set_ring(w, 0, new_cap == RG_WINDOW_INLINE ? 0 : log2_of(new_cap));
    return 0;
}

int rg_window_insert(rg_window *w, int64_t ts_ms)
{
    if (w->n == capacity(w)) {
        uint32_t grown = capacity(w) * 2;
        if (log2_of(grown) > MAX_CAP_LOG2 || relocate(w, grown) != 0)
            return -1;
    }
    int64_t *buf = storage(w);
    /* In order (the usual case) the new entry goes last; a late one goes
     * after every equal timestamp, shifting the newer ones up by one. */
    uint32_t pos = (w->n && at(w, w->n - 1) > ts_ms) ? upper_bound(w, ts_ms) : w->n;
    for (uint32_t i = w->n; i > pos; i--)
        buf[slot(w, i)] = buf[slot(w, i - 1)];
    buf[slot(w, pos)] = ts_ms;
    w->n++;
    return 0;
}

int rg_window_remove(rg_window *w, int64_t ts_ms)
{
    uint32_t pos = upper_bound(w, ts_ms);
    if (pos == 0 || at(w, pos - 1) != ts_ms)
        return 0;
    int64_t *buf = storage(w);
    for (uint32_t i = pos - 1; i + 1 < w->n; i++)
        buf[slot(w, i)] = buf[slot(w, i + 1)];
    w->n--;
    return 1;
}

uint32_t rg_window_trim(rg_window *w, int64_t cutoff_ms)
{
    uint32_t dropped = 0;
    while (w->n && at(w, 0) <= cutoff_ms) {
        set_ring(w, slot(w, 1), cap_log2(w));
        w->n--;
        dropped++;
    }
    if (!w->n) {
        rg_window_free(w);   /* an idle account keeps no heap buffer */
    } else if (dropped && on_heap(w) && w->n <= RG_WINDOW_INLINE) {
        (void)relocate(w, RG_WINDOW_INLINE);   /* cannot fail: no allocation */
    } else if (dropped && capacity(w) > 8 && w->n * 4 <= capacity(w)) {
        /* After a burst, give memory back; halving leaves room to grow. */
        uint32_t new_cap = capacity(w) / 2;
        while (new_cap > 8 && w->n * 4 <= new_cap)
            new_cap /= 2;
        (void)relocate(w, new_cap);   /* keeping the larger buffer is fine */
    }
    return dropped;
}

int64_t rg_window_at(const rg_window *w, uint32_t i) { return at(w, i); }

int64_t rg_window_oldest(const rg_window *w)
{
    return w->n ? at(w, 0) : INT64_MIN;
}

int64_t rg_window_newest(const rg_window *w)
{
    return w->n ? at(w, w->n - 1) : INT64_MIN;
}

size_t rg_window_heap_bytes(const rg_window *w)
{
    return on_heap(w) ? (size_t)capacity(w) * sizeof(int64_t) + RG_MALLOC_OVERHEAD : 0;
}
