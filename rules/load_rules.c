/*
 * load_rules — the `rules:` lists of the rule files (rules.md table of
 * keys): id, on, when, then, message, cooldown, enabled, and override.
 *
 * Owner: rules. Two passes. The first reads every file's rule ids in
 * order and decides the rule set: a new id takes the next place; an id
 * an earlier file defined, written with `override: true`, replaces that
 * rule at its place (rules.md "Several files"), so the bundled pack plus
 * a file of overrides orders its rules as the merged file written by
 * hand would; any other repeated id is an error naming both places. Ids
 * are found through a hash map: n rules cost O(n), not O(n^2).
 * The second pass compiles the rules of the set in their order (so name
 * uses, hence evidence keys, come out as in that merged file), then the
 * replaced and duplicate ones, whose errors count as much.
 *
 * Each rule is checked in full even after an error in it, so an analyst
 * sees every mistake of a file in one run. Keys are handled in a fixed
 * order (on before then, when before message) whatever order the file
 * writes them in, because later keys are validated against earlier ones:
 * a `counterparty` subject needs transfer events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_internal.h"
#include "load_internal.h"

static const char *const ACTIONS[] = {"freeze", "face_verify", "review", NULL};
static const char *const SUBJECTS[] = {"account", "counterparty", "ref_counterparty", NULL};

static int index_of(const char *const *names, const yaml_node_t *n)
{
    for (int i = 0; names[i]; i++)
        if (load_scalar_is(n, names[i]))
            return i;
    return -1;
}

static void join(const char *const *names, char *buf, size_t size)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; names[i] && off < size; i++) {
        int w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", names[i]);
        off = w > 0 ? off + (size_t)w : off;
    }
}

static bool event_type_mask(loader *L, yaml_node_t *n, uint32_t *mask)
{
    char types[200], b[80];
    join(rg_rules_event_types, types, sizeof types);
    *mask = 0;
    yaml_node_t *single[1] = {n};
    size_t count = 1;
    yaml_node_item_t *items = NULL;
    if (n->type == YAML_SEQUENCE_NODE) {
        items = n->data.sequence.items.start;
        count = (size_t)(n->data.sequence.items.top - items);
        if (count == 0) {
            load_error_node(L, n, "'on' lists no event type (leave 'on' out to run on every type)");
            return false;
        }
    } else if (n->type != YAML_SCALAR_NODE) {
        load_error_node(L, n, "'on' must be an event type or a list of event types");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *t = items ? load_node(L, items[i]) : single[0];
        int type = load_is_scalar(t) ? rg_rules_event_type(load_sval(t), t->data.scalar.length) : -1;
        if (type < 0) {
            load_error_node(L, t, "unknown event type '%s' (one of: %s)", load_shown(t, b, sizeof b), types);
            ok = false;
            continue;
        }
        *mask |= RG_EV_BIT(type);
    }
    return ok;
}

static bool parse_bool(const yaml_node_t *n, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE", NULL}, *const f[] = {"false", "False", "FALSE", NULL};
    if (index_of(t, n) >= 0)
        return *out = true, true;
    if (index_of(f, n) >= 0)
        return *out = false, true;
    return false;
}

static void load_then(loader *L, rg_rule_impl *r, yaml_node_t *n, bool on_given)
{
    char b[80];
    if (n->type != YAML_SEQUENCE_NODE || n->data.sequence.items.top == n->data.sequence.items.start) {
        load_error_node(L, n, "'then' must be a list of 'action: subject' pairs, e.g. '- freeze: counterparty'");
        return;
    }
    size_t max = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    rg_then *then = rg_arena_calloc(&L->rs->arena, max, sizeof *then);
    if (!then)
        return;
    size_t k = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *e = load_node(L, *it);
        if (!e || e->type != YAML_MAPPING_NODE || e->data.mapping.pairs.top - e->data.mapping.pairs.start != 1) {
            load_error_node(L, e, "each 'then' entry is one 'action: subject' pair, e.g. '- face_verify: account'");
            continue;
        }
        yaml_node_t *ak = load_node(L, e->data.mapping.pairs.start->key);
        yaml_node_t *sv = load_node(L, e->data.mapping.pairs.start->value);
        int action = index_of(ACTIONS, ak), subject = index_of(SUBJECTS, sv);
        if (action < 0)
            load_error_node(L, ak, "unknown action '%s' (expected freeze, face_verify or review)",
                            load_shown(ak, b, sizeof b));
        if (subject < 0)
            load_error_node(L, sv, "unknown subject '%s' (expected account, counterparty or ref_counterparty)",
                            load_shown(sv, b, sizeof b));
        if (action < 0 || subject < 0)
            continue;
        if (subject == RG_SUBJ_COUNTERPARTY && on_given && !(r->pub.on_mask & RG_EV_BIT(RG_EV_TRANSFER))) {
            load_error_node(L, sv, "subject 'counterparty' is the counterparty of a transfer: add transfer to 'on'");
            continue;
        }
        if (subject == RG_SUBJ_REF_COUNTERPARTY && on_given && !(r->pub.on_mask & RG_EV_BIT(RG_EV_COMPLAINT))) {
            load_error_node(L, sv, "subject 'ref_counterparty' is named by a complaint: add complaint to 'on'");
            continue;
        }
        bool dup = false;
        for (size_t i = 0; i < k; i++)
            dup |= then[i].action == (rg_action)action && then[i].subject == (rg_subject_kind)subject;
        if (dup) {
            load_error_node(L, e, "'%s: %s' is listed twice", ACTIONS[action], SUBJECTS[subject]);
            continue;
        }
        if (subject != RG_SUBJ_ACCOUNT && !L->rs->subject_use[subject]) {
            /* The subject is resolved through a name (the transfer's
             * counterparty field, or the complaint's ref_counterparty): a
             * use like any other, so its detector is created. */
            L->rs->subject_use[subject] = load_builtin_use(L, SUBJECTS[subject]);
            if (!L->rs->subject_use[subject]) {
                load_error_node(L, sv, "no detector offers the name '%s' that resolves this subject", SUBJECTS[subject]);
                continue;
            }
        }
        then[k++] = (rg_then){(rg_action)action, (rg_subject_kind)subject};
    }
    r->pub.then = then;
    r->pub.n_then = k;
}

