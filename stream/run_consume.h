/*
 * run_consume — from the consumer to the processor (part of the runner;
 * see run_internal.h): fetched messages go into their partition's merge
 * buffer (a full buffer pauses that partition's fetch, resumed at half);
 * the merge picks the next message in event-time order (merge.h), and the
 * processor evaluates it, its records produced through run_produce.h.
 *
 * Contract: an event is begun in its partition's offset tracker before the
 * processor sees it and ended after its last record was produced, so the
 * commit frontier never passes an event that is still being processed.
 * Nothing is taken while a checkpoint waits for quiescence, while the
 * producer queue is above its high-water mark (resumed at half), or after
 * a fatal error.
 *
 * Threading: engine thread only.
 */
#ifndef RG_STREAM_RUN_CONSUME_H
#define RG_STREAM_RUN_CONSUME_H

#include <stdint.h>

#include "merge.h"
#include "run.h"

/* Poll the consumer (serving rebalance and commit callbacks), waiting at
 * most timeout_ms for the first message, then take whatever is already
 * fetched (bounded, so the producer is served too). */
void rg_run_poll_consumer(rg_stream *s, int timeout_ms);

typedef enum rg_run_step {
    RG_RUN_IDLE,        /* nothing buffered */
    RG_RUN_WAIT,        /* the merge waits for an empty partition, at most *wait_ms */
    RG_RUN_MORE,        /* stopped after a bounded batch: call again soon */
    RG_RUN_BLOCKED      /* not taking events now (queue full, checkpoint, fatal) */
} rg_run_step;

/* Process up to a few thousand events in merge order. */
rg_run_step rg_run_process_some(rg_stream *s, int64_t *wait_ms);

/* Refresh the held partitions' high watermarks (from the consumer's
 * cached fetch state; no request). */
void rg_run_refresh_watermarks(rg_stream *s);

/* The merge's prepare callback: the processor parses a buffered head. */
int rg_run_prepare_head(void *opaque, unsigned slot, const rg_merge_item *item, int64_t *ts_ms);

#endif
