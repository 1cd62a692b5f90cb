/*
 * workers_jobs — the later steps of replay --workers (workers.h): order,
 * entity, decide, and the decisions' round trip from a decide task to the
 * output step. Reading and parsing are workers_parse.c; workers.c decides
 * when each runs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"
#include "../decisions/cooldown.h"
#include "../decisions/decision_json.h"
#include "workers_internal.h"

int w_list_push(w_list *l, uint32_t v)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        uint32_t *item = realloc(l->item, cap * sizeof *item);
        if (!item)
            return -1;
        l->item = item;
        l->cap = cap;
    }
    l->item[l->n++] = v;
    return 0;
}

/* ---- order: dedupe and the watermark in capture order; each task's work */

/* The order step and the keyed tasks read events the worker that parsed
 * them wrote, often on the other core. In the keyed tasks, five items
 * ahead the event's own lines (and its lane's) are fetched, four ahead
 * its strings (the event is here by then: they are one piece of the
 * batch's arena), three, two and one ahead the engine's lookups
 * (rg_engine_prefetch stages 0, 1 and 2, as far ahead as one thread
 * takes them; one item nearer each, --workers 2 took 0.815 s against
 * 0.770 s, medians of 8 interleaved runs). An entity task takes stage 2
 * (what records point to) for its route's family (the counterparty's
 * received transfers: its steps' time 0.43 -> 0.38 s over 5 runs); a
 * decide task for GeoIP's answer alone (velocity's and login's parts
 * gave nothing, 0.40 -> 0.44 s over 6: each decide task's records are
 * fewer than the one thread's and stay in its core's cache longer). */
static void prefetch_bytes(const void *at, size_t len)
{
    const char *c = at;
    for (size_t off = 0; off < len; off += 64)
        __builtin_prefetch(c + off);
    if (len)
        __builtin_prefetch(c + len - 1);   /* the last line, when `at` is not on a line's start */
}

static void prefetch_event_lines(const w_event *we) { prefetch_bytes(we, sizeof *we); }

static void prefetch_event_strings(const w_event *we) { prefetch_bytes(we->strings, we->strings_len); }

/* The order step's: the event's lines four ahead, its strings three
 * ahead, dedupe's table slots two ahead (an id's record is read only
 * when a slot's hash matches, rg_dedupe_prefetch). Not read at stage 1
 * as the one thread does: an order step's event is short, so a slot
 * read one event after its prefetch had not arrived yet, and with so
 * little read between, a prefetched slot is still there at the check
 * (the order step's samples with --workers 2 on 4 days of 20,000
 * accounts: 242-266 with the read one ahead, 175-188 without, 171-209
 * with the prefetch six ahead; docs/bench.md "Fifteenth round"). */
static void prefetch_order(rg_engine *order, const w_batch *b, size_t i)
{
    if (i + 4 < b->n_events)
        prefetch_event_lines(&b->events[i + 4]);
    if (i + 3 < b->n_events)
        prefetch_event_strings(&b->events[i + 3]);
    if (i + 2 < b->n_events)
        rg_engine_prefetch_hashed(order, &b->events[i + 2].ev, &b->events[i + 2].ids, 0, 0);
}

int w_order(w_pool *p, w_batch *b, char *errstr, size_t errstr_size)
{
    size_t tasks = w_pool_tasks(p);
    for (size_t l = 0; l < w_pool_lanes(p); l++) {
        w_lane *lane = w_pool_lane(p, l);
        w_batch_lane *bl = &b->lane[l];
        for (size_t t = 0; t < tasks; t++) {
            bl->entity_work[t].n = 0;
            bl->decide_work[t].n = 0;
        }
        for (size_t i = 0; i < b->n_events; i++) {
            prefetch_order(lane->order, b, i);
            const w_event *we = &b->events[i];
            w_lane_event *le = &bl->events[i];
            /* The engine of the order step has the dedupe role and no
             * family: it counts, dedupes and keeps the watermark exactly
             * as the single engine does, in the same order. */
            /* The keyed tasks are given the watermark before the event,
             * as the one engine judges it (rg_eval_ctx.watermark_ms). */
            le->watermark_ms = rg_engine_watermark(lane->order);
            le->dup = rg_engine_process_stage(lane->order, &we->ev, we->raw, we->raw_len, 0, NULL, 0, NULL, NULL) ==
                      RG_ENGINE_DUPLICATE;
            le->values_task = -1;
            if (le->dup)
                continue;
            for (uint32_t k = 0; k < W_MAX_ROUTES; k++)
                if (le->route[k].task >= 0 &&
                    w_list_push(&bl->entity_work[le->route[k].task], (uint32_t)i * W_MAX_ROUTES + k) != 0)
                    goto oom;
            if (w_list_push(&bl->decide_work[we->decide_task], (uint32_t)i) != 0)
                goto oom;
        }
    }
    return 0;
oom:
    snprintf(errstr, errstr_size, "out of memory ordering events");
    return -1;
}

