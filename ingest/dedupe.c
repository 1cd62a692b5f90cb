/*
 * dedupe — event_id duplicates within the dedupe horizon (dedupe.h).
 * Owned by the ingest layer; the engine holds one and checkpoints it
 * through save/load.
 *
 * The ids live in two strmaps (id -> the ts it is remembered at), a young
 * one and an old one, by when they were put in: an id goes into the young
 * map, and every id in the old map was put in while the watermark was at
 * most `young_since`, so its ts is at most that too (a ts never exceeds
 * the watermark of its check). An id is forgotten once its ts is below
 * the cutoff (watermark - horizon - lateness): `floor`, the cutoff of the
 * last check, below which a record held is dead, read as absent. Once the
 * floor passes young_since, every id in the old map is dead: the old map
 * is cleared (a memset of its table, its records kept for reuse) and the
 * two swap. So an id costs one insert and, at the check, one more lookup
 * (the old map's); nothing is deleted one by one, nothing is scanned, and
 * no expiry queue is kept. Until issue 16's eleventh round a time-ordered
 * queue (common/ts_queue.h) deleted each id as the cutoff passed it: an
 * insert, a queue push and pop, and a delete per event, 401 instructions
 * against 267 now (docs/state.md "Dedupe").
 *
 * What is remembered is exactly what that queue kept: the records at or
 * above the floor. The dead ones left in the maps until a clear change no
 * answer (read as absent), no checkpoint (save writes the live ones) and
 * no count (rg_dedupe_size counts the live ones). The price is memory:
 * the ids of up to two spans of horizon + lateness, not one (dedupe.h).
 *
 * The horizon is inclusive: an event at t' is a duplicate of one at t with
 * the same id when |t' - t| <= horizon. An id seen again farther apart is
 * evaluated, and from then on remembered at the later of its times (in
 * the young map: a record of the old one moves there, as its new ts may
 * be past young_since).
 *
 * The floor only rises while the horizon and lateness stay; when either
 * changes, the cutoff may fall below it, so the dead records are deleted
 * first (set_horizon, set_lateness): a record the old cutoff forgot must
 * not come back under a lower one.
 */
#include "dedupe.h"

#include <stdlib.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strmap.h"

typedef struct seen_id {
    int64_t ts_ms; /* remembered at */
} seen_id;

struct rg_dedupe {
    rg_dedupe_head head;   /* first (dedupe.h): the two maps */
    int64_t horizon_ms;
    int64_t lateness_ms;   /* kept this much longer, for late events */
    int64_t watermark_ms;
    int64_t floor_ms;      /* records with a ts below it are dead; INT64_MIN: none */
    int64_t young_since_ms;   /* every record of the old map has a ts at most this */
    bool any;     /* watermark is set */
};

rg_dedupe *rg_dedupe_new(int64_t horizon_ms)
{
    rg_dedupe *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->head.young = rg_strmap_new_fitted(sizeof(seen_id), RG_STRMAP_FIT_ID);
    d->head.old = rg_strmap_new_fitted(sizeof(seen_id), RG_STRMAP_FIT_ID);
    if (!d->head.young || !d->head.old) {
        rg_dedupe_free(d);
        return NULL;
    }
    d->horizon_ms = horizon_ms < 0 ? 0 : horizon_ms;
    d->floor_ms = INT64_MIN;
    d->young_since_ms = INT64_MIN;
    return d;
}

void rg_dedupe_free(rg_dedupe *d)
{
    if (!d)
        return;
    rg_strmap_free(d->head.young, NULL);
    rg_strmap_free(d->head.old, NULL);
    free(d);
}

static bool is_dead(void *value, void *arg)
{
    return ((const seen_id *)value)->ts_ms < *(const int64_t *)arg;
}

static bool is_live(void *value, void *arg) { return !is_dead(value, arg); }

/* Delete the dead records now (before the cutoff's rule changes). */
static void purge_dead(rg_dedupe *d)
{
    if (d->floor_ms == INT64_MIN)
        return;
    rg_strmap_sweep(d->head.young, is_live, &d->floor_ms, NULL);
    rg_strmap_sweep(d->head.old, is_live, &d->floor_ms, NULL);
}

