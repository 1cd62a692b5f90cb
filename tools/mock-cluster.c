/*
 * mock-cluster — a librdkafka mock Kafka cluster (rdkafka_mock.h) as a
 * program: for the streaming tests, the benchmark, and a human trying
 * `riskgate run` with kcat, without a real Kafka.
 *
 *   mock-cluster [--brokers N] [--topic NAME:PARTITIONS]... [--bootstrap-file F]
 *                [-X librdkafka.property=value]...
 *
 * Prints the bootstrap address ("127.0.0.1:PORT,...") on the first line of
 * stdout (and into --bootstrap-file, written atomically, when given), then
 * reads commands on stdin, one per line, answering "ok" or "error: ...":
 *
 *   topic NAME PARTITIONS        create a topic
 *   down ID | up ID              take broker ID (1..N) down / bring it back
 *   rtt ID MS                    add round-trip delay to broker ID
 *   errors API COUNT ERRCODE     the next COUNT requests of API (Produce,
 *                                Fetch, OffsetCommit, ... or the numeric
 *                                ApiKey) fail with ERRCODE (numeric Kafka
 *                                error code, e.g. 6 NOT_LEADER_FOR_PARTITION)
 *   topic-error NAME ERRCODE     metadata for NAME reports ERRCODE
 *   produce TOPIC FILE           produce FILE's lines (JSON Lines, one event
 *                                each) to TOPIC, key = the line's "account",
 *                                message timestamp = now + line index (so
 *                                publication order is exact even within one
 *                                millisecond); answers "ok N", or "ok N
 *                                dropped D: ..." when partitions lost their
 *                                oldest messages (below)
 *   offsets TOPIC                each partition's oldest and next offset:
 *                                "ok P:LOW-HIGH ..." (LOW > 0: messages
 *                                were dropped, below)
 *   quit                         exit
 *
 * What it keeps: librdkafka's mock keeps only the newest part of each
 * partition's log, at most 5 MiB or 100000 message batches (rdkafka_mock.c,
 * librdkafka 2.0), and drops the oldest batches past that, without a
 * word to the producer. A capture of more than ~5 MiB per partition loses
 * its start: give the topic enough partitions (a 100 MB capture needs 20
 * or more). `produce` and `offsets` say when a partition has dropped
 * messages, and it is said on stderr at start and in --help.
 *
 * It exits on "quit", on SIGTERM/SIGINT, or when stdin reaches EOF and
 * --stay was not given (so a test that dies takes its cluster with it).
 * Listeners are on 127.0.0.1 only (the mock cluster binds loopback).
 *
 * -X sets a property of the client instance that hosts the cluster. The
 * brokers' connections take their socket options from it: the stream
 * benchmark passes socket.nagle.disable=true (librdkafka 2.0.2 defaults to
 * false), so a small response is not held back behind an unacknowledged
 * one (docs/bench-stream.md).
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int api_key(const char *name)
{
    static const struct {
        const char *name;
        int key;
    } apis[] = {{"Produce", 0},       {"Fetch", 1},           {"ListOffsets", 2},  {"Metadata", 3},
                {"OffsetCommit", 8},  {"OffsetFetch", 9},     {"FindCoordinator", 10}, {"JoinGroup", 11},
                {"Heartbeat", 12},    {"LeaveGroup", 13},     {"SyncGroup", 14},   {"InitProducerId", 22},
                {"AddPartitionsToTxn", 24}, {"EndTxn", 26}};
    for (size_t i = 0; i < sizeof apis / sizeof *apis; i++)
        if (strcasecmp(name, apis[i].name) == 0)
            return apis[i].key;
    char *end;
    long v = strtol(name, &end, 10);
    return *end || end == name ? -1 : (int)v;
}

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec_name, int partitions, int brokers)
{
    int rf = brokers < 3 ? brokers : 3;
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, spec_name, partitions, rf);
    if (err) {
        fprintf(stderr, "mock-cluster: topic %s: %s\n", spec_name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* The "account" string of a JSON line, found by a plain search (the
 * tool is a test fixture, not a parser: a line without it gets no key). */
static const char *find_account(const char *line, size_t *len)
{
    const char *p = strstr(line, "\"account\"");
    if (!p)
        return NULL;
    p += 9;
    while (*p == ' ' || *p == ':')
        p++;
    if (*p != '"')
        return NULL;
    const char *end = strchr(++p, '"');
    if (!end)
        return NULL;
    *len = (size_t)(end - p);
    return p;
}

