/*
 * yaml_load — a rule file (rules.md) from YAML into an rg_ruleset.
 *
 * Owner: rules. libyaml's document API gives every node its position, so
 * each error is reported as FILE:LINE:COLUMN, and inside an expression
 * the column is that of the offending token (scalar position plus the
 * token's offset, quotes and '' escapes accounted for). Every error in
 * the file is collected (up to LOAD_MAX_ERRORS) and the file is refused as
 * a whole: a rule pack either loads completely or not at all.
 *
 * Nothing of the YAML document survives loading: all text a rule set
 * keeps is copied into its arena.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../common/timeutil.h"
#include "expr_internal.h"
#include "load_internal.h"
#include "sha256.h"

/* ---- small YAML helpers --------------------------------------------- */

yaml_node_t *load_node(loader *L, int id) { return yaml_document_get_node(&L->doc, id); }

bool load_is_scalar(const yaml_node_t *n) { return n && n->type == YAML_SCALAR_NODE; }

const char *load_sval(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

bool load_scalar_is(const yaml_node_t *n, const char *s)
{
    return load_is_scalar(n) && n->data.scalar.length == strlen(s) && memcmp(n->data.scalar.value, s, n->data.scalar.length) == 0;
}

/* Shortened, printable copy of a scalar for messages. */
const char *load_shown(const yaml_node_t *n, char *buf, size_t size)
{
    if (!load_is_scalar(n))
        return n && n->type == YAML_MAPPING_NODE ? "(a mapping)" : "(a list)";
    size_t len = n->data.scalar.length, k = 0;
    for (size_t i = 0; i < len && k + 4 < size && i < 60; i++) {
        unsigned char c = n->data.scalar.value[i];
        buf[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (len > 60 && k + 4 < size)
        buf[k++] = '.', buf[k++] = '.', buf[k++] = '.';
    buf[k] = '\0';
    return buf;
}

bool load_has_nul(const yaml_node_t *n) { return memchr(n->data.scalar.value, '\0', n->data.scalar.length) != NULL; }

/* A duration scalar into *out; false (error reported) otherwise. */
bool load_duration(loader *L, const yaml_node_t *n, const char *what, int64_t *out)
{
    char b[80];
    if (load_is_scalar(n) && rg_parse_duration(load_sval(n), n->data.scalar.length, out))
        return true;
    load_error_node(L, n, "bad duration '%s' for %s (an integer and a unit: ms, s, m, h or d, e.g. 1h)",
                    load_shown(n, b, sizeof b), what);
    return false;
}


/* Read a mapping whose keys must come from t->names: unknown and repeated
 * keys are errors. False when n is not a mapping (error reported). */
bool load_read_keys(loader *L, yaml_node_t *n, load_keys *t, const char *what, const char *expected)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        load_error_node(L, n, "%s must be a mapping of %s", what, expected);
        return false;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = load_node(L, p->key), *v = load_node(L, p->value);
        char b[80];
        size_t i = 0;
        while (t->names[i] && !load_scalar_is(k, t->names[i]))
            i++;
        if (!t->names[i]) {
            load_error_node(L, k, "unknown key '%s' in %s (expected %s)", load_shown(k, b, sizeof b), what, expected);
        } else if (t->value[i]) {
            load_error_node(L, k, "duplicate key '%s' in %s (first at line %d)", t->names[i], what,
                            (int)t->key[i]->start_mark.line + 1);
        } else {
            t->key[i] = k;
            t->value[i] = v;
        }
    }
    return true;
}

/* ---- settings, lists, signals ---------------------------------------- */

static void load_settings(loader *L, yaml_node_t *n)
{
    static const char *const names[] = {"dedupe_horizon", "history_horizon", "max_lateness", NULL};
    load_keys t = {.names = names};
    if (!load_read_keys(L, n, &t, "settings", "dedupe_horizon, history_horizon, max_lateness"))
        return;
    int64_t *dst[] = {&L->rs->dedupe_horizon_ms, &L->rs->history_horizon_ms, &L->rs->max_lateness_ms};
    for (int i = 0; names[i]; i++) {
        int64_t ms;
        if (!t.value[i] || !load_duration(L, t.value[i], names[i], &ms))
            continue;
        if (ms == 0 && i < 2)
            load_error_node(L, t.value[i], "%s must be longer than 0", names[i]);
        else
            *dst[i] = ms;
    }
}

/* Is `name` (of len bytes) usable as a list or signal name? */
static bool check_user_name(loader *L, const yaml_node_t *k, const char *what)
{
    char b[80];
    if (!load_is_scalar(k) || !load_valid_name(load_sval(k), k->data.scalar.length)) {
        load_error_node(L, k, "bad %s name '%s': use lower-case letters, digits and _, at most 64", what,
                        load_shown(k, b, sizeof b));
        return false;
    }
    if (load_reserved_word(load_sval(k), k->data.scalar.length)) {
        load_error_node(L, k, "'%s' is a reserved word and cannot name a %s", load_sval(k), what);
        return false;
    }
    if (rg_registry_find(load_sval(k), k->data.scalar.length, NULL)) {
        load_error_node(L, k, "'%s' is a built-in name and cannot name a %s", load_sval(k), what);
        return false;
    }
    return true;
}

typedef struct sized_str {
    const char *s;
    size_t len;
} sized_str;

static int cmp_sized(const void *pa, const void *pb)
{
    const sized_str *a = pa, *b = pb;
    int r = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

static void load_one_list(loader *L, rg_strset *set, yaml_node_t *v)
{
    rg_arena *a = &L->rs->arena;
    if (!v || v->type != YAML_SEQUENCE_NODE) {
        load_error_node(L, v, "list '%s' must be a sequence of strings", set->name);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    const char **names = rg_arena_calloc(a, n + 1, sizeof *names);
    const char **sorted = rg_arena_calloc(a, n + 1, sizeof *sorted);
    size_t *lens = rg_arena_calloc(a, n + 1, sizeof *lens);
    sized_str *tmp = malloc((n + 1) * sizeof *tmp);
    if (!names || !sorted || !lens || !tmp) {
        free(tmp);
        L->oom = true;
        return;
    }
    size_t k = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *item = load_node(L, *it);
        if (!load_is_scalar(item) || item->data.scalar.length == 0 || load_has_nul(item)) {
            load_error_node(L, item, "items of list '%s' must be non-empty strings", set->name);
            continue;
        }
        names[k] = rg_arena_strndup(a, load_sval(item), item->data.scalar.length);
        tmp[k] = (sized_str){names[k], item->data.scalar.length};
        if (!names[k++])
            break;
    }
    qsort(tmp, k, sizeof *tmp, cmp_sized);
    for (size_t i = 0; i < k; i++) {
        sorted[i] = tmp[i].s;
        lens[i] = tmp[i].len;
    }
    free(tmp);
    set->names = names;
    set->sorted = sorted;
    set->sorted_lens = lens;
    set->n = k;
}

static void load_lists(loader *L, yaml_node_t *n)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        load_error_node(L, n, "lists must be a mapping of list names to sequences of strings");
        return;
    }
    rg_ruleset *rs = L->rs;
    size_t max = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    rs->lists = rg_arena_calloc(&rs->arena, max + 1, sizeof *rs->lists);
    if (!rs->lists)
        return;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = load_node(L, p->key), *v = load_node(L, p->value);
        if (!check_user_name(L, k, "list"))
            continue;
        bool dup = false;
        for (size_t i = 0; i < rs->n_lists && !dup; i++)
            dup = strcmp(rs->lists[i].name, load_sval(k)) == 0;
        if (dup) {
            load_error_node(L, k, "duplicate list '%s'", load_sval(k));
            continue;
        }
        rg_strset *set = &rs->lists[rs->n_lists++];
        set->name = rg_arena_strdup(&rs->arena, load_sval(k));
        if (!set->name)
            return;
        load_one_list(L, set, v);
    }
}