/* entity: the entity work (an item is an event's route, whose family
 * alone is fetched for), else the decide work (an item is an event, and
 * the values an entity task wrote for it on its own core are fetched two
 * ahead, with stage 1). */
static void prefetch_ahead(rg_engine *e, const w_batch *b, const w_batch_lane *bl, const w_list *work, size_t n,
                           bool entity)
{
    uint32_t per_event = entity ? W_MAX_ROUTES : 1;
    if (n + 5 < work->n) {
        uint32_t i = work->item[n + 5] / per_event;
        prefetch_event_lines(&b->events[i]);
        prefetch_bytes(&bl->events[i], sizeof bl->events[i]);
    }
    if (n + 4 < work->n)
        prefetch_event_strings(&b->events[work->item[n + 4] / per_event]);
    for (int stage = 0; stage <= 2; stage++) {
        if (n + 3 - stage >= work->n)
            continue;
        uint32_t item = work->item[n + 3 - stage];
        uint32_t families = entity ? bl->events[item / per_event].route[item % per_event].family : RG_FAMILIES_ALL;
        if (stage == 2 && !entity)
            families = 0;
        const w_event *we = &b->events[item / per_event];
        rg_engine_prefetch_hashed(e, &we->ev, &we->ids, stage, families);
    }
    if (!entity && n + 2 < work->n) {
        const w_lane_event *le = &bl->events[work->item[n + 2]];
        if (le->values_task >= 0)
            prefetch_bytes(bl->values[le->values_task].data + le->values_off, le->values_len);
    }
}

/* ---- entity */

int w_entity(w_pool *p, w_batch *b, size_t l, size_t task, char *errstr, size_t errstr_size)
{
    w_lane *lane = w_pool_lane(p, l);
    w_batch_lane *bl = &b->lane[l];
    rg_engine *e = lane->entity[task];
    rg_strbuf *values = &bl->values[task];
    rg_strbuf_reset(values);
    const w_list *work = &bl->entity_work[task];
    for (size_t n = 0; n < work->n; n++) {
        prefetch_ahead(e, b, bl, work, n, true);
        uint32_t i = work->item[n] / W_MAX_ROUTES, k = work->item[n] % W_MAX_ROUTES;
        const w_event *we = &b->events[i];
        w_lane_event *le = &bl->events[i];
        const w_route *r = &le->route[k];
        rg_engine_advance_watermark(e, le->watermark_ms);
        size_t at = values->len;
        rg_engine_process_stage(e, &we->ev, we->raw, we->raw_len, r->family, NULL, 0, r->names ? values : NULL,
                                NULL);
        if (r->names) {
            le->values_task = (int32_t)task;
            le->values_off = (uint32_t)at;
            le->values_len = (uint32_t)(values->len - at);
        }
    }
    if (!rg_strbuf_ok(values)) {
        snprintf(errstr, errstr_size, "out of memory keeping entity values");
        return -1;
    }
    return 0;
}

/* ---- decide, and its decisions' trip to the output step. A decision is
 * valid during the sink call only, so the decide task copies it (a
 * record: head, hits, strings) and the output step hands the copy to the
 * lane's sink as an rg_decision again. The rule, its id, the rule set id
 * and the event stay where they are (the rule set and the batch outlive
 * the record). */

typedef struct cap_head {
    uint32_t event, size, n_hits;
    uint32_t decision_id, event_id, subject, json, json_len;   /* offsets from the record's start */
    int32_t event_type;
    unsigned actions;
    int64_t ts_ms;
    const char *ruleset;
    bool emit, held;
} cap_head;

