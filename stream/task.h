/*
 * task — one (stage, partition) of `riskgate run` (docs/scale-out.md): the
 * stage object that holds its state (stages/ingest.h, entity.h,
 * decide.h), what it takes from its input partition, what it has produced
 * and not yet seen acknowledged, and its snapshots.
 *
 * Input: an ingest task evaluates each message as it is consumed (its
 * partition in offset order); entity and decide tasks queue records in
 * their stage and evaluate them when their merge or their enrichments
 * allow (rg_task_run).
 *
 * Outputs in flight are counted per epoch: every record a task produces
 * (and every alert it hands the store) counts in the current epoch until
 * acknowledged. A snapshot closes the epoch; it is written once every
 * earlier epoch is empty, so no snapshot covers input whose output could
 * still be lost (snapshot.h).
 *
 * Progress (ingest): the partition's position in event time for the
 * entity stage's merge (docs/streaming.md, "The event-time merge"): the
 * highest ts evaluated, plus the wall time the partition has been silent
 * while the broker confirms it drained (end of partition, watermark
 * probes; a failed probe stops the advance). rg_task_marks sends it to
 * every <group>.entities partition (the merge) and every <group>.decide
 * partition (its watermark) that heard nothing from the task for a
 * mark interval.
 *
 * Ownership: the runner's task table owns tasks. Engine thread only.
 */
#ifndef RG_STREAM_TASK_H
#define RG_STREAM_TASK_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../stages/decide.h"
#include "../stages/entity.h"
#include "../stages/ingest.h"
#include "runtime.h"
#include "topology.h"

#define RG_TASK_EPOCHS 64   /* epochs in flight at once; the oldest waits */
/* A drained ingest task whose only news is its silence (its progress
 * follows the wall clock) marks every this many mark intervals, not every
 * one; the entity merge carries a drained source's progress forward as
 * long (merge.h). Idle instances otherwise flood every internal partition
 * with MARK batches (docs/streaming.md, --mark-interval-ms).
 *
 * And those idle MARKs go out on one tick of the instance for all its
 * ingest tasks (rg_task_marks_all), not on each task's own clock: the
 * tasks' MARKs to one partition are then produced together and travel in
 * one producer batch. A consumer takes a partition's records batch by
 * batch (librdkafka's mock cluster hands it one batch per partition per
 * fetch), so on a loaded machine one batch per task per tick outran the
 * fetches: the internal partitions' lag grew for good and an idle group
 * never caught up (cli_stream_rolling's 300 s stall). */
#define RG_IDLE_MARK_EVERY 5

typedef enum rg_snap_phase {
    RG_SNAP_IDLE = 0,
    RG_SNAP_ACKS,       /* serialised; waiting for the epochs it covers */
    RG_SNAP_WRITING     /* produced; waiting for its pieces' acknowledgements */
} rg_snap_phase;

typedef struct rg_task {
    struct rg_stream *s;        /* the runner it belongs to */
    rg_task_kind kind;
    int32_t partition;
    unsigned slot;
    unsigned gen;
    char name[32];              /* "ingest/3": the snapshot key */
    union {
        rg_ingest *ingest;
        rg_entity *entity;
        rg_decide *decide;
    } st;
    int64_t next_offset;        /* one past the last input record taken; -1 nothing yet */
    int64_t start_offset;       /* where consumption began (restored position); -1 unknown */
    bool paused;                /* fetch paused: too much queued */
    const void *cur_key;        /* ingest: the key of the message being evaluated (its reject's key) */
    size_t cur_key_len;
    int64_t cur_msg_ts_ms;      /* ... and its timestamp */

    /* ingest: the partition's state for its progress */
    int64_t created_ms;         /* monotonic ms the task was created */
    int64_t last_take_ms;       /* monotonic ms of the last message taken; -1 none */
    int64_t drained_at_ms;      /* the broker confirmed nothing follows next_offset; -1 not */
    int64_t high_watermark;     /* as last seen; -1 unknown */
    int64_t probe_after_ms;
    int64_t *mark_sent_ms;      /* per entities partition p (slot p) and decide partition p
                                 * (slot n + p): last record or MARK sent */
    int64_t *mark_progress;     /* ... the progress it carried */
    bool *mark_drained;
    bool *mark_inflight;        /* ... a MARK to it not yet acknowledged: no other is sent */

    /* outputs in flight, per epoch (mod RG_TASK_EPOCHS) */
    uint32_t epoch;
    uint32_t pending[RG_TASK_EPOCHS];

    /* snapshots (snapshot.c) */
    rg_snap_phase snap_phase;
    rg_strbuf snap_blob;        /* the serialised state being written */
    int64_t snap_resume;        /* the input position it reflects */
    uint32_t snap_epoch;        /* the last epoch it covers */
    uint64_t snap_gen;          /* the generation being written, or the last durable one */
    uint32_t snap_pieces;       /* pieces produced, not yet acknowledged */
    uint32_t snap_chunks;       /* chunks of the generation being written */
    uint64_t durable_gen;       /* newest durable generation; 0 none */
    uint32_t durable_chunks;
    int64_t snap_since_ms;      /* when the phase began */
    int64_t last_snapshot_ms;   /* monotonic; when the last one was begun */
} rg_task;

