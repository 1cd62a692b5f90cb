#include "replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ingest/capture.h"
#include "../stages/pipeline.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw_progress(const rg_capture *cap, const rg_replay_result *res, double elapsed, bool final)
{
    uint64_t done = 0, total = 0;
    rg_capture_progress(cap, &done, &total);
    double rate = elapsed > 0 ? (double)res->events_read / elapsed : 0;
    if (total)
        fprintf(stderr, "\r\033[Kreplay: %5.1f%%  %llu lines  %.0f lines/s", 100.0 * (double)done / (double)total,
                (unsigned long long)res->events_read, rate);
    else
        fprintf(stderr, "\r\033[Kreplay: %llu lines  %.0f lines/s", (unsigned long long)res->events_read, rate);
    if (final)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}

int rg_replay_run(const rg_replay_opts *o, rg_replay_result *res, char *errstr, size_t errstr_size)
{
    memset(res, 0, sizeof *res);
    rg_capture *cap = rg_capture_new(o->captures, o->n_captures);
    if (!cap) {
        snprintf(errstr, errstr_size, "out of memory opening captures");
        return -1;
    }
    int rc = 0;
    double start = now_seconds(), next_progress = start + 0.5;
    rg_strbuf line = RG_STRBUF_INIT;
    rg_capture_item item;
    for (;;) {
        rg_capture_status st = rg_capture_next(cap, &item, errstr, errstr_size);
        if (st == RG_CAPTURE_END)
            break;
        if (st == RG_CAPTURE_ERROR) {
            rc = -1;
            break;
        }
        res->events_read++;
        if (st == RG_CAPTURE_REJECT) {
            res->rejected++;
            res->rejected_by_kind[item.reject.kind]++;
            if (o->rejects && o->max_rejects_set && res->rejected > o->max_rejects) {
                res->rejects_not_written++;
            } else if (o->rejects) {
                rg_strbuf_reset(&line);
                rg_reject_write_json(&item.reject, item.source, item.raw, item.raw_len, &line);
                rg_strbuf_putc(&line, '\n');
                if (fwrite(line.data, 1, line.len, o->rejects) != line.len) {
                    snprintf(errstr, errstr_size, "writing rejects: %s", strerror(errno));
                    rc = -1;
                    break;
                }
            }
        } else if (o->pipeline) {
            res->accepted++;
            if (rg_pipeline_feed(o->pipeline, item.raw, item.raw_len, item.source) != 0) {
                snprintf(errstr, errstr_size, "out of memory at %s", item.source);
                rc = -1;
                break;
            }
        } else {
            res->accepted++;
            for (size_t l = 0; l < o->n_lanes; l++) {
                if (rg_engine_process(o->lanes[l].engine, &item.event, item.raw, item.raw_len,
                                      o->lanes[l].sink) == RG_ENGINE_SINK_ERROR) {
                    snprintf(errstr, errstr_size, "writing decisions failed at %s", item.source);
                    rc = -1;
                }
            }
            if (rc)
                break;
        }
        if (o->progress && (res->events_read & 4095) == 0) {
            double t = now_seconds();
            if (t >= next_progress) {
                draw_progress(cap, res, t - start, false);
                next_progress = t + 0.5;
            }
        }
    }
    if (rc == 0 && o->pipeline)
        rc = rg_pipeline_finish(o->pipeline, errstr, errstr_size);
    res->seconds = now_seconds() - start;
    if (o->progress)
        draw_progress(cap, res, res->seconds, true);
    const rg_capture_stats *cs = rg_capture_get_stats(cap);
    res->lines = cs->lines;
    res->blank_lines = cs->blank_lines;
    res->envelopes = cs->envelopes;
    rg_strbuf_free(&line);
    rg_capture_free(cap);
    return rc;
}

void rg_replay_summary_json(const rg_replay_result *res, const rg_engine *e, rg_strbuf *out)
{
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
    const rg_ruleset *rs = rg_engine_ruleset(e);
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

void rg_replay_summary_text(const rg_replay_result *res, const rg_engine *e, rg_strbuf *out)
{
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
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
                     rg_ruleset_id(rg_engine_ruleset(e)));
}
