/*
 * alerts_related.c — the alerts around one subject, through the parties
 * and objects their events share (rg_alert_store_related_json, alerts.h):
 * a mule account's twenty senders, or the claimers of one packet, come
 * back as one graph of accounts and objects rather than twenty rows.
 *
 * Bounded work: the newest `max_own` alerts naming the subject, then per neighbour
 * (at most `max_entities`, the most frequent first) its newest
 * `per_entity` alerts, each read through an index (rg_alert_filter's
 * subject and entity). Small sets, so plain arrays and linear lookups.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"

typedef struct node {
    const char *id;         /* borrowed from an alert in `all` */
    bool object;            /* a packet or referenced id, not an account */
    bool frozen;            /* the subject of an alert here whose actions include freeze */
    int64_t alerts;         /* alerts touching it */
} node;

typedef struct edge {
    const char *from, *to;  /* borrowed */
    int64_t alerts;
    const char *rules[8];   /* distinct rule ids, borrowed */
    size_t n_rules;
} edge;

typedef struct graph {
    rg_alert *all;          /* every alert read, deduplicated; owns the strings */
    size_t n_all, cap_all;
    node *nodes;
    size_t n_nodes, cap_nodes;
    edge *edges;
    size_t n_edges, cap_edges;
    bool oom;
} graph;

static bool grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *na = realloc(*arr, ncap * elem);
    if (!na)
        return false;
    *arr = na;
    *cap = ncap;
    return true;
}

static node *node_for(graph *g, const char *id, bool object)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].object == object && strcmp(g->nodes[i].id, id) == 0)
            return &g->nodes[i];
    if (!grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes, sizeof *g->nodes)) {
        g->oom = true;
        return NULL;
    }
    g->nodes[g->n_nodes] = (node){.id = id, .object = object};
    return &g->nodes[g->n_nodes++];
}

static void link(graph *g, const rg_alert *a, const char *to, bool object)
{
    node *n = node_for(g, to, object);
    if (!n)
        return;
    n->alerts++;
    edge *e = NULL;
    for (size_t i = 0; i < g->n_edges && !e; i++)
        if (strcmp(g->edges[i].from, a->subject) == 0 && strcmp(g->edges[i].to, to) == 0)
            e = &g->edges[i];
    if (!e) {
        if (!grow((void **)&g->edges, &g->cap_edges, g->n_edges, sizeof *g->edges)) {
            g->oom = true;
            return;
        }
        e = &g->edges[g->n_edges++];
        *e = (edge){.from = a->subject, .to = to};
    }
    e->alerts++;
    for (size_t h = 0; h < a->n_hits; h++) {
        bool seen = false;
        for (size_t r = 0; r < e->n_rules && !seen; r++)
            seen = strcmp(e->rules[r], a->hits[h].rule_id) == 0;
        if (!seen && e->n_rules < sizeof e->rules / sizeof e->rules[0])
            e->rules[e->n_rules++] = a->hits[h].rule_id;
    }
}

/* Take the alerts of `list` not yet in the graph (the graph owns them). */
static void add_alerts(graph *g, rg_alert *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < g->n_all && !seen; k++)
            seen = strcmp(g->all[k].decision_id, list[i].decision_id) == 0;
        if (seen || !grow((void **)&g->all, &g->cap_all, g->n_all, sizeof *g->all)) {
            g->oom |= !seen;
            rg_alert_clear(&list[i]);
            continue;
        }
        g->all[g->n_all++] = list[i];
    }
    free(list);
}

static int list_into(rg_alert_store *s, graph *g, const char *subject, const char *entity, size_t limit,
                     char *errstr, size_t errstr_size)
{
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    f.subject = subject;
    f.entity = entity;
    f.limit = limit;
    f.newest_first = true;
    rg_alert *list;
    size_t n;
    if (rg_alert_store_list(s, &f, &list, &n, errstr, errstr_size) < 0)
        return -1;
    add_alerts(g, list, n);
    return 0;
}

typedef struct count {
    const char *value;
    bool object;
    int64_t n;
} count;

static int by_count(const void *pa, const void *pb)
{
    const count *a = pa, *b = pb;
    if (a->n != b->n)
        return a->n > b->n ? -1 : 1;
    return strcmp(a->value, b->value);
}

static int by_time_desc(const void *pa, const void *pb)
{
    const rg_alert *a = *(const rg_alert *const *)pa, *b = *(const rg_alert *const *)pb;
    if (a->ts_ms != b->ts_ms)
        return a->ts_ms > b->ts_ms ? -1 : 1;
    return strcmp(b->decision_id, a->decision_id);
}

static int by_weight(const void *pa, const void *pb)
{
    const node *a = pa, *b = pb;
    if (a->alerts != b->alerts)
        return a->alerts > b->alerts ? -1 : 1;
    return strcmp(a->id, b->id);
}

