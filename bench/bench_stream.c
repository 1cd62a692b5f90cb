/*
 * bench_stream — the separate processes around `riskgate run` for the
 * streaming benchmark (bench/run.sh BUILD stream; docs/bench-stream.md).
 * One program, three roles, each run as its own process:
 *
 *   bench_stream produce --brokers B --topic T [--partitions N]
 *                        [--rate EV_PER_S --phases NAME:SECONDS,... --sendlog FILE]
 *                        [--linger-ms MS] [--pace-us US] [--count N] [--idle-partition P]
 *                        [--sparse-per-s S] [-X property=value]... CAPTURE
 *       Publishes the capture's lines (JSON Lines, unchanged; a line over
 *       1,000,000 bytes, Kafka's default message.max.bytes, is skipped) to
 *       T, key = the line's "account", partition = librdkafka's default
 *       (consistent_random) partitioner over N (default: T's partitions).
 *       Without --rate: preload, as fast as the cluster takes them (--count
 *       lines, default all), then prints the rate. With --rate (linger.ms
 *       --linger-ms, default 1): paced at that many events/s through
 *       the phases in order (waking every --pace-us, default 200, or when
 *       the next event is due if later, and sending what is due), taking lines in capture order; before each
 *       produce() it writes the send time (CLOCK_REALTIME, us) of that
 *       line into the --sendlog file. Phase kinds:
 *         busy   every partition gets its events;
 *         idle   partition P (--idle-partition, default N-1) gets none:
 *                its events go to P+1 (an account stays in one partition);
 *         sparse as idle, but S events per second (--sparse-per-s,
 *                default 1) still go to P.
 *       A phase is named after its kind (busy, idle, sparse, busy-tail...).
 *       The Kafka message timestamp is librdkafka's create time. With
 *       --live-ts, each line's "ts" and "client_ts" become the send time
 *       (epoch ms): live traffic, whose event time follows the wall clock
 *       (without it the capture's 4 days pass in 25 s of wall time, a
 *       backlog as far as the event-time merge is concerned).
 *
 *   bench_stream latency --brokers B --topic T --capture CAPTURE --sendlog FILE [-X property=value]...
 *                        [--warmup-ms W] [--timeout-s S] [--series FILE] [--stages-topic GROUP.decide]
 *       Creates FILE (one send-time slot per capture line), prints "ready",
 *       then reads T (the action topic) from the beginning, without a
 *       group. For each decision it looks up its "event_id" in the capture
 *       and takes the latest send time the producer wrote for a line with
 *       that id: latency = receipt here - send there (both CLOCK_REALTIME
 *       on this machine), i.e. producer -> broker -> riskgate (fetch,
 *       merge, engine, produce, ack) -> broker -> this consumer. Events
 *       sent in the first W ms of a phase (default 1000) are not counted
 *       in its percentiles (their maximum is printed apart: the cost of
 *       the phase change itself, e.g. a partition going quiet).
 *       Stops when the producer has finished and nothing arrived for 2 s.
 *       Prints one line per phase: decisions and p50/p90/p99/p99.9/max,
 *       and p50/p99 of the part up to the decision's "decided_at" (riskgate's
 *       clock when it wrote the decision; ms, truncated, so up to 1 ms low);
 *       drift_ms = median of the phase's last second - median of its first
 *       counted second (a path that cannot keep up shows as a large drift);
 *       --series writes every sample (phase, ms into the phase when sent,
 *       latency ms, capture line, send and receipt time in us) for a plot.
 *       --stages-topic also reads riskgate's GROUP.decide from the
 *       beginning: the Kafka timestamp (CreateTime: riskgate's clock at
 *       produce(), whole ms) of each event's EVENT record (the ingest task)
 *       and ENRICH record (the entity task) splits each decision's latency
 *       into hops (split_add below); and prints the median over one-second
 *       windows of this consumer's broker round trips (fetch_rtt).
 *
 *   bench_stream watch --brokers B --group G --topic T [--topic T2]... [--timeout-s S]
 *                      [--pid PID]... [--cpu N]
 *       Takes the high watermarks of T (the events to process), then polls
 *       group G's committed offsets every 10 ms until they reach them; then
 *       the same for T2 with its high watermarks as they are at that
 *       moment, and so on. riskgate commits a task's input offset once a
 *       snapshot covering it is durable, and a snapshot only once every
 *       record the input produced (records to the next stage, decisions)
 *       was acknowledged; so with the events topic, GROUP.entities and
 *       GROUP.decide in that order, "all committed" is "every event
 *       evaluated by every stage and every decision delivered: lag 0"
 *       (later records on the internal topics are progress marks of idle
 *       tasks, which never stop). Prints when the first commit came, when
 *       10 %, 90 % and 100 % of the first topic were committed, the steady
 *       rate between 10 % and 90 %, and when each topic was done; with
 *       --pid, the CPU seconds each process used over that steady part;
 *       with --cpu, how busy core N was in all.
 *
 *   bench_stream dump --brokers B --topic T
 *       Prints every message of T (the values, one a line), from the
 *       beginning to the high watermarks it had when it began.
 *
 * The event stream is the capture byte for byte (no id rewriting, so
 * complaint -> transfer references and duplicates behave as in replay);
 * the send times travel beside it in the shared FILE instead.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../stages/record.h"

/* ---- small helpers ---- */

static int64_t wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec t = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

