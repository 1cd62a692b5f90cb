/*
 * workers_internal — what workers.c (threads, batches, reading, output),
 * workers_parse.c (reading and parsing a batch, its arena) and
 * workers_jobs.c (the later steps' work) share. Not a public interface.
 */
#ifndef RG_REPLAY_WORKERS_INTERNAL_H
#define RG_REPLAY_WORKERS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../detectors/detector.h"
#include "../ingest/event_parse.h"
#include "workers.h"

/* Lines per batch: big enough that a job's cost (~0.3 ms) dwarfs taking
 * it (a lock and a scan), small enough that a batch (~0.7 MB: lines,
 * events, their strings) is still in cache when its later steps run
 * (cachegrind, 1 MB last level, 300k lines, 2 workers: 17.6 M misses at
 * 1,024 lines, 18.5 M at 4,096). */
#define W_BATCH_LINES 1024
/* Batches in flight, per worker (plus two). */
#define W_BATCHES_PER_WORKER 4
/* A batch also closes once its text passes this (long lines). */
#define W_BATCH_TEXT (4u << 20)

/* Where an event goes in a lane: up to two entity records (a transfer:
 * its counterparty's names, and the complaints family keeps it). */
#define W_MAX_ROUTES 2

typedef struct w_route {
    int32_t task;       /* entity partition; -1 none */
    uint32_t family;    /* the family's bit (rg_family_bit) */
    bool names;         /* an ENTITY record: its values go to decide */
} w_route;

/* One event as a lane sees it. */
typedef struct w_lane_event {
    w_route route[W_MAX_ROUTES];
    bool dup;                   /* a duplicate (order step): evaluated nowhere */
    int64_t watermark_ms;       /* the lane's watermark before this event (order step) */
    int32_t values_task;        /* the entity partition whose values buffer holds its values; -1 none */
    uint32_t values_off, values_len;
} w_lane_event;

typedef struct w_event {
    rg_event ev;                /* strings in the batch's arena (rg_event_copy) */
    const char *strings;        /* where they are: one piece of the arena, */
    uint32_t strings_len;       /* fetched whole ahead of the keyed tasks */
    const char *raw;            /* the line, or an envelope's payload (arena) */
    size_t raw_len;
    rg_event_hashes ids;        /* its ids' table hashes, made by the parse (rg_engine_prefetch_hashed) */
    int32_t decide_task;        /* partition of the acting account */
    uint32_t line;              /* its line in the batch */
} w_event;

typedef struct w_line {
    uint32_t text_off, text_len;    /* the line's bytes in the batch text */
    uint32_t source_off;            /* its file's "path:" in the batch text (once per file in a batch) */
    uint32_t source_path_len;       /* its length */
    uint64_t line_no;               /* its line in that file: the source is "path:" + line_no */
    int32_t event;                  /* an event: its index; -1 a reject */
    uint32_t reject_off, reject_len;    /* a reject: its JSON object (no newline) in the batch rejects */
    uint8_t reject_kind;
    bool parsed;                    /* false: the reader rejected it already (over-long) */
} w_line;

/* A task's list of work for one batch (event indexes; for entity tasks
 * index * W_MAX_ROUTES + route), in capture order. */
typedef struct w_list {
    uint32_t *item;
    size_t n, cap;
} w_list;

typedef struct w_arena_chunk w_arena_chunk;

/* The per-lane part of a batch. */
typedef struct w_batch_lane {
    w_lane_event *events;           /* [W_BATCH_LINES] */
    w_list *entity_work, *decide_work;  /* [tasks] */
    rg_strbuf *values;              /* [tasks]: the entity tasks' values */
    rg_strbuf *decisions;           /* [tasks]: the decide tasks' captured decisions (workers_jobs.c) */
    size_t *decision_read;          /* [tasks]: the output step's place in each */
    uint32_t entity_left, decide_left;  /* tasks of this batch still to finish */
    bool *entity_done, *entity_running, *decide_done, *decide_running;  /* [tasks] */
} w_batch_lane;

typedef enum w_state { W_FREE = 0, W_FILLING, W_READY } w_state;

