/*
 * run_internal — the runner's state (struct rg_stream) and the small
 * helpers every part of it uses. Private to the files that make up
 * `riskgate run`:
 *
 *   run.c          lifecycle (new/free) and the loop: poll, process,
 *                  periodic commits and checkpoints, drain
 *   run_consume.c  fetched messages into the merge, the merge into the
 *                  processor (run_consume.h)
 *   run_produce.c  producing records, delivery reports, the retry queue
 *                  (run_produce.h)
 *   run_commit.c   offset commits, checkpoints, rebalances (run_commit.h)
 *   run_conf.c     librdkafka configuration and client callbacks
 *                  (run_conf.h)
 *   run_alerts.c   --alerts: decisions into the alert store, its release
 *                  outbox to the action topic (run_alerts.h)
 *
 * Threading: everything here is touched on the engine thread only (the
 * thread that calls rg_stream_run); librdkafka callbacks are served there
 * because they only run inside rd_kafka_poll / rd_kafka_consumer_poll
 * calls made on it. The exceptions: the metrics struct (published
 * snapshots, its own header says how), and the checkpoint database, which
 * the checkpoint writer thread owns from rg_stream_new's end to
 * rg_stream_free (checkpoint_writer.h; the engine thread hands it jobs).
 *
 * Ownership: struct rg_stream owns the clients, topic handles, merge,
 * slots, retry queue and checkpoint; it borrows the config strings and the
 * processor (run.h).
 */
#ifndef RG_STREAM_RUN_INTERNAL_H
#define RG_STREAM_RUN_INTERNAL_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "../common/strbuf.h"
#include "checkpoint.h"
#include "merge.h"
#include "metrics.h"
#include "offsets.h"
#include "probe.h"
#include "run.h"

/* A record whose delivery failed (or whose produce call was refused),
 * waiting to be produced again. Its event stays in flight meanwhile, so
 * its offset cannot be committed. */
typedef struct rg_run_retry {
    rd_kafka_topic_t *rkt;
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    void *ticket;
} rg_run_retry;

/* Per-slot (held partition) bookkeeping beside the merge's own slot. */
typedef struct rg_run_slot {
    rg_offset_track track;
    int64_t committed;          /* next offset last acknowledged by a commit; -1 none */
    int64_t start_offset;       /* where consumption began after assignment (the checkpoint's offset,
                                 * or the first message fetched); -1 not known yet */
    bool paused;                /* fetch paused: merge buffer full */
    /* The checkpoint database has a row for this partition that restarts
     * it no later than the stored state reflects (the loaded one it
     * resumed from, one written since it was assigned, or its start added
     * before its first commit). Nothing is committed to Kafka for a
     * partition without one (run_commit.c, ensure_rows). */
    bool has_row;
    uint64_t row_job;           /* the checkpoint writer's job adding its row; 0 none */
    uint32_t epoch;             /* which assignment of the slot (rg_stream.assign_epoch when assigned) */
    int64_t probe_after_ms;     /* no watermark probe before this (after a failed one) */
} rg_run_slot;

/* One partition of the loaded checkpoint. */
typedef struct rg_run_resume {
    int32_t partition;
    int64_t next_offset;
    bool used;                  /* resumed (assigned) once in this process */
} rg_run_resume;

struct rg_stream {
    rg_stream_config cfg;
    rg_stream_processor proc;
    rg_stream_output output;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_t *actions_rkt;
    rd_kafka_topic_t *deadletter_rkt;

    rg_merge merge;
    rg_run_slot *slots;
    size_t n_slots;

