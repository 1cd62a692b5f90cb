/* ingest — the first stage; see ingest.h and docs/scale-out.md. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../detectors/families.h"
#include "../ingest/event_parse.h"
#include "../ingest/reject.h"
#include "held.h"
#include "record.h"
#include "stage_state.h"

struct rg_ingest {
    rg_engine *engine;
    int32_t partition;
    rg_event_parser *parser;
    int64_t progress_ms;
    /* entity families the loaded rules use: where events are routed */
    bool to_counterparty, to_packets, to_complaints;
    rg_held_plan held;      /* subjects whose cooldowns their own tasks keep (held.h) */
    rg_strbuf values, rec, key, deadletter, extra;
};

static bool uses(const rg_ruleset *rs, const rg_detector *d)
{
    size_t n = 0;
    (void)rg_ruleset_detector_uses(rs, d, &n);
    return n > 0;
}

static void route_for(rg_ingest *g, const rg_ruleset *rs)
{
    g->to_counterparty = uses(rs, &rg_detector_counterparty);
    g->to_packets = uses(rs, &rg_detector_packets);
    g->to_complaints = uses(rs, &rg_detector_complaints);
    rg_held_plan_for(&g->held, rs);
}

rg_ingest *rg_ingest_new(const rg_ruleset *rs, const rg_geo *geo, int32_t partition, char *err, size_t err_size)
{
    rg_ingest *g = calloc(1, sizeof *g);
    if (!g || !(g->parser = rg_event_parser_new())) {
        snprintf(err, err_size, "out of memory creating an ingest task");
        free(g);
        return NULL;
    }
    rg_engine_role role = {.families = rg_family_bit("login"), .dedupe = true, .decide = false};
    if (!(g->engine = rg_engine_new_role(rs, geo, &role, err, err_size))) {
        rg_event_parser_free(g->parser);
        free(g);
        return NULL;
    }
    g->partition = partition;
    g->progress_ms = INT64_MIN;
    route_for(g, rs);
    return g;
}

void rg_ingest_free(rg_ingest *g)
{
    if (!g)
        return;
    rg_engine_free(g->engine);
    rg_event_parser_free(g->parser);
    rg_strbuf_free(&g->values);
    rg_strbuf_free(&g->rec);
    rg_strbuf_free(&g->key);
    rg_strbuf_free(&g->deadletter);
    rg_strbuf_free(&g->extra);
    free(g);
}

int64_t rg_ingest_progress(const rg_ingest *g) { return g->progress_ms; }
rg_engine *rg_ingest_engine(rg_ingest *g) { return g->engine; }

void rg_ingest_mark(int32_t partition, int64_t progress_ms, bool drained, rg_strbuf *out)
{
    rg_rec r = {.kind = RG_REC_MARK, .drained = drained, .src_partition = partition, .src_offset = -1,
                .ts_ms = progress_ms, .msg_ts_ms = -1, .progress_ms = progress_ms};
    rg_rec_encode(&r, out);
}

/* One ENTITY/STORE record for family `family` under key prefix + id. */
static int to_entity(rg_ingest *g, const rg_event *ev, const void *raw, size_t len, int64_t offset, int64_t msg_ts,
                     rg_rec_kind kind, char family, const char *id, size_t id_len, const rg_stage_out *out)
{
    rg_strbuf_reset(&g->key);
    rg_strbuf_putc(&g->key, family);
    rg_strbuf_putc(&g->key, ':');
    rg_strbuf_append(&g->key, id, id_len);
    rg_rec r = {.kind = kind, .family = family, .src_partition = g->partition, .src_offset = offset,
                .ts_ms = ev->ts_ms, .msg_ts_ms = msg_ts, .progress_ms = g->progress_ms, .raw = raw, .raw_len = len};
    rg_strbuf_reset(&g->rec);
    rg_rec_encode(&r, &g->rec);
    if (!rg_strbuf_ok(&g->key) || !rg_strbuf_ok(&g->rec) || !out->to_entities)
        return -1;
    return out->to_entities(out->opaque, g->key.data, g->key.len, g->rec.data, g->rec.len);
}

/* One HOLD record for held subject number `rank` under key "s:" + subject. */
static int to_hold(rg_ingest *g, const rg_event *ev, int64_t offset, int64_t msg_ts, unsigned rank,
                   const char *subject, size_t subject_len, const rg_stage_out *out)
{
    rg_strbuf_reset(&g->key);
    rg_strbuf_append(&g->key, "s:", 2);
    rg_strbuf_append(&g->key, subject, subject_len);
    rg_strbuf_reset(&g->extra);
    rg_held_hold_put(&g->extra, rank, subject, subject_len);
    rg_rec r = {.kind = RG_REC_HOLD, .family = 's', .src_partition = g->partition, .src_offset = offset,
                .ts_ms = ev->ts_ms, .msg_ts_ms = msg_ts, .progress_ms = g->progress_ms, .extra = g->extra.data,
                .extra_len = g->extra.len};
    rg_strbuf_reset(&g->rec);
    rg_rec_encode(&r, &g->rec);
    if (!rg_strbuf_ok(&g->key) || !rg_strbuf_ok(&g->extra) || !rg_strbuf_ok(&g->rec) || !out->to_entities)
        return -1;
    return out->to_entities(out->opaque, g->key.data, g->key.len, g->rec.data, g->rec.len);
}

