/*
 * bench_review — how fast the analysts' side of the alert store answers on
 * a large store (issue 14: list, search and history under 200 ms on one
 * million alerts).
 *
 *   bench_alerts 1000000 10000 /tmp/a.db     # builds the store, keeps it
 *   bench_review /tmp/a.db [RUNS]            # default 5 runs per query
 *
 * First, once per store, the review work of a busy team through
 * rg_alert_store_review in bulk calls of 1000 ids (timed): 1% of the
 * alerts labelled (every tenth with a note), 5% assigned to one of 20
 * analysts, 30% resolved. Then each query the page and the CLI make, as
 * they make it (a list of 50 is a count plus the list; show is the alert
 * with its subject's recent alerts; the count stops past 10,000 more than
 * the page, as the API's does), RUNS times on a warm store handle: prints
 * the median and the slowest, in milliseconds, and how many alerts
 * matched ("> N": more than N).
 */
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "store/alerts.h"

#define BULK 1000

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* decision ids of the alerts whose row id satisfies `where`. */
static char **ids_where(const char *path, const char *where, size_t *n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT decision_id FROM alerts WHERE %s ORDER BY id", where);
    char **ids = NULL;
    size_t cap = 0;
    *n = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_review: %s: %s\n", path, sqlite3_errmsg(db));
        exit(1);
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 1024;
            ids = realloc(ids, cap * sizeof *ids);
        }
        ids[(*n)++] = strdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ids;
}

static void free_ids(char **ids, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
}

