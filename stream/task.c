/* task — one (stage, partition) of `riskgate run`; see task.h. */
#include "task.h"

#include <stdlib.h>
#include <string.h>

#include "../stages/record.h"
#include "alerts.h"
#include "log.h"

/* How long a drained partition's confirmation stays good without a fresh
 * probe: a leader that went down after its partition was drained stops
 * the partition's progress within about this much. */
#define REPROBE_MS 100

/* ---- outputs ---- */

void *rg_task_ticket(rg_task *t)
{
    t->pending[t->epoch % RG_TASK_EPOCHS]++;
    return rg_ticket(t->slot, t->gen, RG_TICKET_OUTPUT, t->epoch);
}

void rg_task_acked(rg_task *t, uint32_t epoch)
{
    uint32_t *p = &t->pending[epoch % RG_TASK_EPOCHS];
    if (*p)
        (*p)--;
}

uint64_t rg_task_inflight(const rg_task *t)
{
    uint64_t n = 0;
    for (int i = 0; i < RG_TASK_EPOCHS; i++)
        n += t->pending[i];
    return n;
}

/* Count a partition (slot: entities partition p at p, decide partition p
 * at n + p) as told the task's progress: a record to it carries it, like
 * a MARK. */
static void told(rg_task *t, int32_t slot, int64_t progress)
{
    if (t->kind != RG_TASK_INGEST || slot < 0 || slot >= 2 * t->s->topo.partitions)
        return;
    t->mark_sent_ms[slot] = rg_run_mono_ms();
    t->mark_progress[slot] = progress;
    t->mark_drained[slot] = false;
}

/* Give one output to a sink under a new ticket of t's epoch. A ticket the
 * sink declined is taken back at once: nothing will acknowledge it. */
static int give(rg_task *t, int rc, void *ticket)
{
    if (rc == RG_SINK_DECLINED)
        rg_task_acked(t, rg_ticket_epoch(ticket));
    return rc;
}

static int out_record(rg_task *t, rg_run_topic topic, const char *key, size_t key_len, const void *rec,
                      size_t rec_len, int32_t *part)
{
    rg_stream *s = t->s;
    *part = rg_stage_partition(key, key_len, s->topo.partitions);
    rg_keyed_record r = {.key = key, .key_len = key_len, .partition = *part, .value = rec, .value_len = rec_len};
    void *ticket = rg_task_ticket(t);
    return give(t, rg_sink_record(&s->sinks.out[topic], &r, ticket), ticket) < 0 ? -1 : 0;
}

static int out_entities(void *opaque, const char *key, size_t key_len, const void *rec, size_t rec_len)
{
    rg_task *t = opaque;
    int32_t part;
    int rc = out_record(t, RG_OUT_ENTITIES, key, key_len, rec, rec_len, &part);
    if (t->kind == RG_TASK_INGEST)
        told(t, part, rg_ingest_progress(t->st.ingest));   /* decide's HITS carry no progress */
    t->s->metrics.records_entities++;
    return rc;
}

static int out_decide(void *opaque, const char *key, size_t key_len, const void *rec, size_t rec_len)
{
    rg_task *t = opaque;
    int32_t part;
    int rc = out_record(t, RG_OUT_DECIDE, key, key_len, rec, rec_len, &part);
    if (t->kind == RG_TASK_INGEST)
        told(t, t->s->topo.partitions + part, rg_ingest_progress(t->st.ingest));
    t->s->metrics.records_decide++;
    return rc;
}

static int out_reject(void *opaque, const char *json, size_t json_len, const char *kind)
{
    rg_task *t = opaque;
    rg_stream *s = t->s;
    rg_metrics_reject(&s->metrics, kind);
    rg_dead_letter dl = {.json = json, .json_len = json_len, .kind = kind, .key = t->cur_key,
                         .key_len = t->cur_key_len};
    void *ticket = rg_task_ticket(t);
    int rc = give(t, rg_sink_reject(&s->sinks.out[RG_OUT_DEADLETTER], &dl, ticket), ticket);
    s->metrics.deadletter_records++;
    return rc < 0 ? -1 : 0;
}

