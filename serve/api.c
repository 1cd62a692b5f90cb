/*
 * api.c — the review JSON API: routing, parameter checking, and answers
 * built from the alert store (contract and routes in serve.h). Knows
 * nothing of HTTP transport: serve.c authenticates, reads the body and
 * sends what this file answers, so these rules are testable on their own.
 *
 * Everything the client sends is checked here before use (known
 * parameters only, bounded lengths, UTF-8, enumerations) and reaches SQL
 * only as bound parameters (store/alerts_review.c).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../common/timeutil.h"
#include "serve.h"

#define API_DEFAULT_LIMIT 50
#define API_MAX_LIMIT 500
#define API_MAX_ID 512
#define API_MAX_NOTE 2000
#define API_MAX_NAME 64
#define API_RECENT 10

static void fail(rg_api_response *rs, int status, const char *msg)
{
    rs->status = status;
    rg_strbuf_reset(&rs->body);
    rg_strbuf_puts(&rs->body, "{\"error\":");
    rg_strbuf_put_json_str(&rs->body, msg, strlen(msg));
    rg_strbuf_puts(&rs->body, "}");
}

static void failf(rg_api_response *rs, int status, const char *fmt, const char *arg)
{
    char msg[700];
    snprintf(msg, sizeof msg, fmt, arg);
    fail(rs, status, msg);
}

/* A store error: the message names the database file and SQLite's
 * reason, nothing the client could not see anyway. */
static void store_fail(rg_api_response *rs, const char *err)
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
static int check_params(const rg_api_request *rq, const char *const *allowed, rg_api_response *rs)
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

static int param_count(const rg_api_request *rq, const char *name, size_t max, size_t dflt,
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

static void list_alerts(rg_alert_store *s, const rg_api_request *rq, rg_api_response *rs)
{
    static const char *const allowed[] = {"status", "rule", "subject", "since", "until",
                                          "limit", "offset", "order", NULL};
    if (check_params(rq, allowed, rs) < 0)
        return;
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    const char *status, *order;
    if (param_text(rq, "status", 16, &status, rs) < 0 || param_text(rq, "rule", 64, &f.rule, rs) < 0 ||
        param_text(rq, "subject", 256, &f.subject, rs) < 0 ||
        param_text(rq, "order", 8, &order, rs) < 0 || param_time(rq, "since", &f.since_ms, rs) < 0 ||
        param_time(rq, "until", &f.until_ms, rs) < 0 ||
        param_count(rq, "limit", API_MAX_LIMIT, API_DEFAULT_LIMIT, &f.limit, rs) < 0 ||
        param_count(rq, "offset", 1000000000, 0, &f.offset, rs) < 0)
        return;
    if (status && strcmp(status, "open") != 0 && strcmp(status, "resolved") != 0)
        return fail(rs, 400, "status must be open or resolved");
    if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0)
        return fail(rs, 400, "order must be asc or desc");
    if (f.limit == 0)
        return fail(rs, 400, "limit must be at least 1");
    f.status = status;
    f.newest_first = order && strcmp(order, "desc") == 0;

    char err[512];
    int64_t total;
    rg_alert *a;
    size_t n;
    if (rg_alert_store_count(s, &f, &total, err, sizeof err) < 0 ||
        rg_alert_store_list(s, &f, &a, &n, err, sizeof err) < 0)
        return store_fail(rs, err);
    rg_strbuf_printf(&rs->body, "{\"total\":%lld,\"limit\":%zu,\"offset\":%zu,\"alerts\":[",
                     (long long)total, f.limit, f.offset);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rg_strbuf_putc(&rs->body, ',');
        rg_alert_to_json(&a[i], false, &rs->body);
    }
    rg_strbuf_puts(&rs->body, "]}");
    rg_alerts_free(a, n);
    rs->status = 200;
}

