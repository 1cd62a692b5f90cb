/*
 * alerts_plan.c — how a list of alerts and its count are read: which
 * index drives, the WHERE clause for the filters, the order (contracts of
 * rg_alert_store_count* in alerts.h; rg_alerts_prepare_list in
 * alerts_internal.h).
 *
 * Every value a caller gives reaches SQL as a bound parameter; the only
 * SQL text built at run time is assembled from fixed fragments chosen by
 * which filters are set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../decisions/decision_id.h"
#include "alerts_internal.h"

#define RG_STR_(x) #x
#define RG_STR(x) RG_STR_(x)

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

/* Plan texts are copied (the plan is freed once the statement is bound);
 * the filter's own strings are the caller's and outlive the statement. */
static void bind_buf(sqlite3_stmt *st, int i, const rg_strbuf *b)
{
    sqlite3_bind_text(st, i, b->data ? b->data : "", (int)b->len, SQLITE_TRANSIENT);
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

sqlite3_stmt *rg_alerts_prepare_list(rg_alert_store *s, const rg_alert_filter *f, const char *columns,
                                     char *errstr, size_t errstr_size)
{
    plan p;
    sqlite3_stmt *st = NULL;
    if (make_plan(s, f, &p, false, errstr, errstr_size) == 0) {
        rg_strbuf sql = RG_STRBUF_INIT;
        rg_strbuf_printf(&sql, "SELECT %s FROM %s", columns, p.from);
        build_where(f, &p, &sql);
        rg_strbuf_puts(&sql, order_by(f));
        rg_strbuf_puts(&sql, " LIMIT ? OFFSET ?");
        st = prepare_built(s, &sql, errstr, errstr_size);
        rg_strbuf_free(&sql);
        if (st) {
            int i = bind_where(st, f, &p);
            sqlite3_bind_int64(st, i++, f->limit ? (sqlite3_int64)f->limit : -1);
            sqlite3_bind_int64(st, i, (sqlite3_int64)f->offset);
        }
    }
    plan_free(&p);
    return st;
}