static int out_decision(void *opaque, const rg_decision *d)
{
    rg_task *t = opaque;
    rg_stream *s = t->s;
    /* Every decision is an alert, one under cooldown too (as replay
     * --alerts stores it); the action topic takes the emitted ones. Each
     * destination acknowledges under its own ticket. */
    void *ticket;
    if (s->alerts) {
        ticket = rg_task_ticket(t);
        if (give(t, rg_sink_decision(&s->sinks.alerts, d, ticket), ticket) < 0)
            return -1;
    }
    ticket = rg_task_ticket(t);
    int rc = give(t, rg_sink_decision(&s->sinks.out[RG_OUT_ACTIONS], d, ticket), ticket);
    if (rc == RG_SINK_DECLINED)
        return 0;   /* every hit under cooldown: nothing to the action topic */
    if (rc < 0)
        return -1;
    const char *actions[RG_ACT_COUNT];
    size_t n_actions = 0;
    for (int a = 0; a < RG_ACT_COUNT; a++)
        if (d->actions & RG_ACT_BIT(a))
            actions[n_actions++] = rg_action_name((rg_action)a);
    const char *rule_ids[64];
    size_t n_rules = 0;
    for (size_t i = 0; i < d->n_hits && n_rules < 64; i++)
        if (!d->hits[i].suppressed)
            rule_ids[n_rules++] = d->hits[i].rule_id;
    rg_metrics_decision(&s->metrics, actions, n_actions, rule_ids, n_rules);
    /* From the event's own time (in live traffic, when it happened) to
     * its decision's produce: every hop of the topology is in it. */
    rg_metrics_latency(&s->metrics, (double)(rg_run_wall_us() / 1000 - d->ts_ms) / 1e3);
    return 0;
}

static rg_stage_out stage_out(rg_task *t)
{
    return (rg_stage_out){.opaque = t, .to_entities = out_entities, .to_decide = out_decide,
                          .reject = out_reject, .decision = out_decision};
}

/* ---- life ---- */

rg_task *rg_task_new(rg_stream *s, rg_task_kind kind, int32_t partition, unsigned slot, unsigned gen, char *errstr,
                     size_t errstr_size)
{
    rg_task *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    t->s = s;
    t->kind = kind;
    t->partition = partition;
    t->slot = slot;
    t->gen = gen;
    snprintf(t->name, sizeof t->name, "%s/%d", rg_task_kind_name(kind), (int)partition);
    t->next_offset = t->start_offset = -1;
    t->last_take_ms = t->drained_at_ms = t->high_watermark = -1;
    t->created_ms = rg_run_mono_ms();
    size_t n = (size_t)s->topo.partitions;
    const rg_stream_config *c = &s->cfg;
    switch (kind) {
    case RG_TASK_INGEST:
        t->st.ingest = rg_ingest_new(s->rs, s->geo, partition, errstr, errstr_size);
        /* MARKs go to every entities partition (the merge) and every
         * decide partition (its watermark): 2n slots. */
        t->mark_sent_ms = calloc(2 * n, sizeof *t->mark_sent_ms);
        t->mark_progress = calloc(2 * n, sizeof *t->mark_progress);
        t->mark_drained = calloc(2 * n, sizeof *t->mark_drained);
        t->mark_inflight = calloc(2 * n, sizeof *t->mark_inflight);
        if (t->st.ingest && (!t->mark_sent_ms || !t->mark_progress || !t->mark_drained || !t->mark_inflight)) {
            snprintf(errstr, errstr_size, "out of memory");
            rg_task_free(t);
            return NULL;
        }
        for (size_t i = 0; t->mark_progress && i < 2 * n; i++)
            t->mark_progress[i] = INT64_MIN;
        break;
    case RG_TASK_ENTITY:
        /* A drained source reports every RG_IDLE_MARK_EVERY intervals: its
         * progress is carried forward that long between reports. */
        t->st.entity = rg_entity_new(s->rs, s->geo, partition, n, c->max_idle_ms, c->max_wait_ms,
                                     c->mark_interval_ms * RG_IDLE_MARK_EVERY, errstr, errstr_size);
        break;
    case RG_TASK_DECIDE:
        t->st.decide = rg_decide_new(s->rs, s->geo, partition, n, errstr, errstr_size);
        break;
    }
    if (!t->st.ingest) {   /* the union's pointer, whichever stage */
        rg_task_free(t);
        return NULL;
    }
    return t;
}

void rg_task_free(rg_task *t)
{
    if (!t)
        return;
    switch (t->kind) {
    case RG_TASK_INGEST: rg_ingest_free(t->st.ingest); break;
    case RG_TASK_ENTITY: rg_entity_free(t->st.entity); break;
    case RG_TASK_DECIDE: rg_decide_free(t->st.decide); break;
    }
    free(t->mark_sent_ms);
    free(t->mark_progress);
    free(t->mark_drained);
    free(t->mark_inflight);
    rg_strbuf_free(&t->snap_blob);
    free(t);
}

