/*
 * merge — per-partition buffers and the event-time merge across the
 * partitions one instance holds (the analogue of Kafka Streams'
 * PartitionGroup with max.task.idle.ms).
 *
 * Why: events are keyed by account, so one account's events are in order
 * inside one partition, but cross-entity rules (mule senders into one
 * counterparty, a claim after its packet's send, a complaint after its
 * transfer) read state written by events of other partitions. Evaluating
 * in event-time order across partitions makes the result the one replay
 * gives for a time-ordered capture.
 *
 * Rule (rg_merge_next):
 *   - every buffered partition's head is prepared (parsed) once, giving its
 *     event time; a head that is no event (a reject) sorts first, since it
 *     touches no state;
 *   - when every held partition has a head, the lowest (ts, message
 *     timestamp, slot) is picked: the message timestamp breaks ties in the
 *     order the producer published them;
 *   - when a held partition is empty, the merge waits for it: up to
 *     max_idle_ms from the moment the wait began when the partition is
 *     caught up, and up to backlog_wait_ms when the broker is known to
 *     hold more of it (its high watermark is above what was fetched: the
 *     data is on its way, so not waiting would surely reorder) or its end
 *     is not known yet (nothing fetched since it was assigned; KIP-695). After that the merge proceeds without it ("enforced
 *     processing") for as long as it stays empty; the wait restarts only
 *     after it has had data again.
 *   - an event whose ts is below the highest ts already picked is late: it
 *     is picked anyway (never dropped, never held back) and flagged.
 *
 * Ownership: the merge owns its slot table and rings, not the messages
 * (void *) it holds; rg_merge_drop_slot hands them back through a callback
 * so the caller can destroy them. Not thread-safe (engine thread only).
 */
#ifndef RG_STREAM_MERGE_H
#define RG_STREAM_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_merge_item {
    void *msg;              /* caller's message (rd_kafka_message_t *) */
    int64_t offset;
    int64_t msg_ts_ms;      /* message timestamp (tie-break, latency) */
    int64_t taken_us;       /* CLOCK_MONOTONIC us when the consumer handed it over (stage latency); 0 unknown */
} rg_merge_item;

typedef struct rg_merge_slot {
    bool active;            /* a held partition */
    int32_t partition;
    rg_merge_item *ring;
    size_t cap, head, count;
    bool head_prepared;
    bool head_is_event;     /* false: a reject, sorted first */
    int64_t head_ts_ms;     /* event time of the prepared head */
    int64_t next_offset;    /* one past the last appended offset; -1 unknown */
    int64_t high_watermark; /* broker's end offset as last seen; -1 unknown */
    int64_t wait_since_ms;  /* when the merge began waiting for this empty slot; -1 not waiting */
} rg_merge_slot;

/* Prepare (parse) item for slot: returns 1 for an event with *ts_ms set,
 * 0 for a non-event (reject). The prepared result must stay valid until
 * the item is popped (the caller keeps one parser per slot). */
typedef int (*rg_merge_prepare_fn)(void *opaque, unsigned slot, const rg_merge_item *item, int64_t *ts_ms);

typedef struct rg_merge {
    rg_merge_slot *slots;
    size_t n_slots;
    int64_t max_idle_ms;
    int64_t backlog_wait_ms;
    int64_t stream_time_ms;     /* highest event ts picked; INT64_MIN none */
    rg_merge_prepare_fn prepare;
    void *prepare_opaque;
    uint64_t enforced;          /* picks made while some held partition was empty */
    uint64_t late;              /* events picked below stream time */
} rg_merge;

typedef enum rg_merge_result {
    RG_MERGE_IDLE = 0,      /* nothing buffered */
    RG_MERGE_PICK,          /* *slot holds the next item (its head) */
    RG_MERGE_WAIT           /* waiting for an empty partition, at most *wait_ms */
} rg_merge_result;

void rg_merge_init(rg_merge *m, int64_t max_idle_ms, int64_t backlog_wait_ms, rg_merge_prepare_fn prepare,
                   void *opaque);
/* Frees rings; messages still held are passed to drop (may be NULL). */
void rg_merge_free(rg_merge *m, void (*drop)(void *msg));

/* Slot for a newly held partition (reuses a free one). -1 on OOM or when
 * RG_OFFSET_SLOT_MAX slots are used. */
int rg_merge_add_slot(rg_merge *m, int32_t partition);
/* Slot of a held partition, -1 when not held. */
int rg_merge_find_slot(const rg_merge *m, int32_t partition);
/* Stop holding a partition: its buffered messages go to drop. */
void rg_merge_drop_slot(rg_merge *m, unsigned slot, void (*drop)(void *msg));

/* Discard a held partition's buffered messages (to drop) but keep
 * holding it (a revocation in progress: in-flight records still need
 * their delivery reports matched to this slot). */
void rg_merge_discard(rg_merge *m, unsigned slot, void (*drop)(void *msg));

/* Append a fetched message. -1 on OOM (the caller still owns msg). */
int rg_merge_push(rg_merge *m, unsigned slot, const rg_merge_item *item);

/* Decide what to process next at wall time now_ms; see the rule above.
 * On RG_MERGE_PICK, *late tells whether the pick is a late event. */
rg_merge_result rg_merge_next(rg_merge *m, int64_t now_ms, unsigned *slot, int64_t *wait_ms, bool *late);

/* Take the head of slot (after RG_MERGE_PICK). */
rg_merge_item rg_merge_pop(rg_merge *m, unsigned slot);

size_t rg_merge_buffered(const rg_merge *m);

#endif
