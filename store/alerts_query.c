/*
 * alerts_query.c — reading the alert store: list/scan/count/get and
 * per-rule precision. Contracts in alerts.h.
 *
 * Every value a caller gives reaches SQL as a bound parameter; the only
 * SQL text built at run time is the WHERE clause of a list, assembled from
 * fixed fragments chosen by which filters are set.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../decisions/decision_id.h"
#include "alerts_internal.h"

#define RG_STR_(x) #x
#define RG_STR(x) RG_STR_(x)

#define ALERT_COLUMNS                                                                        \
    "a.id, a.decision_id, a.event_id, a.subject, a.event_type, a.ts_ms, a.actions, a.ruleset," \
    " a.suppressed, a.status, a.label, a.note, a.labelled_by, a.labelled_ms, a.resolved_by,"   \
    " a.resolved_ms, a.stored_ms, a.assignee, a.assigned_ms, a.party, a.object"
#define ALERT_NCOLS 21

void rg_alert_clear(rg_alert *a)
{
    if (!a)
        return;
    free(a->decision_id);
    free(a->event_id);
    free(a->subject);
    free(a->event_type);
    free(a->actions);
    free(a->ruleset);
    free(a->status);
    free(a->label);
    free(a->note);
    free(a->labelled_by);
    free(a->resolved_by);
    free(a->assignee);
    free(a->party);
    free(a->object);
    for (size_t i = 0; i < a->n_hits; i++) {
        free(a->hits[i].rule_id);
        free(a->hits[i].reason);
        free(a->hits[i].evidence_json);
    }
    free(a->hits);
    free(a->decision_json);
    free(a->event_json);
    free(a->release_json);
    memset(a, 0, sizeof *a);
}

void rg_alerts_free(rg_alert *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++)
        rg_alert_clear(&a[i]);
    free(a);
}

void rg_alert_filter_init(rg_alert_filter *f)
{
    memset(f, 0, sizeof *f);
    f->since_ms = INT64_MIN;
    f->until_ms = INT64_MAX;
}

/* Columns of ALERT_COLUMNS into a (the id into *id). Returns -1 on OOM. */
static int read_alert(sqlite3_stmt *st, rg_alert *a, int64_t *id)
{
    memset(a, 0, sizeof *a);
    *id = sqlite3_column_int64(st, 0);
    a->decision_id = rg_alerts_col_dup(st, 1);
    a->event_id = rg_alerts_col_dup(st, 2);
    a->subject = rg_alerts_col_dup(st, 3);
    a->event_type = rg_alerts_col_dup(st, 4);
    a->ts_ms = sqlite3_column_int64(st, 5);
    a->actions = rg_alerts_col_dup(st, 6);
    a->ruleset = rg_alerts_col_dup(st, 7);
    a->suppressed = sqlite3_column_int(st, 8) != 0;
    a->status = rg_alerts_col_dup(st, 9);
    a->label = rg_alerts_col_dup(st, 10);
    a->note = rg_alerts_col_dup(st, 11);
    a->labelled_by = rg_alerts_col_dup(st, 12);
    a->labelled_ms = sqlite3_column_int64(st, 13);
    a->resolved_by = rg_alerts_col_dup(st, 14);
    a->resolved_ms = sqlite3_column_int64(st, 15);
    a->stored_ms = sqlite3_column_int64(st, 16);
    a->assignee = rg_alerts_col_dup(st, 17);
    a->assigned_ms = sqlite3_column_int64(st, 18);
    a->party = rg_alerts_col_dup(st, 19);
    a->object = rg_alerts_col_dup(st, 20);
    if (!a->decision_id || !a->event_id || !a->subject || !a->event_type || !a->actions ||
        !a->ruleset || !a->status)
        return -1;
    return 0;
}

/* Hits of alert `id` (st: the prepared hits query, reset here). */
static int read_hits(rg_alert_store *s, sqlite3_stmt *st, int64_t id, rg_alert *a, char *errstr,
                     size_t errstr_size)
{
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (a->n_hits == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            rg_alert_hit *nh = realloc(a->hits, ncap * sizeof *nh);
            if (!nh)
                goto oom;
            a->hits = nh;
            cap = ncap;
        }
        rg_alert_hit *h = &a->hits[a->n_hits++];
        memset(h, 0, sizeof *h);
        h->rule_id = rg_alerts_col_dup(st, 0);
        h->suppressed = sqlite3_column_int(st, 1) != 0;
        if (!h->rule_id)
            goto oom;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "reading rule hits", errstr, errstr_size);
        return -1;
    }
    return 0;
