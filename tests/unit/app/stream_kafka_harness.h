/*
 * stream_kafka_harness — what the streaming runner's Kafka tests
 * (test_stream_*.c) share: librdkafka's mock cluster (rdkafka_mock.h), a
 * fake processor so the Kafka plumbing is tested on its own, the test's
 * own producer ("the ledger") and readers, the runner in a thread, and the
 * invariant checked continuously from outside: no committed offset passes
 * an event whose decisions are not on the action topic.
 *
 * Fake events: value "TS|EVENT_ID|SUBJ1,SUBJ2,..." (empty subject list: no
 * decision); a value without '|' is a reject. Each subject gets one
 * decision {"decision_id":"EVENT_ID/SUBJ",...}.
 *
 * Nothing here asserts on timing: faults are held for a while to make them
 * bite, and every wait is a poll with a generous deadline.
 *
 * Header-only (static inline) because every tests/unit/app/test_*.c is one
 * program built from one file; include it once per test program.
 */
#ifndef RG_TEST_STREAM_KAFKA_HARNESS_H
#define RG_TEST_STREAM_KAFKA_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/strmap.h"
#include "decisions/engine.h"
#include "stream/log.h"
#include "stream/run.h"

#define EVENTS "t.events"
#define ACTIONS "t.actions"
#define DEADLETTER "t.deadletter"

static inline int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- the fake processor ---- */

typedef struct fake_slot {
    bool is_event;
    int64_t ts;
    char id[64];
    char subjects[256];
} fake_slot;

typedef struct fake_proc {
    fake_slot slots[64];
    bool alerts;                /* hand every decision to out->alert too (--alerts) */
    /* The fake state (--state): per events partition, how many messages
     * were processed and the highest offset, from the source string
     * "topic/partition/offset". Engine thread only. */
    int64_t state_count[8], state_max[8];
    pthread_mutex_t lock;       /* order[] is read by the test thread */
    int64_t *order_ts;
    size_t n_order, cap_order;
} fake_proc;

static inline int fake_prepare(void *opaque, unsigned slot, const void *value, size_t len, int64_t *ts_ms)
{
    fake_proc *fp = opaque;
    fake_slot *s = &fp->slots[slot % 64];
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < 500 ? len : 500), value ? (const char *)value : "");
    char *bar1 = strchr(buf, '|');
    char *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
    s->is_event = bar1 && bar2;
    if (!s->is_event)
        return 0;
    *bar1 = *bar2 = '\0';
    s->ts = strtoll(buf, NULL, 10);
    snprintf(s->id, sizeof s->id, "%s", bar1 + 1);
    snprintf(s->subjects, sizeof s->subjects, "%s", bar2 + 1);
    *ts_ms = s->ts;
    return 1;
}

