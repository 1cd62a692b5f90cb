/*
 * run — `riskgate run`: consume riskgate.events, decide, produce to
 * riskgate.actions (decisions) and riskgate.deadletter (rejects), on
 * librdkafka (cli.md "Streaming"; docs/streaming.md for the guarantees).
 *
 * One thread does everything that touches state: it polls the consumer
 * (fetches, rebalance and commit callbacks), merges the held partitions by
 * event time (merge.h), runs the processor (the engine), produces, and
 * polls the producer (delivery reports). librdkafka's own threads do the
 * network I/O; its callbacks run on this thread because they are served
 * only from rd_kafka_poll / rd_kafka_consumer_poll calls made here.
 *
 * Delivery-driven commits: an input offset is committed only once every
 * record its event (and every earlier event of that partition) produced
 * has been acknowledged (offsets.h). A delivery failure produces the record
 * again; nothing is dropped, so the worst case is a duplicate decision
 * with the same decision_id (at-least-once).
 *
 * Ownership: rg_stream borrows the config strings and the processor (both
 * must outlive it). rg_stream_new takes nothing over.
 */
#ifndef RG_STREAM_RUN_H
#define RG_STREAM_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "processor.h"

typedef struct rg_stream_config {
    const char *brokers;            /* bootstrap.servers; required */
    const char *group;              /* group.id; default "riskgate" */
    const char *events_topic;       /* default "riskgate.events" */
    const char *actions_topic;      /* default "riskgate.actions" */
    const char *deadletter_topic;   /* default "riskgate.deadletter" */
    /* -X pass-through, each "key=value". A key prefixed "consumer." or
     * "producer." goes to that client only; others go to both. */
    const char *const *kafka_props;
    size_t n_kafka_props;
    const char *state_dir;          /* NULL: no checkpoints */
    const char *alerts_path;        /* alert store (SQLite); NULL: none (docs/streaming.md "Alerts") */
    const char *metrics_addr;       /* "127.0.0.1:9464"; NULL: no endpoint */
    /* The event-time merge (merge.h): a drained partition (the broker
     * holds nothing more of it) holds the merge back at most this long
     * (wall) in one spell; default 5000 */
    int64_t max_idle_ms;
    /* ... and one not known drained (data on its way, leader down) at most
     * this long; default 30000 */
    int64_t max_wait_ms;
    int64_t commit_interval_ms;     /* default 500 */
    int64_t checkpoint_interval_ms; /* default 10000 */
    int64_t drain_timeout_ms;       /* SIGTERM: wait this long for deliveries; default 30000 */
    size_t partition_buffer_max;    /* pause a partition's fetch above this many buffered; default 20000 */
} rg_stream_config;

/* Fill defaults (everything but brokers). */
void rg_stream_config_init(rg_stream_config *cfg);

typedef struct rg_stream rg_stream;

typedef enum rg_stream_error {
    RG_STREAM_OK = 0,
    RG_STREAM_ERR_CONFIG = 2,       /* bad -X, bad flag value, metrics address refused: exit 2 */
    RG_STREAM_ERR_RUNTIME = 1       /* anything else: exit 1 */
} rg_stream_error;

/* Create the clients and the metrics endpoint; nothing is consumed yet.
 * NULL with *err and errstr set on failure. Secret -X values never appear
 * in errstr. */
rg_stream *rg_stream_new(const rg_stream_config *cfg, const rg_stream_processor *proc, rg_stream_error *err,
                         char *errstr, size_t errstr_size);

/*
 * Run until *stop becomes non-zero, then drain: stop taking events, wait
 * (up to drain_timeout_ms) until every produced record is acknowledged,
 * commit, checkpoint, leave the group. *reload non-zero: reload the rules
 * and clear it. Returns 0 after a complete drain, -1 otherwise (a fatal
 * client error, or records still unacknowledged at the drain deadline:
 * their offsets are not committed, so a restart re-reads them).
 */
int rg_stream_run(rg_stream *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

void rg_stream_free(rg_stream *s);   /* NULL-safe */

/* For tests and the bench: the metrics endpoint's port (0 when none). */
unsigned rg_stream_metrics_port(const rg_stream *s);

/* Counters for tests (engine thread, or after rg_stream_run returned). */
typedef struct rg_stream_counts {
    uint64_t events;            /* messages taken for processing */
    uint64_t decisions;
    uint64_t deadletters;
    uint64_t delivered;         /* acknowledged records */
    uint64_t delivery_errors;
    uint64_t commits;
    uint64_t late;
    uint64_t enforced;          /* times the merge left a partition behind after max_wait_ms */
    uint64_t alerts_stored;     /* alerts written (--alerts; re-deliveries included) */
    uint64_t alert_store_errors;
    uint64_t releases_delivered;
} rg_stream_counts;
void rg_stream_get_counts(const rg_stream *s, rg_stream_counts *out);

#endif
