/*
 * api.c — the review JSON API: routing (one table, ROUTES), parameter
 * checking, and the alert endpoints; the rules, subjects, releases and
 * users views are in api_views.c, the changing endpoints in
 * api_review.c (contract and routes in serve.h and docs/review.md). Knows
 * nothing of HTTP transport: serve.c authenticates, reads the body and
 * sends what this file answers, so these rules are testable on their own.
 *
 * Everything the client sends is checked here before use (known
 * parameters only, bounded lengths, UTF-8, enumerations) and reaches SQL
 * only as bound parameters (store/).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/timeutil.h"
#include "../geo/geo.h"
#include "api_internal.h"


void rg_api_fail(rg_api_response *rs, int status, const char *msg)
{
    rs->status = status;
    rg_strbuf_reset(&rs->body);
    rg_strbuf_puts(&rs->body, "{\"error\":");
    rg_strbuf_put_json_str(&rs->body, msg, strlen(msg));
    rg_strbuf_puts(&rs->body, "}");
}

void rg_api_failf(rg_api_response *rs, int status, const char *fmt, const char *arg)
{
    char msg[700];
    snprintf(msg, sizeof msg, fmt, arg);
    rg_api_fail(rs, status, msg);
}

#define fail rg_api_fail
#define failf rg_api_failf

/* A store error: the message names the database file and SQLite's
 * reason, nothing the client could not see anyway. */
void rg_api_store_fail(rg_api_response *rs, const char *err)
{
    fail(rs, 500, err);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *rg_api_percent_decode(const char *src, size_t len)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int hi = -1, lo = -1;
        if (src[i] == '%' && i + 2 < len) {
            hi = hexval(src[i + 1]);
            lo = hexval(src[i + 2]);
        }
        if (src[i] == '\0' || (src[i] == '%' && (hi < 0 || lo < 0 || (hi | lo) == 0))) {
            free(out);
            return NULL;
        }
        if (src[i] == '%') {
            out[n++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[n++] = src[i];
        }
    }
    out[n] = '\0';
    if (!rg_utf8_valid(out, n)) {
        free(out);
        return NULL;
    }
    return out;
}

/* ---- parameters ------------------------------------------------------- */

/* Each parameter must be one of `allowed` (NULL-terminated) and appear
 * once; else 400. Returns 0 when fine. */
int rg_api_check_params(const rg_api_request *rq, const char *const *allowed, rg_api_response *rs)
{
    for (size_t i = 0; i < rq->n_params; i++) {
        const char *name = rq->params[i].name;
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, name) == 0;
        if (!known) {
            failf(rs, 400, "unknown query parameter '%.64s'", name);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(rq->params[j].name, name) == 0) {
                failf(rs, 400, "query parameter '%.64s' given twice", name);
                return -1;
            }
    }
    return 0;
}

/* The value of a parameter, NULL when absent or empty (an empty filter
 * field in a form means "any"). */
static const char *param(const rg_api_request *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_params; i++)
        if (strcmp(rq->params[i].name, name) == 0)
            return rq->params[i].value[0] ? rq->params[i].value : NULL;
    return NULL;
}

int rg_api_param_count(const rg_api_request *rq, const char *name, size_t max, size_t dflt,
                       size_t *out, rg_api_response *rs)
{
    const char *v = param(rq, name);
    *out = dflt;
    if (!v)
        return 0;
    char *end;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || v[0] == '-' || v[0] == '+' || v[0] == ' ' || n > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be an integer from 0 to %zu", name, max);
        fail(rs, 400, msg);
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

static int param_time(const rg_api_request *rq, const char *name, int64_t *out, rg_api_response *rs)
{
    const char *v = param(rq, name);
    if (v && !rg_parse_rfc3339(v, strlen(v), out, NULL)) {
        failf(rs, 400, "%s must be an RFC 3339 time such as 2026-11-22T09:00:00Z", name);
        return -1;
    }
    return 0;
}

static int param_text(const rg_api_request *rq, const char *name, size_t max, const char **out,
                      rg_api_response *rs)
{
    *out = param(rq, name);
    if (*out && strlen(*out) > max) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s is longer than %zu bytes", name, max);
        fail(rs, 400, msg);
        return -1;
    }
    return 0;
}

/* ---- handlers --------------------------------------------------------- */

