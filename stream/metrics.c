/* metrics — counters and Prometheus text over loopback HTTP; see metrics.h. */
#include "metrics.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <maxminddb.h>
#include <microhttpd.h>
#include <sqlite3.h>
#include <yaml.h>
#include <zlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/strmap.h"

static const double latency_bounds_s[RG_METRICS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

int rg_metrics_init(rg_metrics *m)
{
    memset(m, 0, sizeof *m);
    snprintf(m->not_ready_why, sizeof m->not_ready_why, "starting");
    m->rule_hits = rg_strmap_new(sizeof(uint64_t));
    if (!m->rule_hits)
        return -1;
    pthread_mutex_init(&m->lock, NULL);
    return 0;
}

void rg_metrics_free(rg_metrics *m)
{
    if (m->httpd)
        MHD_stop_daemon(m->httpd);
    m->httpd = NULL;
    rg_strmap_free(m->rule_hits, NULL);
    m->rule_hits = NULL;
    free(m->lags);
    m->lags = NULL;
    free(m->task_status);
    m->task_status = NULL;
    rg_strbuf_free(&m->published);
    pthread_mutex_destroy(&m->lock);
}

static size_t name_index(const char **names, size_t *n, size_t max, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (names[i] == name || strcmp(names[i], name) == 0)
            return i;
    if (*n == max)
        return max;
    names[*n] = name;
    return (*n)++;
}

void rg_metrics_reject(rg_metrics *m, const char *kind_name)
{
    size_t i = name_index(m->reject_kind_names, &m->n_reject_kinds, RG_METRICS_MAX_REJECT_KINDS,
                          kind_name ? kind_name : "unknown");
    if (i < RG_METRICS_MAX_REJECT_KINDS)
        m->rejected[i]++;
}

void rg_metrics_decision(rg_metrics *m, const char *const *action_names, size_t n_actions,
                         const char *const *rule_ids, size_t n_rules)
{
    m->decisions++;
    for (size_t a = 0; a < n_actions; a++) {
        size_t i = name_index(m->action_names, &m->n_actions, RG_METRICS_MAX_ACTIONS, action_names[a]);
        if (i < RG_METRICS_MAX_ACTIONS)
            m->decisions_by_action[i]++;
    }
    for (size_t r = 0; r < n_rules; r++) {
        uint64_t *hits = rg_strmap_put(m->rule_hits, rule_ids[r], strlen(rule_ids[r]), NULL);
        if (hits)
            (*hits)++;
    }
}

void rg_metrics_latency(rg_metrics *m, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    size_t i = 0;
    while (i < RG_METRICS_LATENCY_BUCKETS && seconds > latency_bounds_s[i])
        i++;
    m->latency_buckets[i]++;
    m->latency_sum_s += seconds;
    m->latency_count++;
}

void rg_metrics_set_lags(rg_metrics *m, const rg_partition_lag *lags, size_t n)
{
    if (n > m->lags_cap) {
        rg_partition_lag *p = realloc(m->lags, n * sizeof *p);
        if (!p)
            return;
        m->lags = p;
        m->lags_cap = n;
    }
    if (n)
        memcpy(m->lags, lags, n * sizeof *lags);
    m->n_lags = n;
}

void rg_metrics_set_tasks(rg_metrics *m, const rg_task_status *tasks, size_t n)
{
    if (n > m->task_status_cap) {
        rg_task_status *p = realloc(m->task_status, n * sizeof *p);
        if (!p)
            return;
        m->task_status = p;
        m->task_status_cap = n;
    }
    if (n)
        memcpy(m->task_status, tasks, n * sizeof *tasks);
    m->n_task_status = n;
}

void rg_metrics_rule_reload(rg_metrics *m, bool ok)
{
    if (ok)
        m->rule_reloads_ok++;
    else
        m->rule_reloads_refused++;
    m->last_reload_refused = !ok;
}

void rg_metrics_set_ruleset(rg_metrics *m, const char *ruleset_id)
{
    snprintf(m->ruleset, sizeof m->ruleset, "%s", ruleset_id ? ruleset_id : "");
}

void rg_metrics_set_ready(rg_metrics *m, bool ready, const char *why)
{
    pthread_mutex_lock(&m->lock);
    m->ready = ready;
    snprintf(m->not_ready_why, sizeof m->not_ready_why, "%s", ready || !why ? "" : why);
    pthread_mutex_unlock(&m->lock);
}

/* The versions without librdkafka's feature list (which needs a conf
 * object: --version asks for it, every render does not). */
static void lib_versions(rg_versions *out)
{
    memset(out, 0, sizeof *out);
    out->riskgate = RG_VERSION;
    out->librdkafka = rd_kafka_version_str();
    out->libmaxminddb = MMDB_lib_version();
    out->sqlite = sqlite3_libversion();
    out->libmicrohttpd = MHD_get_version();
    out->jansson = jansson_version_str();
    out->libyaml = yaml_get_version_string();
    out->zlib = zlibVersion();
}

void rg_metrics_versions(rg_versions *out)
{
    lib_versions(out);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t n = sizeof out->librdkafka_features;
    if (!conf || rd_kafka_conf_get(conf, "builtin.features", out->librdkafka_features, &n) != RD_KAFKA_CONF_OK)
        snprintf(out->librdkafka_features, sizeof out->librdkafka_features, "unknown");
    if (conf)
        rd_kafka_conf_destroy(conf);
}

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
static void label_value(rg_strbuf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\' || *v == '"')
            rg_strbuf_printf(b, "\\%c", *v);
        else if (*v == '\n')
            rg_strbuf_puts(b, "\\n");
        else
            rg_strbuf_append(b, v, 1);
    }
}

