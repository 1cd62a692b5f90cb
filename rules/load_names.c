/*
 * load_names — the loader's half that deals in names: resolving signals
 * (checked on first reference, cycles reported), lists, built-in names
 * and their merged uses, message placeholders, and, once the whole file
 * is known good, slots, evidence keys and per-detector use lists.
 *
 * Owner: rules. Name uses are what detectors build state for, so they are
 * merged per distinct (name, arguments) across the whole rule set (every
 * file): two rules writing count(24h, type == login) share one window.
 * Uses are found through a hash map keyed by (name, window, filter hash),
 * equal filters confirmed with rg_expr_equal. Uses reachable only from a
 * signal no rule uses, or only from a rule a later file replaced, are
 * dropped before slots are given, so they cost no detector state
 * (rules.md: state is kept only for what a loaded rule uses).
 */
#include <stdio.h>
#include <string.h>

#include "functions.h"
#include "load_internal.h"

bool load_valid_name(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

bool load_reserved_word(const char *s, size_t len)
{
    static const char *const words[] = {"and", "or", "not", "in", "true", "false", NULL};
    for (size_t i = 0; words[i]; i++)
        if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0)
            return true;
    return rg_function_find(s, len) != NULL;   /* abs, min, max, any: functions.h */
}

/* An error inside the expression or message being compiled: located in
 * its own file, whichever file's rule caused it to be compiled. */
static void site_error(void *opaque, unsigned pos, const char *msg)
{
    compile_site *s = opaque;
    load_source *saved = s->L->src;
    if (s->src)
        s->L->src = s->src;
    load_error_in_scalar(s->L, s->node, pos, msg);
    s->L->src = saved;
}

rg_signal *load_find_signal(loader *L, const char *name, size_t len)
{
    rg_signal **sig = rg_strmap_get(L->signal_index, name, len);
    return sig ? *sig : NULL;
}

const rg_strset *load_find_list(loader *L, const char *name, size_t len)
{
    size_t *idx = rg_strmap_get(L->list_index, name, len);
    return idx && *idx < L->rs->n_lists ? &L->rs->lists[*idx] : NULL;
}

static const rg_strset *site_list(void *opaque, const char *name, size_t len)
{
    return load_find_list(((compile_site *)opaque)->L, name, len);
}

static rg_use_impl *new_use(loader *L)
{
    rg_arena *a = &L->rs->arena;
    if (L->n_uses == L->cap_uses) {
        size_t cap = L->cap_uses ? L->cap_uses * 2 : 16;
        rg_use_impl **nu = rg_arena_calloc(a, cap, sizeof *nu);
        if (!nu)
            return NULL;
        if (L->n_uses)
            memcpy(nu, L->uses, L->n_uses * sizeof *nu);
        L->uses = nu;
        L->cap_uses = cap;
    }
    rg_use_impl *u = rg_arena_alloc(a, sizeof *u);
    if (u)
        L->uses[L->n_uses++] = u;
    return u;
}

static const rg_name_use *site_builtin_use(void *opaque, const rg_name_spec *spec, const rg_detector *d,
                                           int64_t window_ms, const char *window_text, const rg_expr *filter,
                                           const char *call_text)
{
    loader *L = ((compile_site *)opaque)->L;
    struct {
        const rg_name_spec *spec;
        int64_t window_ms;
        uint64_t filter_hash;
    } key;
    memset(&key, 0, sizeof key);   /* no padding bytes of garbage in the key */
    key.spec = spec;
    key.window_ms = window_ms;
    key.filter_hash = rg_expr_hash(filter);
    rg_use_impl **head = rg_strmap_put(L->use_index, (const char *)&key, sizeof key, NULL);
    if (!head) {
        L->oom = true;
        return NULL;
    }
    for (rg_use_impl *u = *head; u; u = u->next_same)
        if (u->pub.spec == spec && u->pub.window_ms == window_ms && rg_expr_equal(u->pub.filter, filter))
            return &u->pub;
    rg_use_impl *u = new_use(L);
    if (!u)
        return NULL;
    u->next_same = *head;
    *head = u;
    int idx = rg_registry_index(d);
    u->pub.spec = spec;
    u->pub.detector = d;
    u->pub.detector_index = idx < 0 ? 0 : (unsigned)idx;
    u->pub.window_ms = window_ms;
    u->pub.filter = filter;
    u->window_text = window_text;
    u->call_text = call_text;
    return &u->pub;
}

