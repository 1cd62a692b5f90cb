/* decide — the last stage; see decide.h and docs/scale-out.md. */
#include "decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/strmap.h"
#include "../ingest/event_parse.h"
#include "../ingest/reject.h"
#include "held.h"
#include "record.h"
#include "stage_state.h"

typedef struct queued_event {
    int64_t src_offset;
    int64_t input_offset;
    int64_t ts_ms;
    bool needs_enrich;
    void *data;             /* the EVENT record's bytes (copy) */
    size_t len;
} queued_event;

typedef struct source_queue {
    queued_event *ring;
    size_t cap, head, count;
    int64_t last_queued;    /* src offset; -1 none */
    int64_t evaluated;      /* src offset of the last event evaluated; -1 none */
    /* For the watermark: the source's progress (EVENT and MARK records
     * report it; INT64_MIN never heard) and the smallest ts queued (a
     * monotonic deque of the queue's ts: front = min). */
    int64_t progress_ms;
    /* Its last MARK said drained and it never had an event (an events
     * partition nobody writes to): it bounds nothing, as in the entity
     * merge; else every window here would wait for it forever. */
    bool drained_empty;
    int64_t *mins;
    size_t mins_cap, mins_head, mins_count;
} source_queue;

/* An ENRICH waiting for its EVENT, by (source, offset). */
typedef struct enrichment {
    int64_t input_offset;
    void *values;
    size_t len;
} enrichment;

struct rg_decide {
    rg_engine *engine;
    int32_t partition;
    source_queue *sources;
    size_t n_sources;
    size_t next_source;     /* round robin */
    rg_strmap *enrich;      /* 12-byte key (u32 source, i64 offset) -> enrichment */
    rg_event_parser *parser;
    uint64_t bad_records;
    rg_strbuf values;
    const rg_stage_out *out;   /* during rg_decide_run */
    bool sink_failed;
    /* the event being evaluated: its record, its held subjects (held.h)
     * and which of them got their HITS record */
    const rg_rec *cur;
    const char *held[RG_HELD_MAX_SUBJECTS];
    size_t held_lens[RG_HELD_MAX_SUBJECTS];
    size_t n_held;
    bool answered[RG_HELD_MAX_SUBJECTS];
    rg_strbuf key, extra, rec;
};

static void free_enrichment(void *value) { free(((enrichment *)value)->values); }

static size_t enrich_key(int32_t src, int64_t offset, char key[12])
{
    uint32_t s = (uint32_t)src;
    uint64_t o = (uint64_t)offset;
    for (int i = 0; i < 4; i++)
        key[i] = (char)(s >> (8 * i));
    for (int i = 0; i < 8; i++)
        key[4 + i] = (char)(o >> (8 * i));
    return 12;
}

rg_decide *rg_decide_new(const rg_ruleset *rs, const rg_geo *geo, int32_t partition, size_t n_sources, char *err,
                         size_t err_size)
{
    rg_decide *t = calloc(1, sizeof *t);
    if (!t || !(t->sources = calloc(n_sources ? n_sources : 1, sizeof *t->sources)) ||
        !(t->enrich = rg_strmap_new(sizeof(enrichment))) || !(t->parser = rg_event_parser_new())) {
        snprintf(err, err_size, "out of memory creating a decide task");
        rg_decide_free(t);
        return NULL;
    }
    t->n_sources = n_sources;
    for (size_t i = 0; i < n_sources; i++) {
        t->sources[i].last_queued = t->sources[i].evaluated = -1;
        t->sources[i].progress_ms = INT64_MIN;
    }
    /* Everything but the families the earlier stages keep. */
    uint32_t upstream = rg_family_bit("login") | rg_family_bit("counterparty") | rg_family_bit("packets") |
                        rg_family_bit("complaints");
    rg_engine_role role = {.families = RG_FAMILIES_ALL & ~upstream, .dedupe = false, .decide = true,
                           .external_watermark = true};
    if (!(t->engine = rg_engine_new_role(rs, geo, &role, err, err_size))) {
        rg_decide_free(t);
        return NULL;
    }
    t->partition = partition;
    return t;
}

