/*
 * runtime — what the files of `riskgate run` share (private to stream/):
 *
 *   run.c        lifecycle and the loop: poll, run tasks, marks,
 *                snapshots, drain, reload
 *   commit.c     input positions committed once their snapshot is durable
 *   status.c     what the loop publishes: lag, tasks, readiness
 *   task.c       one (stage, partition): its stage object, input,
 *                outputs in flight per epoch, its progress (ingest)
 *   snapshot.c   a task's state to <group>.state and back (restore)
 *   topology.c   topic names, partition counts, creating the internal
 *                topics
 *   produce.c    producing with delivery tickets, the retry queue,
 *                delivery reports; the topics as sinks (sinks/sink.h)
 *   rebalance.c  tasks created (restored) and given up with partitions
 *   alerts.c     --alerts: decisions into the store, its release outbox
 *   conf.c       librdkafka configuration and client callbacks
 *
 * The runner's state is split by concern: rg_clients (Kafka handles),
 * rg_tasks (the table of held partitions), rg_outputs (retries, tickets),
 * rg_commits (offsets waiting for the coordinator), and the rest.
 *
 * Threading: everything here is touched on the engine thread only (the one
 * that calls rg_stream_run); librdkafka callbacks are served there. The
 * exceptions: the metrics struct (published snapshots, metrics.h), the
 * watermark prober's thread (probe.h).
 */
#ifndef RG_STREAM_RUNTIME_H
#define RG_STREAM_RUNTIME_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../common/strbuf.h"
#include "../sinks/sink.h"
#include "metrics.h"
#include "probe.h"
#include "reload.h"
#include "run.h"
#include "topology.h"

struct rg_task;
struct rg_run_alerts;

/* ---- delivery tickets ----
 * A produced record's opaque: bits 63..48 the task's slot (0xffff: the
 * release outbox, whose low 48 bits are the outbox row), 47..32 the task's
 * generation (a report for a slot given up and reused is recognised),
 * 31..30 the kind, 29..0 the output epoch or the snapshot generation. */
#define RG_TICKET_OUTBOX_SLOT 0xffffu
typedef enum rg_ticket_kind {
    RG_TICKET_OUTPUT = 0,       /* counts in its task's epoch until acknowledged */
    RG_TICKET_SNAPSHOT = 1,     /* a piece of a snapshot */
    RG_TICKET_UNTRACKED = 2     /* a MARK, a tombstone: nothing waits for it */
} rg_ticket_kind;

static inline void *rg_ticket(unsigned slot, unsigned gen, rg_ticket_kind kind, uint32_t epoch)
{
    return (void *)(uintptr_t)(((uint64_t)slot << 48) | ((uint64_t)(gen & 0xffffu) << 32) |
                               ((uint64_t)kind << 30) | (epoch & 0x3fffffffu));
}
static inline unsigned rg_ticket_slot(const void *t) { return (unsigned)((uint64_t)(uintptr_t)t >> 48); }
static inline unsigned rg_ticket_gen(const void *t) { return (unsigned)(((uint64_t)(uintptr_t)t >> 32) & 0xffffu); }
static inline rg_ticket_kind rg_ticket_kind_of(const void *t)
{
    return (rg_ticket_kind)(((uint64_t)(uintptr_t)t >> 30) & 3u);
}
static inline uint32_t rg_ticket_epoch(const void *t) { return (uint32_t)((uint64_t)(uintptr_t)t & 0x3fffffffu); }
static inline void *rg_outbox_ticket(uint64_t id)
{
    return (void *)(uintptr_t)(((uint64_t)RG_TICKET_OUTBOX_SLOT << 48) | (id & ((UINT64_C(1) << 48) - 1)));
}
static inline uint64_t rg_outbox_ticket_id(const void *t) { return (uint64_t)(uintptr_t)t & ((UINT64_C(1) << 48) - 1); }

/* A record to produce again (its delivery failed, or produce refused it). */
typedef struct rg_retry {
    rd_kafka_topic_t *rkt;
    int32_t partition;
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    void *ticket;
} rg_retry;

/* ---- sinks ----
 * Everything a task produces goes through a sink (sinks/sink.h): one per
 * topic, over rg_run_produce (produce.c), and with --alerts the alert
 * store (alerts.c). Every one is built with rg_run_acked as its
 * acknowledgement: a ticket's output is counted until it comes. */
typedef enum rg_run_topic {
    RG_OUT_ACTIONS = 0,     /* decision: emitted ones, key = subject, decided_at spliced in */
    RG_OUT_DEADLETTER,      /* reject: key = the input record's */
    RG_OUT_ENTITIES,        /* record: repartition records and MARKs for the entity stage */
    RG_OUT_DECIDE,          /* record: ... for the decide stage */
    RG_OUT_STATE,           /* record: snapshot pieces, headers, tombstones */
    RG_OUT_COUNT
} rg_run_topic;

/* A topic as a sink: `rkt` points at the rg_clients handle, which for the
 * internal topics exists only once they do (run.c start_up). */
typedef struct rg_topic_sink {
    rg_stream *s;
    rd_kafka_topic_t *const *rkt;
    rg_sink_acked_fn acked;
    void *ack_opaque;
} rg_topic_sink;

typedef struct rg_run_sinks {
    rg_topic_sink topic[RG_OUT_COUNT];
    rg_sink out[RG_OUT_COUNT];      /* {ops, &topic[i]} */
    rg_sink alerts;                 /* --alerts (alerts.c); no sink without */
} rg_run_sinks;