static inline rg_stream_outcome fake_process(void *opaque, unsigned slot, const char *source, const void *value,
                                             size_t len, const rg_stream_output *out, rg_strbuf *deadletter,
                                             const char **reject_kind)
{
    fake_proc *fp = opaque;
    fake_slot *s = &fp->slots[slot % 64];
    const char *slash = strchr(source, '/');
    int partition = slash ? atoi(slash + 1) : -1;
    const char *off = slash ? strchr(slash + 1, '/') : NULL;
    if (partition >= 0 && partition < 8 && off) {
        fp->state_count[partition]++;
        fp->state_max[partition] = strtoll(off + 1, NULL, 10);
    }
    if (!s->is_event) {
        rg_strbuf_printf(deadletter, "{\"error\":\"not a fake event\",\"source\":\"%s\"}", source);
        *reject_kind = "invalid_json";
        return RG_STREAM_REJECTED;
    }
    pthread_mutex_lock(&fp->lock);
    if (fp->n_order == fp->cap_order) {
        fp->cap_order = fp->cap_order ? fp->cap_order * 2 : 1024;
        fp->order_ts = realloc(fp->order_ts, fp->cap_order * sizeof *fp->order_ts);
    }
    fp->order_ts[fp->n_order++] = s->ts;
    pthread_mutex_unlock(&fp->lock);
    char subjects[256];
    snprintf(subjects, sizeof subjects, "%s", s->subjects);
    char *save = NULL;
    for (char *subj = strtok_r(subjects, ",", &save); subj; subj = strtok_r(NULL, ",", &save)) {
        char json[512];
        int n = snprintf(json, sizeof json, "{\"decision_id\":\"%s/%s\",\"event_id\":\"%s\",\"subject\":\"%s\"}",
                         s->id, subj, s->id, subj);
        const char *acts[] = {"freeze"};
        const char *rules[] = {"fake_rule"};
        if (fp->alerts && out->alert) {
            char did[128];
            snprintf(did, sizeof did, "%s/%s", s->id, subj);
            rg_decision d = {.decision_id = did, .event_id = s->id, .subject = subj,
                             .event_type = RG_EV_TRANSFER, .ts_ms = s->ts, .actions = RG_ACT_BIT(RG_ACT_FREEZE),
                             .ruleset = "fake", .json = json, .json_len = (size_t)n,
                             .event_raw = (const char *)value, .event_raw_len = len, .emit = true};
            if (out->alert(out->opaque, &d) != 0)
                return RG_STREAM_FAILED;
        }
        if (out->decision(out->opaque, subj, strlen(subj), json, (size_t)n, acts, 1, rules, 1) != 0)
            return RG_STREAM_FAILED;
    }
    return RG_STREAM_EVALUATED;
}

/* The fake state's codec: "count,max;" per partition. */
static inline int fake_save(void *opaque, rg_strbuf *out, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    fake_proc *fp = opaque;
    for (int p = 0; p < 8; p++)
        rg_strbuf_printf(out, "%lld,%lld;", (long long)fp->state_count[p], (long long)fp->state_max[p]);
    return 0;
}

static inline int fake_load(void *opaque, const void *bytes, size_t len, char *errstr, size_t errstr_size)
{
    fake_proc *fp = opaque;
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)(len < sizeof buf - 1 ? len : sizeof buf - 1), (const char *)bytes);
    const char *at = buf;
    for (int p = 0; p < 8; p++) {
        long long c, m;
        int used = 0;
        if (sscanf(at, "%lld,%lld;%n", &c, &m, &used) != 2 || !used) {
            snprintf(errstr, errstr_size, "fake state: bad bytes");
            return -1;
        }
        fp->state_count[p] = c;
        fp->state_max[p] = m;
        at += used;
    }
    return 0;
}

static inline void fake_init(fake_proc *fp, rg_stream_processor *p)
{
    memset(fp, 0, sizeof *fp);
    pthread_mutex_init(&fp->lock, NULL);
    memset(p, 0, sizeof *p);
    p->opaque = fp;
    p->prepare = fake_prepare;
    p->process = fake_process;
}

static inline void fake_free(fake_proc *fp)
{
    free(fp->order_ts);
    pthread_mutex_destroy(&fp->lock);
}

/* ---- the cluster and the test's own clients ---- */

typedef struct harness {
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
    rd_kafka_t *producer;       /* the "ledger" */
    rd_kafka_t *reader;         /* reads the action and dead-letter topics */
    rd_kafka_t *checker;        /* reads the group's committed offsets */
    rg_strmap *expected;        /* decision_id -> int: seen count */
    size_t n_expected, n_seen_distinct, n_duplicates;
    size_t n_deadletters;
    /* per events partition: offset -> decision ids expected (for the invariant) */
    struct {
        int64_t offset;
        char ids[128];
        int partition;
    } * produced;
    size_t n_produced, cap_produced;
    int64_t end_offset[8];      /* next offset after the last produced event, per partition */
    bool actions_unreadable;    /* the action topic's broker is down: the check waits */
    bool hold_completion;       /* a fault hook still has work to do */
    char group[64];
} harness;

