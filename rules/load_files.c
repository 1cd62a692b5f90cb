/*
 * load_files — loading a rule set from one or more files (ruleset.h): the
 * files in order, the ruleset id over their bytes, the phases every file
 * goes through, and the errors as FILE:LINE:COLUMN lines.
 *
 * Owner: rules. Phases, each over every file in the order given, so that
 * a later file can see and change what an earlier one defined (rules.md
 * "Several files"):
 *   1. parse each file's YAML and read its top level (version);
 *   2. settings: each key the last file that sets it wins;
 *   3. lists (and appends), then every list is final;
 *   4. signals (names registered; each is checked on first use);
 *   5. rules: ids and overrides first, then compiled in the order of the
 *      rule set (an override at the place of the rule it replaces);
 *   6. signals no rule used, the history-horizon check, then slots,
 *      evidence keys and per-detector uses.
 * A load touches nothing but its own memory and the constant registry
 * (detectors/registry.c, rules/functions.c): any thread may run one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "expr_internal.h"
#include "load_internal.h"
#include "sha256.h"

/* What one file of a load is before parsing. */
typedef struct load_input {
    const char *name;
    const char *data;
    size_t len;
    int read_errno;      /* != 0: the file could not be read */
    bool too_big;
} load_input;

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

/* Phase 1 for L->src: its one YAML document and its top level. */
static void parse_source(loader *L)
{
    load_source *S = L->src;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        L->oom = true;
        return;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)S->data, S->len);
    if (!yaml_parser_load(&parser, &S->doc)) {
        yaml_failure(L, &parser);
        yaml_parser_delete(&parser);
        return;
    }
    S->doc_loaded = true;
    yaml_node_t *root = yaml_document_get_root_node(&S->doc);
    if (!root) {
        load_error_at(L, 1, 1, "empty rule file: expected 'version: 1' and 'rules:'");
    } else {
        load_root(L, root);
        yaml_document_t extra;
        if (!yaml_parser_load(&parser, &extra)) {
            yaml_failure(L, &parser);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&extra);
            if (r2)
                load_error_node(L, r2, "a rule file holds one YAML document; remove the second one");
            yaml_document_delete(&extra);
        }
    }
    yaml_parser_delete(&parser);
}

static int cmp_errors(const void *pa, const void *pb)
{
    const load_error *a = pa, *b = pb;
    if (a->src->index != b->src->index)
        return a->src->index < b->src->index ? -1 : 1;
    if (a->line != b->line)
        return a->line < b->line ? -1 : 1;
    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* The errors as newline-terminated FILE:LINE:COLUMN lines: by file in the
 * order given, then by position. */
static char *format_errors(loader *L)
{
    rg_strbuf out = RG_STRBUF_INIT;
    qsort(L->errors, L->n_errors, sizeof *L->errors, cmp_errors);
    for (size_t i = 0; i < L->n_errors; i++)
        rg_strbuf_printf(&out, "%s:%d:%d: %s\n", L->errors[i].src->file, L->errors[i].line, L->errors[i].col,
                         L->errors[i].msg);
    const char *first = L->n_sources ? L->sources[0].file : "<rules>";
    if (L->too_many_errors)
        rg_strbuf_printf(&out, "%s:1:1: too many errors; the first %d are shown\n", first, LOAD_MAX_ERRORS);
    if (L->oom || L->rs->arena.oom || (!L->n_errors && !L->too_many_errors))
        rg_strbuf_printf(&out, "%s:1:1: out of memory while loading\n", first);
    if (!rg_strbuf_ok(&out)) {
        rg_strbuf_free(&out);
        return NULL;
    }
    return out.data;
}

static size_t mapping_size(const yaml_node_t *n)
{
    return n && n->type == YAML_MAPPING_NODE ? (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start) : 0;
}

static size_t sequence_size(const yaml_node_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE ? (size_t)(n->data.sequence.items.top - n->data.sequence.items.start)
                                              : 0;
}

/* The names of the files, and "a.yaml + b.yaml" for rg_ruleset_path. */
static int name_files(rg_ruleset *rs, const load_input *in, size_t n)
{
    rs->files = rg_arena_calloc(&rs->arena, n + 1, sizeof *rs->files);
    if (!rs->files)
        return -1;
    rg_strbuf joined = RG_STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        rs->files[i] = rg_arena_strdup(&rs->arena, in[i].name);
        rg_strbuf_printf(&joined, "%s%s", i ? " + " : "", in[i].name);
    }
    rs->n_files = n;
    rs->path = rg_strbuf_ok(&joined) ? rg_arena_strndup(&rs->arena, joined.data ? joined.data : "", joined.len) : NULL;
    rg_strbuf_free(&joined);
    return rs->path && !rs->arena.oom ? 0 : -1;
}