static void load_rule(loader *L, load_rule_entry *entry)
{
    static const char *const names[] = {"id", "on", "when", "then", "message", "cooldown", "enabled", "override", NULL};
    enum { K_ID, K_ON, K_WHEN, K_THEN, K_MESSAGE, K_COOLDOWN, K_ENABLED, K_OVERRIDE };
    load_keys t = {.names = names};
    rg_rule_impl *r = &entry->rule;
    yaml_node_t *n = entry->node;
    if (!n)
        return;
    r->pub.line = (int)n->start_mark.line + 1;
    r->pub.file = L->src->file;
    r->pub.enabled = true;
    r->pub.on_mask = RG_EV_ALL;
    if (!load_read_keys(L, n, &t, "a rule", "id, on, when, then, message, cooldown, enabled, override"))
        return;
    char b[80];
    rg_arena *a = &L->rs->arena;
    yaml_node_t *id = t.value[K_ID];
    if (!id) {
        load_error_node(L, n, "rule without 'id'");
    } else if (!load_is_scalar(id) || !load_valid_name(load_sval(id), id->data.scalar.length)) {
        load_error_node(L, id, "bad rule id '%s': use lower-case letters, digits and _, at most 64",
                        load_shown(id, b, sizeof b));
    } else {
        r->pub.id = rg_arena_strdup(a, load_sval(id));
    }
    bool on_given = t.value[K_ON] != NULL, on_ok = true;
    if (on_given)
        on_ok = event_type_mask(L, t.value[K_ON], &r->pub.on_mask);
    yaml_node_t *when = t.value[K_WHEN];
    if (!when) {
        load_error_node(L, n, "rule without 'when'");
    } else if (!load_is_scalar(when)) {
        load_error_node(L, when, "'when' must be an expression (a string)");
    } else {
        r->pub.when = load_compile(L, when, RG_EXPR_CONDITION, NULL);
        r->when_text = rg_arena_strndup(a, load_sval(when), when->data.scalar.length);
        entry->when = when;
    }
    if (!t.value[K_THEN])
        load_error_node(L, n, "rule without 'then'");
    else   /* with a broken `on`, subjects are not checked against it */
        load_then(L, r, t.value[K_THEN], on_given && on_ok);
    yaml_node_t *msg = t.value[K_MESSAGE];
    if (msg) {
        if (!load_is_scalar(msg) || msg->data.scalar.length == 0 || load_has_nul(msg)) {
            load_error_node(L, msg, "'message' must be a non-empty string");
        } else {
            r->pub.message = rg_arena_strndup(a, load_sval(msg), msg->data.scalar.length);
            load_message(L, r, msg);
        }
    }
    if (t.value[K_COOLDOWN])
        load_duration(L, t.value[K_COOLDOWN], "cooldown", &r->pub.cooldown_ms);
    if (t.value[K_ENABLED] && !parse_bool(t.value[K_ENABLED], &r->pub.enabled))
        load_error_node(L, t.value[K_ENABLED], "'enabled' must be true or false, not '%s'",
                        load_shown(t.value[K_ENABLED], b, sizeof b));
    bool override;
    if (t.value[K_OVERRIDE] && !parse_bool(t.value[K_OVERRIDE], &override))
        load_error_node(L, t.value[K_OVERRIDE], "'override' must be true or false, not '%s'",
                        load_shown(t.value[K_OVERRIDE], b, sizeof b));
}