rg_ingest_outcome rg_ingest_process(rg_ingest *g, const void *value, size_t len, int64_t offset, int64_t msg_ts_ms,
                                    const char *source, const rg_stage_out *out)
{
    rg_event ev;
    rg_reject rej;
    const char *bytes = value ? value : "";
    if (rg_event_parse(g->parser, bytes, value ? len : 0, &ev, &rej) != 0) {
        rg_strbuf_reset(&g->deadletter);
        rg_reject_write_json(&rej, source, bytes, value ? len : 0, &g->deadletter);
        if (!rg_strbuf_ok(&g->deadletter) || !out->reject ||
            out->reject(out->opaque, g->deadletter.data, g->deadletter.len, rg_reject_kind_name(rej.kind)) != 0)
            return RG_INGEST_FAILED;
        return RG_INGEST_REJECTED;
    }
    rg_strbuf_reset(&g->values);
    rg_engine_result er = rg_engine_process_stage(g->engine, &ev, bytes, len, RG_FAMILIES_ALL, NULL, 0, &g->values,
                                                  NULL);
    if (er == RG_ENGINE_DUPLICATE)
        return RG_INGEST_DUPLICATE;
    if (!rg_strbuf_ok(&g->values))
        return RG_INGEST_FAILED;
    if (ev.ts_ms > g->progress_ms)
        g->progress_ms = ev.ts_ms;

    /* Entity records first: an ENRICH can then never reach decide before
     * its EVENT has been produced (it does not have to: decide waits for
     * either). */
    bool names = false;
    int rc = 0;
    switch (ev.type) {
    case RG_EV_TRANSFER:
        if (g->to_counterparty) {
            rc |= to_entity(g, &ev, bytes, len, offset, msg_ts_ms, RG_REC_ENTITY, 'c', ev.counterparty,
                            ev.counterparty_len, out);
            names = true;
        }
        if (g->to_complaints)
            rc |= to_entity(g, &ev, bytes, len, offset, msg_ts_ms, RG_REC_STORE, 't', ev.event_id, ev.event_id_len,
                            out);
        break;
    case RG_EV_ACCOUNT_OPEN:
        if (g->to_counterparty)
            rc |= to_entity(g, &ev, bytes, len, offset, msg_ts_ms, RG_REC_STORE, 'c', ev.account, ev.account_len,
                            out);
        break;
    case RG_EV_RED_PACKET_SEND:
        if (g->to_packets)
            rc |= to_entity(g, &ev, bytes, len, offset, msg_ts_ms, RG_REC_STORE, 'p', ev.packet_id,
                            ev.packet_id_len, out);
        break;
    case RG_EV_RED_PACKET_CLAIM:
        if (g->to_packets) {
            rc |= to_entity(g, &ev, bytes, len, offset, msg_ts_ms, RG_REC_ENTITY, 'p', ev.packet_id,
                            ev.packet_id_len, out);
            names = true;
        }
        break;
    case RG_EV_COMPLAINT:
    case RG_EV_RECALL_REQUEST:
        if (g->to_complaints && ev.ref) {
            rc |= to_entity(g, &ev, bytes, len, offset, msg_ts_ms, RG_REC_ENTITY, 't', ev.ref, ev.ref_len, out);
            names = true;
        }
        break;
    default:
        break;
    }
    /* A place in each held subject's order (held.h), with the entity
     * records: before the EVENT, like them. */
    const char *held[RG_HELD_MAX_SUBJECTS];
    size_t held_lens[RG_HELD_MAX_SUBJECTS];
    size_t n_held = rg_held_subjects(&g->held, &ev, held, held_lens);
    for (size_t i = 0; i < n_held; i++)
        rc |= to_hold(g, &ev, offset, msg_ts_ms, (unsigned)i, held[i], held_lens[i], out);
    rg_strbuf_reset(&g->extra);
    if (n_held)
        rg_held_list_put(&g->extra, held, held_lens, n_held);
    rg_rec r = {.kind = RG_REC_EVENT, .needs_enrich = names, .src_partition = g->partition, .src_offset = offset,
                .ts_ms = ev.ts_ms, .msg_ts_ms = msg_ts_ms, .progress_ms = g->progress_ms, .values = g->values.data,
                .values_len = g->values.len, .extra = g->extra.data, .extra_len = g->extra.len, .raw = bytes,
                .raw_len = len};
    rg_strbuf_reset(&g->rec);
    rg_rec_encode(&r, &g->rec);
    if (!rg_strbuf_ok(&g->rec) || !rg_strbuf_ok(&g->extra) || !out->to_decide)
        return RG_INGEST_FAILED;
    rc |= out->to_decide(out->opaque, ev.account, ev.account_len, g->rec.data, g->rec.len);
    return rc ? RG_INGEST_FAILED : RG_INGEST_EVENT;
}

int rg_ingest_save(const rg_ingest *g, rg_strbuf *out, char *err, size_t err_size)
{
    rg_stage_state_begin(out, 'i', g->partition);
    rg_put_i64(out, g->progress_ms);
    return rg_stage_state_engine(out, g->engine, err, err_size);
}

int rg_ingest_load(rg_ingest *g, const void *bytes, size_t len, char *err, size_t err_size)
{
    rg_reader in;
    if (rg_stage_state_open(&in, bytes, len, 'i', g->partition, err, err_size) != 0)
        return -1;
    int64_t progress = rg_get_i64(&in, "progress");
    if (rg_stage_state_load_engine(&in, g->engine, err, err_size) != 0)
        return -1;
    g->progress_ms = progress;
    return 0;
}

int rg_ingest_swap_rules(rg_ingest *g, const rg_ruleset *rs, char *err, size_t err_size)
{
    if (rg_engine_swap_rules(g->engine, rs, err, err_size) != 0)
        return -1;
    route_for(g, rs);
    return 0;
}
