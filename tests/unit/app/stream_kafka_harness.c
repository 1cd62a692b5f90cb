/*
 * stream_kafka_harness.c — the harness proper (stream_kafka_harness.h):
 * the mock cluster and its topics, the workload producer and the reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/binio.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "stages/record.h"
#include "stages/stage.h"
#include "stream_kafka_harness.h"

int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

void src_key(char *buf, size_t n, int32_t partition, int64_t offset)
{
    snprintf(buf, n, "%d/%lld", (int)partition, (long long)offset);
}

static void count_src(rg_strmap *m, int32_t partition, int64_t offset)
{
    char k[48];
    src_key(k, sizeof k, partition, offset);
    bool created = false;
    int *c = rg_strmap_put(m, k, strlen(k), &created);
    assert_non_null(c);
    if (created)
        *c = 0;
    (*c)++;
}

bool has_src(const rg_strmap *m, int32_t partition, int64_t offset)
{
    char k[48];
    src_key(k, sizeof k, partition, offset);
    return rg_strmap_get(m, k, strlen(k)) != NULL;
}

static void rec_add(rec_list *l, int64_t offset, int32_t sp, int64_t so)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n++] = (rec_seen){offset, sp, so};
}

static void on_produced(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    harness *h = opaque;
    if (m->err) {
        fprintf(stderr, "test producer: %s\n", rd_kafka_err2str(m->err));
        h->produce_errors++;
        return;
    }
    if (strcmp(rd_kafka_topic_name(m->rkt), EVENTS) != 0)
        return;   /* a record a test wrote elsewhere (<group>.state) */
    size_t i = (size_t)(uintptr_t)m->_private;
    h->ev[i].offset = m->offset;
    h->ev[i].partition = m->partition;
    if (m->offset + 1 > h->end_offset[m->partition])
        h->end_offset[m->partition] = m->offset + 1;
    char k[48];
    src_key(k, sizeof k, m->partition, m->offset);
    size_t *slot = rg_strmap_put(h->by_src, k, strlen(k), NULL);
    assert_non_null(slot);
    *slot = i;
}

static void free_decision_seen(void *v) { free(((decision_seen *)v)->body); }

void expect_decision(harness *h, const char *id)
{
    bool created = false;
    decision_seen *d = rg_strmap_put(h->expected, id, strlen(id), &created);
    assert_non_null(d);
    assert_true(created);
    memset(d, 0, sizeof *d);
    h->n_expected++;
}

int seen_count(harness *h, const char *id)
{
    decision_seen *d = rg_strmap_get(h->expected, id, strlen(id));
    return d ? d->count : 0;
}

static void create_topic(harness *h, const char *name, int partitions, int broker)
{
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, name, partitions, 3), 0);
    for (int p = 0; p < partitions; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(h->mc, name, p, broker), 0);
    (void)h;
}