static void info_metrics(const rg_metrics *m, rg_strbuf *b)
{
    rg_versions v;
    lib_versions(&v);
    const struct {
        const char *label, *value;
    } build[] = {{"version", v.riskgate},
                 {"librdkafka", v.librdkafka},
                 {"libmaxminddb", v.libmaxminddb},
                 {"sqlite", v.sqlite},
                 {"libmicrohttpd", v.libmicrohttpd}};
    rg_strbuf_puts(b, "# HELP riskgate_build_info riskgate's version and the libraries it runs with (value 1).\n"
                      "# TYPE riskgate_build_info gauge\nriskgate_build_info{");
    for (size_t i = 0; i < sizeof build / sizeof *build; i++) {
        rg_strbuf_printf(b, "%s%s=\"", i ? "," : "", build[i].label);
        label_value(b, build[i].value);
        rg_strbuf_puts(b, "\"");
    }
    rg_strbuf_puts(b, "} 1\n");
    /* /readyz as a metric, for alerts and the dashboard. The engine thread
     * is the one that sets it, and the one rendering: no lock needed. */
    rg_strbuf_printf(b,
                     "# HELP riskgate_ready 1 while /readyz answers 200 (partitions assigned and restored, rules "
                     "loaded, a broker up), else 0.\n# TYPE riskgate_ready gauge\nriskgate_ready %d\n",
                     m->ready ? 1 : 0);
    rg_strbuf_puts(b, "# HELP riskgate_ruleset_info The running rule set's id (docs/ruleset-id.md; value 1).\n"
                      "# TYPE riskgate_ruleset_info gauge\nriskgate_ruleset_info{ruleset=\"");
    label_value(b, m->ruleset);
    rg_strbuf_puts(b, "\"} 1\n");
    rg_strbuf_printf(b,
                     "# HELP riskgate_rules_last_reload_successful 0 when the last SIGHUP reload was refused (the "
                     "previous rules still run), else 1.\n"
                     "# TYPE riskgate_rules_last_reload_successful gauge\nriskgate_rules_last_reload_successful %d\n",
                     m->last_reload_refused ? 0 : 1);
}

static void counter(rg_strbuf *b, const char *name, const char *help, uint64_t v)
{
    rg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                     (unsigned long long)v);
}

