/* run — `riskgate run`: lifecycle, the loop, reload, drain (commits are
 * commit.c, what the loop publishes status.c); see run.h and runtime.h
 * (how the files fit), docs/streaming.md and docs/scale-out.md. */
#include "run.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alerts.h"
#include "log.h"
#include "runtime.h"
#include "snapshot.h"
#include "task.h"

void rg_stream_config_init(rg_stream_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->group = "riskgate";
    cfg->events_topic = "riskgate.events";
    cfg->actions_topic = "riskgate.actions";
    cfg->deadletter_topic = "riskgate.deadletter";
    cfg->max_idle_ms = 5000;
    cfg->max_wait_ms = 30000;
    cfg->mark_interval_ms = 20;
    cfg->commit_interval_ms = 500;
    cfg->checkpoint_interval_ms = 10000;
    cfg->drain_timeout_ms = 30000;
    cfg->task_buffer_max = 50000;
}

/* ---- lifecycle ---- */

static rd_kafka_t *new_client(rg_stream *s, rd_kafka_type_t type, const char *kind, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rg_run_client_conf(s, kind, errstr, errstr_size);
    if (!conf)
        return NULL;
    char why[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, why, sizeof why);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        rg_run_redact_secrets(&s->cfg, why, sizeof why);
        snprintf(errstr, errstr_size, "%s: %s", kind, why);
    }
    return rk;
}