void harness_up_with(harness *h, const char *group, int internal_partitions)
{
    memset(h, 0, sizeof *h);
    snprintf(h->group, sizeof h->group, "%s", group);
    snprintf(h->topics[0], sizeof h->topics[0], "%s", EVENTS);
    snprintf(h->topics[1], sizeof h->topics[1], "%s.entities", group);
    snprintf(h->topics[2], sizeof h->topics[2], "%s.decide", group);
    snprintf(h->state_topic, sizeof h->state_topic, "%s.state", group);
    snprintf(h->dir, sizeof h->dir, "/tmp/rg-kafka-XXXXXX");
    assert_non_null(mkdtemp(h->dir));
    snprintf(h->rules_path, sizeof h->rules_path, "%s/rules.yaml", h->dir);
    snprintf(h->capture_path, sizeof h->capture_path, "%s/capture.jsonl", h->dir);
    FILE *f = fopen(h->rules_path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(RULES_YAML, 1, sizeof RULES_YAML - 1, f), sizeof RULES_YAML - 1);
    assert_int_equal(fclose(f), 0);
    h->capture = fopen(h->capture_path, "w");
    assert_non_null(h->capture);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    h->mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(h->mock_rk);
    h->mc = rd_kafka_mock_cluster_new(h->mock_rk, 3);
    assert_non_null(h->mc);
    h->bootstrap = rd_kafka_mock_cluster_bootstraps(h->mc);
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, EVENTS, NPART, 3), 0);
    for (int p = 0; p < NPART; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(h->mc, EVENTS, p, p % 2 == 0 ? 1 : 2), 0);
    create_topic(h, ACTIONS, 3, ACTIONS_BROKER);
    create_topic(h, DEADLETTER, 1, ACTIONS_BROKER);
    int ip = internal_partitions ? internal_partitions : NPART;
    create_topic(h, h->topics[1], ip, INTERNAL_BROKER);
    create_topic(h, h->topics[2], ip, INTERNAL_BROKER);
    create_topic(h, h->state_topic, 3 * NPART, INTERNAL_BROKER);
    rd_kafka_mock_coordinator_set(h->mc, "group", group, 1);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "linger.ms", "5", err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rd_kafka_conf_set_opaque(conf, h);
    rd_kafka_conf_set_dr_msg_cb(conf, on_produced);
    h->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    assert_non_null(h->producer);

    h->expected = rg_strmap_new(sizeof(decision_seen));
    h->by_src = rg_strmap_new(sizeof(size_t));
    h->dl_src = rg_strmap_new(sizeof(int));
    h->event_src = rg_strmap_new(sizeof(int));
    h->entity_src = rg_strmap_new(sizeof(int));
    h->enrich_src = rg_strmap_new(sizeof(int));
    assert_true(h->expected && h->by_src && h->dl_src && h->event_src && h->entity_src && h->enrich_src);
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++)
            h->pos[k][p] = h->committed[k][p] = -1;

    /* Accounts whose key lands in each partition, as Kafka's partitioner
     * would put them (events.md: key = the account). */
    int have[NPART] = {0};
    for (int n = 0, done = 0; done < NPART; n++) {
        char a[16];
        snprintf(a, sizeof a, "a-%d", n);
        int p = (int)rg_stage_partition(a, strlen(a), NPART);
        if (have[p] < N_ACCOUNTS) {
            snprintf(h->accounts[p][have[p]++], sizeof h->accounts[p][0], "%s", a);
            if (have[p] == N_ACCOUNTS)
                done++;
        }
    }
}

void harness_up(harness *h, const char *group) { harness_up_with(h, group, 0); }

void harness_down(harness *h)
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
    rg_strmap_free(h->expected, free_decision_seen);
    rg_strmap_free(h->by_src, NULL);
    rg_strmap_free(h->dl_src, NULL);
    rg_strmap_free(h->event_src, NULL);
    rg_strmap_free(h->entity_src, NULL);
    rg_strmap_free(h->enrich_src, NULL);
    for (int p = 0; p < NPART; p++) {
        free(h->event_recs[p].v);
        free(h->entity_recs[p].v);
    }
    for (int p = 0; p < 3 * NPART; p++) {
        free(h->headers[p].v);
        rg_strbuf_free(&h->last_header[p]);
    }
    free(h->ev);
    fclose(h->capture);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", h->dir);
    if (!getenv("RG_TEST_KEEP"))
        assert_int_equal(system(cmd), 0);
}

/* ---- the workload ---- */

static size_t ev_new(harness *h, int index, ev_kind kind)
{
    if (h->n_ev == h->cap_ev) {
        h->cap_ev = h->cap_ev ? h->cap_ev * 2 : 1024;
        h->ev = realloc(h->ev, h->cap_ev * sizeof *h->ev);
        assert_non_null(h->ev);
    }
    ev_rec *e = &h->ev[h->n_ev];
    memset(e, 0, sizeof *e);
    e->index = index;
    e->kind = kind;
    e->offset = -1;
    return h->n_ev++;
}

