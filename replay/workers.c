/*
 * workers — replay --workers N (workers.h): the batches, the threads that
 * run the steps (reading among them) and the output step. The steps'
 * work is in workers_parse.c (read, parse) and workers_jobs.c (order,
 * entity, decide).
 *
 * Scheduling: one lock over the batches' step flags; take_job says which
 * step a worker takes next. Steps are a batch of events long, so the
 * lock is taken ~10,000 times a second (the month: ~7 steps for each of
 * 977 batches in 0.7 s). There is no reading thread: reading is a step,
 * run by one worker at a time, and the worker that reads a batch parses
 * it, from its own cache. Exactly N threads then run on N cores (a
 * reading thread of its own was a third thread on two cores, and its
 * lines reached the parsing core cold).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/heap_pages.h"
#include "../decisions/cooldown.h"
#include "../detectors/detector.h"
#include "../ingest/capture.h"
#include "progress.h"
#include "workers_internal.h"

struct w_pool {
    const rg_replay_opts *o;
    rg_replay_result *res;
    size_t tasks, n_lanes, n_workers;
    size_t next_worker;         /* the index the next thread to start takes */
    w_lane lane[RG_REPLAY_MAX_LANES];
    w_batch *batches;
    size_t n_batches;
    uint64_t next_seq;          /* the next batch the reader fills */
    uint64_t next_output;       /* the next batch the output step writes */
    uint64_t next_order;        /* the next batch the order step takes */
    w_reader reader;            /* used by one worker at a time: */
    bool reading;               /* a worker is filling batch next_seq */
    bool reading_done;          /* no batch will come after next_seq - 1 */
    bool failed;
    char error[512];
    pthread_mutex_t lock;
    pthread_cond_t work;        /* a step may be runnable */
};

size_t w_pool_tasks(const w_pool *p) { return p->tasks; }
size_t w_pool_lanes(const w_pool *p) { return p->n_lanes; }
w_lane *w_pool_lane(w_pool *p, size_t lane) { return &p->lane[lane]; }

/* ---- engines */

/* Family `name`'s bit, and whether rs uses any of its names. */
static bool family_used(const rg_ruleset *rs, const char *name, uint32_t *bit)
{
    *bit = rg_family_bit(name);
    size_t n = 0;
    if (*bit)
        (void)rg_ruleset_detector_uses(rs, rg_detectors[__builtin_ctz(*bit)], &n);
    return n > 0;
}

static int lane_init(w_pool *p, w_lane *l, const rg_replay_lane *src, char *errstr, size_t errstr_size)
{
    l->rs = rg_engine_ruleset(src->engine);
    l->sink = src->sink;
    l->to_counterparty = family_used(l->rs, "counterparty", &l->bit_counterparty);
    l->to_packets = family_used(l->rs, "packets", &l->bit_packets);
    l->to_complaints = family_used(l->rs, "complaints", &l->bit_complaints);
    uint32_t upstream = l->bit_counterparty | l->bit_packets | l->bit_complaints;
    /* The three roles of the order, entity and decide steps (workers.h). */
    rg_engine_role order = {.families = 0, .dedupe = true, .decide = false};
    rg_engine_role entity = {.families = upstream, .external_watermark = true, .ship_by_slot = true};
    rg_engine_role decide = {.families = RG_FAMILIES_ALL & ~upstream, .decide = true, .external_watermark = true,
                             .ship_by_slot = true, .defer_cross_cooldowns = true};
    if (!(l->cross_cooldowns = rg_cooldowns_new())) {
        snprintf(errstr, errstr_size, "out of memory creating the workers' cooldowns");
        return -1;
    }
    l->entity = calloc(p->tasks, sizeof *l->entity);
    l->decide = calloc(p->tasks, sizeof *l->decide);
    if (!l->entity || !l->decide) {
        snprintf(errstr, errstr_size, "out of memory creating the workers' engines");
        return -1;
    }
    if (!(l->order = rg_engine_new_role(l->rs, p->o->geo, &order, errstr, errstr_size)))
        return -1;
    for (size_t t = 0; t < p->tasks; t++)
        if (!(l->entity[t] = rg_engine_new_role(l->rs, p->o->geo, &entity, errstr, errstr_size)) ||
            !(l->decide[t] = rg_engine_new_role(l->rs, p->o->geo, &decide, errstr, errstr_size)))
            return -1;
    return 0;
}

static void engine_done(const w_pool *p, rg_engine *e)
{
    if (p->o->exit_after)
        rg_engine_leave_to_exit(e);
    else
        rg_engine_free(e);
}

