/*
 * expr_eval — three-valued evaluation of a loaded condition for one event
 * (rules.md "Conditions", SQL semantics).
 *
 * Owner: rules. A comparison with an unknown operand is UNKNOWN, `not`
 * keeps UNKNOWN, `and`/`or` follow Kleene's tables (FALSE and x = FALSE,
 * TRUE or x = TRUE), and a rule fires on TRUE only: it never fires on
 * what it does not know. Arithmetic that cannot give a value (division by
 * zero, int64 overflow, a non-finite number) is unknown too, not an error:
 * a rule file that loaded never fails at run time.
 *
 * Names are read through rg_eval_use (memoised per event), so evaluation
 * order and short-circuiting change no result and no evidence: the engine
 * asks for every evidence name separately. A comparison (or arithmetic)
 * whose left operand is unknown is unknown whatever its right one is, so
 * the right one is not evaluated: `geo_distance_km > 500 +
 * geo_accuracy_km` on an event without a location asks no GeoIP lookup
 * for the accuracy (docs/geoip.md says what that does to the count of
 * failed lookups).
 *
 * Specialised nodes: rg_expr_specialise gives each boolean node the
 * function for its shape (rg_expr.tri), chosen once at load, so the common
 * conditions (`NAME op LITERAL` over integers or strings, a boolean name,
 * `and`/`or`/`not` of those) skip the generic walk's dispatch on kind and
 * on runtime type. Each specialised function answers exactly what the
 * generic walk (tri_generic) answers; a value whose runtime type is not
 * the one the node was specialised for goes to the generic compare.
 */
#include <math.h>
#include <string.h>

#include "../detectors/geo_signals.h"
#include "eval.h"
#include "expr_internal.h"
#include "functions.h"
#include "ruleset_internal.h"

static rg_value value_of(rg_eval_ctx *ctx, const rg_expr *e);

static rg_tri tri_from_value(rg_value v)
{
    if (!v.known || v.type != RG_T_BOOL)
        return RG_UNKNOWN;
    return v.u.b ? RG_TRUE : RG_FALSE;
}

static bool is_integral(rg_type t) { return t == RG_T_INT || t == RG_T_MONEY || t == RG_T_DURATION; }

static double as_double(rg_value v) { return v.type == RG_T_NUMBER ? v.u.d : (double)v.u.i; }

static bool str_equal(rg_value a, rg_value b)
{
    return a.u.str.len == b.u.str.len && memcmp(a.u.str.s, b.u.str.s, a.u.str.len) == 0;
}

/* Both operands known and of types the checker accepted together. */
static rg_tri compare(rg_expr_op op, rg_value a, rg_value b)
{
    int c;
    if (a.type == RG_T_STRING && b.type == RG_T_STRING) {
        c = str_equal(a, b) ? 0 : 1;
    } else if (a.type == RG_T_BOOL && b.type == RG_T_BOOL) {
        c = a.u.b == b.u.b ? 0 : 1;
    } else if (is_integral(a.type) && is_integral(b.type)) {
        c = (a.u.i > b.u.i) - (a.u.i < b.u.i);
    } else if ((is_integral(a.type) || a.type == RG_T_NUMBER) && (is_integral(b.type) || b.type == RG_T_NUMBER)) {
        double x = as_double(a), y = as_double(b);
        if (isnan(x) || isnan(y))
            return RG_UNKNOWN;
        c = (x > y) - (x < y);
    } else {
        return RG_UNKNOWN;   /* cannot happen in a checked tree */
    }
    switch (op) {
    case RG_OP_EQ: return c == 0 ? RG_TRUE : RG_FALSE;
    case RG_OP_NE: return c != 0 ? RG_TRUE : RG_FALSE;
    case RG_OP_LT: return c < 0 ? RG_TRUE : RG_FALSE;
    case RG_OP_LE: return c <= 0 ? RG_TRUE : RG_FALSE;
    case RG_OP_GT: return c > 0 ? RG_TRUE : RG_FALSE;
    case RG_OP_GE: return c >= 0 ? RG_TRUE : RG_FALSE;
    default: return RG_UNKNOWN;
    }
}