static void load_signals(loader *L, yaml_node_t *n)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        load_error_node(L, n, "signals must be a mapping of names to expressions");
        return;
    }
    rg_ruleset *rs = L->rs;
    size_t max = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    rs->signals = rg_arena_calloc(&rs->arena, max + 1, sizeof *rs->signals);
    if (!rs->signals)
        return;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = load_node(L, p->key), *v = load_node(L, p->value);
        if (!check_user_name(L, k, "signal"))
            continue;
        bool dup = false, clash = false;
        for (size_t i = 0; i < rs->n_signals && !dup; i++)
            dup = strcmp(rs->signals[i].name, load_sval(k)) == 0;
        for (size_t i = 0; i < rs->n_lists && !clash; i++)
            clash = strcmp(rs->lists[i].name, load_sval(k)) == 0;
        if (clash || dup) {
            load_error_node(L, k, clash ? "'%s' names both a list and a signal" : "duplicate signal '%s'", load_sval(k));
            continue;
        }
        if (!load_is_scalar(v) || v->data.scalar.length == 0) {
            load_error_node(L, v ? v : k, "signal '%s' must be an expression", load_sval(k));
            continue;
        }
        rg_signal *sig = &rs->signals[rs->n_signals++];
        sig->name = rg_arena_strdup(&rs->arena, load_sval(k));
        sig->text = rg_arena_strndup(&rs->arena, load_sval(v), v->data.scalar.length);
        sig->node = v;
        if (!sig->name || !sig->text)
            return;
    }
}