/* One of `allowed` (NULL-terminated) or absent; -1 (400 filled) else. */
static int param_enum(const rg_api_request *rq, const char *name, const char *const *allowed,
                      const char **out, rg_api_response *rs)
{
    *out = param(rq, name);
    if (!*out)
        return 0;
    for (const char *const *a = allowed; *a; a++)
        if (strcmp(*a, *out) == 0)
            return 0;
    /* "status must be open or resolved", "label must be fraud, legit or none" */
    char msg[256];
    size_t used = (size_t)snprintf(msg, sizeof msg, "%s must be", name);
    for (const char *const *a = allowed; *a && used < sizeof msg; a++)
        used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", a == allowed ? " " : a[1] ? ", " : " or ", *a);
    fail(rs, 400, msg);
    return -1;
}

static void list_alerts(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)unused;
    static const char *const allowed[] = {"status", "rule", "subject", "since", "until", "limit", "offset",
                                          "order", "label", "action", "assignee", "search", "entity",
                                          "sort", NULL};
    static const char *const STATUSES[] = {"open", "resolved", NULL};
    static const char *const ORDERS[] = {"asc", "desc", "oldest", "newest", NULL};
    static const char *const LABELS[] = {"fraud", "legit", "none", NULL};
    static const char *const ACTIONS[] = {"freeze", "face_verify", "review", "release", NULL};
    static const char *const SORTS[] = {"time", "subject", "status", NULL};
    if (rg_api_check_params(rq, allowed, rs) < 0)
        return;
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    const char *order, *sort;
    if (param_enum(rq, "status", STATUSES, &f.status, rs) < 0 || param_text(rq, "rule", 64, &f.rule, rs) < 0 ||
        param_text(rq, "subject", 256, &f.subject, rs) < 0 || param_enum(rq, "order", ORDERS, &order, rs) < 0 ||
        param_enum(rq, "label", LABELS, &f.label, rs) < 0 || param_enum(rq, "action", ACTIONS, &f.action, rs) < 0 ||
        param_text(rq, "assignee", RG_ALERT_NAME_MAX, &f.assignee, rs) < 0 ||
        param_text(rq, "search", RG_ALERT_SEARCH_MAX, &f.search, rs) < 0 ||
        param_text(rq, "entity", API_MAX_ID, &f.entity, rs) < 0 || param_enum(rq, "sort", SORTS, &sort, rs) < 0 ||
        param_time(rq, "since", &f.since_ms, rs) < 0 || param_time(rq, "until", &f.until_ms, rs) < 0 ||
        rg_api_param_count(rq, "limit", API_MAX_LIMIT, API_DEFAULT_LIMIT, &f.limit, rs) < 0 ||
        rg_api_param_count(rq, "offset", 1000000000, 0, &f.offset, rs) < 0)
        return;
    if (f.limit == 0)
        return fail(rs, 400, "limit must be at least 1");
    if (f.assignee && strcmp(f.assignee, "none") != 0 && !rg_alert_name_valid(f.assignee))
        return fail(rs, 400, "assignee must be a user name or none");
    f.newest_first = order && (strcmp(order, "desc") == 0 || strcmp(order, "newest") == 0);
    f.sort = !sort || strcmp(sort, "time") == 0 ? RG_SORT_TIME
             : strcmp(sort, "subject") == 0   ? RG_SORT_SUBJECT
                                              : RG_SORT_STATUS;

    char err[512];
    int64_t total;
    bool exact;
    rg_alert *a;
    size_t n;
    /* Counted up to the page's end plus RG_ALERT_COUNT_CAP: "more than N". */
    if (rg_alert_store_count_upto(s, &f, (int64_t)f.offset + RG_ALERT_COUNT_CAP, &total, &exact, err, sizeof err) < 0 ||
        rg_alert_store_list(s, &f, &a, &n, err, sizeof err) < 0)
        return rg_api_store_fail(rs, err);
    rg_strbuf_printf(&rs->body, "{\"total\":%lld,\"total_exact\":%s,\"limit\":%zu,\"offset\":%zu,\"alerts\":[",
                     (long long)total, exact ? "true" : "false", f.limit, f.offset);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rg_strbuf_putc(&rs->body, ',');
        rg_alert_to_json(&a[i], false, &rs->body);
    }
    rg_strbuf_puts(&rs->body, "]}");
    rg_alerts_free(a, n);
    rs->status = 200;
}

static void get_alert(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) == 0) {
        rg_api_show_alert(s, rq, id, -1, rs);
    }
}

