#include "replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/heap_pages.h"
#include "../ingest/capture.h"
#include "../ingest/event_parse.h"
#include "../stages/pipeline.h"
#include "progress.h"
#include "workers.h"

/* Events read ahead of the one being evaluated: the engine is told about
 * the next three (rg_engine_prefetch), so the cache misses of their
 * lookups overlap with this event's work instead of following it. Each slot
 * keeps its own parser (the event points into it); its line and source
 * stay in the reader's buffers, held (rg_capture_hold) until evaluated. */
#define AHEAD 4
_Static_assert(AHEAD <= RG_CAPTURE_MAX_HELD, "the reader holds every line read ahead");

typedef struct ahead_slot {
    rg_event_parser *parser;
    rg_capture_item item;
} ahead_slot;

typedef struct replay_run {
    const rg_replay_opts *o;
    rg_replay_result *res;
    rg_strbuf reject_line;
    char *errstr;
    size_t errstr_size;
} replay_run;

static int write_reject(replay_run *r, const rg_capture_item *item)
{
    const rg_replay_opts *o = r->o;
    r->res->rejected++;
    r->res->rejected_by_kind[item->reject.kind]++;
    if (!o->rejects)
        return 0;
    rg_strbuf_reset(&r->reject_line);
    rg_reject_write_json(&item->reject, item->source, item->raw, item->raw_len, &r->reject_line);
    rg_dead_letter dl = {.json = r->reject_line.data, .json_len = r->reject_line.len,
                         .kind = rg_reject_kind_name(item->reject.kind)};
    int rc = rg_strbuf_ok(&r->reject_line) ? rg_sink_reject(o->rejects, &dl, NULL) : RG_SINK_FAILED;
    if (rc == RG_SINK_DECLINED)
        r->res->rejects_not_written++;
    if (rc < 0) {
        snprintf(r->errstr, r->errstr_size, "writing rejects: %s",
                 rg_strbuf_ok(&r->reject_line) ? strerror(errno) : "out of memory");
        return -1;
    }
    return 0;
}

/* The lanes the loop runs, read from the options once (the per-event
 * calls would otherwise make the compiler read them again after each):
 * none when a pipeline takes the events instead. */
typedef struct lane_set {
    const rg_replay_lane *lanes;
    size_t n;
} lane_set;

static int evaluate(replay_run *r, lane_set ls, const rg_capture_item *item)
{
    const rg_replay_opts *o = r->o;
    r->res->accepted++;
    if (o->pipeline) {
        if (rg_pipeline_feed(o->pipeline, item->raw, item->raw_len, item->source) != 0) {
            snprintf(r->errstr, r->errstr_size, "out of memory at %s", item->source);
            return -1;
        }
        return 0;
    }
    if (ls.n == 1) { /* the usual run: one rule set, no loop to keep */
        if (rg_engine_process(ls.lanes[0].engine, &item->event, item->raw, item->raw_len, ls.lanes[0].sink) !=
            RG_ENGINE_SINK_ERROR)
            return 0;
        snprintf(r->errstr, r->errstr_size, "writing decisions failed at %s", item->source);
        return -1;
    }
    int rc = 0;
    for (size_t l = 0; l < ls.n; l++) {
        if (rg_engine_process(ls.lanes[l].engine, &item->event, item->raw, item->raw_len, ls.lanes[l].sink) ==
            RG_ENGINE_SINK_ERROR) {
            snprintf(r->errstr, r->errstr_size, "writing decisions failed at %s", item->source);
            rc = -1;
        }
    }
    return rc;
}

static void prefetch(lane_set ls, const rg_event *ev, int stage)
{
    if (ls.n == 1) {
        rg_engine_prefetch(ls.lanes[0].engine, ev, stage);
        return;
    }
    for (size_t l = 0; l < ls.n; l++)
        rg_engine_prefetch(ls.lanes[l].engine, ev, stage);
}

/* The lanes' counters from their engines (the one-thread path). */
static void lane_results(const rg_replay_opts *o, rg_replay_result *res)
{
    for (size_t l = 0; l < o->n_lanes && l < RG_REPLAY_MAX_LANES; l++) {
        res->lane[l].rs = rg_engine_ruleset(o->lanes[l].engine);
        rg_engine_get_stats(o->lanes[l].engine, &res->lane[l].stats);
    }
}

void rg_replay_result_free(rg_replay_result *res)
{
    free(res->hits_storage);
    res->hits_storage = NULL;
}

