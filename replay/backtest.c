#include "backtest.h"

#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"

/* decision id -> what each file decided for it */
struct decision_rec {
    unsigned actions[2];
    bool present[2];
    uint16_t subject_off;   /* subject = key + subject_off (key: "decision_id\0subject") */
};

/* "rule_id\0subject" -> which files hit that rule on that subject */
struct rule_subject_rec {
    bool hit[2];
    uint16_t subject_off;
};

/* rule id -> label matches per file */
struct rule_label_rec {
    uint64_t labelled[2];
    uint64_t fraud[2];
};

/* "event_id\0subject" -> label, and whether each file decided it */
struct label_rec {
    int fraud;
    bool decided[2];
    uint16_t subject_off;
};

struct lane_sink {
    rg_sink sink;
    rg_backtest *b;
    int lane;
};

struct rg_backtest {
    struct lane_sink lanes[2];
    rg_strmap *decisions;
    rg_strmap *rule_subjects;
    rg_strmap *rule_labels;
    rg_strmap *labels;
    size_t n_labels;
    rg_strbuf key;
    bool oom;
};

static int on_decision(void *opaque, const rg_decision *d, void *ticket);
static const rg_sink_ops lane_ops = {.name = "backtest collector", .decision = on_decision};

rg_backtest *rg_backtest_new(void)
{
    rg_backtest *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->decisions = rg_strmap_new(sizeof(struct decision_rec));
    b->rule_subjects = rg_strmap_new(sizeof(struct rule_subject_rec));
    b->rule_labels = rg_strmap_new(sizeof(struct rule_label_rec));
    b->labels = rg_strmap_new(sizeof(struct label_rec));
    if (!b->decisions || !b->rule_subjects || !b->rule_labels || !b->labels) {
        rg_backtest_free(b);
        return NULL;
    }
    for (int l = 0; l < 2; l++) {
        b->lanes[l] = (struct lane_sink){.sink = {.ops = &lane_ops, .self = &b->lanes[l]}, .b = b, .lane = l};
    }
    return b;
}

void rg_backtest_free(rg_backtest *b)
{
    if (!b)
        return;
    rg_strmap_free(b->decisions, NULL);
    rg_strmap_free(b->rule_subjects, NULL);
    rg_strmap_free(b->rule_labels, NULL);
    rg_strmap_free(b->labels, NULL);
    rg_strbuf_free(&b->key);
    free(b);
}

const rg_sink *rg_backtest_sink(rg_backtest *b, int lane) { return &b->lanes[lane & 1].sink; }

/* Build "a\0b" in the scratch key. */
static const char *pair_key(rg_backtest *b, const char *a, size_t alen, const char *s, size_t slen)
{
    rg_strbuf_reset(&b->key);
    rg_strbuf_append(&b->key, a, alen);
    rg_strbuf_putc(&b->key, '\0');
    rg_strbuf_append(&b->key, s, slen);
    return rg_strbuf_ok(&b->key) ? b->key.data : NULL;
}

int rg_backtest_add_label(rg_backtest *b, const rg_backtest_label *label)
{
    size_t elen = strlen(label->event_id), slen = strlen(label->subject);
    if (elen > UINT16_MAX - 1 || !pair_key(b, label->event_id, elen, label->subject, slen))
        return -1;
    bool created;
    struct label_rec *r = rg_strmap_put(b->labels, b->key.data, b->key.len, &created);
    if (!r)
        return -1;
    r->fraud = label->fraud;
    r->subject_off = (uint16_t)(elen + 1);
    if (created)
        b->n_labels++;
    return 0;
}