static void produce_value(harness *h, size_t i, int partition, const char *key, const char *value,
                          int64_t msg_ts)
{
    size_t n = strlen(value);
    assert_int_equal(fwrite(value, 1, n, h->capture), n);
    fputc('\n', h->capture);
    rd_kafka_resp_err_t err;
    do {
        err = rd_kafka_producev(h->producer, RD_KAFKA_V_TOPIC(EVENTS), RD_KAFKA_V_PARTITION(partition),
                                RD_KAFKA_V_KEY(key, strlen(key)), RD_KAFKA_V_VALUE((void *)value, n),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(msg_ts),
                                RD_KAFKA_V_OPAQUE((void *)(uintptr_t)i), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(h->producer, 10);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    assert_int_equal(err, 0);
}

void produced_flush(harness *h)
{
    assert_int_equal(rd_kafka_flush(h->producer, 30000), 0);
    assert_int_equal(h->produce_errors, 0);
    fflush(h->capture);
}

/* Event i of the workload, on partition p: a reject when
 * reject_every and i % reject_every == 5, else a login when i % 10 == 4,
 * else a transfer (amount 150000 when i % 3 == 0, 60000 when i % 7 == 0,
 * else 1000); every 50th accepted event is sent twice (the second is a
 * duplicate: skipped, never evaluated again). Event time is BASE_TS +
 * i * 10 ms, so a later batch (a higher first i) is later in event time. */
static void produce_one(harness *h, int i, int p, int reject_every)
{
    const char *account = h->accounts[p][(i / 7) % N_ACCOUNTS];
    int64_t ts = BASE_TS + (int64_t)i * 10, msg_ts = BASE_TS + i;
    char value[512], cp[16];
    snprintf(cp, sizeof cp, "c-%d", i % 11);
    if (reject_every && i % reject_every == 5) {
        size_t k = ev_new(h, i, EV_REJECT);
        snprintf(value, sizeof value, "not an event e-%06d", i);
        produce_value(h, k, p, account, value, msg_ts);
        return;
    }
    ev_kind kind = i % 10 == 4 ? EV_LOGIN : EV_TRANSFER;
    size_t k = ev_new(h, i, kind);
    if (kind == EV_LOGIN) {
        snprintf(value, sizeof value,
                 "{\"event_id\":\"e-%06d\",\"type\":\"login\",\"ts\":%lld,\"account\":\"%s\",\"device_id\":\"d-%d\"}", i,
                 (long long)ts, account, i % 5);
    } else {
        int amount = i % 3 == 0 ? 150000 : i % 7 == 0 ? 60000 : 1000;
        snprintf(value, sizeof value,
                 "{\"event_id\":\"e-%06d\",\"type\":\"transfer\",\"ts\":%lld,\"account\":\"%s\",\"counterparty\":\"%s\","
                 "\"amount\":%d}",
                 i, (long long)ts, account, cp, amount);
        ev_rec *e = &h->ev[k];
        /* Decisions in the order of the first rule that hit each subject. */
        if (amount >= 100000)
            snprintf(e->dids[e->n_dids++], sizeof e->dids[0], "e-%06d/%s", i, account);
        if (amount >= 50000)
            snprintf(e->dids[e->n_dids++], sizeof e->dids[0], "e-%06d/%s", i, cp);
        for (int d = 0; d < e->n_dids; d++)
            expect_decision(h, e->dids[d]);
    }
    produce_value(h, k, p, account, value, msg_ts);
    if (i % 50 == 7) {
        size_t again = ev_new(h, i, EV_RESENT);
        produce_value(h, again, p, account, value, msg_ts);
    }
}

void produce_batch_on(harness *h, int first, int n, int reject_every, int parts)
{
    for (int i = first; i < first + n; i++)
        produce_one(h, i, i % parts, reject_every);
    produced_flush(h);
}

void produce_batch_to(harness *h, int first, int n, int p)
{
    for (int i = first; i < first + n; i++)
        produce_one(h, i, p, 0);
    produced_flush(h);
}

void produce_batch_async(harness *h, int first, int n, int reject_every)
{
    for (int i = first; i < first + n; i++)
        produce_one(h, i, i % NPART, reject_every);
    rd_kafka_poll(h->producer, 0);
}

void produce_batch(harness *h, int first, int n, int reject_every)
{
    produce_batch_on(h, first, n, reject_every, NPART);
}

/* ---- the reader ---- */

rd_kafka_topic_partition_list_t *output_partitions(harness *h)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4 + 2 * NPART);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(l, ACTIONS, p);
    rd_kafka_topic_partition_list_add(l, DEADLETTER, 0);
    for (int p = 0; p < NPART; p++) {
        rd_kafka_topic_partition_list_add(l, h->topics[1], p);
        rd_kafka_topic_partition_list_add(l, h->topics[2], p);
    }
    return l;
}

static rd_kafka_topic_partition_list_t *state_partitions(harness *h)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3 * NPART);
    for (int p = 0; p < 3 * NPART; p++)
        rd_kafka_topic_partition_list_add(l, h->state_topic, p);
    return l;
}

