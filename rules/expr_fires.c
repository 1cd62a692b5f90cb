/*
 * expr_fires — whether a rule's `when` is TRUE (rg_eval_fires, eval.h),
 * the engine's fast path: the "fires" evaluators of a loaded condition
 * (rg_expr.fires), the event parts without which a node cannot be TRUE
 * (rg_expr.needs, fire_all, fire_any, and the fire_never table that
 * rg_eval_fires's gate reads), and `geo_distance_km > X` settled from the
 * positions and X's minimum (rg_expr.x_floor). Also rg_expr_specialise
 * and rg_expr_despecialise (expr.h), the pass at load that gives each
 * node these and its rg_expr.tri (which expr_eval.c chooses).
 *
 * Owner: rules. Apart from expr_eval.c because it answers a second
 * question of the same tree: expr_eval.c is the three-valued walk
 * (rules.md "Conditions") that evidence, explain and signals read; this
 * file asks only "TRUE or not?", which may leave names uncomputed but
 * never changes an answer. It reaches the walk's evaluators, values and
 * compare through expr_internal.h, so every answer here is the walk's.
 */
#include <math.h>
#include <string.h>

#include "../detectors/geo_signals.h"
#include "eval.h"
#include "expr_internal.h"
#include "functions.h"
#include "ruleset_internal.h"

/* ---- Firing (rg_expr.fires, rg_eval_fires) --------------------------------
 * The engine needs only whether a rule's `when` is TRUE. `a and b` is TRUE
 * only when both are, so once one is not (FALSE or UNKNOWN) the other need
 * not be asked: the walk asks b after an UNKNOWN a, and after a FALSE b it
 * has asked a. Which conjunct goes first is free when neither may look the
 * IP up, so the one that reads only the event's own fields goes first
 * (`counterparty_age < 72h and amount >= 100000` asks amount, then the
 * counterparty's record only for a large amount). `a or b` is TRUE when
 * either is: the walk's order, each asked for its TRUE only. `not` and
 * everything else are asked for their three-valued answer.
 *
 * What may change is which names are computed, never an answer: a name
 * is a pure function of the event and the state before it (detector.h),
 * but one that looks the event's IP up may count a failed lookup
 * (geoip_lookup_errors), so a subtree that may do that is asked exactly
 * when the walk asks it. */

/* A boolean name (`packet_expired`, `client.hooked`) under an `and` or
 * `or`: what fires_leaf (or, without needs, rg_expr_node_use_bool) answers, read
 * here without their two calls: `packet_expired or packet_overclaimed or
 * packet_reclaimed` is asked on every claim. */
static inline bool bool_name_fires(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->needs & ~ctx->parts)
        return false;   /* as fires_leaf */
    const rg_value *v = rg_eval_use_ref(ctx, rg_expr_use_read(e));
    return v->known && v->type == RG_T_BOOL && v->u.b;
}

static inline bool fires_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->tri == rg_expr_node_use_bool)
        return bool_name_fires(ctx, e);
    return e->fires ? e->fires(ctx, e) != 0 : rg_expr_tri_of(ctx, e) == RG_TRUE;
}

static int fires_and(rg_eval_ctx *ctx, const rg_expr *e) { return fires_of(ctx, e->a) && fires_of(ctx, e->b); }
static int fires_and_b_first(rg_eval_ctx *ctx, const rg_expr *e)
{
    return fires_of(ctx, e->b) && fires_of(ctx, e->a);
}
/* `x or y or z` is `(x or y) or z`: the left chain is followed here,
 * not through each node's evaluator. */
static int fires_or(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_expr *a = e->a;
    bool left = a->kind == RG_X_OR && a->fires == fires_or ? fires_of(ctx, a->a) || fires_of(ctx, a->b)
                                                           : fires_of(ctx, a);
    return left || fires_of(ctx, e->b);
}

/* `a and b` whose sides have no "fires" evaluator of their own and are
 * not boolean names (`counterparty_age < 72h and counterparty_senders_24h
 * >= 5`, `claim_delay < 1s and instant_claims_10m >= 5`: comparisons):
 * fires_of asks each side's tri for TRUE, so these ask it straight. The
 * _b_first variant as fires_and_b_first. */
static bool tri_side(const rg_expr *x) { return !x->fires && x->tri && x->tri != rg_expr_node_use_bool; }
static int fires_and_tris(rg_eval_ctx *ctx, const rg_expr *e)
{
    return e->a->tri(ctx, e->a) == RG_TRUE && e->b->tri(ctx, e->b) == RG_TRUE;
}
static int fires_and_tris_b_first(rg_eval_ctx *ctx, const rg_expr *e)
{
    return e->b->tri(ctx, e->b) == RG_TRUE && e->a->tri(ctx, e->a) == RG_TRUE;
}

