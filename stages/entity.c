/* entity — the second stage; see entity.h and docs/scale-out.md. */
#include "entity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ingest/event_parse.h"
#include "../ingest/reject.h"
#include "held.h"
#include "record.h"
#include "stage_state.h"

struct rg_entity {
    rg_engine *engine;
    int32_t partition;
    rg_smerge merge;
    rg_held *held;
    rg_event_parser *parser;
    uint32_t bit_counterparty, bit_packets, bit_complaints;
    uint64_t bad_records;
    rg_strbuf values, rec;
};

/* The sequence of a record within its source (merge.h): one event sends
 * a partition at most one record per family and one HOLD per held
 * subject (ranks 4 and 5). */
static int64_t seq_of(const rg_rec *r)
{
    int rank = r->family == 'c' ? 1 : r->family == 'p' ? 2 : r->family == 't' ? 3 : 4;
    if (r->kind == RG_REC_HOLD && r->extra_len)
        rank += ((const unsigned char *)r->extra)[0] & 1;
    return r->src_offset * 8 + rank;
}

rg_entity *rg_entity_new(const rg_ruleset *rs, const rg_geo *geo, int32_t partition, size_t n_sources,
                         int64_t max_idle_ms, int64_t max_wait_ms, int64_t mark_interval_ms, char *err,
                         size_t err_size)
{
    rg_entity *t = calloc(1, sizeof *t);
    if (!t || !(t->parser = rg_event_parser_new()) ||
        rg_smerge_init(&t->merge, n_sources, max_idle_ms, max_wait_ms, mark_interval_ms) != 0) {
        snprintf(err, err_size, "out of memory creating an entity task");
        if (t)
            rg_event_parser_free(t->parser);
        free(t);
        return NULL;
    }
    if (!(t->held = rg_held_new(rs, n_sources))) {
        snprintf(err, err_size, "out of memory creating an entity task");
        rg_entity_free(t);
        return NULL;
    }
    t->bit_counterparty = rg_family_bit("counterparty");
    t->bit_packets = rg_family_bit("packets");
    t->bit_complaints = rg_family_bit("complaints");
    rg_engine_role role = {.families = t->bit_counterparty | t->bit_packets | t->bit_complaints};
    if (!(t->engine = rg_engine_new_role(rs, geo, &role, err, err_size))) {
        rg_entity_free(t);
        return NULL;
    }
    t->partition = partition;
    return t;
}

void rg_entity_free(rg_entity *t)
{
    if (!t)
        return;
    rg_engine_free(t->engine);
    rg_smerge_free(&t->merge);
    rg_held_free(t->held);
    rg_event_parser_free(t->parser);
    rg_strbuf_free(&t->values);
    rg_strbuf_free(&t->rec);
    free(t);
}

int rg_entity_push(rg_entity *t, const void *bytes, size_t len, int64_t input_offset, int64_t now_ms, bool *oom,
                   char *err, size_t err_size)
{
    *oom = false;
    rg_rec r;
    if (rg_rec_decode(bytes, len, &r, err, err_size) != 0) {
        t->bad_records++;
        return -1;
    }
    if ((r.kind != RG_REC_ENTITY && r.kind != RG_REC_STORE && r.kind != RG_REC_MARK && r.kind != RG_REC_HOLD &&
         r.kind != RG_REC_HITS) ||
        (size_t)r.src_partition >= t->merge.n) {
        snprintf(err, err_size, "a %s record from source %d is not for this entity stage (%zu sources)",
                 rg_rec_kind_name(r.kind), (int)r.src_partition, t->merge.n);
        t->bad_records++;
        return -1;
    }
    size_t src = (size_t)r.src_partition;
    if (r.kind == RG_REC_HITS) {
        /* From a decide task: beside the merge, and no word on the
         * source's progress. */
        if (rg_held_push(t->held, &r, bytes, len, input_offset, oom) == 0)
            return 0;
        snprintf(err, err_size, *oom ? "out of memory queueing a record" : "a malformed hits record");
        return -1;
    }
    if (r.kind != RG_REC_MARK) {
        rg_smerge_item it = {.seq = seq_of(&r), .ts_ms = r.ts_ms, .msg_ts_ms = r.msg_ts_ms,
                             .input_offset = input_offset, .data = (void *)bytes, .len = len};
        if (rg_smerge_push(&t->merge, src, &it) < 0) {
            *oom = true;
            snprintf(err, err_size, "out of memory queueing a record");
            return -1;
        }
    }
    rg_smerge_report(&t->merge, src, r.progress_ms, r.drained, input_offset, now_ms);
    return 0;
}

/* Evaluate one record popped from the merge. 0, or -1 when the output
 * refused the ENRICH record. A record whose event no longer parses (it
 * parsed at ingest: a different build) is counted and skipped. */
