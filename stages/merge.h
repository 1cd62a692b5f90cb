/*
 * merge — the entity stage's merge of its sources, the ingest tasks
 * (docs/scale-out.md, "Order after the shuffle"): Flink's rule, a merge of
 * sorted sequences gated by the sources' progress, with the waiting rule
 * and bounds of the single-instance merge (docs/streaming.md).
 *
 * A task's input partition interleaves the records of every ingest task
 * in arrival order. The merge keeps one queue per source (each source's
 * records arrive in its own order: one producer, one partition) and
 * evaluates the lowest head by (ts, message timestamp, source, sequence),
 * but only once no source with an empty queue could still send something
 * before it:
 *   - a source reports its progress (the highest ts it evaluated, and
 *     whether its partition is drained) on every record and in MARKs;
 *   - an empty source that is drained holds back a head beyond its
 *     progress (its progress follows its silence at the source; here it
 *     is carried forward by the time since the report, at most one mark
 *     interval -- the interval at which a drained source reports, which
 *     the runner passes here -- so a source that stopped reporting stops
 *     advancing);
 *   - an empty source that is not drained holds back a head at or beyond
 *     its progress; one never heard from holds back everything;
 *   - bounds (wall): drained sources that still report (idle) together
 *     hold the merge back at most max_idle_ms per spell (from the first
 *     hold until the merge runs out of heads or a drained source that may
 *     have held it back sends data), except that each has at least
 *     max_idle_ms from when it became idle (its first "drained", or the
 *     first after a silence or after "not drained": that word is new, and
 *     its partition's next records may be on their way); any other source
 *     (not drained, or silent: no report for RG_SMERGE_SILENT_MARKS mark
 *     intervals and at least RG_SMERGE_SILENT_MIN_MS, its instance
 *     perhaps dead) at most max_wait_ms from its first hold until it
 *     sends data; past its bound a source is left behind until it sends
 *     data again or, left behind while drained, reports its partition not
 *     drained (records on the broker it has not read: it holds again,
 *     under max_wait_ms from its first hold), and its records then come
 *     late (flagged).
 *
 * History: the records a task finds on its input partition when it is
 * assigned (its backlog) were sent before it existed, perhaps by owners of
 * the sources that are gone since: the run before a restart, an instance
 * that died. What they say of a source's progress still holds (progress
 * only grows), but their "drained" described that owner's partition then,
 * and the source's present owner may be restored at an older position
 * with records to send again and new ones after them, not having spoken
 * yet. Taken for idle, such a source was left behind after max_idle_ms
 * and its new records came late (measured: 184 and 495 late records in
 * runs of tests/cli/stream_state.sh under load, two wrong decisions in
 * one). So a "drained" read below the history end counts as "not
 * drained": the source holds the merge under max_wait_ms until a word of
 * its present owner comes (a record, or a MARK within a mark interval).
 * Except "drained, never had an event" (progress INT64_MIN): its source
 * says it once and is silent after (its position never moves), and its
 * present owner can only have events that came since, as with a word of
 * the present.
 *
 * Sending again: after a source's task is restored on another instance it
 * sends again what its snapshot did not cover. Each record has a sequence
 * per source (its event's offset x 4 + a rank for the entity family: one
 * event may send two records to one partition); a record at or below the
 * last one queued or evaluated from its source is dropped; it still
 * counts as a sign of life (the source's wait starts again: it is working
 * through its backlog towards new records).
 *
 * Ownership: the merge owns its queues and the copies of the record bytes
 * pushed; a popped item's data belongs to the caller. One thread.
 */
#ifndef RG_STAGES_MERGE_H
#define RG_STAGES_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"
#include "../common/strbuf.h"

/* A drained source silent this many mark intervals (and at least this
 * long) is no longer taken for idle. */
#define RG_SMERGE_SILENT_MARKS 10
#define RG_SMERGE_SILENT_MIN_MS 1000

typedef struct rg_smerge_item {
    int64_t seq;            /* per source, increasing: offset * 4 + family rank */
    int64_t ts_ms;
    int64_t msg_ts_ms;
    int64_t input_offset;   /* the record's offset in this task's input partition */
    void *data;             /* the record's bytes (the merge's copy until popped) */
    size_t len;
} rg_smerge_item;