static void die(const char *fmt, const char *a)
{
    fprintf(stderr, "bench_stream: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The capture: non-blank lines, in order, in one buffer. */
typedef struct capture {
    char *data;
    size_t *off;
    size_t *len;
    size_t n;
} capture;

static void capture_free(capture *c)
{
    free(c->data);
    free(c->off);
    free(c->len);
    memset(c, 0, sizeof *c);
}

static void load_capture(const char *path, capture *c)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    struct stat st;
    if (fstat(fileno(f), &st) != 0)
        die("cannot stat %s", path);
    size_t size = (size_t)st.st_size;
    c->data = malloc(size + 1);
    if (!c->data || fread(c->data, 1, size, f) != size)
        die("cannot read %s", path);
    fclose(f);
    c->data[size] = '\n';
    size_t cap = 1 << 16;
    c->off = malloc(cap * sizeof *c->off);
    c->len = malloc(cap * sizeof *c->len);
    c->n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (c->data[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && c->data[end - 1] == '\r')
            end--;
        if (end > start) {
            if (c->n == cap) {
                cap *= 2;
                c->off = realloc(c->off, cap * sizeof *c->off);
                c->len = realloc(c->len, cap * sizeof *c->len);
            }
            if (!c->off || !c->len)
                die("out of memory loading %s", path);
            c->off[c->n] = start;
            c->len[c->n] = end - start;
            c->n++;
        }
        start = i + 1;
    }
}

/* The raw bytes of the JSON string value of "name" in a line, found by a
 * plain search (as tools/mock-cluster.c does): enough for the capture's
 * event_id/account and riskgate's decision JSON. */
static const char *find_str(const char *p, size_t n, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    const char *end = p + n;
    const char *q = p;
    while ((q = memmem(q, (size_t)(end - q), name, nl)) != NULL) {
        const char *v = q + nl;
        q += nl;
        if (q - nl == p || q[-(long)nl - 1] != '"' || v >= end || *v != '"')
            continue;
        v++;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (v >= end || *v != ':')
            continue;
        v++;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (v >= end || *v != '"')
            return NULL;
        const char *s = ++v;
        while (v < end && *v != '"') {
            if (*v == '\\')
                v++;
            v++;
        }
        if (v >= end)
            return NULL;
        *len = (size_t)(v - s);
        return s;
    }
    return NULL;
}

/* ---- the send-time log shared by producer and latency consumer ---- */

#define SENDLOG_MAGIC 0x52474253454e4431ULL /* "RGBSEND1" */
#define MAX_PHASES 16

typedef struct sendlog_hdr {
    uint64_t magic;
    uint64_t n_lines;
    int64_t done_us;                    /* producer finished (0: not yet) */
    int32_t n_phases;                   /* phases begun */
    int32_t pad;
    int64_t phase_first[MAX_PHASES];    /* first line index of each phase */
    int64_t phase_start_us[MAX_PHASES]; /* when it began */
    char phase_name[MAX_PHASES][16];
} sendlog_hdr;

typedef struct sendlog {
    sendlog_hdr *h;
    int64_t *send_us; /* per capture line; 0 = not sent */
    size_t size;
} sendlog;

/* The latency consumer creates the log (written under a temporary name,
 * then renamed, so the producer never maps a half-made file); the
 * producer maps the existing one. */
static void sendlog_map(const char *path, size_t n_lines, bool create, sendlog *s)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(create ? tmp : path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0644);
    if (fd < 0)
        die("cannot open the send log %s", path);
    s->size = sizeof(sendlog_hdr) + n_lines * sizeof(int64_t);
    if (create && ftruncate(fd, (off_t)s->size) != 0)
        die("cannot size the send log %s", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size != s->size)
        die("send log %s does not match the capture (another capture?)", path);
    void *m = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        die("cannot map the send log %s", path);
    s->h = m;
    s->send_us = (int64_t *)((char *)m + sizeof(sendlog_hdr));
    if (create) {
        s->h->n_lines = n_lines;
        __atomic_store_n(&s->h->magic, SENDLOG_MAGIC, __ATOMIC_RELEASE);
        if (rename(tmp, path) != 0)
            die("cannot create the send log %s", path);
    } else if (s->h->magic != SENDLOG_MAGIC || s->h->n_lines != n_lines) {
        die("send log %s does not match the capture (another capture?)", path);
    }
}

/* ---- Kafka helpers ---- */

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char err[512];
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK)
        die("%s", err);
}

/* -X key=value for the benchmark's own clients, applied after their
 * defaults (bench/run.sh passes the settings it measures with). */
#define MAX_PROPS 32
static const char *props[MAX_PROPS];
static int n_props;

static void add_prop(const char *kv)
{
    if (!strchr(kv, '=') || n_props == MAX_PROPS)
        die("-X %s: expected key=value (at most 32)", kv);
    props[n_props++] = kv;
}

static void apply_props(rd_kafka_conf_t *conf)
{
    for (int i = 0; i < n_props; i++) {
        char key[256];
        const char *eq = strchr(props[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - props[i]), props[i]);
        conf_set(conf, key, eq + 1);
    }
}

static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    for (int attempt = 0; attempt < 50 && n <= 0; attempt++) {
        if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (md->topic_cnt == 1 && !md->topics[0].err)
                n = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
        }
        if (n <= 0)
            sleep_us(100000);
    }
    rd_kafka_topic_destroy(rkt);
    if (n <= 0)
        die("no metadata for topic %s", topic);
    return n;
}

/* ---- produce ---- */

typedef struct phase {
    char name[16];
    double seconds;
    int kind; /* 0 busy, 1 idle, 2 sparse */
} phase;

static int parse_phases(const char *spec, phase *ph)
{
    int n = 0;
    char *copy = strdup(spec), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok && n < MAX_PHASES; tok = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(tok, ':');
        if (!colon)
            die("phase %s: expected NAME:SECONDS", tok);
        *colon = '\0';
        memset(ph[n].name, 0, sizeof ph[n].name);
        strncpy(ph[n].name, tok, sizeof ph[n].name - 1);
        ph[n].seconds = atof(colon + 1);
        if (strncmp(tok, "busy", 4) == 0)
            ph[n].kind = 0;
        else if (strncmp(tok, "idle", 4) == 0)
            ph[n].kind = 1;
        else if (strncmp(tok, "sparse", 6) == 0)
            ph[n].kind = 2;
        else
            die("phase %s: the name starts with busy, idle or sparse", tok);
        if (ph[n].seconds <= 0)
            die("phase %s: seconds must be > 0", tok);
        n++;
    }
    free(copy);
    return n;
}

static uint64_t produce_errors;
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        produce_errors++;
}

static void produce_line(rd_kafka_t *p, rd_kafka_topic_t *rkt, int32_t partition, const char *line, size_t len,
                         const char *key, size_t klen)
{
    for (;;) {
        if (rd_kafka_produce(rkt, partition, RD_KAFKA_MSG_F_COPY, (void *)line, len, key, klen, NULL) == 0)
            return;
        if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            die("produce: %s", rd_kafka_err2str(rd_kafka_last_error()));
        rd_kafka_poll(p, 1);
    }
}

/* Copy line into out with the values of its "ts" and "client_ts" keys
 * replaced by now_ms (epoch ms): live traffic, whose event time follows
 * the wall clock (--live-ts). Keys are matched as written by
 * gencapture ("key": right after '{' or ','); a line without them is
 * copied as it is. Returns the new length (out has room for len + 64). */
