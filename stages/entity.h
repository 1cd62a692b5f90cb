/*
 * entity — the second stage of the topology (docs/scale-out.md): one task
 * per <group>.entities partition, holding the counterparty, packets and
 * complaints families for the keys of its partition.
 *
 * Records arrive from every ingest task (rg_entity_push); the task
 * evaluates them in event-time order across sources (merge.h) with
 * rg_entity_run. Per record it runs only the family of the record's key
 * (c: counterparty, p: packets, t: complaints): it computes that family's
 * names for the event (state before it), folds the event in, and for an
 * ENTITY record sends the decide stage an ENRICH record with the values,
 * keyed by the acting account.
 *
 * The "s:" keys (held.h): HOLD records take their place in the same
 * merge; the HITS records the decide stage answers with wait beside it
 * (never in it), and the task finishes those decisions in the subject's
 * order, applying the cooldowns kept here (out->decision).
 *
 * Ownership: borrows rs and geo. One thread at a time.
 */
#ifndef RG_STAGES_ENTITY_H
#define RG_STAGES_ENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../geo/geo.h"
#include "../rules/ruleset.h"
#include "merge.h"
#include "stage.h"

typedef struct rg_entity rg_entity;

/* n_sources: the events topic's partition count. The bounds as in merge.h.
 * NULL with err filled on failure. */
rg_entity *rg_entity_new(const rg_ruleset *rs, const rg_geo *geo, int32_t partition, size_t n_sources,
                         int64_t max_idle_ms, int64_t max_wait_ms, int64_t mark_interval_ms, char *err,
                         size_t err_size);
void rg_entity_free(rg_entity *t);   /* NULL-safe */

/* A record from the task's input at input_offset, at local monotonic
 * now_ms. 0 taken (queued, a MARK noted, or dropped as sent again), -1
 * with err when the bytes are no record (the caller counts and skips it)
 * or memory ran out (err says so; *oom set). */
int rg_entity_push(rg_entity *t, const void *bytes, size_t len, int64_t input_offset, int64_t now_ms, bool *oom,
                   char *err, size_t err_size);

/* Evaluate what the merge allows, at most max records. Returns the number
 * evaluated, or -1 when an output refused a record (the record stays
 * evaluated; the caller stops). *wait_ms: when nothing more can be
 * evaluated, how long until something might change without a new record
 * (-1: nothing queued). */
long rg_entity_run(rg_entity *t, int64_t now_ms, size_t max, const rg_stage_out *out, int64_t *wait_ms);

/* The lowest input offset whose record is still needed (queued, not
 * evaluated); INT64_MAX when none. */
int64_t rg_entity_needed_offset(const rg_entity *t);

rg_smerge *rg_entity_merge(rg_entity *t);   /* counters, left-behind flags */
rg_engine *rg_entity_engine(rg_entity *t);
uint64_t rg_entity_bad_records(const rg_entity *t);
/* Held decisions waiting: HOLDs in order, HITS kept (held.h). */
size_t rg_entity_held(const rg_entity *t, size_t *kept);

int rg_entity_save(const rg_entity *t, rg_strbuf *out, char *err, size_t err_size);
int rg_entity_load(rg_entity *t, const void *bytes, size_t len, char *err, size_t err_size);
int rg_entity_swap_rules(rg_entity *t, const rg_ruleset *rs, char *err, size_t err_size);

#endif
