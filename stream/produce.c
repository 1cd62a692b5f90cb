/* produce — producing with delivery tickets, retries, delivery reports,
 * and the topics as sinks over them (runtime.h). Nothing a task produces
 * is ever dropped: a failed delivery or a refused produce keeps a copy
 * that is produced again 500 ms later, for as long as its task is held (a
 * task given up leaves its records to the next owner, which evaluates
 * their input again from its snapshot). A topic sink acknowledges a record
 * by its delivery report: only the last attempt's (delivered, or purged
 * at exit) reaches the sink's callback; a failed one that is produced
 * again does not. */
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "log.h"
#include "runtime.h"
#include "snapshot.h"
#include "task.h"

/* The task a ticket belongs to, if still held under the same generation. */
static rg_task *ticket_task(rg_stream *s, const void *ticket)
{
    unsigned slot = rg_ticket_slot(ticket);
    if (slot >= s->tasks.n || !s->tasks.slots[slot])
        return NULL;
    rg_task *t = s->tasks.slots[slot];
    return (t->gen & 0xffffu) == rg_ticket_gen(ticket) ? t : NULL;
}

void rg_run_acked(void *opaque, void *ticket, int err)
{
    rg_stream *s = opaque;
    rg_task *t = ticket_task(s, ticket);
    if (!t)
        return;
    rg_ticket_kind kind = rg_ticket_kind_of(ticket);
    if (kind == RG_TICKET_UNTRACKED)
        rg_task_mark_acked(t, rg_ticket_epoch(ticket));   /* delivered or not: the next may go */
    else if (err)
        return;   /* never arrives: nothing past its input is committed */
    else if (kind == RG_TICKET_OUTPUT)
        rg_task_acked(t, rg_ticket_epoch(ticket));
    else if (kind == RG_TICKET_SNAPSHOT)
        rg_snapshot_delivered(s, t, rg_ticket_epoch(ticket), true);
}

static void retry_push(rg_stream *s, rd_kafka_topic_t *rkt, int32_t partition, const void *key, size_t key_len,
                       const void *value, size_t value_len, void *ticket)
{
    rg_outputs *o = &s->out;
    if (o->n_retries == o->cap_retries) {
        size_t cap = o->cap_retries ? o->cap_retries * 2 : 64;
        rg_retry *p = realloc(o->retries, cap * sizeof *p);
        if (!p)
            goto oom;
        o->retries = p;
        o->cap_retries = cap;
    }
    rg_retry *r = &o->retries[o->n_retries];
    r->rkt = rkt;
    r->partition = partition;
    r->key = key_len ? malloc(key_len) : NULL;
    r->value = value ? malloc(value_len ? value_len : 1) : NULL;
    if ((key_len && !r->key) || (value && !r->value)) {
        free(r->key);
        free(r->value);
        goto oom;
    }
    if (key_len)
        memcpy(r->key, key, key_len);
    if (value && value_len)
        memcpy(r->value, value, value_len);
    r->key_len = key_len;
    r->value_len = value_len;
    r->ticket = ticket;
    o->n_retries++;
    if (!o->retry_due_ms)
        o->retry_due_ms = rg_run_mono_ms() + 500;
    return;
oom:
    rg_log(RG_LOG_ERROR, "out of memory keeping a record to produce again; stopping without committing past it",
           NULL);
    s->fatal = true;
}

void rg_run_produce(rg_stream *s, rd_kafka_topic_t *rkt, int32_t partition, const void *key, size_t key_len,
                    const void *value, size_t value_len, void *ticket)
{
    for (;;) {
        if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)value, value_len, key, key_len, ticket) ==
            0)
            return;
        rd_kafka_resp_err_t err = rd_kafka_last_error();
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            if (!s->out.queue_full) {
                s->metrics.producer_queue_full++;
                if (rg_run_log_due(&s->last_queue_log_ms))
                    rg_log(RG_LOG_WARN, "producer queue full: waiting for the broker to acknowledge", "topic",
                           rd_kafka_topic_name(rkt), NULL);
                s->out.queue_full = true;
            }
            rd_kafka_poll(s->c.producer, 100);
            continue;
        }
        if (rg_run_log_due(&s->last_delivery_log_ms))
            rg_log(RG_LOG_WARN, "produce refused; the record is kept and produced again", "topic",
                   rd_kafka_topic_name(rkt), "error", rd_kafka_err2str(err), NULL);
        s->metrics.delivery_errors++;
        retry_push(s, rkt, partition, key, key_len, value, value_len, ticket);
        return;
    }
}

void rg_run_retry_due(rg_stream *s, bool force)
{
    rg_outputs *o = &s->out;
    if (!o->n_retries || (!force && rg_run_mono_ms() < o->retry_due_ms))
        return;
    size_t kept = 0;
    for (size_t i = 0; i < o->n_retries; i++) {
        rg_retry *r = &o->retries[i];
        if (!ticket_task(s, r->ticket)) {
            /* Its task was given up: the next owner produces it again. */
            free(r->key);
            free(r->value);
            continue;
        }
        if (rd_kafka_produce(r->rkt, r->partition, RD_KAFKA_MSG_F_COPY, r->value, r->value_len, r->key, r->key_len,
                             r->ticket) == 0) {
            free(r->key);
            free(r->value);
            continue;
        }
        o->retries[kept++] = *r;
    }
    o->n_retries = kept;
    o->retry_due_ms = kept ? rg_run_mono_ms() + 500 : 0;
}

void rg_run_retries_free(rg_stream *s)
{
    for (size_t i = 0; i < s->out.n_retries; i++) {
        free(s->out.retries[i].key);
        free(s->out.retries[i].value);
    }
    free(s->out.retries);
    memset(&s->out, 0, sizeof s->out);
}