rg_engine *rg_task_engine(rg_task *t)
{
    switch (t->kind) {
    case RG_TASK_INGEST: return rg_ingest_engine(t->st.ingest);
    case RG_TASK_ENTITY: return rg_entity_engine(t->st.entity);
    case RG_TASK_DECIDE: return rg_decide_engine(t->st.decide);
    }
    return NULL;
}

int rg_task_swap_rules(rg_task *t, const rg_ruleset *rs, char *errstr, size_t errstr_size)
{
    switch (t->kind) {
    case RG_TASK_INGEST: return rg_ingest_swap_rules(t->st.ingest, rs, errstr, errstr_size);
    case RG_TASK_ENTITY: return rg_entity_swap_rules(t->st.entity, rs, errstr, errstr_size);
    case RG_TASK_DECIDE: return rg_decide_swap_rules(t->st.decide, rs, errstr, errstr_size);
    }
    return -1;
}

size_t rg_task_queued(const rg_task *t)
{
    if (t->kind == RG_TASK_ENTITY)
        return rg_smerge_queued(rg_entity_merge(t->st.entity));
    if (t->kind == RG_TASK_DECIDE)
        return rg_decide_queued(t->st.decide, NULL);
    return 0;
}

/* ---- input ---- */

/* An entity task's history (merge.h): what its partition held when the
 * task was assigned. The high watermark of the fetch that brought its
 * first record (librdkafka's, no round trip) is at or past that end;
 * records appended meanwhile are taken for history too, which only waits
 * for the next word of their source. */
static void note_history_end(rg_stream *s, rg_task *t, const rd_kafka_message_t *m)
{
    int64_t hi = rg_task_high_watermark(s, t, NULL);
    rg_smerge_set_history_end(rg_entity_merge(t->st.entity), hi > m->offset ? hi : m->offset + 1);
}

void rg_task_take(rg_stream *s, rg_task *t, const rd_kafka_message_t *m)
{
    if (t->kind == RG_TASK_ENTITY && t->next_offset < 0)
        note_history_end(s, t, m);
    if (t->start_offset < 0)
        t->start_offset = m->offset;
    t->next_offset = m->offset + 1;
    rd_kafka_timestamp_type_t tstype;
    int64_t msg_ts = rd_kafka_message_timestamp(m, &tstype);
    char err[256] = "";
    if (t->kind == RG_TASK_INGEST) {
        s->metrics.events_consumed++;
        t->last_take_ms = rg_run_mono_ms();
        t->cur_key = m->key;
        t->cur_key_len = m->key_len;
        char source[320];
        snprintf(source, sizeof source, "%s/%d/%lld", s->topo.events, (int)m->partition, (long long)m->offset);
        rg_stage_out out = stage_out(t);
        rg_ingest_outcome oc = rg_ingest_process(t->st.ingest, m->payload, m->len, m->offset, msg_ts, source, &out);
        t->cur_key = NULL;
        t->cur_key_len = 0;
        if (oc == RG_INGEST_DUPLICATE)
            s->metrics.duplicates++;
        else if (oc == RG_INGEST_FAILED && !s->fatal) {
            rg_log(RG_LOG_ERROR, "evaluating an event failed (out of memory); stopping without committing past it",
                   "source", source, NULL);
            s->fatal = true;
        }
        return;
    }
    bool oom = false;
    int rc = t->kind == RG_TASK_ENTITY
                 ? rg_entity_push(t->st.entity, m->payload, m->len, m->offset, rg_run_mono_ms(), &oom, err, sizeof err)
                 : rg_decide_push(t->st.decide, m->payload, m->len, m->offset, &oom, err, sizeof err);
    if (rc != 0 && oom) {
        rg_log(RG_LOG_ERROR, "out of memory queueing a record; stopping", "task", t->name, NULL);
        s->fatal = true;
    } else if (rc != 0) {
        s->metrics.bad_records++;
        if (rg_run_log_due(&s->last_consumer_log_ms)) {
            char offset[32];
            rg_run_fmt_i64(offset, sizeof offset, m->offset);
            rg_log(RG_LOG_WARN, "a record on an internal topic is not riskgate's; skipped", "task", t->name,
                   "offset", offset, "error", err, NULL);
        }
    }
}