/* Phases 2-6 over the files that parsed. */
static void load_phases(loader *L)
{
    for (size_t i = 0; i < L->n_sources; i++)
        if ((L->src = &L->sources[i])->settings)
            load_settings(L, L->src->settings);
    for (size_t i = 0; i < L->n_sources; i++)
        if ((L->src = &L->sources[i])->lists)
            load_lists(L, L->src->lists);
    if (L->oom || load_finish_lists(L) != 0)
        return;

    size_t n_signals = 0, n_rules = 0;
    for (size_t i = 0; i < L->n_sources; i++) {
        n_signals += mapping_size(L->sources[i].signals);
        n_rules += sequence_size(L->sources[i].rules);
    }
    L->rs->signals = rg_arena_calloc(&L->rs->arena, n_signals + 1, sizeof *L->rs->signals);
    L->entries = calloc(n_rules + 1, sizeof *L->entries);
    if (!L->rs->signals || !L->entries) {
        L->oom = true;
        return;
    }
    for (size_t i = 0; i < L->n_sources; i++)
        if ((L->src = &L->sources[i])->signals)
            load_signals(L, L->src->signals);
    for (size_t i = 0; i < L->n_sources; i++)
        if ((L->src = &L->sources[i])->rules)
            load_read_rules(L, L->src->rules);
    if (L->oom)
        return;
    load_compile_rules(L);
    load_check_unused_signals(L);
    load_check_horizon(L);
}

static rg_ruleset *load_inputs(const load_input *in, size_t n, char **errors)
{
    *errors = NULL;
    rg_ruleset *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->dedupe_horizon_ms = 3600000;
    rs->history_horizon_ms = 7 * 86400000LL;
    rs->max_lateness_ms = 60 * 60000; /* an hour late still counts exactly */

    load_input none = {.name = "<rules>", .data = ""};
    if (n == 0) {
        in = &none;
        n = 1;
    }
    loader L = {.rs = rs, .n_sources = n};
    L.sources = calloc(n, sizeof *L.sources);
    L.use_index = rg_strmap_new(sizeof(rg_use_impl *));
    L.signal_index = rg_strmap_new(sizeof(rg_signal *));
    L.list_index = rg_strmap_new(sizeof(size_t));
    L.rule_index = rg_strmap_new(sizeof(size_t));
    if (!L.sources || !L.use_index || !L.signal_index || !L.list_index || !L.rule_index ||
        name_files(rs, in, n) != 0) {
        L.oom = true;
        L.n_sources = 0;
        goto done;
    }

    /* The id covers every file's bytes in the order given: for one file,
     * `sha256sum FILE`; for several, `cat A B | sha256sum`. */
    rg_sha256_ctx sha;
    unsigned char digest[32];
    rg_sha256_init(&sha);
    for (size_t i = 0; i < n; i++)
        if (!in[i].too_big && !in[i].read_errno)   /* refused anyway: do not hash 64 MiB for nothing */
            rg_sha256_update(&sha, in[i].data ? in[i].data : "", in[i].data ? in[i].len : 0);
    rg_sha256_final(&sha, digest);
    for (size_t i = 0; i < 6; i++)
        snprintf(rs->id + 2 * i, 3, "%02x", digest[i]);

    for (size_t i = 0; i < n; i++) {
        load_source *S = &L.sources[i];
        S->index = (unsigned)i;
        S->file = rs->files[i];
        S->data = in[i].data ? in[i].data : "";
        S->len = in[i].data ? in[i].len : 0;
        L.src = S;
        if (in[i].read_errno) {
            /* strerror_r (GNU): strerror's buffer is shared between threads,
             * and a reload loads on a thread of its own. */
            char why[128];
            load_error_at(&L, 1, 1, "cannot read the rule file: %s", strerror_r(in[i].read_errno, why, sizeof why));
        } else if (in[i].too_big) {
            load_error_at(&L, 1, 1, "rule file larger than %u MiB", RG_RULES_MAX_FILE_BYTES >> 20);
        } else {
            parse_source(&L);
        }
    }
    if (!L.oom)
        load_phases(&L);

done:;
    bool ok = !L.n_errors && !L.too_many_errors && !L.oom && !rs->arena.oom && load_finish(&L) == 0;
    if (!ok) {
        *errors = format_errors(&L);
        rg_ruleset_free(rs);
        rs = NULL;
    }
    for (size_t i = 0; i < L.n_sources; i++) {
        if (L.sources[i].doc_loaded)
            yaml_document_delete(&L.sources[i].doc);
        free(L.sources[i].line_starts);
    }
    free(L.sources);
    for (size_t i = 0; i < L.n_errors; i++)
        free(L.errors[i].msg);
    free(L.errors);
    for (size_t i = 0; i < L.n_lists; i++) {
        free(L.lists[i].items);
        free(L.lists[i].lens);
    }
    free(L.lists);
    free(L.entries);
    free(L.order);
    rg_strmap_free(L.use_index, NULL);
    rg_strmap_free(L.signal_index, NULL);
    rg_strmap_free(L.list_index, NULL);
    rg_strmap_free(L.rule_index, NULL);
    return rs;
}

