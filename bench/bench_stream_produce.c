/*
 * bench_stream produce — publishes the capture to the events topic, as a
 * preload or paced through phases, writing each line's send time into the
 * send log (the usage comment in bench_stream.c says how). One role of
 * bench_stream, in its own file so the program's roles read apart.
 */
#include "bench_stream.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int cmd_produce(int argc, char **argv)
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