oom:
    sqlite3_reset(st);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
    return -1;
}

/*
 * How a list is read (docs/review.md, "Speed"). A filter that picks few
 * alerts (a subject, an entity, a search, a rare rule, a label, an
 * assignee) drives the query through its own index; without one, the
 * list walks the index of its sort order and tests the other filters
 * there: for the time order that index (alerts_queue) holds every
 * filterable column, so neither the list nor its count reads a row it
 * does not return. A rule is "rare" when it has at most RULE_DRIVES hits,
 * a search term "narrow" when at most SEARCH_DRIVES subjects contain it
 * (counted with a LIMIT, so probing costs little either way).
 */
#define RULE_DRIVES 20000
#define SEARCH_DRIVES 2000

typedef struct plan {
    const char *from;           /* "alerts a" or "alerts a INDEXED BY ..." */
    bool rule_by_hits;          /* rule: a.id IN (hits) rather than a test on a.rules */
    bool action_by_index;       /* action: a.actions IN (its combinations) through alerts_actions_ts */
    bool search_fts;            /* search: trigram indexes rather than LIKE on the ids */
    bool search_short;          /* under 3 characters: ids and subjects from their start only */
    const char *action_sets[8]; /* the values of `actions` that include the action */
    rg_strbuf rule_word;        /* " rule " */
    rg_strbuf action_word;      /* " action " */
    rg_strbuf search_match;     /* the FTS5 phrase "term" */
    rg_strbuf search_like;      /* %term% with LIKE's wildcards escaped */
    rg_strbuf search_like_esc;  /* the same for the term escaped as an id part */
    rg_strbuf search_lo, search_hi;     /* ids starting with the term */
    rg_strbuf search_elo, search_ehi;   /* ids starting with the term escaped as an event id */
    rg_strbuf entity_lo, entity_hi;     /* ids of the entity's event: "esc(entity)/" .. "esc(entity)0" */
} plan;

static void plan_free(plan *p)
{
    rg_strbuf *bufs[] = {&p->rule_word, &p->action_word, &p->search_match, &p->search_like,
                         &p->search_like_esc, &p->search_lo, &p->search_hi, &p->search_elo,
                         &p->search_ehi, &p->entity_lo, &p->entity_hi};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        rg_strbuf_free(bufs[i]);
}

static bool plan_ok(const plan *p)
{
    const rg_strbuf *bufs[] = {&p->rule_word, &p->action_word, &p->search_match, &p->search_like,
                               &p->search_like_esc, &p->search_lo, &p->search_hi, &p->search_elo,
                               &p->search_ehi, &p->entity_lo, &p->entity_hi};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (!rg_strbuf_ok(bufs[i]))
            return false;
    return true;
}

/* Count rows of `sql` (one text parameter) up to `cap` + 1. */
static int probe_count(rg_alert_store *s, const char *sql, const char *param, int64_t *n,
                       char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(s, sql, errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "planning a list", errstr, errstr_size);
        return -1;
    }
    return 0;
}

/* Characters (not bytes) of UTF-8 text: the trigram index needs 3. */
static size_t utf8_chars(const char *t)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* LIKE pattern %t% with '%', '_' and '\' escaped by '\'. */
static void put_like(rg_strbuf *out, const char *t)
{
    rg_strbuf_putc(out, '%');
    for (; *t; t++) {
        if (*t == '%' || *t == '_' || *t == '\\')
            rg_strbuf_putc(out, '\\');
        rg_strbuf_putc(out, *t);
    }
    rg_strbuf_putc(out, '%');
}

/* [lo, hi): every text starting with `prefix` (hi: prefix + U+10FFFF's
 * bytes, above anything an id continues with). */
static void put_prefix_range(rg_strbuf *lo, rg_strbuf *hi, const char *prefix, size_t len)
{
    rg_strbuf_append(lo, prefix, len);
    rg_strbuf_append(hi, prefix, len);
    rg_strbuf_puts(hi, "\xf4\x8f\xbf\xbf");
}

/* The stored `actions` values (detection.md order, space-separated) that
 * include `action`: every subset of the four actions containing it. */
