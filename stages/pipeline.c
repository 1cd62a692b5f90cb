/* pipeline — the topology in one process; see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ingest/event_parse.h"
#include "decide.h"
#include "entity.h"
#include "ingest.h"
#include "record.h"

typedef struct msg {
    char *data;
    size_t len;
    char *source;
} msg;

/* One task's input: a FIFO of records, with the offsets a Kafka
 * partition would give them. */
typedef struct inbox {
    msg *items;             /* data/len used; source NULL */
    size_t cap, head, count;
    int64_t next_offset;
} inbox;

struct rg_pipeline {
    int n;
    uint64_t rng;           /* 0: tasks in turn */
    const rg_stage_out *out;
    rg_event_parser *keyer;
    rg_ingest **ingest;
    rg_entity **entity;
    rg_decide **decide;
    msg **input;            /* [n] messages for each ingest task */
    size_t *n_input, *cap_input, *next_input;
    bool *final_mark;       /* the ingest task said it is done */
    inbox *entity_in, *decide_in;
    rg_stage_out ingest_out, entity_out, decide_out;
    rg_strbuf mark;
    rg_pipeline_stats stats;
    bool failed;            /* out of memory in a queue */
};

static uint64_t next_rand(rg_pipeline *p)
{
    /* xorshift64*: reproducible interleavings for a seed */
    p->rng ^= p->rng >> 12;
    p->rng ^= p->rng << 25;
    p->rng ^= p->rng >> 27;
    return p->rng * 0x2545F4914F6CDD1DULL;
}

static int inbox_put(rg_pipeline *p, inbox *q, const void *data, size_t len)
{
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        msg *items = malloc(cap * sizeof *items);
        if (!items)
            goto oom;
        for (size_t k = 0; k < q->count; k++)
            items[k] = q->items[(q->head + k) % q->cap];
        free(q->items);
        q->items = items;
        q->cap = cap;
        q->head = 0;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy)
        goto oom;
    memcpy(copy, data, len);
    q->items[(q->head + q->count) % q->cap] = (msg){copy, len, NULL};
    q->count++;
    return 0;
oom:
    p->failed = true;
    return -1;
}

static int on_entities(void *opaque, const char *key, size_t key_len, const void *rec, size_t rec_len)
{
    rg_pipeline *p = opaque;
    p->stats.records_entities++;
    return inbox_put(p, &p->entity_in[rg_stage_partition(key, key_len, p->n)], rec, rec_len);
}

static int on_decide(void *opaque, const char *key, size_t key_len, const void *rec, size_t rec_len)
{
    rg_pipeline *p = opaque;
    p->stats.records_decide++;
    return inbox_put(p, &p->decide_in[rg_stage_partition(key, key_len, p->n)], rec, rec_len);
}

static int on_reject(void *opaque, const char *json, size_t json_len, const char *kind)
{
    rg_pipeline *p = opaque;
    return p->out->reject ? p->out->reject(p->out->opaque, json, json_len, kind) : 0;
}

static int on_decision(void *opaque, const rg_decision *d)
{
    rg_pipeline *p = opaque;
    return p->out->decision ? p->out->decision(p->out->opaque, d) : 0;
}

