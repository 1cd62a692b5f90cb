/*
 * serve.c — libmicrohttpd glue for the review server: listening, the
 * bearer token check, body limits, security headers, the access log.
 * What the API answers is in api.c; the page in page_html.c. Contract and
 * security model in serve.h.
 *
 * MHD runs one internal polling thread (no thread per connection), so
 * every callback here, and the store handle, belong to that one thread.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "gate.h"
#include "serve.h"

#define MAX_PARAMS 32

struct rg_server {
    struct MHD_Daemon *daemon;
    rg_gate *gate;              /* accepts; hands over complete requests */
    rg_alert_store *store;
    char token[RG_SERVE_TOKEN_HEX * 4 + 1];     /* the single token; "" when none */
    rg_user single;                             /* whom it records changes as */
    const struct rg_geo *geo;
    FILE *log;
    uint16_t port;
};

/* Per request, from the first callback to the completion notice. */
typedef struct request {
    bool responded;       /* a response is queued; ignore the rest of the body */
    bool too_big;
    rg_user user;         /* who the token says is asking */
    bool single_user;
    int status;
    rg_strbuf body;
    struct timespec start;
    char method[8];       /* for the access log */
    char path[160];       /* printable, truncated; the query is never kept */
} request;

/* The path as MHD gives it stays percent-encoded (see unescape_none), so
 * an id may carry an encoded '/'; api.c decodes each segment itself. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static enum MHD_Result respond(struct MHD_Connection *conn, request *r, int status,
                               const char *content_type, const char *body, size_t len,
                               const char *csp, const char *allow)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    /* Nothing here may be cached, framed, sniffed or leak a Referer. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    if (status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"riskgate\"");
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    /* One request per connection: every request then passes the gate,
     * whose header deadline a kept-alive connection would escape. */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    r->status = status;
    return ret;
}

static const char API_CSP[] = "default-src 'none'; frame-ancestors 'none'";

static enum MHD_Result respond_error(struct MHD_Connection *conn, request *r, int status,
                                     const char *msg, const char *allow)
{
    rg_strbuf b = RG_STRBUF_INIT;
    rg_strbuf_puts(&b, "{\"error\":");
    rg_strbuf_put_json_str(&b, msg, strlen(msg));
    rg_strbuf_puts(&b, "}");
    enum MHD_Result ret = respond(conn, r, status, "application/json", b.data ? b.data : "",
                                  b.len, API_CSP, allow);
    rg_strbuf_free(&b);
    return ret;
}

/* "Bearer TOKEN" (scheme case-insensitive, RFC 7235) -> TOKEN, else NULL. */
static const char *bearer(const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0)
        return NULL;
    header += 7;
    while (*header == ' ')
        header++;
    return header;
}

typedef struct param_ctx {
    rg_api_param params[MAX_PARAMS];
    size_t n;
    bool bad;
    bool too_many;
} param_ctx;

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    param_ctx *pc = cls;
    if (pc->n == MAX_PARAMS) {
        pc->too_many = true;
        return MHD_NO;
    }
    char *k = rg_api_percent_decode(key, strlen(key));
    char *v = rg_api_percent_decode(value ? value : "", value ? strlen(value) : 0);
    if (!k || !v) {
        free(k);
        free(v);
        pc->bad = true;
        return MHD_NO;
    }
    pc->params[pc->n].name = k;
    pc->params[pc->n++].value = v;
    return MHD_YES;
}

static enum MHD_Result serve_api(rg_server *srv, struct MHD_Connection *conn, request *r,
                                 const char *url, const char *method)
{
    param_ctx pc = {.n = 0};
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &pc);
    enum MHD_Result ret;
    if (pc.bad || pc.too_many) {
        ret = respond_error(conn, r, 400, pc.bad ? "bad percent-encoding in the query (or not UTF-8)"
                                                 : "too many query parameters", NULL);
    } else {
        rg_api_request rq = {
            .method = method, .path = url, .params = pc.params, .n_params = pc.n,
            .body = r->body.data, .body_len = r->body.len,
            .content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
            .user = &r->user, .single_user = r->single_user, .geo = srv->geo,
        };
        rg_api_response rs = {.body = RG_STRBUF_INIT};
        rg_api_handle(srv->store, &rq, &rs);
        if (!rg_strbuf_ok(&rs.body))
            ret = respond_error(conn, r, 500, "out of memory", NULL);
        else
            ret = respond(conn, r, rs.status, "application/json", rs.body.data ? rs.body.data : "",
                          rs.body.len, API_CSP, rs.allow);
        rg_strbuf_free(&rs.body);
    }
    for (size_t i = 0; i < pc.n; i++) {
        free(pc.params[i].name);
        free(pc.params[i].value);
    }
    return ret;
}

