/*
 * yaml_load — the parts of a rule file (rules.md) other than its rules:
 * YAML helpers, the top level, settings, lists (with `append` from a
 * later file) and signals.
 *
 * Owner: rules. libyaml's document API gives every node its position, so
 * each error is reported as FILE:LINE:COLUMN, and inside an expression
 * the column is that of the offending token (scalar position plus the
 * token's offset, quotes and '' escapes accounted for). Every error in
 * every file is collected (up to LOAD_MAX_ERRORS) and the rule set is
 * refused as a whole: it either loads completely or not at all.
 *
 * Several files (rules.md "Several files") are read in order as one rule
 * set: settings keys set by a later file win; a later file may add lists
 * and signals with new names and extend an earlier list with
 * `NAME: {append: [...]}`; a name defined twice is an error naming both
 * places. Every list, whoever appended to it, is complete before any
 * expression is compiled, so all rules see its final items.
 *
 * Nothing of a YAML document survives loading: all text a rule set keeps
 * is copied into its arena.
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

yaml_node_t *load_node(loader *L, int id) { return yaml_document_get_node(&L->src->doc, id); }

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
    rg_dur_check st = load_is_scalar(n) ? rg_duration_parse_bounded(load_sval(n), n->data.scalar.length, out)
                                        : RG_DUR_BAD;
    if (st == RG_DUR_OK)
        return true;
    if (st == RG_DUR_TOO_LONG)
        load_error_node(L, n, "duration '%s' for %s is longer than the maximum " RG_DURATION_MAX_TEXT,
                        load_shown(n, b, sizeof b), what);
    else
        load_error_node(L, n, "bad duration '%s' for %s (an integer and a unit: ms, s, m, h or d, e.g. 1h)",
                        load_shown(n, b, sizeof b), what);
    return false;
}

const char *load_place(loader *L, const load_source *src, int line, int col, char *buf, size_t size)
{
    if (src == L->src)
        snprintf(buf, size, "line %d", line);
    else
        snprintf(buf, size, "%s:%d:%d", src->file, line, col);
    return buf;
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

void load_settings(loader *L, yaml_node_t *n)
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
        if (ms == 0 && i < 2) {
            load_error_node(L, t.value[i], "%s must be longer than 0", names[i]);
            continue;
        }
        *dst[i] = ms;   /* a later file's value replaces an earlier one's */
        if (dst[i] == &L->rs->history_horizon_ms) {
            L->horizon_src = L->src;
            L->horizon_line = (int)t.value[i]->start_mark.line + 1;
            L->horizon_col = (int)t.value[i]->start_mark.column + 1;
        }
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

/* Add the items of sequence v to list l; false (error reported) when v is
 * no sequence. */
static void add_list_items(loader *L, load_list *l, yaml_node_t *v)
{
    if (!v || v->type != YAML_SEQUENCE_NODE) {
        load_error_node(L, v, "list '%s' must be a sequence of strings", l->name);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (l->n + n > l->cap) {
        size_t cap = l->n + n + l->cap;
        const char **items = realloc(l->items, (cap ? cap : 1) * sizeof *items);
        if (items)
            l->items = items;
        size_t *lens = realloc(l->lens, (cap ? cap : 1) * sizeof *lens);
        if (lens)
            l->lens = lens;
        if (!items || !lens) {
            L->oom = true;
            return;
        }
        l->cap = cap;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *item = load_node(L, *it);
        if (!load_is_scalar(item) || item->data.scalar.length == 0 || load_has_nul(item)) {
            load_error_node(L, item, "items of list '%s' must be non-empty strings", l->name);
            continue;
        }
        const char *s = rg_arena_strndup(&L->rs->arena, load_sval(item), item->data.scalar.length);
        if (!s)
            return;
        l->items[l->n] = s;
        l->lens[l->n++] = item->data.scalar.length;
    }
}

/* `NAME: {append: [...]}` in a later file: more items for an earlier list. */
static void append_to_list(loader *L, yaml_node_t *k, yaml_node_t *v)
{
    static const char *const names[] = {"append", NULL};
    load_keys t = {.names = names};
    char what[96], place[600];
    snprintf(what, sizeof what, "list '%s'", load_sval(k));
    if (!load_read_keys(L, v, &t, what, "append"))
        return;
    size_t *idx = rg_strmap_get(L->list_index, load_sval(k), k->data.scalar.length);
    if (!idx) {
        load_error_node(L, k, "list '%s' to append to is not defined in an earlier file", load_sval(k));
        return;
    }
    load_list *l = &L->lists[*idx];
    if (l->src == L->src) {
        load_error_node(L, k, "'append' extends a list of an earlier file; '%s' is defined in this file (%s)",
                        load_sval(k), load_place(L, l->src, l->line, l->col, place, sizeof place));
        return;
    }
    if (!t.value[0])
        load_error_node(L, v, "list '%s': 'append' is missing", load_sval(k));
    else
        add_list_items(L, l, t.value[0]);
}

void load_lists(loader *L, yaml_node_t *n)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        load_error_node(L, n, "lists must be a mapping of list names to sequences of strings");
        return;
    }
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = load_node(L, p->key), *v = load_node(L, p->value);
        if (!check_user_name(L, k, "list"))
            continue;
        if (v && v->type == YAML_MAPPING_NODE) {
            append_to_list(L, k, v);
            continue;
        }
        bool created;
        size_t *idx = rg_strmap_put(L->list_index, load_sval(k), k->data.scalar.length, &created);
        if (!idx) {
            L->oom = true;
            return;
        }
        if (!created) {
            const load_list *first = &L->lists[*idx];
            char place[600];
            if (first->src == L->src)
                load_error_node(L, k, "duplicate list '%s'", load_sval(k));
            else
                load_error_node(L, k, "duplicate list '%s' (first at %s); to add items write '%s: {append: [...]}'",
                                load_sval(k), load_place(L, first->src, first->line, first->col, place, sizeof place),
                                load_sval(k));
            continue;
        }
        if (L->n_lists == L->cap_lists) {
            size_t cap = L->cap_lists ? L->cap_lists * 2 : 8;
            load_list *nl = realloc(L->lists, cap * sizeof *nl);
            if (!nl) {
                L->oom = true;
                return;
            }
            L->lists = nl;
            L->cap_lists = cap;
        }
        *idx = L->n_lists;
        load_list *l = &L->lists[L->n_lists++];
        *l = (load_list){.name = rg_arena_strdup(&L->rs->arena, load_sval(k)),
                         .src = L->src,
                         .line = (int)k->start_mark.line + 1,
                         .col = (int)k->start_mark.column + 1};
        if (!l->name)
            return;
        add_list_items(L, l, v);
    }
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