rg_stream *rg_stream_new(const rg_stream_config *cfg_in, rg_ruleset *rules, const rg_geo *geo, rg_stream_error *err,
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
    rg_run_sinks_init(s);   /* the topics as sinks, over the handles made below (produce.c) */
    rg_reloader_init(&s->reloader, s->cfg.rules_paths, s->cfg.n_rules_paths);
    if (s->cfg.max_idle_ms < 0)
        s->cfg.max_idle_ms = 0;
    if (s->cfg.max_wait_ms <= 0)
        s->cfg.max_wait_ms = 30000;
    if (s->cfg.mark_interval_ms <= 0)
        s->cfg.mark_interval_ms = 20;
    if (!s->cfg.task_buffer_max)
        s->cfg.task_buffer_max = 50000;
    s->geo = geo;
    if (s->cfg.state_dir && (mkdir(s->cfg.state_dir, 0700) != 0 && errno != EEXIST)) {
        snprintf(errstr, errstr_size, "--state %s: cannot create the directory: %s", s->cfg.state_dir,
                 strerror(errno));
        goto fail;
    }
    if (s->cfg.state_dir && access(s->cfg.state_dir, W_OK | X_OK) != 0) {
        snprintf(errstr, errstr_size, "--state %s: not a writable directory: %s", s->cfg.state_dir, strerror(errno));
        goto fail;
    }
    if (rg_topology_names(&s->topo, s->cfg.group, s->cfg.events_topic, errstr, errstr_size) != 0)
        goto fail;
    if (rg_metrics_init(&s->metrics) != 0) {
        *err = RG_STREAM_ERR_RUNTIME;
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    s->metrics_ready = true;
    if (!(s->c.producer = new_client(s, RD_KAFKA_PRODUCER, "producer", errstr, errstr_size)))
        goto fail;
    char qmax[32];
    size_t qlen = sizeof qmax;
    if (rd_kafka_conf_get(rd_kafka_conf(s->c.producer), "queue.buffering.max.messages", qmax, &qlen) ==
        RD_KAFKA_CONF_OK)
        s->out.outq_high = (size_t)strtoull(qmax, NULL, 10) * 3 / 4;
    if (!s->out.outq_high)
        s->out.outq_high = 75000;
    if (!(s->c.consumer = new_client(s, RD_KAFKA_CONSUMER, "consumer", errstr, errstr_size)) ||
        !(s->c.restorer = new_client(s, RD_KAFKA_CONSUMER, "restorer", errstr, errstr_size)))
        goto fail;
    rd_kafka_poll_set_consumer(s->c.consumer);
    s->c.commit_q = rd_kafka_queue_new(s->c.consumer);
    s->commits.due = rd_kafka_topic_partition_list_new(8);
    *err = RG_STREAM_ERR_RUNTIME;
    /* The prober asks through the restorer, not the group consumer: a
     * broker answers a connection's requests in order, so a watermark
     * query on the consumer's connection waits behind its fetch long
     * polls (fetch.wait.max.ms, 500 ms by default; two ListOffsets per
     * query): measured ~1 s a query on the mock cluster, which stalled a
     * drained partition's progress and its MARKs (docs/streaming.md).
     * The restorer is read_committed too, and idle but at restores. */
    if (!(s->probe = rg_probe_new(s->c.restorer, s->topo.events, 1000))) {
        snprintf(errstr, errstr_size, "cannot start the watermark prober");
        goto fail;
    }
    /* Decisions and dead letters: the default partitioner (by key). The
     * internal topics' handles come once they exist (start_up). */
    s->c.actions = rd_kafka_topic_new(s->c.producer, s->cfg.actions_topic, NULL);
    s->c.deadletter = rd_kafka_topic_new(s->c.producer, s->cfg.deadletter_topic, NULL);
    if (!s->c.actions || !s->c.deadletter) {
        snprintf(errstr, errstr_size, "cannot create topic handles: %s", rd_kafka_err2str(rd_kafka_last_error()));
        goto fail;
    }
    if (s->cfg.alerts_path && rg_run_alerts_open(s, s->cfg.alerts_path, errstr, errstr_size) != 0)
        goto fail;
    if (s->cfg.metrics_addr) {
        *err = RG_STREAM_ERR_CONFIG;
        if (rg_metrics_serve(&s->metrics, s->cfg.metrics_addr, &s->metrics_port, errstr, errstr_size) != 0)
            goto fail;
        char port[16];
        snprintf(port, sizeof port, "%u", s->metrics_port);
        rg_log(RG_LOG_INFO, "metrics endpoint", "address", s->cfg.metrics_addr, "port", port, "path", "/metrics",
               NULL);
    }
    s->rs = rules;   /* ours from here on */
    *err = RG_STREAM_OK;
    return s;
fail:
    rg_stream_free(s);
    return NULL;
}

/* How long a drain waits for the prober's running query (probe.h). */
#define PROBE_RELEASE_MS 3000
/* ... and, at its end, for the records nothing waits for (drain). */
#define TAIL_FLUSH_MS 2000

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
    if (rd_kafka_conf_get(rd_kafka_conf(s->c.consumer), "partition.assignment.strategy", strategy, &len) !=
        RD_KAFKA_CONF_OK)
        return true;   /* unknown: keep it rather than risk the abort */
    return strstr(strategy, "cooperative-sticky") != NULL;
}

static void keep_consumer(rd_kafka_t *rk, const char *why)
{
    rd_kafka_set_log_level(rk, 0);
    pthread_mutex_lock(&kept_consumers_lock);
    rd_kafka_t **p = realloc(kept_consumers, (n_kept_consumers + 1) * sizeof *p);
    if (p) {
        kept_consumers = p;
        kept_consumers[n_kept_consumers++] = rk;
    }
    pthread_mutex_unlock(&kept_consumers_lock);
    rg_log(RG_LOG_DEBUG, "client kept, not destroyed", "why", why, NULL);
}