/* ---- the file --------------------------------------------------------- */

static void load_root(loader *L, yaml_node_t *root)
{
    static const char *const names[] = {"version", "settings", "lists", "signals", "rules", NULL};
    load_keys t = {.names = names};
    if (!load_read_keys(L, root, &t, "the rule file", "version, settings, lists, signals, rules"))
        return;
    char b[80];
    if (!t.value[0])
        load_error_at(L, 1, 1, "missing 'version: 1'");
    else if (!load_scalar_is(t.value[0], "1"))
        load_error_node(L, t.value[0], "unsupported version '%s': this riskgate reads version 1",
                        load_shown(t.value[0], b, sizeof b));
    if (t.value[1])
        load_settings(L, t.value[1]);
    /* Lists and signals first, wherever they are in the file: rules refer
     * to them by name. */
    if (t.value[2])
        load_lists(L, t.value[2]);
    if (t.value[3])
        load_signals(L, t.value[3]);
    if (t.value[4])
        load_rules(L, t.value[4]);
    load_check_unused_signals(L);
}

static void yaml_failure(loader *L, const yaml_parser_t *p)
{
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        load_position_of_offset(L, p->problem_offset, &line, &col);   /* reader errors carry no mark */
    } else {
        line = (int)p->problem_mark.line + 1;
        col = (int)p->problem_mark.column + 1;
    }
    if (p->error == YAML_MEMORY_ERROR)
        L->oom = true;
    else if (p->context)
        load_error_at(L, line, col, "YAML syntax error: %s %s", p->problem ? p->problem : "", p->context);
    else
        load_error_at(L, line, col, "YAML syntax error: %s", p->problem ? p->problem : "invalid YAML");
}

