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
 * Specialised nodes: rg_expr_specialise (expr_fires.c) gives each boolean
 * node the function for its shape (rg_expr.tri, rg_expr_specialised here),
 * chosen once at load, so the common conditions (`NAME op LITERAL` over
 * integers or strings, a boolean name, `and`/`or`/`not` of those) skip the
 * generic walk's dispatch on kind and on runtime type. Each specialised
 * function answers exactly what the generic walk (rg_expr_tri_generic)
 * answers; a value whose runtime type is not the one the node was
 * specialised for goes to the generic compare.
 *
 * Whether a rule fires (rg_eval_fires, the engine's question) is asked of
 * these evaluators by expr_fires.c.
 */
#include <math.h>
#include <string.h>

#include "eval.h"
#include "expr_internal.h"
#include "functions.h"
#include "ruleset_internal.h"

static rg_tri tri_from_value(rg_value v)
{
    if (!v.known || v.type != RG_T_BOOL)
        return RG_UNKNOWN;
    return v.u.b ? RG_TRUE : RG_FALSE;
}

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
    } else if (rg_expr_is_integral(a.type) && rg_expr_is_integral(b.type)) {
        c = (a.u.i > b.u.i) - (a.u.i < b.u.i);
    } else if ((rg_expr_is_integral(a.type) || a.type == RG_T_NUMBER) &&
               (rg_expr_is_integral(b.type) || b.type == RG_T_NUMBER)) {
        double x = rg_expr_as_double(a), y = rg_expr_as_double(b);
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


/* `and` (dominant FALSE) and `or` (dominant TRUE), Kleene's tables: the
 * dominant value on either side decides; both the other value give it;
 * anything else is UNKNOWN. */
static rg_tri tri_junction(rg_eval_ctx *ctx, const rg_expr *e, rg_tri dominant)
{
    rg_tri a = rg_expr_tri_of(ctx, e->a);
    if (a == dominant)
        return dominant;
    rg_tri b = rg_expr_tri_of(ctx, e->b);
    if (b == dominant)
        return dominant;
    return a == rg_tri_not(dominant) && b == rg_tri_not(dominant) ? rg_tri_not(dominant) : RG_UNKNOWN;
}

static rg_tri tri_and(rg_eval_ctx *ctx, const rg_expr *e) { return tri_junction(ctx, e, RG_FALSE); }
static rg_tri tri_or(rg_eval_ctx *ctx, const rg_expr *e) { return tri_junction(ctx, e, RG_TRUE); }

static rg_tri tri_cmp(rg_eval_ctx *ctx, const rg_expr *e)
{
    rg_value a = rg_expr_value_of(ctx, e->a);
    if (!a.known)
        return RG_UNKNOWN;   /* whatever b is: b is not asked */
    rg_value b = rg_expr_value_of(ctx, e->b);
    if (!b.known)
        return RG_UNKNOWN;
    return compare(e->op, a, b);
}

rg_tri rg_expr_tri_generic(rg_eval_ctx *ctx, const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_NOT:
        return rg_tri_not(rg_expr_tri_of(ctx, e->a));
    case RG_X_AND:
        return tri_and(ctx, e);
    case RG_X_OR:
        return tri_or(ctx, e);
    case RG_X_CMP:
        return tri_cmp(ctx, e);
    case RG_X_IN:
    case RG_X_IN_LIST:
        return membership(e, rg_expr_value_of(ctx, e->a));
    default:
        return tri_from_value(rg_expr_value_of(ctx, e));
    }
}

static rg_value arith(const rg_expr *e, rg_value a, rg_value b)
{
    if (e->type == RG_T_NUMBER) {
        double x = rg_expr_as_double(a), y = rg_expr_as_double(b), r;
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

rg_value rg_expr_value_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_LIT:
        return e->lit;
    case RG_X_USE:
        return rg_eval_use(ctx, e->use);
    case RG_X_ARITH: {
        rg_value a = rg_expr_operand_of(ctx, e->a);
        if (!a.known)
            return rg_unknown(e->type);   /* whatever b is: b is not asked */
        rg_value b = rg_expr_operand_of(ctx, e->b);
        if (!b.known)
            return rg_unknown(e->type);
        return arith(e, a, b);
    }
    case RG_X_NEG: {
        rg_value a = rg_expr_value_of(ctx, e->a);
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
            args[i] = rg_expr_value_of(ctx, e->items[i]);
        return e->fn->eval(args, n, e->type);
    }
    default: {
        rg_tri t = rg_expr_tri_of(ctx, e);
        return t == RG_UNKNOWN ? rg_unknown(RG_T_BOOL) : rg_bool(t == RG_TRUE);
    }
    }
}

