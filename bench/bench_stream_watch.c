/*
 * bench_stream watch and dump — the two roles that only read Kafka's
 * state: watch polls a group's committed offsets until every watched
 * topic is at lag 0 and prints the throughput and CPU figures; dump
 * prints a topic's messages (the usage comment in bench_stream.c says
 * how). Roles of bench_stream, in their own file.
 */
#include "bench_stream.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int cmd_watch(int argc, char **argv)
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

int cmd_dump(int argc, char **argv)
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
