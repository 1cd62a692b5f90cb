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
 * asks for every evidence name separately.
 */
#include <math.h>
#include <string.h>

#include "eval.h"
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

static rg_tri tri_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_NOT: {
        rg_tri a = tri_of(ctx, e->a);
        return a == RG_UNKNOWN ? RG_UNKNOWN : a == RG_TRUE ? RG_FALSE : RG_TRUE;
    }
    case RG_X_AND: {
        rg_tri a = tri_of(ctx, e->a);
        if (a == RG_FALSE)
            return RG_FALSE;
        rg_tri b = tri_of(ctx, e->b);
        if (b == RG_FALSE)
            return RG_FALSE;
        return a == RG_TRUE && b == RG_TRUE ? RG_TRUE : RG_UNKNOWN;
    }
    case RG_X_OR: {
        rg_tri a = tri_of(ctx, e->a);
        if (a == RG_TRUE)
            return RG_TRUE;
        rg_tri b = tri_of(ctx, e->b);
        if (b == RG_TRUE)
            return RG_TRUE;
        return a == RG_FALSE && b == RG_FALSE ? RG_FALSE : RG_UNKNOWN;
    }
    case RG_X_CMP: {
        rg_value a = value_of(ctx, e->a), b = value_of(ctx, e->b);
        if (!a.known || !b.known)
            return RG_UNKNOWN;
        return compare(e->op, a, b);
    }
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

static rg_value value_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    switch (e->kind) {
    case RG_X_LIT:
        return e->lit;
    case RG_X_USE:
        return rg_eval_use(ctx, e->use);
    case RG_X_ARITH: {
        rg_value a = value_of(ctx, e->a), b = value_of(ctx, e->b);
        if (!a.known || !b.known)
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

rg_tri rg_eval_condition(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    return e ? tri_of(ctx, e) : RG_UNKNOWN;
}

rg_value rg_eval_expr_value(rg_eval_ctx *ctx, const struct rg_expr *e)
{
    return e ? value_of(ctx, e) : rg_unknown(RG_T_NONE);
}
