/*
 * bench_stream_common — what the roles of bench_stream share: clocks, the
 * stop flag the signal handler sets, the capture in memory, the send-time
 * log between the producer and the latency consumer, and the librdkafka
 * settings (-X) and metadata helpers. Apart from the roles so that each
 * role's file holds only its own loop; bench_stream.h declares these.
 */
#include "bench_stream.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers ---- */

int64_t wall_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec t = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};
    nanosleep(&t, NULL);
}

void die(const char *fmt, const char *a)
{
    fprintf(stderr, "bench_stream: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(1);
}

volatile sig_atomic_t stop;
void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

void capture_free(capture *c)
{
    free(c->data);
    free(c->off);
    free(c->len);
    memset(c, 0, sizeof *c);
}

void load_capture(const char *path, capture *c)
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

const char *find_str(const char *p, size_t n, const char *name, size_t *len)
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

/* The latency consumer creates the log (written under a temporary name,
 * then renamed, so the producer never maps a half-made file); the
 * producer maps the existing one. */
void sendlog_map(const char *path, size_t n_lines, bool create, sendlog *s)
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

void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
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

void add_prop(const char *kv)
{
    if (!strchr(kv, '=') || n_props == MAX_PROPS)
        die("-X %s: expected key=value (at most 32)", kv);
    props[n_props++] = kv;
}

void apply_props(rd_kafka_conf_t *conf)
{
    for (int i = 0; i < n_props; i++) {
        char key[256];
        const char *eq = strchr(props[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - props[i]), props[i]);
        conf_set(conf, key, eq + 1);
    }
}

int topic_partitions(rd_kafka_t *rk, const char *topic)
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