/* Is the string s one of an `in [..]` node's literals? */
static bool in_items(const rg_expr *in, rg_value s)
{
    for (size_t i = 0; i < in->n_items; i++)
        if (compare(RG_OP_EQ, s, in->items[i]->lit) == RG_TRUE)
            return true;
    return false;
}

static bool member(const rg_expr *in, rg_value x)
{
    if (in->kind == RG_X_IN_LIST)
        return x.type == RG_T_STRING && rg_strset_contains(in->set, x.u.str.s, x.u.str.len);
    return in_items(in, x);
}

/* `x in ...`: x one value, or (only inside any(), which the checker
 * enforces) a string list, for which some item must be a member. */
static rg_tri membership(const rg_expr *in, rg_value x)
{
    if (!x.known)
        return RG_UNKNOWN;
    if (x.type != RG_T_STRLIST)
        return member(in, x) ? RG_TRUE : RG_FALSE;
    for (size_t i = 0; i < x.u.list.n; i++) {
        const char *s = x.u.list.items[i];
        if (s && member(in, rg_string(s, strlen(s))))
            return RG_TRUE;
    }
    return RG_FALSE;
}

/* Every boolean node of a compiled tree has its evaluator; a tree built
 * some other way is walked generically. */
static rg_tri tri_generic(rg_eval_ctx *ctx, const rg_expr *e);

static inline rg_tri tri_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    return e->tri ? (rg_tri)e->tri(ctx, e) : tri_generic(ctx, e);
}


/* `and` (dominant FALSE) and `or` (dominant TRUE), Kleene's tables: the
 * dominant value on either side decides; both the other value give it;
 * anything else is UNKNOWN. */
static rg_tri tri_junction(rg_eval_ctx *ctx, const rg_expr *e, rg_tri dominant)
{
    rg_tri a = tri_of(ctx, e->a);
    if (a == dominant)
        return dominant;
    rg_tri b = tri_of(ctx, e->b);
    if (b == dominant)
        return dominant;
    return a == rg_tri_not(dominant) && b == rg_tri_not(dominant) ? rg_tri_not(dominant) : RG_UNKNOWN;
}

static rg_tri tri_and(rg_eval_ctx *ctx, const rg_expr *e) { return tri_junction(ctx, e, RG_FALSE); }
static rg_tri tri_or(rg_eval_ctx *ctx, const rg_expr *e) { return tri_junction(ctx, e, RG_TRUE); }

static rg_tri tri_cmp(rg_eval_ctx *ctx, const rg_expr *e)
{
    rg_value a = value_of(ctx, e->a);
    if (!a.known)
        return RG_UNKNOWN;   /* whatever b is: b is not asked */
    rg_value b = value_of(ctx, e->b);
    if (!b.known)
        return RG_UNKNOWN;
    return compare(e->op, a, b);
}

static rg_tri tri_generic(rg_eval_ctx *ctx, const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_NOT:
        return rg_tri_not(tri_of(ctx, e->a));
    case RG_X_AND:
        return tri_and(ctx, e);
    case RG_X_OR:
        return tri_or(ctx, e);
    case RG_X_CMP:
        return tri_cmp(ctx, e);
    case RG_X_IN:
    case RG_X_IN_LIST:
        return membership(e, value_of(ctx, e->a));
    default:
        return tri_from_value(value_of(ctx, e));
    }
}

