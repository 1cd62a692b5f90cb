/*
 * load_internal — the state of one rule-set load, shared by the loader's
 * files: load_files.c (the files, their order, the ruleset id, errors out),
 * yaml_load.c (YAML structure, settings, lists, signals), load_rules.c
 * (rules, ids and overrides), load_names.c (names, signals, messages,
 * name uses, evidence), load_horizon.c (rules only true past the history
 * horizon) and load_errors.c (positions). Owner: rules; private to the
 * loader.
 *
 * A load reads one or more files in order as one rule set (rules.md
 * "Several files"). Each file keeps its own YAML document and line table,
 * so every error is located in the file it is in: `L->src` is the file
 * whose nodes are being read, and whoever reads another file's nodes (a
 * signal checked on first use from a later file, a rule checked after all
 * files were read) switches it for the time.
 *
 * Every name table of a load (rule ids, lists, signals, name uses,
 * evidence keys) is a hash map, so loading n rules costs O(n) expected
 * map operations, not O(n^2) comparisons (issue 12.5).
 */
#ifndef RG_LOAD_INTERNAL_H
#define RG_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "../common/strmap.h"
#include "expr.h"
#include "ruleset_internal.h"

/* One rule file of the load. */
typedef struct load_source {
    unsigned index;             /* order given, 0-based */
    const char *file;           /* FILE part of messages (arena copy) */
    const char *data;           /* its bytes (borrowed) */
    size_t len;
    yaml_document_t doc;
    bool doc_loaded;
    /* Top-level values (NULL when absent): what each phase reads. */
    yaml_node_t *settings, *lists, *signals, *rules;
    size_t *line_starts;        /* byte offset of each line (malloc'd, lazily) */
    size_t n_lines;
} load_source;

typedef struct load_error {
    const load_source *src;
    int line, col;              /* 1-based */
    size_t seq;                 /* order found, for a stable sort */
    char *msg;                  /* malloc'd */
} load_error;

/* One `- id: ...` entry of some file, as read before any is compiled. */
typedef struct load_rule_entry {
    load_source *src;
    yaml_node_t *node;          /* the rule's mapping */
    yaml_node_t *id;            /* its id scalar, NULL when missing or bad */
    yaml_node_t *when;          /* its `when` scalar once compiled, else NULL */
    bool override;              /* override: true */
    bool in_set;                /* in the rule set: not replaced by a later override, no duplicate */
    size_t slot;                /* its place in the rule set when in_set */
    rg_rule_impl rule;          /* compiled (copied into the rule set when in_set) */
} load_rule_entry;

/* A list as the files build it (lists: and their appends). */
typedef struct load_list {
    const char *name;           /* arena */
    const load_source *src;     /* where it is first defined */
    int line, col;
    const char **items;         /* arena strings; array malloc'd */
    size_t *lens;
    size_t n, cap;
} load_list;

#define LOAD_MAX_ERRORS 200
#define LOAD_MAX_SIGNAL_NESTING 32

typedef struct loader {
    rg_ruleset *rs;
    load_source *sources;       /* [n_sources] */
    size_t n_sources;
    load_source *src;           /* the file whose nodes are being read */
    load_error *errors;         /* malloc'd */
    size_t n_errors, cap_errors;
    bool too_many_errors;
    bool oom;
    rg_use_impl **uses;         /* every use created, first-reference order (arena) */
    size_t n_uses, cap_uses;
    rg_strmap *use_index;       /* (spec, window, filter hash) -> chain head (rg_use_impl *) */
    rg_signal *checking[LOAD_MAX_SIGNAL_NESTING];   /* signals being checked, outermost first */
    size_t n_checking;
    rg_strmap *signal_index;    /* name -> rg_signal * */
    load_list *lists;           /* malloc'd, [n_lists] */
    size_t n_lists, cap_lists;
    rg_strmap *list_index;      /* name -> size_t index into lists (then rs->lists) */
    load_rule_entry *entries;   /* every rule of every file, file order (malloc'd) */
    size_t n_entries;
    rg_strmap *rule_index;      /* id -> size_t index into entries of its current definition */
    size_t *order;              /* rule set place -> index into entries (malloc'd, [rs->n_rules]) */
    /* Where the setting history_horizon that is in force was written
     * (NULL: the default), for the horizon check's message. */
    const load_source *horizon_src;
    int horizon_line, horizon_col;
} loader;

