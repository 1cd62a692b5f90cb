/* run — the streaming runner on librdkafka; see run.h and docs/streaming.md. */
#include "run.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/strbuf.h"
#include "checkpoint.h"
#include "log.h"
#include "merge.h"
#include "metrics.h"
#include "offsets.h"

/* A record whose delivery failed (or whose produce call was refused),
 * waiting to be produced again. Its event stays in flight meanwhile, so
 * its offset cannot be committed. */
typedef struct retry_record {
    rd_kafka_topic_t *rkt;
    char *key;
    size_t key_len;
    char *value;
    size_t value_len;
    void *ticket;
} retry_record;

/* Per-slot (held partition) bookkeeping beside the merge's own slot. */
typedef struct slot_state {
    rg_offset_track track;
    int64_t committed;          /* next offset last acknowledged by a commit; -1 none */
    bool paused;                /* fetch paused: merge buffer full */
} slot_state;

struct rg_stream {
    rg_stream_config cfg;
    rg_stream_processor proc;
    rg_stream_output output;
    rd_kafka_t *consumer;
    rd_kafka_t *producer;
    rd_kafka_topic_t *actions_rkt;
    rd_kafka_topic_t *deadletter_rkt;

    rg_merge merge;
    slot_state *slots;
    size_t n_slots;

    rg_metrics metrics;
    bool metrics_ready;
    unsigned metrics_port;
    rg_checkpoint *checkpoint;
    bool state_loaded;          /* resume held partitions at the checkpoint's offsets */

    /* the event being processed */
    unsigned cur_slot;
    uint64_t cur_seq;
    rg_strbuf record;           /* a decision with decided_at spliced in */
    rg_strbuf deadletter;

    retry_record *retries;
    size_t n_retries, cap_retries;
    int64_t retry_due_ms;

    size_t outq_high;           /* producer queue length above which processing pauses */
    bool queue_full;            /* in a full-queue episode (logged once) */
    bool brokers_down;          /* in an all-brokers-down episode (logged once) */
    bool events_topic_missing;  /* logged once per episode */
    bool fatal;
    bool draining;
    bool checkpoint_pending;
    int64_t checkpoint_wait_since_ms;
    int64_t last_commit_ms, last_publish_ms, last_checkpoint_ms, last_lag_ms;
    int64_t last_delivery_log_ms, last_commit_log_ms, last_consumer_log_ms, last_queue_log_ms;
    uint64_t suppressed_logs;
};

/* ---- time ---- */

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void fmt_i64(char *buf, size_t n, int64_t v) { snprintf(buf, n, "%lld", (long long)v); }

/* Rate limit for log lines that a fault repeats per record (one line per
 * 5 s per kind): the first says what is wrong, the rest are counted in
 * metrics. */
static bool log_due(int64_t *last_ms)
{
    int64_t now = mono_ms();
    if (*last_ms && now - *last_ms < 5000)
        return false;
    *last_ms = now;
    return true;
}

void rg_stream_config_init(rg_stream_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->group = "riskgate";
    cfg->events_topic = "riskgate.events";
    cfg->actions_topic = "riskgate.actions";
    cfg->deadletter_topic = "riskgate.deadletter";
    cfg->max_idle_ms = 50;
    cfg->backlog_wait_ms = 0;
    cfg->commit_interval_ms = 500;
    cfg->checkpoint_interval_ms = 10000;
    cfg->drain_timeout_ms = 30000;
    cfg->partition_buffer_max = 20000;
}

/* ---- slots ---- */

static slot_state *slot_get(rg_stream *s, unsigned slot)
{
    return slot < s->n_slots && slot < s->merge.n_slots && s->merge.slots[slot].active ? &s->slots[slot] : NULL;
}

static int slots_fit(rg_stream *s)
{
    if (s->n_slots >= s->merge.n_slots)
        return 0;
    slot_state *p = realloc(s->slots, s->merge.n_slots * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = s->n_slots; i < s->merge.n_slots; i++) {
        rg_offset_track_init(&p[i].track, 0);
        p[i].committed = -1;
        p[i].paused = false;
    }
    s->slots = p;
    s->n_slots = s->merge.n_slots;
    return 0;
}

static size_t total_inflight(const rg_stream *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_slots; i++)
        n += rg_offset_track_inflight(&s->slots[i].track);
    return n;
}

