/*
 * dedupe — event_id duplicates within the dedupe horizon (dedupe.h).
 * Owned by the ingest layer; the engine holds one and checkpoints it
 * through save/load.
 *
 * The ids live in a strmap (id -> first-seen ts) and, beside it, in a
 * binary min-heap ordered by that ts. The heap, not a FIFO, because events
 * arrive out of order: an id seen late with an old ts must still be
 * forgotten when its own ts leaves the horizon, not when the ids that
 * arrived before it do. Expiry pops the heap while its top is older than
 * watermark - horizon, so each id costs O(log n) once to insert and once
 * to expire, and nothing is ever scanned.
 *
 * Most ids arrive in time order, and for those the heap is pure cost (a
 * pop sifts through log n levels): an id whose ts is at least that of
 * the last one queued goes to a FIFO instead (a ring, ts non-decreasing
 * by construction), and only the ones that arrive out of order go to the
 * heap. Expiry pops whichever of the two holds the oldest ts, so entries
 * leave in the same order of ts as from one heap.
 *
 * The horizon is inclusive: an event at t' is a duplicate of one at t with
 * the same id when |t' - t| <= horizon. An id seen again farther apart is
 * evaluated, and from then on remembered at the later of its times (a heap
 * entry whose time no longer matches its record is stale: skipped at
 * expiry; the record's own entry is its newest, so it pops last).
 */
#include "dedupe.h"

#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strmap.h"

typedef struct seen_id {
    int64_t ts_ms; /* first seen */
} seen_id;

typedef struct heap_entry {
    int64_t ts_ms;
    seen_id *rec;   /* strmap value record: never moves until deleted */
    uint32_t hash;  /* its table hash: expiry deletes it without hashing the id again */
} heap_entry;

struct rg_dedupe {
    rg_strmap *ids;
    heap_entry *heap;             /* ids that arrived out of order */
    size_t n, cap;
    heap_entry *fifo;             /* ids in time order: a ring of fifo_cap (a power of two) */
    size_t fifo_head, fifo_n, fifo_cap;
    int64_t horizon_ms;
    int64_t lateness_ms;   /* kept this much longer, for late events */
    int64_t watermark_ms;
    bool any;     /* watermark is set */
};

rg_dedupe *rg_dedupe_new(int64_t horizon_ms)
{
    rg_dedupe *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->ids = rg_strmap_new(sizeof(seen_id));
    if (!d->ids) {
        free(d);
        return NULL;
    }
    d->horizon_ms = horizon_ms < 0 ? 0 : horizon_ms;
    return d;
}

void rg_dedupe_free(rg_dedupe *d)
{
    if (!d)
        return;
    rg_strmap_free(d->ids, NULL);
    free(d->heap);
    free(d->fifo);
    free(d);
}

void rg_dedupe_set_horizon(rg_dedupe *d, int64_t horizon_ms)
{
    d->horizon_ms = horizon_ms < 0 ? 0 : horizon_ms;
}

void rg_dedupe_set_lateness(rg_dedupe *d, int64_t lateness_ms)
{
    d->lateness_ms = lateness_ms < 0 ? 0 : lateness_ms;
}

void rg_dedupe_prefetch(const rg_dedupe *d, uint32_t hash, int stage)
{
    rg_strmap_prefetch_hashed(d->ids, hash, stage);
    if (stage == 1 && d->fifo_n)
        __builtin_prefetch(d->fifo[d->fifo_head].rec);
}

size_t rg_dedupe_size(const rg_dedupe *d) { return rg_strmap_count(d->ids); }

size_t rg_dedupe_bytes(const rg_dedupe *d)
{
    return sizeof *d + rg_strmap_bytes(d->ids) + (d->cap + d->fifo_cap) * sizeof *d->heap;
}

static void sift_up(heap_entry *h, size_t i)
{
    heap_entry e = h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h[parent].ts_ms <= e.ts_ms)
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
}

static void sift_down(heap_entry *h, size_t n, size_t i)
{
    heap_entry e = h[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && h[child + 1].ts_ms < h[child].ts_ms)
            child++;
        if (e.ts_ms <= h[child].ts_ms)
            break;
        h[i] = h[child];
        i = child;
    }
    h[i] = e;
}

/* Oldest ts still remembered: anything older than this is forgotten. */
static int64_t cutoff(const rg_dedupe *d)
{
    /* watermark - (horizon + lateness), saturating: both come from a
     * rule file (any duration) and a loaded watermark may be far from
     * today's times. */
    return rg_sat_sub(d->watermark_ms, rg_sat_add(d->horizon_ms, d->lateness_ms));
}

/* Move the ring into `cap` entries (a power of two >= fifo_n), oldest
 * first. -1 on OOM (the ring is unchanged). */
static int fifo_resize(rg_dedupe *d, size_t cap)
{
    heap_entry *f = malloc(cap * sizeof *f);
    if (!f)
        return -1;
    for (size_t i = 0; i < d->fifo_n; i++)
        f[i] = d->fifo[(d->fifo_head + i) & (d->fifo_cap - 1)];
    free(d->fifo);
    d->fifo = f;
    d->fifo_cap = cap;
    d->fifo_head = 0;
    return 0;
}

/* The oldest entry of the two queues, or NULL when both are empty. */
static heap_entry *oldest_entry(rg_dedupe *d, bool *in_fifo)
{
    heap_entry *f = d->fifo_n ? &d->fifo[d->fifo_head] : NULL;
    heap_entry *h = d->n ? &d->heap[0] : NULL;
    *in_fifo = f && (!h || f->ts_ms <= h->ts_ms);
    return *in_fifo ? f : h;
}