void rg_decide_free(rg_decide *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->sources && i < t->n_sources; i++) {
        source_queue *q = &t->sources[i];
        for (size_t k = 0; k < q->count; k++)
            free(q->ring[(q->head + k) % q->cap].data);
        free(q->ring);
        free(q->mins);
    }
    free(t->sources);
    rg_strmap_free(t->enrich, free_enrichment);
    rg_engine_free(t->engine);
    rg_event_parser_free(t->parser);
    rg_strbuf_free(&t->values);
    rg_strbuf_free(&t->key);
    rg_strbuf_free(&t->extra);
    rg_strbuf_free(&t->rec);
    free(t);
}

/* The min-deque: push ts at the back (dropping larger ones), pop the
 * front when the event leaving the queue carries it. */
static int mins_push(source_queue *q, int64_t ts)
{
    while (q->mins_count && q->mins[(q->mins_head + q->mins_count - 1) % q->mins_cap] > ts)
        q->mins_count--;
    if (q->mins_count == q->mins_cap) {
        size_t cap = q->mins_cap ? q->mins_cap * 2 : 64;
        int64_t *m = malloc(cap * sizeof *m);
        if (!m)
            return -1;
        for (size_t k = 0; k < q->mins_count; k++)
            m[k] = q->mins[(q->mins_head + k) % q->mins_cap];
        free(q->mins);
        q->mins = m;
        q->mins_cap = cap;
        q->mins_head = 0;
    }
    q->mins[(q->mins_head + q->mins_count) % q->mins_cap] = ts;
    q->mins_count++;
    return 0;
}

static void mins_pop(source_queue *q, int64_t ts)
{
    if (q->mins_count && q->mins[q->mins_head] == ts) {
        q->mins_head = (q->mins_head + 1) % q->mins_cap;
        q->mins_count--;
    }
}

/*
 * The watermark this task's engine judges state expiry by (docs/
 * scale-out.md, "Watermarks at decide"): the lowest ts any source may
 * still bring here on time: per source, its smallest queued ts, or its
 * progress when nothing is queued. A source never heard from holds it at
 * INT64_MIN; one drained that never had an event bounds nothing (with no
 * bounding source at all, the watermark stays). Not the highest ts seen:
 * sources run apart in event time (one instance behind another, a burst
 * on one partition), and expiring windows by the fastest source's time
 * would drop entries a slower source's accounts still count.
 */
static int64_t low_watermark(const rg_decide *t)
{
    int64_t wm = INT64_MAX;
    for (size_t i = 0; i < t->n_sources; i++) {
        const source_queue *q = &t->sources[i];
        if (!q->mins_count && q->drained_empty)
            continue;
        int64_t bound = q->mins_count ? q->mins[q->mins_head] : q->progress_ms;
        if (bound < wm)
            wm = bound;
    }
    return wm != INT64_MAX ? wm : INT64_MIN;
}

static int queue_event(source_queue *q, const rg_rec *r, const void *bytes, size_t len, int64_t input_offset)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 64;
        queued_event *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t k = 0; k < q->count; k++)
            ring[k] = q->ring[(q->head + k) % q->cap];
        free(q->ring);
        q->ring = ring;
        q->cap = cap;
        q->head = 0;
    }
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (mins_push(q, r->ts_ms) != 0) {
        free(copy);
        return -1;
    }
    memcpy(copy, bytes, len);
    q->ring[(q->head + q->count) % q->cap] =
        (queued_event){r->src_offset, input_offset, r->ts_ms, r->needs_enrich, copy, len};
    q->count++;
    q->last_queued = r->src_offset;
    return 0;
}