static inline void on_produced(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    harness *h = opaque;
    assert_int_equal(m->err, 0);
    size_t i = (size_t)(uintptr_t)m->_private;
    h->produced[i].offset = m->offset;
    h->produced[i].partition = m->partition;
    if (m->offset + 1 > h->end_offset[m->partition])
        h->end_offset[m->partition] = m->offset + 1;
}

static inline void harness_up(harness *h, const char *group, bool create_actions, bool create_events)
{
    memset(h, 0, sizeof *h);
    snprintf(h->group, sizeof h->group, "%s", group);
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    h->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(h->mock_rk);
    h->mc = rd_kafka_mock_cluster_new(h->mock_rk, 3);
    assert_non_null(h->mc);
    h->bootstrap = rd_kafka_mock_cluster_bootstraps(h->mc);
    if (create_events)
        assert_int_equal(rd_kafka_mock_topic_create(h->mc, EVENTS, 3, 3), 0);
    if (create_actions) {
        assert_int_equal(rd_kafka_mock_topic_create(h->mc, ACTIONS, 3, 3), 0);
        assert_int_equal(rd_kafka_mock_topic_create(h->mc, DEADLETTER, 1, 3), 0);
    }
    /* Events on brokers 1 and 2, decisions and dead letters on 3, the
     * group coordinator on 1: faults can hit one path at a time. */
    if (create_events) {
        rd_kafka_mock_partition_set_leader(h->mc, EVENTS, 0, 1);
        rd_kafka_mock_partition_set_leader(h->mc, EVENTS, 1, 2);
        rd_kafka_mock_partition_set_leader(h->mc, EVENTS, 2, 1);
    }
    if (create_actions) {
        for (int p = 0; p < 3; p++)
            rd_kafka_mock_partition_set_leader(h->mc, ACTIONS, p, 3);
        rd_kafka_mock_partition_set_leader(h->mc, DEADLETTER, 0, 3);
    }
    rd_kafka_mock_coordinator_set(h->mc, "group", group, 1);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_conf_set_opaque(conf, h);
    rd_kafka_conf_set_dr_msg_cb(conf, on_produced);
    h->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(h->producer);
    h->expected = rg_strmap_new(sizeof(int));
}

/* Produce an event (partition chosen by hand from the account, so the
 * test knows where it lands). subjects: comma list or "". */