static void action_sets(const char *action, const char **out)
{
    static const char *const SETS[] = {
        "freeze", "face_verify", "freeze face_verify", "review", "freeze review", "face_verify review",
        "freeze face_verify review", "release", "freeze release", "face_verify release",
        "freeze face_verify release", "review release", "freeze review release",
        "face_verify review release", "freeze face_verify review release",
    };
    size_t n = 0, len = strlen(action);
    for (size_t i = 0; i < sizeof SETS / sizeof SETS[0]; i++) {
        const char *at = strstr(SETS[i], action);
        if (at && (at == SETS[i] || at[-1] == ' ') && (at[len] == '\0' || at[len] == ' '))
            out[n++] = SETS[i];
    }
    while (n < 8)
        out[n++] = "";
}

static int make_plan(rg_alert_store *s, const rg_alert_filter *f, plan *p, bool for_count,
                     char *errstr, size_t errstr_size)
{
    memset(p, 0, sizeof *p);
    bool driven = f->subject || f->entity || f->labelled_only ||
                  (f->label && strcmp(f->label, "none") != 0) ||
                  (f->assignee && strcmp(f->assignee, "none") != 0);
    if (f->rule) {
        int64_t hits;
        if (probe_count(s, "SELECT count(*) FROM (SELECT 1 FROM hits WHERE rule_id = ?1 LIMIT "
                           RG_STR(RULE_DRIVES) " + 1)", f->rule, &hits, errstr, errstr_size) < 0)
            return -1;
        p->rule_by_hits = hits <= RULE_DRIVES;
        driven |= p->rule_by_hits;
        rg_strbuf_printf(&p->rule_word, " %s ", f->rule);
    }
    if (f->action) {
        rg_strbuf_printf(&p->action_word, " %s ", f->action);
        action_sets(f->action, p->action_sets);
        sqlite3_stmt *st = rg_alerts_prepare(
            s, "SELECT count(*) FROM (SELECT 1 FROM alerts INDEXED BY alerts_actions_ts"
               " WHERE actions IN (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) LIMIT " RG_STR(RULE_DRIVES) " + 1)",
            errstr, errstr_size);
        if (!st)
            return -1;
        for (int i = 0; i < 8; i++)
            sqlite3_bind_text(st, i + 1, p->action_sets[i], -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        int64_t n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW) {
            rg_alerts_sql_error(s, "planning a list", errstr, errstr_size);
            return -1;
        }
        p->action_by_index = n <= RULE_DRIVES;
        driven |= p->action_by_index;
    }
    if (f->search) {
        const char *t = f->search;
        rg_strbuf_putc(&p->search_match, '"');
        for (const char *c = t; *c; c++) {
            if (*c == '"')
                rg_strbuf_putc(&p->search_match, '"');
            rg_strbuf_putc(&p->search_match, *c);
        }
        rg_strbuf_putc(&p->search_match, '"');
        rg_strbuf esc = RG_STRBUF_INIT;
        rg_decision_id_put_part(&esc, t, strlen(t));
        put_like(&p->search_like, t);
        put_like(&p->search_like_esc, esc.data ? esc.data : "");
        put_prefix_range(&p->search_lo, &p->search_hi, t, strlen(t));
        put_prefix_range(&p->search_elo, &p->search_ehi, esc.data ? esc.data : "", esc.len);
        rg_strbuf_free(&esc);
        p->search_short = utf8_chars(t) < 3;
        if (!p->search_short && rg_strbuf_ok(&p->search_match)) {
            int64_t subjects;
            if (probe_count(s, "SELECT count(*) FROM (SELECT 1 FROM subjects_fts WHERE subjects_fts"
                               " MATCH ?1 LIMIT " RG_STR(SEARCH_DRIVES) " + 1)",
                            p->search_match.data, &subjects, errstr, errstr_size) < 0)
                return -1;
            p->search_fts = subjects <= SEARCH_DRIVES;
        }
        driven |= p->search_fts || p->search_short;
    }
    if (f->entity) {
        rg_strbuf esc = RG_STRBUF_INIT;
        rg_decision_id_put_part(&esc, f->entity, strlen(f->entity));
        rg_strbuf_putc(&esc, '/');
        rg_strbuf_append(&p->entity_lo, esc.data, esc.len);
        rg_strbuf_append(&p->entity_hi, esc.data, esc.len - 1);
        rg_strbuf_putc(&p->entity_hi, '/' + 1);
        rg_strbuf_free(&esc);
    }
    if (!plan_ok(p)) {
        snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        return -1;
    }
    /* Without a driver, walk the sort order's index (see above); a count
     * has no order, and walks the queue index unless status alone (its
     * own index) or nothing filters. */
    p->from = "alerts a";
    bool only_status = !f->label && !f->action && !f->assignee && !f->search && !f->rule;
    rg_alert_sort sort = for_count ? RG_SORT_TIME : f->sort;
    if (!driven && sort == RG_SORT_TIME && !only_status)
        p->from = "alerts a INDEXED BY alerts_queue";
    else if (!driven && sort == RG_SORT_SUBJECT)
        p->from = "alerts a INDEXED BY alerts_subject_ts";
    else if (!driven && sort == RG_SORT_STATUS)
        p->from = "alerts a INDEXED BY alerts_status_ts";
    return 0;
}

