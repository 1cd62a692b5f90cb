/*
 * metrics — the runner's counters and their Prometheus text exposition,
 * served over HTTP on a loopback address (libmicrohttpd).
 *
 * Threading (design.md, "Threads"): the engine thread owns rg_metrics and
 * updates plain counters with no locks on the hot path. Now and then
 * (rg_metrics_publish, about once a second and on shutdown) it renders
 * the text exposition into a buffer behind a mutex; the HTTP thread only
 * copies that buffer. A scrape therefore sees numbers at most one publish
 * interval old, never a torn histogram.
 *
 * Loopback only: rg_metrics_serve refuses an address that is not
 * 127.0.0.0/8 or ::1 (the endpoint has no authentication).
 *
 * Probes (docs/operations.md, "Health and readiness"), on the same
 * endpoint: GET /healthz answers 200 while the process serves HTTP;
 * GET /readyz answers 200 "ready" or 503 "not ready: WHY" from the state
 * the runner last set with rg_metrics_set_ready (the engine thread; the HTTP
 * thread reads it under `lock`).
 *
 * Info metrics: riskgate_build_info{version, librdkafka, libmaxminddb,
 * sqlite, libmicrohttpd} 1 (rg_metrics_versions),
 * riskgate_ruleset_info{ruleset} 1 (rg_metrics_set_ruleset), and
 * riskgate_ready (what /readyz answers, as 1 or 0).
 */
#ifndef RG_STREAM_METRICS_H
#define RG_STREAM_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"

/* Latency buckets, seconds (upper bounds, +Inf implied). */
#define RG_METRICS_LATENCY_BUCKETS 16


#define RG_METRICS_MAX_REJECT_KINDS 32
#define RG_METRICS_MAX_ACTIONS 8

typedef struct rg_partition_lag {
    const char *topic;      /* borrowed: must outlive the next publish */
    int32_t partition;
    int64_t lag;            /* high watermark - next offset to process; -1 unknown */
    int64_t committed;      /* last offset committed; -1 none */
} rg_partition_lag;

/* One held task as the loop last saw it (riskgate_task_* series): what
 * it waits on, for an operator (or a test that timed out) to tell a
 * stalled task's cause from the metrics alone (docs/streaming.md,
 * "Per-task metrics"). */
#define RG_TASK_STATUS_HOLDERS 8
typedef struct rg_task_status {
    char task[32];              /* "entity/3" */
    int64_t input_offset;       /* next input offset to take (restored position before the first); -1 unknown */
    int64_t high_watermark;     /* of its input partition, as the consumer last saw it; -1 unknown */
    uint64_t buffered;          /* records queued in its stage */
    uint64_t inflight;          /* its outputs not yet acknowledged */
    bool paused;                /* fetch paused (flow control) */
    int snapshot_phase;         /* 0 idle, 1 waiting for its outputs' acks, 2 pieces in flight */
    int drained;                /* ingest: 1 drained, 0 not; -1 other stages */
    int64_t waiting_enrich;     /* decide: queue heads waiting for their ENRICH; -1 other stages */
    int32_t first_waiting_source;   /* decide: the first such head's source and offset; -1 none */
    int64_t first_waiting_offset;
    int64_t waiting_hits;       /* entity: HOLDs waiting for their HITS; -1 other stages */
    size_t n_holders;           /* entity: sources holding back the merge's head (merge.h) */
    int32_t holders[RG_TASK_STATUS_HOLDERS];   /* the first of them */
} rg_task_status;