void rg_stream_free(rg_stream *s)
{
    if (!s)
        return;
    rg_reloader_stop(&s->reloader);
    for (size_t i = 0; i < s->tasks.n; i++)
        rg_task_free(s->tasks.slots[i]);
    free(s->tasks.slots);
    /* The producer's last delivery reports (below) look tasks up. */
    s->tasks.slots = NULL;
    s->tasks.n = 0;
    rd_kafka_topic_t *rkts[] = {s->c.actions, s->c.deadletter, s->c.entities, s->c.decide, s->c.state};
    for (size_t i = 0; i < sizeof rkts / sizeof *rkts; i++)
        if (rkts[i])
            rd_kafka_topic_destroy(rkts[i]);
    if (s->c.commit_q)
        rd_kafka_queue_destroy(s->c.commit_q);
    if (s->commits.due)
        rd_kafka_topic_partition_list_destroy(s->commits.due);
    if (!rg_probe_release(s->probe, PROBE_RELEASE_MS))   /* it borrows the restorer */
        s->probe_abandoned = true;
    if (s->c.restorer) {
        if (s->probe_abandoned)
            keep_consumer(s->c.restorer, "a watermark query still uses it");
        else
            rd_kafka_destroy(s->c.restorer);
    }
    if (s->c.consumer) {
        if (destroy_would_abort(s))
            keep_consumer(s->c.consumer, "never assigned: librdkafka < 2.3.0 would abort, issue #4312");
        else
            rd_kafka_destroy(s->c.consumer);
    }
    if (s->c.producer) {
        /* Outstanding records (only after a failed drain) are purged:
         * nothing past them was committed. */
        rd_kafka_purge(s->c.producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        s->draining = true;
        rd_kafka_poll(s->c.producer, 0);
        rd_kafka_destroy(s->c.producer);
    }
    rg_run_retries_free(s);
    rg_run_alerts_close(s);
    if (s->metrics_ready)
        rg_metrics_free(&s->metrics);
    rg_strbuf_free(&s->scratch);
    rg_ruleset_free(s->rs);
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
    out->snapshots = s->metrics.checkpoints;
    out->late = s->metrics.late_events;
    out->enforced = s->metrics.merge_enforced_idle + s->metrics.merge_enforced_wait;
    out->alerts_stored = s->metrics.alerts_stored;
    out->alert_store_errors = s->metrics.alert_store_errors;
    out->releases_delivered = s->metrics.releases_delivered;
}

/* ---- the loop ---- */

/* SIGHUP: load the rule files on the reloader's thread (reload.h). */
static void request_reload(rg_stream *s)
{
    if (!s->cfg.n_rules_paths) {
        rg_log(RG_LOG_WARN, "SIGHUP: no rule files to reload", NULL);
        return;
    }
    if (rg_reloader_request(&s->reloader) != 0) {
        rg_metrics_rule_reload(&s->metrics, false);
        rg_log(RG_LOG_WARN, "SIGHUP: cannot start the rule loader thread; the running rules stay", NULL);
        return;
    }
    rg_log(RG_LOG_INFO, "SIGHUP: loading the rule files (decisions go on meanwhile)", NULL);
}

/* A load finished: swap the new set into every task, between two records. */
static void do_reload(rg_stream *s)
{
    rg_ruleset *rs = NULL;
    char *errors = NULL;
    if (!rg_reloader_take(&s->reloader, &rs, &errors))
        return;
    if (!rs) {
        rg_metrics_rule_reload(&s->metrics, false);
        /* One line per error in the loader's report; the log line is one. */
        size_t n = errors ? strlen(errors) : 0;
        while (n && (errors[n - 1] == '\n' || errors[n - 1] == ' '))
            errors[--n] = '\0';
        rg_log(RG_LOG_WARN, "rule file refused; the running rules stay", "ruleset", rg_ruleset_id(s->rs), "error",
               errors ? errors : "out of memory", NULL);
        free(errors);
        return;
    }
    free(errors);
    int64_t swap_t0 = rg_run_mono_us();
    /* Alerts written so far borrow the running rule set's rules. */
    rg_run_alerts_write(s, true);
    char err[1024] = "";
    for (size_t i = 0; i < s->tasks.n; i++) {
        rg_task *t = s->tasks.slots[i];
        if (t && rg_task_swap_rules(t, rs, err, sizeof err) != 0) {
            /* Tasks swapped before this one run the new rules, the rest the
             * old: stop rather than decide with two rule sets. */
            rg_log(RG_LOG_ERROR, "a task refused the new rule set after others took it; stopping", "task", t->name,
                   "error", err, NULL);
            s->fatal = true;
            s->rs = rs;   /* freed at the end with the stream; the old one too */
            return;
        }
    }
    rg_ruleset *old = s->rs;
    s->rs = rs;
    rg_ruleset_free(old);
    rg_metrics_rule_reload(&s->metrics, true);
    /* The loop's own pause: moving every task's state to the new set. */
    char swap_ms[32];
    snprintf(swap_ms, sizeof swap_ms, "%.1f", (double)(rg_run_mono_us() - swap_t0) / 1000.0);
    rg_log(RG_LOG_INFO, "rules reloaded", "ruleset", rg_ruleset_id(s->rs), "swap_ms", swap_ms, NULL);
}

/* Take what the consumer has (bounded, so the producer is served). */
static void poll_consumer(rg_stream *s, int timeout_ms)
{
    rd_kafka_message_t *m = rd_kafka_consumer_poll(s->c.consumer, timeout_ms);
    for (int n = 0; m && n < 10000 && !s->fatal; n++) {
        int kind = rd_kafka_topic_name(m->rkt) ? rg_topology_kind(&s->topo, rd_kafka_topic_name(m->rkt)) : -1;
        rg_task *t = NULL;
        for (size_t i = 0; kind >= 0 && i < s->tasks.n && !t; i++) {
            rg_task *c = s->tasks.slots[i];
            if (c && (int)c->kind == kind && c->partition == m->partition)
                t = c;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (t && t->kind == RG_TASK_INGEST)
                rg_task_note_end(t, rg_run_mono_ms(), m->offset, true);
        } else if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
                if (!s->topic_missing)
                    rg_log(RG_LOG_WARN, "a subscribed topic is not available; waiting for it", "error",
                           rd_kafka_message_errstr(m), NULL);
                s->topic_missing = true;
            } else if (rg_run_log_due(&s->last_consumer_log_ms)) {
                rg_log(RG_LOG_WARN, "consumer error", "error", rd_kafka_err2name(m->err), "detail",
                       rd_kafka_message_errstr(m), NULL);
            }
        } else if (t) {
            s->topic_missing = false;
            rg_task_take(s, t, m);
        }
        rd_kafka_message_destroy(m);
        /* The bound is checked before the next poll: a message polled is
         * always taken (one destroyed unseen would be lost to this run). */
        m = n + 1 < 10000 && !s->fatal ? rd_kafka_consumer_poll(s->c.consumer, 0) : NULL;
    }
    if (m)
        rd_kafka_message_destroy(m);   /* fatal: nothing past it is committed */
}

