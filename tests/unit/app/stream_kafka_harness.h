/*
 * stream_kafka_harness — what the streaming runner's Kafka tests
 * (test_stream_*.c) share, part one: librdkafka's mock cluster
 * (rdkafka_mock.h) with the group's internal topics, the test's own
 * producer ("the ledger", real JSON events) and one reader of every
 * topic. The invariant checked continuously from outside is
 * stream_kafka_checks.h; the REAL runner (rg_stream_new with a rule set
 * loaded from a small rule file, rg_stream_run in a thread) is
 * stream_kafka_runner.h.
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
 * Nothing here asserts on timing: faults are held for a while to make them
 * bite, and every wait is a poll with a generous deadline.
 *
 * Ownership: the test owns its harness (one per test, on its stack).
 * harness_up makes the cluster, the producer, the maps and a temporary
 * directory (rule file, capture, the test's state dirs and stores);
 * reader_start adds the reader and the committed-offsets client;
 * harness_down frees them all and removes the directory (RG_TEST_KEEP
 * keeps it). What the reader takes is recorded in the harness, for the
 * checks and the test to read. The test's thread only: runner threads
 * work on copies (stream_kafka_runner.h). A failure is a cmocka
 * assertion, which jumps out of the test.
 *
 * The three parts are compiled once into rg_stream_harness
 * (tests/CMakeLists.txt), linked into every test that includes them.
 * RULES_YAML and the constants stay here: tests use them too (sizeof
 * RULES_YAML among them).
 */
#ifndef RG_TEST_STREAM_KAFKA_HARNESS_H
#define RG_TEST_STREAM_KAFKA_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/strmap.h"

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

int64_t now_ms(void);   /* CLOCK_MONOTONIC */
void sleep_ms(int ms);

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

/* ---- up and down ---- */

/* The cluster, the topics (internal ones with `internal_partitions`
 * partitions for entities and decide; 0: NPART, as they must be), the
 * test's producer and rule file. */
void harness_up_with(harness *h, const char *group, int internal_partitions);
void harness_up(harness *h, const char *group);   /* internal_partitions 0 */
void harness_down(harness *h);

/* ---- the workload ---- */

/* Events first .. first + n - 1 of the workload (which event i is:
 * produce_one, stream_kafka_harness.c). */

/* n events from `first` over the first `parts` partitions, then flushed. */
void produce_batch_on(harness *h, int first, int n, int reject_every, int parts);
/* Over all NPART partitions. */
void produce_batch(harness *h, int first, int n, int reject_every);
/* The same, not waiting for the broker (an events partition's leader may
 * be down): produced_flush later. */
void produce_batch_async(harness *h, int first, int n, int reject_every);
/* n events from `first`, all on events partition p. */
void produce_batch_to(harness *h, int first, int n, int p);
void produced_flush(harness *h);   /* every delivery report in, none failed */

/* Expect one more decision (beyond those the workload's events bring). */
void expect_decision(harness *h, const char *id);
int seen_count(harness *h, const char *id);   /* copies of it read so far */

/* ---- the reader ---- */

void reader_start(harness *h);
/* Read every topic to its end as of now: the state topic's end first (its
 * headers count for this round), then the outputs'. False when some
 * partition could not be read (a broker down). */
bool reader_catch_up(harness *h, int timeout_ms);

/* For the checks: "k/o" keys of the source maps, whether m holds one, and
 * the output partitions the reader reads (the action and dead-letter
 * topics, <group>.entities and <group>.decide; the caller destroys it). */
void src_key(char *buf, size_t n, int32_t partition, int64_t offset);
bool has_src(const rg_strmap *m, int32_t partition, int64_t offset);
rd_kafka_topic_partition_list_t *output_partitions(harness *h);

#endif
