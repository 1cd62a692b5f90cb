/*
 * expr_fold — folding a condition on the event type (rg_expr_fold_types,
 * rules/expr.h): per event type, what is left of a condition that tests
 * `type`, taken only where it is exactly what the walk (expr_eval.c)
 * computes.
 *
 * Owner: rules. Apart from expr_eval.c because it runs once, when a rule
 * file loads, while expr_eval.c is the per-event path; it reads the
 * walk's own compare and membership (rg_expr_compare, rg_expr_membership)
 * so a settled answer is the walk's.
 */
#include <string.h>

#include "eval.h"
#include "expr_internal.h"
#include "ruleset_internal.h"

/* ---- Folding on the event type -------------------------------------------
 * `type` is the one name every event knows before anything is computed:
 * its value is the event type's name whenever the fields family runs here
 * (fields.c; a role without that family gets it from an earlier stage
 * or not at all, and is left to the full evaluator). A count() filter
 * such as `type == red_packet_claim and claim_delay < 1s` is asked on
 * every event of every type; for six types of seven its answer is FALSE
 * before claim_delay is looked at, and for the seventh it is
 * `claim_delay < 1s`. So a root that mentions `type` keeps, per event
 * type, a residue: a constant, or the subtree left to evaluate.
 *
 * A residue is taken only where it is exactly what the walk does:
 * `c and x` is x when c is TRUE (x evaluated as before), FALSE when c is
 * FALSE (x was not evaluated before either); `x and c` with c TRUE is x;
 * `x and c` with c FALSE is not folded (x was evaluated first, and a name
 * it computes may count, e.g. a failed GeoIP lookup). `or` the same with
 * TRUE and FALSE swapped; `not c` is the negation. Anything else keeps the
 * node whole, so a fold never changes an answer or which names are
 * computed but `type` itself (whose computation has no effect). */

typedef int (*tri_fn)(rg_eval_ctx *, const rg_expr *);

typedef struct rg_expr_residue {
    int konst;             /* an rg_tri the type settles; -1: evaluate node with tri */
    const rg_expr *node;
    tri_fn tri;
} rg_expr_residue;

/* Indexed by rg_eval_ctx.type_slot: at[0] the root whole (its own
 * evaluator: `type` not known here), at[t + 1] what is left for type t. */
struct rg_expr_by_type {
    rg_expr_residue at[RG_EV_TYPE_COUNT + 1];
};

static int node_by_type(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_expr_residue *r = &e->by_type->at[ctx->type_slot];
    return r->konst >= 0 ? r->konst : r->tri(ctx, r->node);
}

static bool is_type_use(const rg_expr *e)
{
    return rg_expr_is_use(e) && e->use->detector && !e->use->signal && e->use->spec && e->use->spec->name &&
           strcmp(e->use->spec->name, "type") == 0 && e->use->detector->family &&
           strcmp(e->use->detector->family, "fields") == 0;
}

static rg_expr_residue whole(const rg_expr *e) { return (rg_expr_residue){-1, e, e->tri}; }
static rg_expr_residue settled(rg_tri t) { return (rg_expr_residue){(int)t, NULL, NULL}; }

/* What is left of e when `type` is `name` (through the walk's own compare
 * and membership, so a settled answer is the walk's). */
static rg_expr_residue residue(const rg_expr *e, const char *name)
{
    if (!e->tri)
        return whole(e);
    rg_value type = rg_string(name, strlen(name));
    switch (e->kind) {
    case RG_X_CMP:
        if (is_type_use(e->a) && rg_expr_is_known_lit(e->b))
            return settled(rg_expr_compare(e->op, type, e->b->lit));
        return whole(e);
    case RG_X_IN_LIST:
        return is_type_use(e->a) && e->set ? settled(rg_expr_membership(e, type)) : whole(e);
    case RG_X_IN:
        for (size_t i = 0; i < e->n_items; i++)
            if (!e->items[i] || e->items[i]->kind != RG_X_LIT)
                return whole(e);
        return is_type_use(e->a) ? settled(rg_expr_membership(e, type)) : whole(e);
    case RG_X_NOT: {
        rg_expr_residue a = residue(e->a, name);
        return a.konst >= 0 ? settled(rg_tri_not((rg_tri)a.konst)) : whole(e);
    }
    case RG_X_AND:
    case RG_X_OR: {
        int dominant = e->kind == RG_X_AND ? RG_FALSE : RG_TRUE;
        int other = dominant == RG_FALSE ? RG_TRUE : RG_FALSE;
        rg_expr_residue a = residue(e->a, name), b = residue(e->b, name);
        if (a.konst == dominant)
            return a;
        if (a.konst == other)
            return b;
        if (a.konst < 0 && b.konst == other)
            return a;
        return whole(e);
    }
    default:
        return whole(e);
    }
}

void rg_expr_fold_types(rg_expr *e, rg_arena *arena)
{
    if (!e || !e->tri || e->by_type)
        return;
    struct rg_expr_by_type bt;
    bt.at[0] = whole(e);
    bool any = false, found = false;
    for (unsigned t = 0; t < RG_EV_TYPE_COUNT; t++) {
        if (!rg_rules_event_types[t])
            return;
        bt.at[t + 1] = residue(e, rg_rules_event_types[t]);
        any |= bt.at[t + 1].node != e;
    }
    if (!any)
        return;
    /* Which family answers `type`: the first type test's use says. */
    const rg_expr *stack[RG_EXPR_MAX_DEPTH * 2 + 2];
    size_t n = 0;
    stack[n++] = e;
    while (n && !found) {
        const rg_expr *x = stack[--n];
        if ((x->kind == RG_X_CMP || x->kind == RG_X_IN || x->kind == RG_X_IN_LIST) && is_type_use(x->a)) {
            /* the fields family's (is_type_use): rg_eval_ctx.type_slot is 0
             * unless its state is held, as `type` is unknown without it */
            found = true;
        } else if (x->kind == RG_X_AND || x->kind == RG_X_OR || x->kind == RG_X_NOT) {
            if (x->b && n < sizeof stack / sizeof stack[0])
                stack[n++] = x->b;
            if (x->a && n < sizeof stack / sizeof stack[0])
                stack[n++] = x->a;
        }
    }
    struct rg_expr_by_type *keep = found ? rg_arena_alloc(arena, sizeof *keep) : NULL;
    if (!keep)
        return;
    *keep = bt;
    e->by_type = keep;
    e->tri = node_by_type;
    e->fires = NULL;   /* the residue's answer, asked whole */
}

int rg_expr_type_settles(const rg_expr *e, unsigned type_slot)
{
    if (!e || e->tri != node_by_type || type_slot == 0 || type_slot > RG_EV_TYPE_COUNT)
        return -1;
    return e->by_type->at[type_slot].konst;
}