/* Who the token belongs to: a user of the store, or (while it has none)
 * the single token's lead. Read per request, so `riskgate users add` and
 * `remove` take effect at once. 1 known, 0 wrong token, -1 store error. */
static int identify(rg_server *srv, const char *given, request *r)
{
    char err[512];
    int64_t users;
    if (rg_users_count(srv->store, &users, err, sizeof err) < 0)
        return -1;
    if (users > 0) {
        r->single_user = false;
        return rg_users_authenticate(srv->store, given, &r->user, err, sizeof err);
    }
    if (!srv->token[0] || !rg_serve_token_equal(srv->token, given))
        return 0;
    r->user = srv->single;
    r->single_user = true;
    return 1;
}

static bool is_page(const char *url) { return strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0; }

/* The first callback of a request: everything decided from the headers
 * alone (page, method, token, declared body size) is answered here,
 * before any body is read. */
static enum MHD_Result on_headers(rg_server *srv, struct MHD_Connection *conn, request *r,
                                  const char *url, const char *method)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (is_page(url)) {
        /* The one resource served without the token: static, no data. */
        if (!get)
            return respond_error(conn, r, 405, "the page takes GET only", "GET, HEAD");
        return respond(conn, r, 200, "text/html; charset=utf-8", rg_page_html, rg_page_html_len,
                       rg_page_csp, NULL);
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *given = bearer(auth);
    if (!given)
        return respond_error(conn, r, 401, "missing token: send the header Authorization: Bearer TOKEN", NULL);
    int who = identify(srv, given, r);
    if (who < 0)
        return respond_error(conn, r, 500, "cannot check the token: the alert store failed", NULL);
    if (who == 0)
        return respond_error(conn, r, 401, "wrong token", NULL);
    if (strncmp(url, "/api/", 5) != 0)
        return respond_error(conn, r, 404, "no such page", NULL);
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull(length, NULL, 10) > RG_SERVE_MAX_BODY)
        return respond_error(conn, r, 413, "request body larger than 16 KiB", NULL);
    return MHD_YES;
}

