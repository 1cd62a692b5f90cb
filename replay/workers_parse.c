/*
 * workers_parse — the first two steps of replay --workers (workers.h):
 * read (the capture cut into batches of lines, in order) and parse (each
 * line's event, its strings in the batch's arena, and the keyed tasks it
 * goes to), and the arena itself. The later steps are workers_jobs.c;
 * workers.c decides when each runs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "../ingest/capture.h"
#include "../ingest/event_parse.h"
#include "progress.h"
#include "workers_internal.h"

/* ---- the batch arena: event strings and payloads, in chunks that never
 * move (events point into them) and are kept for the next batch. */

struct w_arena_chunk {
    w_arena_chunk *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK (256u << 10)

void *w_arena_alloc(w_batch *b, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    w_arena_chunk *c = b->arena;
    /* The first chunk with room (the list is short: a batch needs a few). */
    while (c && c->cap - c->used < n)
        c = c->next;
    if (!c) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = b->arena;
        b->arena = c;
    }
    void *at = c->data + c->used;
    c->used += n;
    return at;
}

void w_arena_reset(w_batch *b)
{
    for (w_arena_chunk *c = b->arena; c; c = c->next)
        c->used = 0;
}

void w_arena_free(w_batch *b)
{
    while (b->arena) {
        w_arena_chunk *next = b->arena->next;
        free(b->arena);
        b->arena = next;
    }
}

/* ---- read */

bool w_read(w_reader *r, w_batch *b)
{
    for (;;) {
        rg_capture_item item;
        rg_capture_status st = rg_capture_next_line(r->cap, &item, r->error, sizeof r->error);
        if (st == RG_CAPTURE_END || st == RG_CAPTURE_ERROR) {
            r->rc = st == RG_CAPTURE_ERROR ? -1 : 0;
            return false;
        }
        w_line *ln = &b->lines[b->n_lines];
        memset(ln, 0, sizeof *ln);
        /* Its file's "path:" once per batch and file, and its number:
         * the "path:line" text is made only for a reject or an error. */
        if (!b->n_lines || item.file != b->source_file) {
            b->source_file = item.file;
            ln->source_off = (uint32_t)b->text.len;
            rg_strbuf_append(&b->text, item.source, item.source_path_len);
        } else {
            ln->source_off = b->lines[b->n_lines - 1].source_off;
        }
        ln->source_path_len = item.source_path_len;
        ln->line_no = item.line_no;
        if (st == RG_CAPTURE_EVENT) {
            ln->parsed = true;
            ln->text_off = (uint32_t)b->text.len;
            ln->text_len = (uint32_t)item.raw_len;
            rg_strbuf_append(&b->text, item.raw, item.raw_len);
            rg_strbuf_putc(&b->text, '\0');
        } else {
            /* Over-long: rejected by the reader, with its first bytes. */
            (void)w_line_reject(b, ln, &item);
        }
        if (!rg_strbuf_ok(&b->text) || !rg_strbuf_ok(&b->rejects)) {
            snprintf(r->error, sizeof r->error, "out of memory reading %s", item.source);
            r->rc = -1;
            return false;
        }
        b->n_lines++;
        r->lines_read++;
        if (r->progress && (r->lines_read & 4095) == 0) {
            double now = rg_replay_now_seconds();
            if (now >= r->next_progress) {
                rg_replay_draw_progress(r->cap, r->lines_read, now - r->start, false);
                r->next_progress = now + 0.5;
            }
        }
        if (b->n_lines == W_BATCH_LINES || b->text.len >= W_BATCH_TEXT)
            return true;
    }
}

/* ---- parse */

bool w_line_source(const w_batch *b, const w_line *ln, rg_strbuf *out)
{
    rg_strbuf_reset(out);
    rg_strbuf_append(out, b->text.data + ln->source_off, ln->source_path_len);
    rg_strbuf_printf(out, "%llu", (unsigned long long)ln->line_no);
    return rg_strbuf_ok(out);
}