static void drop_message(void *msg) { rd_kafka_message_destroy(msg); }

/* ---- producing ---- */

static void retry_push(rg_stream *s, rd_kafka_topic_t *rkt, const void *key, size_t key_len, const void *value,
                       size_t value_len, void *ticket)
{
    if (s->n_retries == s->cap_retries) {
        size_t cap = s->cap_retries ? s->cap_retries * 2 : 64;
        retry_record *p = realloc(s->retries, cap * sizeof *p);
        if (!p)
            goto oom;
        s->retries = p;
        s->cap_retries = cap;
    }
    retry_record *r = &s->retries[s->n_retries];
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
        s->retry_due_ms = mono_ms() + 500;
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
static void produce_tracked(rg_stream *s, rd_kafka_topic_t *rkt, const void *key, size_t key_len,
                            const void *value, size_t value_len)
{
    slot_state *ss = &s->slots[s->cur_slot];
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
                if (log_due(&s->last_queue_log_ms))
                    rg_log(RG_LOG_WARN, "producer queue full: consumption paused until the broker acknowledges",
                           "topic", rd_kafka_topic_name(rkt), NULL);
                s->queue_full = true;
            }
            rd_kafka_poll(s->producer, 100);
            continue;
        }
        if (log_due(&s->last_delivery_log_ms))
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
    slot_state *ss = slot_get(s, slot);
    if (!ss)
        return NULL;
    *seq = rg_offset_track_seq_from48(&ss->track, seq48);
    if (*seq < ss->track.base_seq || *seq >= ss->track.base_seq + ss->track.count)
        return NULL;
    return &ss->track;
}

static void retry_due(rg_stream *s, bool force)
{
    if (!s->n_retries || (!force && mono_ms() < s->retry_due_ms))
        return;
    size_t kept = 0;
    for (size_t i = 0; i < s->n_retries; i++) {
        retry_record *r = &s->retries[i];
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
    s->retry_due_ms = kept ? mono_ms() + 500 : 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    rg_stream *s = opaque;
    uint64_t seq;
    rg_offset_track *t = ticket_track(s, m->_private, &seq);
    if (m->err) {
        s->metrics.delivery_errors++;
        if (log_due(&s->last_delivery_log_ms))
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
    if (t && rg_offset_track_ack(t, seq, &msg_ts_ms) && m->rkt == s->actions_rkt && msg_ts_ms > 0)
        rg_metrics_latency(&s->metrics, (double)(wall_us() - msg_ts_ms * 1000) / 1e6);
}

/* rg_stream_output.decision: splice decided_at and produce, key = subject. */
static int out_decision(void *opaque, const char *subject, size_t subject_len, const char *json, size_t json_len,
                        const char *const *actions, size_t n_actions, const char *const *rule_ids, size_t n_rules)
{
    rg_stream *s = opaque;
    if (json_len < 2 || json[json_len - 1] != '}') {
        rg_log(RG_LOG_ERROR, "decision JSON does not end in '}'; not produced", NULL);
        return -1;
    }
    rg_strbuf_reset(&s->record);
    rg_strbuf_append(&s->record, json, json_len - 1);
    rg_strbuf_puts(&s->record, ",\"decided_at\":\"");
    rg_strbuf_put_utc_ms(&s->record, wall_us() / 1000);
    rg_strbuf_puts(&s->record, "\"}");
    if (!rg_strbuf_ok(&s->record)) {
        rg_log(RG_LOG_ERROR, "out of memory formatting a decision; stopping", NULL);
        s->fatal = true;
        return -1;
    }
    produce_tracked(s, s->actions_rkt, subject, subject_len, s->record.data, s->record.len);
    rg_metrics_decision(&s->metrics, actions, n_actions, rule_ids, n_rules);
    return 0;
}

/* ---- committing ---- */

static void note_committed(rg_stream *s, const rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &offsets->elems[i];
        if (p->err || p->offset < 0)
            continue;
        int slot = rg_merge_find_slot(&s->merge, p->partition);
        if (slot >= 0 && (size_t)slot < s->n_slots && p->offset > s->slots[slot].committed)
            s->slots[slot].committed = p->offset;
    }
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                      void *opaque)
{
    rg_stream *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err) {
        s->metrics.commit_errors++;
        if (log_due(&s->last_commit_log_ms))
            rg_log(RG_LOG_WARN, "offset commit failed; retried at the next interval", "error", rd_kafka_err2str(err),
                   NULL);
        return;
    }
    s->metrics.commits++;
    note_committed(s, offsets);
}