static rg_value arith(const rg_expr *e, rg_value a, rg_value b)
{
    if (e->type == RG_T_NUMBER) {
        double x = as_double(a), y = as_double(b), r;
        switch (e->op) {
        case RG_OP_ADD: r = x + y; break;
        case RG_OP_SUB: r = x - y; break;
        case RG_OP_MUL: r = x * y; break;
        default:
            if (y == 0)
                return rg_unknown(e->type);
            r = x / y;
        }
        return isfinite(r) ? rg_number(r) : rg_unknown(e->type);
    }
    int64_t x = a.u.i, y = b.u.i, r;
    bool overflow;
    switch (e->op) {
    case RG_OP_ADD: overflow = __builtin_add_overflow(x, y, &r); break;
    case RG_OP_SUB: overflow = __builtin_sub_overflow(x, y, &r); break;
    case RG_OP_MUL: overflow = __builtin_mul_overflow(x, y, &r); break;
    default:
        /* Integer division truncates toward zero (C), as documented. */
        overflow = y == 0 || (x == INT64_MIN && y == -1);
        r = overflow ? 0 : x / y;
    }
    return overflow ? rg_unknown(e->type) : rg_int_typed(e->type, r);
}

/* The use a specialised node reads a name node's value from (rg_expr.value_use). */
static inline const rg_name_use *use_read(const rg_expr *e) { return e->value_use ? e->value_use : e->use; }

/* value_of for an operand, a literal or a name read in place without the
 * walk's recursion (`500 + geo_accuracy_km`: both). The name through its
 * value_use (rg_expr.value_use), the same value. */
static inline rg_value operand_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->kind == RG_X_LIT)
        return e->lit;
    if (e->kind == RG_X_USE)
        return *rg_eval_use_ref(ctx, use_read(e));
    return value_of(ctx, e);
}

static rg_value value_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_LIT:
        return e->lit;
    case RG_X_USE:
        return rg_eval_use(ctx, e->use);
    case RG_X_ARITH: {
        rg_value a = operand_of(ctx, e->a);
        if (!a.known)
            return rg_unknown(e->type);   /* whatever b is: b is not asked */
        rg_value b = operand_of(ctx, e->b);
        if (!b.known)
            return rg_unknown(e->type);
        return arith(e, a, b);
    }
    case RG_X_NEG: {
        rg_value a = value_of(ctx, e->a);
        if (!a.known)
            return rg_unknown(e->type);
        if (a.type == RG_T_NUMBER)
            return rg_number(-a.u.d);
        if (a.u.i == INT64_MIN)
            return rg_unknown(e->type);
        return rg_int_typed(a.type, -a.u.i);
    }
    case RG_X_FUNC: {
        rg_value args[RG_FN_MAX_ARGS];
        size_t n = e->n_items < RG_FN_MAX_ARGS ? e->n_items : RG_FN_MAX_ARGS;
        for (size_t i = 0; i < n; i++)
            args[i] = value_of(ctx, e->items[i]);
        return e->fn->eval(args, n, e->type);
    }
    default: {
        rg_tri t = tri_of(ctx, e);
        return t == RG_UNKNOWN ? rg_unknown(RG_T_BOOL) : rg_bool(t == RG_TRUE);
    }
    }
}

rg_tri rg_eval_condition_walk(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    return e ? tri_of(ctx, e) : RG_UNKNOWN;
}

rg_value rg_eval_expr_value(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    return e ? value_of(ctx, e) : rg_unknown(RG_T_NONE);
}

/* ---- Specialised nodes (rg_expr.tri) ------------------------------------
 * Each is the generic walk's answer for one shape, without its dispatch.
 * Children are reached through their own evaluator (tri_of). */

static int node_not(rg_eval_ctx *ctx, const rg_expr *e) { return rg_tri_not(tri_of(ctx, e->a)); }
static int node_and(rg_eval_ctx *ctx, const rg_expr *e) { return tri_and(ctx, e); }
static int node_or(rg_eval_ctx *ctx, const rg_expr *e) { return tri_or(ctx, e); }
static int node_cmp(rg_eval_ctx *ctx, const rg_expr *e) { return tri_cmp(ctx, e); }
static int node_generic(rg_eval_ctx *ctx, const rg_expr *e) { return tri_generic(ctx, e); }


