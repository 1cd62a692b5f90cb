/*
 * expr — the condition language of rules.md: parse, type-check, compare.
 *
 * Owner: rules. The loader compiles each `when`, `signals:` entry and
 * count() filter once into a tree; evaluation (eval.h) walks it per event.
 * Trees live in the rule set's arena and are read-only after loading;
 * detectors receive them only as opaque `const struct rg_expr *` (a
 * count() filter) and hand them back to rg_eval_condition.
 *
 * Grammar, loosest binding first:
 *   or  <  and  <  not  <  comparison (== != < <= > >=, in [..], in LIST)
 *       <  + -  <  * /  <  unary -  <  primary
 *   primary: integer, duration (500ms 10m 24h 7d), 'string', "string",
 *            true, false, NAME, NAME(args) (count, counterparty_senders,
 *            and the functions of functions.h: abs, min, max, any), ( expr )
 * A bare identifier that is no name, signal or list is a string literal
 * only where the other operand of its comparison (or of `in [..]`) is a
 * string-typed name: `type == login`. Anywhere else it is an error.
 *
 * Errors go to env->error with a byte offset into the text; the loader
 * turns that into FILE:LINE:COLUMN. Every error found is reported (after a
 * syntax error, the rest of that expression is skipped).
 */
#ifndef RG_EXPR_H
#define RG_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/value.h"
#include "../detectors/detector.h"
#include "arena.h"

struct rg_eval_ctx;

typedef enum rg_expr_kind {
    /* What evaluation sees after loading: */
    RG_X_LIT = 0,   /* lit */
    RG_X_USE,       /* use: a built-in name or call, or a signal */
    RG_X_NOT,       /* not a */
    RG_X_AND,       /* a and b */
    RG_X_OR,        /* a or b */
    RG_X_CMP,       /* a op b, op in EQ..GE */
    RG_X_ARITH,     /* a op b, op in ADD..DIV */
    RG_X_NEG,       /* -a */
    RG_X_FUNC,      /* fn(items...): a built-in function (functions.h) */
    RG_X_IN,        /* a in [items...]: items are RG_X_LIT nodes; with a
                     * string list `a` (only inside any()): some item is in */
    RG_X_IN_LIST,   /* a in LISTNAME: set; a string list `a` as for RG_X_IN */
    RG_X_UNUSED_11, /* was any(): kind numbers appear in canonical forms */
    /* Only while loading, never in a loaded tree: */
    RG_X_IDENT,     /* a bare identifier, not yet resolved */
    RG_X_CALL       /* name(items...), not yet resolved */
} rg_expr_kind;

typedef enum rg_expr_op {
    RG_OP_NONE = 0,
    RG_OP_EQ, RG_OP_NE, RG_OP_LT, RG_OP_LE, RG_OP_GT, RG_OP_GE,
    RG_OP_ADD, RG_OP_SUB, RG_OP_MUL, RG_OP_DIV
} rg_expr_op;

/* A `lists:` entry prepared for membership tests: items sorted by
 * (bytes, length) for binary search; `names` keeps the file's order. */
typedef struct rg_strset {
    const char *name;
    const char *const *names;     /* file order, NUL-terminated */
    const char *const *sorted;    /* sorted */
    const size_t *sorted_lens;
    size_t n;
} rg_strset;