/* WHERE clause for f; binds start at ?1 in the order of the fragments
 * (bind_where follows the same order). */
static void build_where(const rg_alert_filter *f, const plan *p, rg_strbuf *sql)
{
    rg_strbuf_puts(sql, " WHERE 1");
    if (f->status)
        rg_strbuf_puts(sql, " AND a.status = ?");
    if (f->subject)
        rg_strbuf_puts(sql, " AND a.subject = ?");
    if (f->since_ms != INT64_MIN)
        rg_strbuf_puts(sql, " AND a.ts_ms >= ?");
    if (f->until_ms != INT64_MAX)
        rg_strbuf_puts(sql, " AND a.ts_ms < ?");
    if (f->rule)
        rg_strbuf_puts(sql, p->rule_by_hits ? " AND a.id IN (SELECT alert_id FROM hits WHERE rule_id = ?)"
                                            : " AND instr(' ' || a.rules || ' ', ?)");
    if (f->labelled_only)
        rg_strbuf_puts(sql, " AND a.label IS NOT NULL");
    if (f->label)
        rg_strbuf_puts(sql, strcmp(f->label, "none") == 0 ? " AND a.label IS NULL" : " AND a.label = ?");
    if (f->action)
        rg_strbuf_puts(sql, p->action_by_index ? " AND a.actions IN (?, ?, ?, ?, ?, ?, ?, ?)"
                                               : " AND instr(' ' || a.actions || ' ', ?)");
    if (f->assignee)
        rg_strbuf_puts(sql, strcmp(f->assignee, "none") == 0 ? " AND a.assignee IS NULL"
                                                              : " AND a.assignee = ?");
    if (f->search && p->search_short)
        rg_strbuf_puts(sql, " AND (a.subject = ? OR (a.decision_id >= ? AND a.decision_id < ?)"
                            " OR (a.decision_id >= ? AND a.decision_id < ?))");
    else if (f->search && p->search_fts)
        rg_strbuf_puts(sql, " AND (a.subject IN (SELECT name FROM subjects WHERE id IN"
                            " (SELECT rowid FROM subjects_fts WHERE subjects_fts MATCH ?))"
                            " OR a.id IN (SELECT rowid FROM notes_fts WHERE notes_fts MATCH ?)"
                            " OR (a.decision_id >= ? AND a.decision_id < ?)"
                            " OR (a.decision_id >= ? AND a.decision_id < ?))");
    else if (f->search)
        rg_strbuf_puts(sql, " AND (a.decision_id LIKE ? ESCAPE '\\' OR a.decision_id LIKE ? ESCAPE '\\'"
                            " OR (a.label IS NOT NULL AND a.note LIKE ? ESCAPE '\\'))");
    if (f->entity)
        rg_strbuf_puts(sql, " AND (a.subject = ? OR a.party = ? OR a.object = ?"
                            " OR (a.decision_id >= ? AND a.decision_id < ?))");
}

static void bind_buf(sqlite3_stmt *st, int i, const rg_strbuf *b)
{
    sqlite3_bind_text(st, i, b->data ? b->data : "", (int)b->len, SQLITE_STATIC);
}