/* Apply op to ids in bulks; returns ms per 1000 ids. */
static double review_all(rg_alert_store *s, rg_review_op *op, char **ids, size_t n, bool vary)
{
    rg_review_result res[BULK];
    char err[512], who[16], note[32];
    double t0 = now_ms();
    for (size_t i = 0; i < n; i += BULK) {
        size_t k = n - i < BULK ? n - i : BULK;
        if (vary && op->action == RG_REVIEW_LABEL) {
            op->label = (i / BULK) % 2 ? "legit" : "fraud";
            snprintf(note, sizeof note, "mule ring %zu", i / BULK);
            op->note = (i / BULK) % 10 == 0 ? note : NULL;
        }
        if (vary && op->action == RG_REVIEW_ASSIGN) {
            snprintf(who, sizeof who, "an-%zu", (i / BULK) % 20);
            op->assignee = who;
        }
        if (rg_alert_store_review(s, op, (const char *const *)ids + i, k, res, err, sizeof err) < 0) {
            fprintf(stderr, "bench_review: %s\n", err);
            exit(1);
        }
    }
    return (now_ms() - t0) / ((double)n / BULK);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct query {
    const char *name;
    rg_alert_filter f;
} query;

static void report(const char *name, double *t, int runs, const char *matched)
{
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("  %-44s %8.1f %8.1f  %s\n", name, t[runs / 2], t[runs - 1], matched);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_review DB [RUNS]   (DB from: bench_alerts 1000000 10000 DB)\n");
        return 2;
    }
    const char *path = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    char err[512];
    rg_alert_store *s = rg_alert_store_open(path, RG_ALERTS_EXISTING, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench_review: %s\n", err);
        return 1;
    }
    rg_alert_filter all;
    rg_alert_filter_init(&all);
    int64_t total;
    if (rg_alert_store_count(s, &all, &total, err, sizeof err) < 0) {
        fprintf(stderr, "bench_review: %s\n", err);
        return 1;
    }
    printf("store: %s, %" PRId64 " alerts\n", path, total);

    rg_alert_filter labelled;
    rg_alert_filter_init(&labelled);
    labelled.labelled_only = true;
    int64_t n_labelled;
    rg_alert_store_count(s, &labelled, &n_labelled, err, sizeof err);
    if (n_labelled == 0) {
        size_t n;
        char **ids = ids_where(path, "id % 100 = 1", &n);
        rg_review_op op = {.action = RG_REVIEW_LABEL, .who = "bench", .role = RG_ROLE_ANALYST};
        double label_ms = review_all(s, &op, ids, n, true);
        printf("review work: label %zu alerts: %.1f ms per 1000", n, label_ms);
        free_ids(ids, n);
        ids = ids_where(path, "id % 20 = 2", &n);
        op = (rg_review_op){.action = RG_REVIEW_ASSIGN, .who = "lead", .role = RG_ROLE_LEAD};
        double assign_ms = review_all(s, &op, ids, n, true);
        printf("; assign %zu: %.1f ms per 1000", n, assign_ms);
        free_ids(ids, n);
        ids = ids_where(path, "id % 10 IN (3, 6, 9)", &n);
        op = (rg_review_op){.action = RG_REVIEW_RESOLVE, .who = "bench", .role = RG_ROLE_ANALYST};
        double resolve_ms = review_all(s, &op, ids, n, false);
        printf("; resolve %zu: %.1f ms per 1000\n", n, resolve_ms);
        free_ids(ids, n);
    }

    size_t n_hist;
    char **hist = ids_where(path, "id = (SELECT alert_id FROM review_log ORDER BY id DESC LIMIT 1)", &n_hist);
    char **some = ids_where(path, "id = 500001", &n_hist);

    query qs[32];
    size_t nq = 0;
#define Q(label, ...)                                                       \
    do {                                                                    \
        qs[nq].name = label;                                                \
        rg_alert_filter_init(&qs[nq].f);                                    \
        qs[nq].f.limit = 50;                                                \
        qs[nq].f.newest_first = true;                                       \
        rg_alert_filter *f = &qs[nq].f;                                     \
        __VA_ARGS__;                                                        \
        (void)f;                                                            \
        nq++;                                                               \
    } while (0)
    Q("queue: newest 50 of all");
    Q("queue: open (the page's default)", f->status = "open");
    Q("my queue: open, assigned to an-7", f->status = "open", f->assignee = "an-7");
    Q("unassigned open", f->status = "open", f->assignee = "none");
    Q("label fraud", f->label = "fraud");
    Q("open, unlabelled, freeze", f->status = "open", f->label = "none", f->action = "freeze");
    Q("rule new_account_mule, open", f->rule = "new_account_mule", f->status = "open");
    Q("rule + label none + action + open", f->rule = "large_transfer", f->label = "none",
      f->action = "face_verify", f->status = "open");
    Q("action release (none match)", f->action = "release");
    Q("resolved by rule, page 201 (offset 10000)", f->status = "resolved", f->rule = "new_recipient_large",
      f->offset = 10000);
    Q("search subject 'acct-0012' (100 accounts)", f->search = "acct-0012");
    Q("search subject 'cct-05432' (1 account)", f->search = "cct-05432");
    Q("search 'acct-' (every alert)", f->search = "acct-");
    Q("search note 'ring 0'", f->search = "ring 0");
    Q("search event id 'evt-0099'", f->search = "evt-0099");
    Q("search 'zz' (short, nothing)", f->search = "zz");
    Q("entity acct-004242 (subject or party)", f->entity = "acct-004242");
    Q("subject acct-004242", f->subject = "acct-004242");
    Q("sort by subject", f->sort = RG_SORT_SUBJECT, f->newest_first = false);
    Q("sort by status, open, freeze", f->sort = RG_SORT_STATUS, f->status = "open", f->action = "freeze");
    Q("since/until one hour, open", f->status = "open", f->since_ms = INT64_C(1795358265123) + 3600000 * 5,
      f->until_ms = INT64_C(1795358265123) + 3600000 * 6);
#undef Q

    printf("\n  %-44s %8s %8s  %s\n", "query (count + list of 50)", "median", "slowest", "matched");
    double t[100];
    for (size_t q = 0; q < nq; q++) {
        int64_t matched = 0;
        bool exact = true;
        for (int r = 0; r < runs; r++) {
            rg_alert *a;
            size_t n;
            double t0 = now_ms();
            if (rg_alert_store_count_upto(s, &qs[q].f, (int64_t)qs[q].f.offset + RG_ALERT_COUNT_CAP, &matched,
                                          &exact, err, sizeof err) < 0 ||
                rg_alert_store_list(s, &qs[q].f, &a, &n, err, sizeof err) < 0) {
                fprintf(stderr, "bench_review: %s: %s\n", qs[q].name, err);
                return 1;
            }
            t[r] = now_ms() - t0;
            rg_alerts_free(a, n);
        }
        char m[32];
        snprintf(m, sizeof m, "%s%" PRId64, exact ? "" : "> ", matched);
        report(qs[q].name, t, runs, m);
    }

    printf("\n  %-44s %8s %8s\n", "other reads", "median", "slowest");
    /* What the cap saves: an exact count that has to walk the whole queue
     * index (the worst a list can cost when nothing drives it). */
    rg_alert_filter walk;
    rg_alert_filter_init(&walk);
    walk.status = "open";
    walk.label = "none";
    walk.action = "freeze";
    int64_t walked = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = now_ms();
        rg_alert_store_count(s, &walk, &walked, err, sizeof err);
        t[r] = now_ms() - t0;
    }
    char wm[32];
    snprintf(wm, sizeof wm, "%" PRId64, walked);
    report("exact count, open+unlabelled+freeze (walk)", t, runs, wm);
    const char *hid = n_hist ? hist[0] : "none";
    for (int r = 0; r < runs; r++) {
        rg_alert_change *c;
        size_t n;
        double t0 = now_ms();
        rg_alert_store_history(s, hid, &c, &n, err, sizeof err);
        t[r] = now_ms() - t0;
        rg_alert_changes_free(c, n);
    }
    report("history of a changed alert", t, runs, "");
    for (int r = 0; r < runs; r++) {
        rg_strbuf b = RG_STRBUF_INIT;
        double t0 = now_ms();
        rg_alert_store_show_json(s, some[0], 10, &b, err, sizeof err);
        t[r] = now_ms() - t0;
        rg_strbuf_free(&b);
    }
    report("show one alert (+ its subject's 10 newest)", t, runs, "");
    for (int r = 0; r < runs; r++) {
        rg_rule_precision *p;
        size_t n;
        double t0 = now_ms();
        rg_alert_store_precision(s, &p, &n, err, sizeof err);
        t[r] = now_ms() - t0;
        rg_rule_precision_free(p, n);
    }
    report("precision of every rule", t, runs, "");
    for (int r = 0; r < runs; r++) {
        rg_rule_day *d;
        size_t n;
        int64_t last;
        rg_strbuf b = RG_STRBUF_INIT;
        double t0 = now_ms();
        rg_alert_store_rule_days(s, INT64_MIN / 2, INT64_MAX / 2, &d, &n, NULL, &last, err, sizeof err);
        rg_rule_stats_to_json(d, n, last - 55, last, &b);
        t[r] = now_ms() - t0;
        rg_rule_days_free(d, n);
        rg_strbuf_free(&b);
    }
    report("rules tab: 8 weeks per day and week", t, runs, "");
    for (int r = 0; r < runs; r++) {
        rg_strbuf b = RG_STRBUF_INIT;
        double t0 = now_ms();
        rg_alert_store_related_json(s, "acct-004242", 200, 24, 40, &b, err, sizeof err);
        t[r] = now_ms() - t0;
        rg_strbuf_free(&b);
    }
    report("related alerts of acct-004242", t, runs, "");
    free_ids(hist, 1);
    free_ids(some, 1);
    rg_alert_store_close(s, NULL, 0);
    return 0;
}