int rg_decide_push(rg_decide *t, const void *bytes, size_t len, int64_t input_offset, bool *oom, char *err,
                   size_t err_size)
{
    *oom = false;
    rg_rec r;
    if (rg_rec_decode(bytes, len, &r, err, err_size) != 0) {
        t->bad_records++;
        return -1;
    }
    if ((r.kind != RG_REC_EVENT && r.kind != RG_REC_ENRICH && r.kind != RG_REC_MARK) ||
        (size_t)r.src_partition >= t->n_sources) {
        snprintf(err, err_size, "a %s record from source %d is not for this decide stage (%zu sources)",
                 rg_rec_kind_name(r.kind), (int)r.src_partition, t->n_sources);
        t->bad_records++;
        return -1;
    }
    source_queue *q = &t->sources[r.src_partition];
    if ((r.kind == RG_REC_MARK || r.kind == RG_REC_EVENT) && r.progress_ms > q->progress_ms)
        q->progress_ms = r.progress_ms;
    if (r.kind == RG_REC_MARK || r.kind == RG_REC_EVENT)
        q->drained_empty = r.kind == RG_REC_MARK && r.drained && q->progress_ms == INT64_MIN;
    if (r.kind == RG_REC_MARK)
        return 0;
    if (r.kind == RG_REC_EVENT) {
        const char *held[RG_HELD_MAX_SUBJECTS];
        size_t lens[RG_HELD_MAX_SUBJECTS], n;
        if (rg_held_list_get(r.extra, r.extra_len, held, lens, &n) != 0) {
            snprintf(err, err_size, "an event record's held subjects are malformed");
            t->bad_records++;
            return -1;
        }
        if (r.src_offset <= q->last_queued)
            return 0;   /* sent again */
        if (queue_event(q, &r, bytes, len, input_offset) != 0)
            goto oom;
        return 0;
    }
    if (r.src_offset <= q->evaluated)
        return 0;   /* its event is evaluated: sent again */
    char key[12];
    size_t klen = enrich_key(r.src_partition, r.src_offset, key);
    bool created;
    enrichment *e = rg_strmap_put(t->enrich, key, klen, &created);
    if (!e)
        goto oom;
    if (!created)
        return 0;   /* the first copy stays */
    e->input_offset = input_offset;
    e->len = r.values_len;
    if (!(e->values = malloc(r.values_len ? r.values_len : 1))) {
        rg_strmap_del(t->enrich, key, klen, NULL);
        goto oom;
    }
    memcpy(e->values, r.values, r.values_len);
    return 0;
oom:
    *oom = true;
    snprintf(err, err_size, "out of memory queueing a record");
    return -1;
}

/* The HITS record of held subject number `rank` (d NULL: nothing hit
 * it) to its task, key "s:SUBJECT". */
static int send_hits(rg_decide *t, size_t rank, const rg_decision *d)
{
    const rg_rec *ev = t->cur;
    rg_strbuf_reset(&t->key);
    rg_strbuf_append(&t->key, "s:", 2);
    rg_strbuf_append(&t->key, t->held[rank], t->held_lens[rank]);
    rg_strbuf_reset(&t->extra);
    rg_held_hits_put(&t->extra, (unsigned)rank, t->held[rank], t->held_lens[rank], d);
    rg_rec r = {.kind = RG_REC_HITS, .family = 's', .src_partition = ev->src_partition, .src_offset = ev->src_offset,
                .ts_ms = ev->ts_ms, .msg_ts_ms = ev->msg_ts_ms, .progress_ms = INT64_MIN, .extra = t->extra.data,
                .extra_len = t->extra.len, .raw = ev->raw, .raw_len = ev->raw_len};
    rg_strbuf_reset(&t->rec);
    rg_rec_encode(&r, &t->rec);
    t->answered[rank] = true;
    if (!rg_strbuf_ok(&t->key) || !rg_strbuf_ok(&t->extra) || !rg_strbuf_ok(&t->rec) || !t->out->to_entities)
        return -1;
    return t->out->to_entities(t->out->opaque, t->key.data, t->key.len, t->rec.data, t->rec.len);
}

static int on_decision(void *opaque, const rg_decision *d, void *ticket)
{
    rg_decide *t = opaque;
    int rc = 0;
    if (d->held) {
        size_t len = strlen(d->subject);
        for (size_t k = 0; k < t->n_held; k++)
            if (t->held_lens[k] == len && memcmp(t->held[k], d->subject, len) == 0)
                rc = send_hits(t, k, d);
    } else if (t->out->decision) {
        rc = t->out->decision(t->out->opaque, d);
    }
    if (rc != 0) {
        t->sink_failed = true;
        return -1;
    }
    return 0;
}

