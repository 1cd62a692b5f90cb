/*
 * The evaluation context's memo: each name use is computed at most once
 * per event, whoever asks (several rules, evidence, messages, count()
 * filters), and the event's IP is looked up in GeoIP at most once. The
 * memo is invalidated by bumping a generation counter, not by clearing
 * arrays, so starting an event costs O(1) however many names a file uses.
 */
#include <stdlib.h>
#include <string.h>

#include "eval.h"

int rg_eval_ctx_init(rg_eval_ctx *ctx, const rg_ruleset *rs, void **detector_state, const rg_geo *geo)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->rs = rs;
    ctx->detector_state = detector_state;
    ctx->geo = geo;
    ctx->watermark_ms = INT64_MIN;
    for (unsigned d = 0; rg_detectors[d]; d++)
        if (rg_detectors[d]->family && strcmp(rg_detectors[d]->family, "fields") == 0)
            ctx->fields_slot = d + 1;
    size_t n = rg_ruleset_use_count(rs);
    ctx->memo_gen = calloc(n ? n : 1, sizeof *ctx->memo_gen);
    ctx->memo = calloc(n ? n : 1, sizeof *ctx->memo);
    /* Many events share an address: the context remembers the databases'
     * answers across events (geo_cache.h); the memo only the current one's. */
    if (geo)
        ctx->geo_cache = rg_geo_cache_new(geo);
    if (!ctx->memo_gen || !ctx->memo || (geo && !ctx->geo_cache)) {
        rg_eval_ctx_free(ctx);
        return -1;
    }
    return 0;
}

void rg_eval_ctx_free(rg_eval_ctx *ctx)
{
    free(ctx->memo_gen);
    free(ctx->memo);
    rg_geo_cache_free(ctx->geo_cache);
    ctx->memo_gen = NULL;
    ctx->memo = NULL;
    ctx->geo_cache = NULL;
}

void rg_eval_restart_gens(rg_eval_ctx *ctx)
{
    /* Wrapped after 2^32 events: stale entries could look fresh. */
    memset(ctx->memo_gen, 0, rg_ruleset_use_count(ctx->rs) * sizeof *ctx->memo_gen);
    ctx->gen = 1;
    ctx->geo_gen = 0;
}

const rg_value *rg_eval_use_compute(rg_eval_ctx *ctx, const rg_name_use *use)
{
    rg_value v;
    if (use->signal) {
        /* A signal that names one use (`payments_24h: count(24h, ...)`)
         * is that use's value: no walk. */
        const struct rg_expr *sig = use->signal;
        v = sig->kind == RG_X_USE ? rg_eval_use(ctx, sig->use) : rg_eval_expr_value(ctx, sig);
    } else {
        void *state = ctx->detector_state ? ctx->detector_state[use->detector_index] : NULL;
        v = state ? use->detector->eval(state, use, ctx->ev, ctx) : rg_unknown(use->spec->type);
    }
    rg_value *slot = &ctx->memo[use->slot];
    *slot = v;
    ctx->memo_gen[use->slot] = ctx->gen;
    return slot;
}

const rg_geo_result *rg_eval_geo_lookup(rg_eval_ctx *ctx)
{
    ctx->geo_gen = ctx->gen;
    ctx->geo_ok = ctx->geo && ctx->ev && ctx->ev->ip_family &&
                  rg_geo_cache_lookup(ctx->geo_cache, ctx->ev->ip_family, ctx->ev->ip_bin, &ctx->geo_res) == 0 &&
                  ctx->geo_res.found;
    return ctx->geo_ok ? &ctx->geo_res : NULL;
}