/* Every list as the rule set keeps it: items in the order written (the
 * appends after the items they extend) and sorted for lookups. */
int load_finish_lists(loader *L)
{
    rg_ruleset *rs = L->rs;
    rg_arena *a = &rs->arena;
    rs->lists = rg_arena_calloc(a, L->n_lists + 1, sizeof *rs->lists);
    if (!rs->lists)
        return -1;
    for (size_t i = 0; i < L->n_lists; i++) {
        const load_list *l = &L->lists[i];
        size_t n = l->n;
        const char **names = rg_arena_calloc(a, n + 1, sizeof *names);
        const char **sorted = rg_arena_calloc(a, n + 1, sizeof *sorted);
        size_t *lens = rg_arena_calloc(a, n + 1, sizeof *lens);
        sized_str *tmp = malloc((n + 1) * sizeof *tmp);
        if (!names || !sorted || !lens || !tmp) {
            free(tmp);
            return -1;
        }
        for (size_t k = 0; k < n; k++) {
            names[k] = l->items[k];
            tmp[k] = (sized_str){l->items[k], l->lens[k]};
        }
        qsort(tmp, n, sizeof *tmp, cmp_sized);
        for (size_t k = 0; k < n; k++) {
            sorted[k] = tmp[k].s;
            lens[k] = tmp[k].len;
        }
        free(tmp);
        rs->lists[i] = (rg_strset){.name = l->name, .names = names, .sorted = sorted, .sorted_lens = lens, .n = n};
    }
    rs->n_lists = L->n_lists;
    return 0;
}

/* The signals of L->src. rs->signals has room for every file's signals
 * (load_files.c counts them first), so a signal never moves: the index
 * and signals being checked point at it. */
void load_signals(loader *L, yaml_node_t *n)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        load_error_node(L, n, "signals must be a mapping of names to expressions");
        return;
    }
    rg_ruleset *rs = L->rs;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = load_node(L, p->key), *v = load_node(L, p->value);
        if (!check_user_name(L, k, "signal"))
            continue;
        size_t len = k->data.scalar.length;
        if (rg_strmap_get(L->list_index, load_sval(k), len)) {
            load_error_node(L, k, "'%s' names both a list and a signal", load_sval(k));
            continue;
        }
        bool created;
        rg_signal **slot = rg_strmap_put(L->signal_index, load_sval(k), len, &created);
        if (!slot) {
            L->oom = true;
            return;
        }
        if (!created) {
            const rg_signal *first = *slot;
            const yaml_node_t *fk = first->key;
            char place[600];
            if (first->source == L->src)
                load_error_node(L, k, "duplicate signal '%s'", load_sval(k));
            else
                load_error_node(L, k, "duplicate signal '%s' (first at %s)", load_sval(k),
                                load_place(L, first->source, (int)fk->start_mark.line + 1,
                                           (int)fk->start_mark.column + 1, place, sizeof place));
            continue;
        }
        if (!load_is_scalar(v) || v->data.scalar.length == 0) {
            load_error_node(L, v ? v : k, "signal '%s' must be an expression", load_sval(k));
            rg_strmap_del(L->signal_index, load_sval(k), len, NULL);
            continue;
        }
        rg_signal *sig = &rs->signals[rs->n_signals++];
        *slot = sig;
        sig->name = rg_arena_strdup(&rs->arena, load_sval(k));
        sig->text = rg_arena_strndup(&rs->arena, load_sval(v), v->data.scalar.length);
        sig->node = v;
        sig->key = k;
        sig->source = L->src;
        if (!sig->name || !sig->text)
            return;
    }
}

/* ---- the top level ---------------------------------------------------- */

void load_root(loader *L, yaml_node_t *root)
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
    L->src->settings = t.value[1];
    L->src->lists = t.value[2];
    L->src->signals = t.value[3];
    L->src->rules = t.value[4];
}