rg_pipeline *rg_pipeline_new(const rg_ruleset *rs, const rg_geo *geo, int partitions, uint64_t seed,
                             const rg_stage_out *out, char *err, size_t err_size)
{
    if (partitions < 1)
        partitions = 1;
    rg_pipeline *p = calloc(1, sizeof *p);
    size_t n = (size_t)partitions;
    if (!p || !(p->ingest = calloc(n, sizeof *p->ingest)) || !(p->entity = calloc(n, sizeof *p->entity)) ||
        !(p->decide = calloc(n, sizeof *p->decide)) || !(p->input = calloc(n, sizeof *p->input)) ||
        !(p->n_input = calloc(n, sizeof *p->n_input)) || !(p->cap_input = calloc(n, sizeof *p->cap_input)) ||
        !(p->next_input = calloc(n, sizeof *p->next_input)) || !(p->final_mark = calloc(n, sizeof *p->final_mark)) ||
        !(p->entity_in = calloc(n, sizeof *p->entity_in)) || !(p->decide_in = calloc(n, sizeof *p->decide_in)) ||
        !(p->keyer = rg_event_parser_new())) {
        snprintf(err, err_size, "out of memory creating the pipeline");
        goto fail;
    }
    p->n = partitions;
    p->rng = seed ? seed : 0;
    p->out = out;
    for (size_t i = 0; i < n; i++) {
        /* In memory no wall clock runs: the bounds never expire, so the
         * order is decided by progress alone. */
        if (!(p->ingest[i] = rg_ingest_new(rs, geo, (int32_t)i, err, err_size)) ||
            !(p->entity[i] = rg_entity_new(rs, geo, (int32_t)i, n, 1, 1, 1, err, err_size)) ||
            !(p->decide[i] = rg_decide_new(rs, geo, (int32_t)i, n, err, err_size)))
            goto fail;
    }
    p->ingest_out = (rg_stage_out){.opaque = p, .to_entities = on_entities, .to_decide = on_decide,
                                   .reject = on_reject};
    /* decide -> entity: HITS for held subjects; entity decides those (held.h) */
    p->entity_out = (rg_stage_out){.opaque = p, .to_decide = on_decide, .decision = on_decision};
    p->decide_out = (rg_stage_out){.opaque = p, .to_entities = on_entities, .decision = on_decision};
    return p;
fail:
    rg_pipeline_free(p);
    return NULL;
}

static void inbox_free(inbox *q)
{
    for (size_t k = 0; k < q->count; k++)
        free(q->items[(q->head + k) % q->cap].data);
    free(q->items);
}

void rg_pipeline_free(rg_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++) {
        rg_ingest_free(p->ingest[i]);
        rg_entity_free(p->entity[i]);
        rg_decide_free(p->decide[i]);
        for (size_t k = 0; k < p->n_input[i]; k++) {
            free(p->input[i][k].data);
            free(p->input[i][k].source);
        }
        free(p->input[i]);
        inbox_free(&p->entity_in[i]);
        inbox_free(&p->decide_in[i]);
    }
    free(p->ingest);
    free(p->entity);
    free(p->decide);
    free(p->input);
    free(p->n_input);
    free(p->cap_input);
    free(p->next_input);
    free(p->final_mark);
    free(p->entity_in);
    free(p->decide_in);
    rg_event_parser_free(p->keyer);
    rg_strbuf_free(&p->mark);
    free(p);
}

int rg_pipeline_feed(rg_pipeline *p, const char *data, size_t len, const char *source)
{
    rg_event ev;
    rg_reject rej;
    int32_t part = 0;
    if (rg_event_parse(p->keyer, data ? data : "", data ? len : 0, &ev, &rej) == 0)
        part = rg_stage_partition(ev.account, ev.account_len, p->n);
    size_t i = (size_t)part;
    if (p->n_input[i] == p->cap_input[i]) {
        size_t cap = p->cap_input[i] ? p->cap_input[i] * 2 : 1024;
        msg *m = realloc(p->input[i], cap * sizeof *m);
        if (!m)
            return -1;
        p->input[i] = m;
        p->cap_input[i] = cap;
    }
    msg m = {malloc(len ? len : 1), len, strdup(source ? source : "")};
    if (!m.data || !m.source) {
        free(m.data);
        free(m.source);
        return -1;
    }
    memcpy(m.data, data, len);
    p->input[i][p->n_input[i]++] = m;
    return 0;
}

/* Tell every entity task where ingest task i stands. */
static void send_marks(rg_pipeline *p, int i, int64_t progress, bool drained)
{
    rg_strbuf_reset(&p->mark);
    rg_ingest_mark(i, progress, drained, &p->mark);
    for (int r = 0; r < p->n; r++) {
        p->stats.marks++;
        inbox_put(p, &p->entity_in[r], p->mark.data, p->mark.len);
    }
}

/* Run ingest task i over at most `chunk` messages. */
static int step_ingest(rg_pipeline *p, int i, size_t chunk)
{
    size_t done = 0;
    while (done < chunk && p->next_input[i] < p->n_input[i]) {
        size_t k = p->next_input[i]++;
        msg *m = &p->input[i][k];
        rg_ingest_outcome oc =
            rg_ingest_process(p->ingest[i], m->data, m->len, (int64_t)k, -1, m->source, &p->ingest_out);
        if (oc == RG_INGEST_FAILED)
            return -1;
        p->stats.events += oc == RG_INGEST_EVENT;
        p->stats.duplicates += oc == RG_INGEST_DUPLICATE;
        p->stats.rejected += oc == RG_INGEST_REJECTED;
        done++;
    }
    if (p->next_input[i] == p->n_input[i] && !p->final_mark[i]) {
        /* Nothing more will ever come from this source. */
        send_marks(p, i, INT64_MAX, true);
        p->final_mark[i] = true;
    } else if (done) {
        send_marks(p, i, rg_ingest_progress(p->ingest[i]), false);
    }
    return p->failed ? -1 : 0;
}