typedef struct rg_clients {
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_t *restorer;       /* reads <group>.state at restores; no group */
    rd_kafka_topic_t *actions, *deadletter, *entities, *decide, *state;
    rd_kafka_queue_t *commit_q; /* answers to async commits */
} rg_clients;

typedef struct rg_tasks {
    struct rg_task **slots;     /* NULL: free slot */
    size_t n;                   /* slots in use or free */
    uint16_t next_gen;
} rg_tasks;

typedef struct rg_outputs {
    rg_retry *retries;
    size_t n_retries, cap_retries;
    int64_t retry_due_ms;
    size_t outq_high;           /* producer queue length above which processing pauses */
    bool queue_full;
} rg_outputs;

typedef struct rg_commits {
    rd_kafka_topic_partition_list_t *due;   /* positions waiting to be committed */
    bool inflight;
    int64_t sent_ms, last_ms;
    rd_kafka_resp_err_t last_sync_err;   /* the last synchronous commit's answer */
} rg_commits;

struct rg_stream {
    rg_stream_config cfg;
    rg_ruleset *rs;             /* owned */
    const rg_geo *geo;
    rg_topology topo;
    rg_clients c;
    rg_tasks tasks;
    rg_outputs out;
    rg_run_sinks sinks;
    bool probe_abandoned;       /* the prober outlived a drain: its consumer is kept (probe.h) */
    rg_commits commits;
    rg_probe *probe;
    struct rg_run_alerts *alerts;   /* --alerts; NULL none */
    rg_reloader reloader;           /* SIGHUP: rule files loaded off this thread */
    rg_metrics metrics;
    bool metrics_ready;
    unsigned metrics_port;
    rg_strbuf scratch;          /* a decision with decided_at, a mark */

    bool fatal, draining, subscribed, ever_assigned;
    bool group_rebalancing;   /* the consumer's join state is not steady (conf.c on_stats) */
    bool brokers_down, topic_missing;
    int64_t last_publish_ms, last_marks_ms;
    /* Idle MARKs (task.h, rg_task_marks_all) go on one tick for every task
     * here: when this turn of the loop is one, and when the last was. */
    bool idle_marks_due;
    int64_t last_idle_marks_ms;
    int64_t last_delivery_log_ms, last_consumer_log_ms, last_queue_log_ms, last_commit_log_ms, last_snapshot_log_ms;
};

/* ---- time ---- */

static inline int64_t rg_run_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static inline int64_t rg_run_mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static inline int64_t rg_run_wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static inline void rg_run_fmt_i64(char *buf, size_t n, int64_t v) { snprintf(buf, n, "%lld", (long long)v); }

/* Rate limit for log lines a fault repeats per record (one line per 5 s
 * per kind): the first says what is wrong, the rest are counted. */
static inline bool rg_run_log_due(int64_t *last_ms)
{
    int64_t now = rg_run_mono_ms();
    if (*last_ms && now - *last_ms < 5000)
        return false;
    *last_ms = now;
    return true;
}

/* ---- produce.c ---- */

/* Produce one record to (rkt, partition) with ticket; never drops it: a
 * full queue waits (serving delivery reports), a refusal keeps a copy for
 * a later attempt. RD_KAFKA_PARTITION_UA: the partitioner (by key). */
void rg_run_produce(rg_stream *s, rd_kafka_topic_t *rkt, int32_t partition, const void *key, size_t key_len,
                    const void *value, size_t value_len, void *ticket);
/* Make the topic sinks (s->sinks.out), each over its rg_clients handle
 * (which may still be NULL: the internal topics' come later). */
void rg_run_sinks_init(rg_stream *s);
/* The runners' acknowledgement (rg_sink_acked_fn, opaque = s): the output
 * a ticket names reached its reader (err 0) or never will. An output
 * ticket's count in its task's epoch goes down, a snapshot piece counts
 * for its snapshot, a MARK frees its slot (delivered or not); a ticket of
 * a task given up since is ignored. */
void rg_run_acked(void *opaque, void *ticket, int err);
/* Produce the retries that are due (or all, with force). */
void rg_run_retry_due(rg_stream *s, bool force);
void rg_run_retries_free(rg_stream *s);
/* The producer's delivery report callback. */
void rg_run_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);
/* Copy json (a decision ending in '}') into out with "decided_at" (now,
 * UTC ms) spliced in before the closing brace. False when it does not end
 * in '}' or memory ran out. */
bool rg_run_splice_decided_at(rg_strbuf *out, const char *json, size_t json_len);

/* ---- rebalance.c ---- */

void rg_run_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque);
/* Give up every task cleanly (final snapshots, commits): the drain. */
void rg_run_release_all(rg_stream *s, int64_t timeout_ms);

/* ---- commit.c ---- */

/* Queue a position to commit (a durable snapshot's). */
void rg_run_commit_later(rg_stream *s, const char *topic, int32_t partition, int64_t offset);
/* Send what is due (at most one async commit in flight), or everything now
 * and wait (sync: -1 when it could not be committed, and it stays due). */
int rg_run_commit(rg_stream *s, bool sync);
void rg_run_commit_serve(rg_stream *s);

/* ---- status.c ---- */

/* Publish metrics and readiness (once a second, from the loop). */
void rg_run_publish(rg_stream *s, int64_t now);

/* ---- conf.c ---- */

rd_kafka_conf_t *rg_run_client_conf(rg_stream *s, const char *kind, char *errstr, size_t errstr_size);
/* Replace, in msg, the value of every secret-looking -X property with
 * "[redacted]" (librdkafka's messages may quote it: rd_kafka_new's
 * "Unsupported SASL mechanism: VALUE"). */
void rg_run_redact_secrets(const rg_stream_config *cfg, char *msg, size_t msg_size);

#endif
