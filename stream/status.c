/* status — what the loop publishes once a second (run.c calls
 * rg_run_publish): per-partition lag, task counts, merge counters,
 * readiness for /readyz, the ruleset info metric, and at debug level one
 * line per task and entity source. Reads tasks, writes s->metrics only. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "runtime.h"
#include "task.h"

/* What task t waits on, for riskgate_task_* (metrics.h). */
static void task_status(rg_stream *s, rg_task *t, int64_t now, rg_task_status *st)
{
    memset(st, 0, sizeof *st);
    snprintf(st->task, sizeof st->task, "%s", t->name);
    st->input_offset = rg_task_input_at(t);
    int64_t hi = rg_task_high_watermark(s, t, NULL);
    st->high_watermark = hi >= 0 ? hi : -1;
    st->buffered = rg_task_queued(t);
    st->inflight = rg_task_inflight(t);
    st->paused = t->paused;
    st->snapshot_phase = (int)t->snap_phase;
    st->drained = -1;
    st->waiting_enrich = st->waiting_hits = -1;
    st->first_waiting_source = -1;
    if (t->kind == RG_TASK_INGEST) {
        bool drained;
        rg_task_position(t, now, &drained);
        st->drained = drained;
    } else if (t->kind == RG_TASK_DECIDE) {
        size_t waiting = 0;
        rg_decide_queued(t->st.decide, &waiting);
        st->waiting_enrich = (int64_t)waiting;
        if (!rg_decide_first_waiting(t->st.decide, &st->first_waiting_source, &st->first_waiting_offset))
            st->first_waiting_source = -1;
    } else {
        st->waiting_hits = (int64_t)rg_entity_held(t->st.entity, NULL);
        size_t holders[RG_TASK_STATUS_HOLDERS];
        st->n_holders = rg_smerge_holders(rg_entity_merge(t->st.entity), now, holders, RG_TASK_STATUS_HOLDERS);
        for (size_t h = 0; h < st->n_holders && h < RG_TASK_STATUS_HOLDERS; h++)
            st->holders[h] = (int32_t)holders[h];
    }
}

