/*
 * load_internal — the state of one rule-file load, shared by yaml_load.c
 * (YAML structure, positions, errors) and load_names.c (names, signals,
 * messages, name uses, evidence). Owner: rules; private to the loader.
 */
#ifndef RG_LOAD_INTERNAL_H
#define RG_LOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "expr.h"
#include "ruleset_internal.h"

typedef struct load_error {
    int line, col;          /* 1-based */
    size_t seq;             /* order found, for a stable sort */
    char *msg;              /* malloc'd */
} load_error;

#define LOAD_MAX_ERRORS 200
#define LOAD_MAX_SIGNAL_NESTING 32

typedef struct loader {
    rg_ruleset *rs;
    const char *file;
    const char *data;
    size_t len;
    yaml_document_t doc;
    size_t *line_starts;    /* byte offset of each line (malloc'd, lazily) */
    size_t n_lines;
    load_error *errors;     /* malloc'd */
    size_t n_errors, cap_errors;
    bool too_many_errors;
    bool oom;
    rg_use_impl **uses;     /* every use created, first-reference order (arena) */
    size_t n_uses, cap_uses;
    rg_signal *checking[LOAD_MAX_SIGNAL_NESTING];   /* signals being checked, outermost first */
    size_t n_checking;
} loader;

/* Where an expression or message being compiled sits in the file. */
typedef struct compile_site {
    loader *L;
    yaml_node_t *node;      /* its scalar */
} compile_site;

/* A mapping with a fixed set of keys, read by load_read_keys. */
typedef struct load_keys {
    const char *const *names;   /* NULL-terminated */
    yaml_node_t *value[16];
    yaml_node_t *key[16];
} load_keys;

/* load_errors.c */
void load_error_at(loader *L, int line, int col, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void load_error_node(loader *L, const yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* An error at byte `off` of scalar n's value (see scalar_position). */
void load_error_in_scalar(loader *L, const yaml_node_t *n, size_t off, const char *msg);
/* 1-based line and column of a byte offset of the file (bytes, not
 * characters: used where libyaml gives only an offset). */
void load_position_of_offset(loader *L, size_t off, int *line, int *col);

/* yaml_load.c */
yaml_node_t *load_node(loader *L, int id);
bool load_is_scalar(const yaml_node_t *n);
const char *load_sval(const yaml_node_t *n);
bool load_scalar_is(const yaml_node_t *n, const char *s);
/* Shortened printable copy of a scalar for messages. */
const char *load_shown(const yaml_node_t *n, char *buf, size_t size);
bool load_has_nul(const yaml_node_t *n);
/* A duration scalar into *out; false after reporting an error. */
bool load_duration(loader *L, const yaml_node_t *n, const char *what, int64_t *out);
/* Read a mapping whose keys must be among t->names (unknown and repeated
 * keys are errors); false when n is no mapping (error reported). */
bool load_read_keys(loader *L, yaml_node_t *n, load_keys *t, const char *what, const char *expected);

/* load_rules.c */
void load_rules(loader *L, yaml_node_t *n);

/* load_names.c */
void load_env(compile_site *site, rg_expr_env *env);
rg_expr *load_compile(loader *L, yaml_node_t *n, rg_expr_want want, bool *filterable);
const rg_name_use *load_builtin_use(loader *L, const char *name);
void load_message(loader *L, rg_rule_impl *r, yaml_node_t *n);
void load_check_unused_signals(loader *L);
int load_finish(loader *L);   /* slots, evidence keys, per-detector uses; -1 on OOM */
bool load_valid_name(const char *s, size_t len);   /* [a-z0-9_]{1,64} */
bool load_reserved_word(const char *s, size_t len);

#endif