static long produce_file(rd_kafka_mock_cluster_t *mc, const char *topic, const char *path, char *err, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, n, "%s: %s", path, strerror(errno));
        return -1;
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), err, n);
    rd_kafka_conf_set(conf, "linger.ms", "20", err, n);
    rd_kafka_conf_set(conf, "log_level", "3", err, n);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, n);
    if (!p) {
        fclose(f);
        return -1;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t base_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long count = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        size_t klen = 0;
        const char *key = find_account(line, &klen);
        rd_kafka_resp_err_t e;
        while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? klen : 0),
                                      RD_KAFKA_V_VALUE(line, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                      RD_KAFKA_V_TIMESTAMP(base_ms + count), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 10);
        if (e) {
            snprintf(err, n, "produce: %s", rd_kafka_err2str(e));
            count = -1;
            break;
        }
        count++;
    }
    free(line);
    fclose(f);
    if (rd_kafka_flush(p, 60000) != 0 && count >= 0) {
        snprintf(err, n, "flush timed out");
        count = -1;
    }
    rd_kafka_destroy(p);
    return count;
}

#define KEEP_NOTE                                                                                               \
    "each partition keeps only its newest 5 MiB or 100000 message batches (librdkafka's mock drops the "        \
    "oldest past that): give a large capture's topic enough partitions"

/* "P:LOW-HIGH ..." for every partition of topic (LOW > 0: the mock dropped
 * LOW messages from the start of P); *dropped gets their sum. -1 when the
 * topic cannot be described. */
static int partition_offsets(rd_kafka_t *rk, const char *topic, char *out, size_t n, int64_t *dropped)
{
    /* Every topic's metadata, not this one's: asking the mock about one
     * topic creates it. */
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);
    const struct rd_kafka_metadata_topic *t = NULL;
    for (int i = 0; !err && md && i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err)
            t = &md->topics[i];
    if (!t) {
        snprintf(out, n, "%s: %s", topic, rd_kafka_err2str(err ? err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        if (md)
            rd_kafka_metadata_destroy(md);
        return -1;
    }
    size_t at = 0;
    *dropped = 0;
    out[0] = '\0';
    for (int i = 0; i < t->partition_cnt; i++) {
        int32_t part = t->partitions[i].id;
        int64_t lo = -1, hi = -1;
        rd_kafka_query_watermark_offsets(rk, topic, part, &lo, &hi, 10000);
        if (lo > 0)
            *dropped += lo;
        if (at < n)
            at += (size_t)snprintf(out + at, n - at, "%s%d:%lld-%lld", at ? " " : "", (int)part, (long long)lo,
                                   (long long)hi);
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

static rd_kafka_t *client(rd_kafka_mock_cluster_t *mc, char *err, size_t n)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(mc), err, n);
    rd_kafka_conf_set(conf, "log_level", "3", err, n);
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, n);
}

