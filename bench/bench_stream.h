/*
 * bench_stream.h — what the files of bench_stream share (the program and
 * its roles: bench_stream.c). bench_stream_common.c defines the helpers
 * below; each role is one cmd_* in its own file (produce, latency, watch
 * and dump), called by main with its arguments. Helpers that fail print
 * "bench_stream: ..." and exit: this is a benchmark program, not library
 * code.
 */
#ifndef RG_BENCH_STREAM_H
#define RG_BENCH_STREAM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the roles (argv[0] is the role's name) ---- */
int cmd_produce(int argc, char **argv);
int cmd_latency(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_dump(int argc, char **argv);

/* ---- clocks, exit, signals ---- */
int64_t wall_us(void);  /* CLOCK_REALTIME, us: compared across processes */
int64_t mono_us(void);  /* CLOCK_MONOTONIC, us: durations in one process */
void sleep_us(int64_t us);
/* Prints "bench_stream: " fmt (with a) and exits 1. */
void die(const char *fmt, const char *a);
/* Set by on_signal (SIGTERM, SIGINT; main installs it): the loops end. */
extern volatile sig_atomic_t stop;
void on_signal(int sig);

/* The capture: non-blank lines, in order, in one buffer. */
typedef struct capture {
    char *data;
    size_t *off;
    size_t *len;
    size_t n;
} capture;

/* Loads path (dies if it cannot); capture_free releases it. */
void load_capture(const char *path, capture *c);
void capture_free(capture *c);
/* The raw bytes of the JSON string value of "name" in a line, found by a
 * plain search (as tools/mock-cluster.c does): enough for the capture's
 * event_id/account and riskgate's decision JSON. */
const char *find_str(const char *p, size_t n, const char *name, size_t *len);

/* ---- the send-time log shared by producer and latency consumer ---- */

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

/* The latency consumer creates the log (create = true), the producer maps
 * the existing one; both die if it does not match the capture. */
void sendlog_map(const char *path, size_t n_lines, bool create, sendlog *s);

/* ---- Kafka helpers ---- */

void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v);
/* -X key=value, kept for apply_props (at most 32). */
void add_prop(const char *kv);
void apply_props(rd_kafka_conf_t *conf);
/* The partition count of topic (waits up to 50 metadata attempts). */
int topic_partitions(rd_kafka_t *rk, const char *topic);

#endif
