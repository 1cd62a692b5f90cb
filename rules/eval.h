/*
 * eval — evaluating conditions, messages and evidence for one event.
 *
 * Three-valued logic (rules.md): a comparison with an unknown operand is
 * UNKNOWN; `not UNKNOWN` is UNKNOWN; `UNKNOWN or TRUE` is TRUE; `UNKNOWN
 * and TRUE` is UNKNOWN. A rule fires only on TRUE.
 *
 * The context memoises every name use once per event (so a name used by
 * three rules, or by a rule and its evidence, is computed once) and the
 * GeoIP lookup of the event's IP. The engine owns the context, calls
 * rg_eval_begin before evaluating an event, and must not let detectors
 * update state until it is done with the event's rules and evidence.
 * One context per engine thread.
 */
#ifndef RG_EVAL_H
#define RG_EVAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/value.h"
#include "../geo/geo.h"
#include "../geo/geo_cache.h"
#include "../ingest/event.h"
#include "expr.h"
#include "ruleset.h"

typedef enum rg_tri { RG_FALSE = 0, RG_TRUE = 1, RG_UNKNOWN = 2 } rg_tri;

typedef struct rg_eval_ctx {
    const rg_ruleset *rs;
    void **detector_state;     /* indexed like rg_detectors[]; NULL = not created */
    const rg_geo *geo;         /* may be NULL */
    /* The engine's event-time watermark before this event (the highest ts
     * of the events before it in capture order, or what an external-
     * watermark role was given): INT64_MIN before any. Families judge
     * horizons and clip windows by it rather than by their own (a keyed
     * task's family sees only its own events), so one engine and the
     * keyed tasks answer alike whatever each has trimmed (docs/state.md,
     * "Late events"). Set by the engine before rg_eval_begin. */
    int64_t watermark_ms;

    /* private to eval.c: */
    const rg_event *ev;
    uint32_t parts;            /* rg_event_parts(ev) (detector.h) */
    /* ev's type + 1 when this context knows `type` (the fields family's
     * state is held: rg_expr_by_type), 0 otherwise (a context built
     * without rg_eval_begin reads 0 too). */
    unsigned type_slot;
    unsigned fields_slot;      /* the fields family's index in rg_detectors[] + 1; 0: none */
    uint32_t gen;              /* bumped per event; memo entries of older gens are stale */
    uint32_t *memo_gen;        /* [n_uses] */
    rg_value *memo;            /* [n_uses] */
    uint32_t geo_gen;
    rg_geo_cache *geo_cache;   /* answers by address, across events (geo_cache.h); NULL without geo */
    rg_geo_result geo_res;
    bool geo_ok;
} rg_eval_ctx;

/* Allocate memo storage for rs; 0 or -1 on OOM. */
int rg_eval_ctx_init(rg_eval_ctx *ctx, const rg_ruleset *rs, void **detector_state, const rg_geo *geo);
void rg_eval_ctx_free(rg_eval_ctx *ctx);

/* ctx's watermark (INT64_MIN when ctx is NULL: a detector's own tests). */
static inline int64_t rg_eval_watermark(const rg_eval_ctx *ctx) { return ctx ? ctx->watermark_ms : INT64_MIN; }

/* The watermark a family judges the current event by: the engine's, or the
 * family's own (own_ms) when that is higher. */
static inline int64_t rg_eval_judge_at(const rg_eval_ctx *ctx, int64_t own_ms)
{
    int64_t engine_ms = rg_eval_watermark(ctx);
    return engine_ms > own_ms ? engine_ms : own_ms;
}

/* Start evaluating a new event (invalidates the memo). Inline: the
 * engine starts every event so; the generation's wrap after 2^32 events
 * (rg_eval_restart_gens) is out of line. */
void rg_eval_restart_gens(rg_eval_ctx *ctx);
static inline void rg_eval_begin(rg_eval_ctx *ctx, const rg_event *ev)
{
    ctx->ev = ev;
    ctx->parts = ev ? rg_event_parts(ev) : 0;
    /* Folded roots (count() filters that test `type`, asked on every
     * event) read their residue at this index without checking again. */
    ctx->type_slot = ev && (unsigned)ev->type < RG_EV_TYPE_COUNT && ctx->detector_state && ctx->fields_slot &&
                             ctx->detector_state[ctx->fields_slot - 1]
                         ? (unsigned)ev->type + 1
                         : 0;
    if (++ctx->gen == 0)
        rg_eval_restart_gens(ctx);
}

/* The memo entry of a name use, computed now (rg_eval_use's first call
 * for the use in this event). */
const rg_value *rg_eval_use_compute(rg_eval_ctx *ctx, const rg_name_use *use);

/* The value of a name use for the current event (memoised), in the memo:
 * valid until the next rg_eval_begin. Inline: a condition asks the memo
 * several times per event, mostly for values already there. */