static int evaluate(rg_entity *t, const rg_smerge_item *it, const rg_stage_out *out)
{
    rg_rec r;
    char err[256];
    if (rg_rec_decode(it->data, it->len, &r, err, sizeof err) != 0) {
        t->bad_records++;
        return 0;
    }
    if (r.kind == RG_REC_HOLD) {
        bool oom;
        if (rg_held_reserve(t->held, &r, &oom) != 0 && oom)
            return -1;
        return 0;
    }
    rg_event ev;
    rg_reject rej;
    if (rg_event_parse(t->parser, r.raw, r.raw_len, &ev, &rej) != 0) {
        t->bad_records++;
        return 0;
    }
    uint32_t family = r.family == 'c' ? t->bit_counterparty : r.family == 'p' ? t->bit_packets : t->bit_complaints;
    bool names = r.kind == RG_REC_ENTITY;
    rg_strbuf_reset(&t->values);
    rg_engine_process_stage(t->engine, &ev, r.raw, r.raw_len, family, NULL, 0, names ? &t->values : NULL, NULL);
    if (!names)
        return 0;
    rg_rec e = {.kind = RG_REC_ENRICH, .family = r.family, .src_partition = r.src_partition,
                .src_offset = r.src_offset, .ts_ms = r.ts_ms, .msg_ts_ms = r.msg_ts_ms, .progress_ms = INT64_MIN,
                .values = t->values.data, .values_len = t->values.len};
    rg_strbuf_reset(&t->rec);
    rg_rec_encode(&e, &t->rec);
    if (!rg_strbuf_ok(&t->values) || !rg_strbuf_ok(&t->rec) || !out->to_decide)
        return -1;
    return out->to_decide(out->opaque, ev.account, ev.account_len, t->rec.data, t->rec.len);
}

long rg_entity_run(rg_entity *t, int64_t now_ms, size_t max, const rg_stage_out *out, int64_t *wait_ms)
{
    long done = 0;
    *wait_ms = -1;
    while ((size_t)done < max) {
        size_t src;
        bool late;
        int64_t wait;
        rg_smerge_result r = rg_smerge_next(&t->merge, now_ms, &src, &wait, &late);
        if (r == RG_SMERGE_IDLE)
            break;
        if (r == RG_SMERGE_WAIT) {
            *wait_ms = wait;
            break;
        }
        rg_smerge_item it = rg_smerge_pop(&t->merge, src);
        int rc = evaluate(t, &it, out);
        free(it.data);
        done++;
        if (rc != 0)
            return -1;
    }
    long finished = rg_held_run(t->held, t->merge.stream_time_ms, out);
    if (finished < 0)
        return -1;
    return done + finished;
}

int64_t rg_entity_needed_offset(const rg_entity *t) { return rg_smerge_min_input_offset(&t->merge); }
rg_smerge *rg_entity_merge(rg_entity *t) { return &t->merge; }
rg_engine *rg_entity_engine(rg_entity *t) { return t->engine; }
uint64_t rg_entity_bad_records(const rg_entity *t) { return t->bad_records + rg_held_bad_records(t->held); }

size_t rg_entity_held(const rg_entity *t, size_t *kept)
{
    if (kept)
        *kept = rg_held_pending(t->held);
    return rg_held_waiting(t->held);
}

int rg_entity_save(const rg_entity *t, rg_strbuf *out, char *err, size_t err_size)
{
    rg_stage_state_begin(out, 'e', t->partition);
    rg_smerge_save(&t->merge, out);
    if (rg_held_save(t->held, out) != 0) {
        snprintf(err, err_size, "out of memory saving the task state");
        return -1;
    }
    return rg_stage_state_engine(out, t->engine, err, err_size);
}

int rg_entity_load(rg_entity *t, const void *bytes, size_t len, char *err, size_t err_size)
{
    rg_reader in;
    if (rg_stage_state_open(&in, bytes, len, 'e', t->partition, err, err_size) != 0)
        return -1;
    if (rg_smerge_load(&t->merge, &in) != 0 || rg_held_load(t->held, &in) != 0) {
        snprintf(err, err_size, "task state: %s", in.error);
        return -1;
    }
    return rg_stage_state_load_engine(&in, t->engine, err, err_size);
}

int rg_entity_swap_rules(rg_entity *t, const rg_ruleset *rs, char *err, size_t err_size)
{
    rg_held_rules *ids = rg_held_rules_prepare(rs);
    if (!ids) {
        snprintf(err, err_size, "out of memory swapping the rule set");
        return -1;
    }
    if (rg_engine_swap_rules(t->engine, rs, err, err_size) != 0) {
        rg_held_rules_drop(ids);
        return -1;
    }
    rg_held_rules_install(t->held, ids, rs);
    return 0;
}
