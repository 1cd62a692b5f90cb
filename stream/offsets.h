/*
 * offsets — per-partition in-flight tracking and the commit frontier.
 *
 * "Nothing lost" rests here: an input offset may be committed only when its
 * event, and every earlier event of the same partition, has had every
 * record it produced (decisions, dead-letter) acknowledged by the broker.
 * The frontier is the offset to commit (Kafka's "next offset to read"):
 * one past the last event of that unbroken acknowledged prefix.
 *
 * Use, per partition, on the engine thread:
 *   seq = rg_offset_track_begin(t, offset, msg_ts_ms);   event taken
 *   rg_offset_track_add(t, seq)                          one record produced (repeat)
 *   rg_offset_track_end(t, seq)                          all its records produced
 *   rg_offset_track_ack(t, seq, ...)                     one delivery report (success)
 * An event with no records completes at end(). Events complete in any
 * order; the frontier moves only over a completed prefix.
 *
 * Sequence numbers: each tracker hands out increasing 64-bit numbers and a
 * delivery report carries (slot, seq) in its opaque pointer, so a report
 * that arrives after its partition was revoked and the slot reused for
 * another partition is recognised (seq below the tracker's base) and
 * ignored instead of acknowledging the wrong event.
 *
 * Ownership: the caller owns the rg_offset_track value; init/free manage its
 * ring. Not thread-safe: delivery reports are served on the thread that
 * calls rd_kafka_poll(producer), which is the engine thread.
 */
#ifndef RG_STREAM_OFFSETS_H
#define RG_STREAM_OFFSETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_offset_entry {
    int64_t offset;
    int64_t msg_ts_ms;      /* the input message's timestamp (latency metric) */
    int64_t taken_us;       /* CLOCK_MONOTONIC us when the consumer handed it over; 0 unknown */
    uint32_t pending;       /* produced records not yet acknowledged */
    bool open;              /* processing not finished (more records may come) */
} rg_offset_entry;

typedef struct rg_offset_track {
    rg_offset_entry *ring;
    size_t cap, head, count;    /* entries [head, head+count) mod cap, in offset order */
    uint64_t base_seq;          /* seq of ring[head] */
    uint64_t first_seq;         /* seqs below this belong to a previous owner of the slot */
    int64_t frontier;           /* next offset to commit; -1 until an event completes */
    int64_t last_begun;         /* offset of the latest event begun; -1 none */
} rg_offset_track;

/* Empty tracker. `seq_floor` is the first seq it may hand out (pass the
 * previous tracker's rg_offset_track_next_seq() when a slot is reused). */
void rg_offset_track_init(rg_offset_track *t, uint64_t seq_floor);
void rg_offset_track_free(rg_offset_track *t);   /* NULL-safe; leaves it empty */

/* Take an event at `offset` (strictly above earlier ones). Returns its seq,
 * or UINT64_MAX on allocation failure (nothing recorded). */
uint64_t rg_offset_track_begin(rg_offset_track *t, int64_t offset, int64_t msg_ts_ms);
void rg_offset_track_add(rg_offset_track *t, uint64_t seq);
void rg_offset_track_end(rg_offset_track *t, uint64_t seq);

/* One record of event `seq` acknowledged. Returns false (and changes
 * nothing) when seq is unknown: a stale report. *msg_ts_ms, when not NULL,
 * gets the event's message timestamp. */
bool rg_offset_track_ack(rg_offset_track *t, uint64_t seq, int64_t *msg_ts_ms);

/* Offset to commit (one past the acknowledged prefix), -1 when none. */
static inline int64_t rg_offset_track_frontier(const rg_offset_track *t) { return t->frontier; }
/* Events begun but not complete. */
static inline size_t rg_offset_track_inflight(const rg_offset_track *t) { return t->count; }
uint64_t rg_offset_track_next_seq(const rg_offset_track *t);

/* Pack/unpack (slot, seq) for a delivery report's opaque pointer: 16 bits
 * of slot, 48 of seq (2.8e14 events per slot before wrapping). */
#define RG_OFFSET_SLOT_MAX 65535u
static inline void *rg_offset_ticket(unsigned slot, uint64_t seq)
{
    return (void *)(uintptr_t)(((uint64_t)slot << 48) | (seq & ((UINT64_C(1) << 48) - 1)));
}
static inline void rg_offset_ticket_split(const void *ticket, unsigned *slot, uint64_t *seq48)
{
    uint64_t v = (uint64_t)(uintptr_t)ticket;
    *slot = (unsigned)(v >> 48);
    *seq48 = v & ((UINT64_C(1) << 48) - 1);
}
/* The full seq of a 48-bit one, given the tracker (seqs in flight are
 * within 2^47 of the base). */
uint64_t rg_offset_track_seq_from48(const rg_offset_track *t, uint64_t seq48);

/* When the consumer handed the event over (CLOCK_MONOTONIC us), for the
 * stage latency metrics: set after rg_offset_track_begin; read before the
 * acknowledgement that may retire the entry. 0 when unknown or seq is not
 * tracked. */
void rg_offset_track_set_taken(rg_offset_track *t, uint64_t seq, int64_t taken_us);
int64_t rg_offset_track_taken_us(rg_offset_track *t, uint64_t seq);

#endif