int rg_replay_run(const rg_replay_opts *o, rg_replay_result *res, char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof *res);
    if (o->n_lanes > RG_REPLAY_MAX_LANES) {
        snprintf(errstr, errstr_size, "at most %d rule sets side by side", RG_REPLAY_MAX_LANES);
        return -1;
    }
    /* The state's records are read at random, so they go on huge pages
     * where the kernel allows (common/heap_pages.h); the threads of
     * --workers tick for their own arenas. */
    bool heap_pages = rg_heap_pages_begin();
    if (o->workers > 1 && !o->pipeline)
        return rg_workers_run(o, res, errstr, errstr_size);
    rg_capture *cap = rg_capture_new(o->captures, o->n_captures);
    ahead_slot ring[AHEAD] = {{0}};
    bool ok = cap != NULL;
    for (size_t k = 0; k < AHEAD && ok; k++)
        ok = (ring[k].parser = rg_event_parser_new()) != NULL;
    if (!ok) {
        snprintf(errstr, errstr_size, "out of memory opening captures");
        for (size_t k = 0; k < AHEAD; k++)
            rg_event_parser_free(ring[k].parser);
        rg_capture_free(cap);
        return -1;
    }
    replay_run run = {.o = o, .res = res, .errstr = errstr, .errstr_size = errstr_size};
    const lane_set lanes = {.lanes = o->lanes, .n = o->pipeline ? 0 : o->n_lanes};
    /* at[head + k] is ring[(head + k) % AHEAD]: a slot by one load, with
     * no division or multiplication per event */
    ahead_slot *at[2 * AHEAD];
    for (size_t k = 0; k < 2 * AHEAD; k++)
        at[k] = &ring[k % AHEAD];
    int rc = 0, read_rc = 0;
    double start = rg_replay_now_seconds(), next_progress = start + 0.5;
    size_t head = 0, queued = 0;   /* events read ahead: ring[head], ring[head + 1], ... */
    bool reading = true;
    while (rc == 0) {
        /* Fill the ring: rejects are written as they come (they go to
         * their own file, so only their order among themselves counts).
         * An I/O error ends the stream; the events read before it are
         * still evaluated. */
        while (reading && queued < AHEAD && rc == 0) {
            ahead_slot *sl = at[head + queued];
            rg_capture_status st = rg_capture_next_line(cap, &sl->item, errstr, errstr_size);
            if (st == RG_CAPTURE_END || st == RG_CAPTURE_ERROR) {
                reading = false;
                read_rc = st == RG_CAPTURE_ERROR ? -1 : 0;
                break;
            }
            res->events_read++;
            if (st == RG_CAPTURE_EVENT) {
                bool envelope, accepted;
                rg_capture_parse(sl->parser, sl->item.raw, sl->item.raw_len, &sl->item, &envelope, &accepted);
                res->envelopes += envelope;
                if (accepted) {
                    rg_capture_hold(cap); /* cannot fail: AHEAD <= RG_CAPTURE_MAX_HELD */
                    queued++;
                    continue;
                }
            }
            rc = write_reject(&run, &sl->item);
        }
        if (rc != 0 || !queued)
            break;
        if (queued > 3)
            prefetch(lanes, &at[head + 3]->item.event, 0);
        if (queued > 2)
            prefetch(lanes, &at[head + 2]->item.event, 1);
        if (queued > 1)
            prefetch(lanes, &at[head + 1]->item.event, 2);
        rc = evaluate(&run, lanes, &at[head]->item);
        rg_capture_release(cap);
        head = head + 1 == AHEAD ? 0 : head + 1;
        queued--;
        if (heap_pages && (res->events_read & 63) == 0)
            rg_heap_pages_tick();
        if (o->progress && (res->events_read & 4095) == 0) {
            double t = rg_replay_now_seconds();
            if (t >= next_progress) {
                rg_replay_draw_progress(cap, res->events_read, t - start, false);
                next_progress = t + 0.5;
            }
        }
    }
    if (rc == 0)
        rc = read_rc;
    if (rc == 0 && o->pipeline)
        rc = rg_pipeline_finish(o->pipeline, errstr, errstr_size);
    res->seconds = rg_replay_now_seconds() - start;
    if (o->progress)
        rg_replay_draw_progress(cap, res->events_read, res->seconds, true);
    const rg_capture_stats *cs = rg_capture_get_stats(cap);
    res->lines = cs->lines;
    res->blank_lines = cs->blank_lines;
    lane_results(o, res);
    rg_strbuf_free(&run.reject_line);
    for (size_t k = 0; k < AHEAD; k++) {
        rg_event_parser_free(ring[k].parser);
    }
    rg_capture_free(cap);
    return rc;
}

