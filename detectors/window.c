/*
 * window — sorted timestamp ring of 32-bit offsets from a caller's base;
 * see window.h for the contract. Owner: detectors.
 *
 * Three storages, by the meta word's top bits:
 *   INLINE  up to 3 offsets in the struct (word, rel[0], rel[1]), sorted,
 *           the count in the meta word's low bits;
 *   NARROW  a heap ring of uint32 offsets;
 *   WIDE    a heap ring of int64 timestamps (entries that do not fit the
 *           base, so answers stay exact whatever the times).
 * Every operation reads and writes entries through at()/set(), by logical
 * index (0 = oldest), as int64 timestamps.
 */
#include "window.h"

#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"

enum storage { INLINE = 0, NARROW = 1, WIDE = 2 };

#define KIND_SHIFT 30
#define HEAD_BITS 25
#define HEAD_MASK ((UINT32_C(1) << HEAD_BITS) - 1)
#define LOG2_MASK UINT32_C(0x1f)
#define MAX_CAP_LOG2 HEAD_BITS   /* the head must fit its bits */
#define MIN_HEAP_CAP 4
#define MIN_HEAP_CAP_LOG2 2
_Static_assert(UINT32_C(1) << MIN_HEAP_CAP_LOG2 == MIN_HEAP_CAP && MIN_HEAP_CAP == RG_WINDOW_INLINE + 1,
               "a full inline window grows into the smallest ring, which its entries and one more fill");
#define OFFSET_MAX INT64_C(0xffffffff)

static enum storage kind(const rg_window *w) { return (enum storage)(w->meta >> KIND_SHIFT); }
static uint32_t head_of(const rg_window *w) { return w->meta & HEAD_MASK; }
static uint32_t cap_log2(const rg_window *w) { return (w->meta >> HEAD_BITS) & LOG2_MASK; }

static uint32_t capacity(const rg_window *w)
{
    return kind(w) == INLINE ? RG_WINDOW_INLINE : UINT32_C(1) << cap_log2(w);
}


static void set_len(rg_window *w, uint32_t n)
{
    if (kind(w) == INLINE)
        w->meta = n;
    else
        w->word = n;
}

static void set_heap(rg_window *w, enum storage k, uint32_t head, uint32_t log2_cap)
{
    w->meta = (uint32_t)k << KIND_SHIFT | log2_cap << HEAD_BITS | (head & HEAD_MASK);
}

static bool fits(int64_t base_ms, int64_t ts_ms)
{
    /* Compared without subtracting first: ts - base could overflow when
     * one of them is far from the other. */
    return ts_ms >= base_ms && ts_ms - base_ms <= OFFSET_MAX;
}

static uint32_t *inline_slot(rg_window *w, uint32_t i) { return i == 0 ? &w->word : &w->u.rel[i - 1]; }

static uint32_t inline_get(const rg_window *w, uint32_t i) { return i == 0 ? w->word : w->u.rel[i - 1]; }

/* Ring slot of logical index i (heap storages). */
static uint32_t slot(const rg_window *w, uint32_t i) { return (head_of(w) + i) & (capacity(w) - 1); }

static int64_t at(const rg_window *w, int64_t base_ms, uint32_t i)
{
    switch (kind(w)) {
    case INLINE:
        return base_ms + inline_get(w, i);
    case NARROW:
        return base_ms + w->u.narrow[slot(w, i)];
    default:
        return w->u.wide[slot(w, i)];
    }
}

void rg_window_prefetch_ring(const rg_window *w)
{
    enum storage k = kind(w);
    if (k == INLINE)
        return;
    size_t entry = k == NARROW ? sizeof(uint32_t) : sizeof(int64_t);
    const char *ring = k == NARROW ? (const char *)w->u.narrow : (const char *)w->u.wide;
    size_t bytes = (size_t)capacity(w) * entry;
    if (bytes <= 256) {
        for (size_t off = 0; off < bytes; off += 64)
            __builtin_prefetch(ring + off);
        return;
    }
    /* A long ring: the ends a trim and an append touch (a count's binary
     * search reads a few lines between them). */
    uint32_t n = rg_window_len(w);
    __builtin_prefetch(ring + (size_t)slot(w, 0) * entry);
    if (n)
        __builtin_prefetch(ring + (size_t)slot(w, n - 1) * entry);
}

