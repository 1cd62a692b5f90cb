/*
 * stream_kafka_harness — what the streaming runner's Kafka tests
 * (test_stream_*.c) share: librdkafka's mock cluster (rdkafka_mock.h)
 * with the group's internal topics, the REAL runner (rg_stream_new with a
 * rule set loaded from a small rule file, rg_stream_run in a thread), the
 * test's own producer ("the ledger", real JSON events) and one reader of
 * every topic, and the invariant checked continuously from outside.
 *
 * The workload (produce_batch): transfers, logins, rejects and resent
 * events over the events topic's partitions, key = the account (accounts
 * are picked so Kafka's murmur2 of the key gives the partition), event
 * time increasing. The rule file (RULES_YAML) makes each event's decisions
 * known in advance: amount 150000 -> review on the account and freeze on
 * the counterparty; amount 60000 -> freeze on the counterparty; others
 * none. The freeze rule reads counterparty_senders(24h) (>= 1 always), so
 * every transfer goes through the entity stage and back (ENTITY, ENRICH)
 * and its evidence depends on the entity stage's order and state; the
 * review's message names the account's count() of transfers in the last
 * hour, which the decide stage keeps: a task that lost its state (started
 * empty after a move or restart) writes other bodies. Replay's output
 * (check_replay) is the reference for the bodies.
 *
 * The invariant (docs/scale-out.md, "When a snapshot is written"): a task's
 * position -- its committed offset, or the resume position of a snapshot
 * header on <group>.state -- only passes input whose outputs were
 * acknowledged. So at every moment, for every task:
 *   ingest k: every event below the position has its records on the
 *             internal topics (EVENT on <group>.decide, ENTITY on
 *             <group>.entities for a transfer) or, rejected, its dead
 *             letter;
 *   entity r: every ENTITY record below it has its ENRICH on <group>.decide;
 *   decide d: every EVENT record below it has all its event's decisions
 *             on the action topic;
 * and no committed offset is past the newest snapshot header. Together:
 * a crash at any moment loses no decision. Positions are read first
 * (committed offsets, then the state topic's end), the outputs after (to
 * their ends as of then), so an output acknowledged before its position
 * moved is always found. At the end the action topic holds exactly the
 * expected decisions; a decision may come twice only with the same body.
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "common/binio.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "decisions/engine.h"
#include "replay/replay.h"
#include "rules/ruleset.h"
#include "stages/record.h"
#include "stages/stage.h"
#include "stream/log.h"
#include "stream/run.h"

#define EVENTS "t.events"
#define ACTIONS "t.actions"
#define DEADLETTER "t.deadletter"
#define NPART 3                        /* the events topic's partitions (P) */
#define BASE_TS 1700000000000LL
#define N_ACCOUNTS 16                  /* per events partition */

/* Broker placement, so a fault hits one path at a time: events 0 and 2
 * and the group coordinator on broker 1, events 1 and the internal topics
 * on broker 2, the action and dead-letter topics on broker 3. */
#define INTERNAL_BROKER 2
#define ACTIONS_BROKER 3

static const char RULES_YAML[] = "version: 1\n"
                                 "signals:\n"
                                 "  senders: counterparty_senders(24h)\n"
                                 "  transfers: count(1h, type in [transfer])\n"
                                 "rules:\n"
                                 "  - id: large_transfer\n"
                                 "    on: [transfer]\n"
                                 "    when: amount >= 100000\n"
                                 "    then:\n"
                                 "      - review: account\n"
                                 "    message: \"amount {amount} >= 1000.00 CNY, {transfers} transfers in 1h\"\n"
                                 "  - id: busy_counterparty\n"
                                 "    on: [transfer]\n"
                                 "    when: amount >= 50000 and senders >= 1\n"
                                 "    then:\n"
                                 "      - freeze: counterparty\n"
                                 "    message: \"{senders} senders to {counterparty}\"\n";

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

/* ---- what the test produced and read ---- */

typedef enum ev_kind { EV_TRANSFER, EV_LOGIN, EV_REJECT, EV_RESENT } ev_kind;

typedef struct ev_rec {
    int index;                  /* i of "e-%06d" */
    int partition;
    int64_t offset;             /* -1 until its delivery report */
    ev_kind kind;
    int n_dids;
    char dids[2][48];           /* its decisions' ids */
} ev_rec;