static void lane_free(w_pool *p, w_lane *l)
{
    engine_done(p, l->order);
    for (size_t t = 0; l->entity && t < p->tasks; t++)
        engine_done(p, l->entity[t]);
    for (size_t t = 0; l->decide && t < p->tasks; t++)
        engine_done(p, l->decide[t]);
    free(l->entity);
    free(l->decide);
    rg_cooldowns_free(l->cross_cooldowns);
    rg_strbuf_free(&l->finished_json);
}

/* The lane's counters: dedupe's and the watermark from the order step,
 * decisions and hits summed over the decide tasks, and the decisions the
 * output step finished (w_emit_decisions). */
static int lane_result(w_pool *p, size_t l, rg_replay_lane_result *out, uint64_t *hits)
{
    w_lane *lane = &p->lane[l];
    rg_engine_stats order;
    rg_engine_get_stats(lane->order, &order);
    out->rs = lane->rs;
    out->stats = order;
    out->stats.n_rules = rg_ruleset_rule_count(lane->rs);
    out->stats.rule_hits = hits;
    out->stats.decisions += lane->finished.decisions;
    out->stats.suppressed += lane->finished.suppressed;
    for (int a = 0; a < RG_ACT_COUNT; a++)
        out->stats.actions[a] += lane->finished.actions[a];
    for (size_t t = 0; t < p->tasks; t++) {
        rg_engine_stats d;
        rg_engine_get_stats(lane->decide[t], &d);
        out->stats.decisions += d.decisions;
        out->stats.suppressed += d.suppressed;
        for (int a = 0; a < RG_ACT_COUNT; a++)
            out->stats.actions[a] += d.actions[a];
        for (size_t i = 0; i < d.n_rules && i < out->stats.n_rules; i++)
            hits[i] += d.rule_hits[i];
    }
    return 0;
}

/* ---- batches */

/* The per-line arrays are malloc'd, not calloc'd: each entry is written
 * before it is read (w_read, w_parse, w_order), and zeroing them here
 * touched every page of 4 x N + 2 batches on the caller's thread before
 * any worker started (17 ms of --workers 2's 0.7 s on the month). */
static int batch_init(w_pool *p, w_batch *b)
{
    if (!(b->lines = malloc(W_BATCH_LINES * sizeof *b->lines)) || !(b->events = malloc(W_BATCH_LINES * sizeof *b->events)))
        return -1;
    for (size_t l = 0; l < p->n_lanes; l++) {
        w_batch_lane *bl = &b->lane[l];
        if (!(bl->events = malloc(W_BATCH_LINES * sizeof *bl->events)) ||
            !(bl->entity_work = calloc(p->tasks, sizeof *bl->entity_work)) ||
            !(bl->decide_work = calloc(p->tasks, sizeof *bl->decide_work)) ||
            !(bl->values = calloc(p->tasks, sizeof *bl->values)) ||
            !(bl->decisions = calloc(p->tasks, sizeof *bl->decisions)) ||
            !(bl->decision_read = calloc(p->tasks, sizeof *bl->decision_read)) ||
            !(bl->entity_done = calloc(p->tasks, sizeof(bool))) ||
            !(bl->entity_running = calloc(p->tasks, sizeof(bool))) ||
            !(bl->decide_done = calloc(p->tasks, sizeof(bool))) ||
            !(bl->decide_running = calloc(p->tasks, sizeof(bool))))
            return -1;
    }
    return 0;
}

static void batch_free(w_pool *p, w_batch *b)
{
    rg_strbuf_free(&b->text);
    rg_strbuf_free(&b->rejects);
    free(b->lines);
    free(b->events);
    w_arena_free(b);
    for (size_t l = 0; l < p->n_lanes; l++) {
        w_batch_lane *bl = &b->lane[l];
        for (size_t t = 0; t < p->tasks; t++) {
            if (bl->entity_work)
                free(bl->entity_work[t].item);
            if (bl->decide_work)
                free(bl->decide_work[t].item);
            if (bl->values)
                rg_strbuf_free(&bl->values[t]);
            if (bl->decisions)
                rg_strbuf_free(&bl->decisions[t]);
        }
        free(bl->events);
        free(bl->entity_work);
        free(bl->decide_work);
        free(bl->values);
        free(bl->decisions);
        free(bl->decision_read);
        free(bl->entity_done);
        free(bl->entity_running);
        free(bl->decide_done);
        free(bl->decide_running);
    }
}

