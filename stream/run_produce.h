/*
 * run_produce — producing records for events, and what happens to them
 * after: delivery reports and the retry queue (part of the runner; see
 * run_internal.h for how the files fit together).
 *
 * Contract: every record produced for an event is counted against that
 * event in its partition's offset tracker (offsets.h) before it is handed
 * to librdkafka, and acknowledged only by a successful delivery report.
 * A refused produce call or a failed delivery keeps a copy that is
 * produced again (500 ms backoff): nothing is ever dropped while its
 * partition is held. A record whose partition was revoked before delivery
 * is forgotten (the next owner re-reads its event: its offset was never
 * committed).
 *
 * Threading: engine thread only (delivery reports are served by
 * rd_kafka_poll(producer) calls made there).
 */
#ifndef RG_STREAM_RUN_PRODUCE_H
#define RG_STREAM_RUN_PRODUCE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

#include "../common/strbuf.h"
#include "run.h"

/* Produce one record for the event being processed (s->cur_slot,
 * s->cur_seq), key and value copied. A full producer queue waits here,
 * serving delivery reports, until there is room. */
void rg_run_produce_tracked(rg_stream *s, rd_kafka_topic_t *rkt, const void *key, size_t key_len, const void *value,
                            size_t value_len);

/* Produce the kept copies again when their backoff is over (or now, with
 * force). */
void rg_run_retry_due(rg_stream *s, bool force);

/* Forget every kept copy (shutdown). */
void rg_run_retries_free(rg_stream *s);

/* One record of the ticket's event acknowledged (an alert written);
 * false when the ticket is stale (its partition was revoked). */
bool rg_run_ack_ticket(rg_stream *s, void *ticket);

/* Append json (a decision object, ending in '}') to out with
 * ,"decided_at":"<now, UTC ms>" before the closing brace. false when json
 * does not end in '}' or on OOM. */
bool rg_run_splice_decided_at(rg_strbuf *out, const char *json, size_t json_len);

/* librdkafka's delivery report callback (dr_msg_cb); opaque = the stream.
 * Outbox releases go to run_alerts.h. */
void rg_run_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque);

/* rg_stream_output.decision: splice decided_at into the decision and
 * produce it to the action topic, key = subject. */
int rg_run_out_decision(void *opaque, const char *subject, size_t subject_len, const char *json, size_t json_len,
                        const char *const *actions, size_t n_actions, const char *const *rule_ids, size_t n_rules);

#endif