/* A record of an internal topic as read. */
typedef struct rec_seen {
    int64_t offset;
    int32_t src_partition;
    int64_t src_offset;
} rec_seen;

typedef struct rec_list {
    rec_seen *v;
    size_t n, cap;
} rec_list;

/* A snapshot header on <group>.state as read. */
typedef struct header_seen {
    int64_t offset;             /* on its state partition */
    int kind;                   /* 0 ingest, 1 entity, 2 decide */
    int32_t partition;
    int64_t resume;
} header_seen;

typedef struct header_list {
    header_seen *v;
    size_t n, cap;
} header_list;

typedef struct decision_seen {
    int count;
    char *body;                 /* the first one read, without decided_at */
    size_t body_len;
} decision_seen;

typedef struct harness {
    rd_kafka_t *mock_rk;
    rd_kafka_mock_cluster_t *mc;
    const char *bootstrap;
    rd_kafka_t *producer;       /* the "ledger" */
    rd_kafka_t *reader;         /* every topic, assigned from the beginning */
    rd_kafka_t *checker;        /* the group's committed offsets */
    char group[64];
    char topics[3][96];         /* events, <group>.entities, <group>.decide */
    char state_topic[96];
    char dir[64];               /* rule file, capture, state dirs, stores */
    char rules_path[128];
    char capture_path[128];
    FILE *capture;              /* every produced value, one a line: replay's input */
    char accounts[NPART][N_ACCOUNTS][16];

    ev_rec *ev;
    size_t n_ev, cap_ev;
    int produce_errors;
    int64_t end_offset[NPART];  /* one past the last produced event, per events partition */
    rg_strmap *by_src;          /* "k/o" -> size_t index in ev */

    rg_strmap *expected;        /* decision_id -> decision_seen */
    size_t n_expected, n_seen_distinct, n_duplicates;
    size_t n_deadletters;
    rg_strmap *dl_src, *event_src, *entity_src, *enrich_src;   /* "k/o" -> int */
    rec_list event_recs[NPART];     /* EVENT records per <group>.decide partition */
    rec_list entity_recs[NPART];    /* ENTITY records per <group>.entities partition */
    int64_t data_end[3][NPART];     /* [1] entities, [2] decide: one past the last record read that is
                                     * not a MARK (ingest sends MARKs to both while idle: they never end) */
    header_list headers[3 * NPART]; /* per <group>.state partition */
    rg_strbuf last_header[3 * NPART];   /* the newest header's bytes, per state partition */
    int64_t state_end[3 * NPART];   /* the state topic's ends as of this round */
    int64_t pos[3][NPART];          /* per task: max(committed, snapshot resume) */
    int64_t committed[3][NPART];

    bool hold_completion;       /* a fault hook still has work to do */
    int checks;                 /* rounds that checked the invariant with everything read */
} harness;

static inline void src_key(char *buf, size_t n, int32_t partition, int64_t offset)
{
    snprintf(buf, n, "%d/%lld", (int)partition, (long long)offset);
}

static inline void count_src(rg_strmap *m, int32_t partition, int64_t offset)
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

static inline bool has_src(const rg_strmap *m, int32_t partition, int64_t offset)
{
    char k[48];
    src_key(k, sizeof k, partition, offset);
    return rg_strmap_get(m, k, strlen(k)) != NULL;
}

static inline void rec_add(rec_list *l, int64_t offset, int32_t sp, int64_t so)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        assert_non_null(l->v);
    }
    l->v[l->n++] = (rec_seen){offset, sp, so};
}