/* ts_ms must fit the base unless the window is wide. */
static void set(rg_window *w, int64_t base_ms, uint32_t i, int64_t ts_ms)
{
    switch (kind(w)) {
    case INLINE:
        *inline_slot(w, i) = (uint32_t)(ts_ms - base_ms);
        break;
    case NARROW:
        w->u.narrow[slot(w, i)] = (uint32_t)(ts_ms - base_ms);
        break;
    default:
        w->u.wide[slot(w, i)] = ts_ms;
        break;
    }
}

void rg_window_init(rg_window *w) { memset(w, 0, sizeof *w); }

void rg_window_free(rg_window *w)
{
    if (!w)
        return;
    if (kind(w) == NARROW)
        free(w->u.narrow);
    else if (kind(w) == WIDE)
        free(w->u.wide);
    rg_window_init(w);
}

/* First logical index whose timestamp is > x (len when none). */
static uint32_t upper_bound(const rg_window *w, int64_t base_ms, int64_t x)
{
    uint32_t lo = 0, hi = rg_window_len(w);
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (at(w, base_ms, mid) <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint32_t rg_window_count_at(const rg_window *w, int64_t base_ms, int64_t lo_ms, int64_t hi_ms)
{
    uint32_t n = rg_window_len(w);
    if (!n || hi_ms <= lo_ms)
        return 0;
    /* Fast path: the usual query is "up to now", past the newest entry. */
    uint32_t upto = at(w, base_ms, n - 1) <= hi_ms ? n : upper_bound(w, base_ms, hi_ms);
    uint32_t before = at(w, base_ms, 0) > lo_ms ? 0 : upper_bound(w, base_ms, lo_ms);
    return upto > before ? upto - before : 0;
}

static uint32_t log2_of(uint32_t pow2)
{
    uint32_t l = 0;
    while ((UINT32_C(1) << l) < pow2)
        l++;
    return l;
}

/* Move the entries, oldest first, into storage `to` of capacity new_cap
 * (a power of two >= len for a heap ring; ignored for INLINE). INLINE and
 * NARROW need every entry to fit the base. -1 on OOM (nothing changed). */
static int relocate(rg_window *w, int64_t base_ms, enum storage to, uint32_t new_cap)
{
    uint32_t n = rg_window_len(w);
    rg_window moved;
    rg_window_init(&moved);
    if (to != INLINE) {
        void *buf = malloc((size_t)new_cap * (to == WIDE ? sizeof(int64_t) : sizeof(uint32_t)));
        if (!buf)
            return -1;
        if (to == WIDE)
            moved.u.wide = buf;
        else
            moved.u.narrow = buf;
        set_heap(&moved, to, 0, log2_of(new_cap));
    }
    set_len(&moved, n);
    for (uint32_t i = 0; i < n; i++)
        set(&moved, base_ms, i, at(w, base_ms, i));
    rg_window_free(w);
    *w = moved;
    return 0;
}

static bool all_fit(const rg_window *w, int64_t base_ms)
{
    uint32_t n = rg_window_len(w);
    return !n || (fits(base_ms, at(w, base_ms, 0)) && fits(base_ms, at(w, base_ms, n - 1)));
}

int rg_window_insert_at(rg_window *w, int64_t base_ms, int64_t ts_ms)
{
    uint32_t n = rg_window_len(w);
    if (kind(w) != WIDE && !fits(base_ms, ts_ms)) {
        /* Exact whatever the times: this window keeps full timestamps
         * until it empties or is trimmed back into range. */
        uint32_t cap = MIN_HEAP_CAP;
        while (cap < n + 1)
            cap *= 2;
        if (relocate(w, base_ms, WIDE, cap) != 0)
            return -1;
    } else if (n == capacity(w)) {
        uint32_t grown = kind(w) == INLINE ? MIN_HEAP_CAP : capacity(w) * 2;
        enum storage to = kind(w) == INLINE ? NARROW : kind(w);
        if (log2_of(grown) > MAX_CAP_LOG2 || relocate(w, base_ms, to, grown) != 0)
            return -1;
    }
    /* In order (the usual case) the new entry goes last; a late one goes
     * after every equal timestamp, shifting the newer ones up by one. */
    uint32_t pos = (n && at(w, base_ms, n - 1) > ts_ms) ? upper_bound(w, base_ms, ts_ms) : n;
    set_len(w, n + 1);
    for (uint32_t i = n; i > pos; i--)
        set(w, base_ms, i, at(w, base_ms, i - 1));
    set(w, base_ms, pos, ts_ms);
    return 0;
}

int rg_window_grow_narrow(rg_window *w, uint32_t off)
{
    /* What rg_window_insert_at does here: relocate's ring of MIN_HEAP_CAP,
     * head 0, the three offsets oldest first, then the append. */
    uint32_t *ring = malloc(MIN_HEAP_CAP * sizeof *ring);
    if (!ring)
        return -1;
    ring[0] = w->word;
    ring[1] = w->u.rel[0];
    ring[2] = w->u.rel[1];
    ring[3] = off;
    set_heap(w, NARROW, 0, MIN_HEAP_CAP_LOG2);
    w->word = MIN_HEAP_CAP;
    w->u.narrow = ring;
    return 0;
}

int rg_window_grow_ring(rg_window *w, uint32_t off)
{
    /* What rg_window_insert_at does here: relocate to a ring of twice the
     * room (none past MAX_CAP_LOG2), head 0, then the append. */
    uint32_t n = w->word, log2_cap = cap_log2(w) + 1;
    if (log2_cap > MAX_CAP_LOG2)
        return -1;
    uint32_t *ring = malloc(((size_t)1 << log2_cap) * sizeof *ring);
    if (!ring)
        return -1;
    const uint32_t *old = w->u.narrow;
    uint32_t head = head_of(w), to_end = n - head;   /* full: n is the old room */
    memcpy(ring, old + head, (size_t)to_end * sizeof *ring);
    memcpy(ring + to_end, old, (size_t)head * sizeof *ring);
    ring[n] = off;
    free(w->u.narrow);
    set_heap(w, NARROW, 0, log2_cap);
    w->word = n + 1;
    w->u.narrow = ring;
    return 0;
}

int rg_window_remove(rg_window *w, int64_t base_ms, int64_t ts_ms)
{
    uint32_t n = rg_window_len(w);
    uint32_t pos = upper_bound(w, base_ms, ts_ms);
    if (pos == 0 || at(w, base_ms, pos - 1) != ts_ms)
        return 0;
    for (uint32_t i = pos - 1; i + 1 < n; i++)
        set(w, base_ms, i, at(w, base_ms, i + 1));
    set_len(w, n - 1);
    if (n == 1)
        rg_window_free(w);
    return 1;
}

/* After a burst, give memory back: a heap ring holding a quarter of its
 * room or less is halved while that holds (halving leaves room to grow).
 * A failed relocation keeps the bigger buffer: fine. */
static void shrink_ring(rg_window *w, int64_t base_ms, uint32_t left)
{
    if (capacity(w) > 8 && left * 4 <= capacity(w)) {
        uint32_t new_cap = capacity(w) / 2;
        while (new_cap > 8 && left * 4 <= new_cap)
            new_cap /= 2;
        (void)relocate(w, base_ms, kind(w), new_cap);
    }
}

/* rg_window_trim past its inline checks. */
uint32_t rg_window_trim_some(rg_window *w, int64_t base_ms, int64_t cutoff_ms)
{
    uint32_t n = rg_window_len(w);
    uint32_t dropped = 0;
    while (dropped < n && at(w, base_ms, dropped) <= cutoff_ms)
        dropped++;
    if (!dropped)
        return 0;
    if (dropped == n) {
        rg_window_free(w);   /* an idle account keeps no heap buffer */
        return dropped;
    }
    uint32_t left = n - dropped;
    if (kind(w) == INLINE) {
        for (uint32_t i = 0; i < left; i++)
            *inline_slot(w, i) = inline_get(w, i + dropped);
    } else {
        set_heap(w, kind(w), slot(w, dropped), cap_log2(w));
    }
    set_len(w, left);
    /* Failed relocations below keep the bigger or wider buffer: fine. */
    if (kind(w) != INLINE && left <= RG_WINDOW_INLINE && all_fit(w, base_ms)) {
        (void)relocate(w, base_ms, INLINE, 0);   /* cannot fail: no allocation */
    } else if (kind(w) == WIDE && all_fit(w, base_ms)) {
        (void)relocate(w, base_ms, NARROW, capacity(w));
    } else if (kind(w) != INLINE) {
        shrink_ring(w, base_ms, left);
    }
    return dropped;
}

/* rg_window_trim_some of an inline window: the entries that stay move
 * down, the slots past them keep what they held, as there. */
static uint32_t trim_inline(rg_window *w, int64_t base_ms, int64_t cutoff_ms)
{
    uint32_t n = w->meta, held[RG_WINDOW_INLINE] = {w->word, w->u.rel[0], w->u.rel[1]};
    uint32_t dropped = 0;
    while (dropped < n && base_ms + (int64_t)held[dropped] <= cutoff_ms)
        dropped++;
    if (!dropped)
        return 0;
    if (dropped == n) {
        rg_window_init(w);   /* what rg_window_free does to an inline window */
        return dropped;
    }
    for (uint32_t i = 0; i < n - dropped; i++)
        *inline_slot(w, i) = held[i + dropped];
    w->meta = n - dropped;
    return dropped;
}

/* rg_window_trim_some of a narrow ring. */
static uint32_t trim_narrow(rg_window *w, int64_t base_ms, int64_t cutoff_ms)
{
    const uint32_t *ring = w->u.narrow;
    uint32_t n = w->word, mask = capacity(w) - 1, head = head_of(w);
    uint32_t dropped = 0;
    while (dropped < n && base_ms + (int64_t)ring[(head + dropped) & mask] <= cutoff_ms)
        dropped++;
    if (!dropped)
        return 0;
    if (dropped == n) {
        rg_window_free(w);   /* an idle account keeps no heap buffer */
        return dropped;
    }
    uint32_t left = n - dropped;
    if (left > RG_WINDOW_INLINE) {   /* still a ring */
        set_heap(w, NARROW, (head + dropped) & mask, cap_log2(w));
        w->word = left;
        shrink_ring(w, base_ms, left);
        return dropped;
    }
    /* Back inline, as relocate makes it: every narrow entry fits the base
     * (all_fit), the unused slots zero. */
    rg_window moved;
    rg_window_init(&moved);
    moved.meta = left;
    head += dropped;
    moved.word = ring[head & mask];
    for (uint32_t i = 1; i < left; i++)
        moved.u.rel[i - 1] = ring[(head + i) & mask];
    rg_window_free(w);
    *w = moved;
    return dropped;
}

uint32_t rg_window_trim_by_kind(rg_window *w, int64_t base_ms, int64_t cutoff_ms)
{
    switch (kind(w)) {
    case INLINE:
        return trim_inline(w, base_ms, cutoff_ms);
    case NARROW:
        return trim_narrow(w, base_ms, cutoff_ms);
    default:
        return rg_window_trim_some(w, base_ms, cutoff_ms);
    }
}

int64_t rg_window_at(const rg_window *w, int64_t base_ms, uint32_t i) { return at(w, base_ms, i); }

int64_t rg_window_newest(const rg_window *w, int64_t base_ms)
{
    uint32_t n = rg_window_len(w);
    return n ? at(w, base_ms, n - 1) : INT64_MIN;
}

bool rg_window_group_refit(rg_window *ws, size_t n, int64_t *base_ms, int64_t ts_ms)
{
    if (fits(*base_ms, ts_ms))
        return true;
    int64_t lo = ts_ms, hi = ts_ms;
    for (size_t i = 0; i < n; i++) {
        uint32_t len = rg_window_len(&ws[i]);
        if (kind(&ws[i]) == WIDE || !len)
            continue;
        int64_t oldest = at(&ws[i], *base_ms, 0), newest = at(&ws[i], *base_ms, len - 1);
        lo = oldest < lo ? oldest : lo;
        hi = newest > hi ? newest : hi;
    }
    if (hi - lo > OFFSET_MAX)
        return false;
    /* Centre the span in the offsets' range, so that later events and
     * late ones both fit for as long as possible. */
    int64_t new_base = lo - (OFFSET_MAX - (hi - lo)) / 2;
    for (size_t i = 0; i < n; i++) {
        rg_window *w = &ws[i];
        if (kind(w) == WIDE)
            continue;
        uint32_t len = rg_window_len(w);
        for (uint32_t j = 0; j < len; j++)
            set(w, new_base, j, at(w, *base_ms, j));
    }
    *base_ms = new_base;
    return true;
}

size_t rg_window_heap_bytes(const rg_window *w)
{
    switch (kind(w)) {
    case NARROW:
        return rg_heap_block_bytes(w->u.narrow, (size_t)capacity(w) * sizeof(uint32_t));
    case WIDE:
        return rg_heap_block_bytes(w->u.wide, (size_t)capacity(w) * sizeof(int64_t));
    default:
        return 0;
    }
}

size_t rg_window_entry_bytes(const rg_window *w)
{
    return (size_t)rg_window_len(w) * (kind(w) == WIDE ? sizeof(int64_t) : sizeof(uint32_t));
}
