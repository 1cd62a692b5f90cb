/*
 * seen_ids — the engine's memory of event ids, to drop an event_id seen
 * again within the dedupe horizon (detection.md), and to checkpoint it.
 *
 * Owner: decisions. Same contract and algorithm as ingest/dedupe.h
 * (which the engine used before): an id is remembered with the event time
 * it was first seen at; a later event with the same id is a duplicate
 * while the id is remembered; ids are forgotten once their time falls
 * more than the horizon behind the watermark (the highest ts checked).
 * This copy exists because a checkpoint must list the ids held, and the
 * engine owns its checkpoint: save/load are the only additions. Should
 * ingest/dedupe.h grow save/load, the engine can go back to it.
 *
 * Deterministic: the answer depends only on the sequence of (id, ts)
 * given (and, after a load, on the state saved). Not thread-safe.
 */
#ifndef RG_SEEN_IDS_H
#define RG_SEEN_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"

typedef struct rg_seen_ids rg_seen_ids;

rg_seen_ids *rg_seen_ids_new(int64_t horizon_ms);   /* NULL on OOM */
void rg_seen_ids_free(rg_seen_ids *d);              /* NULL-safe */

/* True when id is a duplicate (skip the event). Otherwise remembers it
 * and returns false. On allocation failure the id is not remembered
 * (false is returned: an event is never dropped for lack of memory). */
bool rg_seen_ids_check(rg_seen_ids *d, const char *id, size_t len, int64_t ts_ms);

size_t rg_seen_ids_size(const rg_seen_ids *d);     /* ids remembered */
size_t rg_seen_ids_bytes(const rg_seen_ids *d);
void rg_seen_ids_set_horizon(rg_seen_ids *d, int64_t horizon_ms);

/* Append the ids held and the watermark (ids in key order, so equal
 * states give equal bytes). 0, or -1 when out of memory. */
int rg_seen_ids_save(const rg_seen_ids *d, rg_strbuf *out);
/* Restore into a new, empty memory from what save wrote; untrusted bytes:
 * -1 with the reason in in->error (the memory may then hold part of the
 * ids: the caller frees it). */
int rg_seen_ids_load(rg_seen_ids *d, rg_reader *in);

#endif