static inline void on_produced(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
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

static inline void free_decision_seen(void *v) { free(((decision_seen *)v)->body); }

/* Expect one more decision (beyond those the workload's events bring). */
static inline void expect_decision(harness *h, const char *id)
{
    bool created = false;
    decision_seen *d = rg_strmap_put(h->expected, id, strlen(id), &created);
    assert_non_null(d);
    assert_true(created);
    memset(d, 0, sizeof *d);
    h->n_expected++;
}

static inline int seen_count(harness *h, const char *id)
{
    decision_seen *d = rg_strmap_get(h->expected, id, strlen(id));
    return d ? d->count : 0;
}

static inline void create_topic(harness *h, const char *name, int partitions, int broker)
{
    assert_int_equal(rd_kafka_mock_topic_create(h->mc, name, partitions, 3), 0);
    for (int p = 0; p < partitions; p++)
        assert_int_equal(rd_kafka_mock_partition_set_leader(h->mc, name, p, broker), 0);
    (void)h;
}

/* The cluster, the topics (internal ones with `internal_partitions`
 * partitions for entities and decide; 0: NPART, as they must be), the
 * test's producer and rule file. */
static inline void harness_up_with(harness *h, const char *group, int internal_partitions)
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

static inline void harness_up(harness *h, const char *group) { harness_up_with(h, group, 0); }

/* ---- the workload ---- */

static inline size_t ev_new(harness *h, int index, ev_kind kind)
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

static inline void produce_value(harness *h, size_t i, int partition, const char *key, const char *value,
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

static inline void produced_flush(harness *h)
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
static inline void produce_one(harness *h, int i, int p, int reject_every)
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

/* n events from `first` over the first `parts` partitions, then flushed. */
static inline void produce_batch_on(harness *h, int first, int n, int reject_every, int parts)
{
    for (int i = first; i < first + n; i++)
        produce_one(h, i, i % parts, reject_every);
    produced_flush(h);
}

/* n events from `first`, all on events partition p. */
static inline void produce_batch_to(harness *h, int first, int n, int p)
{
    for (int i = first; i < first + n; i++)
        produce_one(h, i, p, 0);
    produced_flush(h);
}

/* The same, not waiting for the broker (an events partition's leader may
 * be down): produced_flush later. */
static inline void produce_batch_async(harness *h, int first, int n, int reject_every)
{
    for (int i = first; i < first + n; i++)
        produce_one(h, i, i % NPART, reject_every);
    rd_kafka_poll(h->producer, 0);
}

static inline void produce_batch(harness *h, int first, int n, int reject_every)
{
    produce_batch_on(h, first, n, reject_every, NPART);
}

/* ---- the reader ---- */

static inline rd_kafka_topic_partition_list_t *output_partitions(harness *h)
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

static inline rd_kafka_topic_partition_list_t *state_partitions(harness *h)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(3 * NPART);
    for (int p = 0; p < 3 * NPART; p++)
        rd_kafka_topic_partition_list_add(l, h->state_topic, p);
    return l;
}

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
static inline void take_decision(harness *h, const rd_kafka_message_t *m)
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

static inline void take_deadletter(harness *h, const rd_kafka_message_t *m)
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

static inline void take_internal(harness *h, const rd_kafka_message_t *m, bool entities)
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
static inline void take_state(harness *h, const rd_kafka_message_t *m)
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

static inline void reader_take(harness *h, int timeout_ms)
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
static inline bool query_ends(harness *h, rd_kafka_topic_partition_list_t *l)
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
static inline bool read_to(harness *h, const rd_kafka_topic_partition_list_t *ends, int timeout_ms)
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

/* Read every topic to its end as of now: the state topic's end first (its
 * headers count for this round), then the outputs'. False when some
 * partition could not be read (a broker down). */
static inline bool reader_catch_up(harness *h, int timeout_ms)
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

/* ---- the invariant ---- */

static inline bool read_committed(harness *h)
{
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(3 * NPART);
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++)
            rd_kafka_topic_partition_list_add(c, h->topics[k], p);
    bool ok = rd_kafka_committed(h->checker, c, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; ok && i < c->cnt; i++) {
        if (c->elems[i].err) {
            ok = false;
            break;
        }
        h->committed[i / NPART][i % NPART] = c->elems[i].offset >= 0 ? c->elems[i].offset : -1;
    }
    rd_kafka_topic_partition_list_destroy(c);
    return ok;
}

/* The first decision of event ev that is not on the action topic. */
static inline const char *missing_decision(harness *h, const ev_rec *e)
{
    for (int d = 0; d < e->n_dids; d++)
        if (seen_count(h, e->dids[d]) == 0)
            return e->dids[d];
    return NULL;
}

static inline const ev_rec *event_at(harness *h, int32_t partition, int64_t offset)
{
    char k[48];
    src_key(k, sizeof k, partition, offset);
    size_t *i = rg_strmap_get(h->by_src, k, strlen(k));
    if (!i)
        fail_msg("a record names event %d/%lld, which the test never produced", (int)partition, (long long)offset);
    return &h->ev[*i];
}

