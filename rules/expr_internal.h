/*
 * expr_internal — what the rules/ files share and nobody else needs.
 * Owner: rules.
 */
#ifndef RG_EXPR_INTERNAL_H
#define RG_EXPR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "eval.h"
#include "expr.h"
#include "ruleset.h"

/* Longest expression text accepted (a `when`, a signal, a filter). */
#define RG_EXPR_MAX_LEN 16384

/* expr_parse.c: the raw tree (names unresolved), or NULL after reporting
 * a syntax error through env->error. */
rg_expr *rg_expr_parse_raw(const char *text, size_t len, const rg_expr_env *env);

/* format.c: a duration as a message shows it ("46h", "1h30m", "1.5s",
 * "300ms"); NUL-terminated into buf (>= 32 bytes). */
void rg_duration_text(int64_t ms, char *buf, size_t size);
/* A setting as check-rules shows it: whole days as "7d", else as above. */
void rg_setting_text(int64_t ms, char *buf, size_t size);

/* A duration as the rule language writes it (an integer and one of the
 * units ms s m h d): RG_DUR_OK with *ms set, RG_DUR_BAD when it is no
 * duration, RG_DUR_TOO_LONG when it is one but longer than
 * RG_DURATION_MAX_MS (ruleset.h), however many digits it has. */
typedef enum rg_dur_check { RG_DUR_OK = 0, RG_DUR_BAD, RG_DUR_TOO_LONG } rg_dur_check;
rg_dur_check rg_duration_parse_bounded(const char *s, size_t len, int64_t *ms);
/* The maximum as messages write it: "36500d (100 years)". */
#define RG_DURATION_MAX_TEXT "36500d (100 years)"

/* A field whose string values are a closed set (events.md): `type`,
 * `kind`, `mode`, `reason`. Returns the allowed values (NULL-terminated)
 * or NULL when the name is not such a field. */
const char *const *rg_field_enum_values(const char *name);

/* Event type names in rg_event_type order (events.md), NULL-terminated;
 * the rule language keeps its own copy so that loading a rule file needs
 * nothing from the ingest layer. */
extern const char *const rg_rules_event_types[];
/* Index of an event type name of len bytes, or -1. */
int rg_rules_event_type(const char *name, size_t len);

/* Small shapes and Kleene's `not`, shared by the walk (expr_eval.c) and
 * the fold on the event type (expr_fold.c). */
static inline rg_tri rg_tri_not(rg_tri a) { return a == RG_UNKNOWN ? RG_UNKNOWN : a == RG_TRUE ? RG_FALSE : RG_TRUE; }
static inline bool rg_expr_is_use(const rg_expr *e) { return e && e->kind == RG_X_USE && e->use; }
static inline bool rg_expr_is_known_lit(const rg_expr *e) { return e && e->kind == RG_X_LIT && e->lit.known; }

/* The walk's compare and membership (expr_eval.c), for the fold and the
 * firing evaluators (expr_fires.c). */
rg_tri rg_expr_compare(rg_expr_op op, rg_value a, rg_value b);
rg_tri rg_expr_membership(const rg_expr *in, rg_value x);

/* What the walk (expr_eval.c) and the firing evaluators (expr_fires.c)
 * share: the generic walk, to a truth and to a value; the evaluator of a
 * boolean node of its shape (rg_expr.tri), chosen by the walk and set by
 * rg_expr_specialise (expr_fires.c); the one for a boolean name, which
 * the firing evaluators read in place; and the small per-event helpers,
 * inline in both. */
rg_tri rg_expr_tri_generic(rg_eval_ctx *ctx, const rg_expr *e);
rg_value rg_expr_value_of(rg_eval_ctx *ctx, const rg_expr *e);
int (*rg_expr_specialised(const rg_expr *e))(rg_eval_ctx *, const rg_expr *);
int rg_expr_node_use_bool(rg_eval_ctx *ctx, const rg_expr *e);

static inline bool rg_expr_is_integral(rg_type t) { return t == RG_T_INT || t == RG_T_MONEY || t == RG_T_DURATION; }

static inline double rg_expr_as_double(rg_value v) { return v.type == RG_T_NUMBER ? v.u.d : (double)v.u.i; }

/* Every boolean node of a compiled tree has its evaluator; a tree built
 * some other way is walked generically. */
static inline rg_tri rg_expr_tri_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    return e->tri ? (rg_tri)e->tri(ctx, e) : rg_expr_tri_generic(ctx, e);
}

/* The use a specialised node reads a name node's value from (rg_expr.value_use). */
static inline const rg_name_use *rg_expr_use_read(const rg_expr *e) { return e->value_use ? e->value_use : e->use; }

/* rg_expr_value_of for an operand, a literal or a name read in place
 * without the walk's recursion (`500 + geo_accuracy_km`: both). The name
 * through its value_use (rg_expr.value_use), the same value. */
static inline rg_value rg_expr_operand_of(rg_eval_ctx *ctx, const rg_expr *e)
{
    if (e->kind == RG_X_LIT)
        return e->lit;
    if (e->kind == RG_X_USE)
        return *rg_eval_use_ref(ctx, rg_expr_use_read(e));
    return rg_expr_value_of(ctx, e);
}

#endif