int w_line_reject(w_batch *b, w_line *ln, const rg_capture_item *item)
{
    ln->event = -1;
    ln->reject_kind = (uint8_t)item->reject.kind;
    ln->reject_off = (uint32_t)b->rejects.len;
    rg_reject_write_json(&item->reject, item->source, item->raw, item->raw_len, &b->rejects);
    ln->reject_len = (uint32_t)(b->rejects.len - ln->reject_off);
    return rg_strbuf_ok(&b->rejects) ? 0 : -1;
}

/* The task of an id among n. Which task holds a key changes no output
 * (each sees its keys' events in capture order), so any even spread will
 * do: the process's table hash (rg_strmap_hash, inline for the usual ids)
 * instead of `riskgate run`'s murmur2 of "P:" + id, which cost a copy and
 * ~60 instructions a key more. Its bits are mixed by an odd multiplier
 * before the task is taken from the top, so a task's keys do not share
 * the low bits their own maps place them by. Keys of two families may
 * meet on one task: each family has its own maps there. */
static int32_t key_task(uint32_t id_hash, size_t n)
{
    if (n <= 1)
        return 0;
    uint32_t mixed = id_hash * UINT32_C(0x9e3779b1);
    return (int32_t)(((uint64_t)mixed * n) >> 32);
}

/* Where ev goes in lane l: the routing table of docs/scale-out.md (what
 * stages/ingest.c sends), for the families the lane's rules use. */
static void route(const w_lane *l, const rg_event *ev, const rg_event_hashes *ids, size_t tasks, w_lane_event *le)
{
    for (int k = 0; k < W_MAX_ROUTES; k++)
        le->route[k] = (w_route){.task = -1};
    int k = 0;
    switch (ev->type) {
    case RG_EV_TRANSFER:
        if (l->to_counterparty)
            le->route[k++] = (w_route){key_task(ids->counterparty, tasks),
                                       l->bit_counterparty, true};
        if (l->to_complaints)
            le->route[k++] =
                (w_route){key_task(ids->event_id, tasks), l->bit_complaints, false};
        break;
    case RG_EV_ACCOUNT_OPEN:
        if (l->to_counterparty)
            le->route[k++] =
                (w_route){key_task(ids->account, tasks), l->bit_counterparty, false};
        break;
    case RG_EV_RED_PACKET_SEND:
    case RG_EV_RED_PACKET_CLAIM:
        if (l->to_packets)
            le->route[k++] = (w_route){key_task(ids->packet_id, tasks), l->bit_packets,
                                       ev->type == RG_EV_RED_PACKET_CLAIM};
        break;
    case RG_EV_COMPLAINT:
    case RG_EV_RECALL_REQUEST:
        if (l->to_complaints && ev->ref)
            le->route[k++] = (w_route){key_task(ids->ref, tasks), l->bit_complaints, true};
        break;
    default:
        break;
    }
}

/* How many events ahead the parse asks for the lines it will write. */
#define PARSE_WRITE_AHEAD 4

/* The lines the parse of the event PARSE_WRITE_AHEAD on will write: its
 * w_event, its lanes' entries, and the batch arena about that far past
 * its end (the strings of the events between take ~250 bytes each). A
 * batch's arrays and arena are reused by whichever worker takes the next
 * batch, so these lines are often the other core's, last written there:
 * each store then waited for the line to be taken from that core, and
 * the stores after it behind it, the line pass's copy of the next line
 * among them (its first read, which the copy's stores cannot forward
 * to, held 41-44% of the line pass's samples with --workers 2). A read
 * prefetch does not help (the line comes shared, and the store still
 * waits to own it): PREFETCHW does, which asks for the line to write
 * (docs/bench.md "Fifteenth round"). */
#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("prfchw")))
#endif
static void prefetch_parse_writes(const w_pool *p, const w_batch *b, size_t ahead)
{
    if (ahead < W_BATCH_LINES) {
        const char *we = (const char *)&b->events[ahead];
        for (size_t off = 0; off < sizeof b->events[0]; off += 64)
            __builtin_prefetch(we + off, 1);
        for (size_t l = 0; l < w_pool_lanes(p); l++)
            __builtin_prefetch(&b->lane[l].events[ahead], 1);
    }
    const w_arena_chunk *c = b->arena;
    if (c && c->cap - c->used >= 2048)
        for (size_t off = 1024; off < 1536; off += 64)
            __builtin_prefetch(c->data + c->used + off, 1);
}