void rg_dedupe_set_horizon(rg_dedupe *d, int64_t horizon_ms)
{
    purge_dead(d);
    d->horizon_ms = horizon_ms < 0 ? 0 : horizon_ms;
}

void rg_dedupe_set_lateness(rg_dedupe *d, int64_t lateness_ms)
{
    purge_dead(d);
    d->lateness_ms = lateness_ms < 0 ? 0 : lateness_ms;
}

typedef struct live_count {
    int64_t floor_ms;
    size_t n;
} live_count;

static bool count_live(const char *key, size_t keylen, void *value, void *arg)
{
    (void)key, (void)keylen;
    live_count *c = arg;
    c->n += !is_dead(value, &c->floor_ms);
    return true;
}

/* A walk of both maps: for stats and tests, not per event. */
size_t rg_dedupe_size(const rg_dedupe *d)
{
    live_count c = {d->floor_ms, 0};
    rg_strmap_foreach(d->head.young, count_live, &c);
    rg_strmap_foreach(d->head.old, count_live, &c);
    return c.n;
}

size_t rg_dedupe_bytes(const rg_dedupe *d)
{
    return sizeof *d + rg_strmap_bytes(d->head.young) + rg_strmap_bytes(d->head.old);
}

/* Oldest ts still remembered: anything older than this is forgotten. */
static int64_t cutoff(const rg_dedupe *d)
{
    /* watermark - (horizon + lateness), saturating: both come from a
     * rule file (any duration) and a loaded watermark may be far from
     * today's times. */
    return rg_sat_sub(d->watermark_ms, rg_sat_add(d->horizon_ms, d->lateness_ms));
}

/* Whether ts_ms is within the horizon of a record's ts (inclusive),
 * without overflow. */
static bool within_horizon(const rg_dedupe *d, int64_t seen_ms, int64_t ts_ms)
{
    uint64_t apart = ts_ms >= seen_ms ? (uint64_t)ts_ms - (uint64_t)seen_ms : (uint64_t)seen_ms - (uint64_t)ts_ms;
    return apart <= (uint64_t)d->horizon_ms;
}

bool rg_dedupe_check(rg_dedupe *d, const char *id, size_t len, int64_t ts_ms)
{
    if (!d->any || ts_ms > d->watermark_ms) {
        d->watermark_ms = ts_ms;
        d->any = true;
    }
    int64_t oldest = d->floor_ms = cutoff(d);   /* the watermark is final for this event */
    if (oldest > d->young_since_ms) {
        /* Every record of the old map is dead: clear it, and the young
         * map becomes the old one. */
        rg_strmap *cleared = d->head.old;
        rg_strmap_clear(cleared, NULL);
        d->head.old = d->head.young;
        d->head.young = cleared;
        d->young_since_ms = d->watermark_ms;
    }
    uint32_t h = rg_strmap_hash(id, len);
    /* The young map first, its record made at once (an id is almost
     * always new). NULL only when it was absent and could not be made. */
    bool created;
    rg_strmap_place place;
    seen_id *rec = rg_strmap_put_placed_hashed(d->head.young, id, len, h, &created, &place);
    if (rec && !created) {
        /* Known young (the old map then holds it dead or not at all: a
         * record leaves the old map when the id is remembered anew). */
        if (rec->ts_ms >= oldest) {
            if (within_horizon(d, rec->ts_ms, ts_ms))
                return true;
            if (ts_ms > rec->ts_ms)
                rec->ts_ms = ts_ms;   /* seen again farther apart and later */
            return false;   /* else an older sighting far apart: evaluated, the newer one stays */
        }
        if (ts_ms >= oldest)
            rec->ts_ms = ts_ms;   /* dead, read as absent: remembered anew */
        return false;
    }
    /* New to the young map: the old one may know it. */
    seen_id *in_old = rg_strmap_get_hashed(d->head.old, id, len, h);
    if (in_old && in_old->ts_ms >= oldest) {
        bool duplicate = within_horizon(d, in_old->ts_ms, ts_ms);
        if (duplicate || ts_ms < in_old->ts_ms || !rec) {
            if (rec)
                rg_strmap_del_placed(d->head.young, place, NULL);
            return duplicate;   /* (without memory for the move, it stays at its older time) */
        }
        rec->ts_ms = ts_ms;   /* seen again farther apart and later: remembered young */
        rg_strmap_del(d->head.old, id, len, NULL);
        return false;
    }
    if (!rec)
        return false;   /* out of memory: evaluated, not remembered */
    if (ts_ms < oldest) {
        rg_strmap_del_placed(d->head.young, place, NULL);   /* already beyond what is kept */
        return false;
    }
    rec->ts_ms = ts_ms;
    return false;
}