static int step_entity(rg_pipeline *p, int r, size_t chunk)
{
    inbox *q = &p->entity_in[r];
    char err[256];
    for (size_t n = 0; n < chunk && q->count; n++) {
        msg m = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        bool oom;
        int rc = rg_entity_push(p->entity[r], m.data, m.len, q->next_offset++, 0, &oom, err, sizeof err);
        free(m.data);
        if (rc != 0 && oom)
            return -1;
    }
    int64_t wait;
    return rg_entity_run(p->entity[r], 0, SIZE_MAX, &p->entity_out, &wait) < 0 || p->failed ? -1 : 0;
}

static int step_decide(rg_pipeline *p, int d, size_t chunk)
{
    inbox *q = &p->decide_in[d];
    char err[256];
    for (size_t n = 0; n < chunk && q->count; n++) {
        msg m = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        bool oom;
        int rc = rg_decide_push(p->decide[d], m.data, m.len, q->next_offset++, &oom, err, sizeof err);
        free(m.data);
        if (rc != 0 && oom)
            return -1;
    }
    return rg_decide_run(p->decide[d], SIZE_MAX, &p->decide_out) < 0 ? -1 : 0;
}

/* Task t of 3n: ingest 0..n-1, entity n..2n-1, decide 2n..3n-1. */
static bool runnable(const rg_pipeline *p, int t)
{
    int n = p->n;
    if (t < n)
        return p->next_input[t] < p->n_input[t] || !p->final_mark[t];
    if (t < 2 * n)
        return p->entity_in[t - n].count > 0;
    return p->decide_in[t - 2 * n].count > 0;
}

int rg_pipeline_finish(rg_pipeline *p, char *err, size_t err_size)
{
    int n = p->n, tasks = 3 * n;
    for (;;) {
        int rc = 0, ran = 0;
        if (p->rng) {
            /* One task at random, a random chunk. */
            int ready[3 * 64 + 3], n_ready = 0;
            for (int t = 0; t < tasks && n_ready < (int)(sizeof ready / sizeof *ready); t++)
                if (runnable(p, t))
                    ready[n_ready++] = t;
            if (!n_ready)
                break;
            int t = ready[next_rand(p) % (uint64_t)n_ready];
            size_t chunk = 1 + (size_t)(next_rand(p) % 32);
            rc = t < n ? step_ingest(p, t, chunk) : t < 2 * n ? step_entity(p, t - n, chunk)
                                                              : step_decide(p, t - 2 * n, chunk);
            ran = 1;
        } else {
            for (int t = 0; t < tasks && rc == 0; t++) {
                if (!runnable(p, t))
                    continue;
                rc = t < n ? step_ingest(p, t, 64) : t < 2 * n ? step_entity(p, t - n, SIZE_MAX)
                                                               : step_decide(p, t - 2 * n, SIZE_MAX);
                ran = 1;
            }
            if (!ran)
                break;
        }
        if (rc != 0) {
            snprintf(err, err_size, "%s", p->failed ? "out of memory in the pipeline" : "an output refused a record");
            return -1;
        }
    }
    for (int i = 0; i < n; i++) {
        size_t waiting = 0;
        if (rg_smerge_queued(rg_entity_merge(p->entity[i])) || rg_decide_queued(p->decide[i], &waiting)) {
            snprintf(err, err_size, "pipeline stalled: task %d still holds records (%zu waiting for entity values)",
                     i, waiting);
            return -1;
        }
        p->stats.late += rg_entity_merge(p->entity[i])->late;
        p->stats.resent += rg_entity_merge(p->entity[i])->resent;
    }
    return 0;
}

void rg_pipeline_get_stats(const rg_pipeline *p, rg_pipeline_stats *out) { *out = p->stats; }