static int bind_where(sqlite3_stmt *st, const rg_alert_filter *f, const plan *p)
{
    int i = 1;
    if (f->status)
        sqlite3_bind_text(st, i++, f->status, -1, SQLITE_STATIC);
    if (f->subject)
        sqlite3_bind_text(st, i++, f->subject, -1, SQLITE_STATIC);
    if (f->since_ms != INT64_MIN)
        sqlite3_bind_int64(st, i++, f->since_ms);
    if (f->until_ms != INT64_MAX)
        sqlite3_bind_int64(st, i++, f->until_ms);
    if (f->rule) {
        if (p->rule_by_hits)
            sqlite3_bind_text(st, i++, f->rule, -1, SQLITE_STATIC);
        else
            bind_buf(st, i++, &p->rule_word);
    }
    if (f->label && strcmp(f->label, "none") != 0)
        sqlite3_bind_text(st, i++, f->label, -1, SQLITE_STATIC);
    if (f->action && p->action_by_index) {
        for (int k = 0; k < 8; k++)
            sqlite3_bind_text(st, i++, p->action_sets[k], -1, SQLITE_STATIC);
    } else if (f->action) {
        bind_buf(st, i++, &p->action_word);
    }
    if (f->assignee && strcmp(f->assignee, "none") != 0)
        sqlite3_bind_text(st, i++, f->assignee, -1, SQLITE_STATIC);
    if (f->search && p->search_short) {
        sqlite3_bind_text(st, i++, f->search, -1, SQLITE_STATIC);
        bind_buf(st, i++, &p->search_lo);
        bind_buf(st, i++, &p->search_hi);
        bind_buf(st, i++, &p->search_elo);
        bind_buf(st, i++, &p->search_ehi);
    } else if (f->search && p->search_fts) {
        bind_buf(st, i++, &p->search_match);
        bind_buf(st, i++, &p->search_match);
        bind_buf(st, i++, &p->search_lo);
        bind_buf(st, i++, &p->search_hi);
        bind_buf(st, i++, &p->search_elo);
        bind_buf(st, i++, &p->search_ehi);
    } else if (f->search) {
        bind_buf(st, i++, &p->search_like);
        bind_buf(st, i++, &p->search_like_esc);
        bind_buf(st, i++, &p->search_like);
    }
    if (f->entity) {
        for (int k = 0; k < 3; k++)
            sqlite3_bind_text(st, i++, f->entity, -1, SQLITE_STATIC);
        bind_buf(st, i++, &p->entity_lo);
        bind_buf(st, i++, &p->entity_hi);
    }
    return i;
}

static const char *order_by(const rg_alert_filter *f)
{
    static const char *const ORDERS[][2] = {
        [RG_SORT_TIME] = {" ORDER BY a.ts_ms, a.decision_id", " ORDER BY a.ts_ms DESC, a.decision_id DESC"},
        [RG_SORT_SUBJECT] = {" ORDER BY a.subject, a.ts_ms, a.decision_id",
                             " ORDER BY a.subject DESC, a.ts_ms DESC, a.decision_id DESC"},
        [RG_SORT_STATUS] = {" ORDER BY a.status, a.ts_ms, a.decision_id",
                            " ORDER BY a.status DESC, a.ts_ms DESC, a.decision_id DESC"},
    };
    int k = f->sort >= RG_SORT_TIME && f->sort <= RG_SORT_STATUS ? (int)f->sort : RG_SORT_TIME;
    return ORDERS[k][f->newest_first];
}

static sqlite3_stmt *prepare_built(rg_alert_store *s, rg_strbuf *sql, char *errstr, size_t errstr_size)
{
    if (!rg_strbuf_ok(sql)) {
        snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        return NULL;
    }
    return rg_alerts_prepare(s, sql->data, errstr, errstr_size);
}

/* Filters whose exact count one index answers (counting its entries). */
static bool counted_by_one_index(const rg_alert_filter *f)
{
    bool timed = f->since_ms != INT64_MIN || f->until_ms != INT64_MAX;
    int n = !!f->status + !!f->rule + !!f->subject + !!f->label + !!f->action + !!f->assignee +
            !!f->search + !!f->entity + f->labelled_only + timed;
    if (n == 0)
        return true;
    if (n > 1)
        return false;
    return f->status || f->rule || f->subject || f->entity || timed || f->labelled_only ||
           (f->label && strcmp(f->label, "none") != 0) || (f->assignee && strcmp(f->assignee, "none") != 0);
}