/* Check the invariant (file comment) once. Returns the number of events
 * partitions whose position reached their end, or -1 when this round could
 * not check (the coordinator or a topic's broker unreachable). */
static inline int check_invariant(harness *h)
{
    /* Positions first (committed offsets, then the state topic's end),
     * outputs after. */
    if (!read_committed(h) || !reader_catch_up(h, 5000))
        return -1;
    int64_t header_pos[3][NPART];
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++)
            header_pos[k][p] = -1;
    for (int sp = 0; sp < 3 * NPART; sp++)
        for (size_t i = 0; i < h->headers[sp].n; i++) {
            const header_seen *hs = &h->headers[sp].v[i];
            if (hs->offset < h->state_end[sp] && hs->resume > header_pos[hs->kind][hs->partition])
                header_pos[hs->kind][hs->partition] = hs->resume;
        }
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++) {
            /* A position is committed only once its snapshot is durable. */
            if (h->committed[k][p] > header_pos[k][p])
                fail_msg("%s/%d is committed at %lld, past its newest snapshot (position %lld)", h->topics[k], p,
                         (long long)h->committed[k][p], (long long)header_pos[k][p]);
            h->pos[k][p] = header_pos[k][p];
        }
    /* ingest */
    int complete = 0;
    for (int p = 0; p < NPART; p++)
        if (h->pos[0][p] >= h->end_offset[p])
            complete++;
    for (size_t i = 0; i < h->n_ev; i++) {
        const ev_rec *e = &h->ev[i];
        if (e->offset < 0 || e->offset >= h->pos[0][e->partition] || e->kind == EV_RESENT)
            continue;
        if (e->kind == EV_REJECT && !has_src(h->dl_src, e->partition, e->offset))
            fail_msg("ingest/%d's position is %lld but the dead letter of offset %lld is not on %s", e->partition,
                     (long long)h->pos[0][e->partition], (long long)e->offset, DEADLETTER);
        if (e->kind != EV_REJECT && !has_src(h->event_src, e->partition, e->offset))
            fail_msg("ingest/%d's position is %lld but the EVENT record of offset %lld (e-%06d) is not on %s",
                     e->partition, (long long)h->pos[0][e->partition], (long long)e->offset, e->index, h->topics[2]);
        if (e->kind == EV_TRANSFER && !has_src(h->entity_src, e->partition, e->offset))
            fail_msg("ingest/%d's position is %lld but the ENTITY record of offset %lld (e-%06d) is not on %s",
                     e->partition, (long long)h->pos[0][e->partition], (long long)e->offset, e->index, h->topics[1]);
    }
    /* entity */
    for (int r = 0; r < NPART; r++)
        for (size_t i = 0; i < h->entity_recs[r].n; i++) {
            const rec_seen *rs = &h->entity_recs[r].v[i];
            if (rs->offset < h->pos[1][r] && !has_src(h->enrich_src, rs->src_partition, rs->src_offset))
                fail_msg("entity/%d's position is %lld but the ENRICH for its offset %lld (event %d/%lld) is not on %s",
                         r, (long long)h->pos[1][r], (long long)rs->offset, (int)rs->src_partition,
                         (long long)rs->src_offset, h->topics[2]);
        }
    /* decide */
    for (int d = 0; d < NPART; d++)
        for (size_t i = 0; i < h->event_recs[d].n; i++) {
            const rec_seen *rs = &h->event_recs[d].v[i];
            if (rs->offset >= h->pos[2][d])
                continue;
            const ev_rec *e = event_at(h, rs->src_partition, rs->src_offset);
            const char *id = missing_decision(h, e);
            if (id)
                fail_msg("decide/%d's position is %lld but decision %s (its offset %lld) is not on %s", d,
                         (long long)h->pos[2][d], id, (long long)rs->offset, ACTIONS);
        }
    h->checks++;
    return complete;
}

/* Whether everything produced is fully processed as far as the outputs
 * and positions read in the last check show: every events partition's
 * position at its end, every decision on the action topic, every
 * transfer's ENRICH on <group>.decide (the entity stage evaluated it:
 * transfers without a decision count too) and every <group>.decide
 * partition's position past its last EVENT or ENRICH record (the decide
 * stage evaluated it all; only MARKs may follow). */
