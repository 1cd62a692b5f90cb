/*
 * decide — the last stage of the topology (docs/scale-out.md): one task
 * per <group>.decide partition, keyed by the acting account. It keeps the
 * count() windows and the cooldowns, computes the stateless names, and
 * evaluates every rule: the same decisions, reasons and evidence the
 * single engine gives, from the values the earlier stages shipped.
 *
 * Everything it keeps belongs to the acting account, and all of an
 * account's events come from one ingest task, in that task's order. So
 * there is no merge: one queue per source, each evaluated in order, the
 * head of a queue as soon as it can be: an EVENT that needs entity values
 * waits for its ENRICH record (matched by source partition and offset).
 *
 * Ownership: borrows rs and geo. One thread at a time.
 */
#ifndef RG_STAGES_DECIDE_H
#define RG_STAGES_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../geo/geo.h"
#include "../rules/ruleset.h"
#include "stage.h"

typedef struct rg_decide rg_decide;

rg_decide *rg_decide_new(const rg_ruleset *rs, const rg_geo *geo, int32_t partition, size_t n_sources, char *err,
                         size_t err_size);
void rg_decide_free(rg_decide *t);   /* NULL-safe */

/* A record from the task's input at input_offset. 0 taken (queued, or
 * dropped as sent again or as a MARK), -1 with err for bytes that are no
 * record for this stage (counted) or out of memory (*oom). */
int rg_decide_push(rg_decide *t, const void *bytes, size_t len, int64_t input_offset, bool *oom, char *err,
                   size_t err_size);

/* Evaluate every head that can be, at most max events. Returns the number
 * evaluated, or -1 when out->decision refused a decision (the event is
 * evaluated; the caller stops). */
long rg_decide_run(rg_decide *t, size_t max, const rg_stage_out *out);

/* The lowest input offset still needed (a queued EVENT, an ENRICH not yet
 * used); INT64_MAX when none. */
int64_t rg_decide_needed_offset(const rg_decide *t);
/* Events queued, and of them waiting for their ENRICH at a queue's head. */
size_t rg_decide_queued(const rg_decide *t, size_t *waiting);

/* The first queue head waiting for its ENRICH: its source and offset. */
bool rg_decide_first_waiting(const rg_decide *t, int32_t *src, int64_t *offset);

rg_engine *rg_decide_engine(rg_decide *t);
uint64_t rg_decide_bad_records(const rg_decide *t);

int rg_decide_save(const rg_decide *t, rg_strbuf *out, char *err, size_t err_size);
int rg_decide_load(rg_decide *t, const void *bytes, size_t len, char *err, size_t err_size);
int rg_decide_swap_rules(rg_decide *t, const rg_ruleset *rs, char *err, size_t err_size);

#endif