/* count(*) of the filter; past `cap` matches (cap > 0) it stops at cap + 1. */
static int count_plan(rg_alert_store *s, const rg_alert_filter *f, int64_t cap, int64_t *total,
                      char *errstr, size_t errstr_size)
{
    plan p;
    if (make_plan(s, f, &p, true, errstr, errstr_size) < 0) {
        plan_free(&p);
        return -1;
    }
    rg_strbuf sql = RG_STRBUF_INIT;
    rg_strbuf_printf(&sql, cap > 0 ? "SELECT count(*) FROM (SELECT 1 FROM %s" : "SELECT count(*) FROM %s", p.from);
    build_where(f, &p, &sql);
    if (cap > 0)
        rg_strbuf_printf(&sql, " LIMIT %lld)", (long long)cap + 1);
    sqlite3_stmt *st = prepare_built(s, &sql, errstr, errstr_size);
    rg_strbuf_free(&sql);
    int rc = SQLITE_ERROR;
    if (st) {
        bind_where(st, f, &p);
        rc = sqlite3_step(st);
        *total = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        if (rc != SQLITE_ROW)
            rg_alerts_sql_error(s, "counting alerts", errstr, errstr_size);
        sqlite3_finalize(st);
    }
    plan_free(&p);
    return rc == SQLITE_ROW ? 0 : -1;
}

int rg_alert_store_count(rg_alert_store *s, const rg_alert_filter *f, int64_t *total,
                         char *errstr, size_t errstr_size)
{
    return count_plan(s, f, 0, total, errstr, errstr_size);
}

int rg_alert_store_count_upto(rg_alert_store *s, const rg_alert_filter *f, int64_t cap, int64_t *total,
                              bool *exact, char *errstr, size_t errstr_size)
{
    bool whole = cap <= 0 || counted_by_one_index(f);
    if (count_plan(s, f, whole ? 0 : cap, total, errstr, errstr_size) < 0)
        return -1;
    *exact = whole || *total <= cap;
    if (!*exact)
        *total = cap;
    return 0;
}

int rg_alert_store_scan(rg_alert_store *s, const rg_alert_filter *f, rg_alert_cb cb, void *ctx,
                        char *errstr, size_t errstr_size)
{
    plan p;
    sqlite3_stmt *st = NULL, *hits = NULL;
    int result = -1;
    if (make_plan(s, f, &p, false, errstr, errstr_size) < 0)
        goto done;
    rg_strbuf sql = RG_STRBUF_INIT;
    rg_strbuf_printf(&sql, "SELECT " ALERT_COLUMNS " FROM %s", p.from);
    build_where(f, &p, &sql);
    rg_strbuf_puts(&sql, order_by(f));
    rg_strbuf_puts(&sql, " LIMIT ? OFFSET ?");
    st = prepare_built(s, &sql, errstr, errstr_size);
    rg_strbuf_free(&sql);
    hits = st ? rg_alerts_prepare(
        s, "SELECT rule_id, suppressed FROM hits WHERE alert_id = ? ORDER BY position",
        errstr, errstr_size) : NULL;
    if (!st || !hits)
        goto done;
    int i = bind_where(st, f, &p);
    sqlite3_bind_int64(st, i++, f->limit ? (sqlite3_int64)f->limit : -1);
    sqlite3_bind_int64(st, i, (sqlite3_int64)f->offset);

    int rc = SQLITE_DONE;
    result = 0;
    while (result == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        rg_alert a;
        int64_t id;
        if (read_alert(st, &a, &id) < 0) {
            rg_alert_clear(&a);
            snprintf(errstr, errstr_size, "%s: out of memory", s->path);
            result = -1;
            break;
        }
        if (read_hits(s, hits, id, &a, errstr, errstr_size) < 0)
            result = -1;
        else
            result = cb(ctx, &a);
        rg_alert_clear(&a);
    }
    if (result == 0 && rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "listing alerts", errstr, errstr_size);
        result = -1;
    }
done:
    sqlite3_finalize(st);
    sqlite3_finalize(hits);
    plan_free(&p);
    return result;
}

typedef struct collect_ctx {
    rg_alert *items;
    size_t n, cap;
} collect_ctx;

static char *dup_or_null(const char *t) { return t ? strdup(t) : NULL; }

