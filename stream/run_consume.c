/* run_consume — consumer to merge to processor; see run_consume.h. */
#include "run_consume.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "run_alerts.h"
#include "run_internal.h"
#include "run_produce.h"

static void take_message(rg_stream *s, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            /* A fetch reached the partition's end: it is drained as of
             * now (the merge's event-time rule, merge.h). */
            int eof_slot = rg_merge_find_slot(&s->merge, m->partition);
            if (eof_slot >= 0)
                rg_merge_note_end(&s->merge, (unsigned)eof_slot, rg_run_mono_ms(), m->offset);
            rd_kafka_message_destroy(m);
            return;
        }
        if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
            if (!s->events_topic_missing)
                rg_log(RG_LOG_WARN, "events topic not available; waiting for it", "topic", s->cfg.events_topic,
                       "error", rd_kafka_message_errstr(m), NULL);
            s->events_topic_missing = true;
        } else if (rg_run_log_due(&s->last_consumer_log_ms)) {
            rg_log(RG_LOG_WARN, "consumer error", "error", rd_kafka_err2name(m->err), "detail",
                   rd_kafka_message_errstr(m), NULL);
        }
        rd_kafka_message_destroy(m);
        return;
    }
    if (s->events_topic_missing) {
        rg_log(RG_LOG_INFO, "events topic available", "topic", s->cfg.events_topic, NULL);
        s->events_topic_missing = false;
    }
    if (s->brokers_down) {
        rg_log(RG_LOG_INFO, "brokers reachable again", NULL);
        s->brokers_down = false;
    }
    int slot = rg_merge_find_slot(&s->merge, m->partition);
    if (slot < 0) {   /* from a partition no longer held */
        rd_kafka_message_destroy(m);
        return;
    }
    rd_kafka_timestamp_type_t tstype;
    rg_merge_item it = {m, m->offset, rd_kafka_message_timestamp(m, &tstype), rg_run_mono_us()};
    if (rg_merge_push(&s->merge, (unsigned)slot, &it) != 0) {
        rg_log(RG_LOG_ERROR, "out of memory buffering a message; stopping", NULL);
        rd_kafka_message_destroy(m);
        s->fatal = true;
        return;
    }
    rg_run_slot *ss = &s->slots[slot];
    if (ss->start_offset < 0)
        ss->start_offset = m->offset;
    if (!ss->paused && s->merge.slots[slot].count >= s->cfg.partition_buffer_max) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, s->cfg.events_topic, m->partition);
        rd_kafka_pause_partitions(s->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
        ss->paused = true;
    }
}

void rg_run_poll_consumer(rg_stream *s, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->consumer, timeout_ms);
    /* Then whatever is already fetched, bounded so the producer is served. */
    for (int n = 0; m && n < 10000; n++) {
        take_message(s, m);
        if (s->fatal)
            return;
        m = rd_kafka_consumer_poll(s->consumer, 0);
    }
    if (m)
        take_message(s, m);
}

static void maybe_resume(rg_stream *s, unsigned slot)
{
    rg_run_slot *ss = &s->slots[slot];
    if (!ss->paused || s->merge.slots[slot].count > s->cfg.partition_buffer_max / 2)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->cfg.events_topic, s->merge.slots[slot].partition);
    rd_kafka_resume_partitions(s->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    ss->paused = false;
}

static void process_one(rg_stream *s, unsigned slot, bool late)
{
    rg_merge_item it = rg_merge_pop(&s->merge, slot);
    rd_kafka_message_t *m = it.msg;
    rg_run_slot *ss = &s->slots[slot];
    uint64_t seq = rg_offset_track_begin(&ss->track, it.offset, it.msg_ts_ms);
    if (seq == UINT64_MAX) {
        rg_log(RG_LOG_ERROR, "out of memory tracking an event; stopping", NULL);
        rd_kafka_message_destroy(m);
        s->fatal = true;
        return;
    }
    s->cur_slot = slot;
    s->cur_seq = seq;
    s->cur_taken_us = it.taken_us;
    rg_offset_track_set_taken(&ss->track, seq, it.taken_us);
    char source[320];
    snprintf(source, sizeof source, "%s/%d/%lld", s->cfg.events_topic, (int)m->partition, (long long)m->offset);
    rg_strbuf_reset(&s->deadletter);
    const char *kind = NULL;
    rg_stream_outcome oc = s->proc.process(s->proc.opaque, slot, source, m->payload, m->len, &s->output,
                                           &s->deadletter, &kind);
    s->metrics.events_consumed++;
    switch (oc) {
    case RG_STREAM_EVALUATED:
        if (late)
            s->metrics.late_events++;
        break;
    case RG_STREAM_DUPLICATE:
        s->metrics.duplicates++;
        break;
    case RG_STREAM_REJECTED:
        rg_metrics_reject(&s->metrics, kind);
        if (rg_strbuf_ok(&s->deadletter)) {
            rg_run_produce_tracked(s, s->deadletter_rkt, m->key, m->key_len, s->deadletter.data, s->deadletter.len);
            s->metrics.deadletter_records++;
        } else {
            rg_log(RG_LOG_ERROR, "out of memory writing a dead-letter record; stopping", NULL);
            s->fatal = true;
        }
        break;
    case RG_STREAM_FAILED:
        rg_log(RG_LOG_ERROR, "processing failed; stopping without committing past this event", "source", source,
               NULL);
        s->fatal = true;
        break;
    }
    if (!s->fatal)
        rg_offset_track_end(&ss->track, seq);
    rd_kafka_message_destroy(m);
    maybe_resume(s, slot);
}