static inline bool all_processed(harness *h, int complete)
{
    if (complete != NPART || h->n_seen_distinct != h->n_expected)
        return false;
    for (size_t i = 0; i < h->n_ev; i++)
        if (h->ev[i].kind == EV_TRANSFER && !has_src(h->enrich_src, h->ev[i].partition, h->ev[i].offset))
            return false;
    for (int d = 0; d < NPART; d++)
        if (h->pos[2][d] < h->data_end[2][d])
            return false;
    return true;
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

/* ---- replay: the reference ---- */

typedef struct replay_cmp {
    harness *h;
    int from;                   /* compare decisions of events i >= from */
    size_t compared;
    char problem[2048];
} replay_cmp;

static inline int replay_cmp_decision(void *opaque, const rg_decision *d, void *ticket)
{
    replay_cmp *c = opaque;
    int index = atoi(d->event_id + 2);
    if (index < c->from || c->problem[0])
        return 0;
    c->compared++;
    decision_seen *s = rg_strmap_get(c->h->expected, d->decision_id, strlen(d->decision_id));
    if (!s || !s->count)
        snprintf(c->problem, sizeof c->problem, "replay decided %s, which is not on the action topic",
                 d->decision_id);
    else if (s->body_len != d->json_len - 1 || memcmp(s->body, d->json, s->body_len) != 0)
        snprintf(c->problem, sizeof c->problem, "decision %s differs from replay's:\n  run:    %.*s\n  replay: %.*s",
                 d->decision_id, (int)s->body_len, s->body, (int)d->json_len, d->json);
    return 0;
}

/* `riskgate replay` of everything produced (in production order, which is
 * event-time order), in process: every decision of an event i >= from
 * must be on the action topic with the same body (less decided_at), and
 * the run must have no other decision of those events. */
static inline void check_replay(harness *h, int from)
{
    fflush(h->capture);
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(h->rules_path, &errors);
    if (!rs)
        fail_msg("rules: %s", errors ? errors : "?");
    free(errors);
    char err[512];
    rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
    if (!e)
        fail_msg("engine: %s", err);
    replay_cmp c = {.h = h, .from = from};
    static const rg_sink_ops replay_cmp_ops = {.name = "replay comparison", .decision = replay_cmp_decision};
    rg_sink sink = {.ops = &replay_cmp_ops, .self = &c};
    rg_replay_lane lane = {.engine = e, .sink = &sink};
    const char *captures[] = {h->capture_path};
    rg_replay_opts o = {.captures = captures, .n_captures = 1, .lanes = &lane, .n_lanes = 1};
    rg_replay_result res;
    int rc = rg_replay_run(&o, &res, err, sizeof err);
    rg_engine_free(e);
    rg_ruleset_free(rs);
    assert_int_equal(rc, 0);
    if (c.problem[0])
        fail_msg("%s", c.problem);
    size_t want = 0;
    for (size_t i = 0; i < h->n_ev; i++)
        if (h->ev[i].index >= from && h->ev[i].kind != EV_RESENT)
            want += (size_t)h->ev[i].n_dids;
    assert_int_equal(c.compared, want);
}

/* ---- the runner in a thread ---- */

/* What a runner's thread touches, on the heap with copies of every
 * string its configuration names: a test that fails (cmocka jumps out of
 * it) leaves its stack to be reused, and its runners must still stop
 * cleanly (harness_teardown). */
typedef struct runner_core {
    pthread_t thread;
    rg_stream *stream;
    volatile sig_atomic_t stop, reload;
    int rc;
    volatile int finished;      /* rg_stream_run returned */
    char bootstrap[256], group[64], rules_path[128], state_dir[256], alerts_path[256];
    const char *rules_list[1];
    char props_buf[16][160];
    const char *props[16];      /* its -X */
} runner_core;

typedef struct runner {
    runner_core *core;
    rg_stream_counts counts;    /* as rg_stream_run left them (runner_stop) */
} runner;

/* Runners started and not stopped yet. */
static runner_core *live_runners[8];
static int n_live_runners;

static inline void runner_live(runner_core *c, bool live)
{
    if (live) {
        assert_true(n_live_runners < 8);
        live_runners[n_live_runners++] = c;
        return;
    }
    for (int i = 0; i < n_live_runners; i++)
        if (live_runners[i] == c)
            live_runners[i] = live_runners[--n_live_runners];
}

/* Every Kafka test's teardown (STREAM_TEST): the runners a failed test
 * left running are stopped (their drain still has the failed test's mock
 * cluster, which is never freed), so cmocka can report the failure and go
 * on; one that does not stop within a minute ends the program. */
static inline int harness_teardown(void **state)
{
    (void)state;
    for (int i = 0; i < n_live_runners; i++)
        live_runners[i]->stop = 1;
    int64_t deadline = now_ms() + 60000;
    while (n_live_runners) {
        runner_core *c = live_runners[0];
        while (!__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE) && now_ms() < deadline)
            sleep_ms(20);
        if (!__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE)) {
            fprintf(stderr, "a failed test's runner did not stop within a minute: exiting\n");
            fflush(NULL);
            _exit(1);
        }
        pthread_join(c->thread, NULL);
        runner_live(c, false);
        rg_stream_free(c->stream);
        free(c);
    }
    return 0;
}