/* Format: whether any id was seen, the watermark (highest ts checked,
 * duplicates included: it decides what is forgotten), then the live ids
 * in key order with the ts they are remembered at. Both maps' (their
 * live ids are distinct: see rg_dedupe_check); which map an id was in
 * is not saved: a load puts them all in the young one. */

/* Keep the live items of a sorted list (in place): their count. */
static size_t keep_live(const rg_dedupe *d, rg_strmap_item *items, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (((const seen_id *)items[i].value)->ts_ms >= d->floor_ms)
            items[kept++] = items[i];
    return kept;
}

static void put_id(rg_strbuf *out, const rg_strmap_item *item)
{
    rg_put_str(out, item->key, item->keylen);
    rg_put_i64(out, ((const seen_id *)item->value)->ts_ms);
}

int rg_dedupe_save(const rg_dedupe *d, rg_strbuf *out)
{
    rg_put_u8(out, d->any);
    rg_put_i64(out, d->watermark_ms);
    size_t n_young, n_old;
    rg_strmap_item *young = rg_strmap_sorted(d->head.young, &n_young);
    rg_strmap_item *old = rg_strmap_sorted(d->head.old, &n_old);
    if (!young || !old) {
        free(young);
        free(old);
        return -1;
    }
    n_young = keep_live(d, young, n_young);
    n_old = keep_live(d, old, n_old);
    rg_put_u32(out, (uint32_t)(n_young + n_old));
    for (size_t y = 0, o = 0; y < n_young || o < n_old;) {
        if (o == n_old || (y < n_young && rg_strmap_item_cmp(&young[y], &old[o]) < 0))
            put_id(out, &young[y++]);
        else
            put_id(out, &old[o++]);
    }
    free(young);
    free(old);
    return rg_strbuf_ok(out) ? 0 : -1;
}

int rg_dedupe_load(rg_dedupe *d, rg_reader *in)
{
    uint8_t any = rg_get_u8(in, "dedupe flag");
    int64_t watermark_ms = rg_get_mark(in, "dedupe watermark");
    uint32_t n = rg_get_count(in, 4 + 8, "event id count");
    if (rg_reader_ok(in) && any > 1)
        rg_reader_fail(in, "dedupe flag", "not 0 or 1");
    /* Every id goes young; the old map is cleared once the cutoff passes
     * them all (a saved ts past the watermark included). */
    int64_t young_since_ms = watermark_ms;
    for (uint32_t i = 0; i < n && rg_reader_ok(in); i++) {
        size_t len;
        const char *id = rg_get_str(in, 1024, &len, "event id");
        int64_t ts_ms = rg_get_ts(in, "event id ts");
        if (!rg_reader_ok(in))
            break;
        bool created = false;
        seen_id *rec = id ? rg_strmap_put(d->head.young, id, len, &created) : NULL;
        if (!id || (rec && !created))
            rg_reader_fail(in, "event id", id ? "saved twice" : "empty");
        else if (!rec)
            rg_reader_fail(in, "event id", "out of memory");
        else
            rec->ts_ms = ts_ms;
        if (ts_ms > young_since_ms)
            young_since_ms = ts_ms;
    }
    if (!rg_reader_ok(in))
        return -1;
    d->any = any;
    d->watermark_ms = watermark_ms;
    d->floor_ms = INT64_MIN;   /* every id loaded is held, until the next check's cutoff */
    d->young_since_ms = young_since_ms;
    return 0;
}