/* Commit the frontier of every held partition (or of `only`, partition
 * numbers) that moved since the last acknowledged commit. */
static void commit_frontiers(rg_stream *s, bool sync, const rd_kafka_topic_partition_list_t *only)
{
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        if (!s->merge.slots[i].active)
            continue;
        int32_t partition = s->merge.slots[i].partition;
        if (only && !rd_kafka_topic_partition_list_find(only, s->cfg.events_topic, partition))
            continue;
        int64_t f = rg_offset_track_frontier(&s->slots[i].track);
        if (f < 0 || f <= s->slots[i].committed)
            continue;
        rd_kafka_topic_partition_list_add(list, s->cfg.events_topic, partition)->offset = f;
    }
    if (list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(s->consumer, list, sync ? 0 : 1);
        if (sync) {
            if (err) {
                s->metrics.commit_errors++;
                rg_log(RG_LOG_WARN, "offset commit failed", "error", rd_kafka_err2str(err), NULL);
            } else {
                s->metrics.commits++;
                note_committed(s, list);
            }
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* ---- checkpoints ---- */

static int write_checkpoint(rg_stream *s)
{
    rg_checkpoint_offset *offs = calloc(s->n_slots ? s->n_slots : 1, sizeof *offs);
    if (!offs)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        if (!s->merge.slots[i].active)
            continue;
        int64_t f = rg_offset_track_frontier(&s->slots[i].track);
        if (f < 0)
            continue;
        offs[n].partition = s->merge.slots[i].partition;
        offs[n].next_offset = f;
        n++;
    }
    char err[512];
    int64_t now_wall = wall_us() / 1000;
    const char *ruleset = s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : NULL;
    int rc = rg_checkpoint_write(s->checkpoint, s->cfg.events_topic, offs, n, &s->proc.state, ruleset, now_wall, err,
                                 sizeof err);
    free(offs);
    if (rc != 0) {
        s->metrics.checkpoint_errors++;
        rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", err, NULL);
        return -1;
    }
    s->metrics.checkpoints++;
    s->metrics.last_checkpoint_ms = now_wall;
    return 0;
}

/* ---- rebalancing ---- */

static bool cooperative(rd_kafka_t *rk) { return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0; }

/* Wait (serving delivery reports) until the given slots have nothing in
 * flight, at most timeout_ms. */
static void await_slots(rg_stream *s, const int *slots, int n, int64_t timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        size_t inflight = 0;
        for (int i = 0; i < n; i++)
            if (slots[i] >= 0)
                inflight += rg_offset_track_inflight(&s->slots[slots[i]].track);
        if (inflight == 0 || mono_ms() >= deadline) {
            if (inflight)
                rg_log(RG_LOG_WARN, "partitions revoked with records still unacknowledged; their offsets stay "
                                    "uncommitted and the new owner re-reads them",
                       NULL);
            return;
        }
        rd_kafka_poll(s->producer, 20);
        retry_due(s, false);
    }
}

