/*
 * bench_stream latency — reads the action topic (and with --stages-topic
 * riskgate's stage records), matches each decision to the send time of its
 * event in the send log, and prints per-phase latency percentiles, the
 * drift and the per-hop split (the usage comment in bench_stream.c says
 * how). One role of bench_stream, in its own file: the largest of them.
 */
#include "bench_stream.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <jansson.h>

#include "../stages/record.h"

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

int cmd_latency(int argc, char **argv)
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