/* `x or y or z` of three boolean names (forged_claim: packet_expired or
 * packet_overclaimed or packet_reclaimed, every claim): fires_or's answer,
 * each name read as bool_name_fires reads it, in the same order, without
 * fires_of's dispatch on each. */
static int fires_or_of_names3(rg_eval_ctx *ctx, const rg_expr *e)
{
    return bool_name_fires(ctx, e->a->a) || bool_name_fires(ctx, e->a->b) || bool_name_fires(ctx, e->b);
}

/* A name, or a test of one, that is UNKNOWN on an event without the parts
 * its family says it needs (rg_detector.name_needs): not TRUE, settled
 * before the memo is looked at (`client.automation` on an event that
 * reports no client: 93% of the month's). */
static int fires_leaf(rg_eval_ctx *ctx, const rg_expr *e)
{
    return !(e->needs & ~ctx->parts) && e->tri(ctx, e) == RG_TRUE;
}

/* `geo_distance_km > X` (or >=) on an event with an IP and a location
 * (ip_geo_mismatch, every event type): the walk computes the distance,
 * and then X when the distance is known. This asks the same (the IP's
 * lookup exactly when the name's evaluation would make it, X only when
 * the distance is known) but settles FALSE without the distance's
 * trigonometry when the positions show it below X
 * (rg_geo_distance_below); the name's value is then left out, as a name
 * is once a rule cannot fire, and computed when anyone asks. When X has
 * a floor (rg_expr.x_floor: `500 + geo_accuracy_km` is never below 500)
 * a distance below the floor settles it before X is asked: X's names are
 * left out the same way (the IP is already looked up, so no lookup the
 * walk makes is missed). */
static int fires_distance_over(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->needs & ~ctx->parts)
        return 0;   /* as fires_leaf */
    const rg_name_use *u = rg_expr_use_read(e->a);
    bool held = ctx->detector_state && ctx->detector_state[u->detector_index];
    if (!held || ctx->memo_gen[u->slot] == ctx->gen)
        return e->tri(ctx, e) == RG_TRUE;   /* no family here (unknown), or a value already known */
    const rg_geo_result *where = rg_geo_signals_distance_ends(ctx, ctx->ev);
    if (!where)
        return 0;   /* the distance is unknown: so is the comparison, X unasked */
    if (e->has_x_floor && rg_geo_distance_below(where->lat, where->lon, ctx->ev->lat, ctx->ev->lon, e->x_floor))
        return 0;   /* distance < floor <= X when X is known: not TRUE either way, X unasked */
    rg_value x = rg_expr_operand_of(ctx, e->b);
    if (!x.known)
        return 0;
    if ((rg_expr_is_integral(x.type) || x.type == RG_T_NUMBER) &&
        rg_geo_distance_below(where->lat, where->lon, ctx->ev->lat, ctx->ev->lon, rg_expr_as_double(x)))
        return 0;   /* distance < X: FALSE for > and >= */
    return rg_expr_compare(e->op, *rg_eval_use_ref(ctx, u), x) == RG_TRUE;
}

/* A leaf comparing geo_distance_km (read in place) to be above something. */
static bool is_distance_over(const rg_expr *e)
{
    const rg_name_use *u = e->kind == RG_X_CMP && (e->op == RG_OP_GT || e->op == RG_OP_GE) && rg_expr_is_use(e->a)
                               ? rg_expr_use_read(e->a)
                               : NULL;
    return u && !u->signal && u->spec && e->a->type == RG_T_NUMBER && rg_geo_signals_is_distance(u->spec);
}

/* A number X's value is never below when known (rg_expr.x_floor): a
 * literal's; geo_accuracy_km's least (geo_signals.c); a NUMBER sum's, the
 * sum of its operands' (adding in doubles rounds monotonically, and an
 * integer operand is converted as arith() converts it). Anything else
 * (a product, another name): none, false. Names are read as the walk
 * reads them (rg_expr_use_read: a signal naming one use has its value). */
static bool value_floor(const rg_expr *x, int depth, double *at)
{
    if (!x || depth > RG_EXPR_MAX_DEPTH)
        return false;
    if (x->kind == RG_X_LIT) {
        if (!x->lit.known || !(rg_expr_is_integral(x->lit.type) || x->lit.type == RG_T_NUMBER))
            return false;
        *at = rg_expr_as_double(x->lit);
        return !isnan(*at);
    }
    if (x->kind == RG_X_USE) {
        const rg_name_use *u = x->use ? rg_expr_use_read(x) : NULL;
        return u && !u->signal && u->spec && rg_geo_signals_floor(u->spec, at);
    }
    double a, b;
    if (x->kind == RG_X_ARITH && x->op == RG_OP_ADD && x->type == RG_T_NUMBER && value_floor(x->a, depth + 1, &a) &&
        value_floor(x->b, depth + 1, &b)) {
        *at = a + b;
        return !isnan(*at);
    }
    return false;
}

