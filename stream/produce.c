/* produce — producing with delivery tickets, retries, delivery reports
 * (runtime.h). Nothing a task produces is ever dropped: a failed delivery
 * or a refused produce keeps a copy that is produced again 500 ms later,
 * for as long as its task is held (a task given up leaves its records to
 * the next owner, which evaluates their input again from its snapshot). */
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

void rg_run_output_acked(rg_stream *s, void *ticket)
{
    rg_task *t = ticket_task(s, ticket);
    if (t && rg_ticket_kind_of(ticket) == RG_TICKET_OUTPUT)
        rg_task_acked(t, rg_ticket_epoch(ticket));
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
    if (t && kind == RG_TICKET_UNTRACKED)
        rg_task_mark_acked(t, rg_ticket_epoch(ticket));   /* delivered or not: the next may go */
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
        return;
    }
    if (m->err) {
        s->metrics.delivery_errors++;
        if (rg_run_log_due(&s->last_delivery_log_ms))
            rg_log(RG_LOG_WARN, "delivery failed; the record is produced again", "topic", rd_kafka_topic_name(m->rkt),
                   "error", rd_kafka_err2str(m->err), NULL);
        if (t && kind != RG_TICKET_UNTRACKED)
            retry_push(s, m->rkt, m->partition, m->key, m->key_len, m->payload, m->len, ticket);
        return;
    }
    s->metrics.records_delivered++;
    if (s->brokers_down) {
        rg_log(RG_LOG_INFO, "brokers reachable again", NULL);
        s->brokers_down = false;
    }
    if (!t)
        return;
    if (kind == RG_TICKET_OUTPUT)
        rg_task_acked(t, rg_ticket_epoch(ticket));
    else if (kind == RG_TICKET_SNAPSHOT) {
        rg_snapshot_delivered(s, t, rg_ticket_epoch(ticket), true);
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