static void gauge(rg_strbuf *b, const char *name, const char *help, double v)
{
    rg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

/* riskgate_task_*: one series per held task (and, for an entity or a
 * decide task, per source it waits on). A gauge that does not apply to a
 * task's stage is left out for it (its getter says false). */
typedef bool (*task_value_fn)(const rg_task_status *t, long long *v);

static bool tv_input(const rg_task_status *t, long long *v) { return *v = t->input_offset, true; }
static bool tv_hwm(const rg_task_status *t, long long *v) { return *v = t->high_watermark, true; }
static bool tv_buffered(const rg_task_status *t, long long *v) { return *v = (long long)t->buffered, true; }
static bool tv_inflight(const rg_task_status *t, long long *v) { return *v = (long long)t->inflight, true; }
static bool tv_paused(const rg_task_status *t, long long *v) { return *v = t->paused, true; }
static bool tv_snapshot(const rg_task_status *t, long long *v) { return *v = t->snapshot_phase, true; }
static bool tv_drained(const rg_task_status *t, long long *v) { return *v = t->drained, t->drained >= 0; }
static bool tv_enrich(const rg_task_status *t, long long *v) { return *v = t->waiting_enrich, t->waiting_enrich >= 0; }
static bool tv_hits(const rg_task_status *t, long long *v) { return *v = t->waiting_hits, t->waiting_hits >= 0; }
static bool tv_holders(const rg_task_status *t, long long *v)
{
    return *v = (long long)t->n_holders, t->waiting_hits >= 0;   /* entity tasks */
}

static const struct {
    const char *name, *help;
    task_value_fn value;
} task_series[] = {
    {"riskgate_task_input_offset",
     "Next input offset a held task takes (its restored position before the first record), -1 unknown.", tv_input},
    {"riskgate_task_high_watermark", "Its input partition's high watermark as the consumer last saw it, -1 unknown.",
     tv_hwm},
    {"riskgate_task_buffered", "Records queued in the task's stage, not yet evaluated.", tv_buffered},
    {"riskgate_task_inflight", "The task's outputs produced and not yet acknowledged.", tv_inflight},
    {"riskgate_task_paused", "1 while the task's fetch is paused (too much queued).", tv_paused},
    {"riskgate_task_snapshot_phase",
     "0 idle, 1 a snapshot waits for the outputs it covers, 2 its pieces are in flight.", tv_snapshot},
    {"riskgate_task_drained", "Ingest: 1 while the broker confirms its partition drained.", tv_drained},
    {"riskgate_task_waiting_enrich", "Decide: queue heads waiting for their ENRICH record.", tv_enrich},
    {"riskgate_task_waiting_hits", "Entity: held decisions (HOLDs) waiting for their HITS record.", tv_hits},
    {"riskgate_task_merge_holders", "Entity: empty sources holding back the merge's lowest head now.", tv_holders},
};

static void task_metrics(const rg_metrics *m, rg_strbuf *b)
{
    for (size_t k = 0; k < sizeof task_series / sizeof *task_series; k++) {
        rg_strbuf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", task_series[k].name, task_series[k].help,
                         task_series[k].name);
        for (size_t i = 0; i < m->n_task_status; i++) {
            long long v;
            if (task_series[k].value(&m->task_status[i], &v))
                rg_strbuf_printf(b, "%s{task=\"%s\"} %lld\n", task_series[k].name, m->task_status[i].task, v);
        }
    }
    rg_strbuf_puts(b, "# HELP riskgate_task_first_waiting_offset Decide: the source offset of the first queue head "
                      "waiting for its ENRICH, by source.\n# TYPE riskgate_task_first_waiting_offset gauge\n");
    for (size_t i = 0; i < m->n_task_status; i++) {
        const rg_task_status *t = &m->task_status[i];
        if (t->first_waiting_source >= 0)
            rg_strbuf_printf(b, "riskgate_task_first_waiting_offset{task=\"%s\",source=\"%d\"} %lld\n", t->task,
                             (int)t->first_waiting_source, (long long)t->first_waiting_offset);
    }
    rg_strbuf_puts(b, "# HELP riskgate_task_merge_holder Entity: 1 per source holding back the merge's lowest head "
                      "(the first 8).\n# TYPE riskgate_task_merge_holder gauge\n");
    for (size_t i = 0; i < m->n_task_status; i++) {
        const rg_task_status *t = &m->task_status[i];
        for (size_t h = 0; h < t->n_holders && h < RG_TASK_STATUS_HOLDERS; h++)
            rg_strbuf_printf(b, "riskgate_task_merge_holder{task=\"%s\",source=\"%d\"} 1\n", t->task,
                             (int)t->holders[h]);
    }
}