#define STREAM_TEST(f) cmocka_unit_test_teardown(f, harness_teardown)

static inline void *runner_main(void *arg)
{
    runner_core *c = arg;
    c->rc = rg_stream_run(c->stream, &c->stop, &c->reload);
    __atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* What a test may set beyond the harness's defaults (NULL: nothing). */
typedef struct runner_opts {
    const char *const *props;   /* -X */
    size_t n_props;
    const char *alerts_path;    /* --alerts */
    const char *state_dir;      /* --state */
    int64_t checkpoint_interval_ms;   /* 0: 200 */
    int64_t max_idle_ms;              /* 0: 50 */
    int64_t max_wait_ms;              /* 0: 20000 */
    int64_t drain_timeout_ms;         /* 0: 30000 */
    bool metrics;                     /* the endpoint on a free loopback port (runner_metric) */
} runner_opts;

static inline const char *core_copy(char *buf, size_t n, const char *s)
{
    if (!s)
        return NULL;
    assert_true(strlen(s) < n);
    snprintf(buf, n, "%s", s);
    return buf;
}

/* The configuration every test runner gets (before rg_stream_new), its
 * strings copied into c. */
static inline void runner_config(rg_stream_config *cfg, runner_core *c, harness *h, const runner_opts *o)
{
    rg_stream_config_init(cfg);
    cfg->brokers = core_copy(c->bootstrap, sizeof c->bootstrap, h->bootstrap);
    cfg->group = core_copy(c->group, sizeof c->group, h->group);
    cfg->events_topic = EVENTS;
    cfg->actions_topic = ACTIONS;
    cfg->deadletter_topic = DEADLETTER;
    c->rules_list[0] = core_copy(c->rules_path, sizeof c->rules_path, h->rules_path);
    cfg->rules_paths = c->rules_list;
    cfg->n_rules_paths = 1;
    /* RG_TEST_X adds one -X property to every runner (e.g. librdkafka's
     * debug contexts). */
    size_t n = 0, max = sizeof c->props / sizeof *c->props;
    for (size_t i = 0; o && i < o->n_props && n + 1 < max; i++, n++)
        c->props[n] = core_copy(c->props_buf[n], sizeof c->props_buf[n], o->props[i]);
    if (getenv("RG_TEST_X")) {
        c->props[n] = core_copy(c->props_buf[n], sizeof c->props_buf[n], getenv("RG_TEST_X"));
        n++;
    }
    cfg->kafka_props = c->props;
    cfg->n_kafka_props = n;
    /* Drained, silent partitions hold the entity merge back at most this
     * long: short, because each new batch jumps ahead in event time. */
    cfg->max_idle_ms = o && o->max_idle_ms ? o->max_idle_ms : 50;
    /* A partition that may still hold older events is waited for this
     * long: generous, so merge order never depends on how fast a fetch is;
     * it costs nothing when partitions are caught up. */
    cfg->max_wait_ms = o && o->max_wait_ms ? o->max_wait_ms : 20000;
    cfg->commit_interval_ms = 100;
    cfg->checkpoint_interval_ms = o && o->checkpoint_interval_ms ? o->checkpoint_interval_ms : 200;
    cfg->drain_timeout_ms = o && o->drain_timeout_ms ? o->drain_timeout_ms : 30000;
    if (o) {
        cfg->alerts_path = core_copy(c->alerts_path, sizeof c->alerts_path, o->alerts_path);
        cfg->state_dir = core_copy(c->state_dir, sizeof c->state_dir, o->state_dir);
        cfg->metrics_addr = o->metrics ? "127.0.0.1:0" : NULL;
    }
}

static inline rg_ruleset *load_rules(harness *h)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(h->rules_path, &errors);
    if (!rs)
        fail_msg("rules: %s", errors ? errors : "?");
    free(errors);
    return rs;
}