/* The parts a built-in use's family says its value needs; 0 for a signal. */
static uint32_t use_needs(const rg_name_use *u)
{
    const rg_detector *d = u ? u->detector : NULL;
    if (!d || u->signal || !d->name_needs || !u->spec || !d->names)
        return 0;
    uintptr_t at = (uintptr_t)u->spec, first = (uintptr_t)d->names;
    if (at < first || at >= first + d->n_names * sizeof *d->names)
        return 0;   /* a spec of its own (tests): no promise */
    return d->name_needs[(at - first) / sizeof *d->names];
}

/* e->needs for a node whose children are marked: the shapes whose answer
 * is UNKNOWN when the name they read is (a boolean name; a comparison,
 * membership or any() whose left operand is the name). */
static uint32_t node_needs(const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_USE: return e->type == RG_T_BOOL ? use_needs(rg_expr_use_read(e)) : 0;
    case RG_X_CMP:
    case RG_X_IN:
    case RG_X_IN_LIST: return rg_expr_is_use(e->a) ? use_needs(rg_expr_use_read(e->a)) : 0;
    case RG_X_FUNC:
        return e->fn && e->fn->args == RG_FN_MEMBERSHIP && e->n_items == 1 && e->items[0] &&
                       (e->items[0]->kind == RG_X_IN || e->items[0]->kind == RG_X_IN_LIST)
                   ? e->items[0]->needs
                   : 0;
    default: return 0;
    }
}

/* The family of a use's detector is `family` (a built-in name, not a signal). */
static bool use_of_family(const rg_name_use *u, const char *family)
{
    return u && !u->signal && u->detector && u->detector->family && strcmp(u->detector->family, family) == 0;
}

/* Whether e may look the event's IP up (the geo family's names do,
 * geo_signals.c; a count() or counterparty_senders() value does not: a
 * filter runs when its family observes the event, whatever the rules
 * ask), and how many of its names come from a family's state or a lookup
 * rather than the event's own fields (the fields family): the order of
 * conjuncts. From e's children, already specialised, and a signal's
 * expression, compiled (so specialised) before any use of it. */
static void mark_cost(rg_expr *e)
{
    bool ip = false;
    unsigned cost = 0;
    if (e->kind == RG_X_USE) {
        const rg_name_use *u = e->use;
        if (u && u->signal) {
            ip = u->signal->looks_up_ip;
            cost = u->signal->cost;
        } else if (u) {
            ip = use_of_family(u, "geo");
            cost = !use_of_family(u, "fields");
        }
    } else if (e->kind != RG_X_LIT) {
        const rg_expr *kids[2] = {e->a, e->b};
        for (size_t i = 0; i < 2; i++)
            if (kids[i]) {
                ip |= kids[i]->looks_up_ip;
                cost += kids[i]->cost;
            }
        if (e->kind == RG_X_IN || e->kind == RG_X_FUNC)
            for (size_t i = 0; i < e->n_items; i++)
                if (e->items[i]) {
                    ip |= e->items[i]->looks_up_ip;
                    cost += e->items[i]->cost;
                }
    }
    e->looks_up_ip = ip;
    e->cost = cost < 1000 ? cost : 1000;
}

/* e->fire_all and e->fire_any for a node whose children are marked: the
 * parts without which it cannot be TRUE (rg_expr). A node UNKNOWN without
 * its `needs` is not TRUE without all of them; `a and b` is TRUE only
 * when both are (all of both sides' fire_all, one of either side's
 * fire_any); `a or b` only when one is (all of what both sides' fire_all
 * share, and one of some part either side cannot be TRUE without).
 * Anything else (a `not`, which is TRUE of a FALSE) promises nothing, and
 * neither does an `and` or `or` that may look the IP up (a lookup the walk
 * makes beside a side that is UNKNOWN for want of a part must be made). */
static uint32_t one_of(const rg_expr *e) { return e->fire_any ? e->fire_any : e->fire_all; }

/* rg_expr.fire_never from fire_all and fire_any: parts p cannot make e
 * TRUE when it lacks one of fire_all, or has none of a nonzero fire_any.
 * A part above bit 5 would not fit the table: no gate then. */