rg_tri rg_eval_condition_walk(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    return e ? rg_expr_tri_of(ctx, e) : RG_UNKNOWN;
}

rg_value rg_eval_expr_value(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    return e ? rg_expr_value_of(ctx, e) : rg_unknown(RG_T_NONE);
}

/* ---- Specialised nodes (rg_expr.tri) ------------------------------------
 * Each is the generic walk's answer for one shape, without its dispatch.
 * Children are reached through their own evaluator (rg_expr_tri_of). */

static int node_not(rg_eval_ctx *ctx, const rg_expr *e) { return rg_tri_not(rg_expr_tri_of(ctx, e->a)); }
static int node_and(rg_eval_ctx *ctx, const rg_expr *e) { return tri_and(ctx, e); }
static int node_or(rg_eval_ctx *ctx, const rg_expr *e) { return tri_or(ctx, e); }
static int node_cmp(rg_eval_ctx *ctx, const rg_expr *e) { return tri_cmp(ctx, e); }
static int node_generic(rg_eval_ctx *ctx, const rg_expr *e) { return rg_expr_tri_generic(ctx, e); }


/* A boolean name used as a condition: `new_device`, `client.hooked`. */
int rg_expr_node_use_bool(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *v = rg_eval_use_ref(ctx, rg_expr_use_read(e));
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
    const rg_value *a = rg_eval_use_ref(ctx, rg_expr_use_read(e->a));
    if (!a->known)
        return RG_UNKNOWN;
    if (!rg_expr_is_integral(a->type))
        return compare(e->op, *a, e->b->lit);
    return tri_of_order(e->op, a->u.i, e->b->lit.u.i);
}

/* The same for one operator, the literal's value read in place; the
 * name's value from REF (a use's memo entry, or `amount`'s below). */
#define CMP_INT_OP(name, OP, REF)                                  \
    static int name(rg_eval_ctx *ctx, const rg_expr *e)            \
    {                                                              \
        const rg_value *a = REF;                                   \
        if (!a->known)                                             \
            return RG_UNKNOWN;                                     \
        if (!rg_expr_is_integral(a->type))                         \
            return compare(e->op, *a, e->b->lit);                  \
        return a->u.i OP e->b->lit.u.i ? RG_TRUE : RG_FALSE;       \
    }
#define USE_CMP_INT_OP(name, OP) CMP_INT_OP(name, OP, rg_eval_use_ref(ctx, rg_expr_use_read(e->a)))
USE_CMP_INT_OP(node_use_eq_int, ==)
USE_CMP_INT_OP(node_use_ne_int, !=)
USE_CMP_INT_OP(node_use_lt_int, <)
USE_CMP_INT_OP(node_use_le_int, <=)
USE_CMP_INT_OP(node_use_gt_int, >)
USE_CMP_INT_OP(node_use_ge_int, >=)

/* ---- `amount` read from the event ---------------------------------------
 * `amount >= 100000` and `amount > 5000000` are asked of every transfer;
 * amount is the fields family's (fields.c): the event's own amount on a
 * transfer, a packet send or a claim, unknown on any other type. Its memo
 * entry is filled here with exactly that value, as rg_eval_use_compute
 * would fill it, without the call through the family's eval (the memo,
 * and so whatever evidence or a message reads later, is the same). Only
 * where the family is held (rg_eval_ctx.type_slot is not 0, which also
 * means the type is in range); a value already in the memo (an earlier
 * ask, or a stage's preset) is read as it is. test_rules_fastpath
 * compares this with the family's answer on every event type. */
#define AMOUNT_TYPES                                                                       \
    ((1u << RG_EV_TRANSFER) | (1u << RG_EV_RED_PACKET_SEND) | (1u << RG_EV_RED_PACKET_CLAIM))

static const rg_value *amount_ref(rg_eval_ctx *ctx, const rg_name_use *u)
{
    rg_value *slot = &ctx->memo[u->slot];
    if (ctx->memo_gen[u->slot] == ctx->gen)
        return slot;
    if (!ctx->type_slot)
        return rg_eval_use_compute(ctx, u);   /* the family not held here: its answer (unknown), or a preset */
    *slot = AMOUNT_TYPES >> (ctx->type_slot - 1) & 1 ? rg_int_typed(RG_T_MONEY, ctx->ev->amount)
                                                     : rg_unknown(RG_T_MONEY);
    ctx->memo_gen[u->slot] = ctx->gen;
    return slot;
}