typedef struct rg_expr {
    rg_expr_kind kind;
    rg_expr_op op;
    rg_type type;                 /* static type; RG_T_NONE only in a refused file */
    const char *src;              /* the whole expression text this node came from */
    unsigned pos, end;            /* this node's span in src (bytes) */
    unsigned depth;               /* nesting depth below this node */
    struct rg_expr *a, *b;
    rg_value lit;                 /* RG_X_LIT */
    const rg_name_use *use;       /* RG_X_USE */
    struct rg_expr **items;       /* RG_X_IN literals; RG_X_CALL, RG_X_FUNC arguments */
    size_t n_items;
    const char *name;             /* RG_X_IDENT, RG_X_CALL, RG_X_IN_LIST (list name) */
    size_t name_len;
    const rg_strset *set;         /* RG_X_IN_LIST */
    const struct rg_function *fn; /* RG_X_FUNC */
    /* A boolean node's evaluator (an rg_tri of eval.h), picked by
     * rg_expr_compile for the node's shape and static types (expr_eval.c,
     * "Specialised nodes"); NULL: the generic walk. Same answer either
     * way: only the work differs. */
    int (*tri)(struct rg_eval_ctx *ctx, const struct rg_expr *e);
    /* A root whose answer the event's type alone settles for some types
     * (`type == red_packet_claim and ...`): what is left of it for each
     * type (expr_fold.c, "Folding on the event type"); NULL otherwise. */
    const struct rg_expr_by_type *by_type;
    /* RG_X_USE, specialised: the use whose memo entry the value is read
     * from: `use`, or for a signal that names one use (`payments_24h:
     * count(24h, ...)`) that use, which has the same value (eval_ctx.c)
     * without a second memo step. Evidence still asks `use`. */
    const rg_name_use *value_use;
    /* A boolean node's "is it TRUE?" evaluator (rg_eval_fires, what the
     * engine asks of a rule's `when`): the same answer as tri == TRUE,
     * but a conjunct is not asked once the rule cannot fire, and the
     * cheaper conjunct is asked first (expr_fires.c, "Firing"). NULL:
     * tri == TRUE. */
    int (*fires)(struct rg_eval_ctx *ctx, const struct rg_expr *e);
    /* Some name below may look the event's IP up in GeoIP (and so count a
     * failed lookup): such a subtree is asked exactly when the walk asks it. */
    bool looks_up_ip;
    unsigned cost;                /* names below that come from state (not the event's own fields) */
    /* The event parts (detector.h RG_PART_*) without which this node is
     * UNKNOWN before anything is computed: a name, or a comparison or
     * membership test of one, whose family promises it unknown then. */
    uint32_t needs;
    /* The event parts without which this boolean node cannot be TRUE:
     * all of fire_all, and one of fire_any when that is not 0. A node
     * UNKNOWN without its `needs` is not TRUE then; `a and b` is TRUE only
     * when both are, `a or b` only when one is. rg_eval_fires answers "no"
     * on an event without them before any evaluator is called
     * (`client.automation or client.hooked or any(client.packages in ..)`
     * on the 93% of events that report no client). */
    uint32_t fire_all, fire_any;
    /* The same as a table: bit p set when an event whose parts are p
     * (rg_event_parts, six bits) cannot make it TRUE by fire_all and
     * fire_any, so rg_eval_fires's gate is one shift and test. 0 (no
     * gate) when a part above those six is named. */
    uint64_t fire_never;
    /* `geo_distance_km > X` (or >=) with fires_distance_over: a value X
     * is never below when known (its literals, geo_accuracy_km's 0, their
     * sums), so a distance the positions show below it is below X
     * without X asked (expr_fires.c); has_x_floor false: none known. */
    bool has_x_floor;
    double x_floor;
} rg_expr;

/* What the compiler needs from the loader: name resolution, name uses
 * (merged per distinct name and arguments), and where errors go. */
typedef struct rg_expr_env {
    rg_arena *arena;
    void *opaque;
    /* An error at byte offset `pos` of the text being compiled. */
    void (*error)(void *opaque, unsigned pos, const char *msg);
    /* The use of the `signals:` name `name`, checking it first if needed;
     * NULL when it is no signal. Its spec->type is RG_T_NONE when the
     * signal itself is in error (no further error is reported). May be
     * NULL (no signals). */
    const rg_name_use *(*signal)(void *opaque, const char *name, size_t len, unsigned pos);
    /* The list `name`, or NULL. May be NULL (no lists). */
    const rg_strset *(*list)(void *opaque, const char *name, size_t len);
    /* The one use of built-in `spec` (offered by detector d) with these
     * arguments: window_ms (0 when none), window_text (as written, or
     * NULL), filter (checked condition, or NULL), call (the call's text,
     * for describe; or NULL). NULL only when out of memory. */
    const rg_name_use *(*builtin_use)(void *opaque, const rg_name_spec *spec, const rg_detector *d,
                                      int64_t window_ms, const char *window_text,
                                      const rg_expr *filter, const char *call_text);
} rg_expr_env;