static const rg_sink_ops on_decision_ops = {.name = "decide task decisions", .decision = on_decision};

/* Two value lists as one (stage_values.h: u16 count, then the values). */
static void join_values(rg_strbuf *out, const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *pa = a, *pb = b;
    unsigned count = (alen >= 2 ? pa[0] | (pa[1] << 8) : 0) + (blen >= 2 ? pb[0] | (pb[1] << 8) : 0);
    if (count > UINT16_MAX)
        count = UINT16_MAX;   /* never: a rule set has far fewer uses */
    rg_strbuf_putc(out, (char)(count & 0xff));
    rg_strbuf_putc(out, (char)(count >> 8));
    if (alen > 2)
        rg_strbuf_append(out, pa + 2, alen - 2);
    if (blen > 2)
        rg_strbuf_append(out, pb + 2, blen - 2);
}

/* Evaluate queue q's head if it can be: 1 evaluated, 0 not ready, -1 a
 * decision was refused. */
static int evaluate_head(rg_decide *t, size_t src)
{
    source_queue *q = &t->sources[src];
    if (!q->count)
        return 0;
    queued_event *qe = &q->ring[q->head];
    char key[12];
    size_t klen = enrich_key((int32_t)src, qe->src_offset, key);
    enrichment *e = NULL;
    if (qe->needs_enrich && !(e = rg_strmap_get(t->enrich, key, klen)))
        return 0;
    rg_rec r;
    char err[256];
    rg_event ev;
    rg_reject rej;
    int rc = 0;
    bool decoded = rg_rec_decode(qe->data, qe->len, &r, err, sizeof err) == 0;
    if (decoded) {
        t->cur = &r;
        if (rg_held_list_get(r.extra, r.extra_len, t->held, t->held_lens, &t->n_held) != 0)
            t->n_held = 0;   /* checked when queued */
        memset(t->answered, 0, sizeof t->answered);
    }
    t->sink_failed = false;
    rg_engine_advance_watermark(t->engine, low_watermark(t));
    if (decoded && rg_event_parse(t->parser, r.raw, r.raw_len, &ev, &rej) == 0) {
        rg_strbuf_reset(&t->values);
        join_values(&t->values, r.values, r.values_len, e ? e->values : NULL, e ? e->len : 0);
        rg_sink sink = {.ops = &on_decision_ops, .self = t};
        rg_engine_hold_subjects(t->engine, t->held, t->held_lens, t->n_held);
        rg_engine_process_stage(t->engine, &ev, r.raw, r.raw_len, RG_FAMILIES_ALL, t->values.data, t->values.len,
                                NULL, &sink);
    } else {
        t->bad_records++;   /* it decoded when queued: a different build wrote it */
    }
    /* Every held subject's task waits for an answer, hit or not. */
    for (size_t k = 0; decoded && k < t->n_held && !t->sink_failed; k++)
        if (!t->answered[k] && send_hits(t, k, NULL) != 0)
            t->sink_failed = true;
    t->cur = NULL;
    t->n_held = 0;
    rc = t->sink_failed ? -1 : 1;
    if (e)
        rg_strmap_del(t->enrich, key, klen, free_enrichment);
    q->evaluated = qe->src_offset;
    mins_pop(q, qe->ts_ms);
    free(qe->data);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    return rc;
}

long rg_decide_run(rg_decide *t, size_t max, const rg_stage_out *out)
{
    t->out = out;
    long done = 0;
    bool progress = true;
    while (progress && (size_t)done < max) {
        progress = false;
        for (size_t k = 0; k < t->n_sources && (size_t)done < max; k++) {
            size_t src = (t->next_source + k) % t->n_sources;
            int rc;
            /* A few per source per turn: fair, without a scan per event. */
            for (int n = 0; n < 64 && (size_t)done < max && (rc = evaluate_head(t, src)) != 0; n++) {
                if (rc < 0) {
                    t->out = NULL;
                    return -1;
                }
                done++;
                progress = true;
            }
        }
        t->next_source = (t->next_source + 1) % (t->n_sources ? t->n_sources : 1);
    }
    t->out = NULL;
    return done;
}