static double elapsed_ms(const struct timespec *start)
{
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (double)(end.tv_sec - start->tv_sec) * 1e3 + (double)(end.tv_nsec - start->tv_nsec) / 1e6;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    rg_server *srv = cls;
    request *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        snprintf(r->method, sizeof r->method, "%s", method);
        size_t i = 0;
        for (; url[i] && i < sizeof r->path - 1; i++)
            r->path[i] = (unsigned char)url[i] < 0x21 || url[i] == 0x7f ? '?' : url[i];
        r->path[i] = '\0';
        *req_cls = r;
        return on_headers(srv, conn, r, url, method);
    }
    if (elapsed_ms(&r->start) > RG_SERVE_BODY_MS)
        return MHD_NO; /* a body trickled in too slowly: drop the connection */
    if (*upload_data_size) {
        /* A body sent in chunks (no Content-Length) is counted as it comes. */
        if (!r->responded && !r->too_big) {
            if (r->body.len + *upload_data_size > RG_SERVE_MAX_BODY) {
                r->too_big = true;
                rg_strbuf_free(&r->body);
            } else {
                rg_strbuf_append(&r->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->responded)
        return MHD_YES;
    if (r->too_big)
        return respond_error(conn, r, 413, "request body larger than 16 KiB", NULL);
    if (!rg_strbuf_ok(&r->body))
        return respond_error(conn, r, 500, "out of memory", NULL);
    return serve_api(srv, conn, r, url, method);
}

/* One access-log line per request: client, method, path, status, time.
 * Headers (the token) and the query (filters) are never logged. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    rg_server *srv = cls;
    request *r = *req_cls;
    if (!r)
        return;
    if (srv->log) {
        double ms = elapsed_ms(&r->start);
        char addr[INET6_ADDRSTRLEN] = "-";
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof addr);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof addr);
        }
        fprintf(srv->log, "serve: %s %s %s %d %.1fms%s\n", addr, r->method, r->path, r->status, ms,
                toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended early)");
        fflush(srv->log);
    }
    rg_strbuf_free(&r->body);
    free(r);
    *req_cls = NULL;
}

/* "127.0.0.1:8477", "[::1]:8477", "localhost:8477" -> a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *len, bool *v6,
                        char *errstr, size_t errstr_size)
{
    const char *colon = strrchr(listen, ':');
    char host[64];
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host)
        goto bad;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        goto bad;
    memset(ss, 0, sizeof *ss);
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
            goto bad;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        *v6 = true;
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
        goto bad;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    *v6 = false;
    return 0;
bad:
    snprintf(errstr, errstr_size,
             "--listen %s: expected ADDR:PORT with an IP address (127.0.0.1:8477, [::1]:8477)", listen);
    return -1;
}

rg_server *rg_serve_start(const rg_serve_config *cfg, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    socklen_t ss_len;
    bool v6;
    if (parse_listen(cfg->listen ? cfg->listen : RG_SERVE_DEFAULT_LISTEN, &ss, &ss_len, &v6, errstr,
                     errstr_size) < 0)
        return NULL;
    rg_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (cfg->token && strlen(cfg->token) >= sizeof srv->token) {
        snprintf(errstr, errstr_size, "no usable token");
        goto fail;
    }
    snprintf(srv->token, sizeof srv->token, "%s", cfg->token ? cfg->token : "");
    const char *single = cfg->user_name ? cfg->user_name : "operator";
    if (!rg_alert_name_valid(single)) {
        snprintf(errstr, errstr_size, "not a user name: '%.80s' (A-Z a-z 0-9 . _ @ -)", single);
        goto fail;
    }
    snprintf(srv->single.name, sizeof srv->single.name, "%s", single);
    srv->single.role = RG_ROLE_LEAD;
    srv->log = cfg->access_log;
    srv->geo = cfg->geo;
    srv->store = rg_alert_store_open(cfg->db_path, RG_ALERTS_EXISTING, errstr, errstr_size);
    if (!srv->store)
        goto fail;
    rg_gate_limits limits = {.header_ms = cfg->header_timeout_ms, .max_pending = cfg->max_waiting,
                             .max_pending_per_ip = cfg->max_waiting_per_ip};
    char why[256];
    srv->gate = rg_gate_listen((struct sockaddr *)&ss, ss_len, &limits, why, sizeof why);
    if (!srv->gate) {
        snprintf(errstr, errstr_size, "--listen %s: cannot listen there: %s",
                 cfg->listen ? cfg->listen : RG_SERVE_DEFAULT_LISTEN, why);
        goto fail;
    }
    srv->port = rg_gate_port(srv->gate);
    /* The gate accepts and hands over requests whose headers are complete
     * (serve/gate.h); the daemon answers them on its one polling thread. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)RG_SERVE_MAX_CONNECTIONS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)RG_SERVE_MAX_CONNECTIONS_PER_IP,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RG_SERVE_IDLE_SECONDS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(errstr, errstr_size, "cannot start the HTTP server (libmicrohttpd)");
        goto fail;
    }
    if (rg_gate_start(srv->gate, srv->daemon, errstr, errstr_size) < 0)
        goto fail;
    (void)v6;
    return srv;
fail:
    rg_serve_stop(srv);
    return NULL;
}

uint16_t rg_serve_port(const rg_server *srv) { return srv->port; }

void rg_serve_stop(rg_server *srv)
{
    if (!srv)
        return;
    rg_gate_stop(srv->gate);
    if (srv->daemon)
        MHD_stop_daemon(srv->daemon);
    rg_alert_store_close(srv->store, NULL, 0);
    memset(srv->token, 0, sizeof srv->token);
    free(srv);
}