int64_t rg_task_high_watermark(rg_stream *s, const rg_task *t, int64_t *low)
{
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(s->c.consumer, rg_topology_topic(&s->topo, t->kind), t->partition, &lo,
                                       &hi) != RD_KAFKA_RESP_ERR_NO_ERROR)
        lo = hi = -1;
    if (low)
        *low = lo;
    return hi;
}

/* Whether the task's input partition holds records not taken yet, by the
 * high watermark its consumer last saw (no round trip). A paused fetch is
 * not behind: the merge's bounds must run for it (merge.h). */
static bool input_behind(rg_stream *s, const rg_task *t)
{
    int64_t next = rg_task_input_at(t);
    return !t->paused && next >= 0 && rg_task_high_watermark(s, t, NULL) > next;
}

long rg_task_run(rg_stream *s, rg_task *t, size_t max, int64_t *wait_ms)
{
    *wait_ms = -1;
    rg_stage_out out = stage_out(t);
    long n = 0;
    if (t->kind == RG_TASK_ENTITY) {
        rg_smerge *m = rg_entity_merge(t->st.entity);
        rg_smerge_set_input_behind(m, input_behind(s, t));
        uint64_t late_before = m->late;
        n = rg_entity_run(t->st.entity, rg_run_mono_ms(), max, &out, wait_ms);
        if (m->late > late_before) {
            /* Evaluated after a later record of another source: its
             * entity's answers may differ from replay's. */
            char late[32], stream_time[32];
            rg_run_fmt_i64(late, sizeof late, (int64_t)(m->late - late_before));
            rg_run_fmt_i64(stream_time, sizeof stream_time, m->stream_time_ms);
            rg_log(RG_LOG_DEBUG, "entity merge evaluated records late", "task", t->name, "records", late,
                   "stream_time", stream_time, NULL);
        }
        for (size_t i = 0; i < m->n; i++) {
            rg_smerge_source *src = &m->sources[i];
            if (!src->just_left_behind)
                continue;
            src->just_left_behind = false;
            char source[24], task[32], waited[32];
            snprintf(source, sizeof source, "%zu", i);
            snprintf(task, sizeof task, "%s", t->name);
            rg_run_fmt_i64(waited, sizeof waited, src->left_while_drained ? s->cfg.max_idle_ms : s->cfg.max_wait_ms);
            if (src->left_while_drained)
                rg_log(RG_LOG_DEBUG, "entity merge went on without an idle source (drained, still reporting; --max-idle-ms)", "task",
                       task, "source_partition", source, "waited_ms", waited, NULL);
            else
                rg_log(RG_LOG_WARN,
                       "entity merge went on without a source that may send older records (--max-wait-ms); its "
                       "records may come late",
                       "task", task, "source_partition", source, "waited_ms", waited, NULL);
        }
    } else if (t->kind == RG_TASK_DECIDE) {
        n = rg_decide_run(t->st.decide, max, &out);
    }
    if (n < 0 && !s->fatal) {
        rg_log(RG_LOG_ERROR, "a task's output was refused; stopping without committing past it", "task", t->name,
               NULL);
        s->fatal = true;
    }
    return n;
}

/* ---- ingest progress and marks ---- */

static bool drained(const rg_task *t)
{
    int64_t at = rg_task_input_at(t);
    return t->drained_at_ms >= 0 && t->drained_at_ms >= t->last_take_ms &&
           !(t->high_watermark >= 0 && at >= 0 && t->high_watermark > at);
}

void rg_task_note_end(rg_task *t, int64_t at_ms, int64_t end_offset, bool at_position)
{
    if (end_offset < 0)
        return;
    /* A probe the partition's previous task here asked (given up and
     * assigned again): its answer may predate this task's restore. */
    if (!at_position && at_ms < t->created_ms)
        return;
    if (end_offset > t->high_watermark)
        t->high_watermark = end_offset;
    if (t->next_offset < 0 && t->last_take_ms < 0) {
        /* Nothing taken since assigned: at EOF the consumer stands at the
         * end; a probe's answer tells only where the end is, and the task
         * stands where it was restored (unknown: not drained). */
        if (at_position)
            t->next_offset = end_offset;
        else if (t->start_offset < 0 || end_offset > t->start_offset)
            return;
    }
    int64_t position = rg_task_input_at(t);
    if (end_offset <= position && at_ms > t->drained_at_ms)
        t->drained_at_ms = at_ms;
}