static void command(rd_kafka_mock_cluster_t *mc, int brokers, char *line)
{
    char *argv[8];
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok && argc < 8; tok = strtok(NULL, " \t\r\n"))
        argv[argc++] = tok;
    if (argc == 0)
        return;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (strcmp(argv[0], "topic") == 0 && argc == 3) {
        if (create_topic(mc, argv[1], atoi(argv[2]), brokers) != 0) {
            puts("error: topic not created");
            fflush(stdout);
            return;
        }
    } else if (strcmp(argv[0], "down") == 0 && argc == 2) {
        err = rd_kafka_mock_broker_set_down(mc, atoi(argv[1]));
    } else if (strcmp(argv[0], "up") == 0 && argc == 2) {
        err = rd_kafka_mock_broker_set_up(mc, atoi(argv[1]));
    } else if (strcmp(argv[0], "rtt") == 0 && argc == 3) {
        err = rd_kafka_mock_broker_set_rtt(mc, atoi(argv[1]), atoi(argv[2]));
    } else if (strcmp(argv[0], "errors") == 0 && argc == 4) {
        int key = api_key(argv[1]);
        int count = atoi(argv[2]);
        if (key < 0 || count <= 0 || count > 10000) {
            puts("error: errors API COUNT ERRCODE");
            fflush(stdout);
            return;
        }
        rd_kafka_resp_err_t *codes = malloc((size_t)count * sizeof *codes);
        for (int i = 0; codes && i < count; i++)
            codes[i] = (rd_kafka_resp_err_t)atoi(argv[3]);
        if (codes)
            rd_kafka_mock_push_request_errors_array(mc, (int16_t)key, (size_t)count, codes);
        free(codes);
    } else if (strcmp(argv[0], "topic-error") == 0 && argc == 3) {
        rd_kafka_mock_topic_set_error(mc, argv[1], (rd_kafka_resp_err_t)atoi(argv[2]));
    } else if (strcmp(argv[0], "produce") == 0 && argc == 3) {
        char why[512] = "", offs[4096];
        long n = produce_file(mc, argv[1], argv[2], why, sizeof why);
        int64_t dropped = 0;
        rd_kafka_t *rk = n >= 0 ? client(mc, why, sizeof why) : NULL;
        if (rk && partition_offsets(rk, argv[1], offs, sizeof offs, &dropped) == 0 && dropped > 0) {
            fprintf(stderr, "mock-cluster: warning: %s lost its %lld oldest messages (%s): " KEEP_NOTE "\n", argv[1],
                    (long long)dropped, offs);
        }
        if (rk)
            rd_kafka_destroy(rk);
        if (n < 0)
            printf("error: %s\n", why);
        else if (dropped > 0)
            printf("ok %ld dropped %lld: %s\n", n, (long long)dropped, KEEP_NOTE);
        else
            printf("ok %ld\n", n);
        fflush(stdout);
        return;
    } else if (strcmp(argv[0], "offsets") == 0 && argc == 2) {
        char why[512] = "", offs[4096];
        int64_t dropped = 0;
        rd_kafka_t *rk = client(mc, why, sizeof why);
        if (!rk || partition_offsets(rk, argv[1], offs, sizeof offs, &dropped) != 0)
            printf("error: %s\n", rk ? offs : why);
        else
            printf("ok %s\n", offs);
        if (rk)
            rd_kafka_destroy(rk);
        fflush(stdout);
        return;
    } else if (strcmp(argv[0], "quit") == 0) {
        stop = 1;
    } else {
        puts("error: unknown command");
        fflush(stdout);
        return;
    }
    if (err)
        printf("error: %s\n", rd_kafka_err2str(err));
    else
        puts("ok");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int brokers = 3;
    const char *bootstrap_file = NULL;
    int stay = 0;
    const char *topics[64];
    int n_topics = 0;
    const char *props[32];
    int n_props = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = atoi(argv[++i]);
        else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc && n_topics < 64)
            topics[n_topics++] = argv[++i];
        else if (strcmp(argv[i], "--bootstrap-file") == 0 && i + 1 < argc)
            bootstrap_file = argv[++i];
        else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc && n_props < 32)
            props[n_props++] = argv[++i];
        else if (strcmp(argv[i], "--stay") == 0)
            stay = 1;
        else {
            fprintf(stderr,
                    "usage: mock-cluster [--brokers N] [--topic NAME:PARTITIONS]... [--bootstrap-file F] [--stay] "
                    "[-X property=value]...\n"
                    "Commands on stdin: topic NAME PARTITIONS, produce TOPIC FILE, offsets TOPIC, down ID, up ID, "
                    "rtt ID MS, errors API COUNT ERRCODE, topic-error NAME ERRCODE, quit.\n"
                    "Note: " KEEP_NOTE ".\n");
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "mock-cluster: --brokers 1..16\n");
        return 2;
    }
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    for (int i = 0; i < n_props; i++) {
        char key[256];
        const char *eq = strchr(props[i], '=');
        if (!eq || eq == props[i] || (size_t)(eq - props[i]) >= sizeof key) {
            fprintf(stderr, "mock-cluster: -X %s: expected property=value\n", props[i]);
            rd_kafka_conf_destroy(conf);
            return 2;
        }
        snprintf(key, sizeof key, "%.*s", (int)(eq - props[i]), props[i]);
        if (rd_kafka_conf_set(conf, key, eq + 1, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "mock-cluster: -X %s: %s\n", props[i], errstr);
            rd_kafka_conf_destroy(conf);
            return 2;
        }
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "mock-cluster: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mock-cluster: cannot create the mock cluster\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    for (int i = 0; i < n_topics; i++) {
        char name[256];
        const char *colon = strrchr(topics[i], ':');
        int parts = colon ? atoi(colon + 1) : 1;
        snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - topics[i]) : (int)strlen(topics[i]), topics[i]);
        if (parts < 1 || create_topic(mc, name, parts, brokers) != 0)
            return 1;
    }
    const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
    fprintf(stderr, "mock-cluster: %s\n", KEEP_NOTE);
    printf("%s\n", bootstrap);
    fflush(stdout);
    if (bootstrap_file) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", bootstrap_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%s\n", bootstrap) < 0 || fclose(f) != 0 || rename(tmp, bootstrap_file) != 0) {
            fprintf(stderr, "mock-cluster: cannot write %s: %s\n", bootstrap_file, strerror(errno));
            return 1;
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char line[1024];
    while (!stop) {
        if (!fgets(line, sizeof line, stdin)) {
            if (!stay)
                break;
            /* stdin closed but asked to stay: wait for a signal. */
            while (!stop)
                pause();
            break;
        }
        command(mc, brokers, line);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