/* Deep copy of a listed alert (hits: rule ids and flags). */
static int copy_alert(rg_alert *dst, const rg_alert *src)
{
    *dst = *src;
    dst->decision_id = dup_or_null(src->decision_id);
    dst->event_id = dup_or_null(src->event_id);
    dst->subject = dup_or_null(src->subject);
    dst->event_type = dup_or_null(src->event_type);
    dst->actions = dup_or_null(src->actions);
    dst->ruleset = dup_or_null(src->ruleset);
    dst->status = dup_or_null(src->status);
    dst->label = dup_or_null(src->label);
    dst->note = dup_or_null(src->note);
    dst->labelled_by = dup_or_null(src->labelled_by);
    dst->resolved_by = dup_or_null(src->resolved_by);
    dst->assignee = dup_or_null(src->assignee);
    dst->party = dup_or_null(src->party);
    dst->object = dup_or_null(src->object);
    dst->decision_json = dst->event_json = dst->release_json = NULL;
    dst->hits = src->n_hits ? calloc(src->n_hits, sizeof *dst->hits) : NULL;
    dst->n_hits = dst->hits ? src->n_hits : 0;
    for (size_t i = 0; i < dst->n_hits; i++) {
        dst->hits[i].rule_id = dup_or_null(src->hits[i].rule_id);
        dst->hits[i].suppressed = src->hits[i].suppressed;
        if (!dst->hits[i].rule_id)
            return -1;
    }
    return dst->decision_id && dst->status && (dst->hits || !src->n_hits) ? 0 : -1;
}

static int collect_one(void *opaque, const rg_alert *a)
{
    collect_ctx *c = opaque;
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        rg_alert *ni = realloc(c->items, ncap * sizeof *ni);
        if (!ni)
            return -2;
        c->items = ni;
        c->cap = ncap;
    }
    rg_alert *dst = &c->items[c->n++];
    if (copy_alert(dst, a) < 0)
        return -2;
    return 0;
}

int rg_alert_store_list(rg_alert_store *s, const rg_alert_filter *f, rg_alert **out, size_t *n,
                        char *errstr, size_t errstr_size)
{
    collect_ctx c = {0};
    int rc = rg_alert_store_scan(s, f, collect_one, &c, errstr, errstr_size);
    if (rc != 0) {
        if (rc == -2)
            snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        rg_alerts_free(c.items, c.n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    *out = c.items;
    *n = c.n;
    return 0;
}

/* Reasons and evidence from the stored decision's rules[] (matched by
 * rule id; a decision names each rule once). A decision that does not
 * parse leaves them NULL: show still prints what the columns hold. */
static int hit_details(rg_alert_store *s, rg_alert *a, char *errstr, size_t errstr_size)
{
    json_t *root = a->decision_json ? json_loads(a->decision_json, 0, NULL) : NULL;
    json_t *rules = json_object_get(root, "rules");
    int rc = 0;
    for (size_t i = 0; i < a->n_hits && rc == 0; i++) {
        size_t k;
        json_t *r;
        json_array_foreach(rules, k, r) {
            const char *id = json_string_value(json_object_get(r, "id"));
            if (!id || strcmp(id, a->hits[i].rule_id) != 0)
                continue;
            const char *reason = json_string_value(json_object_get(r, "reason"));
            json_t *ev = json_object_get(r, "evidence");
            if ((reason && !(a->hits[i].reason = strdup(reason))) ||
                (ev && !(a->hits[i].evidence_json = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY)))) {
                snprintf(errstr, errstr_size, "%s: out of memory", s->path);
                rc = -1;
            }
            break;
        }
    }
    json_decref(root);
    return rc;
}


int rg_alert_store_get(rg_alert_store *s, const char *decision_id, rg_alert *out, char *errstr,
                       size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT " ALERT_COLUMNS ", a.decision_json, a.event_json,"
           " (SELECT json FROM outbox o WHERE o.alert_id = a.id ORDER BY o.id LIMIT 1),"
           " (SELECT sent_ms FROM outbox o WHERE o.alert_id = a.id ORDER BY o.id LIMIT 1)"
           " FROM alerts a WHERE a.decision_id = ?1",
        errstr, errstr_size);
    sqlite3_stmt *hits = rg_alerts_prepare(
        s, "SELECT rule_id, suppressed FROM hits WHERE alert_id = ? ORDER BY position",
        errstr, errstr_size);
    int result = -1;
    if (!st || !hits)
        goto done;
    sqlite3_bind_text(st, 1, decision_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rg_alerts_not_found(s, decision_id, errstr, errstr_size);
        result = 0;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "reading an alert", errstr, errstr_size);
        goto done;
    }
    int64_t id;
    if (read_alert(st, out, &id) < 0) {
        snprintf(errstr, errstr_size, "%s: out of memory", s->path);
        goto done;
    }
    out->decision_json = rg_alerts_col_dup(st, ALERT_NCOLS);
    out->event_json = rg_alerts_col_dup(st, ALERT_NCOLS + 1);
    out->release_json = rg_alerts_col_dup(st, ALERT_NCOLS + 2);
    out->release_sent_ms = sqlite3_column_int64(st, ALERT_NCOLS + 3);
    if (read_hits(s, hits, id, out, errstr, errstr_size) < 0 ||
        hit_details(s, out, errstr, errstr_size) < 0)
        goto done;
    result = 1;