void rg_run_publish(rg_stream *s, int64_t now)
{
    rg_partition_lag lags[768];
    rg_task_status status[768];
    size_t n = 0;
    uint64_t inflight = 0, buffered = 0, late = 0, enforced_idle = 0, enforced_wait = 0, too_late = 0;
    size_t held[3] = {0, 0, 0};
    for (size_t i = 0; i < s->tasks.n; i++) {
        rg_task *t = s->tasks.slots[i];
        if (!t)
            continue;
        held[t->kind]++;
        inflight += rg_task_inflight(t);
        buffered += rg_task_queued(t);
        rg_engine_stats st;
        rg_engine_get_stats(rg_task_engine(t), &st);
        too_late += st.too_late;
        if (t->kind == RG_TASK_ENTITY) {
            rg_smerge *m = rg_entity_merge(t->st.entity);
            late += m->late;
            enforced_idle += m->enforced - m->enforced_wait;
            enforced_wait += m->enforced_wait;
        }
        if (n >= sizeof lags / sizeof *lags)
            continue;
        const char *topic = rg_topology_topic(&s->topo, t->kind);
        int64_t lo, hi = rg_task_high_watermark(s, t, &lo);
        lags[n].topic = topic;
        lags[n].partition = t->partition;
        lags[n].lag = -1;
        if (hi >= 0) {
            int64_t next = rg_task_input_at(t);
            if (t->kind == RG_TASK_INGEST)
                t->high_watermark = hi > t->high_watermark ? hi : t->high_watermark;
            lags[n].lag = next >= 0 ? (hi > next ? hi - next : 0) : hi - (lo > 0 ? lo : 0);
        }
        lags[n].committed = -1;
        task_status(s, t, now, &status[n]);
        n++;
    }
    if (rg_log_get_level() <= RG_LOG_DEBUG) {
        for (size_t i = 0; i < s->tasks.n; i++) {
            rg_task *t = s->tasks.slots[i];
            if (!t || t->kind == RG_TASK_INGEST)
                continue;
            size_t waiting = 0, queued = t->kind == RG_TASK_DECIDE ? rg_decide_queued(t->st.decide, &waiting)
                                                                    : rg_task_queued(t);
            char q[32], w[32];
            snprintf(q, sizeof q, "%zu", queued);
            snprintf(w, sizeof w, "%zu", waiting);
            char first[64] = "";
            int32_t fsrc;
            int64_t foff;
            if (t->kind == RG_TASK_DECIDE && rg_decide_first_waiting(t->st.decide, &fsrc, &foff))
                snprintf(first, sizeof first, "%d/%lld", (int)fsrc, (long long)foff);
            char bad[32];
            rg_run_fmt_i64(bad, sizeof bad,
                           (int64_t)(t->kind == RG_TASK_ENTITY ? rg_entity_bad_records(t->st.entity)
                                                               : rg_decide_bad_records(t->st.decide)));
            char held_s[32] = "0", kept[32] = "0";
            if (t->kind == RG_TASK_ENTITY) {
                size_t k = 0;
                snprintf(held_s, sizeof held_s, "%zu", rg_entity_held(t->st.entity, &k));
                snprintf(kept, sizeof kept, "%zu", k);
            }
            rg_log(RG_LOG_DEBUG, "task", "task", t->name, "queued", q, "waiting_for_entity_values", w, "first_waiting",
                   first, "held_waiting", held_s, "held_hits_kept", kept, "bad_records", bad, NULL);
            if (t->kind == RG_TASK_ENTITY) {
                rg_smerge *m = rg_entity_merge(t->st.entity);
                for (size_t k = 0; k < m->n; k++) {
                    char src[24], cnt[32], prog[32], heard[32];
                    snprintf(src, sizeof src, "%zu", k);
                    snprintf(cnt, sizeof cnt, "%zu", m->sources[k].count);
                    rg_run_fmt_i64(prog, sizeof prog, m->sources[k].progress_ms);
                    rg_run_fmt_i64(heard, sizeof heard, m->sources[k].heard_ms >= 0 ? now - m->sources[k].heard_ms : -1);
                    char resent[32];
                    rg_run_fmt_i64(resent, sizeof resent, (int64_t)m->resent);
                    rg_log(RG_LOG_DEBUG, "entity source", "task", t->name, "source", src, "queued", cnt, "progress",
                           prog, "drained", m->sources[k].drained ? "yes" : "no", "heard_ms_ago", heard,
                           "left_behind", m->sources[k].left_behind ? "yes" : "no", "resent", resent, NULL);
                }
            }
        }
    }
    rg_metrics_set_lags(&s->metrics, lags, n);
    rg_metrics_set_tasks(&s->metrics, status, n);
    s->metrics.late_events = late;
    s->metrics.merge_enforced_idle = enforced_idle;
    s->metrics.merge_enforced_wait = enforced_wait;
    s->metrics.too_late_events = too_late;
    s->metrics.inflight_events = inflight;
    s->metrics.buffered_messages = buffered;
    for (int k = 0; k < 3; k++)
        s->metrics.tasks_held[k] = held[k];
    /* Operations (docs/operations.md): riskgate_ruleset_info and /readyz --
     * ready once tasks are held (restored: rebalance.c restores inside the
     * assignment and says "restoring" meanwhile), rules loaded, brokers up. */
    rg_metrics_set_ruleset(&s->metrics, s->rs ? rg_ruleset_id(s->rs) : "");
    const char *not_ready = s->draining            ? "draining"
                            : !s->subscribed       ? "waiting for the topics"
                            : s->brokers_down      ? "all brokers down"
                            : !s->rs               ? "no rule set"
                            : !held[0] && !held[1] && !held[2] ? "no partitions assigned"
                                                   : NULL;
    rg_metrics_set_ready(&s->metrics, !not_ready, not_ready);
    rg_metrics_publish(&s->metrics, rg_run_wall_us() / 1000);
    s->last_publish_ms = now;
}