/* A task for (kind, partition) in slot/gen; its stage object over s->rs.
 * NULL with errstr. */
rg_task *rg_task_new(rg_stream *s, rg_task_kind kind, int32_t partition, unsigned slot, unsigned gen, char *errstr,
                     size_t errstr_size);
void rg_task_free(rg_task *t);   /* NULL-safe */

/* A consumed message of the task's partition (not an error message). */
void rg_task_take(rg_stream *s, rg_task *t, const rd_kafka_message_t *m);
/* A fetch reached the partition's end (PARTITION_EOF: at_position, the
 * consumer stands at end_offset), or a probe asked at at_ms answered with
 * the high watermark end_offset (!at_position: it says nothing of where
 * the consumer stands, so a task that has taken nothing is judged by its
 * restored position, and an answer to a question asked before the task
 * existed is ignored). */
void rg_task_note_end(rg_task *t, int64_t at_ms, int64_t end_offset, bool at_position);
/* Where the task's input stands: one past the last record taken, else the
 * restored position; -1 unknown. */
static inline int64_t rg_task_input_at(const rg_task *t)
{
    return t->next_offset >= 0 ? t->next_offset : t->start_offset;
}
/* The high watermark of t's input partition as its consumer last saw it
 * (librdkafka's, no round trip); -1 unknown. *low (may be NULL): the low
 * watermark, -1 unknown. */
int64_t rg_task_high_watermark(struct rg_stream *s, const rg_task *t, int64_t *low);
void rg_task_note_unreachable(rg_task *t, int64_t now_ms);
/* Entity/decide: evaluate what can be, at most max records. The number
 * evaluated; *wait_ms (entity) when it waits on its sources (-1 not). */
long rg_task_run(rg_stream *s, rg_task *t, size_t max, int64_t *wait_ms);
/* Ingest: MARKs to the entities and decide partitions due one; probes
 * while drained. At most one MARK per partition is in flight: a newer one
 * says all an older one did, and a broker that falls behind (the mock
 * cluster hands a consumer one producer batch per partition per fetch)
 * must not be sent more of them than it acknowledges. */
void rg_task_marks(rg_stream *s, rg_task *t, int64_t now_ms);
/* rg_task_marks for every task held, on the instance's idle-MARK tick
 * (RG_IDLE_MARK_EVERY); the loop calls it every half mark interval. */
void rg_task_marks_all(rg_stream *s, int64_t now_ms);
/* The delivery report of the MARK with ticket epoch `epoch` (ok or not). */
void rg_task_mark_acked(rg_task *t, uint32_t epoch);
/* Ingest: the progress a MARK would carry now, and whether drained. */
int64_t rg_task_position(const rg_task *t, int64_t now_ms, bool *drained);

/* Records queued in the stage (entity/decide), for flow control. */
size_t rg_task_queued(const rg_task *t);
/* Outputs in flight over every epoch. */
uint64_t rg_task_inflight(const rg_task *t);
/* One output of epoch `epoch` acknowledged (or an alert written). */
void rg_task_acked(rg_task *t, uint32_t epoch);
/* The ticket of an output produced now (counted in the current epoch). */
void *rg_task_ticket(rg_task *t);

/* The task's stage engine (counters, reload). */
rg_engine *rg_task_engine(rg_task *t);
/* Swap the stage to a new rule set between two records. */
int rg_task_swap_rules(rg_task *t, const rg_ruleset *rs, char *errstr, size_t errstr_size);

#endif