static inline void produce_event(harness *h, int partition, int64_t ts, const char *id, const char *subjects,
                          int64_t msg_ts)
{
    if (h->n_produced == h->cap_produced) {
        h->cap_produced = h->cap_produced ? h->cap_produced * 2 : 1024;
        h->produced = realloc(h->produced, h->cap_produced * sizeof *h->produced);
    }
    size_t i = h->n_produced++;
    h->produced[i].offset = -1;
    h->produced[i].ids[0] = '\0';
    char value[256];
    int n;
    if (ts < 0) {
        n = snprintf(value, sizeof value, "not an event %s", id);
    } else {
        n = snprintf(value, sizeof value, "%lld|%s|%s", (long long)ts, id, subjects);
        char subj[256];
        snprintf(subj, sizeof subj, "%s", subjects);
        char *save = NULL;
        size_t at = 0;
        for (char *s = strtok_r(subj, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
            char did[128];
            snprintf(did, sizeof did, "%s/%s", id, s);
            bool created = false;
            rg_strmap_put(h->expected, did, strlen(did), &created);
            if (created)
                h->n_expected++;
            at += (size_t)snprintf(h->produced[i].ids + at, sizeof h->produced[i].ids - at, "%s;", did);
        }
    }
    rd_kafka_resp_err_t err;
    do {
        err = rd_kafka_producev(h->producer, RD_KAFKA_V_TOPIC(EVENTS), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_KEY(id, strlen(id)), RD_KAFKA_V_VALUE(value, (size_t)n),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(msg_ts),
                                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(h->producer, 10);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    assert_int_equal(err, 0);
}

static inline void produced_flush(harness *h)
{
    assert_int_equal(rd_kafka_flush(h->producer, 30000), 0);
}

/* The test's reader of the action and dead-letter topics (assigned, no group). */
static inline void reader_start(harness *h)
{
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", "test-reader", err, sizeof err);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "500", err, sizeof err);
    /* The mock answers an empty Fetch only after fetch.wait.max.ms, even
     * when records arrive meanwhile (docs/bench-stream.md): keep the
     * reader's view of the action topic a few ms behind, not 500. */
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);
    h->reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(h->reader);
    rd_kafka_poll_set_consumer(h->reader);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(l, ACTIONS, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_add(l, DEADLETTER, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(h->reader, l), 0);
    rd_kafka_topic_partition_list_destroy(l);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", h->group, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    h->checker = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(h->checker);
}

static inline void reader_take(harness *h, int timeout_ms)
{
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(h->reader, timeout_ms)) != NULL) {
        timeout_ms = 0;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        if (strcmp(rd_kafka_topic_name(m->rkt), DEADLETTER) == 0) {
            h->n_deadletters++;
        } else {
            const char *p = memmem(m->payload, m->len, "\"decision_id\":\"", 15);
            assert_non_null(p);
            p += 15;
            const char *q = memchr(p, '"', m->len - (size_t)(p - (const char *)m->payload));
            assert_non_null(q);
            /* decided_at spliced in before the final '}' */
            assert_non_null(memmem(m->payload, m->len, ",\"decided_at\":\"", 15));
            int *seen = rg_strmap_get(h->expected, p, (size_t)(q - p));
            if (!seen)
                fail_msg("unexpected decision %.*s", (int)(q - p), p);
            if ((*seen)++ == 0)
                h->n_seen_distinct++;
            else
                h->n_duplicates++;
        }
        rd_kafka_message_destroy(m);
    }
}

/* Read everything acknowledged so far: up to the topics' current end. */
static inline void reader_catch_up(harness *h)
{
    int64_t hi[4] = {0};
    for (int p = 0; p < 4; p++) {
        int64_t lo;
        const char *t = p < 3 ? ACTIONS : DEADLETTER;
        if (rd_kafka_query_watermark_offsets(h->reader, t, p < 3 ? p : 0, &lo, &hi[p], 1000) != 0)
            hi[p] = -1;
    }
    int64_t deadline = now_ms() + 3000;
    for (;;) {
        reader_take(h, 20);
        rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(4);
        for (int p = 0; p < 3; p++)
            rd_kafka_topic_partition_list_add(pos, ACTIONS, p);
        rd_kafka_topic_partition_list_add(pos, DEADLETTER, 0);
        rd_kafka_position(h->reader, pos);
        bool done = true;
        for (int p = 0; p < 4; p++)
            if (hi[p] > 0 && pos->elems[p].offset < hi[p])
                done = false;
        rd_kafka_topic_partition_list_destroy(pos);
        if (done || now_ms() > deadline)
            return;
    }
}

/* The first decision id of produced record i that the reader has not seen
 * on the action topic (a pointer into buf), or NULL when all are there. */
static inline const char *undelivered_decision(harness *h, size_t i, char *buf, size_t buf_size)
{
    snprintf(buf, buf_size, "%s", h->produced[i].ids);
    char *save = NULL;
    for (char *id = strtok_r(buf, ";", &save); id; id = strtok_r(NULL, ";", &save)) {
        int *seen = rg_strmap_get(h->expected, id, strlen(id));
        if (!seen || *seen == 0)
            return id;
    }
    return NULL;
}

/* The invariant: for every events partition, every event below the
 * group's committed offset has all its decisions on the action topic.
 * Returns the number of partitions fully committed (== end offset). */
static inline int check_invariant(harness *h)
{
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(c, EVENTS, p);
    if (h->actions_unreadable || rd_kafka_committed(h->checker, c, 1000) != 0) {
        rd_kafka_topic_partition_list_destroy(c);
        return 0;   /* coordinator unreachable right now: nothing to check */
    }
    /* Offsets were committed after their decisions were acknowledged, so
     * reading to the current end sees them all. */
    reader_catch_up(h);
    int complete = 0;
    for (int p = 0; p < 3; p++) {
        int64_t committed = c->elems[p].offset;
        if (c->elems[p].err || committed < 0)
            continue;
        for (size_t i = 0; i < h->n_produced; i++) {
            if (h->produced[i].partition != p || h->produced[i].offset >= committed)
                continue;
            char ids[128];
            const char *id = undelivered_decision(h, i, ids, sizeof ids);
            if (id)
                fail_msg("partition %d committed at %lld but decision %s (offset %lld) is not on the action topic",
                         p, (long long)committed, id, (long long)h->produced[i].offset);
        }
        if (committed >= h->end_offset[p])
            complete++;
    }
    rd_kafka_topic_partition_list_destroy(c);
    return complete;
}

static inline void harness_down(harness *h)
{
    if (h->reader) {
        rd_kafka_consumer_close(h->reader);
        rd_kafka_destroy(h->reader);
    }
    if (h->checker)
        rd_kafka_destroy(h->checker);
    rd_kafka_destroy(h->producer);
    rd_kafka_mock_cluster_destroy(h->mc);
    rd_kafka_destroy(h->mock_rk);
    rg_strmap_free(h->expected, NULL);
    free(h->produced);
}

/* ---- the runner in a thread ---- */

typedef struct runner {
    pthread_t thread;
    rg_stream *stream;
    volatile sig_atomic_t stop, reload;
    int rc;
    fake_proc fp;
    rg_stream_processor proc;
    rg_stream_counts counts;    /* as rg_stream_run left them (runner_stop) */
} runner;

static inline void *runner_main(void *arg)
{
    runner *r = arg;
    r->rc = rg_stream_run(r->stream, &r->stop, &r->reload);
    return NULL;
}

/* What a test may set beyond the defaults below (NULL: nothing). */
typedef struct runner_opts {
    const char *alerts_path;    /* --alerts; the fake processor then hands decisions to the store */
    const char *state_dir;      /* --state; the fake processor then keeps its fake state there */
    int64_t checkpoint_interval_ms;   /* 0: the default */
} runner_opts;

static inline void runner_start_opts(runner *r, harness *h, const char *const *props, size_t n_props,
                                     int64_t max_idle_ms, const runner_opts *opts)
{
    memset(r, 0, sizeof *r);
    fake_init(&r->fp, &r->proc);
    rg_stream_config cfg;
    rg_stream_config_init(&cfg);
    cfg.brokers = h->bootstrap;
    cfg.group = h->group;
    cfg.events_topic = EVENTS;
    cfg.actions_topic = ACTIONS;
    cfg.deadletter_topic = DEADLETTER;
    /* RG_TEST_X adds one -X property to every runner (e.g. to try another
     * assignor or turn on librdkafka debug contexts). */
    static const char *all_props[16];
    size_t n_all = 0;
    for (size_t i = 0; i < n_props && n_all < 15; i++)
        all_props[n_all++] = props[i];
    if (getenv("RG_TEST_X"))
        all_props[n_all++] = getenv("RG_TEST_X");
    cfg.kafka_props = all_props;
    cfg.n_kafka_props = n_all;
    cfg.max_idle_ms = max_idle_ms;
    /* A partition that may still hold older events is waited for this
     * long: generous, so merge order never depends on how fast a fetch is;
     * it costs nothing when partitions are caught up. */
    cfg.max_wait_ms = 10000;
    cfg.commit_interval_ms = 100;
    cfg.drain_timeout_ms = 30000;
    if (opts && opts->alerts_path) {
        cfg.alerts_path = opts->alerts_path;
        r->fp.alerts = true;
    }
    if (opts && opts->state_dir) {
        cfg.state_dir = opts->state_dir;
        r->proc.state.opaque = &r->fp;
        r->proc.state.save = fake_save;
        r->proc.state.load = fake_load;
    }
    if (opts && opts->checkpoint_interval_ms)
        cfg.checkpoint_interval_ms = opts->checkpoint_interval_ms;
    char err[512];
    rg_stream_error se;
    r->stream = rg_stream_new(&cfg, &r->proc, &se, err, sizeof err);
    if (!r->stream)
        fail_msg("rg_stream_new: %s", err);
    assert_int_equal(pthread_create(&r->thread, NULL, runner_main, r), 0);
}

static inline void runner_start(runner *r, harness *h, const char *const *props, size_t n_props, int64_t max_idle_ms)
{
    runner_start_opts(r, h, props, n_props, max_idle_ms, NULL);
}

static inline int runner_stop(runner *r)
{
    r->stop = 1;
    pthread_join(r->thread, NULL);
    rg_stream_get_counts(r->stream, &r->counts);
    rg_stream_free(r->stream);
    fake_free(&r->fp);
    return r->rc;
}

/* Wait until every expected decision was read and every partition is
 * committed to its end, checking the invariant all along; `during` runs
 * once per round (fault injection), with the round number. */
static inline void await_all(harness *h, int64_t timeout_ms, void (*during)(harness *, int round, void *), void *arg)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (int round = 0;; round++) {
        if (during)
            during(h, round, arg);
        int complete = check_invariant(h);
        if (getenv("RG_TEST_VERBOSE"))
            fprintf(stderr, "round %d t=%lld complete=%d seen=%zu/%zu\n", round, (long long)now_ms(), complete,
                    h->n_seen_distinct, h->n_expected);
        if (complete == 3 && h->n_seen_distinct == h->n_expected && !h->hold_completion)
            return;
        if (now_ms() > deadline)
            fail_msg("timed out: %zu/%zu decisions seen, %d/3 partitions committed to the end", h->n_seen_distinct,
                     h->n_expected, complete);
        sleep_ms(50);
    }
}