/* Pause a task's fetch while its stage holds too much; resume below half. */
static void flow_control(rg_stream *s, rg_task *t)
{
    size_t q = rg_task_queued(t);
    bool pause = !t->paused && q >= s->cfg.task_buffer_max;
    bool resume = t->paused && q <= s->cfg.task_buffer_max / 2;
    if (!pause && !resume)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, rg_topology_topic(&s->topo, t->kind), t->partition);
    if (pause)
        rd_kafka_pause_partitions(s->c.consumer, l);
    else
        rd_kafka_resume_partitions(s->c.consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    t->paused = pause;
}

/* Run every entity and decide task; the shortest wait any reports. */
static long run_tasks(rg_stream *s, int64_t *wait_ms)
{
    long done = 0;
    *wait_ms = -1;
    for (size_t i = 0; i < s->tasks.n && !s->fatal; i++) {
        rg_task *t = s->tasks.slots[i];
        if (!t || t->kind == RG_TASK_INGEST)
            continue;
        int64_t w;
        long n = rg_task_run(s, t, 5000, &w);
        if (n > 0)
            done += n;
        if (w >= 0 && (*wait_ms < 0 || w < *wait_ms))
            *wait_ms = w;
        flow_control(s, t);
    }
    return done;
}

static void collect_probes(rg_stream *s)
{
    rg_probe_answer a;
    while (rg_probe_collect(s->probe, &a)) {
        for (size_t i = 0; i < s->tasks.n; i++) {
            rg_task *t = s->tasks.slots[i];
            if (!t || t->kind != RG_TASK_INGEST || t->partition != a.partition)
                continue;
            if (a.ok)
                rg_task_note_end(t, a.asked_ms, a.high_watermark, false);
            else
                rg_task_note_unreachable(t, rg_run_mono_ms());
        }
    }
}

