/*
 * run_commit — offset commits, checkpoints and rebalances (part of the
 * runner; see run_internal.h): everything that decides which input
 * offsets are final.
 *
 * Contract: an offset is committed only as a partition's commit frontier
 * (offsets.h): one past the longest prefix of events whose every record
 * was acknowledged, and, when a state is kept (--state), only for a
 * partition the checkpoint database has a row for: a partition without
 * one gets its row (where its consumption began) before its first
 * commit, so a restart never starts past the stored state (see
 * docs/streaming.md, "Checkpoints"). Async commits run every commit
 * interval and after a checkpoint; sync ones on revoke and at drain. On revoke the partitions'
 * buffered messages are dropped, their in-flight records awaited (10 s,
 * 1 s while draining) and their frontiers committed before they are given
 * up; on loss nothing is committed. A checkpoint is written only at a
 * quiescent point (nothing in flight) and holds the frontiers and the
 * processor's state in one transaction.
 *
 * Threading: engine thread only (librdkafka serves the rebalance and
 * commit callbacks from rd_kafka_consumer_poll there).
 */
#ifndef RG_STREAM_RUN_COMMIT_H
#define RG_STREAM_RUN_COMMIT_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>

#include "run.h"

/* Commit the frontier of every held partition (or only those in `only`)
 * that moved past its last acknowledged commit. sync: wait for the
 * answer. Otherwise the answer comes through rg_run_commit_serve, and at
 * most one async commit is in flight: while one is unanswered (up to
 * 30 s) the call does nothing (the next one carries the newer frontier). */
void rg_run_commit(rg_stream *s, bool sync, const rd_kafka_topic_partition_list_t *only);

/* Serve the answers to async commits (their own queue); call from the
 * loop. */
void rg_run_commit_serve(rg_stream *s);

/* offset_commit_cb: count, remember what the broker acknowledged. */
void rg_run_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                      void *opaque);

/* Write the held partitions' frontiers and the processor's state (one
 * transaction). 0, or -1 (logged; the previous checkpoint stays). */
int rg_run_write_checkpoint(rg_stream *s);

/* rebalance_cb (eager and cooperative protocols). */
void rg_run_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque);

#endif