/* A boolean name used as a condition: `new_device`, `client.hooked`. */
static int node_use_bool(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *v = rg_eval_use_ref(ctx, use_read(e));
    if (!v->known || v->type != RG_T_BOOL)
        return RG_UNKNOWN;
    return v->u.b ? RG_TRUE : RG_FALSE;
}

static rg_tri tri_of_order(rg_expr_op op, int64_t x, int64_t y)
{
    switch (op) {
    case RG_OP_EQ: return x == y ? RG_TRUE : RG_FALSE;
    case RG_OP_NE: return x != y ? RG_TRUE : RG_FALSE;
    case RG_OP_LT: return x < y ? RG_TRUE : RG_FALSE;
    case RG_OP_LE: return x <= y ? RG_TRUE : RG_FALSE;
    case RG_OP_GT: return x > y ? RG_TRUE : RG_FALSE;
    case RG_OP_GE: return x >= y ? RG_TRUE : RG_FALSE;
    default: return RG_UNKNOWN;
    }
}

/* `NAME op INTEGER-LITERAL`, both of integer types (integer, money,
 * duration): `payments_24h > 50`, `counterparty_age < 72h`. */
static int node_use_cmp_int(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *a = rg_eval_use_ref(ctx, use_read(e->a));
    if (!a->known)
        return RG_UNKNOWN;
    if (!is_integral(a->type))
        return compare(e->op, *a, e->b->lit);
    return tri_of_order(e->op, a->u.i, e->b->lit.u.i);
}

/* The same for one operator, the literal's value read in place. */
#define USE_CMP_INT_OP(name, OP)                                   \
    static int name(rg_eval_ctx *ctx, const rg_expr *e)            \
    {                                                              \
        const rg_value *a = rg_eval_use_ref(ctx, use_read(e->a));  \
        if (!a->known)                                             \
            return RG_UNKNOWN;                                     \
        if (!is_integral(a->type))                                 \
            return compare(e->op, *a, e->b->lit);                  \
        return a->u.i OP e->b->lit.u.i ? RG_TRUE : RG_FALSE;       \
    }
USE_CMP_INT_OP(node_use_eq_int, ==)
USE_CMP_INT_OP(node_use_ne_int, !=)
USE_CMP_INT_OP(node_use_lt_int, <)
USE_CMP_INT_OP(node_use_le_int, <=)
USE_CMP_INT_OP(node_use_gt_int, >)
USE_CMP_INT_OP(node_use_ge_int, >=)

static int (*use_cmp_int_node(rg_expr_op op))(rg_eval_ctx *, const rg_expr *)
{
    switch (op) {
    case RG_OP_EQ: return node_use_eq_int;
    case RG_OP_NE: return node_use_ne_int;
    case RG_OP_LT: return node_use_lt_int;
    case RG_OP_LE: return node_use_le_int;
    case RG_OP_GT: return node_use_gt_int;
    case RG_OP_GE: return node_use_ge_int;
    default: return node_use_cmp_int;
    }
}

/* `NAME == 'literal'` / `!=` over strings: `reason == fraud`. */
static int node_use_cmp_str(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *a = rg_eval_use_ref(ctx, use_read(e->a));
    if (!a->known)
        return RG_UNKNOWN;
    if (a->type != RG_T_STRING)
        return compare(e->op, *a, e->b->lit);
    bool eq = str_equal(*a, e->b->lit);
    return (e->op == RG_OP_EQ) == eq ? RG_TRUE : RG_FALSE;
}

/* `NAME op anything`: the name read in place, and when it is unknown the
 * right operand is not evaluated (`geo_distance_km > 500 + geo_accuracy_km`). */
static int node_use_cmp(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *a = rg_eval_use_ref(ctx, use_read(e->a));
    if (!a->known)
        return RG_UNKNOWN;
    rg_value b = operand_of(ctx, e->b);
    if (!b.known)
        return RG_UNKNOWN;
    return compare(e->op, *a, b);
}

/* `NAME in LIST`, and a string list name inside any(): membership of the
 * value read in place. */