static int on_decision(void *opaque, const rg_decision *d, void *ticket)
{
    struct lane_sink *ls = opaque;
    rg_backtest *b = ls->b;
    int lane = ls->lane;
    size_t subject_len = strlen(d->subject);
    size_t id_len = strlen(d->decision_id);

    if (d->emit) {
        /* Keyed "decision_id\0subject": the subject is not always inside
         * the id (decision_id.h escapes '%' and '/'). */
        if (id_len > UINT16_MAX - 1 || !pair_key(b, d->decision_id, id_len, d->subject, subject_len))
            goto oom;
        struct decision_rec *dr = rg_strmap_put(b->decisions, b->key.data, b->key.len, NULL);
        if (!dr)
            goto oom;
        dr->present[lane] = true;
        dr->actions[lane] = d->actions;
        dr->subject_off = (uint16_t)(id_len + 1);
    }

    /* Label of this (event, subject), looked up once for all its rules. */
    struct label_rec *label = NULL;
    if (b->n_labels) {
        size_t elen = strlen(d->event_id);
        if (pair_key(b, d->event_id, elen, d->subject, subject_len))
            label = rg_strmap_get(b->labels, b->key.data, b->key.len);
        if (label)
            label->decided[lane] = true;
    }
    for (size_t i = 0; i < d->n_hits; i++) {
        const char *rid = d->hits[i].rule_id;
        size_t rlen = strlen(rid);
        if (!pair_key(b, rid, rlen, d->subject, subject_len))
            goto oom;
        struct rule_subject_rec *rs = rg_strmap_put(b->rule_subjects, b->key.data, b->key.len, NULL);
        if (!rs)
            goto oom;
        rs->hit[lane] = true;
        rs->subject_off = (uint16_t)(rlen + 1);
        if (label) {
            struct rule_label_rec *rl = rg_strmap_put(b->rule_labels, rid, rlen, NULL);
            if (!rl)
                goto oom;
            rl->labelled[lane]++;
            rl->fraud[lane] += label->fraud ? 1 : 0;
        }
    }
    return 0;
oom:
    b->oom = true;
    return -1;
}

/* ---- report ---- */

typedef struct strvec {
    const char **v;
    size_t n, cap;
} strvec;

static void strvec_push(strvec *s, const char *x)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        const char **nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return;
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = x;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Sort and drop duplicates (a subject hit by several events appears once). */
static void strvec_sort_unique(strvec *s)
{
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_str);
    size_t w = 1;
    for (size_t i = 1; i < s->n; i++)
        if (strcmp(s->v[i], s->v[w - 1]) != 0)
            s->v[w++] = s->v[i];
    s->n = w;
}

static void put_strvec(rg_strbuf *out, const strvec *s)
{
    rg_strbuf_putc(out, '[');
    for (size_t i = 0; i < s->n; i++) {
        if (i)
            rg_strbuf_putc(out, ',');
        rg_strbuf_put_json_str(out, s->v[i], strlen(s->v[i]));
    }
    rg_strbuf_putc(out, ']');
}

/* A rule id in the union of both files, in order: the current file's
 * rules first, then the candidate's new ones. */
typedef struct rule_row {
    const char *id;
    bool in[2];
    uint64_t hits[2];
    strvec added, removed;
} rule_row;

typedef struct report {
    rule_row *rows;
    size_t n_rows;
    uint64_t dec_total[2], dec_added, dec_removed, dec_changed;
    strvec newly[RG_ACT_COUNT], no_longer[RG_ACT_COUNT];
    strvec fraud_missed;
    uint64_t labels_matched[2];
} report;

static rule_row *find_row(report *r, const char *id)
{
    for (size_t i = 0; i < r->n_rows; i++)
        if (strcmp(r->rows[i].id, id) == 0)
            return &r->rows[i];
    return NULL;
}

struct subj_ctx {
    report *r;
    const rg_strmap *m;
};

static bool collect_rule_subject(const char *key, size_t keylen, void *value, void *arg)
{
    (void)keylen;
    struct rule_subject_rec *rs = value;
    report *r = arg;
    rule_row *row = find_row(r, key);
    if (row && rs->hit[1] != rs->hit[0])
        strvec_push(rs->hit[1] ? &row->added : &row->removed, key + rs->subject_off);
    return true;
}

/* Subjects that carry an action under one file and not the other, over
 * the whole capture: computed per subject, not per decision, so a
 * customer frozen at another event under both files is not "newly" frozen. */
struct subject_actions {
    unsigned actions[2];
};

