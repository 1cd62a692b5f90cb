/*
 * snapshot — a task's state to <group>.state and back (docs/scale-out.md,
 * "State moves with its partition").
 *
 * Writing (rg_snapshot_serve, each loop turn, per task):
 *   1. every checkpoint interval the stage's state is serialised between
 *      two records, with the input position it reflects (ingest: one past
 *      the last message evaluated; entity/decide: the lowest offset still
 *      queued, else one past the last taken), and the task's output epoch
 *      is closed;
 *   2. once every output of the epochs it covers is acknowledged, the
 *      blob is produced to the task's partition of <group>.state: chunks
 *      of at most RG_SNAPSHOT_CHUNK bytes keyed "TASK/GEN/I", then a header
 *      keyed "TASK" (generation, chunk count, length, CRC-32, position,
 *      time, rule set id);
 *   3. once every piece is acknowledged the snapshot is durable: the
 *      position is queued for commit, the previous generation's chunks get
 *      tombstones, and with --state DIR the blob is written to
 *      DIR/TASK.snap (a cache).
 * A snapshot whose epochs are not acknowledged within 30 s (a broker
 * down) is given up; the next interval takes another.
 *
 * Restoring (rg_snapshot_restore, when partitions are assigned): the
 * tasks' state partitions are read together from their start to the high
 * watermark each had when the read began, with a consumer of its own, and
 * for each task the newest generation whose header and every chunk are
 * there and whose CRC matches is loaded; a newer one in DIR wins. No
 * snapshot: the task starts empty at the committed offset.
 *
 * Engine thread only.
 */
#ifndef RG_STREAM_SNAPSHOT_H
#define RG_STREAM_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"
#include "task.h"

#define RG_SNAPSHOT_CHUNK (512u * 1024u)

/* Begin, wait, write as due (force: begin now, whatever the interval). */
void rg_snapshot_serve(rg_stream *s, rg_task *t, int64_t now_ms, bool force);
/* A piece's delivery report (ticket kind SNAPSHOT). */
void rg_snapshot_delivered(rg_stream *s, rg_task *t, uint32_t gen_low, bool ok);

/* Take a snapshot of each of the n tasks now, all in flight together, and
 * wait (serving the producer) until each is durable or timeout_ms passed.
 * durable_out[i] says which were; returns how many (the others logged). */
size_t rg_snapshot_final(rg_stream *s, rg_task *const *tasks, size_t n, bool *durable_out, int64_t timeout_ms);

/* What restoring one task found. */
typedef struct rg_restore_result {
    int restored;       /* 1 from a snapshot, 0 none (start empty) */
    int64_t resume;     /* the input position to resume at (restored), else -1 */
    double mb;          /* bytes of <group>.state read for it, in MB */
} rg_restore_result;

/* Restore tasks[0..n) from their newest snapshots, reading all their state
 * partitions at once. 0 (out[i] says what each found), or -1 with errstr
 * (unreadable, corrupt, refused: nothing is loaded that can be trusted). */
int rg_snapshot_restore(rg_stream *s, rg_task *const *tasks, size_t n, rg_restore_result *out, char *errstr,
                        size_t errstr_size);

#endif