static int node_use_in_list(rg_eval_ctx *ctx, const rg_expr *e)
{
    return membership(e, *rg_eval_use_ref(ctx, use_read(e->a)));
}

/* A function of one condition (any(client.packages in tools)): the
 * argument's truth as a value, the function's answer as a truth, without
 * the walk's value conversions in between. */
static int node_func_of_condition(rg_eval_ctx *ctx, const rg_expr *e)
{
    rg_tri t = tri_of(ctx, e->items[0]);
    rg_value arg = t == RG_UNKNOWN ? rg_unknown(RG_T_BOOL) : rg_bool(t == RG_TRUE);
    return tri_from_value(e->fn->eval(&arg, 1, e->type));
}

/* `NAME in [literals...]` over one string: `type in [transfer, ...]`. */
static int node_use_in_items(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *a = rg_eval_use_ref(ctx, use_read(e->a));
    if (!a->known)
        return RG_UNKNOWN;
    if (a->type != RG_T_STRING)
        return membership(e, *a);
    for (size_t i = 0; i < e->n_items; i++) {
        const rg_value *lit = &e->items[i]->lit;
        if (lit->type == RG_T_STRING ? str_equal(*a, *lit) : compare(RG_OP_EQ, *a, *lit) == RG_TRUE)
            return RG_TRUE;
    }
    return RG_FALSE;
}


/* The evaluator of a boolean node of this shape. */
static int (*specialised(const rg_expr *e))(rg_eval_ctx *, const rg_expr *)
{
    switch (e->kind) {
    case RG_X_NOT: return node_not;
    case RG_X_AND: return node_and;
    case RG_X_OR: return node_or;
    case RG_X_USE: return e->type == RG_T_BOOL ? node_use_bool : node_generic;
    case RG_X_CMP:
        if (rg_expr_is_use(e->a) && rg_expr_is_known_lit(e->b)) {
            if (is_integral(e->a->type) && is_integral(e->b->lit.type))
                return use_cmp_int_node(e->op);
            if (e->a->type == RG_T_STRING && e->b->lit.type == RG_T_STRING &&
                (e->op == RG_OP_EQ || e->op == RG_OP_NE))
                return node_use_cmp_str;
        }
        return rg_expr_is_use(e->a) ? node_use_cmp : node_cmp;
    case RG_X_IN:
        return rg_expr_is_use(e->a) ? node_use_in_items : node_generic;
    case RG_X_IN_LIST:
        return rg_expr_is_use(e->a) ? node_use_in_list : node_generic;
    case RG_X_FUNC:
        /* The argument a membership test, whose value the walk takes from
         * its truth too (value_of's default): any(). */
        return e->fn && e->n_items == 1 && (e->items[0]->kind == RG_X_IN || e->items[0]->kind == RG_X_IN_LIST)
                   ? node_func_of_condition
                   : node_generic;
    default:
        return node_generic;
    }
}

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
 * `or`: what fires_leaf (or, without needs, node_use_bool) answers, read
 * here without their two calls: `packet_expired or packet_overclaimed or
 * packet_reclaimed` is asked on every claim. */
static inline bool bool_name_fires(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->needs & ~ctx->parts)
        return false;   /* as fires_leaf */
    const rg_value *v = rg_eval_use_ref(ctx, use_read(e));
    return v->known && v->type == RG_T_BOOL && v->u.b;
}