void rg_metrics_render(const rg_metrics *m, int64_t now_ms, rg_strbuf *b)
{
    info_metrics(m, b);
    counter(b, "riskgate_events_consumed_total", "Input messages taken for processing.", m->events_consumed);
    rg_strbuf_puts(b, "# HELP riskgate_events_rejected_total Inputs that broke the event contract, per kind.\n"
                      "# TYPE riskgate_events_rejected_total counter\n");
    for (size_t i = 0; i < m->n_reject_kinds; i++)
        rg_strbuf_printf(b, "riskgate_events_rejected_total{kind=\"%s\"} %llu\n", m->reject_kind_names[i],
                         (unsigned long long)m->rejected[i]);
    counter(b, "riskgate_events_duplicate_total", "Events skipped as duplicates (event_id within the horizon).",
            m->duplicates);
    counter(b, "riskgate_events_late_total",
            "Events evaluated after a later event of another partition (arrived after the merge went on).",
            m->late_events);
    counter(b, "riskgate_events_too_late_total",
            "Events more than max_lateness behind the watermark: windows and dedupe may no longer be exact for "
            "them.",
            m->too_late_events);
    rg_strbuf_puts(b, "# HELP riskgate_merge_enforced_total Times the event-time merge went on without a partition, "
                      "by bound: idle (drained, silent: --max-idle-ms), wait (may hold older events: "
                      "--max-wait-ms).\n"
                      "# TYPE riskgate_merge_enforced_total counter\n");
    rg_strbuf_printf(b, "riskgate_merge_enforced_total{reason=\"idle\"} %llu\n",
                     (unsigned long long)m->merge_enforced_idle);
    rg_strbuf_printf(b, "riskgate_merge_enforced_total{reason=\"wait\"} %llu\n",
                     (unsigned long long)m->merge_enforced_wait);
    counter(b, "riskgate_decisions_total", "Decisions produced to the action topic.", m->decisions);
    rg_strbuf_puts(b, "# HELP riskgate_decision_actions_total Decisions per action.\n"
                      "# TYPE riskgate_decision_actions_total counter\n");
    for (size_t i = 0; i < m->n_actions; i++)
        rg_strbuf_printf(b, "riskgate_decision_actions_total{action=\"%s\"} %llu\n", m->action_names[i],
                         (unsigned long long)m->decisions_by_action[i]);
    rg_strbuf_puts(b, "# HELP riskgate_rule_hits_total Rule hits in produced decisions, per rule.\n"
                      "# TYPE riskgate_rule_hits_total counter\n");
    /* In key order: the map's own order depends on its per-process hash key. */
    size_t n_rules = 0;
    rg_strmap_item *rules = rg_strmap_sorted(m->rule_hits, &n_rules);
    for (size_t i = 0; rules && i < n_rules; i++)
        rg_strbuf_printf(b, "riskgate_rule_hits_total{rule=\"%.*s\"} %llu\n", (int)rules[i].keylen, rules[i].key,
                         (unsigned long long)*(const uint64_t *)rules[i].value);
    free(rules);
    counter(b, "riskgate_deadletter_total", "Records produced to the dead-letter topic.", m->deadletter_records);
    counter(b, "riskgate_records_delivered_total", "Produced records acknowledged by the broker.",
            m->records_delivered);
    counter(b, "riskgate_delivery_errors_total", "Delivery reports with an error (the record is produced again).",
            m->delivery_errors);
    counter(b, "riskgate_producer_queue_full_total", "Times processing paused on a full producer queue.",
            m->producer_queue_full);
    counter(b, "riskgate_commits_total", "Offset commits acknowledged.", m->commits);
    counter(b, "riskgate_commit_errors_total", "Offset commits that failed (retried).", m->commit_errors);
    counter(b, "riskgate_rebalances_total", "Partition assignments and revocations.", m->rebalances);
    rg_strbuf_puts(b, "# HELP riskgate_rule_reloads_total Rule file reloads (SIGHUP), by result.\n"
                      "# TYPE riskgate_rule_reloads_total counter\n");
    rg_strbuf_printf(b, "riskgate_rule_reloads_total{result=\"ok\"} %llu\n",
                     (unsigned long long)m->rule_reloads_ok);
    rg_strbuf_printf(b, "riskgate_rule_reloads_total{result=\"refused\"} %llu\n",
                     (unsigned long long)m->rule_reloads_refused);
    counter(b, "riskgate_checkpoints_total", "Task snapshots made durable in <group>.state.", m->checkpoints);
    counter(b, "riskgate_checkpoint_errors_total", "Task snapshots that failed.", m->checkpoint_errors);
    int64_t since = m->last_checkpoint_ms > m->holding_since_ms ? m->last_checkpoint_ms : m->holding_since_ms;
    gauge(b, "riskgate_checkpoint_age_seconds",
          "Seconds since the last durable snapshot, or since tasks were first held without one (0: no task held).",
          m->holding_since_ms && now_ms > since ? (double)(now_ms - since) / 1000.0 : 0.0);
    counter(b, "riskgate_snapshot_bytes_total", "Bytes of durable task snapshots.", m->snapshot_bytes);
    counter(b, "riskgate_restores_total", "Tasks restored from their snapshot (or started empty) at assignment.",
            m->restores);
    counter(b, "riskgate_restore_bytes_total", "Bytes of <group>.state read by restores.", m->restore_bytes);
    rg_strbuf_printf(b, "# HELP riskgate_restore_seconds_total Time spent restoring tasks.\n"
                        "# TYPE riskgate_restore_seconds_total counter\nriskgate_restore_seconds_total %.6f\n",
                     m->restore_seconds);
    rg_strbuf_puts(b, "# HELP riskgate_records_total Records produced to the internal topics, by topic.\n"
                      "# TYPE riskgate_records_total counter\n");
    rg_strbuf_printf(b, "riskgate_records_total{topic=\"entities\"} %llu\n", (unsigned long long)m->records_entities);
    rg_strbuf_printf(b, "riskgate_records_total{topic=\"decide\"} %llu\n", (unsigned long long)m->records_decide);
    counter(b, "riskgate_marks_total",
            "Progress MARKs produced by ingest tasks to <group>.entities and <group>.decide: one per partition "
            "sent nothing for --mark-interval-ms, when the task's progress or drained flag changed (not in "
            "riskgate_records_total).",
            m->marks);
    counter(b, "riskgate_bad_records_total", "Records on internal topics that are not riskgate's (skipped).",
            m->bad_records);
    rg_strbuf_puts(b, "# HELP riskgate_tasks Tasks this instance holds, by stage.\n# TYPE riskgate_tasks gauge\n");
    static const char *const stages[3] = {"ingest", "entity", "decide"};
    for (int k = 0; k < 3; k++)
        rg_strbuf_printf(b, "riskgate_tasks{stage=\"%s\"} %llu\n", stages[k], (unsigned long long)m->tasks_held[k]);
    gauge(b, "riskgate_inflight_events", "Records produced and not yet acknowledged, over every task.",
          (double)m->inflight_events);
    gauge(b, "riskgate_buffered_messages", "Records queued in entity and decide tasks, not yet evaluated.",
          (double)m->buffered_messages);
    counter(b, "riskgate_alerts_stored_total", "Decisions written to the alert store (--alerts).", m->alerts_stored);
    counter(b, "riskgate_alert_store_errors_total", "Alert store writes that failed, SQLITE_BUSY included (retried).",
            m->alert_store_errors);
    gauge(b, "riskgate_alerts_pending", "Decisions waiting to be written to the alert store.",
          (double)m->alerts_pending);
    counter(b, "riskgate_releases_delivered_total", "Release decisions from the alert store's outbox acknowledged.",
            m->releases_delivered);
    counter(b, "riskgate_release_errors_total", "Release deliveries that failed (produced again).",
            m->release_errors);

    rg_strbuf_puts(b, "# HELP riskgate_consumer_lag Messages between the next offset to take and the high "
                      "watermark, per held partition.\n# TYPE riskgate_consumer_lag gauge\n");
    for (size_t i = 0; i < m->n_lags; i++)
        if (m->lags[i].lag >= 0)
            rg_strbuf_printf(b, "riskgate_consumer_lag{topic=\"%s\",partition=\"%d\"} %lld\n",
                             m->lags[i].topic ? m->lags[i].topic : "", (int)m->lags[i].partition,
                             (long long)m->lags[i].lag);

    task_metrics(m, b);

    rg_strbuf_puts(b, "# HELP riskgate_event_decision_latency_seconds From the event's ts to the produce of its "
                      "decision (in live traffic: from when it happened, through every stage).\n"
                      "# TYPE riskgate_event_decision_latency_seconds histogram\n");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < RG_METRICS_LATENCY_BUCKETS; i++) {
        cumulative += m->latency_buckets[i];
        rg_strbuf_printf(b, "riskgate_event_decision_latency_seconds_bucket{le=\"%g\"} %llu\n", latency_bounds_s[i],
                         (unsigned long long)cumulative);
    }
    cumulative += m->latency_buckets[RG_METRICS_LATENCY_BUCKETS];
    rg_strbuf_printf(b, "riskgate_event_decision_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                     (unsigned long long)cumulative);
    rg_strbuf_printf(b, "riskgate_event_decision_latency_seconds_sum %.9g\n", m->latency_sum_s);
    rg_strbuf_printf(b, "riskgate_event_decision_latency_seconds_count %llu\n",
                     (unsigned long long)m->latency_count);
}