static size_t live_ts_line(const char *line, size_t len, int64_t now_ms, char *out)
{
    size_t o = 0, i = 0;
    while (i < len) {
        bool key = (line[i] == '{' || line[i] == ',') && i + 1 < len && line[i + 1] == '"';
        size_t klen = 0;
        if (key && len - i > 6 && memcmp(line + i + 1, "\"ts\":", 5) == 0)
            klen = 5;
        else if (key && len - i > 13 && memcmp(line + i + 1, "\"client_ts\":", 12) == 0)
            klen = 12;
        if (!klen) {
            out[o++] = line[i++];
            continue;
        }
        memcpy(out + o, line + i, klen + 1);
        o += klen + 1;
        i += klen + 1;
        /* skip the old value: a string or a number */
        if (i < len && line[i] == '"') {
            for (i++; i < len && line[i] != '"'; i++)
                if (line[i] == '\\')
                    i++;
            i++;
        } else {
            while (i < len && line[i] != ',' && line[i] != '}')
                i++;
        }
        o += (size_t)snprintf(out + o, 24, "%lld", (long long)now_ms);
    }
    return o;
}

/* Kafka's default message.max.bytes: the capture's oversized-line case
 * (events.md) cannot be published to a default topic, so it is skipped. */
#define MAX_MESSAGE_BYTES 1000000

static int cmd_produce(int argc, char **argv)
{
    const char *brokers = NULL, *topic = "riskgate.events", *sendlog_path = NULL, *phases_spec = "busy:5";
    double rate = 0, sparse_per_s = 1;
    const char *linger = "1";
    int64_t pace_us = 200;
    long count = -1;
    int partitions = 0, idle_partition = -1;
    bool live_ts = false;
    static const struct option opts[] = {{"brokers", 1, NULL, 'b'},      {"topic", 1, NULL, 't'},
                                         {"live-ts", 0, NULL, 'L'},
                                         {"partitions", 1, NULL, 'n'},   {"rate", 1, NULL, 'r'},
                                         {"phases", 1, NULL, 'p'},       {"sendlog", 1, NULL, 's'},
                                         {"count", 1, NULL, 'c'},        {"idle-partition", 1, NULL, 'i'},
                                         {"sparse-per-s", 1, NULL, 'S'}, {"linger-ms", 1, NULL, 'l'},
                                         {"pace-us", 1, NULL, 'P'},      {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "X:", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'n': partitions = atoi(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'p': phases_spec = optarg; break;
        case 's': sendlog_path = optarg; break;
        case 'c': count = atol(optarg); break;
        case 'i': idle_partition = atoi(optarg); break;
        case 'S': sparse_per_s = atof(optarg); break;
        case 'l': linger = optarg; break;
        case 'P': pace_us = atol(optarg); break;
        case 'L': live_ts = true; break;
        case 'X': add_prop(optarg); break;
        default: return 2;
        }
    }
    if (!brokers || optind != argc - 1) {
        fprintf(stderr, "usage: bench_stream produce --brokers B [--topic T] [--partitions N] [--rate R --phases "
                        "NAME:S,...] [--sendlog F] [--count N] [--idle-partition P] [--sparse-per-s S] [--live-ts] "
                        "CAPTURE\n");
        return 2;
    }
    capture cap;
    load_capture(argv[optind], &cap);
    size_t n = count >= 0 && (size_t)count < cap.n ? (size_t)count : cap.n;

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", brokers);
    conf_set(conf, "log_level", "3");
    if (rate > 0) {
        /* An upstream service publishing events one by one. */
        conf_set(conf, "linger.ms", linger);
    } else {
        conf_set(conf, "linger.ms", "50");
        conf_set(conf, "batch.num.messages", "10000");
        conf_set(conf, "queue.buffering.max.messages", "1000000");
        conf_set(conf, "queue.buffering.max.kbytes", "1048576");
    }
    apply_props(conf);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (!p)
        die("producer: %s", err);
    int topic_n = topic_partitions(p, topic);
    if (partitions <= 0)
        partitions = topic_n;
    if (idle_partition < 0)
        idle_partition = partitions - 1;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p, topic, NULL);

    if (rate <= 0) {
        int64_t t0 = mono_us();
        size_t skipped = 0;
        for (size_t i = 0; i < n && !stop; i++) {
            const char *line = cap.data + cap.off[i];
            if (cap.len[i] > MAX_MESSAGE_BYTES) {
                skipped++;
                continue;
            }
            size_t klen = 0;
            const char *key = find_str(line, cap.len[i], "account", &klen);
            produce_line(p, rkt, RD_KAFKA_PARTITION_UA, line, cap.len[i], key, key ? klen : 0);
            if ((i & 1023) == 0)
                rd_kafka_poll(p, 0);
        }
        while (rd_kafka_outq_len(p) > 0 && !stop)
            rd_kafka_poll(p, 50);
        double s = (double)(mono_us() - t0) / 1e6;
        printf("preloaded %zu events into %s (%d partitions) in %.2f s (%.0f events/s); %zu lines over %d bytes "
               "skipped; %llu delivery errors\n",
               n - skipped, topic, partitions, s, (double)(n - skipped) / s, skipped, MAX_MESSAGE_BYTES,
               (unsigned long long)produce_errors);
        rd_kafka_topic_destroy(rkt);
        rd_kafka_destroy(p);
        capture_free(&cap);
        return produce_errors ? 1 : 0;
    }

    if (!sendlog_path)
        die("%s", "--rate needs --sendlog (the latency consumer creates it)");
    sendlog sl;
    /* The latency consumer creates the log; wait for it briefly. */
    for (int i = 0; i < 100 && access(sendlog_path, F_OK) != 0; i++)
        sleep_us(100000);
    sendlog_map(sendlog_path, cap.n, false, &sl);
    phase ph[MAX_PHASES];
    int n_ph = parse_phases(phases_spec, ph);
    size_t i = 0;
    for (int k = 0; k < n_ph && i < n && !stop; k++) {
        int64_t start_mono = mono_us();
        sl.h->phase_first[k] = (int64_t)i;
        sl.h->phase_start_us[k] = wall_us();
        memcpy(sl.h->phase_name[k], ph[k].name, sizeof sl.h->phase_name[k]);
        __atomic_store_n(&sl.h->n_phases, k + 1, __ATOMIC_RELEASE);
        uint64_t sent = 0, sparse_sent = 0;
        int64_t len_us = (int64_t)(ph[k].seconds * 1e6);
        for (;;) {
            int64_t t = mono_us() - start_mono;
            if (t >= len_us || i >= n || stop)
                break;
            uint64_t due = (uint64_t)((double)t * rate / 1e6) + 1;
            while (sent < due && i < n) {
                const char *line = cap.data + cap.off[i];
                if (cap.len[i] > MAX_MESSAGE_BYTES) {
                    i++;
                    continue;
                }
                size_t klen = 0;
                const char *key = find_str(line, cap.len[i], "account", &klen);
                int32_t part = rd_kafka_msg_partitioner_consistent_random(rkt, key, key ? klen : 0, partitions,
                                                                          NULL, NULL);
                if (part == idle_partition && ph[k].kind != 0) {
                    uint64_t allowed = ph[k].kind == 2 ? (uint64_t)((double)t * sparse_per_s / 1e6) + 1 : 0;
                    if (sparse_sent < allowed)
                        sparse_sent++;
                    else {
                        part = (part + 1) % partitions;
                    }
                }
                int64_t send_us = wall_us();
                __atomic_store_n(&sl.send_us[i], send_us, __ATOMIC_RELEASE);
                if (live_ts) {
                    static char live[MAX_MESSAGE_BYTES + 64];
                    size_t llen = live_ts_line(line, cap.len[i], send_us / 1000, live);
                    produce_line(p, rkt, part, live, llen, key, key ? klen : 0);
                } else {
                    produce_line(p, rkt, part, line, cap.len[i], key, key ? klen : 0);
                }
                sent++;
                i++;
            }
            rd_kafka_poll(p, 0);
            /* Sleep until the next event is due, but at least pace_us:
             * waiting for each event (50 us apart at 20k/s) by spinning
             * kept core 1, which the mock cluster and the consumer share,
             * 100% busy, and their wake-ups then waited for the scheduler
             * (milliseconds). The events due meanwhile go out together;
             * each one's send time is taken just before its produce(). */
            int64_t next = (int64_t)((double)due * 1e6 / rate);
            int64_t now = mono_us() - start_mono;
            sleep_us((next > now + pace_us ? next : now + pace_us) - now);
        }
        double s = (double)(mono_us() - start_mono) / 1e6;
        fprintf(stderr, "bench_stream produce: phase %s: %llu events in %.2f s (%.0f/s)", ph[k].name,
                (unsigned long long)sent, s, (double)sent / s);
        if (ph[k].kind != 0)
            fprintf(stderr, ", %llu of them to partition %d", (unsigned long long)sparse_sent, idle_partition);
        fputc('\n', stderr);
        if (i >= n && k + 1 < n_ph)
            fprintf(stderr, "bench_stream produce: the capture ran out during phase %s\n", ph[k].name);
    }
    rd_kafka_flush(p, 30000);
    __atomic_store_n(&sl.h->done_us, wall_us(), __ATOMIC_RELEASE);
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(p);
    capture_free(&cap);
    if (produce_errors)
        fprintf(stderr, "bench_stream produce: %llu delivery errors\n", (unsigned long long)produce_errors);
    return produce_errors ? 1 : 0;
}

