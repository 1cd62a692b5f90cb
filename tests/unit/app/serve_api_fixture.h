/*
 * serve_api_fixture — a review server for the serve/ API tests
 * (test_serve_api.c: routes, errors and bodies; test_serve_api_auth.c:
 * tokens, the token file, per-analyst tokens and roles): setup starts it
 * on an ephemeral 127.0.0.1 port over a fresh store holding fix_fill's
 * five alerts, signed in by the single TOKEN; a raw-socket client sends
 * each request as is. Header-only, like alerts_fixture.h, so each test
 * program has its own copy.
 */
#ifndef RG_TEST_SERVE_API_FIXTURE_H
#define RG_TEST_SERVE_API_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "alerts_fixture.h"
#include "serve/serve.h"

static const char TOKEN[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

typedef struct ctx {
    char db[512];
    rg_server *srv;
    uint16_t port;
} ctx;

typedef struct reply {
    int status;
    char *head;     /* status line and headers */
    char *body;
} reply;

static inline void reply_free(reply *r)
{
    free(r->head);
    free(r->body);
}

/* One HTTP/1.1 exchange ("Connection: close"): send `raw` as is, read
 * until the server closes. */
static inline reply exchange(uint16_t port, const char *raw, size_t raw_len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t sent = 0;
    while (sent < raw_len) {
        ssize_t n = send(fd, raw + sent, raw_len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer (413) and close before reading it all */
        sent += (size_t)n;
    }
    rg_strbuf in = RG_STRBUF_INIT;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        rg_strbuf_append(&in, buf, (size_t)n);
    close(fd);
    reply r = {0};
    assert_non_null(in.data);
    char *split = strstr(in.data, "\r\n\r\n");
    assert_non_null(split);
    r.head = strndup(in.data, (size_t)(split - in.data));
    r.body = strdup(split + 4);
    r.status = atoi(in.data + 9);
    rg_strbuf_free(&in);
    return r;
}

/* METHOD PATH with optional token (NULL: no header), content type and body. */
static inline reply request(ctx *c, const char *method, const char *path, const char *token,
                            const char *content_type, const char *body)
{
    rg_strbuf rq = RG_STRBUF_INIT;
    rg_strbuf_printf(&rq, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, path);
    if (token)
        rg_strbuf_printf(&rq, "Authorization: Bearer %s\r\n", token);
    if (content_type)
        rg_strbuf_printf(&rq, "Content-Type: %s\r\n", content_type);
    if (body)
        rg_strbuf_printf(&rq, "Content-Length: %zu\r\n", strlen(body));
    rg_strbuf_puts(&rq, "\r\n");
    if (body)
        rg_strbuf_puts(&rq, body);
    reply r = exchange(c->port, rq.data, rq.len);
    rg_strbuf_free(&rq);
    return r;
}

static inline reply get(ctx *c, const char *path)
{
    return request(c, "GET", path, TOKEN, NULL, NULL);
}

static inline reply post(ctx *c, const char *path, const char *body)
{
    return request(c, "POST", path, TOKEN, "application/json", body);
}

/* The "error" message of a JSON error reply. */
static inline void assert_error(const reply *r, int status, const char *part)
{
    if (r->status != status || !strstr(r->body, part))
        fprintf(stderr, "got %d %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), part));
    json_decref(j);
}

static inline int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    fix_db_path(c->db, sizeof c->db, "serve-api");
    char err[512];
    rg_alert_store *s = rg_alert_store_open(c->db, RG_ALERTS_CREATE, err, sizeof err);
    if (!s || fix_fill(s) < 0)
        return -1;
    rg_alert_store_close(s, NULL, 0);
    rg_serve_config cfg = {.db_path = c->db, .listen = "127.0.0.1:0", .token = TOKEN};
    c->srv = rg_serve_start(&cfg, err, sizeof err);
    if (!c->srv) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    c->port = rg_serve_port(c->srv);
    *state = c;
    return 0;
}

static inline int teardown(void **state)
{
    ctx *c = *state;
    rg_serve_stop(c->srv);
    fix_db_remove(c->db);
    free(c);
    return 0;
}

#endif