static inline void runner_start_opts(runner *r, harness *h, const runner_opts *o)
{
    memset(r, 0, sizeof *r);
    runner_core *c = calloc(1, sizeof *c);
    assert_non_null(c);
    rg_stream_config cfg;
    runner_config(&cfg, c, h, o);
    rg_ruleset *rs = load_rules(h);
    char err[512];
    rg_stream_error se;
    c->stream = rg_stream_new(&cfg, rs, NULL, &se, err, sizeof err);
    if (!c->stream) {
        rg_ruleset_free(rs);
        free(c);
        fail_msg("rg_stream_new: %s", err);
    }
    assert_int_equal(pthread_create(&c->thread, NULL, runner_main, c), 0);
    runner_live(c, true);
    r->core = c;
}

static inline void runner_start(runner *r, harness *h) { runner_start_opts(r, h, NULL); }

/* Whether rg_stream_run returned on its own within timeout_ms. */
static inline bool runner_await_exit(runner *r, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (!__atomic_load_n(&r->core->finished, __ATOMIC_ACQUIRE) && now_ms() < deadline)
        sleep_ms(20);
    return __atomic_load_n(&r->core->finished, __ATOMIC_ACQUIRE);
}

static inline int runner_stop(runner *r)
{
    runner_core *c = r->core;
    c->stop = 1;
    pthread_join(c->thread, NULL);
    runner_live(c, false);
    rg_stream_get_counts(c->stream, &r->counts);
    rg_stream_free(c->stream);
    int rc = c->rc;
    free(c);
    r->core = NULL;
    return rc;
}

/* GET path from a running runner's metrics endpoint (runner_opts.metrics):
 * the status (0 when it could not be read) and the body in a static
 * buffer (*body). */
static inline int runner_get(runner *r, const char *path, const char **body)
{
    unsigned port = rg_stream_metrics_port(r->core->stream);
    assert_true(port > 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static char resp[65536];
    size_t n = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        char req[256];
        int len = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
        if (write(fd, req, (size_t)len) == (ssize_t)len) {
            ssize_t got;
            while (n + 1 < sizeof resp && (got = read(fd, resp + n, sizeof resp - 1 - n)) > 0)
                n += (size_t)got;
        }
    }
    close(fd);
    resp[n] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    const char *b = strstr(resp, "\r\n\r\n");
    *body = b ? b + 4 : resp + n;
    return status;
}

/* A value on a running runner's metrics endpoint (runner_opts.metrics;
 * published once a second): the sample named exactly `sample` (with its
 * labels), or -1 when it cannot be read. */
static inline double runner_metric(runner *r, const char *sample)
{
    const char *body;
    if (runner_get(r, "/metrics", &body) != 200)
        return -1;
    size_t len = strlen(sample);
    for (const char *line = body; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, sample, len) == 0 && line[len] == ' ')
            return strtod(line + len + 1, NULL);
    return -1;
}

/* Wait until everything produced is fully processed (all_processed),
 * checking the invariant all along; `during` runs once per round (fault
 * injection), with the round number. */
