/*
 * api_views.c — the review API's reading endpoints beyond one alert:
 * per-rule precision and statistics, a subject's timeline and related
 * alerts, releases, users, who is asking (routes: api.c's ROUTES).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define API_MAX_WEEKS 52
#define RELATED_OWN 200
#define RELATED_ENTITIES 24
#define RELATED_PER_ENTITY 40

void rg_api_view_precision(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)unused;
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) < 0)
        return;
    char err[512];
    rg_rule_precision *p;
    size_t n;
    if (rg_alert_store_precision(s, &p, &n, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_precision_to_json(p, n, &rs->body);
    rg_rule_precision_free(p, n);
    rs->status = 200;
}

/* Hits per day and precision per week for the last `weeks` whole weeks
 * (Monday to Sunday, UTC, event time) up to the newest alert's day, or
 * fewer when the alerts span less. */
void rg_api_view_rule_stats(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)unused;
    static const char *const allowed[] = {"weeks", NULL};
    size_t weeks;
    if (rg_api_check_params(rq, allowed, rs) < 0 || rg_api_param_count(rq, "weeks", API_MAX_WEEKS, 8, &weeks, rs) < 0)
        return;
    if (weeks == 0)
        return rg_api_fail(rs, 400, "weeks must be at least 1");
    char err[512];
    rg_rule_day *d;
    size_t n;
    int64_t first, last;
    /* Just the first and last days (an empty range asks for no rows). */
    if (rg_alert_store_rule_days(s, 1, 0, &d, &n, &first, &last, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_rule_days_free(d, n);
    if (last == INT64_MIN)
        first = last = rg_alert_now_ms() / 86400000;
    /* Whole weeks, Monday to Sunday, ending with the newest alert's week
     * and starting no earlier than the oldest alert's. */
    int64_t monday = last - ((last + 3) % 7 + 7) % 7;
    int64_t first_monday = first - ((first + 3) % 7 + 7) % 7;
    int64_t from = monday - 7 * (int64_t)(weeks - 1), to = monday + 6;
    if (from < first_monday)
        from = first_monday;
    if (rg_alert_store_rule_days(s, from, to, &d, &n, NULL, NULL, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_rule_stats_to_json(d, n, from, to, &rs->body);
    rg_rule_days_free(d, n);
    rs->status = 200;
}

void rg_api_view_timeline(rg_alert_store *s, const char *subject, const rg_api_request *rq, rg_api_response *rs)
{
    static const char *const allowed[] = {"limit", NULL};
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    if (rg_api_check_params(rq, allowed, rs) < 0 ||
        rg_api_param_count(rq, "limit", API_MAX_LIMIT, API_DEFAULT_LIMIT, &f.limit, rs) < 0)
        return;
    if (f.limit == 0)
        return rg_api_fail(rs, 400, "limit must be at least 1");
    f.subject = subject;
    f.newest_first = true;
    char err[512];
    int64_t total;
    rg_alert *a;
    size_t n;
    if (rg_alert_store_count(s, &f, &total, err, sizeof err) < 0 ||
        rg_alert_store_list(s, &f, &a, &n, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_strbuf_puts(&rs->body, "{\"subject\":");
    rg_strbuf_put_json_str(&rs->body, subject, strlen(subject));
    rg_strbuf_printf(&rs->body, ",\"total\":%lld,\"alerts\":[", (long long)total);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rg_strbuf_putc(&rs->body, ',');
        rg_alert_to_json(&a[i], false, &rs->body);
    }
    rg_strbuf_puts(&rs->body, "]}");
    rg_alerts_free(a, n);
    rs->status = 200;
}

void rg_api_view_related(rg_alert_store *s, const char *subject, const rg_api_request *rq, rg_api_response *rs)
{
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) < 0)
        return;
    char err[512];
    if (rg_alert_store_related_json(s, subject, RELATED_OWN, RELATED_ENTITIES, RELATED_PER_ENTITY, &rs->body,
                                    err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rs->status = 200;
}

void rg_api_view_releases(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)unused;
    static const char *const allowed[] = {"limit", NULL};
    size_t limit;
    if (rg_api_check_params(rq, allowed, rs) < 0 ||
        rg_api_param_count(rq, "limit", API_MAX_LIMIT, API_DEFAULT_LIMIT, &limit, rs) < 0)
        return;
    if (limit == 0)
        return rg_api_fail(rs, 400, "limit must be at least 1");
    char err[512];
    rg_outbox_item *items;
    size_t n;
    int64_t total;
    if (rg_alert_store_outbox_list(s, limit, &items, &n, &total, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_strbuf_printf(&rs->body, "{\"total\":%lld,\"releases\":[", (long long)total);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rg_strbuf_putc(&rs->body, ',');
        rg_release_to_json(&items[i], &rs->body);
    }
    rg_strbuf_puts(&rs->body, "]}");
    rg_outbox_items_free(items, n);
    rs->status = 200;
}

static void put_user(rg_strbuf *out, const rg_user *u)
{
    rg_strbuf_puts(out, "{\"name\":");
    rg_strbuf_put_json_str(out, u->name, strlen(u->name));
    rg_strbuf_printf(out, ",\"role\":\"%s\"}", rg_role_name(u->role));
}

/* Who may be assigned: names and roles only (never anything of a token). */
void rg_api_view_users(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)unused;
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) < 0)
        return;
    char err[512];
    rg_user *u = NULL;
    size_t n = 0;
    if (!rq->single_user && rg_users_list(s, &u, &n, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_strbuf_puts(&rs->body, "{\"users\":[");
    if (rq->single_user)
        put_user(&rs->body, rq->user);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rg_strbuf_putc(&rs->body, ',');
        put_user(&rs->body, &u[i]);
    }
    rg_strbuf_puts(&rs->body, "]}");
    free(u);
    rs->status = 200;
}

void rg_api_view_me(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)s;
    (void)unused;
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) < 0)
        return;
    rg_strbuf_puts(&rs->body, "{\"name\":");
    rg_strbuf_put_json_str(&rs->body, rq->user->name, strlen(rq->user->name));
    rg_strbuf_printf(&rs->body, ",\"role\":\"%s\",\"single_token\":%s}", rg_role_name(rq->user->role),
                     rq->single_user ? "true" : "false");
    rs->status = 200;
}