typedef struct cap_hit {
    const rg_rule *rule;
    const char *rule_id;
    unsigned actions;
    int64_t cooldown_ms;
    bool suppressed;
    uint32_t reason, reason_len, evidence, evidence_len;
} cap_hit;

typedef struct capture {
    rg_strbuf *out;
    uint32_t event;
} capture;

static uint32_t put_bytes(rg_strbuf *out, size_t start, const char *s, size_t len)
{
    uint32_t off = (uint32_t)(out->len - start);
    rg_strbuf_append(out, s, len);
    rg_strbuf_putc(out, '\0');
    return off;
}

static int capture_decision(void *opaque, const rg_decision *d, void *ticket)
{
    capture *c = opaque;
    rg_strbuf *out = c->out;
    size_t start = out->len;
    cap_head h = {.event = c->event, .n_hits = (uint32_t)d->n_hits, .event_type = (int32_t)d->event_type,
                  .actions = d->actions, .ts_ms = d->ts_ms, .ruleset = d->ruleset, .emit = d->emit,
                  .held = d->held};
    size_t fixed = sizeof h + d->n_hits * sizeof(cap_hit);
    if (!rg_strbuf_reserve(out, fixed + 256))
        return -1;
    out->len += fixed;   /* filled in below, once the strings' offsets are known */
    h.decision_id = put_bytes(out, start, d->decision_id, strlen(d->decision_id));
    h.event_id = put_bytes(out, start, d->event_id, strlen(d->event_id));
    h.subject = put_bytes(out, start, d->subject, strlen(d->subject));
    h.json = put_bytes(out, start, d->json, d->json_len);
    h.json_len = (uint32_t)d->json_len;
    for (size_t k = 0; k < d->n_hits; k++) {
        const rg_decision_hit *src = &d->hits[k];
        cap_hit hit = {.rule = src->rule, .rule_id = src->rule_id, .actions = src->actions,
                       .cooldown_ms = src->cooldown_ms, .suppressed = src->suppressed,
                       .reason_len = (uint32_t)src->reason_len, .evidence_len = (uint32_t)src->evidence_len};
        hit.reason = put_bytes(out, start, src->reason, src->reason_len);
        hit.evidence = put_bytes(out, start, src->evidence, src->evidence_len);
        if (rg_strbuf_ok(out))
            memcpy(out->data + start + sizeof h + k * sizeof hit, &hit, sizeof hit);
    }
    while ((out->len - start) % 8)
        rg_strbuf_putc(out, '\0');
    h.size = (uint32_t)(out->len - start);
    if (!rg_strbuf_ok(out))
        return -1;
    memcpy(out->data + start, &h, sizeof h);
    return 0;
}

static const rg_sink_ops capture_decision_ops = {.name = "decide task capture", .decision = capture_decision};

int w_decide(w_pool *p, w_batch *b, size_t l, size_t task, char *errstr, size_t errstr_size)
{
    w_lane *lane = w_pool_lane(p, l);
    w_batch_lane *bl = &b->lane[l];
    rg_engine *e = lane->decide[task];
    rg_strbuf *out = &bl->decisions[task];
    rg_strbuf_reset(out);
    bl->decision_read[task] = 0;
    capture cap = {.out = out};
    rg_sink sink = {.ops = &capture_decision_ops, .self = &cap};
    const w_list *work = &bl->decide_work[task];
    for (size_t n = 0; n < work->n; n++) {
        prefetch_ahead(e, b, bl, work, n, false);
        uint32_t i = work->item[n];
        const w_event *we = &b->events[i];
        const w_lane_event *le = &bl->events[i];
        const void *values = NULL;
        size_t values_len = 0;
        if (le->values_task >= 0) {
            values = bl->values[le->values_task].data + le->values_off;
            values_len = le->values_len;
        }
        cap.event = i;
        rg_engine_advance_watermark(e, le->watermark_ms);
        if (rg_engine_process_stage(e, &we->ev, we->raw, we->raw_len, RG_FAMILIES_ALL, values, values_len, NULL,
                                    &sink) == RG_ENGINE_SINK_ERROR) {
            snprintf(errstr, errstr_size, "out of memory keeping decisions");
            return -1;
        }
    }
    return 0;
}

/* How often (decisions finished) the output step forgets cooldowns that
 * ended. When it does changes no decision (rg_cooldowns_suppress judges
 * by the watermark), only how much is kept. */