static inline const rg_value *rg_eval_use_ref(rg_eval_ctx *ctx, const rg_name_use *use)
{
    if (ctx->memo_gen[use->slot] == ctx->gen)
        return &ctx->memo[use->slot];
    /* A family's name whose state is held (what rg_eval_use_compute does
     * first) is asked here, without that call's frame: 2.8 names an event
     * are computed, each once. Signals and names of families not held go
     * to rg_eval_use_compute. */
    void *state = !use->signal && ctx->detector_state ? ctx->detector_state[use->detector_index] : NULL;
    if (!state)
        return rg_eval_use_compute(ctx, use);
    rg_value v = use->detector->eval(state, use, ctx->ev, ctx);
    rg_value *slot = &ctx->memo[use->slot];
    *slot = v;
    ctx->memo_gen[use->slot] = ctx->gen;
    return slot;
}

/* The value of a name use for the current event (memoised). */
static inline rg_value rg_eval_use(rg_eval_ctx *ctx, const rg_name_use *use) { return *rg_eval_use_ref(ctx, use); }

/* Give a name use its value for the current event, computed elsewhere (an
 * earlier stage of the streaming topology, docs/scale-out.md, or a family
 * answering all its names at a first ask): later rg_eval_use calls return
 * it. Strings must outlive the event's evaluation. Inline: two stores, and
 * a claim presets three names. */
static inline void rg_eval_preset(rg_eval_ctx *ctx, const rg_name_use *use, rg_value v)
{
    ctx->memo[use->slot] = v;
    ctx->memo_gen[use->slot] = ctx->gen;
}

/* The GeoIP record of the current event's IP; NULL when there is no IP,
 * no database, or the IP is not in it. Memoised: inline, the event's
 * geo names ask it one after another, mostly for the answer already
 * here; rg_eval_geo_lookup asks the cache. */
const rg_geo_result *rg_eval_geo_lookup(rg_eval_ctx *ctx);
static inline const rg_geo_result *rg_eval_geo(rg_eval_ctx *ctx)
{
    if (ctx->geo_gen != ctx->gen)
        return rg_eval_geo_lookup(ctx);
    return ctx->geo_ok ? &ctx->geo_res : NULL;
}

/* Whether the current event's IP has been looked up (rg_eval_geo asked). */
static inline bool rg_eval_geo_asked(const rg_eval_ctx *ctx) { return ctx->geo_gen == ctx->gen; }

/* Evaluate a condition (a rule's `when`, or a count() filter). Inline:
 * the engine asks once per rule and event, count() filters once per use
 * and event; a loaded condition goes straight to its root's evaluator
 * (rg_expr.tri), anything else to the generic walk. */
rg_tri rg_eval_condition_walk(rg_eval_ctx *ctx, const struct rg_expr *e);
static inline rg_tri rg_eval_condition(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    if (!e)
        return RG_UNKNOWN;
    return e->tri ? (rg_tri)e->tri(ctx, e) : rg_eval_condition_walk(ctx, e);
}

/* Does a rule's `when` fire (is it TRUE)? rg_eval_condition(ctx, e) ==
 * RG_TRUE, asked of the loaded tree's "fires" evaluators (rg_expr.fires):
 * once a conjunct is not TRUE the rest are not asked, and the conjunct
 * that reads only the event's own fields goes first. Names a rule that
 * cannot fire would have computed are left out (their values come lazily
 * to whoever asks later: evidence, explain), never a name that may look
 * the IP up, so the GeoIP lookups (and geoip_lookup_errors) are the walk's.
 * The engine asks this once per rule and event. */
static inline bool rg_eval_fires(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    if (!e || (e->fire_never >> (ctx->parts & 63) & 1))
        return false;   /* not TRUE without those parts (rg_expr.fire_all, fire_any, fire_never) */
    return e->fires ? e->fires(ctx, e) != 0 : rg_eval_condition(ctx, e) == RG_TRUE;
}

/* Evaluate any expression to a value (a signal's expression). Unknown
 * operands give an unknown value; a condition gives a BOOL value, unknown
 * for RG_UNKNOWN. */
rg_value rg_eval_expr_value(rg_eval_ctx *ctx, const struct rg_expr *e);

/* Append the rule's message with {name} placeholders filled (plain text,
 * not JSON-escaped). Without a message, the rule id. */
void rg_eval_reason(rg_eval_ctx *ctx, const rg_rule *r, rg_strbuf *out);

/* Append the rule's evidence as a JSON object, keys in first-use order. */
void rg_eval_evidence_json(rg_eval_ctx *ctx, const rg_rule *r, rg_strbuf *out);

/* Append a value as it appears in evidence (JSON) or in a message. */
void rg_value_write_json(const rg_value *v, rg_strbuf *out);
void rg_value_write_text(const rg_value *v, const char *currency, rg_strbuf *out);

#endif