static bool collect_subject_actions(const char *key, size_t keylen, void *value, void *arg)
{
    (void)keylen;
    struct decision_rec *dr = value;
    rg_strmap *by_subject = arg;
    const char *subject = key + dr->subject_off;
    struct subject_actions *sa = rg_strmap_put(by_subject, subject, strlen(subject), NULL);
    if (sa)
        for (int l = 0; l < 2; l++)
            if (dr->present[l])
                sa->actions[l] |= dr->actions[l];
    return true;
}

static bool diff_subject_actions(const char *key, size_t keylen, void *value, void *arg)
{
    (void)keylen;
    struct subject_actions *sa = value;
    report *r = arg;
    for (int a = 0; a < RG_ACT_COUNT; a++) {
        bool o = sa->actions[0] & RG_ACT_BIT(a), n = sa->actions[1] & RG_ACT_BIT(a);
        if (n && !o)
            strvec_push(&r->newly[a], key);
        if (o && !n)
            strvec_push(&r->no_longer[a], key);
    }
    return true;
}

static bool count_decisions(const char *key, size_t keylen, void *value, void *arg)
{
    (void)key;
    (void)keylen;
    struct decision_rec *dr = value;
    report *r = arg;
    for (int l = 0; l < 2; l++)
        r->dec_total[l] += dr->present[l];
    if (dr->present[1] && !dr->present[0])
        r->dec_added++;
    else if (dr->present[0] && !dr->present[1])
        r->dec_removed++;
    else if (dr->actions[0] != dr->actions[1])
        r->dec_changed++;
    return true;
}

static bool collect_missed(const char *key, size_t keylen, void *value, void *arg)
{
    (void)keylen;
    struct label_rec *lr = value;
    report *r = arg;
    for (int l = 0; l < 2; l++)
        r->labels_matched[l] += lr->decided[l];
    if (lr->fraud && lr->decided[0] && !lr->decided[1])
        strvec_push(&r->fraud_missed, key + lr->subject_off);
    return true;
}

static void add_rows(report *r, const rg_replay_lane_result *lr, int lane)
{
    const rg_engine_stats st = lr->stats;
    const rg_ruleset *rs = lr->rs;
    for (size_t i = 0; i < st.n_rules; i++) {
        const rg_rule *rule = rg_ruleset_rule(rs, i);
        rule_row *row = find_row(r, rule->id);
        if (!row) {
            row = &r->rows[r->n_rows++];
            memset(row, 0, sizeof *row);
            row->id = rule->id;
        }
        row->in[lane] = true;
        row->hits[lane] = st.rule_hits[i];
    }
}

static void build_report(rg_backtest *b, const rg_replay_result *res, report *r)
{
    memset(r, 0, sizeof *r);
    size_t cap = rg_ruleset_rule_count(res->lane[0].rs) + rg_ruleset_rule_count(res->lane[1].rs);
    r->rows = calloc(cap ? cap : 1, sizeof *r->rows);
    if (!r->rows)
        return;
    add_rows(r, &res->lane[0], 0);
    add_rows(r, &res->lane[1], 1);
    rg_strmap_foreach(b->rule_subjects, collect_rule_subject, r);
    for (size_t i = 0; i < r->n_rows; i++) {
        strvec_sort_unique(&r->rows[i].added);
        strvec_sort_unique(&r->rows[i].removed);
    }
    rg_strmap_foreach(b->decisions, count_decisions, r);
    rg_strmap *by_subject = rg_strmap_new(sizeof(struct subject_actions));
    if (by_subject) {
        rg_strmap_foreach(b->decisions, collect_subject_actions, by_subject);
        rg_strmap_foreach(by_subject, diff_subject_actions, r);
    }
    for (int a = 0; a < RG_ACT_COUNT; a++) {
        /* Keys point into by_subject: copy before it goes. */
        strvec *lists[2] = {&r->newly[a], &r->no_longer[a]};
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < lists[k]->n; i++)
                lists[k]->v[i] = strdup(lists[k]->v[i]);
        strvec_sort_unique(&r->newly[a]);
        strvec_sort_unique(&r->no_longer[a]);
    }
    rg_strmap_free(by_subject, NULL);
    rg_strmap_foreach(b->labels, collect_missed, r);
    strvec_sort_unique(&r->fraud_missed);
}

