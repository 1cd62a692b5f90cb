/*
 * ruleset_internal — the layout of a loaded rule set, shared by the
 * loader (yaml_load.c, load_names.c), accessors (ruleset.c) and
 * evaluation (expr_eval.c, format.c). Owner: rules. Nothing outside
 * rules/ includes this: the engine and detectors see ruleset.h only.
 */
#ifndef RG_RULESET_INTERNAL_H
#define RG_RULESET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "expr.h"
#include "ruleset.h"

/* One piece of a message template: literal text, or a name's value. */
typedef struct rg_msg_part {
    const char *text;            /* literal bytes when use == NULL */
    size_t len;
    const rg_name_use *use;
} rg_msg_part;

/* A rule as loaded: the public part first, so rg_rule * converts back. */
typedef struct rg_rule_impl {
    rg_rule pub;
    const char *when_text;       /* as written */
    const rg_msg_part *parts;    /* the message, split at placeholders */
    size_t n_parts;
} rg_rule_impl;

/* A name use with what the loader and describe need besides the
 * public part (first member, so the pointers convert). */
typedef struct rg_use_impl {
    rg_name_use pub;
    const char *window_text;     /* "24h" as written, or NULL */
    const char *call_text;       /* "count(24h, type == login)" as written, or NULL */
    bool reachable;              /* used by some rule (unused signals' names are dropped) */
    struct rg_use_impl *next_same;   /* loading: next use under the same index key */
} rg_use_impl;

typedef enum rg_signal_state { RG_SIG_UNCHECKED = 0, RG_SIG_CHECKING, RG_SIG_DONE } rg_signal_state;

typedef struct rg_signal {
    const char *name;
    const char *text;            /* the expression as written */
    rg_expr *expr;               /* NULL when in error */
    rg_name_spec spec;           /* name and type, for its use */
    rg_use_impl *use;            /* created at first reference */
    rg_signal_state state;
    bool cycle_reported;
    const void *node;            /* yaml_node_t of the expression (loading only) */
    const void *key;             /* yaml_node_t of its name (loading only) */
    void *source;                /* the load_source it is in (loading only) */
} rg_signal;

struct rg_ruleset {
    rg_ruleset_head head;        /* first: rg_ruleset_rule reads it (ruleset.h) */
    rg_arena arena;
    char id[13];
    const char *path;            /* the files' names, joined with " + " */
    const char **files;          /* [n_files], in the order given */
    size_t n_files;
    int64_t dedupe_horizon_ms, history_horizon_ms, max_lateness_ms;
    rg_rule_impl *rules;
    size_t n_rules;
    const rg_name_use **uses;    /* reachable uses, slot order */
    size_t n_uses;
    size_t n_detectors;          /* entries of rg_detectors[] */
    const rg_name_use ***det_uses;   /* [n_detectors][det_n[d]] */
    size_t *det_n;
    const rg_name_use *subject_use[RG_SUBJ_COUNT];
    rg_strset *lists;
    size_t n_lists;
    rg_signal *signals;
    size_t n_signals;
};

static inline const rg_rule_impl *rg_rule_impl_of(const rg_rule *r) { return (const rg_rule_impl *)r; }
static inline const rg_use_impl *rg_use_impl_of(const rg_name_use *u) { return (const rg_use_impl *)u; }

/* How a use is written: the call as first written, or the name. */
static inline const char *rg_use_text(const rg_name_use *u)
{
    const rg_use_impl *ui = rg_use_impl_of(u);
    return ui->call_text ? ui->call_text : u->spec->name;
}

#endif
