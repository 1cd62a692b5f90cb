/* run — the streaming runner's lifecycle and loop; see run.h and
 * docs/streaming.md. The parts: run_internal.h. */
#include "run.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "run_alerts.h"
#include "run_commit.h"
#include "run_conf.h"
#include "run_consume.h"
#include "run_internal.h"
#include "run_produce.h"

void rg_stream_config_init(rg_stream_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->group = "riskgate";
    cfg->events_topic = "riskgate.events";
    cfg->actions_topic = "riskgate.actions";
    cfg->deadletter_topic = "riskgate.deadletter";
    cfg->max_idle_ms = 5000;
    cfg->max_wait_ms = 30000;
    cfg->commit_interval_ms = 500;
    cfg->checkpoint_interval_ms = 10000;
    cfg->drain_timeout_ms = 30000;
    cfg->partition_buffer_max = 20000;
}

/* ---- lifecycle ---- */

rg_stream *rg_stream_new(const rg_stream_config *cfg_in, const rg_stream_processor *proc, rg_stream_error *err,
                         char *errstr, size_t errstr_size)
{
    *err = RG_STREAM_ERR_CONFIG;
    if (!cfg_in->brokers || !*cfg_in->brokers) {
        snprintf(errstr, errstr_size, "--brokers is required (HOST:PORT[,...])");
        return NULL;
    }
    rg_stream *s = calloc(1, sizeof *s);
    if (!s) {
        *err = RG_STREAM_ERR_RUNTIME;
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cfg = *cfg_in;
    if (s->cfg.max_idle_ms < 0)
        s->cfg.max_idle_ms = 0;
    if (s->cfg.max_wait_ms <= 0)
        s->cfg.max_wait_ms = 30000;
    if (!s->cfg.partition_buffer_max)
        s->cfg.partition_buffer_max = 20000;
    s->proc = *proc;
    s->output.opaque = s;
    s->output.decision = rg_run_out_decision;
    rg_merge_init(&s->merge, s->cfg.max_idle_ms, s->cfg.max_wait_ms, rg_run_prepare_head, s);
    if (rg_metrics_init(&s->metrics) != 0) {
        *err = RG_STREAM_ERR_RUNTIME;
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    s->metrics_ready = true;

    char why[512];
    rd_kafka_conf_t *pconf = rg_run_client_conf(s, "producer", errstr, errstr_size);
    if (!pconf)
        goto fail;
    char qmax[32];
    size_t qlen = sizeof qmax;
    if (rd_kafka_conf_get(pconf, "queue.buffering.max.messages", qmax, &qlen) == RD_KAFKA_CONF_OK)
        s->outq_high = (size_t)strtoull(qmax, NULL, 10) * 3 / 4;
    if (!s->outq_high)
        s->outq_high = 75000;
    s->producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, why, sizeof why);
    if (!s->producer) {
        rd_kafka_conf_destroy(pconf);
        snprintf(errstr, errstr_size, "producer: %s", why);
        goto fail;
    }
    rd_kafka_conf_t *cconf = rg_run_client_conf(s, "consumer", errstr, errstr_size);
    if (!cconf)
        goto fail;
    s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, why, sizeof why);
    if (!s->consumer) {
        rd_kafka_conf_destroy(cconf);
        snprintf(errstr, errstr_size, "consumer: %s", why);
        goto fail;
    }
    rd_kafka_poll_set_consumer(s->consumer);
    s->commit_q = rd_kafka_queue_new(s->consumer);
    if (!(s->probe = rg_probe_new(s->consumer, s->cfg.events_topic, 1000))) {
        *err = RG_STREAM_ERR_RUNTIME;
        snprintf(errstr, errstr_size, "cannot start the watermark prober");
        goto fail;
    }
    s->actions_rkt = rd_kafka_topic_new(s->producer, s->cfg.actions_topic, NULL);
    s->deadletter_rkt = rd_kafka_topic_new(s->producer, s->cfg.deadletter_topic, NULL);
    if (!s->actions_rkt || !s->deadletter_rkt) {
        *err = RG_STREAM_ERR_RUNTIME;
        snprintf(errstr, errstr_size, "cannot create topic handles: %s", rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    if (s->cfg.state_dir) {
        s->checkpoint = rg_checkpoint_open(s->cfg.state_dir, errstr, errstr_size);
        if (!s->checkpoint)
            goto fail;
        int64_t saved_at = 0;
        char load_err[512];
        int rc = rg_checkpoint_load_state(s->checkpoint, &s->proc.state, &saved_at, load_err, sizeof load_err);
        if (rc < 0) {
            /* Never start silently with empty state over a checkpoint that
             * exists: decisions would differ without anyone knowing. */
            *err = RG_STREAM_ERR_RUNTIME;
            snprintf(errstr, errstr_size,
                     "%s/checkpoint.db: cannot load the state (%s); move the directory away to start with empty "
                     "state",
                     s->cfg.state_dir, load_err);
            goto fail;
        }
        s->state_loaded = rc == 1;
        if (rc == 0 && s->proc.state.save) {
            /* A new DIR: store the empty state now, before any event. A
             * partition's checkpoint row (added before its first commit,
             * run_commit.c) is only honoured at restart next to a stored
             * state, and this is the state those first rows go with: it
             * reflects nothing, so a restart evaluates every partition
             * again from where its row says it began. */
            const char *ruleset = s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : NULL;
            if (rg_checkpoint_write(s->checkpoint, s->cfg.events_topic, NULL, 0, &s->proc.state, ruleset,
                                    rg_run_wall_us() / 1000, load_err, sizeof load_err) != 0) {
                *err = RG_STREAM_ERR_RUNTIME;
                snprintf(errstr, errstr_size, "%s/checkpoint.db: cannot write the first checkpoint: %s",
                         s->cfg.state_dir, load_err);
                goto fail;
            }
        }
        if (s->state_loaded) {
            rg_checkpoint_offset *offs = NULL;
            size_t n = 0;
            if (rg_checkpoint_list_offsets(s->checkpoint, s->cfg.events_topic, &offs, &n, load_err,
                                           sizeof load_err) != 0 ||
                (n && !(s->resume = calloc(n, sizeof *s->resume)))) {
                free(offs);
                *err = RG_STREAM_ERR_RUNTIME;
                snprintf(errstr, errstr_size, "%s/checkpoint.db: %s", s->cfg.state_dir,
                         n ? "out of memory" : load_err);
                goto fail;
            }
            for (size_t i = 0; i < n; i++) {
                s->resume[i].partition = offs[i].partition;
                s->resume[i].next_offset = offs[i].next_offset;
            }
            s->n_resume = n;
            free(offs);
            char at[32];
            rg_run_fmt_i64(at, sizeof at, saved_at);
            rg_log(RG_LOG_INFO, "state loaded from checkpoint; partitions resume at its offsets", "saved_at_ms", at,
                   NULL);
        }
    }
    /* From here on the checkpoint database is the writer thread's. */
    if (s->checkpoint && rg_run_checkpoint_start(s, errstr, errstr_size) != 0) {
        *err = RG_STREAM_ERR_RUNTIME;
        goto fail;
    }
    if (s->cfg.alerts_path) {
        if (rg_run_alerts_open(s, s->cfg.alerts_path, errstr, errstr_size) != 0)
            goto fail;
        s->output.alert = rg_run_out_alert;
    }
    if (s->cfg.metrics_addr) {
        if (rg_metrics_serve(&s->metrics, s->cfg.metrics_addr, &s->metrics_port, errstr, errstr_size) != 0)
            goto fail;
        char port[16];
        snprintf(port, sizeof port, "%u", s->metrics_port);
        rg_log(RG_LOG_INFO, "metrics endpoint", "address", s->cfg.metrics_addr, "port", port, "path", "/metrics",
               NULL);
    }
    *err = RG_STREAM_OK;
    return s;
fail:
    rg_stream_free(s);
    return NULL;
}

/* ---- librdkafka < 2.3.0: a consumer that never got an assignment ----
 *
 * librdkafka before 2.3.0 aborts in rd_kafka_destroy of a consumer whose
 * group protocol is cooperative-sticky when it joined the group but never
 * received an assignment: the group's final destroy hands the assignor's
 * state to rd_kafka_sticky_assignor_state_destroy, which asserts it is
 * not NULL, and that state is only created when a SyncGroup answer brings
 * an assignment (librdkafka issue #4312, fixed by PR #4381 in 2.3.0, which
 * checks the state in rd_kafka_cgrp_destroy_final). Debian 12 ships 2.0.2.
 * So a SIGTERM while the group is still forming (a restart waiting for a
 * killed member's session to expire, SyncGroup failing) exited 134 after
 * a clean drain. rd_kafka_consumer_close does not reach that path; only
 * the destroy does, and nothing else of the handle's teardown matters at
 * that point (the group was left, offsets were committed, the process is
 * about to exit). So such a handle is not destroyed: it is kept here,
 * reachable (so LeakSanitizer does not report it: a deliberate keep, not a
 * leak), with its logging silenced (its log callback runs on librdkafka's
 * threads and must not write after the caller closed its log stream). Its
 * threads end with the process. */
static pthread_mutex_t kept_consumers_lock = PTHREAD_MUTEX_INITIALIZER;
static rd_kafka_t **kept_consumers;
static size_t n_kept_consumers;

static bool destroy_would_abort(const rg_stream *s)
{
    if (!s->subscribed || s->ever_assigned || rd_kafka_version() >= 0x02030000)
        return false;
    char strategy[256];
    size_t len = sizeof strategy;
    if (rd_kafka_conf_get(rd_kafka_conf(s->consumer), "partition.assignment.strategy", strategy, &len) !=
        RD_KAFKA_CONF_OK)
        return true;   /* unknown: keep it rather than risk the abort */
    return strstr(strategy, "cooperative-sticky") != NULL;
}

static void keep_consumer(rd_kafka_t *rk)
{
    rd_kafka_set_log_level(rk, 0);
    pthread_mutex_lock(&kept_consumers_lock);
    rd_kafka_t **p = realloc(kept_consumers, (n_kept_consumers + 1) * sizeof *p);
    if (p) {
        kept_consumers = p;
        kept_consumers[n_kept_consumers++] = rk;
    }
    pthread_mutex_unlock(&kept_consumers_lock);
    rg_log(RG_LOG_DEBUG, "consumer never assigned: not destroyed (librdkafka < 2.3.0 would abort, issue #4312)",
           NULL);
}

void rg_stream_free(rg_stream *s)
{
    if (!s)
        return;
    rg_merge_free(&s->merge, rg_run_drop_message);
    if (s->actions_rkt)
        rd_kafka_topic_destroy(s->actions_rkt);
    if (s->deadletter_rkt)
        rd_kafka_topic_destroy(s->deadletter_rkt);
    if (s->commit_q)
        rd_kafka_queue_destroy(s->commit_q);
    rg_probe_free(s->probe);   /* it borrows the consumer */
    if (s->consumer) {
        if (destroy_would_abort(s))
            keep_consumer(s->consumer);
        else
            rd_kafka_destroy(s->consumer);
    }
    if (s->producer) {
        /* Outstanding records (only after a failed drain) are purged; their
         * offsets were never committed. */
        rd_kafka_purge(s->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        s->draining = true;
        rd_kafka_poll(s->producer, 0);
        rd_kafka_destroy(s->producer);
    }
    rg_run_retries_free(s);
    rg_run_alerts_close(s);
    for (size_t i = 0; i < s->n_slots; i++)
        rg_offset_track_free(&s->slots[i].track);
    free(s->slots);
    free(s->resume);
    free(s->left);
    rg_run_checkpoint_stop(s);   /* before the database closes: it finishes what is queued */
    rg_checkpoint_close(s->checkpoint);
    if (s->metrics_ready)
        rg_metrics_free(&s->metrics);
    rg_strbuf_free(&s->record);
    rg_strbuf_free(&s->deadletter);
    free(s);
}

unsigned rg_stream_metrics_port(const rg_stream *s) { return s ? s->metrics_port : 0; }

void rg_stream_get_counts(const rg_stream *s, rg_stream_counts *out)
{
    memset(out, 0, sizeof *out);
    out->events = s->metrics.events_consumed;
    out->decisions = s->metrics.decisions;
    out->deadletters = s->metrics.deadletter_records;
    out->delivered = s->metrics.records_delivered;
    out->delivery_errors = s->metrics.delivery_errors;
    out->commits = s->metrics.commits;
    out->late = s->merge.late;
    out->enforced = s->merge.enforced;
    out->alerts_stored = s->metrics.alerts_stored;
    out->alert_store_errors = s->metrics.alert_store_errors;
    out->releases_delivered = s->metrics.releases_delivered;
}

/* ---- the loop ---- */

static void publish(rg_stream *s, int64_t now)
{
    rg_partition_lag lags[256];
    size_t n = 0;
    rg_run_refresh_watermarks(s);
    for (size_t i = 0; i < s->merge.n_slots && n < 256; i++) {
        rg_merge_slot *ms = &s->merge.slots[i];
        if (!ms->active || i >= s->n_slots)
            continue;
        int64_t next = s->slots[i].track.last_begun >= 0 ? s->slots[i].track.last_begun + 1
                       : ms->count                       ? ms->ring[ms->head].offset
                                                         : ms->next_offset;
        lags[n].partition = ms->partition;
        lags[n].lag = ms->high_watermark >= 0 && next >= 0 ? ms->high_watermark - next : -1;
        if (lags[n].lag < -1)
            lags[n].lag = 0;
        lags[n].committed = s->slots[i].committed;
        n++;
    }
    rg_metrics_set_lags(&s->metrics, lags, n);
    s->metrics.merge_enforced_wait = s->merge.enforced_wait;
    if (s->proc.too_late)
        s->metrics.too_late_events = s->proc.too_late(s->proc.opaque);
    s->metrics.merge_enforced_idle = s->merge.enforced - s->merge.enforced_wait;
    s->metrics.inflight_events = rg_run_inflight(s);
    s->metrics.buffered_messages = rg_merge_buffered(&s->merge);
    rg_metrics_publish(&s->metrics, rg_run_wall_us() / 1000);
    s->last_publish_ms = now;
}

static void do_reload(rg_stream *s)
{
    if (!s->proc.reload) {
        rg_log(RG_LOG_WARN, "SIGHUP: rule reload not supported by this processor", NULL);
        return;
    }
    char err[2048];
    if (s->proc.reload(s->proc.opaque, err, sizeof err) == 0) {
        s->metrics.rule_reloads_ok++;
        rg_log(RG_LOG_INFO, "rules reloaded", "ruleset", s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : "",
               NULL);
    } else {
        s->metrics.rule_reloads_refused++;
        rg_log(RG_LOG_WARN, "rule file refused; the running rules stay", "ruleset",
               s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : "", "error", err, NULL);
    }
}

static void periodic(rg_stream *s, int64_t now)
{
    if (now - s->last_commit_ms >= s->cfg.commit_interval_ms) {
        rg_run_commit(s, false, NULL);
        s->last_commit_ms = now;
    }
    rg_run_checkpoint_serve(s, now);
    if (now - s->last_publish_ms >= 1000)
        publish(s, now);
}

static int drain(rg_stream *s)
{
    s->draining = true;
    char n[32];
    rg_run_fmt_i64(n, sizeof n, (int64_t)rg_run_inflight(s));
    rg_log(RG_LOG_INFO, "draining: waiting for every decision to be acknowledged", "inflight_events", n, NULL);
    int64_t deadline = rg_run_mono_ms() + s->cfg.drain_timeout_ms;
    while ((rg_run_inflight(s) > 0 || s->n_retries > 0 || rg_run_alerts_pending(s) > 0 ||
            rg_run_outbox_inflight(s) > 0) &&
           rg_run_mono_ms() < deadline && !s->fatal) {
        rd_kafka_poll(s->producer, 20);
        rg_run_retry_due(s, false);
        rg_run_alerts_write(s, true);
        rg_run_outbox_serve(s, rg_run_mono_ms());   /* draining: only marks what was delivered */
        /* Keep serving the group (commit callbacks, heartbeats happen in
         * the background); fetched messages just wait in the buffers. */
        rg_run_poll_consumer(s, 0);
        rg_run_commit_serve(s);
    }
    bool complete = rg_run_inflight(s) == 0 && s->n_retries == 0 && rg_run_alerts_pending(s) == 0;
    rg_run_commit(s, true, NULL);
    if (complete && s->checkpoint)
        rg_run_checkpoint_final(s);
    if (!complete) {
        rg_run_fmt_i64(n, sizeof n, (int64_t)rg_run_inflight(s));
        rg_log(RG_LOG_ERROR,
               "drain incomplete: records still unacknowledged; their offsets are not committed and are re-read on "
               "restart",
               "inflight_events", n, NULL);
    }
    rd_kafka_consumer_close(s->consumer);
    publish(s, rg_run_mono_ms());
    return complete && !s->fatal ? 0 : -1;
}

int rg_stream_run(rg_stream *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, s->cfg.events_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t err = rd_kafka_subscribe(s->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (err) {
        rg_log(RG_LOG_ERROR, "cannot subscribe", "topic", s->cfg.events_topic, "error", rd_kafka_err2str(err), NULL);
        return -1;
    }
    s->subscribed = true;
    char idle[32], maxwait[32];
    rg_run_fmt_i64(idle, sizeof idle, s->cfg.max_idle_ms);
    rg_run_fmt_i64(maxwait, sizeof maxwait, s->cfg.max_wait_ms);
    rg_log(RG_LOG_INFO, "running", "brokers", s->cfg.brokers, "group", s->cfg.group, "events", s->cfg.events_topic,
           "actions", s->cfg.actions_topic, "deadletter", s->cfg.deadletter_topic, "max_idle_ms", idle,
           "max_wait_ms", maxwait, "ruleset", s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : "", NULL);
    int64_t now = rg_run_mono_ms();
    s->last_commit_ms = s->last_publish_ms = s->last_checkpoint_ms = now;
    publish(s, now);
    rg_run_step last = RG_RUN_IDLE;
    int64_t wait_ms = 0;
    while (!*stop && !s->fatal) {
        /* Copies of alerts borrow the running rule set's rules: they are
         * written before a reload frees it (postponed while the store is
         * not writable). */
        if (reload && *reload && rg_run_alerts_write(s, true) == 0) {
            *reload = 0;
            do_reload(s);
        }
        int timeout;
        bool busy = rg_run_inflight(s) > 0 || s->n_retries > 0;
        if (last == RG_RUN_MORE)
            timeout = 0;
        else if (last == RG_RUN_WAIT)
            timeout = (int)(wait_ms < 5 ? (wait_ms > 0 ? wait_ms : 0) : 5);
        else if (busy || last == RG_RUN_BLOCKED)
            timeout = 0;
        else
            timeout = 100;
        rg_run_poll_consumer(s, timeout);
        rg_run_commit_serve(s);
        rd_kafka_poll(s->producer, busy && last != RG_RUN_MORE ? 1 : 0);
        rg_run_retry_due(s, false);
        last = rg_run_process_some(s, &wait_ms);
        /* Alerts: at once when nothing more is to be taken right now (so
         * they are visible within the second and a checkpoint's quiescence
         * is not held up), else in batches. */
        rg_run_alerts_write(s, last != RG_RUN_MORE);
        now = rg_run_mono_ms();
        rg_run_outbox_serve(s, now);
        periodic(s, now);
    }
    return drain(s);
}