/* Empty b for the reader (lock held or b not yet shared). */
static void batch_reset(w_pool *p, w_batch *b, uint64_t seq)
{
    b->seq = seq;
    rg_strbuf_reset(&b->text);
    rg_strbuf_reset(&b->rejects);
    b->n_lines = b->n_events = 0;
    b->envelopes = 0;
    w_arena_reset(b);
    b->parse_running = b->parsed = b->order_running = b->ordered = b->output_running = false;
    for (size_t l = 0; l < p->n_lanes; l++) {
        w_batch_lane *bl = &b->lane[l];
        bl->entity_left = bl->decide_left = (uint32_t)p->tasks;
        memset(bl->entity_done, 0, p->tasks * sizeof(bool));
        memset(bl->entity_running, 0, p->tasks * sizeof(bool));
        memset(bl->decide_done, 0, p->tasks * sizeof(bool));
        memset(bl->decide_running, 0, p->tasks * sizeof(bool));
    }
}

/* The batch with sequence number seq, if it is in flight. */
static w_batch *batch_of(w_pool *p, uint64_t seq)
{
    w_batch *b = &p->batches[seq % p->n_batches];
    return b->state == W_READY && b->seq == seq ? b : NULL;
}

/* ---- the output step: rejects and decisions in capture order */

static int output(w_pool *p, w_batch *b, char *errstr, size_t errstr_size)
{
    const rg_replay_opts *o = p->o;
    rg_replay_result *res = p->res;
    res->envelopes += b->envelopes;
    for (size_t i = 0; i < b->n_lines; i++) {
        const w_line *ln = &b->lines[i];
        res->events_read++;
        if (ln->event < 0) {
            res->rejected++;
            res->rejected_by_kind[ln->reject_kind]++;
            if (!o->rejects)
                continue;
            rg_dead_letter dl = {.json = b->rejects.data + ln->reject_off, .json_len = ln->reject_len,
                                 .kind = rg_reject_kind_name((rg_reject_kind)ln->reject_kind)};
            int rc = rg_sink_reject(o->rejects, &dl, NULL);
            if (rc == RG_SINK_DECLINED)
                res->rejects_not_written++;
            if (rc < 0) {
                snprintf(errstr, errstr_size, "writing rejects: %s", strerror(errno));
                return -1;
            }
            continue;
        }
        res->accepted++;
        const w_event *we = &b->events[ln->event];
        for (size_t l = 0; l < p->n_lanes; l++) {
            if (b->lane[l].events[ln->event].dup)
                continue;
            if (w_emit_decisions(p, b, l, (size_t)we->decide_task, (uint32_t)ln->event) != 0) {
                snprintf(errstr, errstr_size, "writing decisions failed at %.*s%llu", (int)ln->source_path_len,
                         b->text.data + ln->source_off, (unsigned long long)ln->line_no);
                return -1;
            }
        }
    }
    return 0;
}

/* ---- reading (the step's work is w_read, workers_parse.c) */

/* After w_read (lock held): b joins the batches in flight, to be
 * parsed by the worker that read it, its lines still in that core's
 * cache. false when b is empty (given back). */
static bool publish_read(w_pool *p, w_batch *b, bool more)
{
    p->reading = false;
    if (!more)
        p->reading_done = true;
    pthread_cond_broadcast(&p->work);
    if (!b->n_lines) {
        b->state = W_FREE;
        return false;
    }
    b->state = W_READY;
    b->parse_running = true;
    p->next_seq++;
    return true;
}

/* ---- the worker threads */

typedef enum step { S_NONE, S_READ, S_PARSE, S_ORDER, S_ENTITY, S_DECIDE, S_OUTPUT } step;

typedef struct job {
    step what;
    w_batch *b;
    size_t lane, task;
} job;

/* The worker that runs entity task t, or decide task t, always the same:
 * a task's engine state then stays in one core's caches and in one
 * thread's malloc arena (glibc gives each thread its own). An entity task
 * and a decide task never share a worker when there are two or more
 * (entity tasks on the even places, decide tasks on the odd ones), and
 * with an odd count each worker gets one of each kind. Tasks of one kind
 * on one worker mean each worker's caches hold one kind of state and one
 * step's code, and a decide task need not wait for an entity task of
 * its own worker: with N = 2, worker 0 runs every entity task and worker 1
 * every decide task, and the free steps fill in around them. With t % N
 * for both kinds (and reading before the keyed tasks), each worker ran
 * both and waited 0.05-0.1 s a run for the other's entity tasks; the
 * month took 1.01 s against 0.835 s with this and take_job's order
 * (medians of 6 interleaved runs: docs/bench.md, "Twelfth round"). */
static size_t task_worker(const w_pool *p, size_t t, bool decide)
{
    return (2 * t + decide) % p->n_workers;
}

