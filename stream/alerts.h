/*
 * alerts — `riskgate run --alerts DB` (part of the runner; see
 * runtime.h): every decision becomes an alert in the alert store
 * (store/alerts.h), and the store's release outbox is delivered to the
 * action topic.
 *
 * Alerts. The store is a sink (sinks/sink.h; s->sinks.alerts once open):
 * a decide task hands it every decision (emitted or under cooldown) with
 * an output ticket of its current epoch, exactly like a produced decision
 * (task.h); `decision` keeps a copy (RG_SINK_FAILED only out of memory,
 * which is fatal), `flush` writes now, `close` is rg_run_alerts_close.
 * Copies are written in short transactions (every 200 ms, at once when the
 * loop is idle, or when 5000 are waiting) and their tickets acknowledged
 * (the sink's callback, rg_run_acked) only after the transaction
 * committed. So no snapshot (and no commit) covers an event whose alerts
 * are not in the store; a task that evaluates events again adds nothing
 * twice (an alert's id is its decision_id, unique in the store). Between
 * writes the store holds no transaction, so `riskgate alerts
 * label/resolve` and `riskgate serve` get the write lock at once.
 * A write that fails (SQLITE_BUSY after a 100 ms wait: another process
 * holds the write lock; or any other error) keeps every copy and tries
 * again 200 ms later; offsets simply do not move meanwhile, and above
 * 100 000 waiting copies processing pauses (nothing is dropped).
 *
 * Outbox. Every second (and at start) the unsent releases are read
 * (rg_alert_store_outbox_pending); each one not already in flight is
 * produced to the action topic, key = subject, value = the release JSON
 * with decided_at spliced in, its delivery report ticket naming the
 * outbox row (rg_outbox_ticket: slot 0xffff, which no task uses). Only a
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
#ifndef RG_STREAM_ALERTS_H
#define RG_STREAM_ALERTS_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime.h"

typedef struct rg_run_alerts rg_run_alerts;

struct rg_decision;

/* Open (or create) the store at path, and make s->sinks.alerts its sink
 * (acknowledging with rg_run_acked). 0, or -1 with errstr. */
int rg_run_alerts_open(rg_stream *s, const char *path, char *errstr, size_t errstr_size);
/* Write what can still be written, then close (the sink's close; copies
 * not written are acknowledged with err: never). NULL-safe (no store). */
void rg_run_alerts_close(rg_stream *s);

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

/* The delivery report of an outbox release. */
void rg_run_outbox_delivered(rg_stream *s, const rd_kafka_message_t *m);

#endif