static inline void await_all(harness *h, int64_t timeout_ms, void (*during)(harness *, int round, void *), void *arg)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (int round = 0;; round++) {
        if (during)
            during(h, round, arg);
        int complete = check_invariant(h);
        if (getenv("RG_TEST_VERBOSE"))
            fprintf(stderr, "round %d t=%lld complete=%d seen=%zu/%zu checks=%d\n", round, (long long)now_ms(),
                    complete, h->n_seen_distinct, h->n_expected, h->checks);
        if (all_processed(h, complete) && !h->hold_completion)
            return;
        if (now_ms() > deadline)
            fail_msg("timed out: %zu/%zu decisions seen, %d/%d events partitions committed to the end "
                     "(positions %lld %lld %lld, ends %lld %lld %lld)",
                     h->n_seen_distinct, h->n_expected, complete, NPART, (long long)h->pos[0][0],
                     (long long)h->pos[0][1], (long long)h->pos[0][2], (long long)h->end_offset[0],
                     (long long)h->end_offset[1], (long long)h->end_offset[2]);
        sleep_ms(50);
    }
}

/* Wait until every events partition's committed offset reached its end
 * while the runners still run (commits resume after faults, and a task
 * restored after a lost assignment commits its snapshot's position). */
static inline void await_committed(harness *h, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int at_end = 0;
        if (check_invariant(h) >= 0)
            for (int p = 0; p < NPART; p++)
                at_end += h->committed[0][p] >= h->end_offset[p];
        if (at_end == NPART)
            return;
        if (now_ms() > deadline)
            fail_msg("timed out: %d/%d events partitions committed to their end (committed %lld %lld %lld, ends "
                     "%lld %lld %lld)",
                     at_end, NPART, (long long)h->committed[0][0], (long long)h->committed[0][1],
                     (long long)h->committed[0][2], (long long)h->end_offset[0], (long long)h->end_offset[1],
                     (long long)h->end_offset[2]);
        sleep_ms(100);
    }
}

/* The mock keeps about 5 MB per partition and drops the oldest records
 * beyond (it never compacts): a test that writes more would read a
 * partial history. Every partition must still start at offset 0. */
static inline void check_nothing_trimmed(harness *h)
{
    rd_kafka_topic_partition_list_t *l = output_partitions(h);
    for (int p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(l, EVENTS, p);
    for (int p = 0; p < 3 * NPART; p++)
        rd_kafka_topic_partition_list_add(l, h->state_topic, p);
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo = -1, hi = -1;
        assert_int_equal(
            rd_kafka_query_watermark_offsets(h->reader, l->elems[i].topic, l->elems[i].partition, &lo, &hi, 5000), 0);
        if (lo != 0)
            fail_msg("the mock dropped the start of %s/%d (it begins at %lld of %lld): the test writes more than its "
                     "5 MB partition tail",
                     l->elems[i].topic, (int)l->elems[i].partition, (long long)lo, (long long)hi);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* After every runner stopped (cleanly, after await_all): one last check
 * with everything up. Every events partition is committed to its end;
 * every <group>.decide and <group>.entities partition past its last record
 * that is not a MARK (a drain's final snapshots cover everything taken,
 * and every record had been evaluated; MARKs may follow, sent while the
 * tasks downstream were given up). Else a restart would evaluate again
 * what was done. */
static inline void final_check(harness *h)
{
    int complete = -1;
    for (int i = 0; i < 20 && complete < 0; i++)
        complete = check_invariant(h);
    assert_int_equal(complete, NPART);
    check_nothing_trimmed(h);
    assert_int_equal(h->n_seen_distinct, h->n_expected);
    for (int p = 0; p < NPART; p++) {
        if (h->committed[0][p] != h->end_offset[p])
            fail_msg("%s/%d committed at %lld, its end is %lld", EVENTS, p, (long long)h->committed[0][p],
                     (long long)h->end_offset[p]);
        for (int k = 1; k < 3; k++)
            if (h->committed[k][p] < h->data_end[k][p])
                fail_msg("%s/%d committed at %lld after the drain, its last record that is not a MARK is at %lld",
                         h->topics[k], p, (long long)h->committed[k][p], (long long)h->data_end[k][p] - 1);
    }
}

/* Runner logs go to stderr at warn and above (faults say what is wrong);
 * RG_TEST_VERBOSE turns on debug, RG_TEST_FILTER picks tests by name. */
static inline void harness_main_setup(void)
{
    rg_log_set_level(getenv("RG_TEST_VERBOSE") ? RG_LOG_DEBUG : RG_LOG_WARN);
    if (getenv("RG_TEST_FILTER"))
        cmocka_set_test_filter(getenv("RG_TEST_FILTER"));
}

#endif