    rg_metrics metrics;
    bool metrics_ready;
    unsigned metrics_port;
    rg_checkpoint *checkpoint;
    /* --state: checkpoint writes run on their own thread (run_commit.c,
     * "checkpoints"). A checkpoint is serialised on the engine thread,
     * waits (ckpt_waiting) until every event it covers has all its records
     * acknowledged, then goes to the writer (ckpt_full_id until stored). */
    struct rg_ckpt_writer *ckpt_writer;
    struct rg_ckpt_job *ckpt_waiting;
    int64_t *ckpt_need;         /* per row of ckpt_waiting: the frontier it waits for; -1 none */
    int64_t ckpt_waiting_since_ms;
    uint64_t ckpt_full_id;      /* the full checkpoint with the writer; 0 none */
    uint32_t assign_epoch;      /* counts assignments of slots */
    bool state_loaded;          /* resume held partitions at the checkpoint's offsets */
    /* The loaded checkpoint's offsets (state_loaded): a partition resumes
     * there at its first assignment in this process (then `used`); until
     * then later checkpoints keep its row, since the state still reflects
     * that partition exactly up to it. */
    rg_run_resume *resume;
    size_t n_resume;
    /* Partitions this process evaluated and gave up (revoked or lost):
     * one past the last event evaluated. If one comes back, the engine's
     * state already holds those events, so it resumes there unless Kafka's
     * committed offset is further (another instance went on meanwhile):
     * re-reading from an older commit would evaluate them twice, after
     * the dedupe memory may have let them go (run_commit.c, on_assign). */
    rg_run_resume *left;
    size_t n_left;
    struct rg_probe *probe;     /* watermark probes for the merge (probe.h) */
    struct rg_run_alerts *alerts;   /* --alerts: the store and the outbox (run_alerts.c); NULL none */

    /* the event being processed */
    unsigned cur_slot;
    uint64_t cur_seq;
    int64_t cur_taken_us;       /* when the consumer handed it over (CLOCK_MONOTONIC us) */
    rg_strbuf record;           /* a decision with decided_at spliced in */
    rg_strbuf deadletter;

    rg_run_retry *retries;
    size_t n_retries, cap_retries;
    int64_t retry_due_ms;

    size_t outq_high;           /* producer queue length above which processing pauses */
    bool queue_full;            /* in a full-queue episode (logged once) */
    bool brokers_down;          /* in an all-brokers-down episode (logged once) */
    bool events_topic_missing;  /* logged once per episode */
    bool fatal;
    bool draining;
    bool subscribed;            /* rd_kafka_subscribe succeeded: the consumer may join the group */
    bool ever_assigned;         /* a rebalance assigned partitions (even none) in this process */
    rd_kafka_queue_t *commit_q;     /* answers to async commits (run_commit.c) */
    bool commit_inflight;           /* an async commit is unanswered */
    int64_t commit_sent_ms;
    int64_t last_commit_ms, last_publish_ms;
    int64_t last_checkpoint_ms;     /* monotonic: the last checkpoint begun (taken or given up) */
    int64_t last_delivery_log_ms, last_commit_log_ms, last_consumer_log_ms, last_queue_log_ms;
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

/* Rate limit for log lines that a fault repeats per record (one line per
 * 5 s per kind): the first says what is wrong, the rest are counted in
 * metrics. */
static inline bool rg_run_log_due(int64_t *last_ms)
{
    int64_t now = rg_run_mono_ms();
    if (*last_ms && now - *last_ms < 5000)
        return false;
    *last_ms = now;
    return true;
}

/* ---- slots ---- */

/* The bookkeeping of a held slot; NULL when slot is not held (a stale
 * delivery report's slot, or the outbox's reserved one). */
static inline rg_run_slot *rg_run_slot_get(rg_stream *s, unsigned slot)
{
    return slot < s->n_slots && slot < s->merge.n_slots && s->merge.slots[slot].active ? &s->slots[slot] : NULL;
}

/* Events taken but not complete, over every held partition. */
static inline size_t rg_run_inflight(const rg_stream *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_slots; i++)
        n += rg_offset_track_inflight(&s->slots[i].track);
    return n;
}

/* The merge's drop callback: buffered messages are Kafka messages. */
static inline void rg_run_drop_message(void *msg) { rd_kafka_message_destroy(msg); }

#endif