void rg_metrics_publish(rg_metrics *m, int64_t now_ms)
{
    bool holding = m->tasks_held[0] + m->tasks_held[1] + m->tasks_held[2] > 0;
    if (!holding)
        m->holding_since_ms = 0;
    else if (!m->holding_since_ms)
        m->holding_since_ms = now_ms;
    rg_strbuf text = RG_STRBUF_INIT;
    rg_metrics_render(m, now_ms, &text);
    if (!rg_strbuf_ok(&text)) {
        rg_strbuf_free(&text);
        return;
    }
    pthread_mutex_lock(&m->lock);
    rg_strbuf old = m->published;
    m->published = text;
    pthread_mutex_unlock(&m->lock);
    rg_strbuf_free(&old);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
    rg_metrics *m = cls;
    struct MHD_Response *resp;
    unsigned status;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        static const char msg[] = "method not allowed\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/healthz") == 0) {
        /* Alive: this thread answers. Restores and drains do not make a
         * process unhealthy (a liveness probe must not kill a restore). */
        static const char msg[] = "ok\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_OK;
    } else if (strcmp(url, "/readyz") == 0) {
        char body[160];
        pthread_mutex_lock(&m->lock);
        bool ready = m->ready;
        if (ready)
            snprintf(body, sizeof body, "ready\n");
        else
            snprintf(body, sizeof body, "not ready: %s\n", m->not_ready_why);
        pthread_mutex_unlock(&m->lock);
        resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
        status = ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    } else if (strcmp(url, "/metrics") != 0 && strcmp(url, "/") != 0) {
        static const char msg[] = "not found: try /metrics, /healthz or /readyz\n";
        resp = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        pthread_mutex_lock(&m->lock);
        resp = MHD_create_response_from_buffer(m->published.len, m->published.data ? m->published.data : (void *)"",
                                               MHD_RESPMEM_MUST_COPY);
        pthread_mutex_unlock(&m->lock);
        status = MHD_HTTP_OK;
        if (resp)
            MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    }
    if (!resp)
        return MHD_NO;
    enum MHD_Result r = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