static void expire(rg_dedupe *d)
{
    int64_t oldest = cutoff(d);
    bool in_fifo;
    for (heap_entry *top; (top = oldest_entry(d, &in_fifo)) && top->ts_ms < oldest;) {
        /* Only the entry of the record's current time removes it. */
        if (top->rec->ts_ms == top->ts_ms)
            rg_strmap_del_value(d->ids, top->rec, top->hash, NULL);
        if (in_fifo) {
            d->fifo_head = (d->fifo_head + 1) & (d->fifo_cap - 1);
            d->fifo_n--;
            continue;
        }
        d->heap[0] = d->heap[--d->n];
        if (d->n > 0)
            sift_down(d->heap, d->n, 0);
    }
    /* Give memory back after a burst, so the footprint follows the ids
     * within one horizon rather than the peak. */
    if (d->cap > 1024 && d->n < d->cap / 4) {
        heap_entry *h = realloc(d->heap, d->cap / 2 * sizeof *h);
        if (h) {
            d->heap = h;
            d->cap /= 2;
        }
    }
    if (d->fifo_cap > 1024 && d->fifo_n < d->fifo_cap / 4)
        (void)fifo_resize(d, d->fifo_cap / 2);
}

/* Remember rec (hash: its table hash) at ts_ms: a new id, or one seen
 * again farther than the horizon and later (its record moves forward to
 * ts_ms; it never moves back, so its current heap entry is always its
 * newest). -1 on allocation failure. */
static int remember(rg_dedupe *d, seen_id *rec, uint32_t hash, int64_t ts_ms)
{
    /* In time order (not older than the newest queued): the FIFO. */
    if (!d->fifo_n || d->fifo[(d->fifo_head + d->fifo_n - 1) & (d->fifo_cap - 1)].ts_ms <= ts_ms) {
        if (d->fifo_n == d->fifo_cap && fifo_resize(d, d->fifo_cap ? d->fifo_cap * 2 : 256) != 0)
            return -1;
        rec->ts_ms = ts_ms;
        d->fifo[(d->fifo_head + d->fifo_n++) & (d->fifo_cap - 1)] = (heap_entry){ts_ms, rec, hash};
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        heap_entry *h = realloc(d->heap, cap * sizeof *h);
        if (!h)
            return -1;
        d->heap = h;
        d->cap = cap;
    }
    rec->ts_ms = ts_ms;
    d->heap[d->n] = (heap_entry){ts_ms, rec, hash};
    sift_up(d->heap, d->n++);
    return 0;
}

bool rg_dedupe_check(rg_dedupe *d, const char *id, size_t len, int64_t ts_ms)
{
    if (!d->any || ts_ms > d->watermark_ms) {
        d->watermark_ms = ts_ms;
        d->any = true;
    }
    expire(d);
    /* One lookup: the record is made at once, and given back in the rare
     * case the id is not to be remembered. */
    bool created;
    uint32_t hash;
    seen_id *rec = rg_strmap_put_hashed(d->ids, id, len, &created, &hash);
    if (!rec)
        return false;   /* out of memory: evaluated, not remembered */
    if (!created) {
        /* |ts - seen| <= horizon, without overflow. */
        uint64_t apart = ts_ms >= rec->ts_ms ? (uint64_t)ts_ms - (uint64_t)rec->ts_ms
                                             : (uint64_t)rec->ts_ms - (uint64_t)ts_ms;
        if (apart <= (uint64_t)d->horizon_ms)
            return true;
        if (ts_ms < rec->ts_ms)
            return false; /* an older sighting far apart: evaluated, the newer one stays remembered */
    } else if (ts_ms < cutoff(d)) {
        rg_strmap_del_value(d->ids, rec, hash, NULL);   /* already beyond what is kept */
        return false;
    }
    if (remember(d, rec, hash, ts_ms) != 0 && created)
        rg_strmap_del_value(d->ids, rec, hash, NULL);
    return false;
}

/* Format: whether any id was seen, the watermark (highest ts checked,
 * duplicates included: it decides what is forgotten), then the ids in key
 * order with their first-seen ts. The heap is rebuilt: expiry removes
 * every id older than the cutoff, so the order among equal times in it
 * never shows. */
int rg_dedupe_save(const rg_dedupe *d, rg_strbuf *out)
{
    rg_put_u8(out, d->any);
    rg_put_i64(out, d->watermark_ms);
    size_t n;
    rg_strmap_item *items = rg_strmap_sorted(d->ids, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        rg_put_str(out, items[i].key, items[i].keylen);
        rg_put_i64(out, ((const seen_id *)items[i].value)->ts_ms);
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

int rg_dedupe_load(rg_dedupe *d, rg_reader *in)
{
    uint8_t any = rg_get_u8(in, "dedupe flag");
    int64_t watermark_ms = rg_get_mark(in, "dedupe watermark");
    uint32_t n = rg_get_count(in, 4 + 8, "event id count");
    if (rg_reader_ok(in) && any > 1)
        rg_reader_fail(in, "dedupe flag", "not 0 or 1");
    for (uint32_t i = 0; i < n && rg_reader_ok(in); i++) {
        size_t len;
        const char *id = rg_get_str(in, 1024, &len, "event id");
        int64_t ts_ms = rg_get_ts(in, "event id ts");
        if (!rg_reader_ok(in))
            break;
        bool created = false;
        uint32_t hash;
        seen_id *rec = id ? rg_strmap_put_hashed(d->ids, id, len, &created, &hash) : NULL;
        if (!id || (rec && !created))
            rg_reader_fail(in, "event id", id ? "saved twice" : "empty");
        else if (!rec || remember(d, rec, hash, ts_ms) != 0)
            rg_reader_fail(in, "event id", "out of memory");
    }
    if (!rg_reader_ok(in))
        return -1;
    d->any = any;
    d->watermark_ms = watermark_ms;
    return 0;
}
