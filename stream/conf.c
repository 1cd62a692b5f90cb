/*
 * conf — the librdkafka configuration of the runner's clients (runtime.h):
 * riskgate's defaults, the -X pass-through routed to the right client, the
 * properties the delivery guarantee depends on (refused when -X tries to
 * change them), and the callbacks (errors, logs, rebalance, delivery
 * reports). A secret-looking -X value never appears in errstr, even in
 * librdkafka's own refusal message.
 */
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "runtime.h"

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    rg_stream *s = opaque;
    const char *client = rd_kafka_type(rk) == RD_KAFKA_CONSUMER ? "consumer" : "producer";
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof why);
        rg_log(RG_LOG_ERROR, "fatal Kafka client error; stopping (undelivered records keep their offsets uncommitted)",
               "client", client, "error", why, NULL);
        s->fatal = true;
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        if (!s->brokers_down)
            rg_log(RG_LOG_WARN, "all brokers down; retrying, nothing is committed past undelivered records", "client",
                   client, "brokers", s->cfg.brokers, NULL);
        s->brokers_down = true;
        return;
    }
    if (rg_run_log_due(&s->last_consumer_log_ms))
        rg_log(RG_LOG_WARN, "Kafka client error", "client", client, "error", rd_kafka_err2name(err), "reason", reason,
               NULL);
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* Errors reach us once more through on_error (rate-limited, in our
     * words), so librdkafka's own error lines are debug; its warnings
     * (e.g. a property ignored by one client) stay warnings. */
    rg_log_level l = level == 4 ? RG_LOG_WARN : level <= 2 ? RG_LOG_ERROR : RG_LOG_DEBUG;
    rg_log(l, "librdkafka", "client", rd_kafka_name(rk), "facility", fac, "detail", buf, NULL);
}

/* The consumer's statistics (statistics.interval.ms), read for one fact:
 * whether its group is in a rebalance. An offset commit sent while the
 * group completes a rebalance may carry the generation being replaced; a
 * broker that answers it ILLEGAL_GENERATION (the mock cluster does, where
 * Kafka answers REBALANCE_IN_PROGRESS) makes librdkafka declare the whole
 * assignment lost, and every task is then given up without its final
 * snapshot. So periodic commits wait while the group is not steady. */
static int on_stats(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    (void)rk;
    rg_stream *s = opaque;
    json_t *root = json_loadb(json, json_len, 0, NULL);
    const char *join_state = json_string_value(json_object_get(json_object_get(root, "cgrp"), "join_state"));
    if (join_state)
        s->group_rebalancing = strcmp(join_state, "steady") != 0;
    json_decref(root);
    return 0;   /* librdkafka frees json */
}

/* ---- configuration ---- */