void rg_replay_summary_json(const rg_replay_result *res, rg_strbuf *out)
{
    const rg_engine_stats st = res->lane[0].stats;
    const rg_ruleset *rs = res->lane[0].rs;
    rg_strbuf_puts(out, "{\"ruleset\":\"");
    rg_strbuf_puts(out, rg_ruleset_id(rs));
    rg_strbuf_printf(out, "\",\"lines\":%llu,\"blank_lines\":%llu,\"events_read\":%llu,\"accepted\":%llu,"
                          "\"duplicates\":%llu,\"evaluated\":%llu,\"too_late\":%llu,\"rejected\":{\"total\":%llu",
                     (unsigned long long)res->lines, (unsigned long long)res->blank_lines,
                     (unsigned long long)res->events_read, (unsigned long long)res->accepted,
                     (unsigned long long)st.duplicates, (unsigned long long)st.evaluated,
                     (unsigned long long)st.too_late, (unsigned long long)res->rejected);
    for (int k = 0; k < RG_REJ_KIND_COUNT; k++)
        rg_strbuf_printf(out, ",\"%s\":%llu", rg_reject_kind_name((rg_reject_kind)k),
                         (unsigned long long)res->rejected_by_kind[k]);
    rg_strbuf_printf(out, "},\"decisions\":%llu,\"suppressed\":%llu,\"hits\":{", (unsigned long long)st.decisions,
                     (unsigned long long)st.suppressed);
    for (size_t i = 0; i < st.n_rules; i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        if (i)
            rg_strbuf_putc(out, ',');
        rg_strbuf_put_json_str(out, r->id, strlen(r->id));
        rg_strbuf_printf(out, ":%llu", (unsigned long long)st.rule_hits[i]);
    }
    rg_strbuf_puts(out, "},\"actions\":{");
    for (int a = 0; a < RG_ACT_RELEASE; a++)
        rg_strbuf_printf(out, "%s\"%s\":%llu", a ? "," : "", rg_action_name((rg_action)a),
                         (unsigned long long)st.actions[a]);
    double eps = res->seconds > 0 ? (double)res->events_read / res->seconds : 0;
    rg_strbuf_printf(out,
                     "},\"rejects_not_written\":%llu,\"geoip_lookup_errors\":%llu,\"seconds\":%.3f,"
                     "\"events_per_second\":%.0f}",
                     (unsigned long long)res->rejects_not_written, (unsigned long long)res->geoip_lookup_errors,
                     res->seconds, eps);
}

void rg_replay_summary_text(const rg_replay_result *res, rg_strbuf *out)
{
    const rg_engine_stats st = res->lane[0].stats;
    double eps = res->seconds > 0 ? (double)res->events_read / res->seconds : 0;
    rg_strbuf_printf(out, "replay: %llu events read, %llu accepted (%llu duplicates), %llu rejected",
                     (unsigned long long)res->events_read, (unsigned long long)res->accepted,
                     (unsigned long long)st.duplicates, (unsigned long long)res->rejected);
    if (res->rejected) {
        rg_strbuf_puts(out, " (");
        bool first = true;
        for (int k = 0; k < RG_REJ_KIND_COUNT; k++) {
            if (!res->rejected_by_kind[k])
                continue;
            rg_strbuf_printf(out, "%s%s %llu", first ? "" : ", ", rg_reject_kind_name((rg_reject_kind)k),
                             (unsigned long long)res->rejected_by_kind[k]);
            first = false;
        }
        rg_strbuf_putc(out, ')');
    }
    if (res->rejects_not_written)
        rg_strbuf_printf(out, "\nreplay: %llu rejects not written (over --max-rejects; counted above)",
                         (unsigned long long)res->rejects_not_written);
    if (res->geoip_lookup_errors)
        rg_strbuf_printf(out, "\nreplay: %llu GeoIP lookups failed on a database error (geo names unknown for those "
                              "events)",
                         (unsigned long long)res->geoip_lookup_errors);
    if (st.too_late)
        rg_strbuf_printf(out, "\nreplay: %llu events came later than max_lateness behind the newest (windows and "
                              "dedupe are exact only within it)",
                         (unsigned long long)st.too_late);
    rg_strbuf_printf(out, "\nreplay: %llu decisions (freeze %llu, face_verify %llu, review %llu)",
                     (unsigned long long)st.decisions, (unsigned long long)st.actions[RG_ACT_FREEZE],
                     (unsigned long long)st.actions[RG_ACT_FACE_VERIFY],
                     (unsigned long long)st.actions[RG_ACT_REVIEW]);
    if (st.suppressed)
        rg_strbuf_printf(out, ", %llu suppressed by cooldown", (unsigned long long)st.suppressed);
    rg_strbuf_printf(out, " in %.2f s (%.0f events/s), ruleset %s\n", res->seconds, eps,
                     rg_ruleset_id(res->lane[0].rs));
}