/* ---- latency ---- */

/* event_id -> first line index with that id; next_dup chains the others. */
typedef struct idmap {
    const capture *cap;
    const char **id;
    size_t *id_len;
    int64_t *slot;     /* hash table of line indices, -1 empty */
    size_t mask;
    int64_t *next_dup; /* per line: next line with the same id, -1 none */
} idmap;

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    return h;
}

static void idmap_build(idmap *m, const capture *c)
{
    m->cap = c;
    m->id = calloc(c->n, sizeof *m->id);
    m->id_len = calloc(c->n, sizeof *m->id_len);
    m->next_dup = malloc(c->n * sizeof *m->next_dup);
    size_t size = 1;
    while (size < c->n * 2 + 2)
        size <<= 1;
    m->slot = malloc(size * sizeof *m->slot);
    m->mask = size - 1;
    if (!m->id || !m->id_len || !m->next_dup || !m->slot)
        die("%s", "out of memory");
    memset(m->slot, 0xff, size * sizeof *m->slot);
    int64_t *last = malloc(c->n * sizeof *last); /* per first index: last of its chain */
    for (size_t i = 0; i < c->n; i++) {
        m->next_dup[i] = -1;
        size_t len = 0;
        const char *id = find_str(c->data + c->off[i], c->len[i], "event_id", &len);
        if (!id)
            continue;
        m->id[i] = id;
        m->id_len[i] = len;
        size_t h = hash_bytes(id, len) & m->mask;
        while (m->slot[h] >= 0) {
            int64_t j = m->slot[h];
            if (m->id_len[j] == len && memcmp(m->id[j], id, len) == 0)
                break;
            h = (h + 1) & m->mask;
        }
        if (m->slot[h] < 0) {
            m->slot[h] = (int64_t)i;
            last[i] = (int64_t)i;
        } else {
            int64_t first = m->slot[h];
            m->next_dup[last[first]] = (int64_t)i;
            last[first] = (int64_t)i;
        }
    }
    free(last);
}

static int64_t idmap_find(const idmap *m, const char *id, size_t len)
{
    size_t h = hash_bytes(id, len) & m->mask;
    while (m->slot[h] >= 0) {
        int64_t j = m->slot[h];
        if (m->id_len[j] == len && memcmp(m->id[j], id, len) == 0)
            return j;
        h = (h + 1) & m->mask;
    }
    return -1;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}
#define cmp_i64_fwd cmp_i64

/* Sort n latencies; an empty set may have no array (a phase that got no
 * sample under load), and qsort must not be given NULL. */
static void sort_i64(int64_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_i64);
}

typedef struct samples {
    int64_t *v;
    int64_t *at; /* send time into the phase, us (for the drift) */
    size_t n, cap;
} samples;

static void samples_add(samples *s, int64_t v, int64_t at)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        s->at = realloc(s->at, s->cap * sizeof *s->at);
        if (!s->v || !s->at)
            die("%s", "out of memory");
    }
    s->at[s->n] = at;
    s->v[s->n++] = v;
}

/* Median latency (ms) of the samples sent in [from, to) us into the phase. */
static double median_between(const samples *s, int64_t from, int64_t to)
{
    samples w = {0};
    for (size_t i = 0; i < s->n; i++)
        if (s->at[i] >= from && s->at[i] < to)
            samples_add(&w, s->v[i], 0);
    double m = NAN;
    if (w.n) {
        int64_t *v = w.v;
        qsort(v, w.n, sizeof *v, cmp_i64_fwd);
        m = (double)v[(w.n - 1) / 2] / 1000.0;
    }
    free(w.v);
    free(w.at);
    return m;
}


static double pct_ms(const samples *s, double q)
{
    if (!s->n)
        return NAN;
    size_t k = (size_t)ceil(q * (double)s->n);
    if (k < 1)
        k = 1;
    if (k > s->n)
        k = s->n;
    return (double)s->v[k - 1] / 1000.0;
}