static void history(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) < 0)
        return;
    char err[512];
    rg_alert_change *c;
    size_t n;
    int rc = rg_alert_store_history(s, id, &c, &n, err, sizeof err);
    if (rc == 0)
        return failf(rs, 404, "no alert with id '%.512s'", id);
    if (rc < 0)
        return rg_api_store_fail(rs, err);
    rg_alert_history_to_json(id, c, n, &rs->body);
    rg_alert_changes_free(c, n);
    rs->status = 200;
}

/* ,"ip_geo":{...} for the alert's event IP, placed by the server's GeoIP
 * databases, appended to the show JSON in rs: what the page shows beside
 * the IP (null when there is no IP or no database). */
static void append_ip_geo(const rg_api_request *rq, rg_api_response *rs)
{
    if (rs->status != 200 || !rs->body.len || rs->body.data[rs->body.len - 1] != '}')
        return;
    json_t *root = json_loadb(rs->body.data, rs->body.len, 0, NULL);
    const char *ip = json_string_value(json_object_get(json_object_get(json_object_get(root, "alert"), "event"), "ip"));
    rg_geo_result g;
    bool placed = ip && rq->geo && rg_geo_lookup_str(rq->geo, ip, &g) == 0 && g.found;
    rs->body.data[--rs->body.len] = '\0';
    rg_strbuf_puts(&rs->body, ",\"ip_geo\":");
    if (placed) {
        rg_strbuf_puts(&rs->body, "{\"ip\":");
        rg_strbuf_put_json_str(&rs->body, ip, strlen(ip));
        rg_strbuf_puts(&rs->body, ",\"country\":");
        rg_strbuf_put_json_str(&rs->body, g.country, strlen(g.country));
        rg_strbuf_puts(&rs->body, ",\"city\":");
        if (rg_utf8_valid(g.city, strlen(g.city)))
            rg_strbuf_put_json_str(&rs->body, g.city, strlen(g.city));
        else
            rg_strbuf_puts(&rs->body, "\"\"");
        if (g.city_level)
            rg_strbuf_printf(&rs->body, ",\"lat\":%.4f,\"lon\":%.4f", g.lat, g.lon);
        else
            rg_strbuf_puts(&rs->body, ",\"lat\":null,\"lon\":null");
        rg_strbuf_printf(&rs->body, ",\"accuracy_km\":%d}}", (int)g.accuracy_km);
    } else {
        rg_strbuf_puts(&rs->body, "null}");
    }
    json_decref(root);
}

void rg_api_show_alert(rg_alert_store *s, const rg_api_request *rq, const char *id, int release_queued,
                       rg_api_response *rs)
{
    char err[512];
    rg_strbuf_reset(&rs->body);
    int rc = rg_alert_store_show_json(s, id, API_RECENT, &rs->body, err, sizeof err);
    if (rc == 0)
        return failf(rs, 404, "no alert with id '%.512s'", id);
    if (rc < 0)
        return rg_api_store_fail(rs, err);
    if (release_queued >= 0 && rs->body.len && rs->body.data[rs->body.len - 1] == '}') {
        rs->body.data[--rs->body.len] = '\0';
        rg_strbuf_puts(&rs->body, release_queued ? ",\"release_queued\":true}" : ",\"release_queued\":false}");
    }
    rs->status = 200;
    append_ip_geo(rq, rs);
}

static bool is_json_content(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof want - 1) != 0)
        return false;
    char next = ct[sizeof want - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* The POST body as a JSON object with only `allowed` keys; NULL (and the
 * response filled) when it is not. An absent body is {} when `optional`. */
json_t *rg_api_body_object(const rg_api_request *rq, const char *const *allowed, bool optional,
                           rg_api_response *rs)
{
    if (!rq->body || rq->body_len == 0) {
        if (optional)
            return json_object();
        fail(rs, 400, "a JSON body is required");
        return NULL;
    }
    if (!is_json_content(rq->content_type)) {
        fail(rs, 415, "send the body as Content-Type: application/json");
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(root)) {
        char msg[300];
        if (root)
            snprintf(msg, sizeof msg, "the body must be a JSON object");
        else
            snprintf(msg, sizeof msg, "the body is not JSON: line %d column %d: %s", jerr.line,
                     jerr.column, jerr.text);
        json_decref(root);
        fail(rs, 400, msg);
        return NULL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known) {
            failf(rs, 400, "unknown field '%.64s' in the body", key);
            json_decref(root);
            return NULL;
        }
    }
    return root;
}

/* An optional string field of at most `max` bytes; -1 (response filled)
 * when it is there but wrong. */