static int set_prop(rd_kafka_conf_t *conf, const char *key, const char *value, char *errstr, size_t errstr_size)
{
    char why[512];
    if (rd_kafka_conf_set(conf, key, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return 0;
    if (rg_log_secret_key(key))
        snprintf(errstr, errstr_size, "-X %s: refused by librdkafka (value not shown)", key);
    else
        snprintf(errstr, errstr_size, "-X %s: %s", key, why);
    return -1;
}

static bool prop_forbidden(const char *key, const char *value, char *errstr, size_t errstr_size)
{
    static const struct {
        const char *key, *required;
    } fixed[] = {{"enable.auto.commit", "false"},
                 {"enable.auto.offset.store", "false"},
                 {"enable.idempotence", "true"},
                 /* The merge learns from these that a partition is drained. */
                 {"enable.partition.eof", "true"}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(key, fixed[i].key) == 0 && strcmp(value, fixed[i].required) != 0) {
            snprintf(errstr, errstr_size,
                     "-X %s=%s: riskgate run needs %s=%s (commits follow delivery reports; see docs/streaming.md)",
                     key, value, fixed[i].key, fixed[i].required);
            return true;
        }
    return false;
}

/* Group membership properties: the restorer (a consumer that only reads
 * <group>.state at restores) must not join the group. */
static bool group_key(const char *k)
{
    return strcmp(k, "group.id") == 0 || strcmp(k, "group.instance.id") == 0 ||
           strcmp(k, "partition.assignment.strategy") == 0 || strncmp(k, "session.timeout", 15) == 0 ||
           strncmp(k, "heartbeat", 9) == 0 || strncmp(k, "max.poll", 8) == 0 || strncmp(k, "auto.offset", 11) == 0;
}

/* Apply -X to conf for client kind ("consumer", "producer" or "restorer":
 * a consumer outside the group). */
static int apply_props(const rg_stream_config *cfg, rd_kafka_conf_t *conf, const char *kind, char *errstr,
                       size_t errstr_size)
{
    bool restorer = strcmp(kind, "restorer") == 0;
    bool consumer = restorer || strcmp(kind, "consumer") == 0;
    for (size_t i = 0; i < cfg->n_kafka_props; i++) {
        const char *kv = cfg->kafka_props[i];
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            snprintf(errstr, errstr_size, "-X %s: expected property=value", rg_log_secret_key(kv) ? "[redacted]" : kv);
            return -1;
        }
        char key[256];
        size_t klen = (size_t)(eq - kv);
        if (klen >= sizeof key) {
            snprintf(errstr, errstr_size, "-X: property name too long");
            return -1;
        }
        memcpy(key, kv, klen);
        key[klen] = '\0';
        const char *k = key;
        if (strncmp(k, "consumer.", 9) == 0) {
            if (!consumer)
                continue;
            k += 9;
        } else if (strncmp(k, "producer.", 9) == 0) {
            if (consumer)
                continue;
            k += 9;
        } else if (!consumer && (group_key(k) || strcmp(k, "isolation.level") == 0 ||
                                 strncmp(k, "enable.auto", 11) == 0 || strncmp(k, "fetch.", 6) == 0 ||
                                 strncmp(k, "queued.", 7) == 0)) {
            continue;   /* consumer-only: do not make the producer warn about it */
        } else if (consumer &&
                   (strcmp(k, "enable.idempotence") == 0 || strcmp(k, "acks") == 0 ||
                    strncmp(k, "linger", 6) == 0 || strncmp(k, "queue.buffering", 15) == 0 ||
                    strcmp(k, "compression.type") == 0 || strcmp(k, "compression.codec") == 0 ||
                    strncmp(k, "message.timeout", 15) == 0 || strncmp(k, "batch.", 6) == 0 ||
                    strcmp(k, "retries") == 0 || strcmp(k, "message.send.max.retries") == 0)) {
            continue;
        }
        if (restorer && group_key(k))
            continue;   /* the restorer reads on its own, outside the group */
        if (prop_forbidden(k, eq + 1, errstr, errstr_size))
            return -1;
        if (set_prop(conf, k, eq + 1, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}

void rg_run_redact_secrets(const rg_stream_config *cfg, char *msg, size_t msg_size)
{
    static const char mask[] = "[redacted]";
    for (size_t i = 0; i < cfg->n_kafka_props && msg_size; i++) {
        const char *kv = cfg->kafka_props[i], *eq = strchr(kv, '=');
        char key[256];
        if (!eq || !eq[1] || (size_t)(eq - kv) >= sizeof key)
            continue;
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        if (!rg_log_secret_key(key))
            continue;
        const char *value = eq + 1;
        size_t vlen = strlen(value), o = 0;
        char out[1024];
        for (const char *p = msg; *p && o + 1 < sizeof out;) {
            if (strncmp(p, value, vlen) == 0) {
                for (size_t m = 0; mask[m] && o + 1 < sizeof out; m++)
                    out[o++] = mask[m];
                p += vlen;
            } else {
                out[o++] = *p++;
            }
        }
        out[o] = '\0';
        snprintf(msg, msg_size, "%s", out);
    }
}

rd_kafka_conf_t *rg_run_client_conf(rg_stream *s, const char *kind, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const rg_stream_config *cfg = &s->cfg;
    char restore_group[300];
    snprintf(restore_group, sizeof restore_group, "%s.restore", cfg->group);
    struct {
        const char *k, *v;
    } consumer_defaults[] = {
        {"group.id", cfg->group},
        {"client.id", "riskgate"},
        {"enable.auto.commit", "false"},
        {"enable.auto.offset.store", "false"},
        {"partition.assignment.strategy", "cooperative-sticky"},
        {"auto.offset.reset", "earliest"},
        {"isolation.level", "read_committed"},
        /* "This partition is drained" for the event-time merge (merge.h). */
        {"enable.partition.eof", "true"},
        /* A subscribed topic that appears later is noticed within this. */
        {"topic.metadata.refresh.interval.ms", "10000"},
        /* A member that died (kill -9) holds its partitions until its
         * session expires; 6 s (the broker's default minimum) instead of
         * librdkafka's 45 s brings a restart under 15 s on the mock
         * cluster (docs/streaming.md, "Restart after kill -9"). */
        {"session.timeout.ms", "6000"},
        {"heartbeat.interval.ms", "2000"},
        /* After a broker comes back, reconnect within a second (the
         * default backs off to 10 s): a coordinator outage shorter than
         * the session then costs no rebalance. */
        {"reconnect.backoff.max.ms", "1000"},
        /* on_stats: commits wait while the group rebalances. */
        {"statistics.interval.ms", "100"},
    },
      restorer_defaults[] = {
          /* rd_kafka_assign needs a group id; the restorer never joins
           * (no subscribe) and never commits. */
          {"group.id", restore_group},
          {"client.id", "riskgate-restore"},
          /* It reads to a known end: a fetch that finds nothing new need
           * not wait (the default 500 ms is paid per partition read). */
          {"fetch.wait.max.ms", "20"},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"},
          {"enable.partition.eof", "true"},
          {"isolation.level", "read_committed"},
          {"reconnect.backoff.max.ms", "1000"},
      },
      producer_defaults[] = {
          {"client.id", "riskgate"},
          {"enable.idempotence", "true"},
          {"acks", "all"},
          /* Decisions are latency-bound: batch for at most 1 ms. */
          {"linger.ms", "1"},
          {"reconnect.backoff.max.ms", "1000"},
      };
    bool consumer = strcmp(kind, "consumer") == 0, restorer = strcmp(kind, "restorer") == 0;
    size_t n = consumer   ? sizeof consumer_defaults / sizeof *consumer_defaults
               : restorer ? sizeof restorer_defaults / sizeof *restorer_defaults
                          : sizeof producer_defaults / sizeof *producer_defaults;
    if (set_prop(conf, "bootstrap.servers", cfg->brokers, errstr, errstr_size) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const char *k = consumer ? consumer_defaults[i].k : restorer ? restorer_defaults[i].k : producer_defaults[i].k;
        const char *v = consumer ? consumer_defaults[i].v : restorer ? restorer_defaults[i].v : producer_defaults[i].v;
        if (set_prop(conf, k, v, errstr, errstr_size) != 0)
            goto fail;
    }
    if (apply_props(cfg, conf, kind, errstr, errstr_size) != 0)
        goto fail;
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    if (consumer) {
        rd_kafka_conf_set_rebalance_cb(conf, rg_run_on_rebalance);
        rd_kafka_conf_set_stats_cb(conf, on_stats);
    }
    else if (!restorer)
        rd_kafka_conf_set_dr_msg_cb(conf, rg_run_on_delivery);
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