static void on_revoke(rg_stream *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    bool lost = rd_kafka_assignment_lost(rk);
    int *slots = calloc((size_t)(parts->cnt ? parts->cnt : 1), sizeof *slots);
    for (int i = 0; i < parts->cnt; i++) {
        int slot = rg_merge_find_slot(&s->merge, parts->elems[i].partition);
        if (slots)
            slots[i] = slot;
        /* Fetched but not yet taken: the next owner reads them from the
         * committed offset. */
        if (slot >= 0)
            rg_merge_discard(&s->merge, (unsigned)slot, drop_message);
    }
    if (!lost && slots) {
        /* "Commit what is done before partitions are revoked": let their
         * in-flight records be acknowledged, then commit synchronously. */
        await_slots(s, slots, parts->cnt, s->draining ? 1000 : 10000);
        commit_frontiers(s, true, parts);
    }
    for (int i = 0; slots && i < parts->cnt; i++) {
        if (slots[i] < 0 || (size_t)slots[i] >= s->n_slots)
            continue;
        slot_state *ss = &s->slots[slots[i]];
        rg_merge_drop_slot(&s->merge, (unsigned)slots[i], drop_message);
        rg_offset_track_free(&ss->track);   /* keeps the seq counter: stale reports are ignored */
        ss->committed = -1;
        ss->paused = false;
    }
    free(slots);
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    rg_log(lost ? RG_LOG_WARN : RG_LOG_INFO, lost ? "partitions lost (no commit)" : "partitions revoked",
           "count", n, NULL);
    s->metrics.rebalances++;
    if (cooperative(rk)) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e) {
            rg_log(RG_LOG_WARN, "incremental unassign failed", "error", rd_kafka_error_string(e), NULL);
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static void on_assign(rg_stream *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    char list[512];
    size_t at = 0;
    list[0] = '\0';
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int slot = rg_merge_add_slot(&s->merge, p->partition);
        if (slot < 0 || slots_fit(s) != 0) {
            rg_log(RG_LOG_ERROR, "out of memory taking a partition; stopping", NULL);
            s->fatal = true;
            break;
        }
        slot_state *ss = &s->slots[slot];
        rg_offset_track_free(&ss->track);
        ss->committed = -1;
        ss->paused = false;
        if (s->state_loaded && s->checkpoint) {
            /* The loaded state reflects events up to the checkpoint's
             * offset: resume exactly there, not at Kafka's committed
             * offset (which may be ahead). */
            int64_t next;
            char err[256];
            if (rg_checkpoint_get_offset(s->checkpoint, s->cfg.events_topic, p->partition, &next, err, sizeof err) ==
                0)
                p->offset = next;
        }
        if (at < sizeof list - 16)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", i ? "," : "", (int)p->partition);
    }
    rg_log(RG_LOG_INFO, "partitions assigned", "topic", s->cfg.events_topic, "partitions", list, NULL);
    s->metrics.rebalances++;
    if (cooperative(rk)) {
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e) {
            rg_log(RG_LOG_WARN, "incremental assign failed", "error", rd_kafka_error_string(e), NULL);
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(rk, parts);
    }
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    rg_stream *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(s, rk, parts);
    else
        on_revoke(s, rk, parts);
}

/* ---- client callbacks ---- */

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
    if (log_due(&s->last_consumer_log_ms))
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
    } fixed[] = {{"enable.auto.commit", "false"}, {"enable.auto.offset.store", "false"}, {"enable.idempotence", "true"}};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcmp(key, fixed[i].key) == 0 && strcmp(value, fixed[i].required) != 0) {
            snprintf(errstr, errstr_size,
                     "-X %s=%s: riskgate run needs %s=%s (commits follow delivery reports; see docs/streaming.md)",
                     key, value, fixed[i].key, fixed[i].required);
            return true;
        }
    return false;
}

/* Apply -X to conf for client kind ("consumer"/"producer"). */
static int apply_props(const rg_stream_config *cfg, rd_kafka_conf_t *conf, const char *kind, char *errstr,
                       size_t errstr_size)
{
    for (size_t i = 0; i < cfg->n_kafka_props; i++) {
        const char *kv = cfg->kafka_props[i];
        const char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(eq ? 0 : strcspn(kv, "=")), kv);
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
            if (strcmp(kind, "consumer") != 0)
                continue;
            k += 9;
        } else if (strncmp(k, "producer.", 9) == 0) {
            if (strcmp(kind, "producer") != 0)
                continue;
            k += 9;
        } else if (strcmp(kind, "producer") == 0 &&
                   (strcmp(k, "group.id") == 0 || strcmp(k, "partition.assignment.strategy") == 0 ||
                    strncmp(k, "auto.offset", 11) == 0 || strcmp(k, "isolation.level") == 0 ||
                    strncmp(k, "enable.auto", 11) == 0 || strncmp(k, "session.timeout", 15) == 0 ||
                    strncmp(k, "fetch.", 6) == 0 || strncmp(k, "max.poll", 8) == 0 ||
                    strncmp(k, "heartbeat", 9) == 0 || strncmp(k, "queued.", 7) == 0)) {
            continue;   /* consumer-only: do not make the producer warn about it */
        } else if (strcmp(kind, "consumer") == 0 &&
                   (strcmp(k, "enable.idempotence") == 0 || strcmp(k, "acks") == 0 ||
                    strncmp(k, "linger", 6) == 0 || strncmp(k, "queue.buffering", 15) == 0 ||
                    strcmp(k, "compression.type") == 0 || strcmp(k, "compression.codec") == 0 ||
                    strncmp(k, "message.timeout", 15) == 0 || strncmp(k, "batch.", 6) == 0 ||
                    strcmp(k, "retries") == 0 || strcmp(k, "message.send.max.retries") == 0)) {
            continue;
        }
        if (prop_forbidden(k, eq + 1, errstr, errstr_size))
            return -1;
        if (set_prop(conf, k, eq + 1, errstr, errstr_size) != 0)
            return -1;
    }
    return 0;
}