#define EXPIRE_EVERY 4096

/* A held decision (rg_engine_role.defer_cross_cooldowns) finished by the
 * output step, in capture order: the cooldowns of its hits' rules that
 * the decide task left (rg_rule_cross_cooldown), judged by the watermark
 * before the event as the one engine judges them; then its actions,
 * emit and JSON again, and the lane's counters. -1 out of memory. */
static int finish_held(w_lane *lane, rg_decision *d, rg_decision_hit *hits, int64_t watermark_ms)
{
    size_t subject_len = strlen(d->subject);
    unsigned actions = 0;
    for (size_t k = 0; k < d->n_hits; k++) {
        const rg_rule *r = hits[k].rule;
        if (r && rg_rule_cross_cooldown(r))
            hits[k].suppressed = rg_cooldowns_suppress(lane->cross_cooldowns, r->id, d->subject, subject_len,
                                                       d->ts_ms, r->cooldown_ms, watermark_ms);
        if (!hits[k].suppressed)
            actions |= hits[k].actions;
    }
    rg_strbuf *j = &lane->finished_json;
    rg_strbuf_reset(j);
    rg_decision_json_write(j, d->decision_id, strlen(d->decision_id), d->event->event_id, d->event->event_id_len,
                           d->event_type, d->subject, subject_len, actions, hits, d->n_hits, d->ts_ms, d->ruleset);
    if (!rg_strbuf_ok(j))
        return -1;
    d->json = j->data;
    d->json_len = j->len;
    d->actions = actions;
    d->emit = actions != 0;
    d->held = false;
    if (d->emit) {
        lane->finished.decisions++;
        for (int a = 0; a < RG_ACT_COUNT; a++)
            if (actions & RG_ACT_BIT(a))
                lane->finished.actions[a]++;
    } else {
        lane->finished.suppressed++;
    }
    if (++lane->since_expire >= EXPIRE_EVERY) {
        lane->since_expire = 0;
        rg_cooldowns_expire(lane->cross_cooldowns, watermark_ms);
    }
    return 0;
}

int w_emit_decisions(w_pool *p, w_batch *b, size_t l, size_t task, uint32_t event)
{
    w_batch_lane *bl = &b->lane[l];
    const rg_strbuf *in = &bl->decisions[task];
    const rg_sink *sink = w_pool_lane(p, l)->sink;
    rg_decision_hit hits[64], *many = NULL;
    int rc = 0;
    while (bl->decision_read[task] < in->len && rc == 0) {
        const char *rec = in->data + bl->decision_read[task];
        cap_head h;
        memcpy(&h, rec, sizeof h);
        if (h.event != event)
            break;   /* the next event's */
        bl->decision_read[task] += h.size;
        rg_decision_hit *hv = hits;
        if (h.n_hits > sizeof hits / sizeof *hits && !(hv = many = realloc(many, h.n_hits * sizeof *hv)))
            return -1;
        for (uint32_t k = 0; k < h.n_hits; k++) {
            cap_hit c;
            memcpy(&c, rec + sizeof h + k * sizeof c, sizeof c);
            hv[k] = (rg_decision_hit){.rule = c.rule, .rule_id = c.rule_id, .actions = c.actions,
                                      .cooldown_ms = c.cooldown_ms, .suppressed = c.suppressed,
                                      .reason = rec + c.reason, .reason_len = c.reason_len,
                                      .evidence = rec + c.evidence, .evidence_len = c.evidence_len};
        }
        const w_event *we = &b->events[event];
        rg_decision d = {.decision_id = rec + h.decision_id, .event_id = rec + h.event_id,
                         .subject = rec + h.subject, .event_type = (rg_event_type)h.event_type, .ts_ms = h.ts_ms,
                         .actions = h.actions, .hits = hv, .n_hits = h.n_hits, .ruleset = h.ruleset,
                         .json = rec + h.json, .json_len = h.json_len, .event = &we->ev, .event_raw = we->raw,
                         .event_raw_len = we->raw_len, .emit = h.emit, .held = h.held};
        if (d.held && finish_held(w_pool_lane(p, l), &d, hv, bl->events[event].watermark_ms) != 0)
            rc = -1;
        else if (rg_sink_decision(sink, &d, NULL) < 0)
            rc = -1;
    }
    free(many);
    return rc;
}
