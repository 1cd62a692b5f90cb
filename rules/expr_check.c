/*
 * expr_check — name resolution and type checking of a parsed condition
 * (rules.md "Conditions"; the type rules are in docs/rules-guide.md).
 *
 * Owner: rules. Types are checked when the file loads so that a rule
 * never meets a type error at run time: durations compare only with
 * durations (`counterparty_age < 72h`, never `< 259200000`), money with
 * money or plain integers (minor units), strings and booleans only for
 * (in)equality. A node whose operand is already in error gets RG_T_NONE
 * and reports nothing more, so one mistake gives one message.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "expr_internal.h"
#include "functions.h"

enum { IN_FILTER = 1, IN_ANY = 2 };

typedef struct checker {
    const rg_expr_env *env;
    bool filterable;   /* every name seen so far may be used in a count() filter */
    bool failed;
} checker;

static void cerr(checker *c, unsigned pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cerr(checker *c, unsigned pos, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->failed = true;
    c->env->error(c->env->opaque, pos, msg);
}

/* Source text of a node, shortened for messages. */
#define SPAN_MAX 60
#define SPAN(e) (int)((e)->end - (e)->pos > SPAN_MAX ? SPAN_MAX : (e)->end - (e)->pos), (e)->src + (e)->pos

/* "duration 'counterparty_age'", "integer 259200000". */
static void describe(const rg_expr *e, char *buf, size_t size)
{
    if (e->kind == RG_X_LIT)
        snprintf(buf, size, "%s %.*s", rg_expr_type_word(e->type), SPAN(e));
    else
        snprintf(buf, size, "%s '%.*s'", rg_expr_type_word(e->type), SPAN(e));
}

static bool is_numeric(rg_type t)
{
    return t == RG_T_INT || t == RG_T_MONEY || t == RG_T_DURATION || t == RG_T_NUMBER;
}

typedef enum name_class { NAME_UNKNOWN, NAME_BUILTIN, NAME_SIGNAL, NAME_LIST, NAME_FUNC } name_class;

static name_class classify(checker *c, const rg_expr *e, const rg_name_spec **spec, const rg_detector **det,
                           const rg_name_use **sig)
{
    *spec = rg_registry_find(e->name, e->name_len, det);
    if (*spec)
        return NAME_BUILTIN;
    if (c->env->signal && (*sig = c->env->signal(c->env->opaque, e->name, e->name_len, e->pos)))
        return NAME_SIGNAL;
    if (c->env->list && c->env->list(c->env->opaque, e->name, e->name_len))
        return NAME_LIST;
    if (rg_function_find(e->name, e->name_len))
        return NAME_FUNC;
    return NAME_UNKNOWN;
}

/* An identifier that names nothing: a string literal candidate. */
static bool is_bare(checker *c, const rg_expr *e)
{
    const rg_name_spec *spec;
    const rg_detector *det;
    const rg_name_use *sig;
    return e->kind == RG_X_IDENT && classify(c, e, &spec, &det, &sig) == NAME_UNKNOWN;
}

static void make_use(checker *c, rg_expr *e, const rg_name_use *use, unsigned flags)
{
    e->kind = RG_X_USE;
    e->use = use;
    e->type = use->spec->type;
    if (!use->spec->filterable) {
        c->filterable = false;
        if (flags & IN_FILTER) {
            cerr(c, e->pos,
                 "'%s' cannot be used in a count() filter: a filter may only use names known for "
                 "each event as it arrives (event fields, client signals, claim_delay, geo names)",
                 use->spec->name);
            e->type = RG_T_NONE;
        }
    }
}

static void check(checker *c, rg_expr *e, unsigned flags);

static void resolve_ident(checker *c, rg_expr *e, unsigned flags)
{
    const rg_name_spec *spec;
    const rg_detector *det;
    const rg_name_use *sig = NULL;
    int n = (int)(e->name_len > SPAN_MAX ? SPAN_MAX : e->name_len);
    e->type = RG_T_NONE;
    switch (classify(c, e, &spec, &det, &sig)) {
    case NAME_BUILTIN:
        if (spec->args[0] != RG_ARG_NONE) {
            cerr(c, e->pos, "'%s' needs arguments: %s(%s)", spec->name, spec->name,
                 spec->args[1] == RG_ARG_CONDITION ? "WINDOW, FILTER" : "WINDOW");
            return;
        }
        {
            const rg_name_use *use = c->env->builtin_use(c->env->opaque, spec, det, 0, NULL, NULL, NULL);
            if (!use) {
                c->failed = true;
                return;
            }
            make_use(c, e, use, flags);
        }
        return;
    case NAME_SIGNAL:
        make_use(c, e, sig, flags);
        if (e->type == RG_T_NONE)
            c->failed = true;   /* the signal reported its own error */
        return;
    case NAME_LIST:
        cerr(c, e->pos, "'%.*s' is a list: use it as 'x in %.*s'", n, e->name, n, e->name);
        return;
    case NAME_FUNC:
        cerr(c, e->pos, "'%.*s' is a function: write %.*s(...)", n, e->name, n, e->name);
        return;
    case NAME_UNKNOWN:
        cerr(c, e->pos, "unknown name '%.*s'", n, e->name);
        return;
    }
}

static void to_string_lit(checker *c, rg_expr *e)
{
    e->kind = RG_X_LIT;
    e->lit = rg_string(e->name, e->name_len);
    /* e->name points into the arena copy of the text; NUL-terminate a copy
     * so a string literal is always a C string too. */
    char *s = rg_arena_strndup(c->env->arena, e->name, e->name_len);
    if (!s) {
        c->failed = true;
        return;
    }
    e->lit.u.str.s = s;
    e->type = RG_T_STRING;
}

static void unknown_bare(checker *c, rg_expr *bare)
{
    int n = (int)(bare->name_len > SPAN_MAX ? SPAN_MAX : bare->name_len);
    cerr(c, bare->pos, "unknown name '%.*s'", n, bare->name);
    bare->type = RG_T_NONE;
}

/* A bare identifier beside `other`: a string literal if other is a
 * string-typed name, else an unknown name. */
static void bare_as_string(checker *c, rg_expr *bare, const rg_expr *other)
{
    if (other->type == RG_T_NONE) {
        bare->type = RG_T_NONE;
        return;
    }
    if (other->kind == RG_X_USE && (other->type == RG_T_STRING || other->type == RG_T_STRLIST)) {
        to_string_lit(c, bare);
        return;
    }
    unknown_bare(c, bare);
}

/* Literal strings compared with `type`, `kind`, `mode`, `reason` must be
 * values those fields can have: `type == transfre` would silently never
 * match. */
static void check_enum_value(checker *c, const rg_expr *name, const rg_expr *lit)
{
    if (name->kind != RG_X_USE || !name->use->detector || lit->kind != RG_X_LIT || lit->type != RG_T_STRING)
        return;
    const char *const *vals = rg_field_enum_values(name->use->spec->name);
    if (!vals)
        return;
    char expected[200] = "";
    size_t off = 0;
    for (size_t i = 0; vals[i]; i++) {
        if (strlen(vals[i]) == lit->lit.u.str.len && memcmp(vals[i], lit->lit.u.str.s, lit->lit.u.str.len) == 0)
            return;
        int w = snprintf(expected + off, sizeof expected - off, "%s%s", i ? ", " : "", vals[i]);
        if (w > 0 && (size_t)w < sizeof expected - off)
            off += (size_t)w;
    }
    int n = (int)(lit->lit.u.str.len > SPAN_MAX ? SPAN_MAX : lit->lit.u.str.len);
    cerr(c, lit->pos, "'%s' is never '%.*s' (one of: %s)", name->use->spec->name, n, lit->lit.u.str.s, expected);
}

static void fold_negative_literal(rg_expr *e)
{
    if (e->kind == RG_X_NEG && e->a->kind == RG_X_LIT &&
        (e->a->type == RG_T_INT || e->a->type == RG_T_DURATION)) {
        e->lit = rg_int_typed(e->a->type, -e->a->lit.u.i);
        e->kind = RG_X_LIT;
        e->type = e->a->type;
        e->a = NULL;
    }
}

/* Can a value of type a be compared with one of type b? */
static bool comparable(rg_type a, rg_type b)
{
    if (a == b)
        return a != RG_T_STRLIST;
    if (a == RG_T_DURATION || b == RG_T_DURATION)
        return false;   /* durations carry a unit: only durations */
    if (!is_numeric(a) || !is_numeric(b))
        return false;
    return a == RG_T_INT || b == RG_T_INT;   /* a plain integer fits money and numbers */
}

static void type_mismatch(checker *c, unsigned pos, const char *verb, const rg_expr *a, const rg_expr *b)
{
    char da[100], db[100], hint[48] = "";
    describe(a, da, sizeof da);
    describe(b, db, sizeof db);
    const rg_expr *lit = a->kind == RG_X_LIT ? a : b;
    const rg_expr *other = lit == a ? b : a;
    if (lit->kind == RG_X_LIT && lit->type == RG_T_INT && other->type == RG_T_DURATION) {
        char d[32];
        rg_duration_text(lit->lit.u.i, d, sizeof d);
        snprintf(hint, sizeof hint, " (write %s)", d);
    }
    cerr(c, pos, "wrong type: cannot %s %s with %s%s", verb, da, db, hint);
}

static void check_cmp(checker *c, rg_expr *e, unsigned flags)
{
    bool bare_a = is_bare(c, e->a), bare_b = is_bare(c, e->b);
    if (!bare_a)
        check(c, e->a, flags);
    if (!bare_b)
        check(c, e->b, flags);
    if (bare_a && bare_b) {
        unknown_bare(c, e->a);   /* neither side is a name: both unknown */
        unknown_bare(c, e->b);
    } else if (bare_a) {
        bare_as_string(c, e->a, e->b);
    } else if (bare_b) {
        bare_as_string(c, e->b, e->a);
    }
    e->type = RG_T_BOOL;
    rg_type ta = e->a->type, tb = e->b->type;
    if (ta == RG_T_NONE || tb == RG_T_NONE)
        return;
    const rg_expr *blame = e->b->kind == RG_X_LIT ? e->b : e->a;
    if (!comparable(ta, tb)) {
        if (ta == RG_T_STRLIST || tb == RG_T_STRLIST) {
            const rg_expr *l = ta == RG_T_STRLIST ? e->a : e->b;
            cerr(c, l->pos, "'%.*s' holds several values: test it with any(%.*s in LIST)", SPAN(l), SPAN(l));
        } else {
            type_mismatch(c, blame->pos, "compare", e->a, e->b);
        }
        return;
    }
    if ((ta == RG_T_STRING || ta == RG_T_BOOL) && e->op != RG_OP_EQ && e->op != RG_OP_NE) {
        cerr(c, e->a->pos, "wrong type: %ss can only be compared with == or !=", rg_expr_type_word(ta));
        return;
    }
    check_enum_value(c, e->a, e->b);
    check_enum_value(c, e->b, e->a);
}

static rg_type arith_type(rg_expr_op op, rg_type a, rg_type b)
{
    if (!is_numeric(a) || !is_numeric(b))
        return RG_T_NONE;
    if (op == RG_OP_MUL)
        return b == RG_T_INT ? a : a == RG_T_INT ? b : RG_T_NONE;
    if (op == RG_OP_DIV)
        return b == RG_T_INT ? a : RG_T_NONE;
    if (a == b)
        return a;
    if (a == RG_T_DURATION || b == RG_T_DURATION)
        return RG_T_NONE;
    if (a == RG_T_INT && (b == RG_T_MONEY || b == RG_T_NUMBER))
        return b;
    if (b == RG_T_INT && (a == RG_T_MONEY || a == RG_T_NUMBER))
        return a;
    return RG_T_NONE;
}

static void check_arith(checker *c, rg_expr *e, unsigned flags)
{
    check(c, e->a, flags);
    check(c, e->b, flags);
    e->type = RG_T_NONE;
    if (e->a->type == RG_T_NONE || e->b->type == RG_T_NONE)
        return;
    e->type = arith_type(e->op, e->a->type, e->b->type);
    if (e->type != RG_T_NONE)
        return;
    char da[100], db[100];
    describe(e->a, da, sizeof da);
    describe(e->b, db, sizeof db);
    switch (e->op) {
    case RG_OP_ADD: cerr(c, e->a->pos, "wrong type: cannot add %s and %s", da, db); break;
    case RG_OP_SUB: cerr(c, e->a->pos, "wrong type: cannot subtract %s from %s", db, da); break;
    case RG_OP_MUL: cerr(c, e->a->pos, "wrong type: cannot multiply %s by %s (one side must be an integer)", da, db); break;
    default: cerr(c, e->a->pos, "wrong type: cannot divide %s by %s (only by an integer)", da, db); break;
    }
}

static void check_bool_operand(checker *c, const char *op, rg_expr *x, unsigned flags)
{
    check(c, x, flags);
    if (x->type != RG_T_NONE && x->type != RG_T_BOOL) {
        char d[100];
        describe(x, d, sizeof d);
        cerr(c, x->pos, "wrong type: '%s' needs a condition, got %s", op, d);
    }
}

/* Element type a membership test compares with; NONE after an error. */
static rg_type element_type(checker *c, rg_expr *e, unsigned flags)
{
    if (is_bare(c, e->a)) {
        unknown_bare(c, e->a);
        return RG_T_NONE;
    }
    check(c, e->a, flags & ~(unsigned)IN_ANY);
    rg_type t = e->a->type;
    if (t == RG_T_NONE)
        return t;
    if (t == RG_T_STRLIST) {
        if (!(flags & IN_ANY)) {
            cerr(c, e->a->pos, "'%.*s' holds several values: test it with any(%.*s in ...)", SPAN(e->a), SPAN(e->a));
            return RG_T_NONE;
        }
        return RG_T_STRING;
    }
    if (t == RG_T_BOOL) {
        cerr(c, e->a->pos, "wrong type: 'in' needs a string or a number, not a boolean");
        return RG_T_NONE;
    }
    return t;
}

static void check_in(checker *c, rg_expr *e, unsigned flags)
{
    e->type = RG_T_BOOL;
    rg_type elem = element_type(c, e, flags);
    for (size_t i = 0; i < e->n_items; i++) {
        rg_expr *it = e->items[i];
        if (is_bare(c, it)) {
            if (elem == RG_T_STRING) {
                bare_as_string(c, it, e->a);
                if (it->kind == RG_X_LIT)
                    check_enum_value(c, e->a, it);
            } else if (elem != RG_T_NONE) {
                unknown_bare(c, it);
            }
            continue;
        }
        check(c, it, flags & ~(unsigned)IN_ANY);
        fold_negative_literal(it);
        if (it->type == RG_T_NONE)
            continue;
        if (it->kind != RG_X_LIT) {
            cerr(c, it->pos, "list items must be literals (strings, integers or durations)");
            it->type = RG_T_NONE;
            continue;
        }
        if (elem == RG_T_NONE)
            continue;
        if (!comparable(elem, it->type) || it->type == RG_T_BOOL) {
            rg_expr elem_view = *e->a;
            elem_view.type = elem;
            type_mismatch(c, it->pos, "compare", &elem_view, it);
            continue;
        }
        check_enum_value(c, e->a, it);
    }
}

static void check_in_list(checker *c, rg_expr *e, unsigned flags)
{
    e->type = RG_T_BOOL;
    rg_type elem = element_type(c, e, flags);
    e->set = c->env->list ? c->env->list(c->env->opaque, e->name, e->name_len) : NULL;
    if (!e->set) {
        int n = (int)(e->name_len > SPAN_MAX ? SPAN_MAX : e->name_len);
        cerr(c, e->b->pos, "unknown list '%.*s'", n, e->name);
        return;
    }
    if (elem != RG_T_NONE && elem != RG_T_STRING) {
        char d[100];
        describe(e->a, d, sizeof d);
        cerr(c, e->a->pos, "wrong type: lists hold strings, cannot look up %s", d);
    }
}

/* count(24h, FILTER), counterparty_senders(24h): a built-in with arguments. */
static void check_builtin_call(checker *c, rg_expr *e, const rg_name_spec *spec, const rg_detector *det,
                               unsigned flags)
{
    e->type = RG_T_NONE;
    size_t want = 0;
    while (want < RG_NAME_MAX_ARGS && spec->args[want] != RG_ARG_NONE)
        want++;
    const char *usage = want == 2 ? "WINDOW, FILTER" : "WINDOW";
    if (want == 0) {
        cerr(c, e->pos, "'%s' takes no arguments: write %s", spec->name, spec->name);
        return;
    }
    if (e->n_items != want) {
        cerr(c, e->pos, "'%s' takes %zu argument%s: %s(%s)", spec->name, want, want == 1 ? "" : "s", spec->name, usage);
        return;
    }
    if (flags & IN_FILTER) {
        cerr(c, e->pos, "%s() cannot be used inside a count() filter", spec->name);
        return;
    }
    int64_t window_ms = 0;
    const char *window_text = NULL;
    const rg_expr *filter = NULL;
    bool ok = true;
    for (size_t i = 0; i < want; i++) {
        rg_expr *arg = e->items[i];
        if (spec->args[i] == RG_ARG_DURATION) {
            if (arg->kind != RG_X_LIT || arg->type != RG_T_DURATION || arg->lit.u.i <= 0) {
                cerr(c, arg->pos, "the window of %s() must be a positive duration such as 24h or 10m", spec->name);
                ok = false;
                continue;
            }
            window_ms = arg->lit.u.i;
            window_text = rg_arena_strndup(c->env->arena, arg->src + arg->pos, arg->end - arg->pos);
        } else {
            bool saved = c->filterable;
            check(c, arg, IN_FILTER);
            c->filterable = saved;
            if (arg->type == RG_T_NONE) {
                ok = false;
            } else if (arg->type != RG_T_BOOL) {
                char d[100];
                describe(arg, d, sizeof d);
                cerr(c, arg->pos, "wrong type: the filter of %s() must be a condition, got %s", spec->name, d);
                ok = false;
            } else {
                rg_expr_specialise(arg);   /* the use keeps it; the tree above ends at the use */
                if (!c->failed)   /* folding evaluates type tests: only a tree without errors */
                    rg_expr_fold_types(arg, c->env->arena);
            }
            filter = arg;
        }
    }
    if (!ok)
        return;
    const char *call_text = rg_arena_strndup(c->env->arena, e->src + e->pos, e->end - e->pos);
    const rg_name_use *use =
        c->env->builtin_use(c->env->opaque, spec, det, window_ms, window_text, filter, call_text);
    if (!use || !call_text || (window_ms && !window_text)) {
        c->failed = true;
        return;
    }
    make_use(c, e, use, flags);
}

/* A function whose arguments are numbers of one kind (abs, min, max):
 * the result has that kind (a plain integer beside money or a number
 * takes theirs). */
static void check_numbers(checker *c, rg_expr *e, unsigned flags)
{
    const rg_function *fn = e->fn;
    const rg_expr *first = NULL;
    rg_type t = RG_T_NONE;
    bool ok = true;
    for (size_t i = 0; i < e->n_items; i++) {
        rg_expr *arg = e->items[i];
        check(c, arg, flags);
        if (arg->type == RG_T_NONE) {
            ok = false;
            continue;
        }
        char d[100], d0[100];
        if (!is_numeric(arg->type)) {
            describe(arg, d, sizeof d);
            cerr(c, arg->pos, "wrong type: %s() needs a number, got %s", fn->name, d);
            ok = false;
        } else if (!first) {
            first = arg;
            t = arg->type;
        } else if (!comparable(t, arg->type)) {
            describe(first, d0, sizeof d0);
            describe(arg, d, sizeof d);
            cerr(c, arg->pos, "wrong type: %s() needs numbers of one kind, got %s and %s", fn->name, d0, d);
            ok = false;
        } else if (t == RG_T_INT) {
            t = arg->type;   /* a plain integer takes the kind of money or a number beside it */
        }
    }
    e->type = ok ? t : RG_T_NONE;
}

/* any(LIST_VALUE in LIST): one membership test over a string list. */
static void check_membership(checker *c, rg_expr *e, unsigned flags)
{
    const rg_function *fn = e->fn;
    rg_expr *in = e->items[0];
    if (in->kind != RG_X_IN && in->kind != RG_X_IN_LIST) {
        cerr(c, e->pos, "%s() takes one membership test: %s(client.packages in LIST)", fn->name, fn->name);
        return;
    }
    check(c, in, flags | IN_ANY);
    e->type = RG_T_BOOL;
    if (in->a->type != RG_T_NONE && in->a->type != RG_T_STRLIST)
        cerr(c, in->a->pos, "%s() tests a list of values such as client.packages; for one value write "
                            "'%.*s in ...' without %s()", fn->name, SPAN(in->a), fn->name);
}

/* A built-in function (functions.h): arity, then the row's argument rule. */
static void check_function(checker *c, rg_expr *e, const rg_function *fn, unsigned flags)
{
    e->type = RG_T_NONE;
    if (e->n_items != fn->n_args) {
        if (fn->args == RG_FN_MEMBERSHIP)
            cerr(c, e->pos, "%s() takes one membership test: %s(client.packages in LIST)", fn->name, fn->name);
        else
            cerr(c, e->pos, "%s() takes %u argument%s: %s", fn->name, fn->n_args, fn->n_args == 1 ? "" : "s",
                 fn->signature);
        return;
    }
    e->kind = RG_X_FUNC;
    e->fn = fn;
    switch (fn->args) {
    case RG_FN_NUMBERS:
        check_numbers(c, e, flags);
        return;
    case RG_FN_MEMBERSHIP:
        check_membership(c, e, flags);
        return;
    }
}

static void check_call(checker *c, rg_expr *e, unsigned flags)
{
    e->type = RG_T_NONE;
    int n = (int)(e->name_len > SPAN_MAX ? SPAN_MAX : e->name_len);
    const rg_function *fn = rg_function_find(e->name, e->name_len);
    if (fn) {
        check_function(c, e, fn, flags);
        return;
    }
    const rg_detector *det;
    const rg_name_spec *spec = rg_registry_find(e->name, e->name_len, &det);
    if (spec) {
        check_builtin_call(c, e, spec, det, flags);
        return;
    }
    if (c->env->signal && c->env->signal(c->env->opaque, e->name, e->name_len, e->pos)) {
        cerr(c, e->pos, "'%.*s' is a signal: it takes no arguments", n, e->name);
        return;
    }
    cerr(c, e->pos, "unknown function '%.*s'", n, e->name);
}

static void check(checker *c, rg_expr *e, unsigned flags)
{
    switch (e->kind) {
    case RG_X_LIT:
        e->type = e->lit.type;
        return;
    case RG_X_IDENT:
        resolve_ident(c, e, flags);
        return;
    case RG_X_CALL:
        check_call(c, e, flags);
        return;
    case RG_X_NOT:
        check_bool_operand(c, "not", e->a, flags);
        e->type = RG_T_BOOL;
        return;
    case RG_X_AND:
    case RG_X_OR:
        check_bool_operand(c, e->kind == RG_X_AND ? "and" : "or", e->a, flags);
        check_bool_operand(c, e->kind == RG_X_AND ? "and" : "or", e->b, flags);
        e->type = RG_T_BOOL;
        return;
    case RG_X_CMP:
        check_cmp(c, e, flags);
        return;
    case RG_X_ARITH:
        check_arith(c, e, flags);
        return;
    case RG_X_NEG:
        check(c, e->a, flags);
        e->type = RG_T_NONE;
        if (e->a->type == RG_T_NONE)
            return;
        if (!is_numeric(e->a->type)) {
            char d[100];
            describe(e->a, d, sizeof d);
            cerr(c, e->pos, "wrong type: cannot negate %s", d);
            return;
        }
        e->type = e->a->type;
        fold_negative_literal(e);
        return;
    case RG_X_IN:
        check_in(c, e, flags);
        return;
    case RG_X_IN_LIST:
        check_in_list(c, e, flags);
        return;
    default:
        /* Already checked (RG_X_USE, RG_X_FUNC): nothing to do. */
        return;
    }
}

rg_expr *rg_expr_compile(const char *text, size_t len, const rg_expr_env *env, rg_expr_want want,
                         bool *filterable)
{
    rg_expr *e = rg_expr_parse_raw(text, len, env);
    if (!e)
        return NULL;
    checker c = {.env = env, .filterable = true};
    check(&c, e, 0);
    if (want == RG_EXPR_CONDITION && e->type != RG_T_NONE && e->type != RG_T_BOOL) {
        char d[100];
        describe(e, d, sizeof d);
        cerr(&c, e->pos, "wrong type: a condition must be true or false, got %s", d);
    }
    if (c.failed || e->type == RG_T_NONE || env->arena->oom)
        return NULL;
    if (filterable)
        *filterable = c.filterable;
    rg_expr_specialise(e);
    rg_expr_fold_types(e, env->arena);
    return e;
}