/* "decided_at" (UTC, ms: 2026-11-23T10:45:41.381Z) as epoch ms; -1 if absent. */
static int64_t decided_at_ms(const char *p, size_t n)
{
    size_t len = 0;
    const char *v = find_str(p, n, "decided_at", &len);
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof tm);
    if (!v || len < 24 || sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                                 &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* The stage records seen on <group>.decide (--stages-topic): when the
 * ingest task produced each event's EVENT record and the entity task its
 * ENRICH record (their Kafka CreateTime: riskgate's clock at produce(),
 * whole ms), so a decision's latency splits into hops. */
typedef struct stage_times {
    int64_t *ingest_ms;      /* per capture line: EVENT produced (0: not seen) */
    int32_t *src_part;       /* per capture line: its events partition */
    int64_t *src_off;        /* ... and offset */
    int64_t **enrich_ms;     /* per events partition, per offset: ENRICH produced */
    size_t *enrich_cap;
    int n_parts;
    uint64_t events, enriches, bad;
} stage_times;

static void stage_times_init(stage_times *st, size_t n_lines, int n_parts)
{
    st->ingest_ms = calloc(n_lines, sizeof *st->ingest_ms);
    st->src_part = calloc(n_lines, sizeof *st->src_part);
    st->src_off = calloc(n_lines, sizeof *st->src_off);
    st->enrich_ms = calloc((size_t)n_parts, sizeof *st->enrich_ms);
    st->enrich_cap = calloc((size_t)n_parts, sizeof *st->enrich_cap);
    st->n_parts = n_parts;
    if (!st->ingest_ms || !st->src_part || !st->src_off || !st->enrich_ms || !st->enrich_cap)
        die("%s", "out of memory");
}

static int64_t *enrich_slot(stage_times *st, int32_t part, int64_t off)
{
    if (part < 0 || part >= st->n_parts || off < 0 || off > (int64_t)1 << 32)
        return NULL;
    size_t need = (size_t)off + 1, cap = st->enrich_cap[part];
    if (need > cap) {
        size_t ncap = cap ? cap : 65536;
        while (ncap < need)
            ncap *= 2;
        int64_t *p = realloc(st->enrich_ms[part], ncap * sizeof *p);
        if (!p)
            die("%s", "out of memory");
        memset(p + cap, 0, (ncap - cap) * sizeof *p);
        st->enrich_ms[part] = p;
        st->enrich_cap[part] = ncap;
    }
    return &st->enrich_ms[part][off];
}

static int64_t latest_sent_line(const idmap *map, const sendlog *sl, int64_t first, int64_t *sent_at);

static void stage_record(stage_times *st, const idmap *map, const sendlog *sl, const rd_kafka_message_t *m)
{
    rg_rec r;
    char err[128];
    if (rg_rec_decode(m->payload, m->len, &r, err, sizeof err) != 0) {
        st->bad++;
        return;
    }
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    if (r.kind == RG_REC_EVENT) {
        size_t len = 0;
        const char *id = r.raw ? find_str(r.raw, r.raw_len, "event_id", &len) : NULL;
        int64_t first = id ? idmap_find(map, id, len) : -1, sent_at = 0;
        int64_t line = first >= 0 ? latest_sent_line(map, sl, first, &sent_at) : -1;
        if (line >= 0 && !st->ingest_ms[line]) {
            st->ingest_ms[line] = ts;
            st->src_part[line] = r.src_partition;
            st->src_off[line] = r.src_offset;
            st->events++;
        }
    } else if (r.kind == RG_REC_ENRICH) {
        int64_t *slot = enrich_slot(st, r.src_partition, r.src_offset);
        if (slot && !*slot) {
            *slot = ts;
            st->enriches++;
        }
    }
}

/* The consumer's broker round trips (librdkafka statistics, one window a
 * second): for a consumer, its fetches, waits included. */
typedef struct rtt_windows {
    samples p50, p99;
} rtt_windows;
static rtt_windows rtts;

static int on_latency_stats(rd_kafka_t *rk, char *json, size_t json_len, void *opaque)
{
    (void)rk;
    (void)opaque;
    json_t *root = json_loadb(json, json_len, 0, NULL);
    const char *name;
    json_t *b;
    json_object_foreach(json_object_get(root, "brokers"), name, b)
    {
        json_t *rtt = json_object_get(b, "rtt");
        if (json_integer_value(json_object_get(b, "nodeid")) < 0 || json_integer_value(json_object_get(rtt, "cnt")) <= 0)
            continue;   /* the bootstrap entry, or nothing sent this window */
        samples_add(&rtts.p50, json_integer_value(json_object_get(rtt, "p50")), 0);
        samples_add(&rtts.p99, json_integer_value(json_object_get(rtt, "p99")), 0);
    }
    json_decref(root);
    return 0;
}

/* The latest line with the id of line first (a chain of duplicates) that
 * the producer has sent: its index and send time (us), or -1. */
static int64_t latest_sent_line(const idmap *map, const sendlog *sl, int64_t first, int64_t *sent_at)
{
    int64_t line = -1;
    *sent_at = 0;
    for (int64_t j = first; j >= 0; j = map->next_dup[j]) {
        int64_t t = __atomic_load_n(&sl->send_us[j], __ATOMIC_ACQUIRE);
        if (t) {
            *sent_at = t;
            line = j;
        }
    }
    return line;
}

/* One decision read from the action topic. */
typedef struct got {
    int64_t line, sent_us, recv_us, decided_ms;
    int phase;
} got;

/* The per-hop split of one phase (us), from the stage records. */
typedef struct split {
    samples in, ent, dec, own, out;
} split;

static void split_free(split *sp)
{
    samples *all[] = {&sp->in, &sp->ent, &sp->dec, &sp->own, &sp->out};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        free(all[i]->v);
        free(all[i]->at);
    }
}

static void split_print(split *sp)
{
    struct {
        const char *name;
        samples *s;
    } parts[] = {{"in", &sp->in}, {"ent", &sp->ent}, {"dec", &sp->dec}, {"own", &sp->own}, {"out", &sp->out}};
    printf(" split_n=%zu", sp->own.n);
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        sort_i64(parts[i].s->v, parts[i].s->n);
        printf(" %s_n=%zu %s_p50_ms=%.1f %s_p99_ms=%.1f", parts[i].name, parts[i].s->n, parts[i].name,
               pct_ms(parts[i].s, 0.5), parts[i].name, pct_ms(parts[i].s, 0.99));
    }
}

/* Where the decision of line g->line spent its time, from the stage
 * records (all ms stamps but the send and receipt times):
 *   in   send -> the ingest task's produce() of its EVENT record
 *   ent  EVENT produced -> the entity task's produce() of its ENRICH
 *        (the entities hop, the entity merge, the evaluation)
 *   dec  the later of the two -> decided_at (the decide hop, decide)
 *   own  EVENT produced -> decided_at: riskgate's part after ingest
 *   out  decided_at -> read here (the action hop). */
