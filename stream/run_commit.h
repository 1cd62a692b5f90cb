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
 * up; on loss nothing is committed. A checkpoint holds rows and the
 * processor's state in one transaction; its state is serialised on the
 * engine thread without pausing, and it is stored, on a writer thread,
 * only once every event below its rows has all its records acknowledged.
 *
 * Threading: engine thread only (librdkafka serves the rebalance and
 * commit callbacks from rd_kafka_consumer_poll there), except the
 * checkpoint database's writes, which run on the writer thread
 * (checkpoint_writer.h).
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

/* Checkpoints (--state), see run_commit.c "checkpoints": start/stop the
 * writer thread (stop waits for what is queued); serve, every turn of the
 * loop: collect stored checkpoints, begin one every checkpoint interval,
 * hand a waiting one to the writer once its records are acknowledged;
 * final (the drain, nothing in flight): store a checkpoint of now and wait
 * for it, 0 when it is durable, -1 otherwise (logged; the previous one
 * stays). start: 0, or -1 with errstr. */
int rg_run_checkpoint_start(rg_stream *s, char *errstr, size_t errstr_size);
void rg_run_checkpoint_stop(rg_stream *s);
void rg_run_checkpoint_serve(rg_stream *s, int64_t now);
int rg_run_checkpoint_final(rg_stream *s);

/* rebalance_cb (eager and cooperative protocols). */
void rg_run_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque);

#endif