done:
    if (result != 1)
        rg_alert_clear(out);
    sqlite3_finalize(st);
    sqlite3_finalize(hits);
    return result;
}

/* ---- precision -------------------------------------------------------- */

void rg_rule_precision_free(rg_rule_precision *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].rule_id);
    free(p);
}

/* Per-rule counts come from rule_days (kept when alerts are stored and
 * labelled: alerts.c), so they cost a few rows per rule and day. */
int rg_alert_store_precision(rg_alert_store *s, rg_rule_precision **out, size_t *n, char *errstr,
                             size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    /* The open batch's hits are counted when it commits. */
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT rule_id, sum(alerts), sum(fraud) + sum(legit), sum(fraud), sum(legit)"
           " FROM rule_days GROUP BY rule_id HAVING sum(alerts) > 0 ORDER BY rule_id",
        errstr, errstr_size);
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            rg_rule_precision *np = realloc(*out, ncap * sizeof *np);
            if (!np)
                goto oom;
            *out = np;
            cap = ncap;
        }
        rg_rule_precision *p = &(*out)[*n];
        p->rule_id = rg_alerts_col_dup(st, 0);
        if (!p->rule_id)
            goto oom;
        (*n)++;
        p->alerts = sqlite3_column_int64(st, 1);
        p->labelled = sqlite3_column_int64(st, 2);
        p->fraud = sqlite3_column_int64(st, 3);
        p->legit = sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "computing precision", errstr, errstr_size);
        goto fail;
    }
    return 0;
oom:
    sqlite3_finalize(st);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
fail:
    rg_rule_precision_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}

void rg_rule_days_free(rg_rule_day *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        free(d[i].rule_id);
    free(d);
}

int rg_alert_store_rule_days(rg_alert_store *s, int64_t from_day, int64_t to_day, rg_rule_day **out,
                             size_t *n, int64_t *first_day, int64_t *last_day, char *errstr,
                             size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "SELECT rule_id, day, alerts, fraud, legit FROM rule_days WHERE day BETWEEN ?1 AND ?2"
           " AND alerts > 0 ORDER BY rule_id, day",
        errstr, errstr_size);
    sqlite3_stmt *last = st ? rg_alerts_prepare(s, "SELECT min(day), max(day) FROM rule_days WHERE alerts > 0",
                                                errstr, errstr_size) : NULL;
    if (!last) {
        sqlite3_finalize(st);
        return -1;
    }
    sqlite3_bind_int64(st, 1, from_day);
    sqlite3_bind_int64(st, 2, to_day);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            rg_rule_day *nd = realloc(*out, ncap * sizeof *nd);
            if (!nd)
                goto oom;
            *out = nd;
            cap = ncap;
        }
        rg_rule_day *d = &(*out)[*n];
        if (!(d->rule_id = rg_alerts_col_dup(st, 0)))
            goto oom;
        (*n)++;
        d->day = sqlite3_column_int64(st, 1);
        d->alerts = sqlite3_column_int64(st, 2);
        d->fraud = sqlite3_column_int64(st, 3);
        d->legit = sqlite3_column_int64(st, 4);
    }
    if (rc == SQLITE_DONE && (first_day || last_day)) {
        rc = sqlite3_step(last);
        bool any = rc == SQLITE_ROW && sqlite3_column_type(last, 0) != SQLITE_NULL;
        if (first_day)
            *first_day = any ? sqlite3_column_int64(last, 0) : INT64_MIN;
        if (last_day)
            *last_day = any ? sqlite3_column_int64(last, 1) : INT64_MIN;
        rc = rc == SQLITE_ROW ? SQLITE_DONE : rc;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(last);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "reading hits per rule and day", errstr, errstr_size);
        rg_rule_days_free(*out, *n);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
oom:
    sqlite3_finalize(st);
    sqlite3_finalize(last);
    snprintf(errstr, errstr_size, "%s: out of memory", s->path);
    rg_rule_days_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}