void rg_task_note_unreachable(rg_task *t, int64_t now_ms)
{
    t->drained_at_ms = -1;
    t->probe_after_ms = now_ms + REPROBE_MS;
}

int64_t rg_task_position(const rg_task *t, int64_t now_ms, bool *is_drained)
{
    int64_t last = rg_ingest_progress(t->st.ingest);
    *is_drained = drained(t);
    if (!*is_drained || last == INT64_MIN)
        return last;
    /* Advance only through time the broker confirmed (plus one probe
     * interval): a leader down since stops it. */
    int64_t until = now_ms < t->drained_at_ms + REPROBE_MS ? now_ms : t->drained_at_ms + REPROBE_MS;
    /* A task that has taken nothing (restored at its partition's end) has
     * been silent at least since it was created: counted from then, its
     * position moves and it keeps reporting, where a fixed one would stop
     * its MARKs and be waited for as a source gone (--max-wait-ms). */
    int64_t silent = until - (t->last_take_ms >= 0 ? t->last_take_ms : t->created_ms);
    return last + (silent > 0 ? silent : 0);
}

void rg_task_marks_all(rg_stream *s, int64_t now_ms)
{
    s->idle_marks_due = now_ms - s->last_idle_marks_ms >= s->cfg.mark_interval_ms * RG_IDLE_MARK_EVERY;
    for (size_t i = 0; i < s->tasks.n; i++)
        if (s->tasks.slots[i])
            rg_task_marks(s, s->tasks.slots[i], now_ms);
    if (s->idle_marks_due)
        s->last_idle_marks_ms = now_ms;
    s->idle_marks_due = false;
}

void rg_task_mark_acked(rg_task *t, uint32_t epoch)
{
    if (t->kind == RG_TASK_INGEST && epoch >= 1 && epoch <= 2 * (uint32_t)t->s->topo.partitions)
        t->mark_inflight[epoch - 1] = false;
}

void rg_task_marks(rg_stream *s, rg_task *t, int64_t now_ms)
{
    if (t->kind != RG_TASK_INGEST)
        return;
    bool is_drained;
    int64_t position = rg_task_position(t, now_ms, &is_drained);
    /* Keep the drain confirmed while it is used: a probe every interval. */
    if (is_drained && now_ms - t->drained_at_ms >= REPROBE_MS / 2 && now_ms >= t->probe_after_ms && s->probe)
        rg_probe_request(s->probe, t->partition, now_ms);
    int32_t n = s->topo.partitions;
    for (int32_t r = 0; r < 2 * n; r++) {
        /* Only its silence moved it: on the instance's idle tick, with
         * every other task's (task.h); else a mark interval after the
         * last word to r. */
        bool idle = is_drained && t->mark_drained[r];
        if (idle ? !s->idle_marks_due : now_ms - t->mark_sent_ms[r] < s->cfg.mark_interval_ms)
            continue;
        /* Unchanged news is not sent again. A drained task's position
         * stands still only when the broker stopped confirming its end (a
         * probe unanswered: a leader down, and librdkafka 2.0.2's query
         * can hang past its timeout), and its silence then is the signal:
         * the merge takes a drained source unheard for its silence
         * threshold for one that may hold data (merge.h). So no
         * keep-alive here; probes must answer well within that threshold,
         * which is why they do not go through the consumer (run.c). */
        if (t->mark_progress[r] == position && t->mark_drained[r] == is_drained)
            continue;
        if (t->mark_inflight[r])
            continue;   /* the next one once this one is acknowledged (task.h) */
        rg_strbuf_reset(&s->scratch);
        rg_ingest_mark(t->partition, position, is_drained, &s->scratch);
        if (!rg_strbuf_ok(&s->scratch))
            return;
        /* A MARK that is lost only delays the merge: nothing waits for it.
         * Its ticket names its slot (epoch r + 1; 0 is a tombstone's). */
        t->mark_inflight[r] = true;
        rg_keyed_record mark = {.partition = r < n ? r : r - n, .value = s->scratch.data,
                                .value_len = s->scratch.len};
        rg_sink_record(&s->sinks.out[r < n ? RG_OUT_ENTITIES : RG_OUT_DECIDE], &mark,
                       rg_ticket(t->slot, t->gen, RG_TICKET_UNTRACKED, (uint32_t)r + 1));
        t->mark_sent_ms[r] = now_ms;
        t->mark_progress[r] = position;
        t->mark_drained[r] = is_drained;
        s->metrics.marks++;
    }
}