/* A workload: n events over the first `parts` partitions, event time
 * increasing overall, every third event with one decision, every seventh
 * with two, some rejects. msg timestamps follow publication order. */
static inline void produce_workload_on(harness *h, int first, int n, int reject_every, int parts)
{
    for (int i = first; i < first + n; i++) {
        char id[32], subj[64];
        snprintf(id, sizeof id, "e-%06d", i);
        subj[0] = '\0';
        if (i % 3 == 0)
            snprintf(subj, sizeof subj, "u-%d", i % 50);
        if (i % 7 == 0)
            snprintf(subj, sizeof subj, "u-%d,c-%d", i % 50, i % 11);
        int64_t ts = reject_every && i % reject_every == 5 ? -1 : 1700000000000LL + (int64_t)i * 10;
        produce_event(h, i % parts, ts, id, subj, 1700000000000LL + i);
    }
    produced_flush(h);
}

/* The same over 3 partitions. */
static inline void produce_workload(harness *h, int first, int n, int reject_every)
{
    produce_workload_on(h, first, n, reject_every, 3);
}

/* ---- tests ---- */

/* Runner logs go to stderr at warn and above (faults say what is wrong);
 * RG_TEST_VERBOSE turns on debug, RG_TEST_FILTER picks tests by name. */
static inline void harness_main_setup(void)
{
    rg_log_set_level(getenv("RG_TEST_VERBOSE") ? RG_LOG_DEBUG : RG_LOG_WARN);
    if (getenv("RG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("RG_TEST_FILTER"));
}

#endif