/* {"alert":{...},"subject_alerts":[...]} (+ "release_queued" after a resolve). */
static void show_alert(rg_alert_store *s, const char *id, int release_queued, rg_api_response *rs)
{
    char err[512];
    rg_strbuf_reset(&rs->body);
    int rc = rg_alert_store_show_json(s, id, API_RECENT, &rs->body, err, sizeof err);
    if (rc == 0)
        return failf(rs, 404, "no alert with id '%.512s'", id);
    if (rc < 0)
        return store_fail(rs, err);
    if (release_queued >= 0 && rs->body.len && rs->body.data[rs->body.len - 1] == '}') {
        rs->body.data[--rs->body.len] = '\0';
        rg_strbuf_puts(&rs->body, release_queued ? ",\"release_queued\":true}" : ",\"release_queued\":false}");
    }
    rs->status = 200;
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
static json_t *body_object(const rg_api_request *rq, const char *const *allowed, bool optional,
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
static int body_string(json_t *root, const char *key, size_t max, const char **out, rg_api_response *rs)
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

static void label_alert(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    static const char *const allowed[] = {"label", "note", "by", NULL};
    json_t *root = body_object(rq, allowed, false, rs);
    if (!root)
        return;
    const char *label, *note, *by;
    char err[512];
    if (body_string(root, "label", 16, &label, rs) == 0 && body_string(root, "note", API_MAX_NOTE, &note, rs) == 0 &&
        body_string(root, "by", API_MAX_NAME, &by, rs) == 0) {
        if (!label || (strcmp(label, "fraud") != 0 && strcmp(label, "legit") != 0)) {
            fail(rs, 400, "label must be \"fraud\" or \"legit\"");
        } else {
            int rc = rg_alert_store_label(s, id, label, note && *note ? note : NULL,
                                          by && *by ? by : "web", err, sizeof err);
            if (rc == 0)
                failf(rs, 404, "no alert with id '%.512s'", id);
            else if (rc < 0)
                store_fail(rs, err);
            else
                show_alert(s, id, -1, rs);
        }
    }
    json_decref(root);
}

static void resolve_alert(rg_alert_store *s, const char *id, const rg_api_request *rq, rg_api_response *rs)
{
    static const char *const allowed[] = {"by", NULL};
    json_t *root = body_object(rq, allowed, true, rs);
    if (!root)
        return;
    const char *by;
    char err[512];
    bool queued = false;
    if (body_string(root, "by", API_MAX_NAME, &by, rs) == 0) {
        int rc = rg_alert_store_resolve(s, id, by && *by ? by : "web", &queued, err, sizeof err);
        if (rc == 0)
            failf(rs, 404, "no alert with id '%.512s'", id);
        else if (rc < 0)
            store_fail(rs, err);
        else
            show_alert(s, id, queued, rs);
    }
    json_decref(root);
}

static void precision(rg_alert_store *s, rg_api_response *rs)
{
    char err[512];
    rg_rule_precision *p;
    size_t n;
    if (rg_alert_store_precision(s, &p, &n, err, sizeof err) < 0)
        return store_fail(rs, err);
    rg_precision_to_json(p, n, &rs->body);
    rg_rule_precision_free(p, n);
    rs->status = 200;
}

static void timeline(rg_alert_store *s, const char *subject, const rg_api_request *rq, rg_api_response *rs)
{
    static const char *const allowed[] = {"limit", NULL};
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    if (check_params(rq, allowed, rs) < 0 ||
        param_count(rq, "limit", API_MAX_LIMIT, API_DEFAULT_LIMIT, &f.limit, rs) < 0)
        return;
    if (f.limit == 0)
        return fail(rs, 400, "limit must be at least 1");
    f.subject = subject;
    f.newest_first = true;
    char err[512];
    int64_t total;
    rg_alert *a;
    size_t n;
    if (rg_alert_store_count(s, &f, &total, err, sizeof err) < 0 ||
        rg_alert_store_list(s, &f, &a, &n, err, sizeof err) < 0)
        return store_fail(rs, err);
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

/* ---- routing ---------------------------------------------------------- */

#define MAX_SEGMENTS 4

static bool method_is(const rg_api_request *rq, const char *want)
{
    if (strcmp(want, "GET") == 0 && strcmp(rq->method, "HEAD") == 0)
        return true;
    return strcmp(rq->method, want) == 0;
}

static void wrong_method(rg_api_response *rs, const char *allow)
{
    rs->allow = allow;
    failf(rs, 405, "this path takes %s only", allow);
}

void rg_api_handle(rg_alert_store *s, const rg_api_request *rq, rg_api_response *rs)
{
    rs->status = 500;
    rs->allow = NULL;
    rg_strbuf_reset(&rs->body);
    if (strncmp(rq->path, "/api/", 5) != 0)
        return fail(rs, 404, "no such endpoint");

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

    if (strcmp(seg[0], "alerts") == 0 && n == 1) {
        if (!method_is(rq, "GET"))
            wrong_method(rs, "GET");
        else
            list_alerts(s, rq, rs);
    } else if (strcmp(seg[0], "alerts") == 0 && n == 2) {
        if (!method_is(rq, "GET"))
            wrong_method(rs, "GET");
        else if (check_params(rq, (const char *const[]){NULL}, rs) == 0)
            show_alert(s, seg[1], -1, rs);
    } else if (strcmp(seg[0], "alerts") == 0 && n == 3 &&
               (strcmp(seg[2], "label") == 0 || strcmp(seg[2], "resolve") == 0)) {
        if (!method_is(rq, "POST"))
            wrong_method(rs, "POST");
        else if (check_params(rq, (const char *const[]){NULL}, rs) < 0)
            ;
        else if (seg[2][0] == 'l')
            label_alert(s, seg[1], rq, rs);
        else
            resolve_alert(s, seg[1], rq, rs);
    } else if (strcmp(seg[0], "precision") == 0 && n == 1) {
        if (!method_is(rq, "GET"))
            wrong_method(rs, "GET");
        else if (check_params(rq, (const char *const[]){NULL}, rs) == 0)
            precision(s, rs);
    } else if (strcmp(seg[0], "subjects") == 0 && n == 3 && strcmp(seg[2], "timeline") == 0) {
        if (!method_is(rq, "GET"))
            wrong_method(rs, "GET");
        else
            timeline(s, seg[1], rq, rs);
    } else {
        fail(rs, 404, "no such endpoint");
    }
done:
    for (size_t i = 0; i < n; i++)
        free(seg[i]);
}