void rg_run_refresh_watermarks(rg_stream *s)
{
    for (size_t i = 0; i < s->merge.n_slots; i++) {
        rg_merge_slot *ms = &s->merge.slots[i];
        if (!ms->active)
            continue;
        int64_t lo, hi;
        if (rd_kafka_get_watermark_offsets(s->consumer, s->cfg.events_topic, ms->partition, &lo, &hi) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            hi >= 0)
            ms->high_watermark = hi;
    }
}

/* Take the prober's answers into the merge. */
static void collect_probes(rg_stream *s)
{
    rg_probe_answer a;
    while (rg_probe_collect(s->probe, &a)) {
        int slot = rg_merge_find_slot(&s->merge, a.partition);
        if (slot < 0)
            continue;
        if (a.ok) {
            rg_merge_note_end(&s->merge, (unsigned)slot, a.asked_ms, a.high_watermark);
        } else {
            rg_merge_note_unreachable(&s->merge, (unsigned)slot);
            if ((size_t)slot < s->n_slots)
                s->slots[slot].probe_after_ms = rg_run_mono_ms() + RG_MERGE_REPROBE_MS;
        }
    }
}

/* Ask about the partitions the merge wants word of; log the ones it left
 * behind. */
static void serve_merge_wants(rg_stream *s, int64_t now)
{
    for (size_t i = 0; i < s->merge.n_slots && i < s->n_slots; i++) {
        rg_merge_slot *ms = &s->merge.slots[i];
        if (!ms->active)
            continue;
        if (ms->just_left_behind) {
            ms->just_left_behind = false;
            char partition[16], waited[32];
            snprintf(partition, sizeof partition, "%d", (int)ms->partition);
            rg_run_fmt_i64(waited, sizeof waited, ms->left_while_drained ? s->cfg.max_idle_ms : s->cfg.max_wait_ms);
            if (ms->left_while_drained)
                rg_log(RG_LOG_DEBUG, "event-time merge went on without a drained, silent partition (--max-idle-ms)",
                       "partition", partition, "waited_ms", waited, NULL);
            else
                rg_log(RG_LOG_WARN,
                       "event-time merge went on without a partition that may hold older events (--max-wait-ms); "
                       "its next events may be late",
                       "partition", partition, "waited_ms", waited, NULL);
        }
        if (ms->probe_wanted) {
            ms->probe_wanted = false;
            if (now >= s->slots[i].probe_after_ms)
                rg_probe_request(s->probe, ms->partition, now);
        }
    }
}

rg_run_step rg_run_process_some(rg_stream *s, int64_t *wait_ms)
{
    collect_probes(s);
    for (int n = 0; n < 5000; n++) {
        if (s->fatal || rg_run_alerts_full(s))
            return RG_RUN_BLOCKED;
        /* Hysteresis: pause at the high-water mark, resume at half of
         * it, so a slow broker gives one pause episode, not one per event. */
        size_t outq = (size_t)rd_kafka_outq_len(s->producer);
        if (outq >= s->outq_high || (s->queue_full && outq > s->outq_high / 2)) {
            if (!s->queue_full) {
                s->metrics.producer_queue_full++;
                if (rg_run_log_due(&s->last_queue_log_ms))
                    rg_log(RG_LOG_WARN, "producer queue full: consumption paused until the broker acknowledges",
                           NULL);
                s->queue_full = true;
            }
            return RG_RUN_BLOCKED;
        }
        if (s->queue_full) {
            rg_log(RG_LOG_DEBUG, "producer queue drained: consumption resumed", NULL);
            s->queue_full = false;
        }
        unsigned slot;
        bool late = false;
        int64_t now = rg_run_mono_ms();
        rg_merge_result r = rg_merge_next(&s->merge, now, &slot, wait_ms, &late);
        serve_merge_wants(s, now);
        if (r == RG_MERGE_IDLE)
            return RG_RUN_IDLE;
        if (r == RG_MERGE_WAIT) {
            rg_run_refresh_watermarks(s);
            return RG_RUN_WAIT;
        }
        process_one(s, slot, late);
    }
    return RG_RUN_MORE;
}


int rg_run_prepare_head(void *opaque, unsigned slot, const rg_merge_item *item, int64_t *ts_ms)
{
    rg_stream *s = opaque;
    const rd_kafka_message_t *m = item->msg;
    return s->proc.prepare(s->proc.opaque, slot, m->payload, m->len, ts_ms);
}