int rg_api_body_string(json_t *root, const char *key, size_t max, const char **out, rg_api_response *rs)
{
    json_t *v = json_object_get(root, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s must be a string of at most %zu bytes", key, max);
        fail(rs, 400, msg);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static void label(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    rg_api_review_one(s, RG_REVIEW_LABEL, id, rq, rs);
}

static void resolve(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    rg_api_review_one(s, RG_REVIEW_RESOLVE, id, rq, rs);
}

static void reopen(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    rg_api_review_one(s, RG_REVIEW_REOPEN, id, rq, rs);
}

static void assign(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    rg_api_review_one(s, RG_REVIEW_ASSIGN, id, rq, rs);
}

static void bulk(rg_alert_store *s, const char *unused, const rg_api_request *rq, rg_api_response *rs)
{
    (void)unused;
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) == 0)
        rg_api_review_bulk(s, rq, rs);
}

/* ---- routing ---------------------------------------------------------- */

#define MAX_SEGMENTS 4

typedef void (*route_fn)(rg_alert_store *s, const char *arg, const rg_api_request *rq, rg_api_response *rs);

/* Every endpoint: the path after /api/ ('*': one percent-decoded segment,
 * handed to the handler), its method, its handler. */
static const struct route {
    const char *pattern;
    const char *method;
    route_fn run;
} ROUTES[] = {
    {"alerts", "GET", list_alerts},
    {"alerts/*", "GET", get_alert},
    {"alerts/*/history", "GET", history},
    {"alerts/*/label", "POST", label},
    {"alerts/*/resolve", "POST", resolve},
    {"alerts/*/reopen", "POST", reopen},
    {"alerts/*/assign", "POST", assign},
    {"review", "POST", bulk},
    {"precision", "GET", rg_api_view_precision},
    {"rules/stats", "GET", rg_api_view_rule_stats},
    {"subjects/*/timeline", "GET", rg_api_view_timeline},
    {"subjects/*/related", "GET", rg_api_view_related},
    {"releases", "GET", rg_api_view_releases},
    {"users", "GET", rg_api_view_users},
    {"me", "GET", rg_api_view_me},
};

/* Whether the decoded segments match a pattern; *arg gets the '*' one. */
static bool route_matches(const char *pattern, char *const *seg, size_t n, const char **arg)
{
    size_t k = 0;
    for (const char *p = pattern; k < n; k++) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 1 && *p == '*')
            *arg = seg[k];
        else if (strlen(seg[k]) != len || strncmp(seg[k], p, len) != 0)
            return false;
        if (!slash)
            return k + 1 == n;
        p = slash + 1;
    }
    return false;
}

void rg_api_handle(rg_alert_store *s, const rg_api_request *rq, rg_api_response *rs)
{
    rs->status = 500;
    rs->allow = NULL;
    rg_strbuf_reset(&rs->body);
    if (strncmp(rq->path, "/api/", 5) != 0)
        return fail(rs, 404, "no such endpoint");
    if (!rq->user)
        return fail(rs, 401, "who is asking is not known");

    /* Split the rest at '/', then decode each segment: an id may hold an
     * encoded '/' ("e-3%2Fu-1") without changing the route. */
    char *seg[MAX_SEGMENTS] = {0};
    size_t n = 0;
    const char *p = rq->path + 5;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (n == MAX_SEGMENTS || len == 0 || len > 3 * API_MAX_ID) {
            fail(rs, len > 3 * API_MAX_ID ? 400 : 404, len > 3 * API_MAX_ID ? "path segment too long" : "no such endpoint");
            goto done;
        }
        if (!(seg[n++] = rg_api_percent_decode(p, len))) {
            fail(rs, 400, "bad percent-encoding in the path (or not UTF-8)");
            goto done;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    const struct route *wrong_method = NULL;
    for (size_t i = 0; i < sizeof ROUTES / sizeof ROUTES[0]; i++) {
        const char *arg = NULL;
        if (!route_matches(ROUTES[i].pattern, seg, n, &arg))
            continue;
        bool get = strcmp(ROUTES[i].method, "GET") == 0;
        if (strcmp(rq->method, ROUTES[i].method) != 0 && !(get && strcmp(rq->method, "HEAD") == 0)) {
            wrong_method = &ROUTES[i];
            continue;
        }
        ROUTES[i].run(s, arg, rq, rs);
        goto done;
    }
    if (wrong_method) {
        rs->allow = wrong_method->method;
        failf(rs, 405, "this path takes %s only", wrong_method->method);
    } else {
        fail(rs, 404, "no such endpoint");
    }
done:
    for (size_t i = 0; i < n; i++)
        free(seg[i]);
}
