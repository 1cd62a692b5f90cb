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
 * Most ids arrive in time order, and for those the heap is pure cost:
 * the queue (common/ts_queue.h) keeps in-order ids in a FIFO and only the
 * ones that arrive out of order in its heap; entries leave in the same
 * order of ts as from one heap.
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
#include "../common/ts_queue.h"

typedef struct seen_id {
    int64_t ts_ms; /* first seen */
} seen_id;

struct rg_dedupe {
    rg_dedupe_head head;   /* first (dedupe.h): the ids and their queue */
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
    d->head.ids = rg_strmap_new(sizeof(seen_id));
    if (!d->head.ids) {
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
    rg_strmap_free(d->head.ids, NULL);
    rg_ts_queue_free(&d->head.queue);
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

size_t rg_dedupe_size(const rg_dedupe *d) { return rg_strmap_count(d->head.ids); }

size_t rg_dedupe_bytes(const rg_dedupe *d)
{
    return sizeof *d + rg_strmap_bytes(d->head.ids) + rg_ts_queue_bytes(&d->head.queue);
}

/* Oldest ts still remembered: anything older than this is forgotten. */
static int64_t cutoff(const rg_dedupe *d)
{
    /* watermark - (horizon + lateness), saturating: both come from a
     * rule file (any duration) and a loaded watermark may be far from
     * today's times. */
    return rg_sat_sub(d->watermark_ms, rg_sat_add(d->horizon_ms, d->lateness_ms));
}

/* Forget every id older than `oldest` (cutoff(d)). */
static void expire(rg_dedupe *d, int64_t oldest)
{
    for (rg_ts_entry top; rg_ts_queue_take_before(&d->head.queue, oldest, &top);) {
        /* Only the entry of the record's current time removes it. */
        const seen_id *rec = top.rec;
        if (rec->ts_ms == top.ts_ms)
            rg_strmap_del_placed(d->head.ids, top.place, NULL);
    }
    rg_ts_queue_shrink(&d->head.queue);
}

/* Remember rec (place: where it sits in the map) at ts_ms: a new id, or one seen
 * again farther than the horizon and later (its record moves forward to
 * ts_ms; it never moves back, so its current heap entry is always its
 * newest). -1 on allocation failure. */
static int remember(rg_dedupe *d, seen_id *rec, rg_strmap_place place, int64_t ts_ms)
{
    if (rg_ts_queue_push(&d->head.queue, (rg_ts_entry){ts_ms, rec, place}) != 0)
        return -1;
    rec->ts_ms = ts_ms;
    return 0;
}

bool rg_dedupe_check(rg_dedupe *d, const char *id, size_t len, int64_t ts_ms)
{
    if (!d->any || ts_ms > d->watermark_ms) {
        d->watermark_ms = ts_ms;
        d->any = true;
    }
    int64_t oldest = cutoff(d);   /* the watermark is final for this event */
    expire(d, oldest);
    /* One lookup: the record is made at once, and given back in the rare
     * case the id is not to be remembered. */
    bool created;
    rg_strmap_place place;
    seen_id *rec = rg_strmap_put_placed(d->head.ids, id, len, &created, &place);
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
    } else if (ts_ms < oldest) {
        rg_strmap_del_placed(d->head.ids, place, NULL);   /* already beyond what is kept */
        return false;
    }
    if (remember(d, rec, place, ts_ms) != 0 && created)
        rg_strmap_del_placed(d->head.ids, place, NULL);
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
    rg_strmap_item *items = rg_strmap_sorted(d->head.ids, &n);
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
        rg_strmap_place place;
        seen_id *rec = id ? rg_strmap_put_placed(d->head.ids, id, len, &created, &place) : NULL;
        if (!id || (rec && !created))
            rg_reader_fail(in, "event id", id ? "saved twice" : "empty");
        else if (!rec || remember(d, rec, place, ts_ms) != 0)
            rg_reader_fail(in, "event id", "out of memory");
    }
    if (!rg_reader_ok(in))
        return -1;
    d->any = any;
    d->watermark_ms = watermark_ms;
    return 0;
}