static void check_signal(loader *L, rg_signal *sig)
{
    sig->state = RG_SIG_CHECKING;
    L->checking[L->n_checking++] = sig;
    bool filterable = false;
    load_source *saved = L->src;
    L->src = sig->source;   /* its errors are in its own file */
    rg_expr *e = load_compile(L, (yaml_node_t *)sig->node, RG_EXPR_ANY, &filterable);
    L->src = saved;
    L->n_checking--;
    sig->state = RG_SIG_DONE;
    if (!e) {
        sig->spec.type = RG_T_NONE;
        return;
    }
    sig->expr = e;
    sig->spec.type = e->type;
    sig->spec.filterable = filterable;
    sig->use->pub.signal = e;
}

static bool ensure_signal_use(loader *L, rg_signal *sig)
{
    if (sig->use)
        return true;
    sig->use = new_use(L);
    if (!sig->use)
        return false;
    sig->spec.name = sig->name;
    sig->spec.doc = sig->text;
    sig->use->pub.spec = &sig->spec;
    return true;
}

static const rg_name_use *site_signal(void *opaque, const char *name, size_t len, unsigned pos)
{
    compile_site *site = opaque;
    loader *L = site->L;
    rg_signal *sig = load_find_signal(L, name, len);
    if (!sig || !ensure_signal_use(L, sig))
        return NULL;
    if (sig->state == RG_SIG_CHECKING) {
        if (!sig->cycle_reported) {
            sig->cycle_reported = true;
            char path[512];
            size_t off = 0, start = 0;
            while (start < L->n_checking && L->checking[start] != sig)
                start++;
            for (size_t i = start; i < L->n_checking && off < sizeof path; i++) {
                int w = snprintf(path + off, sizeof path - off, "%s -> ", L->checking[i]->name);
                off = w > 0 ? off + (size_t)w : off;
            }
            if (off < sizeof path)
                snprintf(path + off, sizeof path - off, "%s", sig->name);
            char msg[640];
            snprintf(msg, sizeof msg, "signal '%s' depends on itself: %s", sig->name, path);
            load_error_in_scalar(L, site->node, pos, msg);
        }
    } else if (sig->state == RG_SIG_UNCHECKED) {
        if (L->n_checking >= LOAD_MAX_SIGNAL_NESTING) {
            sig->state = RG_SIG_DONE;
            char msg[160];
            snprintf(msg, sizeof msg, "signals nested more than %d deep (at '%s')", LOAD_MAX_SIGNAL_NESTING, sig->name);
            load_error_in_scalar(L, site->node, pos, msg);
        } else {
            check_signal(L, sig);
        }
    }
    return &sig->use->pub;
}

void load_env(compile_site *site, rg_expr_env *env)
{
    memset(env, 0, sizeof *env);
    env->arena = &site->L->rs->arena;
    env->opaque = site;
    env->error = site_error;
    env->signal = site_signal;
    env->list = site_list;
    env->builtin_use = site_builtin_use;
}

rg_expr *load_compile(loader *L, yaml_node_t *n, rg_expr_want want, bool *filterable)
{
    compile_site site = {L, L->src, n};
    rg_expr_env env;
    load_env(&site, &env);
    return rg_expr_compile((const char *)n->data.scalar.value, n->data.scalar.length, &env, want, filterable);
}

const rg_name_use *load_builtin_use(loader *L, const char *name)
{
    const rg_detector *d;
    const rg_name_spec *spec = rg_registry_find(name, strlen(name), &d);
    if (!spec)
        return NULL;
    compile_site site = {L, L->src, NULL};
    return site_builtin_use(&site, spec, d, 0, NULL, NULL, NULL);
}

/* The use a message placeholder {name} stands for; NULL after an error. */
static const rg_name_use *placeholder_use(loader *L, yaml_node_t *n, size_t pos, const char *name, size_t len)
{
    compile_site site = {L, L->src, n};
    int shown = (int)(len > 60 ? 60 : len);
    const rg_detector *d;
    const rg_name_spec *spec = rg_registry_find(name, len, &d);
    char msg[256];
    if (spec) {
        if (spec->args[0] == RG_ARG_NONE)
            return site_builtin_use(&site, spec, d, 0, NULL, NULL, NULL);
        snprintf(msg, sizeof msg,
                 "'%s' needs arguments and cannot be a placeholder: name it under signals: and use the signal",
                 spec->name);
    } else if (load_find_signal(L, name, len)) {
        const rg_name_use *u = site_signal(&site, name, len, (unsigned)pos);
        return u && u->spec->type != RG_T_NONE ? u : NULL;
    } else if (site_list(&site, name, len)) {
        snprintf(msg, sizeof msg, "'%.*s' is a list, not a value", shown, name);
    } else {
        snprintf(msg, sizeof msg, "unknown name '%.*s' in message", shown, name);
    }
    load_error_in_scalar(L, n, pos, msg);
    return NULL;
}