static void free_report(report *r)
{
    for (size_t i = 0; i < r->n_rows; i++) {
        free(r->rows[i].added.v);
        free(r->rows[i].removed.v);
    }
    free(r->rows);
    for (int a = 0; a < RG_ACT_COUNT; a++) {
        strvec *lists[2] = {&r->newly[a], &r->no_longer[a]};
        for (int k = 0; k < 2; k++) {
            for (size_t i = 0; i < lists[k]->n; i++)
                free((char *)lists[k]->v[i]);
            free(lists[k]->v);
        }
    }
    free(r->fraud_missed.v);
}

static void put_precision(rg_strbuf *out, uint64_t fraud, uint64_t labelled)
{
    if (labelled)
        rg_strbuf_printf(out, "%.4f", (double)fraud / (double)labelled);
    else
        rg_strbuf_puts(out, "null");
}

void rg_backtest_report_json(rg_backtest *b, const rg_replay_result *res, rg_strbuf *out)
{
    report r;
    build_report(b, res, &r);
    rg_strbuf_printf(out, "{\"old\":\"%s\",\"new\":\"%s\",\"events\":%llu,\"rules\":[",
                     rg_ruleset_id(res->lane[0].rs), rg_ruleset_id(res->lane[1].rs),
                     (unsigned long long)res->accepted);
    for (size_t i = 0; i < r.n_rows; i++) {
        rule_row *row = &r.rows[i];
        rg_strbuf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        rg_strbuf_put_json_str(out, row->id, strlen(row->id));
        rg_strbuf_printf(out, ",\"in\":\"%s\",\"old_hits\":%llu,\"new_hits\":%llu,\"delta\":%lld,\"subjects_added\":",
                         row->in[0] && row->in[1] ? "both" : row->in[0] ? "old" : "new",
                         (unsigned long long)row->hits[0], (unsigned long long)row->hits[1],
                         (long long)row->hits[1] - (long long)row->hits[0]);
        put_strvec(out, &row->added);
        rg_strbuf_puts(out, ",\"subjects_removed\":");
        put_strvec(out, &row->removed);
        if (b->n_labels) {
            struct rule_label_rec *rl = rg_strmap_get(b->rule_labels, row->id, strlen(row->id));
            struct rule_label_rec zero = {{0, 0}, {0, 0}};
            if (!rl)
                rl = &zero;
            for (int l = 0; l < 2; l++) {
                const char *p = l ? "new" : "old";
                rg_strbuf_printf(out, ",\"%s_labelled\":%llu,\"%s_fraud\":%llu,\"%s_precision\":", p,
                                 (unsigned long long)rl->labelled[l], p, (unsigned long long)rl->fraud[l], p);
                put_precision(out, rl->fraud[l], rl->labelled[l]);
            }
        }
        rg_strbuf_putc(out, '}');
    }
    rg_strbuf_printf(out, "],\"decisions\":{\"old\":%llu,\"new\":%llu,\"added\":%llu,\"removed\":%llu,\"changed\":%llu}",
                     (unsigned long long)r.dec_total[0], (unsigned long long)r.dec_total[1],
                     (unsigned long long)r.dec_added, (unsigned long long)r.dec_removed,
                     (unsigned long long)r.dec_changed);
    rg_strbuf_puts(out, ",\"subjects\":{");
    for (int a = 0; a < RG_ACT_RELEASE; a++) {
        const char *name = rg_action_name((rg_action)a);
        rg_strbuf_printf(out, "%s\"newly_%s\":", a ? "," : "", name);
        put_strvec(out, &r.newly[a]);
        rg_strbuf_printf(out, ",\"no_longer_%s\":", name);
        put_strvec(out, &r.no_longer[a]);
    }
    rg_strbuf_putc(out, '}');
    if (b->n_labels) {
        rg_strbuf_printf(out, ",\"labels\":{\"labelled\":%llu,\"matched_old\":%llu,\"matched_new\":%llu,"
                              "\"fraud_subjects_missed_by_candidate\":",
                         (unsigned long long)b->n_labels, (unsigned long long)r.labels_matched[0],
                         (unsigned long long)r.labels_matched[1]);
        put_strvec(out, &r.fraud_missed);
        rg_strbuf_putc(out, '}');
    }
    rg_strbuf_putc(out, '}');
    if (b->oom)
        out->oom = true;
    free_report(&r);
}