static inline bool fires_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->tri == node_use_bool)
        return bool_name_fires(ctx, e);
    return e->fires ? e->fires(ctx, e) != 0 : tri_of(ctx, e) == RG_TRUE;
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
    const rg_name_use *u = use_read(e->a);
    bool held = ctx->detector_state && ctx->detector_state[u->detector_index];
    if (!held || ctx->memo_gen[u->slot] == ctx->gen)
        return e->tri(ctx, e) == RG_TRUE;   /* no family here (unknown), or a value already known */
    const rg_geo_result *where = rg_geo_signals_distance_ends(ctx, ctx->ev);
    if (!where)
        return 0;   /* the distance is unknown: so is the comparison, X unasked */
    if (e->has_x_floor && rg_geo_distance_below(where->lat, where->lon, ctx->ev->lat, ctx->ev->lon, e->x_floor))
        return 0;   /* distance < floor <= X when X is known: not TRUE either way, X unasked */
    rg_value x = operand_of(ctx, e->b);
    if (!x.known)
        return 0;
    if ((is_integral(x.type) || x.type == RG_T_NUMBER) &&
        rg_geo_distance_below(where->lat, where->lon, ctx->ev->lat, ctx->ev->lon, as_double(x)))
        return 0;   /* distance < X: FALSE for > and >= */
    return compare(e->op, *rg_eval_use_ref(ctx, u), x) == RG_TRUE;
}

/* A leaf comparing geo_distance_km (read in place) to be above something. */
static bool is_distance_over(const rg_expr *e)
{
    const rg_name_use *u = e->kind == RG_X_CMP && (e->op == RG_OP_GT || e->op == RG_OP_GE) && rg_expr_is_use(e->a)
                               ? use_read(e->a)
                               : NULL;
    return u && !u->signal && u->spec && e->a->type == RG_T_NUMBER && rg_geo_signals_is_distance(u->spec);
}

/* A number X's value is never below when known (rg_expr.x_floor): a
 * literal's; geo_accuracy_km's least (geo_signals.c); a NUMBER sum's, the
 * sum of its operands' (adding in doubles rounds monotonically, and an
 * integer operand is converted as arith() converts it). Anything else
 * (a product, another name): none, false. Names are read as the walk
 * reads them (use_read: a signal naming one use has its value). */
static bool value_floor(const rg_expr *x, int depth, double *at)
{
    if (!x || depth > RG_EXPR_MAX_DEPTH)
        return false;
    if (x->kind == RG_X_LIT) {
        if (!x->lit.known || !(is_integral(x->lit.type) || x->lit.type == RG_T_NUMBER))
            return false;
        *at = as_double(x->lit);
        return !isnan(*at);
    }
    if (x->kind == RG_X_USE) {
        const rg_name_use *u = x->use ? use_read(x) : NULL;
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
    case RG_X_USE: return e->type == RG_T_BOOL ? use_needs(use_read(e)) : 0;
    case RG_X_CMP:
    case RG_X_IN:
    case RG_X_IN_LIST: return rg_expr_is_use(e->a) ? use_needs(use_read(e->a)) : 0;
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
    if (e->kind == RG_X_OR)
        return fires_or;
    if (e->kind != RG_X_AND)
        return NULL;
    if (!e->a->looks_up_ip && !e->b->looks_up_ip && e->b->cost < e->a->cost)
        return fires_and_b_first;
    return e->b->looks_up_ip ? NULL : fires_and;
}

void rg_expr_specialise(rg_expr *e)
{
    if (!e)
        return;
    e->tri = e->type == RG_T_BOOL ? specialised(e) : NULL;
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
    if (e->kind == RG_X_USE || e->kind == RG_X_LIT) {
        mark_cost(e);
        e->needs = node_needs(e);
        mark_fire_needs(e);
        e->fire_never = never_table(e->fire_all, e->fire_any);
        if (e->tri)
            e->fires = firing(e);
        return;   /* a use's signal or filter is compiled (and specialised) on its own */
    }
    rg_expr_specialise(e->a);
    rg_expr_specialise(e->b);
    if (e->kind == RG_X_IN || e->kind == RG_X_FUNC)
        for (size_t i = 0; i < e->n_items; i++)
            rg_expr_specialise(e->items[i]);
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

/* The walk's own compare and membership, for expr_fold.c: a type the fold
 * settles is settled by exactly the walk's answer. */
rg_tri rg_expr_compare(rg_expr_op op, rg_value a, rg_value b) { return compare(op, a, b); }
rg_tri rg_expr_membership(const rg_expr *in, rg_value x) { return membership(in, x); }