static void split_add(split *sp, stage_times *st, const got *g)
{
    int64_t ing = st->ingest_ms[g->line];
    if (!ing || g->decided_ms <= 0)
        return;
    int64_t *enr = enrich_slot(st, st->src_part[g->line], st->src_off[g->line]);
    int64_t before_decide = ing;
    samples_add(&sp->in, ing * 1000 - g->sent_us, 0);
    if (enr && *enr) {
        samples_add(&sp->ent, (*enr - ing) * 1000, 0);
        if (*enr > before_decide)
            before_decide = *enr;
    }
    samples_add(&sp->dec, (g->decided_ms - before_decide) * 1000, 0);
    samples_add(&sp->own, (g->decided_ms - ing) * 1000, 0);
    samples_add(&sp->out, g->recv_us - g->decided_ms * 1000, 0);
}

static int cmd_latency(int argc, char **argv)
{
    const char *brokers = NULL, *topic = "riskgate.actions", *capture_path = NULL, *sendlog_path = NULL;
    const char *series_path = NULL, *stages_topic = NULL;
    int64_t warmup_ms = 1000, timeout_s = 300;
    static const struct option opts[] = {{"brokers", 1, NULL, 'b'},   {"topic", 1, NULL, 't'},
                                         {"capture", 1, NULL, 'c'},   {"sendlog", 1, NULL, 's'},
                                         {"warmup-ms", 1, NULL, 'w'}, {"timeout-s", 1, NULL, 'T'},
                                         {"series", 1, NULL, 'S'},    {"stages-topic", 1, NULL, 'G'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "X:", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        case 'c': capture_path = optarg; break;
        case 's': sendlog_path = optarg; break;
        case 'w': warmup_ms = atol(optarg); break;
        case 'T': timeout_s = atol(optarg); break;
        case 'S': series_path = optarg; break;
        case 'G': stages_topic = optarg; break;
        case 'X': add_prop(optarg); break;
        default: return 2;
        }
    }
    FILE *series = series_path ? fopen(series_path, "w") : NULL;
    if (series_path && !series)
        die("cannot write %s", series_path);
    if (!brokers || !capture_path || !sendlog_path) {
        fprintf(stderr, "usage: bench_stream latency --brokers B [--topic T] --capture C --sendlog F [--warmup-ms W] "
                        "[--timeout-s S] [--series F] [--stages-topic GROUP.decide]\n");
        return 2;
    }
    capture cap;
    load_capture(capture_path, &cap);
    idmap map;
    idmap_build(&map, &cap);
    sendlog sl;
    sendlog_map(sendlog_path, cap.n, true, &sl);
    stage_times st = {0};
    if (stages_topic)
        stage_times_init(&st, cap.n, 256);

    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", brokers);
    conf_set(conf, "group.id", "bench-stream-latency");
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.partition.eof", "false");
    conf_set(conf, "log_level", "3");
    /* The mock cluster answers an empty Fetch only after fetch.wait.max.ms
     * (a real broker answers as soon as data arrives): keep it short. */
    conf_set(conf, "fetch.wait.max.ms", "1");
    conf_set(conf, "statistics.interval.ms", "1000");
    apply_props(conf);
    rd_kafka_conf_set_stats_cb(conf, on_latency_stats);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die("consumer: %s", err);
    rd_kafka_poll_set_consumer(rk);   /* statistics are served by consumer_poll too */
    const char *assigned[2] = {topic, stages_topic};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < 2 && assigned[t]; t++) {
        int n_parts = topic_partitions(rk, assigned[t]);
        for (int i = 0; i < n_parts; i++)
            rd_kafka_topic_partition_list_add(l, assigned[t], i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        die("assign: %s", rd_kafka_err2str(e));
    printf("ready\n");
    fflush(stdout);

    got *gots = NULL;
    size_t n_got = 0, cap_got = 0;
    uint64_t received = 0, unmatched = 0, unsent = 0;
    int64_t last_rx = 0, deadline = mono_us() + timeout_s * 1000000;
    while (!stop && mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        int64_t now = wall_us();
        if (!m) {
            int64_t done = __atomic_load_n(&sl.h->done_us, __ATOMIC_ACQUIRE);
            if (done && now - done > 2000000 && (!last_rx || now - last_rx > 2000000))
                break;
            continue;
        }
        if (m->err) {
            fprintf(stderr, "bench_stream latency: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (stages_topic && strcmp(rd_kafka_topic_name(m->rkt), stages_topic) == 0) {
            /* Not a receipt: progress marks never stop coming. */
            stage_record(&st, &map, &sl, m);
            rd_kafka_message_destroy(m);
            continue;
        }
        received++;
        last_rx = now;
        size_t len = 0;
        const char *id = find_str(m->payload, m->len, "event_id", &len);
        int64_t i = id ? idmap_find(&map, id, len) : -1;
        int64_t decided_ms = decided_at_ms(m->payload, m->len);
        rd_kafka_message_destroy(m);
        if (i < 0) {
            unmatched++;
            continue;
        }
        int64_t sent_at, line = latest_sent_line(&map, &sl, i, &sent_at);
        if (line < 0) {
            unsent++;
            continue;
        }
        int n_ph = __atomic_load_n(&sl.h->n_phases, __ATOMIC_ACQUIRE);
        int k = 0;
        while (k + 1 < n_ph && sl.h->phase_first[k + 1] <= line)
            k++;
        if (series)
            fprintf(series, "%d %.3f %.3f %lld %lld %lld\n", k, (double)(sent_at - sl.h->phase_start_us[k]) / 1000.0,
                    (double)(now - sent_at) / 1000.0, (long long)line, (long long)sent_at, (long long)now);
        if (n_got == cap_got) {
            cap_got = cap_got ? cap_got * 2 : 65536;
            gots = realloc(gots, cap_got * sizeof *gots);
            if (!gots)
                die("%s", "out of memory");
        }
        gots[n_got++] = (got){.line = line, .sent_us = sent_at, .recv_us = now, .decided_ms = decided_ms, .phase = k};
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (series)
        fclose(series);

    /* Per phase; a stage record may have come after its decision, so the
     * split is made once everything is read. */
    samples by_phase[MAX_PHASES] = {{0}}, to_decided[MAX_PHASES] = {{0}};
    split sp[MAX_PHASES];
    memset(sp, 0, sizeof sp);
    int64_t warm_max[MAX_PHASES] = {0};
    uint64_t warm = 0;
    for (size_t g = 0; g < n_got; g++) {
        const got *x = &gots[g];
        int k = x->phase;
        int64_t lat = x->recv_us - x->sent_us;
        if (x->sent_us - sl.h->phase_start_us[k] < warmup_ms * 1000) {
            if (lat > warm_max[k])
                warm_max[k] = lat;
            warm++;
            continue;
        }
        samples_add(&by_phase[k], lat, x->sent_us - sl.h->phase_start_us[k]);
        if (x->decided_ms > 0)
            samples_add(&to_decided[k], x->decided_ms * 1000 - x->sent_us, 0);
        if (stages_topic)
            split_add(&sp[k], &st, x);
    }
    free(gots);
    int n_ph = sl.h->n_phases;
    printf("decisions received %llu (not counted: %llu in warm-up, %llu unmatched ids, %llu never sent)\n",
           (unsigned long long)received, (unsigned long long)warm, (unsigned long long)unmatched,
           (unsigned long long)unsent);
    if (stages_topic)
        printf("stage records: %llu EVENT, %llu ENRICH matched, %llu not riskgate's\n", (unsigned long long)st.events,
               (unsigned long long)st.enriches, (unsigned long long)st.bad);
    for (int k = 0; k < n_ph; k++) {
        samples *s = &by_phase[k], *d = &to_decided[k];
        /* Drift: the median of the phase's last counted second against its
         * first; a path that cannot keep up shows as a growing latency. */
        int64_t last_at = 0;
        for (size_t i = 0; i < s->n; i++)
            if (s->at[i] > last_at)
                last_at = s->at[i];
        double drift = median_between(s, last_at - 1000000, last_at + 1) -
                       median_between(s, warmup_ms * 1000, warmup_ms * 1000 + 1000000);
        sort_i64(s->v, s->n);
        sort_i64(d->v, d->n);
        printf("phase=%s decisions=%zu p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f "
               "warmup_max_ms=%.2f decided_p50_ms=%.1f decided_p99_ms=%.1f drift_ms=%.1f",
               sl.h->phase_name[k], s->n, pct_ms(s, 0.5), pct_ms(s, 0.9), pct_ms(s, 0.99), pct_ms(s, 0.999),
               pct_ms(s, 1.0), (double)warm_max[k] / 1000.0, pct_ms(d, 0.5), pct_ms(d, 0.99), drift);
        if (stages_topic)
            split_print(&sp[k]);
        putchar('\n');
        free(s->v);
        free(s->at);
        free(d->v);
        free(d->at);
        split_free(&sp[k]);
    }
    /* The median over the one-second windows of this consumer's broker
     * round trips (its fetches: fetch.wait.max.ms included). */
    if (rtts.p50.n) {
        sort_i64(rtts.p50.v, rtts.p50.n);
        sort_i64(rtts.p99.v, rtts.p99.n);
        printf("fetch_rtt windows=%zu p50_ms=%.2f p99_ms=%.2f\n", rtts.p50.n, pct_ms(&rtts.p50, 0.5),
               pct_ms(&rtts.p99, 0.5));
    }
    munmap(sl.h, sl.size);
    return received ? 0 : 1;
}

/* ---- watch (throughput) ---- */

/* CPU ticks used by process pid (user + system), -1 if unknown. */
static long long proc_ticks(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    /* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* Busy and total ticks of one core from /proc/stat. */
static int core_ticks(int cpu, long long *busy, long long *total)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return -1;
    char line[512], name[16];
    snprintf(name, sizeof name, "cpu%d ", cpu);
    int rc = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, name, strlen(name)) != 0)
            continue;
        long long v[8] = {0};
        if (sscanf(line + strlen(name), "%lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4],
                   &v[5], &v[6], &v[7]) >= 4) {
            *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
            *busy = *total - v[3] - v[4];
            rc = 0;
        }
        break;
    }
    fclose(f);
    return rc;
}