void reader_start(harness *h)
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
     * reader's view a few ms behind, not 500. */
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof err);
    h->reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(h->reader);
    rd_kafka_poll_set_consumer(h->reader);
    rd_kafka_topic_partition_list_t *l = output_partitions(h);
    for (int p = 0; p < 3 * NPART; p++)
        rd_kafka_topic_partition_list_add(l, h->state_topic, p);
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
    assert_int_equal(rd_kafka_assign(h->reader, l), 0);
    rd_kafka_topic_partition_list_destroy(l);

    conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", h->bootstrap, err, sizeof err);
    rd_kafka_conf_set(conf, "group.id", h->group, err, sizeof err);
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    h->checker = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    assert_non_null(h->checker);
}

/* A decision read: known, decided_at spliced in, a second copy only with
 * the same body. */
static void take_decision(harness *h, const rd_kafka_message_t *m)
{
    const char *v = m->payload;
    const char *p = memmem(v, m->len, "\"decision_id\":\"", 15);
    if (!p)
        fail_msg("not a decision on %s: %.*s", ACTIONS, (int)m->len, v);
    p += 15;
    const char *q = memchr(p, '"', m->len - (size_t)(p - v));
    assert_non_null(q);
    const char *at = memmem(v, m->len, ",\"decided_at\":\"", 15);
    if (!at || v[m->len - 1] != '}')
        fail_msg("decision without decided_at: %.*s", (int)m->len, v);
    size_t body_len = (size_t)(at - v);
    decision_seen *d = rg_strmap_get(h->expected, p, (size_t)(q - p));
    if (!d)
        fail_msg("unexpected decision %.*s: %.*s", (int)(q - p), p, (int)m->len, v);
    if (d->count++ == 0) {
        h->n_seen_distinct++;
        d->body = malloc(body_len);
        assert_non_null(d->body);
        memcpy(d->body, v, body_len);
        d->body_len = body_len;
    } else {
        h->n_duplicates++;
        if (body_len != d->body_len || memcmp(d->body, v, body_len) != 0)
            fail_msg("decision %.*s came twice with different bodies:\n  %.*s\n  %.*s", (int)(q - p), p,
                     (int)d->body_len, d->body, (int)body_len, v);
    }
}

static void take_deadletter(harness *h, const rd_kafka_message_t *m)
{
    h->n_deadletters++;
    const char *v = m->payload;
    const char *p = memmem(v, m->len, "\"source\":\"" EVENTS "/", 11 + strlen(EVENTS));
    if (!p)
        fail_msg("dead letter without an events source: %.*s", (int)m->len, v);
    p += 11 + strlen(EVENTS);
    int part = -1;
    long long off = -1;
    if (sscanf(p, "%d/%lld", &part, &off) != 2)
        fail_msg("dead letter source unreadable: %.*s", (int)m->len, v);
    count_src(h->dl_src, part, off);
}

static void take_internal(harness *h, const rd_kafka_message_t *m, bool entities)
{
    rg_rec r;
    char err[256];
    if (rg_rec_decode(m->payload, m->len, &r, err, sizeof err) != 0)
        fail_msg("not a record on %s/%d at %lld: %s", rd_kafka_topic_name(m->rkt), (int)m->partition,
                 (long long)m->offset, err);
    int64_t *end = &h->data_end[entities ? 1 : 2][m->partition];
    if (r.kind != RG_REC_MARK && m->offset + 1 > *end)
        *end = m->offset + 1;
    if (entities && (r.kind == RG_REC_ENTITY || r.kind == RG_REC_STORE)) {
        count_src(h->entity_src, r.src_partition, r.src_offset);
        if (r.kind == RG_REC_ENTITY)
            rec_add(&h->entity_recs[m->partition], m->offset, r.src_partition, r.src_offset);
    } else if (!entities && r.kind == RG_REC_EVENT) {
        count_src(h->event_src, r.src_partition, r.src_offset);
        rec_add(&h->event_recs[m->partition], m->offset, r.src_partition, r.src_offset);
    } else if (!entities && r.kind == RG_REC_ENRICH) {
        count_src(h->enrich_src, r.src_partition, r.src_offset);
    } else if (r.kind != RG_REC_MARK) {
        fail_msg("record of kind %s on %s", rg_rec_kind_name(r.kind), rd_kafka_topic_name(m->rkt));
    }
}

