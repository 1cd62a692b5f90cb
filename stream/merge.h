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
 * Rule (rg_merge_next), bounded in event time (docs/streaming.md, "The
 * event-time merge", has the argument):
 *   - every buffered partition's head is prepared (parsed) once, giving its
 *     event time; a head that is no event (a reject) goes first, since it
 *     touches no state;
 *   - the candidate is the lowest (ts, message timestamp, slot) head;
 *   - an empty held partition q holds the candidate h back while q could
 *     still deliver an event older than h. Its event-time position:
 *       - drained (the broker confirmed it holds nothing past what q gave:
 *         a PARTITION_EOF or a watermark probe issued after q's last
 *         message): last ts + the wall time q has been silent. In live
 *         traffic ts follows the wall clock, so this costs about nothing;
 *         in a backlog or a burst, where event time runs far faster than
 *         wall time, it holds the merge to what q could have produced
 *         meanwhile;
 *       - not confirmed drained (data known on the broker: its high
 *         watermark is past what was fetched; a probe failed: leader down
 *         or reconnecting; nothing heard since it was assigned): its last
 *         ts, frozen: the merge waits for its data;
 *     a partition whose position is at or past h.ts does not hold h back
 *     (frozen: strictly past);
 *   - waiting is bounded: a partition that has held the merge back for
 *     max_idle_ms (wall) in one spell while drained (a producer behind the
 *     others, or the end of a backlog), or max_wait_ms while not known
 *     drained (its data on its way, its leader down), is left behind
 *     ("enforced processing": counted, and flagged for the caller to log)
 *     for as long as it stays empty;
 *   - an event whose ts is below the highest ts already picked is late: it
 *     is picked anyway (never dropped, never held back) and flagged.
 * The caller feeds what the broker says: rg_merge_note_end (a fetch
 * reached the end: PARTITION_EOF, or a probe's high watermark),
 * rg_merge_note_unreachable (a probe failed), the cached high watermark
 * (slot.high_watermark), and sends a watermark probe for every slot the
 * merge marks probe_wanted.
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
    int64_t next_offset;    /* one past the last appended offset (or the end a drain reported); -1 unknown */
    int64_t high_watermark; /* broker's end offset as last seen; -1 unknown */
    int64_t last_ts_ms;     /* highest event ts picked from this partition; INT64_MIN none since assigned */
    int64_t last_take_ms;   /* wall (monotonic) ms its last message was appended; -1 none */
    int64_t drained_at_ms;  /* the broker confirmed at this time that nothing follows next_offset; -1 not */
    int64_t wait_since_ms;  /* when this empty slot began holding the merge back; -1 it does not */
    bool left_behind;       /* held back max_wait_ms: ignored until it has data again */
    bool just_left_behind;  /* set when it was left behind; the caller logs and clears it */
    bool left_while_drained;/* ... and whether it was drained then (max_idle_ms) or not (max_wait_ms) */
    bool probe_wanted;      /* the merge needs a fresh word from the broker about it */
} rg_merge_slot;

/* Prepare (parse) item for slot: returns 1 for an event with *ts_ms set,
 * 0 for a non-event (reject). The prepared result must stay valid until
 * the item is popped (the caller keeps one parser per slot). */
typedef int (*rg_merge_prepare_fn)(void *opaque, unsigned slot, const rg_merge_item *item, int64_t *ts_ms);

typedef struct rg_merge {
    rg_merge_slot *slots;
    size_t n_slots;
    int64_t max_idle_ms;        /* the bound on a drained partition's hold (wall) */
    int64_t max_wait_ms;        /* the bound on the hold of one not known drained (wall) */
    int64_t stream_time_ms;     /* highest event ts picked; INT64_MIN none */
    rg_merge_prepare_fn prepare;
    void *prepare_opaque;
    uint64_t enforced;          /* times a partition was left behind (either bound) */
    uint64_t enforced_wait;     /* ... of them, after max_wait_ms (not known drained) */
    uint64_t late;              /* events picked below stream time */
} rg_merge;

/* How often a drained partition that holds the merge back is asked about
 * again (a leader that went down since it was drained must not let its
 * position run on), and how long the merge waits between looks at a
 * partition whose state only a fetch or a probe can change. */
#define RG_MERGE_REPROBE_MS 100
#define RG_MERGE_POLL_MS 5

typedef enum rg_merge_result {
    RG_MERGE_IDLE = 0,      /* nothing buffered */
    RG_MERGE_PICK,          /* *slot holds the next item (its head) */
    RG_MERGE_WAIT           /* waiting for an empty partition, at most *wait_ms */
} rg_merge_result;

/* max_idle_ms >= 0 (0: a drained partition never holds the merge back
 * past its position... nor at all); max_wait_ms > 0 (0 or less: 30000). */
void rg_merge_init(rg_merge *m, int64_t max_idle_ms, int64_t max_wait_ms, rg_merge_prepare_fn prepare,
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

/* Append a fetched message (item->taken_us: when it was taken, monotonic
 * us; its silence is counted from then). -1 on OOM (the caller still owns
 * msg). */
int rg_merge_push(rg_merge *m, unsigned slot, const rg_merge_item *item);

/* The broker said, at monotonic ms at_ms, that the partition ends at
 * end_offset (a PARTITION_EOF's offset, a probe's high watermark): past
 * what was taken, the data is known to be on its way; else the partition
 * is drained as of at_ms. */
void rg_merge_note_end(rg_merge *m, unsigned slot, int64_t at_ms, int64_t end_offset);

/* A probe of the partition failed (its leader is down or unreachable):
 * it is no longer known to be drained, so its position stops advancing. */
void rg_merge_note_unreachable(rg_merge *m, unsigned slot);

/* Decide what to process next at wall time now_ms (monotonic); see the
 * rule above. On RG_MERGE_PICK, *late tells whether the pick is a late
 * event; on RG_MERGE_WAIT, *wait_ms is how long nothing can change short
 * of a fetch or a probe answer. Sets probe_wanted and just_left_behind on
 * slots (see rg_merge_slot). */
rg_merge_result rg_merge_next(rg_merge *m, int64_t now_ms, unsigned *slot, int64_t *wait_ms, bool *late);

/* Take the head of slot (after RG_MERGE_PICK). */
rg_merge_item rg_merge_pop(rg_merge *m, unsigned slot);

size_t rg_merge_buffered(const rg_merge *m);

#endif
