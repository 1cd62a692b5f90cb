/* run_produce — producing, delivery reports, the retry queue; see run_produce.h. */
#include "run_produce.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "run_alerts.h"
#include "run_internal.h"

static void retry_push(rg_stream *s, rd_kafka_topic_t *rkt, const void *key, size_t key_len, const void *value,
                       size_t value_len, void *ticket)
{
    if (s->n_retries == s->cap_retries) {
        size_t cap = s->cap_retries ? s->cap_retries * 2 : 64;
        rg_run_retry *p = realloc(s->retries, cap * sizeof *p);
        if (!p)
            goto oom;
        s->retries = p;
        s->cap_retries = cap;
    }
    rg_run_retry *r = &s->retries[s->n_retries];
    r->rkt = rkt;
    r->key = key_len ? malloc(key_len) : NULL;
    r->value = malloc(value_len ? value_len : 1);
    if ((key_len && !r->key) || !r->value) {
        free(r->key);
        free(r->value);
        goto oom;
    }
    if (key_len)
        memcpy(r->key, key, key_len);
    if (value_len)
        memcpy(r->value, value, value_len);
    r->key_len = key_len;
    r->value_len = value_len;
    r->ticket = ticket;
    s->n_retries++;
    if (!s->retry_due_ms)
        s->retry_due_ms = rg_run_mono_ms() + 500;
    return;
oom:
    /* The record cannot be kept: stop rather than commit past it. */
    rg_log(RG_LOG_ERROR, "out of memory keeping a record to produce again; stopping without committing past it",
           NULL);
    s->fatal = true;
}

/* Produce one record for the current event; never drops it. A full queue
 * waits here (serving delivery reports) until there is room; any other
 * refusal keeps the record for a later attempt. */
void rg_run_produce_tracked(rg_stream *s, rd_kafka_topic_t *rkt, const void *key, size_t key_len,
                            const void *value, size_t value_len)
{
    rg_run_slot *ss = &s->slots[s->cur_slot];
    void *ticket = rg_offset_ticket(s->cur_slot, s->cur_seq);
    rg_offset_track_add(&ss->track, s->cur_seq);
    for (;;) {
        if (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)value, value_len, key, key_len,
                             ticket) == 0)
            return;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (!s->queue_full) {
                s->metrics.producer_queue_full++;
                if (rg_run_log_due(&s->last_queue_log_ms))
                    rg_log(RG_LOG_WARN, "producer queue full: consumption paused until the broker acknowledges",
                           "topic", rd_kafka_topic_name(rkt), NULL);
                s->queue_full = true;
            }
            rd_kafka_poll(s->producer, 100);
            continue;
        }
        if (rg_run_log_due(&s->last_delivery_log_ms))
            rg_log(RG_LOG_WARN, "produce refused; the record is kept and produced again", "topic",
                   rd_kafka_topic_name(rkt), "error", rd_kafka_err2str(err), NULL);
        s->metrics.delivery_errors++;
        retry_push(s, rkt, key, key_len, value, value_len, ticket);
        return;
    }
}

/* Is the ticket's event still tracked (its partition still held)? */
static rg_offset_track *ticket_track(rg_stream *s, void *ticket, uint64_t *seq)
{
    unsigned slot;
    uint64_t seq48;
    rg_offset_ticket_split(ticket, &slot, &seq48);
    rg_run_slot *ss = rg_run_slot_get(s, slot);
    if (!ss)
        return NULL;
    *seq = rg_offset_track_seq_from48(&ss->track, seq48);
    if (*seq < ss->track.base_seq || *seq >= ss->track.base_seq + ss->track.count)
        return NULL;
    return &ss->track;
}

void rg_run_retry_due(rg_stream *s, bool force)
{
    if (!s->n_retries || (!force && rg_run_mono_ms() < s->retry_due_ms))
        return;
    size_t kept = 0;
    for (size_t i = 0; i < s->n_retries; i++) {
        rg_run_retry *r = &s->retries[i];
        uint64_t seq;
        if (!ticket_track(s, r->ticket, &seq)) {
            /* Its partition moved away before delivery: the new owner
             * re-reads the event (its offset was never committed). */
            free(r->key);
            free(r->value);
            continue;
        }
        if (rd_kafka_produce(r->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, r->value, r->value_len, r->key,
                             r->key_len, r->ticket) == 0) {
            free(r->key);
            free(r->value);
            continue;
        }
        s->retries[kept++] = *r;
    }
    s->n_retries = kept;
    s->retry_due_ms = kept ? rg_run_mono_ms() + 500 : 0;
}

