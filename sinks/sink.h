/*
 * sink — where riskgate's output goes: one interface for every destination
 * (the design's last box: ingest -> detectors -> rules -> decisions ->
 * sinks), in the manner of Suricata's output modules. A destination fills
 * one const rg_sink_ops table; whoever produces output (the engine, a
 * replay, a streaming task) holds an rg_sink handle and never knows which
 * destination is behind it.
 *
 * What goes in:
 *   decision  a decision (decisions/engine.h), every one, emitted or all
 *             under cooldown (d->emit): each sink chooses what it keeps
 *             (a decisions file and the action topic only emitted ones,
 *             the alert store every one);
 *   reject    a rejected input's dead-letter record (events.md "Bad
 *             input"): its JSON, its kind, the input record's key;
 *   record    a keyed record of an internal topic of the streaming
 *             topology (repartition records, MARKs, snapshot pieces:
 *             docs/scale-out.md), with its partition;
 *   flush     make what was taken durable where the sink can (a file's
 *             buffer written, a store's batch committed);
 *   close     release the sink (flushing what its kind flushes at close,
 *             said by each); the handle is dead after it.
 *
 * Each op returns RG_SINK_TAKEN (the sink has it, or will, and acknowledges
 * it: below), RG_SINK_DECLINED (not this sink's: a non-emitted decision to
 * a decisions file, a reject past --max-rejects; nothing follows) or
 * RG_SINK_FAILED (-1: it could not take it; where the message is, each
 * implementation says). An op a sink does not fill counts as declined.
 *
 * Acknowledgement. Each implementation is built with an rg_sink_acked_fn
 * (may be NULL: nobody waits) and calls it once per record it TOOK, with
 * the caller's ticket, when what it wrote is where its reader will find
 * it; err != 0 when it never will be (the sink gave up on it). A DECLINED
 * op is never acknowledged, so a caller that counts tickets (`riskgate
 * run`: nothing is committed past an output not yet acknowledged,
 * stream/task.h) takes such a ticket back at once; after FAILED the caller
 * stops (a Kafka sink may still deliver what it produced). An
 * acknowledgement may come during the op itself (a synchronous sink). The
 * implementations:
 *
 *   sinks/jsonl.c     decisions file and rejects file (JSON Lines): acked
 *                     once the line is handed to stdio (fwrite returned);
 *                     flush is fflush.
 *   sinks/fanout.c    several sinks behind one handle (replay's file +
 *                     alert store): every op goes to each; it acknowledges
 *                     nothing itself, each child does with its own callback.
 *   store/alerts_sink.c  the alert store (rg_alert_sink_open): every
 *                     decision; acked when the batch transaction holding it
 *                     committed (seen at the sink's next op, flush or
 *                     close: late, never early).
 *   stream/produce.c  a Kafka topic of `riskgate run` (action topic,
 *                     dead-letter topic, the internal entities, decide and
 *                     state topics): acked by the producer's delivery
 *                     report; a failed delivery is produced again (the
 *                     retry queue) and acked only when it finally arrives,
 *                     or with err when it will not be produced again
 *                     (purged at exit, a MARK, its task given up).
 *   stream/alerts.c   the alert store of `riskgate run --alerts`: copies
 *                     written in short transactions, acked when one
 *                     committed; a failed write is retried, not dropped.
 *
 * Ownership: bytes and decisions passed to an op are valid during the call
 * only (a sink that keeps them copies). The handle does not own `self`;
 * rg_sink_close frees what the implementation's constructor allocated.
 * Threading: a sink belongs to one thread at a time; ops are never called
 * concurrently on one sink.
 */
#ifndef RG_SINKS_SINK_H
#define RG_SINKS_SINK_H

#include <stddef.h>
#include <stdint.h>

struct rg_decision;

enum {
    RG_SINK_FAILED = -1,
    RG_SINK_TAKEN = 0,
    RG_SINK_DECLINED = 1
};

/* Called once per record taken, with the ticket the caller gave (opaque to
 * the sink), when it reached its reader (err 0) or never will (err != 0:
 * an rd_kafka_resp_err_t for Kafka sinks, -1 otherwise). */
typedef void (*rg_sink_acked_fn)(void *opaque, void *ticket, int err);

/* A rejected input line or record (events.md "Bad input"). */
typedef struct rg_dead_letter {
    const char *json;       /* the dead-letter JSON object, no newline */
    size_t json_len;
    const char *kind;       /* the reject kind's name (rg_reject_kind_name: static) */
    const char *key;        /* the input record's Kafka key; NULL offline */
    size_t key_len;
} rg_dead_letter;

/* A record of an internal topic: key decides nothing by itself, the
 * partition is explicit (the stage's partitioner, rg_stage_partition, or
 * the task's own); RG_SINK_BY_KEY lets the topic's partitioner choose. */
#define RG_SINK_BY_KEY (-1)
typedef struct rg_keyed_record {
    const void *key;        /* may be NULL (a MARK) */
    size_t key_len;
    int32_t partition;
    const void *value;      /* NULL: a tombstone (compaction deletes the key) */
    size_t value_len;
} rg_keyed_record;

typedef struct rg_sink_ops {
    const char *name;       /* for messages: "decisions file", "alert store", ... */
    int (*decision)(void *self, const struct rg_decision *d, void *ticket);
    int (*reject)(void *self, const rg_dead_letter *r, void *ticket);
    int (*record)(void *self, const rg_keyed_record *r, void *ticket);
    /* 0, or -1 with errstr. */
    int (*flush)(void *self, char *errstr, size_t errstr_size);
    /* 0, or -1 with errstr; self is freed either way. */
    int (*close)(void *self, char *errstr, size_t errstr_size);
} rg_sink_ops;

/* A sink: its operations and their state. {NULL, NULL} is no sink: every
 * call on it declines (a command without --out, a test that keeps nothing). */
typedef struct rg_sink {
    const rg_sink_ops *ops;
    void *self;
} rg_sink;

/* The calls. Each is NULL-safe (no handle, no ops, op not filled:
 * RG_SINK_DECLINED, and flush/close 0). */
static inline int rg_sink_decision(const rg_sink *k, const struct rg_decision *d, void *ticket)
{
    return k && k->ops && k->ops->decision ? k->ops->decision(k->self, d, ticket) : RG_SINK_DECLINED;
}

static inline int rg_sink_reject(const rg_sink *k, const rg_dead_letter *r, void *ticket)
{
    return k && k->ops && k->ops->reject ? k->ops->reject(k->self, r, ticket) : RG_SINK_DECLINED;
}

static inline int rg_sink_record(const rg_sink *k, const rg_keyed_record *r, void *ticket)
{
    return k && k->ops && k->ops->record ? k->ops->record(k->self, r, ticket) : RG_SINK_DECLINED;
}

static inline int rg_sink_flush(const rg_sink *k, char *errstr, size_t errstr_size)
{
    return k && k->ops && k->ops->flush ? k->ops->flush(k->self, errstr, errstr_size) : 0;
}

/* Close and forget: *k becomes no sink. */
static inline int rg_sink_close(rg_sink *k, char *errstr, size_t errstr_size)
{
    int rc = k && k->ops && k->ops->close ? k->ops->close(k->self, errstr, errstr_size) : 0;
    if (k)
        *k = (rg_sink){0};
    return rc;
}

#endif
