/*
 * stage — what the three stages of the topology (docs/scale-out.md) have
 * in common: where their output goes, and how a task's snapshot is framed.
 *
 * A stage is transport-agnostic: `riskgate run` connects its tasks with
 * Kafka topics (stream/), tests and parallel replay with in-memory queues
 * (stages/pipeline.h). A stage never knows which.
 *
 *   ingest  (ingest.h)  one per events partition: parse, reject, dedupe,
 *                       login facts, routing
 *   entity  (entity.h)  one per <group>.entities partition: counterparty,
 *                       packets, complaints, in event-time order across
 *                       sources (merge.h)
 *   decide  (decide.h)  one per <group>.decide partition: windows, rules,
 *                       decisions, cooldowns
 *
 * Threading: a stage object belongs to one thread at a time.
 */
#ifndef RG_STAGES_STAGE_H
#define RG_STAGES_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../decisions/engine.h"

/* Where a stage's output goes. Any callback may be NULL when the stage
 * never calls it (entity: no reject, no decision). A callback returns 0,
 * or -1 when it could not take the record (out of memory, a producer
 * refused it): the stage reports the event as failed. Bytes passed are
 * valid during the call only. */
typedef struct rg_stage_out {
    void *opaque;
    /* A record for the entity stage; key "c:ACCOUNT", "p:PACKET" or
     * "t:TRANSFER" decides its partition. */
    int (*to_entities)(void *opaque, const char *key, size_t key_len, const void *rec, size_t rec_len);
    /* A record for the decide stage; key = the acting account. */
    int (*to_decide)(void *opaque, const char *key, size_t key_len, const void *rec, size_t rec_len);
    /* A rejected input's dead-letter record (events.md "Bad input"); kind
     * is the reject kind's name (static). */
    int (*reject)(void *opaque, const char *json, size_t json_len, const char *kind);
    /* A decision (decide stage): every one, emitted or all under cooldown
     * (d->emit). */
    int (*decision)(void *opaque, const rg_decision *d);
} rg_stage_out;

/* The partition of `key` among n: murmur2 of the key, positive, mod n —
 * what Kafka's Java client computes (DefaultPartitioner), so every
 * instance, and any other client, maps a key to the same task. */
int32_t rg_stage_partition(const char *key, size_t key_len, int32_t n);

#endif