static void periodic(rg_stream *s, int64_t now)
{
    collect_probes(s);
    if (now - s->last_marks_ms >= s->cfg.mark_interval_ms / 2) {
        rg_task_marks_all(s, now);
        s->last_marks_ms = now;
    }
    for (size_t i = 0; i < s->tasks.n; i++)
        if (s->tasks.slots[i])
            rg_snapshot_serve(s, s->tasks.slots[i], now, false);
    if (now - s->commits.last_ms >= s->cfg.commit_interval_ms) {
        rg_run_commit(s, false);
        s->commits.last_ms = now;
    }
    if (now - s->last_publish_ms >= 1000)
        rg_run_publish(s, now);
}

static int drain(rg_stream *s)
{
    s->draining = true;
    rg_metrics_set_ready(&s->metrics, false, "draining");
    /* The prober borrows the restorer: a watermark query to a partition
     * whose leader is down can outlast its timeout by minutes (librdkafka
     * 2.0.2), and freeing the prober waits for it; stopped first, so no
     * query runs on past the drain. */
    if (!rg_probe_release(s->probe, PROBE_RELEASE_MS)) {
        s->probe_abandoned = true;
        rg_log(RG_LOG_WARN, "a watermark query to a partition whose leader is down is still running; the drain goes "
                            "on without it (its client handle is kept until exit)", NULL);
    }
    s->probe = NULL;
    rg_log(RG_LOG_INFO, "draining: every task writes a final snapshot once its outputs are acknowledged", NULL);
    int64_t deadline = rg_run_mono_ms() + s->cfg.drain_timeout_ms;
    rg_run_release_all(s, s->cfg.drain_timeout_ms);
    /* Releases in flight are marked sent before leaving. */
    while (rg_run_outbox_inflight(s) > 0 && rg_run_mono_ms() < deadline) {
        rd_kafka_poll(s->c.producer, 20);
        rg_run_outbox_serve(s, rg_run_mono_ms());
    }
    /* What nothing waits for goes out too: the tombstones of the
     * generations the final snapshots superseded, and the last MARKs.
     * Purged at close instead (rg_stream_free), the old chunks stayed in
     * the compacted state topic and every clean stop warned that a record
     * was purged. Bounded: with the brokers down they cannot go out. */
    int64_t left = deadline - rg_run_mono_ms();
    if (left > 0)
        rd_kafka_flush(s->c.producer, (int)(left < TAIL_FLUSH_MS ? left : TAIL_FLUSH_MS));
    bool complete = s->metrics.snapshot_failures_at_drain == 0 && !s->fatal;
    if (!complete) {
        char failures[24];
        rg_run_fmt_i64(failures, sizeof failures, (int64_t)s->metrics.snapshot_failures_at_drain);
        rg_log(RG_LOG_ERROR, "drain incomplete (exit 1): final snapshots not durable or their commit failed",
               "failures", failures, "fatal", s->fatal ? "true" : "false", NULL);
    }
    rd_kafka_consumer_close(s->c.consumer);
    rg_run_publish(s, rg_run_mono_ms());
    return complete ? 0 : -1;
}

/* Wait for the events topic and make sure the internal topics exist;
 * then subscribe. 0 subscribed, 1 not yet (try again), -1 fatal, -2
 * configuration. */