static void put_json(graph *g, const char *subject, rg_strbuf *out)
{
    /* Nodes: the subject first, then by how many alerts touch them. */
    node *subj = NULL;
    for (size_t i = 0; i < g->n_nodes && !subj; i++)
        if (!g->nodes[i].object && strcmp(g->nodes[i].id, subject) == 0)
            subj = &g->nodes[i];
    if (subj && subj != g->nodes) {
        node t = *subj;
        *subj = g->nodes[0];
        g->nodes[0] = t;
    }
    if (g->n_nodes > 1)
        qsort(g->nodes + 1, g->n_nodes - 1, sizeof *g->nodes, by_weight);
    rg_strbuf_puts(out, "{\"subject\":");
    rg_strbuf_put_json_str(out, subject, strlen(subject));
    rg_strbuf_puts(out, ",\"nodes\":[");
    for (size_t i = 0; i < g->n_nodes; i++) {
        const node *n = &g->nodes[i];
        rg_strbuf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        rg_strbuf_put_json_str(out, n->id, strlen(n->id));
        rg_strbuf_printf(out, ",\"kind\":\"%s\",\"alerts\":%lld,\"subject\":%s,\"frozen\":%s}",
                         n->object ? "object" : "account", (long long)n->alerts,
                         !n->object && strcmp(n->id, subject) == 0 ? "true" : "false", n->frozen ? "true" : "false");
    }
    rg_strbuf_puts(out, "],\"edges\":[");
    for (size_t i = 0; i < g->n_edges; i++) {
        const edge *e = &g->edges[i];
        rg_strbuf_puts(out, i ? ",{\"from\":" : "{\"from\":");
        rg_strbuf_put_json_str(out, e->from, strlen(e->from));
        rg_strbuf_puts(out, ",\"to\":");
        rg_strbuf_put_json_str(out, e->to, strlen(e->to));
        rg_strbuf_printf(out, ",\"alerts\":%lld,\"rules\":[", (long long)e->alerts);
        for (size_t r = 0; r < e->n_rules; r++) {
            if (r)
                rg_strbuf_putc(out, ',');
            rg_strbuf_put_json_str(out, e->rules[r], strlen(e->rules[r]));
        }
        rg_strbuf_puts(out, "]}");
    }
    /* The related alerts that are not the subject's own, newest first. */
    rg_strbuf_puts(out, "],\"alerts\":[");
    const rg_alert **others = g->n_all ? malloc(g->n_all * sizeof *others) : NULL;
    size_t n_others = 0;
    for (size_t i = 0; others && i < g->n_all; i++)
        if (strcmp(g->all[i].subject, subject) != 0)
            others[n_others++] = &g->all[i];
    if (n_others)
        qsort(others, n_others, sizeof *others, by_time_desc);
    for (size_t i = 0; i < n_others; i++) {
        if (i)
            rg_strbuf_putc(out, ',');
        rg_alert_to_json(others[i], false, out);
    }
    free(others);
    if (g->n_all && !others)
        g->oom = true;
    rg_strbuf_puts(out, "]}");
}

int rg_alert_store_related_json(rg_alert_store *s, const char *subject, size_t max_own,
                                size_t max_entities, size_t per_entity, rg_strbuf *out,
                                char *errstr, size_t errstr_size)
{
    graph g = {0};
    count *counts = NULL;
    size_t n_counts = 0, cap_counts = 0;
    int rc = -1;
    /* The alerts naming the subject: its own, and those whose party or
     * object it is (a mule's senders' alerts name the mule). */
    if (list_into(s, &g, NULL, subject, max_own, errstr, errstr_size) < 0)
        goto done;
    /* Its neighbours in them, the most frequent first. */
    for (size_t i = 0; i < g.n_all; i++) {
        const char *v[3] = {g.all[i].subject, g.all[i].party, g.all[i].object};
        for (int k = 0; k < 3; k++) {
            if (!v[k] || strcmp(v[k], subject) == 0)
                continue;
            size_t c = 0;
            while (c < n_counts && !(counts[c].object == (k == 2) && strcmp(counts[c].value, v[k]) == 0))
                c++;
            if (c == n_counts) {
                if (!grow((void **)&counts, &cap_counts, n_counts, sizeof *counts))
                    goto oom;
                counts[n_counts++] = (count){.value = v[k], .object = k == 2};
            }
            counts[c].n++;
        }
    }
    if (n_counts)
        qsort(counts, n_counts, sizeof *counts, by_count);
    /* Their alerts join the graph (list_into copies: `counts` may point
     * into alerts that add_alerts keeps, never frees, so they stay valid). */
    for (size_t c = 0; c < n_counts && c < max_entities; c++)
        if (list_into(s, &g, NULL, counts[c].value, per_entity, errstr, errstr_size) < 0)
            goto done;
    node_for(&g, subject, false);
    for (size_t i = 0; i < g.n_all; i++) {
        const rg_alert *a = &g.all[i];
        node *n = node_for(&g, a->subject, false);
        if (n) {
            n->alerts++;
            n->frozen |= strstr(a->actions, "freeze") != NULL;
        }
        if (a->party && strcmp(a->party, a->subject) != 0)
            link(&g, a, a->party, false);
        if (a->object)
            link(&g, a, a->object, true);
    }
    if (g.oom)
        goto oom;
    put_json(&g, subject, out);
    if (g.oom || !rg_strbuf_ok(out))
        goto oom;
    rc = 0;
    goto done;
oom:
    snprintf(errstr, errstr_size, "out of memory");
done:
    free(counts);
    rg_alerts_free(g.all, g.n_all);
    free(g.nodes);
    free(g.edges);
    return rc;
}
