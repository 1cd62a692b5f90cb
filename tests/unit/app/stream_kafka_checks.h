/*
 * stream_kafka_checks — what the Kafka tests check, from outside the
 * runners, on what stream_kafka_harness.h produced and read: the
 * invariant, continuously (await_all) and once more after the runners
 * stopped (final_check), and the bodies against replay's (check_replay).
 *
 * The invariant (docs/scale-out.md, "When a snapshot is written"): a task's
 * position -- its committed offset, or the resume position of a snapshot
 * header on <group>.state -- only passes input whose outputs were
 * acknowledged. So at every moment, for every task:
 *   ingest k: every event below the position has its records on the
 *             internal topics (EVENT on <group>.decide, ENTITY on
 *             <group>.entities for a transfer) or, rejected, its dead
 *             letter;
 *   entity r: every ENTITY record below it has its ENRICH on <group>.decide;
 *   decide d: every EVENT record below it has all its event's decisions
 *             on the action topic;
 * and no committed offset is past the newest snapshot header. Together:
 * a crash at any moment loses no decision. Positions are read first
 * (committed offsets, then the state topic's end), the outputs after (to
 * their ends as of then), so an output acknowledged before its position
 * moved is always found. At the end the action topic holds exactly the
 *
 * Ownership: nothing of their own beyond a call. They read through the
 * harness's reader and checker and record what they read in the harness
 * (seen decisions, positions, committed offsets, checks); a violation
 * fails the test (cmocka). The test's thread only.
 */
#ifndef RG_TEST_STREAM_KAFKA_CHECKS_H
#define RG_TEST_STREAM_KAFKA_CHECKS_H

#include "stream_kafka_harness.h"

/* Check the invariant (file comment) once. Returns the number of events
 * partitions whose position reached their end, or -1 when this round could
 * not check (the coordinator or a topic's broker unreachable). */
int check_invariant(harness *h);

/* Wait until everything produced is fully processed (all_processed,
 * stream_kafka_checks.c), checking the invariant all along; `during` runs
 * once per round (fault injection), with the round number. */
void await_all(harness *h, int64_t timeout_ms, void (*during)(harness *, int round, void *), void *arg);

/* Wait until every events partition's committed offset reached its end
 * while the runners still run (commits resume after faults, and a task
 * restored after a lost assignment commits its snapshot's position). */
void await_committed(harness *h, int64_t timeout_ms);

/* After every runner stopped (cleanly, after await_all): one last check
 * with everything up. Every events partition is committed to its end;
 * every <group>.decide and <group>.entities partition past its last record
 * that is not a MARK (a drain's final snapshots cover everything taken,
 * and every record had been evaluated; MARKs may follow, sent while the
 * tasks downstream were given up). Else a restart would evaluate again
 * what was done. Nothing was trimmed by the mock either. */
void final_check(harness *h);

/* `riskgate replay` of everything produced (in production order, which is
 * event-time order), in process: every decision of an event i >= from
 * must be on the action topic with the same body (less decided_at), and
 * the run must have no other decision of those events. */
void check_replay(harness *h, int from);

/* The event the test produced at partition/offset (fails when none). */
const ev_rec *event_at(harness *h, int32_t partition, int64_t offset);

#endif