void load_message(loader *L, rg_rule_impl *r, yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    rg_arena *a = &L->rs->arena;
    char *text = rg_arena_alloc(a, len + 1);
    /* At most one part per byte plus one. */
    rg_msg_part *parts = rg_arena_calloc(a, len + 1, sizeof *parts);
    if (!text || !parts)
        return;
    size_t n_parts = 0, t = 0, lit_start = 0;
    bool ok = true;
    for (size_t i = 0; i < len;) {
        if ((s[i] == '{' || s[i] == '}') && i + 1 < len && s[i + 1] == s[i]) {
            text[t++] = s[i];   /* {{ and }} are literal braces */
            i += 2;
            continue;
        }
        if (s[i] != '{') {
            text[t++] = s[i++];
            continue;
        }
        size_t j = i + 1;
        while (j < len && s[j] != '}' && s[j] != '{')
            j++;
        if (j >= len || s[j] != '}') {
            load_error_in_scalar(L, n, i, "unclosed '{' in message (write {{ for a literal brace)");
            ok = false;
            break;
        }
        size_t nlen = j - i - 1;
        bool good = nlen > 0;
        for (size_t k = i + 1; k < j; k++)
            if (!((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= 'A' && s[k] <= 'Z') || (s[k] >= '0' && s[k] <= '9') ||
                  s[k] == '_' || s[k] == '.'))
                good = false;
        const rg_name_use *use = NULL;
        if (!good) {
            char msg[160];
            snprintf(msg, sizeof msg, "bad placeholder '{%.*s}': write {name} with a field, built-in or signal name",
                     (int)(nlen > 60 ? 60 : nlen), s + i + 1);
            load_error_in_scalar(L, n, i, msg);
        } else {
            use = placeholder_use(L, n, i + 1, s + i + 1, nlen);
        }
        if (!use) {
            ok = false;
        } else {
            if (t > lit_start)
                parts[n_parts++] = (rg_msg_part){.text = text + lit_start, .len = t - lit_start};
            parts[n_parts++] = (rg_msg_part){.use = use};
            lit_start = t;
        }
        i = j + 1;
    }
    if (!ok)
        return;
    if (t > lit_start)
        parts[n_parts++] = (rg_msg_part){.text = text + lit_start, .len = t - lit_start};
    text[t] = '\0';
    r->parts = parts;
    r->n_parts = n_parts;
}

void load_check_unused_signals(loader *L)
{
    for (size_t i = 0; i < L->rs->n_signals; i++) {
        rg_signal *sig = &L->rs->signals[i];
        if (sig->state == RG_SIG_UNCHECKED && ensure_signal_use(L, sig))
            check_signal(L, sig);
    }
}

static void mark_reachable(void *arg, const rg_name_use *use)
{
    (void)arg;
    rg_use_impl *u = (rg_use_impl *)use;
    if (u->reachable)
        return;
    u->reachable = true;
    rg_expr_visit_uses(use->signal, mark_reachable, NULL);
    rg_expr_visit_uses(use->filter, mark_reachable, NULL);
}

typedef struct evidence_acc {
    const rg_name_use **list;
    size_t n;
} evidence_acc;

static void add_evidence(void *arg, const rg_name_use *use)
{
    evidence_acc *acc = arg;
    for (size_t i = 0; i < acc->n; i++)
        if (acc->list[i] == use)
            return;
    acc->list[acc->n++] = use;
}

static void count_one(void *arg, const rg_name_use *use)
{
    (void)use;
    ++*(size_t *)arg;
}

static size_t count_uses(const rg_expr *e)
{
    size_t n = 0;
    rg_expr_visit_uses(e, count_one, &n);
    return n;
}

/* Base evidence key (rules.md "Evidence"): a call under its name and
 * window (counterparty_senders_24h), a duration with _s (it is printed in
 * seconds), else the name. */