static int cmp_errors(const void *pa, const void *pb)
{
    const load_error *a = pa, *b = pb;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The errors as newline-terminated FILE:LINE:COLUMN lines, by position. */
static char *format_errors(loader *L)
{
    rg_strbuf out = RG_STRBUF_INIT;
    qsort(L->errors, L->n_errors, sizeof *L->errors, cmp_errors);
    for (size_t i = 0; i < L->n_errors; i++)
        rg_strbuf_printf(&out, "%s:%d:%d: %s\n", L->file, L->errors[i].line, L->errors[i].col, L->errors[i].msg);
    if (L->too_many_errors)
        rg_strbuf_printf(&out, "%s:1:1: too many errors; the first %d are shown\n", L->file, LOAD_MAX_ERRORS);
    if (L->oom || L->rs->arena.oom || (!L->n_errors && !L->too_many_errors))
        rg_strbuf_printf(&out, "%s:1:1: out of memory while loading\n", L->file);
    if (!rg_strbuf_ok(&out)) {
        rg_strbuf_free(&out);
        return NULL;
    }
    return out.data;
}

rg_ruleset *rg_ruleset_load_buffer(const char *display_name, const char *data, size_t len, char **errors)
{
    *errors = NULL;
    if (!display_name)
        display_name = "<rules>";
    if (!data)
        len = 0;
    rg_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    loader L = {.rs = rs, .file = display_name, .data = data ? data : "", .len = len};
    rg_sha256_hex(L.data, len, rs->id, 12);
    rs->path = rg_arena_strdup(&rs->arena, display_name);
    rs->dedupe_horizon_ms = 3600000;
    rs->history_horizon_ms = 7 * 86400000LL;
    rs->max_lateness_ms = 60 * 60000; /* an hour late still counts exactly */

    yaml_parser_t parser;
    bool doc_loaded = false;
    if (!yaml_parser_initialize(&parser)) {
        L.oom = true;
    } else {
        yaml_parser_set_input_string(&parser, (const unsigned char *)L.data, len);
        if (!yaml_parser_load(&parser, &L.doc)) {
            yaml_failure(&L, &parser);
        } else {
            doc_loaded = true;
            yaml_node_t *root = yaml_document_get_root_node(&L.doc);
            if (!root) {
                load_error_at(&L, 1, 1, "empty rule file: expected 'version: 1' and 'rules:'");
            } else {
                load_root(&L, root);
                yaml_document_t extra;
                if (!yaml_parser_load(&parser, &extra)) {
                    yaml_failure(&L, &parser);
                } else {
                    yaml_node_t *r2 = yaml_document_get_root_node(&extra);
                    if (r2)
                        load_error_node(&L, r2, "a rule file holds one YAML document; remove the second one");
                    yaml_document_delete(&extra);
                }
            }
        }
        yaml_parser_delete(&parser);
    }
    bool ok = !L.n_errors && !L.too_many_errors && !L.oom && !rs->arena.oom && load_finish(&L) == 0;
    if (!ok) {
        *errors = format_errors(&L);
        rg_ruleset_free(rs);
        rs = NULL;
    }
    if (doc_loaded)
        yaml_document_delete(&L.doc);
    for (size_t i = 0; i < L.n_errors; i++)
        free(L.errors[i].msg);
    free(L.errors);
    free(L.line_starts);
    return rs;
}

rg_ruleset *rg_ruleset_load_file(const char *path, char **errors)
{
    *errors = NULL;
    FILE *f = fopen(path, "rb");
    rg_strbuf buf = RG_STRBUF_INIT;
    int err = 0;
    if (!f) {
        err = errno;
    } else {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
            rg_strbuf_append(&buf, chunk, n);
        if (ferror(f))
            err = errno ? errno : EIO;
        fclose(f);
    }
    if (err || !rg_strbuf_ok(&buf)) {
        rg_strbuf out = RG_STRBUF_INIT;
        rg_strbuf_printf(&out, "%s:1:1: cannot read the rule file: %s\n", path, err ? strerror(err) : "out of memory");
        *errors = rg_strbuf_ok(&out) ? out.data : NULL;
        if (!*errors)
            rg_strbuf_free(&out);
        rg_strbuf_free(&buf);
        return NULL;
    }
    rg_ruleset *rs = rg_ruleset_load_buffer(path, buf.data ? buf.data : "", buf.len, errors);
    rg_strbuf_free(&buf);
    return rs;
}