/* The next batch to read, if one is free and no worker is reading. */
static job take_read(w_pool *p)
{
    w_batch *b = &p->batches[p->next_seq % p->n_batches];
    if (p->reading || p->reading_done || b->state != W_FREE)
        return (job){S_NONE, NULL, 0, 0};
    batch_reset(p, b, p->next_seq);
    b->state = W_FILLING;
    p->reading = true;
    return (job){S_READ, b, 0, 0};
}

/* The next runnable step for worker `me` (lock held), marked running.
 * First the steps that must run in capture order, one batch after the
 * other (output, order), since every later step waits on them; then the
 * worker's own keyed tasks (task_worker), oldest batch first, then the
 * parse of a batch no one parses yet, and last reading the next batch
 * (which its reader then parses: publish_read). A busy worker thus
 * keeps to its keyed tasks and an idle one reads and parses. */
static job take_job(w_pool *p, size_t me)
{
    w_batch *first = batch_of(p, p->next_output);
    if (first && !first->output_running) {
        bool all_decided = true;
        for (size_t l = 0; l < p->n_lanes; l++)
            all_decided &= first->lane[l].decide_left == 0;
        if (all_decided) {
            first->output_running = true;
            return (job){S_OUTPUT, first, 0, 0};
        }
    }
    w_batch *next = batch_of(p, p->next_order);
    if (next && next->parsed && !next->ordered && !next->order_running) {
        next->order_running = true;
        return (job){S_ORDER, next, 0, 0};
    }
    for (uint64_t seq = p->next_output; seq < p->next_seq; seq++) {
        w_batch *b = batch_of(p, seq);
        if (!b)
            continue;
        w_batch *prev = seq > p->next_output ? batch_of(p, seq - 1) : NULL;
        for (size_t l = 0; b->ordered && l < p->n_lanes; l++) {
            w_batch_lane *bl = &b->lane[l];
            for (size_t t = 0; bl->entity_left == 0 && t < p->tasks; t++) {
                if (task_worker(p, t, true) == me && !bl->decide_done[t] && !bl->decide_running[t] &&
                    (!prev || prev->lane[l].decide_done[t])) {
                    bl->decide_running[t] = true;
                    return (job){S_DECIDE, b, l, t};
                }
            }
            for (size_t t = 0; t < p->tasks; t++) {
                if (task_worker(p, t, false) == me && !bl->entity_done[t] && !bl->entity_running[t] &&
                    (!prev || prev->lane[l].entity_done[t])) {
                    bl->entity_running[t] = true;
                    return (job){S_ENTITY, b, l, t};
                }
            }
        }
        if (!b->parsed && !b->parse_running) {
            b->parse_running = true;
            return (job){S_PARSE, b, 0, 0};
        }
    }
    return take_read(p);
}

/* Mark j done (lock held). */
static void finish_job(w_pool *p, const job *j)
{
    w_batch *b = j->b;
    switch (j->what) {
    case S_READ: break;   /* not reached: a read becomes its parse (publish_read) */
    case S_PARSE: b->parsed = true; break;
    case S_ORDER:
        b->ordered = true;
        p->next_order++;
        break;
    case S_ENTITY:
        b->lane[j->lane].entity_done[j->task] = true;
        b->lane[j->lane].entity_left--;
        break;
    case S_DECIDE:
        b->lane[j->lane].decide_done[j->task] = true;
        b->lane[j->lane].decide_left--;
        break;
    case S_OUTPUT:
        b->state = W_FREE;
        p->next_output++;
        break;
    case S_NONE: break;
    }
    pthread_cond_broadcast(&p->work);
}

static void fail(w_pool *p, const char *why)
{
    if (!p->failed) {
        p->failed = true;
        snprintf(p->error, sizeof p->error, "%s", why);
    }
    pthread_cond_broadcast(&p->work);
}

