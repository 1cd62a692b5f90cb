/*
 * run — `riskgate run`: the keyed-stage topology of docs/scale-out.md on
 * Kafka (librdkafka). One process is N = 1 of it: every instance of a
 * group subscribes to the events topic and the two internal topics,
 * `<group>.entities` and `<group>.decide`; each partition it is given is a
 * task (stream/task.h) of the stage that topic feeds, with its own state,
 * restored from `<group>.state` before its first record and saved there
 * as snapshots; decisions go to the action topic (key = subject), rejects
 * to the dead-letter topic. docs/streaming.md is the operator's page.
 *
 * One thread (the caller's) does everything that touches state: it polls
 * the consumer (fetches, rebalances), runs the tasks, produces, and polls
 * the producer (delivery reports). librdkafka's threads do the I/O.
 *
 * Delivery: at-least-once with deterministic ids (docs/scale-out.md,
 * "Delivery"): a snapshot is written only after every record its input
 * produced was acknowledged, and an input offset is committed only at a
 * snapshot's position, once the snapshot itself is acknowledged.
 *
 * Ownership: rg_stream_new takes over `rules` (freed by rg_stream_free,
 * or replaced on a reload); it borrows the config strings and `geo`.
 */
#ifndef RG_STREAM_RUN_H
#define RG_STREAM_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../geo/geo.h"
#include "../rules/ruleset.h"

typedef struct rg_stream_config {
    const char *brokers;            /* bootstrap.servers; required */
    const char *group;              /* group.id; default "riskgate"; internal topics are <group>.* */
    const char *events_topic;       /* default "riskgate.events" */
    const char *actions_topic;      /* default "riskgate.actions" */
    const char *deadletter_topic;   /* default "riskgate.deadletter" */
    /* -X pass-through, each "key=value". A key prefixed "consumer." or
     * "producer." goes to that client only; others go to both. */
    const char *const *kafka_props;
    size_t n_kafka_props;
    const char *state_dir;          /* local copy of the newest snapshot of each task; NULL none */
    const char *alerts_path;        /* alert store (SQLite); NULL none */
    const char *metrics_addr;       /* "127.0.0.1:9464"; NULL: no endpoint */
    /* The rule files, in order, for SIGHUP: reloaded as one rule set. */
    const char *const *rules_paths;
    size_t n_rules_paths;
    /* The entity stage's merge (stages/merge.h, docs/streaming.md):
     * drained sources hold it back at most max_idle_ms together (default
     * 5000), any other source at most max_wait_ms (default 30000). */
    int64_t max_idle_ms;
    int64_t max_wait_ms;
    int64_t mark_interval_ms;       /* a silent ingest task reports its progress this often; default 20 */
    int64_t commit_interval_ms;     /* commits of snapshot positions are sent at most this often; default 500 */
    int64_t checkpoint_interval_ms; /* each task's snapshot interval; default 10000 */
    int64_t drain_timeout_ms;       /* SIGTERM: wait this long for deliveries and snapshots; default 30000 */
    size_t task_buffer_max;         /* pause a partition's fetch above this many queued records; default 50000 */
} rg_stream_config;

/* Fill defaults (everything but brokers). */
void rg_stream_config_init(rg_stream_config *cfg);

typedef struct rg_stream rg_stream;

typedef enum rg_stream_error {
    RG_STREAM_OK = 0,
    RG_STREAM_ERR_CONFIG = 2,       /* bad -X, bad flag value, topics that do not fit: exit 2 */
    RG_STREAM_ERR_RUNTIME = 1       /* anything else: exit 1 */
} rg_stream_error;

/* Create the clients, check the topics (creating the internal ones when
 * the cluster allows), open the metrics endpoint; nothing is consumed yet.
 * NULL with *err and errstr set on failure (then `rules` is still the
 * caller's). Secret -X values never appear in errstr. */
rg_stream *rg_stream_new(const rg_stream_config *cfg, rg_ruleset *rules, const rg_geo *geo, rg_stream_error *err,
                         char *errstr, size_t errstr_size);

/*
 * Run until *stop becomes non-zero, then drain: every task stops taking
 * records, waits (up to drain_timeout_ms) until everything it produced is
 * acknowledged, writes a final snapshot and commits; then the group is
 * left. *reload non-zero: reload the rule files (rules_paths) and clear
 * it. Returns 0 after a complete drain, -1 otherwise.
 */
int rg_stream_run(rg_stream *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

void rg_stream_free(rg_stream *s);   /* NULL-safe */

/* For tests and the bench: the metrics endpoint's port (0 when none). */
unsigned rg_stream_metrics_port(const rg_stream *s);

/* Counters for tests (engine thread, or after rg_stream_run returned). */
typedef struct rg_stream_counts {
    uint64_t events;            /* events-topic messages taken */
    uint64_t decisions;
    uint64_t deadletters;
    uint64_t delivered;         /* acknowledged records */
    uint64_t delivery_errors;
    uint64_t commits;
    uint64_t snapshots;
    uint64_t late;
    uint64_t enforced;
    uint64_t alerts_stored;
    uint64_t alert_store_errors;
    uint64_t releases_delivered;
} rg_stream_counts;
void rg_stream_get_counts(const rg_stream *s, rg_stream_counts *out);

#endif