struct min_visit {
    int64_t min;
};

static bool min_enrich(const char *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct min_visit *v = arg;
    const enrichment *e = value;
    if (e->input_offset < v->min)
        v->min = e->input_offset;
    return true;
}

int64_t rg_decide_needed_offset(const rg_decide *t)
{
    struct min_visit v = {INT64_MAX};
    for (size_t i = 0; i < t->n_sources; i++) {
        const source_queue *q = &t->sources[i];
        for (size_t k = 0; k < q->count; k++) {
            int64_t o = q->ring[(q->head + k) % q->cap].input_offset;
            if (o < v.min)
                v.min = o;
        }
    }
    rg_strmap_foreach(t->enrich, min_enrich, &v);
    return v.min;
}

size_t rg_decide_queued(const rg_decide *t, size_t *waiting)
{
    size_t n = 0, w = 0;
    for (size_t i = 0; i < t->n_sources; i++) {
        const source_queue *q = &t->sources[i];
        n += q->count;
        if (q->count && q->ring[q->head].needs_enrich) {
            char key[12];
            size_t klen = enrich_key((int32_t)i, q->ring[q->head].src_offset, key);
            w += rg_strmap_get(t->enrich, key, klen) == NULL;
        }
    }
    if (waiting)
        *waiting = w;
    return n;
}

bool rg_decide_first_waiting(const rg_decide *t, int32_t *src, int64_t *offset)
{
    for (size_t i = 0; i < t->n_sources; i++) {
        const source_queue *q = &t->sources[i];
        if (!q->count || !q->ring[q->head].needs_enrich)
            continue;
        char key[12];
        size_t klen = enrich_key((int32_t)i, q->ring[q->head].src_offset, key);
        if (!rg_strmap_get(t->enrich, key, klen)) {
            *src = (int32_t)i;
            *offset = q->ring[q->head].src_offset;
            return true;
        }
    }
    return false;
}

rg_engine *rg_decide_engine(rg_decide *t) { return t->engine; }
uint64_t rg_decide_bad_records(const rg_decide *t) { return t->bad_records; }

int rg_decide_save(const rg_decide *t, rg_strbuf *out, char *err, size_t err_size)
{
    rg_stage_state_begin(out, 'd', t->partition);
    rg_put_u32(out, (uint32_t)t->n_sources);
    for (size_t i = 0; i < t->n_sources; i++)
        rg_put_i64(out, t->sources[i].evaluated);
    return rg_stage_state_engine(out, t->engine, err, err_size);
}

int rg_decide_load(rg_decide *t, const void *bytes, size_t len, char *err, size_t err_size)
{
    rg_reader in;
    if (rg_stage_state_open(&in, bytes, len, 'd', t->partition, err, err_size) != 0)
        return -1;
    uint32_t n = rg_get_u32(&in, "source count");
    if (rg_reader_ok(&in) && n != t->n_sources)
        rg_reader_fail(&in, "source count", "differs from the events topic's partition count");
    if (!rg_reader_ok(&in)) {
        snprintf(err, err_size, "task state: %s", in.error);
        return -1;
    }
    int64_t *evaluated = calloc(n ? n : 1, sizeof *evaluated);
    if (!evaluated) {
        snprintf(err, err_size, "out of memory loading the task state");
        return -1;
    }
    for (uint32_t i = 0; i < n && rg_reader_ok(&in); i++)
        evaluated[i] = rg_get_i64(&in, "evaluated offset");
    if (rg_stage_state_load_engine(&in, t->engine, err, err_size) != 0) {
        free(evaluated);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        t->sources[i].evaluated = t->sources[i].last_queued = evaluated[i] < -1 ? -1 : evaluated[i];
    free(evaluated);
    return 0;
}

int rg_decide_swap_rules(rg_decide *t, const rg_ruleset *rs, char *err, size_t err_size)
{
    return rg_engine_swap_rules(t->engine, rs, err, err_size);
}
