/*
 * pipeline — the topology of docs/scale-out.md in one process, with
 * in-memory queues instead of Kafka topics: P ingest, P entity and P
 * decide tasks, records routed by key exactly as `riskgate run` routes
 * them (rg_stage_partition), each task's input one FIFO, as one Kafka
 * partition is.
 *
 * What it is for: showing that the staged topology decides like the
 * single engine (`riskgate replay --stages N`, tests/cli/
 * stages_equivalence.sh), for any number of partitions and any order in
 * which the tasks happen to run: with a seed, the next task to run and how
 * many records it takes are drawn at random, as instances and network
 * delays would interleave them; without one, the tasks run in turn.
 *
 * Input messages are partitioned by the event's account (the events
 * topic's key); a message that is no event goes to partition 0. Decisions
 * and rejects go to `out` (decision, reject), in the order the tasks
 * produce them: the same set as replay, not the same order.
 *
 * Ownership: borrows rs, geo and out. One thread.
 */
#ifndef RG_STAGES_PIPELINE_H
#define RG_STAGES_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "../geo/geo.h"
#include "../rules/ruleset.h"
#include "stage.h"

typedef struct rg_pipeline rg_pipeline;

typedef struct rg_pipeline_stats {
    uint64_t events, duplicates, rejected;
    uint64_t records_entities, records_decide, marks;
    uint64_t late, resent;
} rg_pipeline_stats;

/* partitions >= 1; seed 0: tasks run in turn, else random interleavings.
 * NULL with err on failure. */
rg_pipeline *rg_pipeline_new(const rg_ruleset *rs, const rg_geo *geo, int partitions, uint64_t seed,
                             const rg_stage_out *out, char *err, size_t err_size);
void rg_pipeline_free(rg_pipeline *p);   /* NULL-safe */

/* One input message (copied) and what a reject's record names as its
 * source. 0, or -1 out of memory. */
int rg_pipeline_feed(rg_pipeline *p, const char *data, size_t len, const char *source);

/* Run every task until all input is evaluated. 0, or -1 with err (an
 * output refused a record, out of memory). */
int rg_pipeline_finish(rg_pipeline *p, char *err, size_t err_size);

void rg_pipeline_get_stats(const rg_pipeline *p, rg_pipeline_stats *out);

#endif