int rg_metrics_serve(rg_metrics *m, const char *addr_port, unsigned *bound_port, char *errstr,
                     size_t errstr_size)
{
    char host[128];
    const char *colon = strrchr(addr_port, ':');
    if (!colon || colon == addr_port || (size_t)(colon - addr_port) >= sizeof host) {
        snprintf(errstr, errstr_size, "--metrics %s: expected ADDR:PORT (e.g. 127.0.0.1:9464)", addr_port);
        return -1;
    }
    memcpy(host, addr_port, (size_t)(colon - addr_port));
    host[colon - addr_port] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 0 || port > 65535) {
        snprintf(errstr, errstr_size, "--metrics %s: bad port", addr_port);
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        memmove(host, host + 1, hl - 1);
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (strcmp(host, "localhost") == 0)
        strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127) {
            snprintf(errstr, errstr_size, "--metrics %s: only a loopback address is allowed", addr_port);
            return -1;
        }
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
            snprintf(errstr, errstr_size, "--metrics %s: only a loopback address is allowed", addr_port);
            return -1;
        }
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(errstr, errstr_size, "--metrics %s: not an IP address", addr_port);
        return -1;
    }
    m->httpd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR,
                                (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                                MHD_OPTION_END);
    if (!m->httpd) {
        snprintf(errstr, errstr_size, "--metrics %s: cannot listen (address in use?)", addr_port);
        return -1;
    }
    if (bound_port) {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
        *bound_port = info ? info->port : (unsigned)port;
    }
    return 0;
}