static rd_kafka_conf_t *base_conf(rg_stream *s, const char *kind, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const rg_stream_config *cfg = &s->cfg;
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
        {"enable.partition.eof", "false"},
        /* A subscribed topic that appears later is noticed within this. */
        {"topic.metadata.refresh.interval.ms", "10000"},
    },
      producer_defaults[] = {
          {"client.id", "riskgate"},
          {"enable.idempotence", "true"},
          {"acks", "all"},
          /* Decisions are latency-bound: batch for at most 1 ms. */
          {"linger.ms", "1"},
      };
    bool consumer = strcmp(kind, "consumer") == 0;
    size_t n = consumer ? sizeof consumer_defaults / sizeof *consumer_defaults
                        : sizeof producer_defaults / sizeof *producer_defaults;
    if (set_prop(conf, "bootstrap.servers", cfg->brokers, errstr, errstr_size) != 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const char *k = consumer ? consumer_defaults[i].k : producer_defaults[i].k;
        const char *v = consumer ? consumer_defaults[i].v : producer_defaults[i].v;
        if (set_prop(conf, k, v, errstr, errstr_size) != 0)
            goto fail;
    }
    if (apply_props(cfg, conf, kind, errstr, errstr_size) != 0)
        goto fail;
    rd_kafka_conf_set_opaque(conf, s);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    if (consumer) {
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
    } else {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    }
    return conf;
fail:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- merge glue ---- */

static int prepare_head(void *opaque, unsigned slot, const rg_merge_item *item, int64_t *ts_ms)
{
    rg_stream *s = opaque;
    const rd_kafka_message_t *m = item->msg;
    return s->proc.prepare(s->proc.opaque, slot, m->payload, m->len, ts_ms);
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
    if (s->cfg.backlog_wait_ms <= 0)
        s->cfg.backlog_wait_ms = s->cfg.max_idle_ms * 20 > 1000 ? s->cfg.max_idle_ms * 20 : 1000;
    if (!s->cfg.partition_buffer_max)
        s->cfg.partition_buffer_max = 20000;
    s->proc = *proc;
    s->output.opaque = s;
    s->output.decision = out_decision;
    rg_merge_init(&s->merge, s->cfg.max_idle_ms, s->cfg.backlog_wait_ms, prepare_head, s);
    if (rg_metrics_init(&s->metrics) != 0) {
        *err = RG_STREAM_ERR_RUNTIME;
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    s->metrics_ready = true;

    char why[512];
    rd_kafka_conf_t *pconf = base_conf(s, "producer", errstr, errstr_size);
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
    rd_kafka_conf_t *cconf = base_conf(s, "consumer", errstr, errstr_size);
    if (!cconf)
        goto fail;
    s->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, why, sizeof why);
    if (!s->consumer) {
        rd_kafka_conf_destroy(cconf);
        snprintf(errstr, errstr_size, "consumer: %s", why);
        goto fail;
    }
    rd_kafka_poll_set_consumer(s->consumer);
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
        int rc = rg_checkpoint_load_state(s->checkpoint, &s->proc.state, &saved_at, errstr, errstr_size);
        if (rc < 0)
            goto fail;
        s->state_loaded = rc == 1;
        if (s->state_loaded) {
            char at[32];
            fmt_i64(at, sizeof at, saved_at);
            rg_log(RG_LOG_INFO, "state loaded from checkpoint; partitions resume at its offsets", "saved_at_ms", at,
                   NULL);
        }
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

void rg_stream_free(rg_stream *s)
{
    if (!s)
        return;
    /* Stop the HTTP thread first: it reads the published metrics. */
    if (s->metrics_ready && s->metrics.httpd) {
        /* rg_metrics_free stops it below. */
    }
    rg_merge_free(&s->merge, drop_message);
    if (s->actions_rkt)
        rd_kafka_topic_destroy(s->actions_rkt);
    if (s->deadletter_rkt)
        rd_kafka_topic_destroy(s->deadletter_rkt);
    if (s->consumer)
        rd_kafka_destroy(s->consumer);
    if (s->producer) {
        /* Outstanding records (only after a failed drain) are purged; their
         * offsets were never committed. */
        rd_kafka_purge(s->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        s->draining = true;
        rd_kafka_poll(s->producer, 0);
        rd_kafka_destroy(s->producer);
    }
    for (size_t i = 0; i < s->n_retries; i++) {
        free(s->retries[i].key);
        free(s->retries[i].value);
    }
    free(s->retries);
    for (size_t i = 0; i < s->n_slots; i++)
        rg_offset_track_free(&s->slots[i].track);
    free(s->slots);
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
}

/* ---- the loop ---- */

static void take_message(rg_stream *s, rd_kafka_message_t *m)
{
    if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            return;
        }
        if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
            if (!s->events_topic_missing)
                rg_log(RG_LOG_WARN, "events topic not available; waiting for it", "topic", s->cfg.events_topic,
                       "error", rd_kafka_message_errstr(m), NULL);
            s->events_topic_missing = true;
        } else if (log_due(&s->last_consumer_log_ms)) {
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
    rg_merge_item it = {m, m->offset, rd_kafka_message_timestamp(m, &tstype)};
    if (rg_merge_push(&s->merge, (unsigned)slot, &it) != 0) {
        rg_log(RG_LOG_ERROR, "out of memory buffering a message; stopping", NULL);
        rd_kafka_message_destroy(m);
        s->fatal = true;
        return;
    }
    slot_state *ss = &s->slots[slot];
    if (!ss->paused && s->merge.slots[slot].count >= s->cfg.partition_buffer_max) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, s->cfg.events_topic, m->partition);
        rd_kafka_pause_partitions(s->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
        ss->paused = true;
    }
}