/* One watched topic: its partitions, their high watermarks when its turn
 * came (the target), and when the group's committed offsets reached them. */
typedef struct watched {
    const char *topic;
    int n_parts;
    int64_t *lo, *target;
    int64_t total;      /* sum of target - lo */
    int64_t begin_us, done_us;
} watched;

static void watched_targets(rd_kafka_t *rk, watched *w)
{
    w->total = 0;
    for (int i = 0; i < w->n_parts; i++) {
        int64_t l, h;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, w->topic, i, &l, &h, 10000);
        if (e)
            die("watermarks: %s", rd_kafka_err2str(e));
        w->lo[i] = l;
        w->target[i] = h;
        w->total += h - l;
    }
    w->begin_us = wall_us();
}

/* Messages committed past each partition's low watermark, capped at the
 * target; -1 if the coordinator did not answer. */
static int64_t watched_done(rd_kafka_t *rk, const watched *w, rd_kafka_topic_partition_list_t *l)
{
    for (int i = 0; i < w->n_parts; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
    if (rd_kafka_committed(rk, l, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return -1;
    int64_t done = 0;
    for (int i = 0; i < w->n_parts; i++) {
        int32_t p = l->elems[i].partition;
        int64_t c = l->elems[i].offset;
        if (c > w->lo[p])
            done += (c < w->target[p] ? c : w->target[p]) - w->lo[p];
    }
    return done;
}

#define MAX_WATCH 8

static int cmd_watch(int argc, char **argv)
{
    const char *brokers = NULL, *group = "riskgate";
    watched topics[MAX_WATCH];
    int n_topics = 0, pids[MAX_WATCH], n_pids = 0, cpu = -1;
    int64_t timeout_s = 300;
    static const struct option opts[] = {{"brokers", 1, NULL, 'b'}, {"group", 1, NULL, 'g'}, {"topic", 1, NULL, 't'},
                                         {"timeout-s", 1, NULL, 'T'}, {"pid", 1, NULL, 'P'},  {"cpu", 1, NULL, 'C'},
                                         {NULL, 0, NULL, 0}};
    int o;
    memset(topics, 0, sizeof topics);
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = optarg; break;
        case 'g': group = optarg; break;
        case 't':
            if (n_topics == MAX_WATCH)
                die("%s", "at most 8 --topic");
            topics[n_topics++].topic = optarg;
            break;
        case 'T': timeout_s = atol(optarg); break;
        case 'P':
            if (n_pids == MAX_WATCH)
                die("%s", "at most 8 --pid");
            pids[n_pids++] = atoi(optarg);
            break;
        case 'C': cpu = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!brokers || !n_topics) {
        fprintf(stderr, "usage: bench_stream watch --brokers B --group G --topic T [--topic T2]... [--timeout-s S] "
                        "[--pid PID]... [--cpu N]\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", brokers);
    conf_set(conf, "group.id", group); /* only to read its offsets: never subscribes */
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "log_level", "3");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die("consumer: %s", err);
    for (int k = 0; k < n_topics; k++) {
        watched *w = &topics[k];
        w->n_parts = topic_partitions(rk, w->topic);
        w->lo = calloc((size_t)w->n_parts, sizeof *w->lo);
        w->target = calloc((size_t)w->n_parts, sizeof *w->target);
        if (!w->lo || !w->target)
            die("%s", "out of memory");
    }
    watched_targets(rk, &topics[0]);
    printf("watching group %s on %s: %lld messages in %d partitions, then", group, topics[0].topic,
           (long long)topics[0].total, topics[0].n_parts);
    for (int k = 1; k < n_topics; k++)
        printf(" %s", topics[k].topic);
    printf("\n");
    fflush(stdout);
    int64_t t_first = 0, t10 = 0, t90 = 0, c10 = 0, c90 = 0;
    long long p10[MAX_WATCH] = {0}, p90[MAX_WATCH] = {0}, busy10 = 0, busy90 = 0, tot10 = 0, tot90 = 0;
    int64_t deadline = mono_us() + timeout_s * 1000000;
    int k = 0;
    rd_kafka_topic_partition_list_t *l = NULL;
    while (!stop && mono_us() < deadline && k < n_topics) {
        watched *w = &topics[k];
        if (!l) {
            l = rd_kafka_topic_partition_list_new(w->n_parts);
            for (int i = 0; i < w->n_parts; i++)
                rd_kafka_topic_partition_list_add(l, w->topic, i);
        }
        int64_t done = watched_done(rk, w, l);
        int64_t now = wall_us();
        if (done < 0) {
            sleep_us(10000);
            continue;
        }
        /* The first topic (the events) also gives the steady rate. */
        if (k == 0 && done > 0 && !t_first)
            t_first = now;
        if (k == 0 && !t10 && done * 10 >= w->total) {
            t10 = now, c10 = done;
            for (int i = 0; i < n_pids; i++)
                p10[i] = proc_ticks(pids[i]);
            if (cpu >= 0)
                core_ticks(cpu, &busy10, &tot10);
        }
        if (k == 0 && !t90 && done * 10 >= w->total * 9) {
            t90 = now, c90 = done;
            for (int i = 0; i < n_pids; i++)
                p90[i] = proc_ticks(pids[i]);
            if (cpu >= 0)
                core_ticks(cpu, &busy90, &tot90);
        }
        if (done < w->total) {
            sleep_us(10000);
            continue;
        }
        /* This topic is done: the next one's target is its high watermark
         * now, i.e. everything the stages before it have written (later
         * records are progress marks of idle tasks, which never stop). */
        w->done_us = now;
        rd_kafka_topic_partition_list_destroy(l);
        l = NULL;
        if (++k < n_topics)
            watched_targets(rk, &topics[k]);
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_destroy(rk);
    for (int i = 0; i < n_topics; i++) {
        free(topics[i].lo);
        free(topics[i].target);
        topics[i].lo = topics[i].target = NULL;
    }
    if (k < n_topics) {
        printf("not all committed before the timeout (%s)\n", topics[k].topic);
        return 1;
    }
    double steady = t90 > t10 ? (double)(c90 - c10) / ((double)(t90 - t10) / 1e6) : NAN;
    printf("events=%lld first_commit_us=%lld t10_us=%lld t90_us=%lld done_us=%lld steady_events_per_s=%.0f",
           (long long)topics[0].total, (long long)t_first, (long long)t10, (long long)t90,
           (long long)topics[n_topics - 1].done_us, steady);
    for (int i = 0; i < n_topics; i++)
        printf(" topic%d=%s topic%d_messages=%lld topic%d_done_us=%lld", i, topics[i].topic, i,
               (long long)topics[i].total, i, (long long)topics[i].done_us);
    /* Over the steady part: each process's share of one core, and how busy
     * core N was in all (the rest is other processes). */
    long long tk = 0;
    if (cpu >= 0 && tot90 > tot10)
        tk = tot90 - tot10;
    for (int i = 0; i < n_pids; i++)
        if (p10[i] >= 0 && p90[i] >= 0 && t90 > t10)
            printf(" steady_pid%d_cpu_s=%.2f", i, (double)(p90[i] - p10[i]) / (double)sysconf(_SC_CLK_TCK));
    if (tk)
        printf(" steady_core_busy_pct=%.0f", 100.0 * (double)(busy90 - busy10) / (double)tk);
    putchar('\n');
    return 0;
}

/* ---- dump ---- */

static int cmd_dump(int argc, char **argv)
{
    const char *brokers = NULL, *topic = NULL;
    static const struct option opts[] = {{"brokers", 1, NULL, 'b'}, {"topic", 1, NULL, 't'}, {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'b': brokers = optarg; break;
        case 't': topic = optarg; break;
        default: return 2;
        }
    }
    if (!brokers || !topic) {
        fprintf(stderr, "usage: bench_stream dump --brokers B --topic T\n");
        return 2;
    }
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", brokers);
    conf_set(conf, "group.id", "bench-stream-dump");
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.partition.eof", "false");
    conf_set(conf, "log_level", "3");
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
    if (!rk)
        die("consumer: %s", err);
    int n = topic_partitions(rk, topic);
    int64_t *end = calloc((size_t)n, sizeof *end), left = 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++) {
        int64_t lo, hi;
        if (rd_kafka_query_watermark_offsets(rk, topic, i, &lo, &hi, 10000))
            die("watermarks of %s", topic);
        end[i] = hi;
        left += hi > lo;
        if (hi > lo)
            rd_kafka_topic_partition_list_add(l, topic, i)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (l->cnt && rd_kafka_assign(rk, l))
        die("assign %s", topic);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t deadline = mono_us() + 120 * 1000000LL;
    while (left > 0 && !stop && mono_us() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (!m->err) {
            fwrite(m->payload, 1, m->len, stdout);
            putchar('\n');
            if (m->offset + 1 == end[m->partition])
                left--;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(end);
    if (left > 0)
        die("%s: not read to its end within 120 s", topic);
    return 0;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (argc >= 2 && strcmp(argv[1], "produce") == 0)
        return cmd_produce(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "latency") == 0)
        return cmd_latency(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "watch") == 0)
        return cmd_watch(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "dump") == 0)
        return cmd_dump(argc - 1, argv + 1);
    fprintf(stderr, "usage: bench_stream produce|latency|watch|dump ... (see the comment at the top of bench_stream.c)\n");
    return 2;
}