/* ---- the topics as sinks ---- */

static int topic_produce(rg_topic_sink *k, int32_t partition, const void *key, size_t key_len, const void *value,
                         size_t value_len, void *ticket)
{
    rg_stream *s = k->s;
    rg_run_produce(s, *k->rkt, partition == RG_SINK_BY_KEY ? RD_KAFKA_PARTITION_UA : partition, key, key_len, value,
                   value_len, ticket);
    /* Fatal: the runner stops without committing past this input (a
     * record it could not keep for a retry, or an earlier failure). */
    return s->fatal ? RG_SINK_FAILED : RG_SINK_TAKEN;
}

/* The action topic: emitted decisions only (one with every hit under
 * cooldown is the alert store's alone), key = subject, decided_at (now)
 * spliced in before the closing brace. */
static int topic_decision(void *self, const rg_decision *d, void *ticket)
{
    rg_topic_sink *k = self;
    rg_stream *s = k->s;
    if (!d->emit)
        return RG_SINK_DECLINED;
    rg_strbuf_reset(&s->scratch);
    if (!rg_run_splice_decided_at(&s->scratch, d->json, d->json_len)) {
        rg_log(RG_LOG_ERROR, "cannot format a decision (out of memory, or not a JSON object); stopping", NULL);
        s->fatal = true;
        return RG_SINK_FAILED;
    }
    return topic_produce(k, RG_SINK_BY_KEY, d->subject, strlen(d->subject), s->scratch.data, s->scratch.len, ticket);
}

/* The dead-letter topic: the reject's JSON as it is, key = the input
 * record's (so a reject lands beside its key's other records). */
static int topic_reject(void *self, const rg_dead_letter *r, void *ticket)
{
    return topic_produce(self, RG_SINK_BY_KEY, r->key, r->key_len, r->json, r->json_len, ticket);
}

/* The internal topics: to the partition the caller chose. */
static int topic_record(void *self, const rg_keyed_record *r, void *ticket)
{
    return topic_produce(self, r->partition, r->key, r->key_len, r->value, r->value_len, ticket);
}

/* Nothing to flush or close per topic: the producer is the runner's (run.c
 * flushes it at the drain and purges it at exit). */
static const rg_sink_ops topic_ops = {
    .name = "Kafka topic",
    .decision = topic_decision,
    .reject = topic_reject,
    .record = topic_record,
};

void rg_run_sinks_init(rg_stream *s)
{
    rd_kafka_topic_t *const *handles[RG_OUT_COUNT] = {
        [RG_OUT_ACTIONS] = &s->c.actions,   [RG_OUT_DEADLETTER] = &s->c.deadletter,
        [RG_OUT_ENTITIES] = &s->c.entities, [RG_OUT_DECIDE] = &s->c.decide,
        [RG_OUT_STATE] = &s->c.state,
    };
    for (int i = 0; i < RG_OUT_COUNT; i++) {
        s->sinks.topic[i] = (rg_topic_sink){.s = s, .rkt = handles[i], .acked = rg_run_acked, .ack_opaque = s};
        s->sinks.out[i] = (rg_sink){.ops = &topic_ops, .self = &s->sinks.topic[i]};
    }
}

/* Tell the sink that produced m (found by its topic) how m ended. */
static void report(rg_stream *s, const rd_kafka_message_t *m, void *ticket, int err)
{
    for (int i = 0; i < RG_OUT_COUNT; i++) {
        const rg_topic_sink *k = &s->sinks.topic[i];
        if (k->rkt && *k->rkt == m->rkt) {
            k->acked(k->ack_opaque, ticket, err);
            return;
        }
    }
    rg_run_acked(s, ticket, err);   /* not produced through a sink (none is): the runner's all the same */
}

void rg_run_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    rg_stream *s = opaque;
    void *ticket = m->_private;
    if (rg_ticket_slot(ticket) == RG_TICKET_OUTBOX_SLOT) {
        rg_run_outbox_delivered(s, m);
        return;
    }
    rg_task *t = ticket_task(s, ticket);
    rg_ticket_kind kind = rg_ticket_kind_of(ticket);
    if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
        /* Purged as the producer closes (rg_stream_free: records still
         * queued, MARKs or a drain that did not finish): nothing past it
         * was committed, so the partition's next owner starts before it.
         * This process will not produce it again, so it must not say so. */
        s->metrics.delivery_errors++;
        if (rg_run_log_due(&s->last_delivery_log_ms))
            rg_log(RG_LOG_WARN,
                   "record purged as the producer closed; nothing past it is committed, its partition's next owner "
                   "starts before it",
                   "topic", rd_kafka_topic_name(m->rkt), NULL);
        report(s, m, ticket, m->err);
        return;
    }
    if (m->err) {
        s->metrics.delivery_errors++;
        if (rg_run_log_due(&s->last_delivery_log_ms))
            rg_log(RG_LOG_WARN, "delivery failed; the record is produced again", "topic", rd_kafka_topic_name(m->rkt),
                   "error", rd_kafka_err2str(m->err), NULL);
        if (t && kind != RG_TICKET_UNTRACKED)
            retry_push(s, m->rkt, m->partition, m->key, m->key_len, m->payload, m->len, ticket);
        else
            report(s, m, ticket, m->err);   /* not produced again: this was its last attempt */
        return;
    }
    s->metrics.records_delivered++;
    if (s->brokers_down) {
        rg_log(RG_LOG_INFO, "brokers reachable again", NULL);
        s->brokers_down = false;
    }
    report(s, m, ticket, 0);
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
