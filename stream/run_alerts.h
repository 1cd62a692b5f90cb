/*
 * run_alerts — `riskgate run --alerts DB` (part of the runner; see
 * run_internal.h): every decision becomes an alert in the alert store
 * (store/alerts.h), and the store's release outbox is delivered to the
 * action topic.
 *
 * Alerts. The processor hands every decision (emitted or under cooldown)
 * to rg_run_out_alert, which copies it and counts it as one more record of
 * its event in the offset tracker (offsets.h), exactly like a produced
 * decision. Copies are written in short transactions (every 200 ms, at
 * once when the loop is idle, or when 5000 are waiting) and acknowledged
 * in the tracker only after the transaction committed. So an input offset
 * is committed to Kafka (and a checkpoint taken) only once the alerts of
 * every event before it are in the store; a restart that re-reads events
 * adds nothing twice (an alert's id is its decision_id, unique in the
 * store). Between writes the store holds no transaction, so `riskgate
 * alerts label/resolve` and `riskgate serve` get the write lock at once.
 * A write that fails (SQLITE_BUSY after a 100 ms wait: another process
 * holds the write lock; or any other error) keeps every copy and tries
 * again 200 ms later; offsets simply do not move meanwhile, and above
 * 100 000 waiting copies processing pauses (nothing is dropped).
 *
 * Outbox. Every second (and at start) the unsent releases are read
 * (rg_alert_store_outbox_pending); each one not already in flight is
 * produced to the action topic, key = subject, value = the release JSON
 * with decided_at spliced in, its delivery report ticket naming the
 * outbox row (slot RG_OFFSET_SLOT_MAX, which no partition uses). Only a
 * successful delivery report marks the row sent; a failed one frees it
 * for the next read (so it is produced again, about 1 s later). A mark
 * that fails (BUSY) is retried every second; the row is not produced
 * again meanwhile. A crash between the broker's acknowledgement and the
 * mark re-delivers that release after restart (same decision_id).
 *
 * Threading: engine thread only. Ownership: the runner owns the store
 * handle and the copies; rg_run_alerts_close frees them (copies not yet
 * written are lost, but their events' offsets were never committed).
 */
#ifndef RG_STREAM_RUN_ALERTS_H
#define RG_STREAM_RUN_ALERTS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run.h"

typedef struct rg_run_alerts rg_run_alerts;

struct rg_decision;

/* Open (or create) the store at path. 0, or -1 with errstr. */
int rg_run_alerts_open(rg_stream *s, const char *path, char *errstr, size_t errstr_size);
/* Write what can still be written, then close. NULL-safe (no store). */
void rg_run_alerts_close(rg_stream *s);

/* rg_stream_output.alert: copy d for the store, counted against the event
 * being processed. */
int rg_run_out_alert(void *opaque, const struct rg_decision *d);

/* Write the waiting copies when due (or now, with force; a failed write
 * still waits out its 200 ms backoff). Returns the number still waiting. */
size_t rg_run_alerts_write(rg_stream *s, bool force);

/* Copies waiting to be written (0 without a store). */
size_t rg_run_alerts_pending(const rg_stream *s);
/* True when so many wait that processing must pause. */
bool rg_run_alerts_full(const rg_stream *s);

/* Read the outbox and produce its unsent releases when due (every
 * second), and retry failed marks. Nothing new is produced while
 * draining. */
void rg_run_outbox_serve(rg_stream *s, int64_t now_ms);
/* Releases produced and not yet reported. */
size_t rg_run_outbox_inflight(const rg_stream *s);

/* Is this delivery report's ticket an outbox release? */
bool rg_run_outbox_ticket(const void *ticket);
/* The delivery report of an outbox release. */
void rg_run_outbox_delivered(rg_stream *s, const rd_kafka_message_t *m);

#endif
