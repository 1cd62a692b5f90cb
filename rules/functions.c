/*
 * functions — the table of built-in functions (functions.h) and their
 * evaluation. Owner: rules.
 *
 * Every function is strict in unknowns: an unknown argument gives an
 * unknown result (rules.md: a rule never fires on what it does not know),
 * except `any`, whose one argument is the membership test itself.
 */
#include "functions.h"

#include <math.h>
#include <string.h>

static bool any_unknown(const rg_value *args, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!args[i].known)
            return true;
    return false;
}

static double as_double(rg_value v) { return v.type == RG_T_NUMBER ? v.u.d : (double)v.u.i; }

static rg_value fn_abs(const rg_value *args, size_t n, rg_type result)
{
    if (any_unknown(args, n))
        return rg_unknown(result);
    if (args[0].type == RG_T_NUMBER)
        return rg_number(fabs(args[0].u.d));
    if (args[0].u.i == INT64_MIN)
        return rg_unknown(result);   /* |INT64_MIN| does not fit */
    return rg_int_typed(result, args[0].u.i < 0 ? -args[0].u.i : args[0].u.i);
}

/* min and max: the checker gave every argument one kind, so integral
 * arguments compare as integers and a NUMBER result compares as doubles
 * (a plain integer beside a number is converted). */
static rg_value pick(const rg_value *args, size_t n, rg_type result, int sign)
{
    if (any_unknown(args, n))
        return rg_unknown(result);
    if (result == RG_T_NUMBER) {
        double best = as_double(args[0]);
        for (size_t i = 1; i < n; i++) {
            double d = as_double(args[i]);
            if (isnan(d) || isnan(best))
                return rg_unknown(result);
            if ((d - best) * sign > 0)
                best = d;
        }
        return rg_number(best);
    }
    int64_t best = args[0].u.i;
    for (size_t i = 1; i < n; i++)
        if ((args[i].u.i > best && sign > 0) || (args[i].u.i < best && sign < 0))
            best = args[i].u.i;
    return rg_int_typed(result, best);
}

static rg_value fn_min(const rg_value *args, size_t n, rg_type result) { return pick(args, n, result, -1); }
static rg_value fn_max(const rg_value *args, size_t n, rg_type result) { return pick(args, n, result, 1); }

/* The membership test over the list is the argument (expr_eval.c answers
 * `LIST_VALUE in L` for "some item is in L"): any() passes it on. */
static rg_value fn_any(const rg_value *args, size_t n, rg_type result)
{
    (void)n;
    (void)result;
    return args[0];
}

/* form_code 9 and 12 are what abs and any wrote in canonical forms before
 * this table existed (their node kinds + 1): checkpoints hold them. New
 * rows take a fresh byte from 0x40 up. */
static const rg_function functions[] = {
    {"abs", "abs(x)", 1, RG_FN_NUMBERS, "the type of x",
     "absolute value of a number, money amount or duration; unknown when x is", 9, fn_abs},
    {"min", "min(a, b)", 2, RG_FN_NUMBERS, "the arguments' type",
     "the smaller of two numbers, money amounts or durations; unknown when either is", 0x40, fn_min},
    {"max", "max(a, b)", 2, RG_FN_NUMBERS, "the arguments' type",
     "the larger of two numbers, money amounts or durations; unknown when either is", 0x41, fn_max},
    {"any", "any(LIST_VALUE in LIST)", 1, RG_FN_MEMBERSHIP, "boolean",
     "true when some item of a string list (client.packages) is in LIST or [..], false when none is "
     "(an empty list too), unknown when the list value is",
     12, fn_any},
};

const rg_function *rg_function_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof functions / sizeof *functions; i++)
        if (strlen(functions[i].name) == len && memcmp(functions[i].name, name, len) == 0)
            return &functions[i];
    return NULL;
}

size_t rg_function_count(void) { return sizeof functions / sizeof *functions; }

const rg_function *rg_function_at(size_t i) { return i < rg_function_count() ? &functions[i] : NULL; }