/* Whether the CPU has PREFETCHW (CPUID 0x80000001, ECX bit 8): where it
 * has not, prefetch_parse_writes is not called (the instruction is a NOP
 * on most such CPUs, but that is not promised). Elsewhere than x86 the
 * compiler's write prefetch is the architecture's own. */
static bool can_prefetch_writes(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 8));
#else
    return true;
#endif
}

int w_parse(w_pool *p, w_batch *b, rg_event_parser *parser, char *errstr, size_t errstr_size)
{
    static int prefetch_writes = -1;   /* can_prefetch_writes, asked once (two workers may both ask) */
    int known = __atomic_load_n(&prefetch_writes, __ATOMIC_RELAXED);
    if (known < 0) {
        known = can_prefetch_writes();
        __atomic_store_n(&prefetch_writes, known, __ATOMIC_RELAXED);
    }
    bool write_ahead = known == 1;
    size_t tasks = w_pool_tasks(p), lanes = w_pool_lanes(p);
    rg_strbuf source = RG_STRBUF_INIT;   /* a reject's "path:line" */
    b->n_events = 0;
    for (size_t i = 0; i < b->n_lines; i++) {
        w_line *ln = &b->lines[i];
        if (!ln->parsed)
            continue;   /* rejected by the reader */
        rg_capture_item item;
        const char *line = b->text.data + ln->text_off;
        if (write_ahead)
            prefetch_parse_writes(p, b, b->n_events + PARSE_WRITE_AHEAD);
        bool envelope, accepted;
        rg_capture_parse(parser, line, ln->text_len, &item, &envelope, &accepted);
        b->envelopes += envelope;
        if (!accepted) {
            bool made = w_line_source(b, ln, &source);
            item.source = source.data;
            if (!made || w_line_reject(b, ln, &item) != 0)
                goto oom;
            continue;
        }
        w_event *we = &b->events[b->n_events];
        /* A line that is its event (no envelope) was read, if by the line
         * pass, from the parser's copy of it: its strings move as one. */
        rg_event_block block = item.raw == line ? rg_event_parser_text(parser, ln->text_len) : (rg_event_block){0};
        size_t strings_len = rg_event_copy_size_in(&item.event, &block);
        void *strings = w_arena_alloc(b, strings_len);
        if (!strings)
            goto oom;
        rg_event_copy_in(&we->ev, &item.event, &block, strings);
        we->strings = strings;
        we->strings_len = (uint32_t)strings_len;
        if (item.raw == line) {
            we->raw = line;   /* the batch text: it stays */
        } else {
            char *payload = w_arena_alloc(b, item.raw_len + 1);
            if (!payload)
                goto oom;
            memcpy(payload, item.raw, item.raw_len);
            payload[item.raw_len] = '\0';
            we->raw = payload;
        }
        we->raw_len = item.raw_len;
        we->line = (uint32_t)i;
        /* The ids hashed once, for the routing here and for every engine
         * that sees the event (rg_engine_prefetch_hashed): a keyed task on
         * the other core would read them again only to hash them. From
         * the parser's copy of the ids: the event's were just written,
         * and a hash reading their last bytes waited for those stores
         * (1.7% of --workers 2's samples). */
        rg_engine_hash_ids(&item.event, &we->ids);
        we->decide_task = key_task(we->ids.account, tasks);
        for (size_t l = 0; l < lanes; l++)
            route(w_pool_lane(p, l), &item.event, &we->ids, tasks, &b->lane[l].events[b->n_events]);
        ln->event = (int32_t)b->n_events++;
    }
    rg_strbuf_free(&source);
    return 0;
oom:
    rg_strbuf_free(&source);
    snprintf(errstr, errstr_size, "out of memory parsing lines");
    return -1;
}