/* A use of the fields family's `amount` (read through amount_ref). */
static bool is_amount_use(const rg_expr *e)
{
    const rg_name_use *u = rg_expr_is_use(e) ? e->use : NULL;
    return u && !u->signal && u->detector && u->detector->family && strcmp(u->detector->family, "fields") == 0 &&
           u->spec && u->spec->name && strcmp(u->spec->name, "amount") == 0 && u->spec->type == RG_T_MONEY;
}

#define AMOUNT_CMP_INT_OP(name, OP) CMP_INT_OP(name, OP, amount_ref(ctx, e->a->use))
AMOUNT_CMP_INT_OP(node_amount_eq_int, ==)
AMOUNT_CMP_INT_OP(node_amount_ne_int, !=)
AMOUNT_CMP_INT_OP(node_amount_lt_int, <)
AMOUNT_CMP_INT_OP(node_amount_le_int, <=)
AMOUNT_CMP_INT_OP(node_amount_gt_int, >)
AMOUNT_CMP_INT_OP(node_amount_ge_int, >=)

static int (*amount_cmp_int_node(rg_expr_op op))(rg_eval_ctx *, const rg_expr *)
{
    switch (op) {
    case RG_OP_EQ: return node_amount_eq_int;
    case RG_OP_NE: return node_amount_ne_int;
    case RG_OP_LT: return node_amount_lt_int;
    case RG_OP_LE: return node_amount_le_int;
    case RG_OP_GT: return node_amount_gt_int;
    case RG_OP_GE: return node_amount_ge_int;
    default: return NULL;
    }
}

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
    const rg_value *a = rg_eval_use_ref(ctx, rg_expr_use_read(e->a));
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
    const rg_value *a = rg_eval_use_ref(ctx, rg_expr_use_read(e->a));
    if (!a->known)
        return RG_UNKNOWN;
    rg_value b = rg_expr_operand_of(ctx, e->b);
    if (!b.known)
        return RG_UNKNOWN;
    return compare(e->op, *a, b);
}

/* `NAME in LIST`, and a string list name inside any(): membership of the
 * value read in place. */
static int node_use_in_list(rg_eval_ctx *ctx, const rg_expr *e)
{
    return membership(e, *rg_eval_use_ref(ctx, rg_expr_use_read(e->a)));
}

/* A function of one condition (any(client.packages in tools)): the
 * argument's truth as a value, the function's answer as a truth, without
 * the walk's value conversions in between. */
static int node_func_of_condition(rg_eval_ctx *ctx, const rg_expr *e)
{
    rg_tri t = rg_expr_tri_of(ctx, e->items[0]);
    rg_value arg = t == RG_UNKNOWN ? rg_unknown(RG_T_BOOL) : rg_bool(t == RG_TRUE);
    return tri_from_value(e->fn->eval(&arg, 1, e->type));
}

/* `NAME in [literals...]` over one string: `type in [transfer, ...]`. */
static int node_use_in_items(rg_eval_ctx *ctx, const rg_expr *e)
{
    const rg_value *a = rg_eval_use_ref(ctx, rg_expr_use_read(e->a));
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
int (*rg_expr_specialised(const rg_expr *e))(rg_eval_ctx *, const rg_expr *)
{
    switch (e->kind) {
    case RG_X_NOT: return node_not;
    case RG_X_AND: return node_and;
    case RG_X_OR: return node_or;
    case RG_X_USE: return e->type == RG_T_BOOL ? rg_expr_node_use_bool : node_generic;
    case RG_X_CMP:
        if (rg_expr_is_use(e->a) && rg_expr_is_known_lit(e->b)) {
            if (rg_expr_is_integral(e->a->type) && rg_expr_is_integral(e->b->lit.type))
                return is_amount_use(e->a) && amount_cmp_int_node(e->op) ? amount_cmp_int_node(e->op)
                                                                          : use_cmp_int_node(e->op);
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
         * its truth too (rg_expr_value_of's default): any(). */
        return e->fn && e->n_items == 1 && (e->items[0]->kind == RG_X_IN || e->items[0]->kind == RG_X_IN_LIST)
                   ? node_func_of_condition
                   : node_generic;
    default:
        return node_generic;
    }
}

/* The walk's own compare and membership, for expr_fold.c (a type the fold
 * settles is settled by exactly the walk's answer) and expr_fires.c. */
rg_tri rg_expr_compare(rg_expr_op op, rg_value a, rg_value b) { return compare(op, a, b); }
rg_tri rg_expr_membership(const rg_expr *in, rg_value x) { return membership(in, x); }