/* A snapshot header: "RGSNAP" 1, kind, partition, generation, chunks,
 * length, CRC, resume position, saved at, rule set (stream/snapshot.c). */
static void take_state(harness *h, const rd_kafka_message_t *m)
{
    if (!m->payload || !m->key || memchr(m->key, '/', m->key_len) == NULL)
        return;   /* a tombstone */
    const char *slash = memchr(m->key, '/', m->key_len);
    if (memchr(slash + 1, '/', m->key_len - (size_t)(slash + 1 - (const char *)m->key)))
        return;   /* a chunk: TASK/GEN/I */
    rg_reader in;
    rg_reader_init(&in, m->payload, m->len, 0);
    if (m->len < 7 || memcmp(m->payload, "RGSNAP", 6) != 0)
        fail_msg("state record keyed %.*s is no snapshot header", (int)m->key_len, (const char *)m->key);
    in.pos = 6;
    assert_int_equal(rg_get_u8(&in, "version"), 1);
    char kind = (char)rg_get_u8(&in, "kind");
    int32_t partition = (int32_t)rg_get_u32(&in, "partition");
    (void)rg_get_u64(&in, "generation");
    (void)rg_get_u32(&in, "chunks");
    (void)rg_get_u64(&in, "length");
    (void)rg_get_u32(&in, "crc");
    int64_t resume = rg_get_i64(&in, "resume");
    assert_true(rg_reader_ok(&in));
    int k = kind == 'i' ? 0 : kind == 'e' ? 1 : kind == 'd' ? 2 : -1;
    assert_true(k >= 0 && partition >= 0 && partition < NPART);
    /* One state partition per task: ingest k at k, entity r at P + r,
     * decide d at 2P + d. */
    assert_int_equal(m->partition, k * NPART + partition);
    header_list *l = &h->headers[m->partition];
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n++] = (header_seen){m->offset, k, partition, resume};
    rg_strbuf *last = &h->last_header[m->partition];
    rg_strbuf_reset(last);
    rg_strbuf_append(last, m->payload, m->len);
    assert_true(rg_strbuf_ok(last));
}

static void reader_take(harness *h, int timeout_ms)
{
    rd_kafka_message_t *m;
    while ((m = rd_kafka_consumer_poll(h->reader, timeout_ms)) != NULL) {
        timeout_ms = 0;
        if (!m->err) {
            const char *t = rd_kafka_topic_name(m->rkt);
            if (strcmp(t, ACTIONS) == 0)
                take_decision(h, m);
            else if (strcmp(t, DEADLETTER) == 0)
                take_deadletter(h, m);
            else if (strcmp(t, h->topics[1]) == 0)
                take_internal(h, m, true);
            else if (strcmp(t, h->topics[2]) == 0)
                take_internal(h, m, false);
            else if (strcmp(t, h->state_topic) == 0)
                take_state(h, m);
        }
        rd_kafka_message_destroy(m);
    }
}

/* The ends of the partitions in l (ListOffsets, latest). */
static bool query_ends(harness *h, rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_END;
    if (rd_kafka_offsets_for_times(h->reader, l, 3000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    for (int i = 0; i < l->cnt; i++)
        if (l->elems[i].err || l->elems[i].offset < 0)
            return false;
    return true;
}

/* Read until every partition in ends is read to its offset there. */
static bool read_to(harness *h, const rd_kafka_topic_partition_list_t *ends, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_copy(ends);
    bool done = false;
    while (!done && now_ms() <= deadline) {
        reader_take(h, 20);
        rd_kafka_position(h->reader, pos);
        done = true;
        for (int i = 0; i < ends->cnt; i++)
            if (ends->elems[i].offset > 0 && pos->elems[i].offset < ends->elems[i].offset)
                done = false;
    }
    rd_kafka_topic_partition_list_destroy(pos);
    return done;
}

bool reader_catch_up(harness *h, int timeout_ms)
{
    rd_kafka_topic_partition_list_t *st = state_partitions(h), *out = output_partitions(h);
    bool ok = query_ends(h, st) && query_ends(h, out);
    if (ok) {
        for (int p = 0; p < 3 * NPART; p++)
            h->state_end[p] = st->elems[p].offset;
        ok = read_to(h, st, timeout_ms) && read_to(h, out, timeout_ms);
    }
    rd_kafka_topic_partition_list_destroy(st);
    rd_kafka_topic_partition_list_destroy(out);
    return ok;
}