typedef struct w_batch {
    w_state state;
    uint64_t seq;                   /* batches are numbered in capture order */
    rg_strbuf text;                 /* the lines as read, and their files' "path:" */
    uint32_t source_file;           /* the file whose "path:" the batch text has last (reader) */
    w_line *lines;                  /* [W_BATCH_LINES] */
    size_t n_lines;
    w_event *events;                /* [W_BATCH_LINES] */
    size_t n_events;
    rg_strbuf rejects;              /* reject JSON objects, one after the other */
    w_arena_chunk *arena;           /* event strings, payloads */
    uint64_t envelopes;
    bool parse_running, parsed, order_running, ordered, output_running;
    w_batch_lane lane[RG_REPLAY_MAX_LANES];
} w_batch;

/* One lane's engines: order (dedupe, watermark), entity and decide tasks. */
typedef struct w_lane {
    const rg_ruleset *rs;
    const rg_sink *sink;
    rg_engine *order;
    rg_engine **entity, **decide;   /* [tasks] */
    bool to_counterparty, to_packets, to_complaints;
    uint32_t bit_counterparty, bit_packets, bit_complaints;
    /* The output step's, for the decisions the decide tasks leave held:
     * the cooldowns of the rules whose pairs arise from many acting
     * accounts (rg_rule_cross_cooldown), applied in capture order as the
     * one engine applies them, and the counters of what it finished. */
    struct rg_cooldowns *cross_cooldowns;
    rg_strbuf finished_json;
    uint32_t since_expire;
    struct {
        uint64_t decisions, suppressed, actions[RG_ACT_COUNT];
    } finished;
} w_lane;

typedef struct w_pool w_pool;

/* The reading step's state, used by one worker at a time (workers.c
 * says whose turn it is). */
struct rg_capture;
typedef struct w_reader {
    struct rg_capture *cap;
    bool progress;              /* draw a progress line on stderr */
    uint64_t lines_read;
    double start, next_progress;
    int rc;                     /* 0, or -1 with error: the capture's I/O or memory error */
    char error[512];
} w_reader;

/* Fill b (the reading worker's) with the capture's next lines: true when
 * b is full and more may follow; false when the captures ended, or
 * failed (rc, error: the lines read before are still evaluated). */
bool w_read(w_reader *r, w_batch *b);

/* The steps (w_parse: workers_parse.c; the others: workers_jobs.c). 0,
 * or -1 with the pool's error set. */
int w_parse(w_pool *p, w_batch *b, rg_event_parser *parser, char *errstr, size_t errstr_size);
int w_order(w_pool *p, w_batch *b, char *errstr, size_t errstr_size);
int w_entity(w_pool *p, w_batch *b, size_t lane, size_t task, char *errstr, size_t errstr_size);
int w_decide(w_pool *p, w_batch *b, size_t lane, size_t task, char *errstr, size_t errstr_size);
/* Hand the decisions decide task `task` captured for event `event` to
 * the lane's sink, in the order they were made. 0, or -1 (the sink
 * refused one). */
int w_emit_decisions(w_pool *p, w_batch *b, size_t lane, size_t task, uint32_t event);

/* Make line ln a reject: its JSON object (rg_reject_write_json, with its
 * source) appended to the batch's rejects, for the rejects sink. 0, or -1 out of memory. */
struct rg_capture_item;
int w_line_reject(w_batch *b, w_line *ln, const struct rg_capture_item *item);
/* A line's source, "path:line", into out (cleared first); false on OOM. */
bool w_line_source(const w_batch *b, const w_line *ln, rg_strbuf *out);

/* What the steps need of the pool. */
size_t w_pool_tasks(const w_pool *p);
size_t w_pool_lanes(const w_pool *p);
w_lane *w_pool_lane(w_pool *p, size_t lane);

/* The batch's arena: n bytes aligned for a pointer, valid until the batch
 * is reset. NULL on OOM. */
void *w_arena_alloc(w_batch *b, size_t n);
void w_arena_reset(w_batch *b);
void w_arena_free(w_batch *b);

int w_list_push(w_list *l, uint32_t v);

#endif