typedef struct rg_smerge_source {
    rg_smerge_item *ring;
    size_t cap, head, count;
    int64_t last_seq;           /* last queued or evaluated; -1 none */
    int64_t evaluated_seq;      /* last evaluated; -1 none */
    int64_t progress_ms;        /* reported; INT64_MIN never heard */
    bool drained;
    int64_t heard_ms;           /* local monotonic ms of the last report; -1 never */
    int64_t wait_since_ms;      /* first hold of this spell (not drained); -1 none */
    int64_t idle_from_ms;       /* local monotonic ms it became idle (drained, reporting); -1 not */
    bool left_behind;           /* past its bound: ignored until it sends data */
    bool just_left_behind;      /* set when left behind; the caller logs and clears it */
    bool left_while_drained;
} rg_smerge_source;

typedef struct rg_smerge {
    rg_smerge_source *sources;
    size_t n;
    int64_t max_idle_ms, max_wait_ms, mark_interval_ms;
    int64_t idle_since_ms;      /* drained sources have held the merge back since; -1 not */
    int64_t stream_time_ms;     /* highest ts evaluated; INT64_MIN none */
    uint64_t enforced;          /* sources left behind */
    uint64_t enforced_wait;     /* ... of them not drained */
    uint64_t late;              /* records evaluated below stream time */
    uint64_t resent;            /* records dropped as sent again */
    bool input_behind;          /* the task's own input has records not read yet */
    int64_t history_end;        /* input offsets below it are history (merge.h); INT64_MIN none */
    int64_t clock_ms;           /* now_ms of the last rg_smerge_next; -1 none */
} rg_smerge;

typedef enum rg_smerge_result { RG_SMERGE_IDLE = 0, RG_SMERGE_PICK, RG_SMERGE_WAIT } rg_smerge_result;

/* n sources (the events topic's partition count). 0, or -1 on OOM. */
int rg_smerge_init(rg_smerge *m, size_t n_sources, int64_t max_idle_ms, int64_t max_wait_ms,
                   int64_t mark_interval_ms);
void rg_smerge_free(rg_smerge *m);

/* Queue a record of source src (it->data is copied). 1 queued, 0 dropped
 * (sent again), -1 out of memory or src out of range. */
int rg_smerge_push(rg_smerge *m, size_t src, const rg_smerge_item *it);

/* A source's report (any record's header, or a MARK) at local monotonic
 * time now_ms. Progress only grows (a restored source reports an older
 * progress while it catches up: what it reported before still holds). */
void rg_smerge_progress(rg_smerge *m, size_t src, int64_t progress_ms, bool drained, int64_t now_ms);

/* The end of the backlog the task found on its input when it was
 * assigned: reports read below it are history (file comment). Set before
 * the first record is read; the default (INT64_MIN) makes every report
 * present, as in replay's in-memory stages. */
void rg_smerge_set_history_end(rg_smerge *m, int64_t end);

/* A report read from the task's input at input_offset: rg_smerge_progress,
 * except that a "drained" from history counts as "not drained". */
void rg_smerge_report(rg_smerge *m, size_t src, int64_t progress_ms, bool drained, int64_t input_offset,
                      int64_t now_ms);

/* Whether the task's own input partition holds records it has not read
 * yet (its consumer is behind). Meanwhile the bounds' clock stands still:
 * a report read from that backlog is old news (a source "drained" seconds
 * ago may have sent its next records since, further on in the same
 * backlog), so a source is left behind only once its bound has passed
 * with the input read to its end. A task whose fetch is paused (too much
 * queued) is not behind in this sense: its bounds run. */
void rg_smerge_set_input_behind(rg_smerge *m, bool behind);

/* What to evaluate next at now_ms (local monotonic): PICK (*src, *late),
 * WAIT (*wait_ms: nothing changes before that but a record), IDLE. */
rg_smerge_result rg_smerge_next(rg_smerge *m, int64_t now_ms, size_t *src, int64_t *wait_ms, bool *late);

/* Take the head of src (after PICK); the item's data is the caller's. */
rg_smerge_item rg_smerge_pop(rg_smerge *m, size_t src);

/* Diagnostics (the runner's per-task metrics): the empty sources that
 * hold back the lowest queued head at now_ms (not left behind), at most
 * max of them into srcs, in source order; returns how many there are in
 * all (0: nothing queued, or nothing holds the head). Changes nothing. */
size_t rg_smerge_holders(const rg_smerge *m, int64_t now_ms, size_t *srcs, size_t max);

/* The lowest input offset of a queued record; INT64_MAX when none. */
int64_t rg_smerge_min_input_offset(const rg_smerge *m);
size_t rg_smerge_queued(const rg_smerge *m);

/* The bookkeeping a snapshot keeps (per source: last evaluated, progress,
 * drained). load: into a fresh merge with the same source count; the
 * queues start empty (their records are read again). */
void rg_smerge_save(const rg_smerge *m, rg_strbuf *out);
int rg_smerge_load(rg_smerge *m, rg_reader *in);

#endif
