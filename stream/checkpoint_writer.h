/*
 * checkpoint_writer — the checkpoint database's writes on a thread of
 * their own, so that the engine thread never waits for SQLite or fsync
 * (docs/bench-stream.md, F1: a checkpoint stalled decisions for 170-410
 * ms when the whole write ran on the engine thread).
 *
 * The engine thread prepares a job (offsets, and for a full checkpoint the
 * serialised state), submits it and goes on; the writer runs jobs one at a
 * time in submission order, each in one transaction (checkpoint.h), and
 * puts it back on a finished list with its result, which the engine
 * thread collects with rg_ckpt_writer_done. Submission order matters: a
 * full checkpoint replaces every row, a rows job only adds missing ones,
 * and the runner relies on them landing in the order it made them.
 *
 * Ownership: the writer borrows the rg_checkpoint (the caller closes it
 * after rg_ckpt_writer_stop) and owns the database while it runs: no
 * other thread may use it until stop returns. A submitted job belongs to
 * the writer until it comes back from done/wait; the caller then frees it
 * (rg_ckpt_job_free).
 *
 * Threading: submit, done, wait and stop are called from one
 * thread (the engine thread).
 */
#ifndef RG_STREAM_CHECKPOINT_WRITER_H
#define RG_STREAM_CHECKPOINT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "checkpoint.h"

typedef enum rg_ckpt_job_kind {
    RG_CKPT_FULL,   /* rg_checkpoint_store: exactly these rows, and the state when with_state */
    RG_CKPT_ROWS,   /* rg_checkpoint_add_offsets: these rows where none exists */
} rg_ckpt_job_kind;

typedef struct rg_ckpt_job {
    rg_ckpt_job_kind kind;
    uint64_t id;                    /* set by rg_ckpt_writer_submit: 1, 2, ... */
    rg_checkpoint_offset *offsets;  /* owned (malloc) */
    uint32_t *epochs;               /* owned, parallel to offsets: the caller's bookkeeping (may be NULL) */
    size_t n;
    rg_strbuf blob;                 /* RG_CKPT_FULL with_state: the serialised state */
    bool with_state;
    char *ruleset;                  /* owned copy, may be NULL */
    size_t blob_len;                /* the state's size (blob is freed once stored) */
    int64_t saved_at_ms;            /* wall time the state was serialised */
    /* Timing (CLOCK_MONOTONIC µs), for the log: begun by the caller, ready
     * when submitted (set by submit); serialise and write durations. */
    int64_t begun_us, ready_us, serialise_us, write_us;
    /* result, set by the writer */
    int rc;
    char err[512];
    struct rg_ckpt_job *next;
} rg_ckpt_job;

typedef struct rg_ckpt_writer rg_ckpt_writer;

/* Start the writer thread for cp's rows of topic (borrowed; both must
 * outlive the writer). NULL with errstr on failure. */
rg_ckpt_writer *rg_ckpt_writer_start(rg_checkpoint *cp, const char *topic, char *errstr, size_t errstr_size);

/* Queue a job (the writer takes it); returns its id. */
uint64_t rg_ckpt_writer_submit(rg_ckpt_writer *w, rg_ckpt_job *job);

/* A finished job (oldest first), or NULL when none is finished yet. */
rg_ckpt_job *rg_ckpt_writer_done(rg_ckpt_writer *w);

/* Block until a job is finished and return it; NULL when nothing is
 * queued, running or finished. */
rg_ckpt_job *rg_ckpt_writer_wait(rg_ckpt_writer *w);

/* Finish every queued job, stop the thread and free what was not
 * collected. NULL-safe. */
void rg_ckpt_writer_stop(rg_ckpt_writer *w);

void rg_ckpt_job_free(rg_ckpt_job *job);   /* NULL-safe */

#endif
