/*
 * ingest — the first stage of the topology (docs/scale-out.md): one task
 * per events partition, in that partition's offset order.
 *
 * Per input message: parse it against the event contract (a reject goes
 * to out->reject as its dead-letter record); skip a duplicate event id
 * (the dedupe memory of this partition); compute the login family's
 * names and fold the event into it (an account's devices and last login
 * country, exact in partition order); then route: one EVENT record to the
 * decide stage (key = the account) with those values, and one ENTITY or
 * STORE record per entity family the event touches (key c:/p:/t:),
 * following the table of docs/scale-out.md. Families no loaded rule uses
 * get nothing.
 *
 * Progress: the highest event ts evaluated (every record carries it; the
 * runtime sends MARKs with rg_ingest_mark while the task is silent).
 *
 * Ownership: borrows rs and geo (they must outlive it, or a reload's
 * swap). One thread at a time.
 */
#ifndef RG_STAGES_INGEST_H
#define RG_STAGES_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../geo/geo.h"
#include "../rules/ruleset.h"
#include "stage.h"

typedef struct rg_ingest rg_ingest;

typedef enum rg_ingest_outcome {
    RG_INGEST_EVENT = 0,        /* an event, routed */
    RG_INGEST_DUPLICATE = 1,    /* an event id seen again: skipped */
    RG_INGEST_REJECTED = 2,     /* not an event: its dead-letter record went to out->reject */
    RG_INGEST_FAILED = -1       /* out of memory, or an output refused a record */
} rg_ingest_outcome;

/* NULL with err filled when the engine refuses the rule set. */
rg_ingest *rg_ingest_new(const rg_ruleset *rs, const rg_geo *geo, int32_t partition, char *err, size_t err_size);
void rg_ingest_free(rg_ingest *g);   /* NULL-safe */

/* One input message: value (len bytes; may be NULL when empty) at
 * `offset` of this partition, with its message timestamp (epoch ms, -1
 * unknown); `source` is what a reject's record names ("topic/p/offset" or
 * "file:line"). */
rg_ingest_outcome rg_ingest_process(rg_ingest *g, const void *value, size_t len, int64_t offset, int64_t msg_ts_ms,
                                    const char *source, const rg_stage_out *out);

/* The highest ts evaluated; INT64_MIN before the first event. */
int64_t rg_ingest_progress(const rg_ingest *g);

/* A MARK from ingest task `partition`: progress (its position in event
 * time, docs/streaming.md) and whether its partition is drained. Appends
 * the record to out. */
void rg_ingest_mark(int32_t partition, int64_t progress_ms, bool drained, rg_strbuf *out);

/* The engine (counters, reload, the checkpoint's save/load). */
rg_engine *rg_ingest_engine(rg_ingest *g);

/* The task's state (engine + progress) for a snapshot; load into a fresh
 * stage. 0, or -1 with err. */
int rg_ingest_save(const rg_ingest *g, rg_strbuf *out, char *err, size_t err_size);
int rg_ingest_load(rg_ingest *g, const void *bytes, size_t len, char *err, size_t err_size);

/* Swap to a new rule set between two events (rg_engine_swap_rules; the
 * routing follows the new set's families). */
int rg_ingest_swap_rules(rg_ingest *g, const rg_ruleset *rs, char *err, size_t err_size);

#endif