static uint64_t never_table(uint32_t all, uint32_t any)
{
    if ((all | any) >= 64)
        return 0;
    uint64_t never = 0;
    for (uint32_t p = 0; p < 64; p++)
        if ((all & ~p) || (any && !(any & p)))
            never |= UINT64_C(1) << p;
    return never;
}

static void mark_fire_needs(rg_expr *e)
{
    e->fire_all = e->fire_any = 0;
    if (!e->tri)
        return;
    if (e->needs) {
        e->fire_all = e->needs;   /* as fires_leaf: nothing, so no lookup, is asked without them */
    } else if (e->looks_up_ip) {
        return;   /* the walk may ask a GeoIP name beside an UNKNOWN side: it is asked as the walk does */
    } else if (e->kind == RG_X_AND && e->a && e->b) {
        e->fire_all = e->a->fire_all | e->b->fire_all;
        e->fire_any = e->a->fire_any ? e->a->fire_any : e->b->fire_any;
    } else if (e->kind == RG_X_OR && e->a && e->b) {
        e->fire_all = e->a->fire_all & e->b->fire_all;
        e->fire_any = one_of(e->a) && one_of(e->b) ? one_of(e->a) | one_of(e->b) : 0;
    }
}

/* The "fires" evaluator of a boolean node whose children are specialised. */
static int (*firing(const rg_expr *e))(rg_eval_ctx *, const rg_expr *)
{
    if (e->needs)
        return is_distance_over(e) ? fires_distance_over : fires_leaf;
    if (e->kind == RG_X_OR) {
        const rg_expr *a = e->a;
        bool names3 = a->kind == RG_X_OR && a->fires == fires_or && a->a->tri == rg_expr_node_use_bool &&
                      a->b->tri == rg_expr_node_use_bool && e->b->tri == rg_expr_node_use_bool;
        return names3 ? fires_or_of_names3 : fires_or;
    }
    if (e->kind != RG_X_AND)
        return NULL;
    bool tris = tri_side(e->a) && tri_side(e->b);
    if (!e->a->looks_up_ip && !e->b->looks_up_ip && e->b->cost < e->a->cost)
        return tris ? fires_and_tris_b_first : fires_and_b_first;
    return e->b->looks_up_ip ? NULL : tris ? fires_and_tris : fires_and;
}

void rg_expr_specialise(rg_expr *e)
{
    if (!e)
        return;
    e->tri = e->type == RG_T_BOOL ? rg_expr_specialised(e) : NULL;
    e->fires = NULL;
    if (e->kind == RG_X_USE && e->use) {
        /* A signal naming one use reads that use's entry (its value, as
         * rg_eval_use_compute gives it); chains of such signals too. */
        const rg_name_use *u = e->use;
        for (int hops = 0; hops < RG_EXPR_MAX_DEPTH && u->signal && u->signal->kind == RG_X_USE && u->signal->use;
             hops++)
            u = u->signal->use;
        e->value_use = u;
    }
    /* A use's signal or filter is compiled (and specialised) on its own. */
    if (e->kind != RG_X_USE && e->kind != RG_X_LIT) {
        rg_expr_specialise(e->a);
        rg_expr_specialise(e->b);
        if (e->kind == RG_X_IN || e->kind == RG_X_FUNC)
            for (size_t i = 0; i < e->n_items; i++)
                rg_expr_specialise(e->items[i]);
    }
    mark_cost(e);
    e->needs = node_needs(e);
    mark_fire_needs(e);
    e->fire_never = never_table(e->fire_all, e->fire_any);
    if (e->tri)
        e->fires = firing(e);
    e->has_x_floor = e->fires == fires_distance_over && value_floor(e->b, 0, &e->x_floor);
}

void rg_expr_despecialise(const rg_expr *e)
{
    if (!e)
        return;
    ((rg_expr *)e)->tri = NULL;   /* a tree of the caller's own (arena memory) */
    ((rg_expr *)e)->value_use = NULL;
    ((rg_expr *)e)->fires = NULL;
    ((rg_expr *)e)->fire_all = ((rg_expr *)e)->fire_any = 0;   /* the walk's answer, asked whole */
    ((rg_expr *)e)->fire_never = 0;
    ((rg_expr *)e)->has_x_floor = false;
    if (e->kind == RG_X_USE) {
        if (e->use) {
            rg_expr_despecialise(e->use->signal);
            rg_expr_despecialise(e->use->filter);
        }
        return;
    }
    if (e->kind == RG_X_LIT)
        return;
    rg_expr_despecialise(e->a);
    rg_expr_despecialise(e->b);
    if (e->kind == RG_X_IN || e->kind == RG_X_FUNC)
        for (size_t i = 0; i < e->n_items; i++)
            rg_expr_despecialise(e->items[i]);
}