static void *worker_main(void *arg)
{
    w_pool *p = arg;
    rg_event_parser *parser = rg_event_parser_new();
    char err[512];
    pthread_mutex_lock(&p->lock);
    size_t me = p->next_worker++;
    if (!parser)
        fail(p, "out of memory creating a parser");
    for (;;) {
        if (p->failed)
            break;
        job j = take_job(p, me);
        if (j.what == S_NONE) {
            if (p->reading_done && p->next_output == p->next_seq)
                break;
            pthread_cond_wait(&p->work, &p->lock);
            continue;
        }
        if (j.what == S_READ) {
            pthread_mutex_unlock(&p->lock);
            bool more = w_read(&p->reader, j.b);
            pthread_mutex_lock(&p->lock);
            if (!publish_read(p, j.b, more))
                continue;
            j.what = S_PARSE;
        }
        pthread_mutex_unlock(&p->lock);
        int rc = 0;
        switch (j.what) {
        case S_READ: break;
        case S_PARSE: rc = w_parse(p, j.b, parser, err, sizeof err); break;
        case S_ORDER: rc = w_order(p, j.b, err, sizeof err); break;
        case S_ENTITY: rc = w_entity(p, j.b, j.lane, j.task, err, sizeof err); break;
        case S_DECIDE: rc = w_decide(p, j.b, j.lane, j.task, err, sizeof err); break;
        case S_OUTPUT: rc = output(p, j.b, err, sizeof err); break;
        case S_NONE: break;
        }
        rg_heap_pages_tick();   /* this thread's arena grew? (rg_replay_run began) */
        pthread_mutex_lock(&p->lock);
        if (rc != 0)
            fail(p, err);
        else
            finish_job(p, &j);
    }
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    rg_event_parser_free(parser);
    return NULL;
}

/* Room for every lane's summed rule hits. */
static size_t hits_needed(const w_pool *p)
{
    size_t n = 0;
    for (size_t l = 0; l < p->n_lanes; l++)
        n += rg_ruleset_rule_count(p->lane[l].rs) + 1;
    return n;
}

int rg_workers_run(const rg_replay_opts *o, rg_replay_result *res, char *errstr, size_t errstr_size)
{
    double start = rg_replay_now_seconds();
    w_pool *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(errstr, errstr_size, "out of memory starting the workers");
        return -1;
    }
    p->o = o;
    p->res = res;
    p->n_lanes = o->n_lanes;
    p->tasks = p->n_workers = (size_t)(o->workers > RG_WORKERS_MAX ? RG_WORKERS_MAX : o->workers);
    p->n_batches = W_BATCHES_PER_WORKER * p->n_workers + 2;
    pthread_t threads[RG_WORKERS_MAX];
    size_t started = 0;
    int rc = -1;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    /* Counters the summaries can print whatever happens below. */
    for (size_t l = 0; l < p->n_lanes; l++) {
        res->lane[l].rs = rg_engine_ruleset(o->lanes[l].engine);
        rg_engine_get_stats(o->lanes[l].engine, &res->lane[l].stats);
    }
    for (size_t l = 0; l < p->n_lanes; l++)
        if (lane_init(p, &p->lane[l], &o->lanes[l], errstr, errstr_size) != 0)
            goto done;
    if (!(p->batches = calloc(p->n_batches, sizeof *p->batches)) ||
        !(p->reader.cap = rg_capture_new(o->captures, o->n_captures)) ||
        !(res->hits_storage = calloc(hits_needed(p), sizeof *res->hits_storage))) {
        snprintf(errstr, errstr_size, "out of memory starting the workers");
        goto done;
    }
    for (size_t i = 0; i < p->n_batches; i++) {
        if (batch_init(p, &p->batches[i]) != 0) {
            snprintf(errstr, errstr_size, "out of memory starting the workers");
            goto done;
        }
    }
    p->reader.progress = o->progress;
    p->reader.start = rg_replay_now_seconds();
    p->reader.next_progress = p->reader.start + 0.5;
    for (; started < p->n_workers; started++) {
        if (pthread_create(&threads[started], NULL, worker_main, p) != 0) {
            snprintf(errstr, errstr_size, "cannot start worker threads");
            pthread_mutex_lock(&p->lock);
            fail(p, errstr);
            pthread_mutex_unlock(&p->lock);
            break;
        }
    }
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    if (o->progress)
        fputs("\r\033[K", stderr);
    if (p->failed) {
        snprintf(errstr, errstr_size, "%s", p->error);
        rc = -1;
    } else {
        rc = p->reader.rc;
        if (rc != 0)
            snprintf(errstr, errstr_size, "%s", p->reader.error);
    }
    const rg_capture_stats *cs = rg_capture_get_stats(p->reader.cap);
    res->lines = cs->lines;
    res->blank_lines = cs->blank_lines;
    uint64_t *hits = res->hits_storage;
    for (size_t l = 0; l < p->n_lanes; l++) {
        lane_result(p, l, &res->lane[l], hits);
        hits += rg_ruleset_rule_count(p->lane[l].rs) + 1;
    }
done:
    res->seconds = rg_replay_now_seconds() - start;
    for (size_t i = 0; p->batches && i < p->n_batches; i++)
        batch_free(p, &p->batches[i]);
    free(p->batches);
    for (size_t l = 0; l < p->n_lanes; l++)
        lane_free(p, &p->lane[l]);
    rg_capture_free(p->reader.cap);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    free(p);
    return rc;
}