void rg_run_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    rg_stream *s = opaque;
    if (rg_run_outbox_ticket(m->_private)) {
        rg_run_outbox_delivered(s, m);
        return;
    }
    uint64_t seq;
    rg_offset_track *t = ticket_track(s, m->_private, &seq);
    if (m->err) {
        s->metrics.delivery_errors++;
        if (rg_run_log_due(&s->last_delivery_log_ms))
            rg_log(RG_LOG_WARN, "delivery failed; the record is produced again", "topic", rd_kafka_topic_name(m->rkt),
                   "error", rd_kafka_err2str(m->err), NULL);
        if (t)
            retry_push(s, m->rkt, m->key, m->key_len, m->payload, m->len, m->_private);
        return;
    }
    s->metrics.records_delivered++;
    if (s->brokers_down) {
        rg_log(RG_LOG_INFO, "brokers reachable again", NULL);
        s->brokers_down = false;
    }
    int64_t msg_ts_ms = -1;
    int64_t taken_us = t ? rg_offset_track_taken_us(t, seq) : 0;
    if (t && rg_offset_track_ack(t, seq, &msg_ts_ms) && m->rkt == s->actions_rkt) {
        if (msg_ts_ms > 0)
            rg_metrics_latency(&s->metrics, (double)(rg_run_wall_us() - msg_ts_ms * 1000) / 1e6);
        if (taken_us > 0)
            rg_metrics_stage(&s->metrics.decision_ack, (double)(rg_run_mono_us() - taken_us) / 1e6);
    }
}

bool rg_run_splice_decided_at(rg_strbuf *out, const char *json, size_t json_len)
{
    if (json_len < 2 || json[json_len - 1] != '}')
        return false;
    rg_strbuf_append(out, json, json_len - 1);
    rg_strbuf_puts(out, ",\"decided_at\":\"");
    rg_strbuf_put_utc_ms(out, rg_run_wall_us() / 1000);
    rg_strbuf_puts(out, "\"}");
    return rg_strbuf_ok(out);
}

bool rg_run_ack_ticket(rg_stream *s, void *ticket)
{
    uint64_t seq;
    rg_offset_track *t = ticket_track(s, ticket, &seq);
    return t && rg_offset_track_ack(t, seq, NULL);
}

/* rg_stream_output.decision: splice decided_at and produce, key = subject. */
int rg_run_out_decision(void *opaque, const char *subject, size_t subject_len, const char *json, size_t json_len,
                        const char *const *actions, size_t n_actions, const char *const *rule_ids, size_t n_rules)
{
    rg_stream *s = opaque;
    rg_strbuf_reset(&s->record);
    if (!rg_run_splice_decided_at(&s->record, json, json_len)) {
        if (json_len < 2 || json[json_len - 1] != '}') {
            rg_log(RG_LOG_ERROR, "decision JSON does not end in '}'; not produced", NULL);
            return -1;
        }
        rg_log(RG_LOG_ERROR, "out of memory formatting a decision; stopping", NULL);
        s->fatal = true;
        return -1;
    }
    rg_run_produce_tracked(s, s->actions_rkt, subject, subject_len, s->record.data, s->record.len);
    if (s->cur_taken_us > 0)
        rg_metrics_stage(&s->metrics.decision_produce, (double)(rg_run_mono_us() - s->cur_taken_us) / 1e6);
    rg_metrics_decision(&s->metrics, actions, n_actions, rule_ids, n_rules);
    return 0;
}

void rg_run_retries_free(rg_stream *s)
{
    for (size_t i = 0; i < s->n_retries; i++) {
        free(s->retries[i].key);
        free(s->retries[i].value);
    }
    free(s->retries);
    s->retries = NULL;
    s->n_retries = s->cap_retries = 0;
}
