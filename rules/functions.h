/*
 * functions — the built-in functions of the condition language, one row
 * each (the jq `function_list[]` habit): `abs`, `min`, `max`, `any`.
 *
 * Owner: rules. The checker (expr_check.c) resolves a call NAME(args) here
 * and types it by the row's argument rule, the evaluator (expr_eval.c)
 * calls the row's `eval` with the argument values, the loader refuses the
 * names as signal and list names, canonical forms (expr_util.c) write the
 * row's `form_code`, and `riskgate names` lists the rows. Adding a
 * function whose arguments are numbers (`min`, `max`) is one row in
 * functions.c and its small eval function beside it; nothing else
 * changes. A new kind of argument rule is one case in expr_check.c.
 *
 * Detector names with arguments (`count(W, FILTER)`,
 * `counterparty_senders(W)`) are not here: they keep state and belong to a
 * detector family (detectors/registry.c).
 *
 * The table is constant: any thread may read it.
 */
#ifndef RG_FUNCTIONS_H
#define RG_FUNCTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/value.h"

/* How a function's arguments are typed (one case each in expr_check.c). */
typedef enum rg_fn_args {
    /* Every argument a number of one kind (integer, money, duration or
     * number; a plain integer fits money and numbers, a duration only
     * durations); the result has that kind. */
    RG_FN_NUMBERS = 0,
    /* One membership test over a string list, `X in LIST` or `X in [..]`
     * with X a string list (client.packages): true when any item is a
     * member, false when none is (an empty list too), unknown when X is. */
    RG_FN_MEMBERSHIP
} rg_fn_args;

#define RG_FN_MAX_ARGS 4

typedef struct rg_function {
    const char *name;        /* "min" */
    const char *signature;   /* "min(a, b)", as `names` and messages show it */
    unsigned n_args;         /* exactly this many (1..RG_FN_MAX_ARGS) */
    rg_fn_args args;
    const char *result;      /* the result type in words, for `names` */
    const char *doc;         /* one line: what it computes, unknowns included */
    /* The byte that stands for this function in canonical forms
     * (expr.h rg_expr_canonical), which checkpoints store to match a
     * count() filter across rule files: stable, never reused. */
    uint8_t form_code;
    /* The value from the argument values (each may be unknown), given
     * the call's checked result type. Never fails: what cannot be
     * computed (overflow) is unknown. */
    rg_value (*eval)(const rg_value *args, size_t n, rg_type result);
} rg_function;

/* The function called `name` (len bytes), or NULL. */
const rg_function *rg_function_find(const char *name, size_t len);

/* The table, in the order `names` lists it. */
size_t rg_function_count(void);
const rg_function *rg_function_at(size_t i);

#endif