static const char *evidence_base(rg_arena *a, const rg_use_impl *u)
{
    const rg_name_spec *spec = u->pub.spec;
    if (u->window_text)
        return rg_arena_printf(a, "%s_%s", spec->name, u->window_text);
    if (spec->type == RG_T_DURATION)
        return rg_arena_printf(a, "%s_s", spec->name);
    return spec->name;
}

int load_finish(loader *L)
{
    rg_ruleset *rs = L->rs;
    rg_arena *a = &rs->arena;
    /* A subject is resolved through a use only while a rule of the set
     * names it: a rule a later file replaced keeps no state alive. */
    bool subject_needed[RG_SUBJ_COUNT] = {false};
    for (size_t i = 0; i < rs->n_rules; i++) {
        const rg_rule_impl *r = &rs->rules[i];
        rg_expr_visit_uses(r->pub.when, mark_reachable, NULL);
        for (size_t k = 0; k < r->n_parts; k++)
            if (r->parts[k].use)
                mark_reachable(NULL, r->parts[k].use);
        for (size_t k = 0; k < r->pub.n_then; k++)
            subject_needed[r->pub.then[k].subject] = true;
    }
    for (int s = 0; s < RG_SUBJ_COUNT; s++) {
        if (!subject_needed[s])
            rs->subject_use[s] = NULL;
        else if (rs->subject_use[s])
            mark_reachable(NULL, rs->subject_use[s]);
    }

    rs->uses = rg_arena_calloc(a, L->n_uses + 1, sizeof *rs->uses);
    rg_strmap *keys = rg_strmap_new(0);
    if (!rs->uses || !keys) {
        rg_strmap_free(keys, NULL);
        return -1;
    }
    for (size_t i = 0; i < L->n_uses; i++) {
        rg_use_impl *u = L->uses[i];
        if (!u->reachable)
            continue;
        u->pub.slot = (unsigned)rs->n_uses;
        rs->uses[rs->n_uses++] = &u->pub;
        /* Evidence keys are unique across the rule set, so two different
         * count(10m, ...) in one rule never share a key. */
        const char *base = evidence_base(a, u), *key = base;
        for (unsigned suffix = 2; key; suffix++) {
            bool created;
            if (!rg_strmap_put(keys, key, strlen(key), &created)) {
                key = NULL;
                break;
            }
            if (created)
                break;
            key = rg_arena_printf(a, "%s_%u", base, suffix);
        }
        if (!key) {
            rg_strmap_free(keys, NULL);
            return -1;
        }
        u->pub.evidence_key = key;
    }
    rg_strmap_free(keys, NULL);

    while (rg_detectors[rs->n_detectors])
        rs->n_detectors++;
    rs->det_n = rg_arena_calloc(a, rs->n_detectors + 1, sizeof *rs->det_n);
    rs->det_uses = rg_arena_calloc(a, rs->n_detectors + 1, sizeof *rs->det_uses);
    if (!rs->det_n || !rs->det_uses)
        return -1;
    for (size_t i = 0; i < rs->n_uses; i++)
        if (rs->uses[i]->detector)
            rs->det_n[rs->uses[i]->detector_index]++;
    for (size_t d = 0; d < rs->n_detectors; d++) {
        if (!rs->det_n[d])
            continue;
        rs->det_uses[d] = rg_arena_calloc(a, rs->det_n[d], sizeof **rs->det_uses);
        if (!rs->det_uses[d])
            return -1;
        size_t k = 0;
        for (size_t i = 0; i < rs->n_uses; i++) {
            rg_name_use *u = (rg_name_use *)rs->uses[i];
            if (u->detector && u->detector_index == d) {
                u->detector_slot = (unsigned)k;
                rs->det_uses[d][k++] = u;
            }
        }
    }

    for (size_t i = 0; i < rs->n_rules; i++) {
        rg_rule_impl *r = &rs->rules[i];
        evidence_acc acc = {NULL, 0};
        size_t max = count_uses(r->pub.when);
        acc.list = rg_arena_calloc(a, max + 1, sizeof *acc.list);
        if (!acc.list)
            return -1;
        rg_expr_visit_uses(r->pub.when, add_evidence, &acc);
        r->pub.evidence = acc.list;
        r->pub.n_evidence = acc.n;
    }
    return a->oom ? -1 : 0;
}