static void put_names(rg_strbuf *out, const strvec *s, size_t max)
{
    for (size_t i = 0; i < s->n && i < max; i++)
        rg_strbuf_printf(out, "%s%s", i ? ", " : "", s->v[i]);
    if (s->n > max)
        rg_strbuf_printf(out, ", ... (%zu more)", s->n - max);
}

void rg_backtest_report_text(rg_backtest *b, const rg_replay_result *res, rg_strbuf *out)
{
    report r;
    build_report(b, res, &r);
    rg_strbuf_printf(out, "backtest: %llu events, current %s vs candidate %s\n\n",
                     (unsigned long long)res->accepted, rg_ruleset_id(res->lane[0].rs), rg_ruleset_id(res->lane[1].rs));
    /* The rule column fits the longest label ("id (old only)"), so the
     * figures stay aligned whatever the ids. */
    int width = 26;
    for (size_t i = 0; i < r.n_rows; i++) {
        int w = (int)strlen(r.rows[i].id) + (r.rows[i].in[0] && r.rows[i].in[1] ? 0 : 11);
        if (w > width)
            width = w;
    }
    rg_strbuf_printf(out, "%-*s %9s %9s %8s %8s %8s", width, "rule", "old_hits", "new_hits", "delta", "+subj",
                     "-subj");
    if (b->n_labels)
        rg_strbuf_printf(out, " %9s %9s", "old_prec", "new_prec");
    rg_strbuf_putc(out, '\n');
    for (size_t i = 0; i < r.n_rows; i++) {
        rule_row *row = &r.rows[i];
        char label[80];
        snprintf(label, sizeof label, "%s%s", row->id, row->in[0] && row->in[1] ? "" : row->in[0] ? " (old only)" : " (new)");
        rg_strbuf_printf(out, "%-*s %9llu %9llu %+8lld %8zu %8zu", width, label, (unsigned long long)row->hits[0],
                         (unsigned long long)row->hits[1], (long long)row->hits[1] - (long long)row->hits[0],
                         row->added.n, row->removed.n);
        if (b->n_labels) {
            struct rule_label_rec *rl = rg_strmap_get(b->rule_labels, row->id, strlen(row->id));
            for (int l = 0; l < 2; l++) {
                if (rl && rl->labelled[l])
                    rg_strbuf_printf(out, " %8.1f%%", 100.0 * (double)rl->fraud[l] / (double)rl->labelled[l]);
                else
                    rg_strbuf_printf(out, " %9s", "-");
            }
        }
        rg_strbuf_putc(out, '\n');
    }
    rg_strbuf_printf(out, "\ndecisions: old %llu, new %llu; added %llu, removed %llu, changed %llu\n",
                     (unsigned long long)r.dec_total[0], (unsigned long long)r.dec_total[1],
                     (unsigned long long)r.dec_added, (unsigned long long)r.dec_removed,
                     (unsigned long long)r.dec_changed);
    for (int a = 0; a < RG_ACT_RELEASE; a++) {
        const char *name = rg_action_name((rg_action)a);
        if (r.newly[a].n) {
            rg_strbuf_printf(out, "newly %s (%zu): ", name, r.newly[a].n);
            put_names(out, &r.newly[a], 5);
            rg_strbuf_putc(out, '\n');
        }
        if (r.no_longer[a].n) {
            rg_strbuf_printf(out, "no longer %s (%zu): ", name, r.no_longer[a].n);
            put_names(out, &r.no_longer[a], 5);
            rg_strbuf_putc(out, '\n');
        }
    }
    if (b->n_labels) {
        rg_strbuf_printf(out, "labels: %zu labelled alerts; fraud-labelled subjects the candidate misses (%zu): ",
                         b->n_labels, r.fraud_missed.n);
        if (r.fraud_missed.n)
            put_names(out, &r.fraud_missed, 5);
        else
            rg_strbuf_puts(out, "none");
        rg_strbuf_putc(out, '\n');
    }
    free_report(&r);
}
