/*
 * record_cache — the record an event's key maps to, looked up once per
 * event per family.
 *
 * Owner: detectors. A claim asks the packets family up to four names and
 * then folds the claim in; without this each would probe the map again
 * (a likely cache miss on a big map). The cache holds between a family's
 * first lookup for an event and its update() (or expire()), which reset
 * it: records are only created or deleted there, so a cached pointer (or
 * a cached "absent") cannot go stale while it is used. The event pointer,
 * its ts and type identify the event, as parsers reuse one struct.
 */
#ifndef RG_RECORD_CACHE_H
#define RG_RECORD_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/strmap.h"
#include "account_store.h"
#include "../ingest/event.h"

typedef struct rg_record_cache {
    const rg_event *ev;   /* NULL: empty */
    int64_t ts_ms;
    rg_event_type type;
    void *record;         /* NULL: the key has no record */
} rg_record_cache;

static inline void *rg_record_cache_get(rg_record_cache *c, const rg_strmap *m, const rg_event *ev,
                                        const char *key, size_t keylen)
{
    if (c->ev == ev && c->ts_ms == ev->ts_ms && c->type == ev->type)
        return c->record;
    c->record = rg_strmap_get(m, key, keylen);
    c->ev = ev;
    c->ts_ms = ev->ts_ms;
    c->type = ev->type;
    return c->record;
}

/* The same over a slice of the shared account store. */
static inline void *rg_record_cache_slice(rg_record_cache *c, const rg_account_slice *sl, const rg_event *ev,
                                          const char *key, size_t keylen)
{
    if (c->ev == ev && c->ts_ms == ev->ts_ms && c->type == ev->type)
        return c->record;
    c->record = rg_account_get(sl, key, keylen);
    c->ev = ev;
    c->ts_ms = ev->ts_ms;
    c->type = ev->type;
    return c->record;
}

static inline void rg_record_cache_reset(rg_record_cache *c)
{
    c->ev = NULL;
    c->record = NULL;
}

#endif