/* Where an expression or message being compiled sits in the file. */
typedef struct compile_site {
    loader *L;
    load_source *src;
    yaml_node_t *node;          /* its scalar */
} compile_site;

/* A mapping with a fixed set of keys, read by load_read_keys. */
typedef struct load_keys {
    const char *const *names;   /* NULL-terminated */
    yaml_node_t *value[16];
    yaml_node_t *key[16];
} load_keys;

/* load_errors.c — positions are in L->src. */
void load_error_at(loader *L, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void load_error_node(loader *L, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error at byte `off` of scalar n's value (see scalar_position). */
void load_error_in_scalar(loader *L, const yaml_node_t *n, size_t off, const char *msg);
/* 1-based line and column of a byte offset of the file (bytes, not
 * characters: used where libyaml gives only an offset). */
void load_position_of_offset(loader *L, size_t off, int *line, int *col);
/* The file's name and the 1-based position of byte `off` of scalar n. */
void load_scalar_position(loader *L, const yaml_node_t *n, size_t off, int *line, int *col);

/* yaml_load.c */
yaml_node_t *load_node(loader *L, int id);
bool load_is_scalar(const yaml_node_t *n);
const char *load_sval(const yaml_node_t *n);
bool load_scalar_is(const yaml_node_t *n, const char *s);
/* Shortened printable copy of a scalar for messages. */
const char *load_shown(const yaml_node_t *n, char *buf, size_t size);
bool load_has_nul(const yaml_node_t *n);
/* A duration scalar into *out (at most RG_DURATION_MAX_MS); false after
 * reporting an error. */
bool load_duration(loader *L, const yaml_node_t *n, const char *what, int64_t *out);
/* Read a mapping whose keys must be among t->names (unknown and repeated
 * keys are errors); false when n is no mapping (error reported). */
bool load_read_keys(loader *L, yaml_node_t *n, load_keys *t, const char *what, const char *expected);
/* The top level of L->src: version, and where settings, lists, signals
 * and rules are. */
void load_root(loader *L, yaml_node_t *root);
void load_settings(loader *L, yaml_node_t *n);
void load_lists(loader *L, yaml_node_t *n);
int load_finish_lists(loader *L);   /* -1 on OOM */
void load_signals(loader *L, yaml_node_t *n);
/* "a.yaml:3:5" or "line 3" when in L->src: where an earlier definition is. */
const char *load_place(loader *L, const load_source *src, int line, int col, char *buf, size_t size);

/* load_rules.c */
void load_read_rules(loader *L, yaml_node_t *n);   /* ids and overrides of L->src's rules */
void load_compile_rules(loader *L);                /* every entry, then the set in order */

/* load_names.c */
void load_env(compile_site *site, rg_expr_env *env);
rg_expr *load_compile(loader *L, yaml_node_t *n, rg_expr_want want, bool *filterable);
const rg_name_use *load_builtin_use(loader *L, const char *name);
void load_message(loader *L, rg_rule_impl *r, yaml_node_t *n);
void load_check_unused_signals(loader *L);
int load_finish(loader *L);   /* slots, evidence keys, per-detector uses; -1 on OOM */
bool load_valid_name(const char *s, size_t len);   /* [a-z0-9_]{1,64} */
bool load_reserved_word(const char *s, size_t len);
rg_signal *load_find_signal(loader *L, const char *name, size_t len);
const rg_strset *load_find_list(loader *L, const char *name, size_t len);

/* load_horizon.c: refuse rules that can only be true past
 * settings.history_horizon (rules.md "State is bounded"). */
void load_check_horizon(loader *L);

#endif