typedef struct rg_metrics {
    uint64_t events_consumed;
    uint64_t duplicates;
    uint64_t late_events;
    uint64_t too_late_events;           /* later than max_lateness behind the engine's watermark */
    uint64_t merge_enforced_idle;       /* a drained partition left behind after --max-idle-ms */
    uint64_t merge_enforced_wait;       /* one not known drained, after --max-wait-ms */
    uint64_t records_entities;          /* records produced to <group>.entities (MARKs apart) */
    uint64_t records_decide;            /* ... to <group>.decide */
    uint64_t marks;                     /* progress MARKs produced */
    uint64_t bad_records;               /* records on internal topics that are not riskgate's (skipped) */
    uint64_t restores;                  /* tasks restored (or started empty) at assignment */
    double restore_seconds;             /* their time, summed */
    uint64_t restore_bytes;             /* bytes of <group>.state read for them */
    uint64_t snapshot_bytes;            /* bytes of durable snapshots */
    uint64_t snapshot_failures_at_drain;/* final snapshots not acknowledged (or not committed) at a drain */
    uint64_t tasks_held[3];             /* gauge: ingest, entity, decide tasks held */
    uint64_t rejected[RG_METRICS_MAX_REJECT_KINDS];
    const char *reject_kind_names[RG_METRICS_MAX_REJECT_KINDS];  /* static strings */
    size_t n_reject_kinds;
    uint64_t decisions;
    uint64_t decisions_by_action[RG_METRICS_MAX_ACTIONS];
    const char *action_names[RG_METRICS_MAX_ACTIONS];
    size_t n_actions;
    struct rg_strmap *rule_hits;        /* rule id -> uint64_t */
    uint64_t deadletter_records;
    uint64_t records_delivered;
    uint64_t delivery_errors;
    uint64_t commit_errors;
    uint64_t commits;
    uint64_t producer_queue_full;
    uint64_t rule_reloads_ok;
    uint64_t rule_reloads_refused;
    uint64_t rebalances;
    uint64_t checkpoints;
    uint64_t checkpoint_errors;
    int64_t last_checkpoint_ms;         /* wall ms; 0 none */
    /* riskgate_checkpoint_age_seconds counts from the last durable snapshot,
     * or, before the first, from when this instance began holding tasks;
     * 0 while it holds none (nothing is owed). Kept by rg_metrics_publish
     * from tasks_held. */
    int64_t holding_since_ms;           /* wall ms; 0 while no task is held */
    char ruleset[96];                   /* riskgate_ruleset_info's label ("" unknown) */
    bool last_reload_refused;           /* riskgate_rules_last_reload_successful == 0 */
    uint64_t latency_buckets[RG_METRICS_LATENCY_BUCKETS + 1]; /* last = +Inf */
    double latency_sum_s;
    uint64_t latency_count;
    uint64_t inflight_events;
    uint64_t buffered_messages;
    /* --alerts */
    uint64_t alerts_stored;             /* decisions written to the alert store (re-deliveries included) */
    uint64_t alert_store_errors;        /* writes that failed (BUSY included); retried */
    uint64_t alerts_pending;            /* gauge: decisions waiting to be written */
    uint64_t releases_delivered;        /* outbox releases acknowledged by the broker */
    uint64_t release_errors;            /* failed release deliveries (produced again) */
    rg_partition_lag *lags;
    size_t n_lags, lags_cap;
    rg_task_status *task_status;
    size_t n_task_status, task_status_cap;

    /* published exposition, and readiness (under lock) */
    pthread_mutex_t lock;
    rg_strbuf published;
    bool ready;
    char not_ready_why[128];
    struct MHD_Daemon *httpd;
} rg_metrics;

/* 0, or -1 on OOM. */
int rg_metrics_init(rg_metrics *m);
void rg_metrics_free(rg_metrics *m);    /* stops the server too */

/* Count a rejected input of kind `name` (a static string). */
void rg_metrics_reject(rg_metrics *m, const char *kind_name);
/* Count a decision with its actions (names, static) and hit rule ids. */
void rg_metrics_decision(rg_metrics *m, const char *const *action_names, size_t n_actions,
                         const char *const *rule_ids, size_t n_rules);
void rg_metrics_latency(rg_metrics *m, double seconds);
/* Replace the per-partition lag table. */
void rg_metrics_set_lags(rg_metrics *m, const rg_partition_lag *lags, size_t n);

/* Replace the per-task table (riskgate_task_*). */
void rg_metrics_set_tasks(rg_metrics *m, const rg_task_status *tasks, size_t n);

/* Count a SIGHUP reload (riskgate_rule_reloads_total{result}) and keep its
 * result for riskgate_rules_last_reload_successful. */
void rg_metrics_rule_reload(rg_metrics *m, bool ok);
/* The running rule set's id, for riskgate_ruleset_info (copied). */
void rg_metrics_set_ruleset(rg_metrics *m, const char *ruleset_id);

/* Readiness for /readyz; `why` (copied, NULL when ready) is its body.
 * The engine thread (it also renders riskgate_ready). Not ready until
 * first set. */
void rg_metrics_set_ready(rg_metrics *m, bool ready, const char *why);

/* The versions riskgate runs with: its own and each library's, as the
 * library reports it at run time (--version, riskgate_build_info). Static
 * strings, but for librdkafka_features (builtin.features). */
typedef struct rg_versions {
    const char *riskgate, *librdkafka, *libmaxminddb, *sqlite, *libmicrohttpd, *jansson, *libyaml, *zlib;
    char librdkafka_features[512];
} rg_versions;
void rg_metrics_versions(rg_versions *out);

/* Render the exposition now (engine thread). */
void rg_metrics_render(const rg_metrics *m, int64_t now_ms, rg_strbuf *out);
/* Render and hand to the HTTP thread. */
void rg_metrics_publish(rg_metrics *m, int64_t now_ms);

/* Serve GET /metrics, /healthz, /readyz on "ADDR:PORT" (loopback; "[::1]:PORT" for IPv6).
 * Port 0 picks a free port; *bound_port gets the port. -1 with errstr. */
int rg_metrics_serve(rg_metrics *m, const char *addr_port, unsigned *bound_port, char *errstr,
                     size_t errstr_size);

#endif