/* Refuse a load of more than RG_RULES_MAX_FILES files, at the first file
 * too many. */
static rg_ruleset *too_many_files(const char *first_extra, char **errors)
{
    rg_strbuf out = RG_STRBUF_INIT;
    rg_strbuf_printf(&out, "%s:1:1: more than %d rule files in one rule set\n", first_extra ? first_extra : "<rules>",
                     RG_RULES_MAX_FILES);
    *errors = rg_strbuf_ok(&out) ? out.data : NULL;
    if (!*errors)
        rg_strbuf_free(&out);
    return NULL;
}

rg_ruleset *rg_ruleset_load_sources(const rg_rule_source *sources, size_t n, char **errors)
{
    *errors = NULL;
    if (n > RG_RULES_MAX_FILES)
        return too_many_files(sources[RG_RULES_MAX_FILES].name, errors);
    load_input in[RG_RULES_MAX_FILES] = {{0}};
    for (size_t i = 0; i < n; i++)
        in[i] = (load_input){.name = sources[i].name ? sources[i].name : "<rules>",
                             .data = sources[i].data,
                             .len = sources[i].data ? sources[i].len : 0,
                             .too_big = sources[i].len > RG_RULES_MAX_FILE_BYTES};
    return load_inputs(in, n, errors);
}

rg_ruleset *rg_ruleset_load_buffer(const char *display_name, const char *data, size_t len, char **errors)
{
    rg_rule_source one = {display_name, data, len};
    return rg_ruleset_load_sources(&one, 1, errors);
}

/* Read a whole file, at most RG_RULES_MAX_FILE_BYTES (+1 to tell). */
static void read_input(const char *path, load_input *in, rg_strbuf *buf)
{
    *in = (load_input){.name = path};
    FILE *f = fopen(path, "rb");
    if (!f) {
        in->read_errno = errno ? errno : EIO;
        return;
    }
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && buf->len <= RG_RULES_MAX_FILE_BYTES)
        rg_strbuf_append(buf, chunk, got);
    if (ferror(f))
        in->read_errno = errno ? errno : EIO;
    fclose(f);
    if (!rg_strbuf_ok(buf))
        in->read_errno = ENOMEM;
    in->too_big = buf->len > RG_RULES_MAX_FILE_BYTES;
    in->data = buf->data ? buf->data : "";
    in->len = buf->len;
}

rg_ruleset *rg_ruleset_load_files(const char *const *paths, size_t n, char **errors)
{
    *errors = NULL;
    if (n > RG_RULES_MAX_FILES)
        return too_many_files(paths[RG_RULES_MAX_FILES], errors);
    load_input in[RG_RULES_MAX_FILES] = {{0}};
    rg_strbuf bufs[RG_RULES_MAX_FILES];
    for (size_t i = 0; i < n; i++) {
        bufs[i] = (rg_strbuf)RG_STRBUF_INIT;
        read_input(paths[i], &in[i], &bufs[i]);
    }
    rg_ruleset *rs = load_inputs(in, n, errors);
    for (size_t i = 0; i < n; i++)
        rg_strbuf_free(&bufs[i]);
    return rs;
}

rg_ruleset *rg_ruleset_load_file(const char *path, char **errors)
{
    return rg_ruleset_load_files(&path, 1, errors);
}