/* The value of key `name` in mapping n, without reporting anything (the
 * second pass reports what is wrong with the rule). */
static yaml_node_t *peek_key(loader *L, yaml_node_t *n, const char *name)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
        if (load_scalar_is(load_node(L, p->key), name))
            return load_node(L, p->value);
    return NULL;
}

/* Decide where entry k goes in the rule set (first pass). */
static void place_rule(loader *L, size_t k, size_t *n_slots)
{
    load_rule_entry *e = &L->entries[k];
    yaml_node_t *id = e->id;
    char place[600];
    bool created;
    size_t *current = rg_strmap_put(L->rule_index, load_sval(id), id->data.scalar.length, &created);
    if (!current) {
        L->oom = true;
        return;
    }
    if (created) {
        *current = k;
        e->in_set = true;
        e->slot = (*n_slots)++;
        if (e->override)
            load_error_node(L, id, "'override: true', but no earlier file has a rule '%s' to replace",
                            load_sval(id));
        return;
    }
    load_rule_entry *prev = &L->entries[*current];
    int pl = (int)prev->id->start_mark.line + 1, pc = (int)prev->id->start_mark.column + 1;
    if (prev->src == L->src) {
        /* Within one file an id is unique, override or not (rules.md). */
        load_error_node(L, id, "duplicate rule id '%s' (first at line %d)", load_sval(id),
                        (int)prev->node->start_mark.line + 1);
    } else if (!e->override) {
        load_error_node(L, id, "duplicate rule id '%s' (first at %s); write 'override: true' to replace it",
                        load_sval(id), load_place(L, prev->src, pl, pc, place, sizeof place));
    } else {
        /* Replaces the earlier file's rule whole, at its place. */
        e->in_set = true;
        e->slot = prev->slot;
        prev->in_set = false;
        *current = k;
    }
}

void load_read_rules(loader *L, yaml_node_t *n)
{
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0)
        return;   /* `rules:` with nothing under it: no rules */
    if (n->type != YAML_SEQUENCE_NODE) {
        load_error_node(L, n, "rules must be a list of rules, each starting with '- id: ...'");
        return;
    }
    size_t n_slots = 0;
    for (size_t k = 0; k < L->n_entries; k++)
        if (L->entries[k].in_set && L->entries[k].slot >= n_slots)
            n_slots = L->entries[k].slot + 1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && !L->oom; it++) {
        size_t k = L->n_entries++;
        load_rule_entry *e = &L->entries[k];
        e->src = L->src;
        e->node = load_node(L, *it);
        yaml_node_t *id = peek_key(L, e->node, "id");
        bool override = false;
        parse_bool(peek_key(L, e->node, "override"), &override);
        e->override = override;
        if (load_is_scalar(id) && load_valid_name(load_sval(id), id->data.scalar.length)) {
            e->id = id;
            place_rule(L, k, &n_slots);
        }
    }
}

void load_compile_rules(loader *L)
{
    rg_ruleset *rs = L->rs;
    size_t n_slots = 0;
    for (size_t k = 0; k < L->n_entries; k++)
        if (L->entries[k].in_set && L->entries[k].slot >= n_slots)
            n_slots = L->entries[k].slot + 1;
    /* Entries without a valid id are in no slot: they get one past the
     * end, in file order, so their errors are found and nothing is lost. */
    size_t total = n_slots;
    size_t *order = malloc((L->n_entries + 1) * sizeof *order);
    if (!order) {
        L->oom = true;
        return;
    }
    for (size_t k = 0; k < L->n_entries; k++)
        if (!L->entries[k].id)
            L->entries[k].in_set = true, L->entries[k].slot = total++;
    for (size_t k = 0; k < L->n_entries; k++)
        if (L->entries[k].in_set)
            order[L->entries[k].slot] = k;
    load_source *saved = L->src;
    for (size_t s = 0; s < total; s++) {
        L->src = L->entries[order[s]].src;
        load_rule(L, &L->entries[order[s]]);
    }
    for (size_t k = 0; k < L->n_entries; k++) {
        if (!L->entries[k].in_set) {
            L->src = L->entries[k].src;
            load_rule(L, &L->entries[k]);
        }
    }
    L->src = saved;
    rs->rules = rg_arena_calloc(&rs->arena, total + 1, sizeof *rs->rules);
    const rg_rule **list = rg_arena_calloc(&rs->arena, total + 1, sizeof *list);
    if (rs->rules && list) {
        for (size_t s = 0; s < total; s++) {
            rs->rules[s] = L->entries[order[s]].rule;
            rs->rules[s].pub.index = (unsigned)s;
            list[s] = &rs->rules[s].pub;
        }
        rs->n_rules = total;
        rs->head.rules = list;
        rs->head.n_rules = total;
    }
    L->order = order;   /* the horizon check reports at each rule's `when` */
}