static int start_up(rg_stream *s)
{
    char err[1024] = "";
    int rc = rg_topology_ensure(&s->topo, s->c.producer, 2000, err, sizeof err);
    if (rc == -2) {
        rg_log(RG_LOG_ERROR, "internal topics do not fit the events topic", "error", err, NULL);
        return -2;
    }
    if (rc != 0) {
        if (!s->topic_missing)
            rg_log(RG_LOG_WARN, "not started yet; retrying every second", "error", err, NULL);
        s->topic_missing = true;
        return 1;
    }
    /* Only now: a handle's metadata request for a topic that does not
     * exist yet lets a broker with auto.create.topics.enable create it
     * with its default partition count, which rg_topology_ensure would
     * then refuse. The internal topics always get an explicit partition
     * (rg_stage_partition). */
    if (!s->c.entities)
        s->c.entities = rd_kafka_topic_new(s->c.producer, s->topo.entities, NULL);
    if (!s->c.decide)
        s->c.decide = rd_kafka_topic_new(s->c.producer, s->topo.decide, NULL);
    if (!s->c.state)
        s->c.state = rd_kafka_topic_new(s->c.producer, s->topo.state, NULL);
    if (!s->c.entities || !s->c.decide || !s->c.state) {
        rg_log(RG_LOG_ERROR, "cannot create topic handles", "error", rd_kafka_err2str(rd_kafka_last_error()), NULL);
        return -1;
    }
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(3);
    rd_kafka_topic_partition_list_add(sub, s->topo.events, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(sub, s->topo.entities, RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(sub, s->topo.decide, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(s->c.consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (e) {
        rg_log(RG_LOG_ERROR, "cannot subscribe", "error", rd_kafka_err2str(e), NULL);
        return -1;
    }
    s->subscribed = true;
    s->topic_missing = false;
    char p[16], idle[32], maxwait[32];
    snprintf(p, sizeof p, "%d", (int)s->topo.partitions);
    rg_run_fmt_i64(idle, sizeof idle, s->cfg.max_idle_ms);
    rg_run_fmt_i64(maxwait, sizeof maxwait, s->cfg.max_wait_ms);
    rg_log(RG_LOG_INFO, "running", "brokers", s->cfg.brokers, "group", s->cfg.group, "events", s->topo.events,
           "partitions", p, "entities", s->topo.entities, "decide", s->topo.decide, "state", s->topo.state,
           "actions", s->cfg.actions_topic, "deadletter", s->cfg.deadletter_topic, "max_idle_ms", idle,
           "max_wait_ms", maxwait, "ruleset", rg_ruleset_id(s->rs), NULL);
    return 0;
}

int rg_stream_run(rg_stream *s, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
    int64_t now = rg_run_mono_ms();
    s->last_publish_ms = s->commits.last_ms = now;
    rg_run_publish(s, now);
    while (!s->subscribed && !*stop) {
        int rc = start_up(s);
        if (rc < 0)
            return rc == -2 ? -2 : -1;
        if (rc > 0) {
            for (int i = 0; i < 10 && !*stop; i++)
                rd_kafka_poll(s->c.producer, 100);
        }
    }
    if (!s->subscribed)
        return 0;   /* stopped before the topics were there: nothing to drain */
    long last = 0;
    int64_t wait_ms = -1;
    while (!*stop && !s->fatal) {
        if (reload && *reload) {
            *reload = 0;
            request_reload(s);
        }
        do_reload(s);
        /* Stop taking input while the producer's queue is nearly full or
         * the alert store is not keeping up; keep serving reports. */
        size_t outq = (size_t)rd_kafka_outq_len(s->c.producer);
        bool blocked = outq >= s->out.outq_high || (s->out.queue_full && outq > s->out.outq_high / 2) ||
                       rg_run_alerts_full(s);
        if (!blocked)
            s->out.queue_full = false;
        int timeout = last > 0 ? 0 : wait_ms >= 0 && wait_ms < 5 ? (int)wait_ms : 5;
        if (!blocked)
            poll_consumer(s, timeout);
        rd_kafka_poll(s->c.producer, blocked ? 10 : 0);
        rg_run_retry_due(s, false);
        rg_run_commit_serve(s);
        last = run_tasks(s, &wait_ms);
        rg_run_alerts_write(s, last == 0);
        now = rg_run_mono_ms();
        rg_run_outbox_serve(s, now);
        periodic(s, now);
    }
    return drain(s);
}