static void poll_consumer(rg_stream *s, int timeout_ms)
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
    slot_state *ss = &s->slots[slot];
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
    slot_state *ss = &s->slots[slot];
    uint64_t seq = rg_offset_track_begin(&ss->track, it.offset, it.msg_ts_ms);
    if (seq == UINT64_MAX) {
        rg_log(RG_LOG_ERROR, "out of memory tracking an event; stopping", NULL);
        rd_kafka_message_destroy(m);
        s->fatal = true;
        return;
    }
    s->cur_slot = slot;
    s->cur_seq = seq;
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
            produce_tracked(s, s->deadletter_rkt, m->key, m->key_len, s->deadletter.data, s->deadletter.len);
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

static void refresh_watermarks(rg_stream *s)
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

typedef enum step_result { STEP_IDLE, STEP_WAIT, STEP_MORE, STEP_BLOCKED } step_result;

static step_result process_some(rg_stream *s, int64_t *wait_ms)
{
    for (int n = 0; n < 5000; n++) {
        if (s->fatal || s->checkpoint_pending)
            return STEP_BLOCKED;
        /* Hysteresis: pause at the high-water mark, resume at half of
         * it, so a slow broker gives one pause episode, not one per event. */
        size_t outq = (size_t)rd_kafka_outq_len(s->producer);
        if (outq >= s->outq_high || (s->queue_full && outq > s->outq_high / 2)) {
            if (!s->queue_full) {
                s->metrics.producer_queue_full++;
                if (log_due(&s->last_queue_log_ms))
                    rg_log(RG_LOG_WARN, "producer queue full: consumption paused until the broker acknowledges",
                           NULL);
                s->queue_full = true;
            }
            return STEP_BLOCKED;
        }
        if (s->queue_full) {
            rg_log(RG_LOG_DEBUG, "producer queue drained: consumption resumed", NULL);
            s->queue_full = false;
        }
        unsigned slot;
        bool late = false;
        rg_merge_result r = rg_merge_next(&s->merge, mono_ms(), &slot, wait_ms, &late);
        if (r == RG_MERGE_IDLE)
            return STEP_IDLE;
        if (r == RG_MERGE_WAIT) {
            refresh_watermarks(s);
            return STEP_WAIT;
        }
        process_one(s, slot, late);
    }
    return STEP_MORE;
}