typedef enum rg_expr_want {
    RG_EXPR_CONDITION = 0,   /* must be boolean (a rule's `when`) */
    RG_EXPR_ANY              /* any type (a signal) */
} rg_expr_want;

/*
 * Parse and type-check text[0..len). Returns the tree (in env->arena), or
 * NULL when an error was reported (or memory ran out: env->arena->oom).
 * *filterable (may be NULL) says whether every name inside can be
 * evaluated inside a count() filter.
 */
rg_expr *rg_expr_compile(const char *text, size_t len, const rg_expr_env *env, rg_expr_want want,
                         bool *filterable);

/* Give every boolean node of a checked tree its specialised evaluator
 * (rg_expr.tri). rg_expr_compile does it; expr_eval.c owns the choice,
 * expr_fires.c the pass (and the "fires" evaluators it sets too). */
void rg_expr_specialise(rg_expr *e);
/* Then, for a root (a `when`, a signal, a count() filter), what the event
 * type settles of it, per type (rg_expr.by_type, allocated in arena);
 * nothing when the type settles nothing. The answer stays the generic
 * walk's, and no name the walk would have computed is left out. */
void rg_expr_fold_types(rg_expr *e, rg_arena *arena);
/* What that fold settles of root e on an event of rg_eval_ctx.type_slot
 * type_slot: the rg_tri rg_eval_condition answers there without asking
 * anything but `type`, or -1 when something is left to evaluate (or e is
 * not folded). For count(), which decides its filters per event. */
int rg_expr_type_settles(const rg_expr *e, unsigned type_slot);
/* Clear every evaluator of a tree, its signals' and its filters', so that
 * rg_eval_condition walks it generically: for tests and fuzzing, which
 * compare the two on a tree (and rule set) of their own. Not thread-safe
 * against evaluation of the same tree. */
void rg_expr_despecialise(const rg_expr *e);

/* Structural equality of two checked trees (uses by identity). */
bool rg_expr_equal(const rg_expr *a, const rg_expr *b);
/* A hash of a checked tree: equal trees (rg_expr_equal) hash equal. For
 * finding equal count() filters in a hash map instead of comparing every
 * pair. NULL hashes as "no expression". */
uint64_t rg_expr_hash(const rg_expr *e);

/*
 * Append a canonical byte string of a checked tree that does not depend on
 * the rule set it came from: trees from two files have equal canonical
 * forms exactly when they compute the same thing (built-in uses compared
 * by name, window and filter; signals by their expression, not their
 * name; lists by their items). rg_expr_equal compares within one file (uses
 * by identity); this matches state across files: a reload (velocity's
 * rebind) and a checkpoint saved under another file. NULL appends the
 * form of "no expression". Allocation failure sets out->oom.
 */
struct rg_strbuf;
void rg_expr_canonical(const rg_expr *e, struct rg_strbuf *out);
/* The same for a name use (a count() use: "count", W, its filter). */
void rg_use_canonical(const rg_name_use *use, struct rg_strbuf *out);

/* Call fn on every RG_X_USE node of e, in written order (not descending
 * into a signal's expression or a call's filter). */
void rg_expr_visit_uses(const rg_expr *e, void (*fn)(void *arg, const rg_name_use *use), void *arg);

/* "integer", "money", "duration", "number", "string", "string list", "boolean". */
const char *rg_expr_type_word(rg_type t);

/* Membership in a list (binary search). */
bool rg_strset_contains(const rg_strset *set, const char *s, size_t len);

/* Maximum nesting of an expression tree; deeper input is refused so that
 * checking and evaluation (recursive) stay within a small stack. */
#define RG_EXPR_MAX_DEPTH 100

#endif