static void publish(rg_stream *s, int64_t now)
{
    rg_partition_lag lags[256];
    size_t n = 0;
    refresh_watermarks(s);
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
    s->metrics.merge_enforced = s->merge.enforced;
    s->metrics.inflight_events = total_inflight(s);
    s->metrics.buffered_messages = rg_merge_buffered(&s->merge);
    rg_metrics_publish(&s->metrics, wall_us() / 1000);
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
        commit_frontiers(s, false, NULL);
        s->last_commit_ms = now;
    }
    if (s->checkpoint) {
        if (!s->checkpoint_pending && now - s->last_checkpoint_ms >= s->cfg.checkpoint_interval_ms) {
            /* Quiesce: take no new event until everything taken is
             * acknowledged, so state and offsets describe one point. */
            s->checkpoint_pending = true;
            s->checkpoint_wait_since_ms = now;
        }
        if (s->checkpoint_pending) {
            if (total_inflight(s) == 0 && s->n_retries == 0) {
                if (write_checkpoint(s) == 0)
                    commit_frontiers(s, false, NULL);
                s->checkpoint_pending = false;
                s->last_checkpoint_ms = now;
            } else if (now - s->checkpoint_wait_since_ms > 5000) {
                rg_log(RG_LOG_WARN, "checkpoint postponed: records still unacknowledged after 5 s", NULL);
                s->checkpoint_pending = false;
                s->last_checkpoint_ms = now;
            }
        }
    }
    if (now - s->last_publish_ms >= 1000)
        publish(s, now);
}

static int drain(rg_stream *s)
{
    s->draining = true;
    char n[32];
    fmt_i64(n, sizeof n, (int64_t)total_inflight(s));
    rg_log(RG_LOG_INFO, "draining: waiting for every decision to be acknowledged", "inflight_events", n, NULL);
    int64_t deadline = mono_ms() + s->cfg.drain_timeout_ms;
    while ((total_inflight(s) > 0 || s->n_retries > 0) && mono_ms() < deadline && !s->fatal) {
        rd_kafka_poll(s->producer, 20);
        retry_due(s, false);
        /* Keep serving the group (commit callbacks, heartbeats happen in
         * the background); fetched messages just wait in the buffers. */
        poll_consumer(s, 0);
    }
    bool complete = total_inflight(s) == 0 && s->n_retries == 0;
    commit_frontiers(s, true, NULL);
    if (complete && s->checkpoint)
        write_checkpoint(s);
    if (!complete) {
        fmt_i64(n, sizeof n, (int64_t)total_inflight(s));
        rg_log(RG_LOG_ERROR,
               "drain incomplete: records still unacknowledged; their offsets are not committed and are re-read on "
               "restart",
               "inflight_events", n, NULL);
    }
    rd_kafka_consumer_close(s->consumer);
    publish(s, mono_ms());
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
    char idle[32];
    fmt_i64(idle, sizeof idle, s->cfg.max_idle_ms);
    rg_log(RG_LOG_INFO, "running", "brokers", s->cfg.brokers, "group", s->cfg.group, "events", s->cfg.events_topic,
           "actions", s->cfg.actions_topic, "deadletter", s->cfg.deadletter_topic, "max_idle_ms", idle, "ruleset",
           s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : "", NULL);
    int64_t now = mono_ms();
    s->last_commit_ms = s->last_publish_ms = s->last_checkpoint_ms = now;
    publish(s, now);
    step_result last = STEP_IDLE;
    int64_t wait_ms = 0;
    while (!*stop && !s->fatal) {
        if (reload && *reload) {
            *reload = 0;
            do_reload(s);
        }
        int timeout;
        bool busy = total_inflight(s) > 0 || s->n_retries > 0;
        if (last == STEP_MORE)
            timeout = 0;
        else if (last == STEP_WAIT)
            timeout = (int)(wait_ms < 5 ? wait_ms : 5);
        else if (busy || last == STEP_BLOCKED)
            timeout = 0;
        else
            timeout = 100;
        poll_consumer(s, timeout);
        rd_kafka_poll(s->producer, busy && last != STEP_MORE ? 1 : 0);
        retry_due(s, false);
        last = process_some(s, &wait_ms);
        periodic(s, mono_ms());
    }
    return drain(s);
}
