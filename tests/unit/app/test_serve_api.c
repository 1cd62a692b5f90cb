/* Tests for serve/: the review server over real HTTP on 127.0.0.1 (an
 * ephemeral port, a raw-socket client): the token (missing, wrong, right,
 * constant-time compare, the 0600 file), routes and their errors (bad
 * ids, bad parameters, wrong methods, bad and oversized bodies), labels
 * and resolve through the API, the page's headers; per-analyst tokens
 * (who is recorded, what each role may do), bulk changes, history,
 * search and filters, rule statistics, related alerts, releases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static void reply_free(reply *r)
{
    free(r->head);
    free(r->body);
}

/* One HTTP/1.1 exchange ("Connection: close"): send `raw` as is, read
 * until the server closes. */
static reply exchange(uint16_t port, const char *raw, size_t raw_len)
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
static reply request(ctx *c, const char *method, const char *path, const char *token,
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

static reply get(ctx *c, const char *path) { return request(c, "GET", path, TOKEN, NULL, NULL); }

static reply post(ctx *c, const char *path, const char *body)
{
    return request(c, "POST", path, TOKEN, "application/json", body);
}

/* The "error" message of a JSON error reply. */
static void assert_error(const reply *r, int status, const char *part)
{
    if (r->status != status || !strstr(r->body, part))
        fprintf(stderr, "got %d %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    assert_non_null(strstr(json_string_value(json_object_get(j, "error")), part));
    json_decref(j);
}

static int setup(void **state)
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

static int teardown(void **state)
{
    ctx *c = *state;
    rg_serve_stop(c->srv);
    fix_db_remove(c->db);
    free(c);
    return 0;
}

static void test_token_required_everywhere_but_the_page(void **state)
{
    ctx *c = *state;
    static const char *const paths[] = {"/api/alerts", "/api/precision", "/api/alerts/e-1%2Fu-1",
                                        "/api/nope", "/favicon.ico", "/secret"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        reply r = request(c, "GET", paths[i], NULL, NULL, NULL);
        assert_error(&r, 401, "missing token");
        assert_non_null(strstr(r.head, "WWW-Authenticate: Bearer"));
        reply_free(&r);
        r = request(c, "GET", paths[i], "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee", NULL, NULL);
        assert_error(&r, 401, "wrong token");
        reply_free(&r);
    }
    /* A prefix of the token, the token plus more, another scheme: refused. */
    char shorter[sizeof TOKEN];
    snprintf(shorter, sizeof shorter, "%.63s", TOKEN);
    reply r = request(c, "GET", "/api/alerts", shorter, NULL, NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    char longer[sizeof TOKEN + 1];
    snprintf(longer, sizeof longer, "%sa", TOKEN);
    r = request(c, "GET", "/api/alerts", longer, NULL, NULL);
    assert_int_equal(r.status, 401);
    reply_free(&r);
    char basic[200];
    snprintf(basic, sizeof basic, "GET /api/alerts HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                  "Authorization: Basic %s\r\n\r\n", TOKEN);
    r = exchange(c->port, basic, strlen(basic));
    assert_int_equal(r.status, 401);
    reply_free(&r);
    /* A POST without the token changes nothing (and its body is not read). */
    r = request(c, "POST", "/api/alerts/e-1%2Fu-1/label", NULL, "application/json", "{\"label\":\"fraud\"}");
    assert_int_equal(r.status, 401);
    reply_free(&r);
    r = get(c, "/api/alerts/e-1%2Fu-1");
    assert_non_null(strstr(r.body, "\"label\":null"));
    reply_free(&r);

    /* The page shell: no token needed, no data in it, locked down. */
    r = request(c, "GET", "/", NULL, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.head, "Content-Type: text/html"));
    assert_non_null(strstr(r.head, "Content-Security-Policy: default-src 'none'; script-src 'sha256-"));
    assert_non_null(strstr(r.head, "X-Frame-Options: DENY"));
    assert_non_null(strstr(r.head, "Cache-Control: no-store"));
    assert_null(strstr(r.body, "e-1/u-1"));
    assert_null(strstr(r.body, TOKEN));
    assert_non_null(strstr(r.body, "<title>riskgate review</title>"));
    reply_free(&r);
    r = request(c, "POST", "/", NULL, NULL, NULL);
    assert_error(&r, 405, "GET");
    reply_free(&r);
    /* With the token, an unknown non-API path is a 404. */
    r = get(c, "/secret");
    assert_error(&r, 404, "no such page");
    reply_free(&r);
}

static void test_list_and_get(void **state)
{
    ctx *c = *state;
    reply r = get(c, "/api/alerts?status=open&rule=large_transfer&order=desc&limit=2");
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "id")),
                        "e-5/u-1");
    json_decref(j);
    assert_non_null(strstr(r.head, "Content-Type: application/json"));
    reply_free(&r);

    /* since/until, percent-encoded values, empty value = no filter. */
    r = get(c, "/api/alerts?since=2026-11-22T14%3A37%3A46.123Z&until=2026-11-22T14:37:48.123Z&subject=&status=");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"total\":2,"));
    reply_free(&r);

    /* Injection attempts are just values that match nothing. */
    r = get(c, "/api/alerts?subject=u-1%27%20OR%20%271%27%3D%271");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"total\":0,"));
    reply_free(&r);

    r = get(c, "/api/alerts/e-2%2Fu-2");
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    json_t *alert = json_object_get(j, "alert");
    assert_string_equal(json_string_value(json_object_get(alert, "id")), "e-2/u-2");
    assert_int_equal(json_array_size(json_object_get(alert, "hits")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(alert, "event"), "counterparty")), "u-9");
    assert_int_equal(json_array_size(json_object_get(j, "subject_alerts")), 1);
    json_decref(j);
    reply_free(&r);

    r = get(c, "/api/subjects/u-1/timeline?limit=2");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"subject\":\"u-1\",\"total\":3,\"alerts\":[{\"id\":\"e-5/u-1\""));
    reply_free(&r);

    r = get(c, "/api/precision");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "{\"id\":\"large_transfer\",\"alerts\":3,\"labelled\":0"));
    reply_free(&r);
}

static void test_bad_requests(void **state)
{
    ctx *c = *state;
    static const struct { const char *path; int status; const char *msg; } cases[] = {
        {"/api/alerts/e-404%2Fu-1", 404, "no alert with id 'e-404/u-1'"},
        {"/api/alerts/e-1/u-1", 404, "no such endpoint"},          /* unencoded '/' */
        {"/api/alerts/%ZZ", 400, "percent-encoding"},
        {"/api/alerts/a%00b", 400, "percent-encoding"},
        {"/api/alerts/%ff%fe", 400, "UTF-8"},
        {"/api/alerts?status=closed", 400, "status must be open or resolved"},
        {"/api/alerts?limit=0", 400, "limit"},
        {"/api/alerts?limit=100000", 400, "limit must be an integer"},
        {"/api/alerts?limit=-1", 400, "limit"},
        {"/api/alerts?offset=x", 400, "offset"},
        {"/api/alerts?since=yesterday", 400, "RFC 3339"},
        {"/api/alerts?order=sideways", 400, "order"},
        {"/api/alerts?colour=red", 400, "unknown query parameter 'colour'"},
        {"/api/alerts?status=open&status=resolved", 400, "given twice"},
        {"/api/alerts?subject=%zz", 400, "percent-encoding"},
        {"/api/alerts/e-1%2Fu-1?x=1", 400, "unknown query parameter"},
        {"/api/subjects/u-1/timeline?limit=abc", 400, "limit"},
        {"/api/subjects/u-1", 404, "no such endpoint"},
        {"/api/", 404, "no such endpoint"},
        {"/api/alerts/", 404, "no such endpoint"},
        {"/api/alerts/e-1%2Fu-1/label/x", 404, "no such endpoint"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = get(c, cases[i].path);
        assert_error(&r, cases[i].status, cases[i].msg);
        reply_free(&r);
    }
    reply r = request(c, "DELETE", "/api/alerts", TOKEN, NULL, NULL);
    assert_error(&r, 405, "GET");
    assert_non_null(strstr(r.head, "Allow: GET"));
    reply_free(&r);
    r = get(c, "/api/alerts/e-1%2Fu-1/label");
    assert_error(&r, 405, "POST");
    reply_free(&r);
    r = post(c, "/api/precision", "{}");
    assert_error(&r, 405, "GET");
    reply_free(&r);
}

static void test_label_and_resolve_bodies(void **state)
{
    ctx *c = *state;
    static const struct { const char *ctype, *body; int status; const char *msg; } cases[] = {
        {"application/json", "{\"label\":", 400, "not JSON"},
        {"application/json", "[\"fraud\"]", 400, "JSON object"},
        {"application/json", "{\"label\":\"maybe\"}", 400, "label must be"},
        {"application/json", "{}", 400, "label must be"},
        {"application/json", "{\"label\":\"fraud\",\"admin\":true}", 400, "unknown field 'admin'"},
        {"application/json", "{\"label\":\"fraud\",\"label\":\"legit\"}", 400, "not JSON"},
        {"application/json", "{\"label\":\"fraud\",\"note\":7}", 400, "note must be a string"},
        {"application/json", "{\"label\":\"fraud\",\"by\":\"a\\u0000b\"}", 400, "not JSON"},
        {"application/json", "{\"label\":\"fraud\",\"by\":[]}", 400, "by must be a string"},
        {"text/plain", "{\"label\":\"fraud\"}", 415, "application/json"},
        {NULL, "{\"label\":\"fraud\"}", 415, "application/json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        reply r = request(c, "POST", "/api/alerts/e-3%2Fu-1/label", TOKEN, cases[i].ctype, cases[i].body);
        assert_error(&r, cases[i].status, cases[i].msg);
        reply_free(&r);
    }
    reply r = post(c, "/api/alerts/e-3%2Fu-1/label", NULL);
    assert_error(&r, 400, "body is required");
    reply_free(&r);
    r = post(c, "/api/alerts/e-404%2Fu-1/label", "{\"label\":\"fraud\"}");
    assert_error(&r, 404, "no alert");
    reply_free(&r);
    r = post(c, "/api/alerts/e-404%2Fu-1/resolve", NULL);
    assert_error(&r, 404, "no alert");
    reply_free(&r);

    /* Nothing above changed the alert. */
    r = get(c, "/api/alerts/e-3%2Fu-1");
    assert_non_null(strstr(r.body, "\"label\":null"));
    reply_free(&r);

    /* e-3/u-1 froze u-1: legit + resolve queues the release. */
    r = post(c, "/api/alerts/e-3%2Fu-1/label", "{\"label\":\"legit\",\"note\":\"called \\\"back\\\"\",\"by\":\"ana\"}");
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *a = json_object_get(j, "alert");
    assert_string_equal(json_string_value(json_object_get(a, "label")), "legit");
    assert_string_equal(json_string_value(json_object_get(a, "note")), "called \"back\"");
    /* Recorded as the token's user, never as the name the client sent. */
    assert_string_equal(json_string_value(json_object_get(a, "labelled_by")), "operator");
    json_decref(j);
    reply_free(&r);
    r = post(c, "/api/alerts/e-3%2Fu-1/resolve", "{\"by\":\"ana\"}");
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_true(json_is_true(json_object_get(j, "release_queued")));
    a = json_object_get(j, "alert");
    assert_string_equal(json_string_value(json_object_get(a, "status")), "resolved");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "release"), "state")), "queued");
    json_decref(j);
    reply_free(&r);
    /* Without a body too. */
    r = request(c, "POST", "/api/alerts/e-1%2Fu-1/resolve", TOKEN, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"resolved_by\":\"operator\""));
    assert_non_null(strstr(r.body, "\"release_queued\":false"));
    reply_free(&r);

    r = get(c, "/api/precision");
    assert_non_null(strstr(r.body, "{\"id\":\"recall_burst\",\"alerts\":1,\"labelled\":1,\"fraud\":0,\"legit\":1,\"precision\":0.0000}"));
    reply_free(&r);
}

static void test_oversized_bodies(void **state)
{
    ctx *c = *state;
    size_t big = RG_SERVE_MAX_BODY + 1;
    char *body = malloc(big + 1);
    memset(body, ' ', big);
    body[big] = '\0';
    /* Declared too big: refused from the headers, before the body. */
    reply r = post(c, "/api/alerts/e-1%2Fu-1/label", body);
    assert_error(&r, 413, "16 KiB");
    reply_free(&r);
    /* Chunked, no length: counted as it arrives. */
    rg_strbuf rq = RG_STRBUF_INIT;
    rg_strbuf_printf(&rq, "POST /api/alerts/e-1%%2Fu-1/label HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n", TOKEN);
    for (int i = 0; i < 5; i++) {
        rg_strbuf_printf(&rq, "%zx\r\n", big / 4);
        rg_strbuf_append(&rq, body, big / 4);
        rg_strbuf_puts(&rq, "\r\n");
    }
    rg_strbuf_puts(&rq, "0\r\n\r\n");
    r = exchange(c->port, rq.data, rq.len);
    assert_error(&r, 413, "16 KiB");
    reply_free(&r);
    rg_strbuf_free(&rq);
    /* Just under the limit is read (and refused for what it is). */
    body[RG_SERVE_MAX_BODY - 1] = '\0';
    r = post(c, "/api/alerts/e-1%2Fu-1/label", body);
    assert_error(&r, 400, "not JSON");
    reply_free(&r);
    free(body);
    /* The server still serves. */
    r = get(c, "/api/precision");
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_token_file_and_compare(void **state)
{
    ctx *c = *state;
    char path[600], tok[300], err[512];
    bool created = false;
    snprintf(path, sizeof path, "%s.token", c->db);
    unlink(path);
    assert_int_equal(rg_serve_token_load(path, tok, sizeof tok, &created, err, sizeof err), 0);
    assert_true(created);
    assert_int_equal(strlen(tok), RG_SERVE_TOKEN_HEX);
    assert_int_equal(strspn(tok, "0123456789abcdef"), RG_SERVE_TOKEN_HEX);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char again[300];
    assert_int_equal(rg_serve_token_load(path, again, sizeof again, &created, err, sizeof err), 0);
    assert_false(created);
    assert_string_equal(again, tok);

    chmod(path, 0644);
    assert_int_equal(rg_serve_token_load(path, again, sizeof again, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "readable by others"));
    assert_null(strstr(err, tok)); /* never in a message */
    chmod(path, 0600);
    FILE *f = fopen(path, "w");
    fputs("short\n", f);
    fclose(f);
    assert_int_equal(rg_serve_token_load(path, again, sizeof again, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a token"));
    unlink(path);

    assert_true(rg_serve_token_equal(TOKEN, TOKEN));
    assert_false(rg_serve_token_equal(TOKEN, ""));
    assert_false(rg_serve_token_equal(TOKEN, "0123"));
    assert_false(rg_serve_token_equal(TOKEN, NULL));
    assert_false(rg_serve_token_equal("abc", "abcd"));
    assert_false(rg_serve_token_equal("abcd", "abc"));
    assert_false(rg_serve_token_equal("abcd", "abce"));

    /* A bad --listen is reported as such. */
    rg_serve_config cfg = {.db_path = c->db, .listen = "example.com:80", .token = TOKEN};
    assert_null(rg_serve_start(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "--listen"));
    cfg.listen = "127.0.0.1:99999";
    assert_null(rg_serve_start(&cfg, err, sizeof err));
    cfg.listen = "127.0.0.1:0";
    cfg.db_path = "/nonexistent/review.db";
    assert_null(rg_serve_start(&cfg, err, sizeof err));
    assert_non_null(strstr(err, "no such alert store"));
}

/* The body's JSON (caller decrefs), asserting the status. */
static json_t *json_reply(reply *r, int status)
{
    if (r->status != status)
        fprintf(stderr, "got %d %s\n", r->status, r->body);
    assert_int_equal(r->status, status);
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    reply_free(r);
    return j;
}

static reply post_as(ctx *c, const char *token, const char *path, const char *body)
{
    return request(c, "POST", path, token, "application/json", body);
}

static void test_analysts_with_their_own_tokens(void **state)
{
    ctx *c = *state;
    char err[512], ana[RG_USER_TOKEN_HEX + 1], lea[RG_USER_TOKEN_HEX + 1];
    /* Users added while the server runs count at once. */
    rg_alert_store *s = rg_alert_store_open(c->db, RG_ALERTS_EXISTING, err, sizeof err);
    assert_int_equal(rg_users_add(s, "ana", RG_ROLE_ANALYST, ana, err, sizeof err), 1);
    assert_int_equal(rg_users_add(s, "lea", RG_ROLE_LEAD, lea, err, sizeof err), 1);
    rg_alert_store_close(s, NULL, 0);

    /* The single token no longer signs in. */
    reply r = get(c, "/api/me");
    assert_error(&r, 401, "wrong token");
    reply_free(&r);
    r = request(c, "GET", "/api/me", ana, NULL, NULL);
    json_t *j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "ana");
    assert_string_equal(json_string_value(json_object_get(j, "role")), "analyst");
    json_decref(j);
    r = request(c, "GET", "/api/users", ana, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"users\":[{\"name\":\"ana\",\"role\":\"analyst\"},{\"name\":\"lea\",\"role\":\"lead\"}]}");
    reply_free(&r);

    /* ana labels (as herself whatever "by" says), takes the alert, resolves it. */
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/label", "{\"label\":\"fraud\",\"note\":\"mule\",\"by\":\"lea\"}");
    j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alert"), "labelled_by")), "ana");
    json_decref(j);
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/assign", "{\"assignee\":\"lea\"}");
    assert_error(&r, 403, "only to themselves");
    reply_free(&r);
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/assign", "{\"assignee\":\"ana\"}");
    j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alert"), "assignee")), "ana");
    json_decref(j);
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/assign", "{}");
    assert_error(&r, 400, "assignee is required");
    reply_free(&r);
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/assign", "{\"assignee\":\"no body\"}");
    assert_error(&r, 400, "assignee must be");
    reply_free(&r);
    /* lea reassigns; ana can no longer take it. */
    r = post_as(c, lea, "/api/alerts/e-2%2Fu-2/assign", "{\"assignee\":\"lea\"}");
    assert_int_equal(r.status, 200);
    reply_free(&r);
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/assign", "{\"assignee\":\"ana\"}");
    assert_error(&r, 403, "only a lead may reassign");
    reply_free(&r);
    r = post_as(c, ana, "/api/alerts/e-2%2Fu-2/resolve", NULL);
    j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alert"), "resolved_by")), "ana");
    json_decref(j);
    /* Only a lead reopens. */
    r = request(c, "POST", "/api/alerts/e-2%2Fu-2/reopen", ana, NULL, NULL);
    assert_error(&r, 403, "only a lead may reopen");
    reply_free(&r);
    r = request(c, "POST", "/api/alerts/e-2%2Fu-2/reopen", lea, NULL, NULL);
    j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alert"), "status")), "open");
    json_decref(j);

    /* Every step, in order, with the right names. */
    r = request(c, "GET", "/api/alerts/e-2%2Fu-2/history", ana, NULL, NULL);
    j = json_reply(&r, 200);
    json_t *h = json_object_get(j, "history");
    static const char *const steps[][2] = {{"ana", "label"}, {"ana", "assign"}, {"lea", "assign"},
                                           {"ana", "resolve"}, {"lea", "reopen"}};
    assert_int_equal(json_array_size(h), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(json_string_value(json_object_get(json_array_get(h, i), "who")), steps[i][0]);
        assert_string_equal(json_string_value(json_object_get(json_array_get(h, i), "what")), steps[i][1]);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "note")), "mule");
    json_decref(j);
    r = request(c, "GET", "/api/alerts/e-404%2Fu-1/history", ana, NULL, NULL);
    assert_error(&r, 404, "no alert");
    reply_free(&r);

    /* Bulk: several ids at once, each with its outcome. */
    r = post_as(c, ana, "/api/review", "{\"action\":\"label\",\"ids\":[\"e-1/u-1\",\"e-5/u-1\",\"e-404/u-1\"],\"label\":\"legit\"}");
    j = json_reply(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "done")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "not_found")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "results"), 2), "outcome")),
                        "not_found");
    json_decref(j);
    r = post_as(c, ana, "/api/review", "{\"action\":\"reopen\",\"ids\":[\"e-1/u-1\"]}");
    j = json_reply(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "forbidden")), 1);
    json_decref(j);
    static const struct { const char *body; const char *msg; } bad[] = {
        {"{\"action\":\"delete\",\"ids\":[\"e-1/u-1\"]}", "action must be"},
        {"{\"action\":\"resolve\",\"ids\":[]}", "ids must be"},
        {"{\"action\":\"resolve\",\"ids\":\"e-1/u-1\"}", "ids must be"},
        {"{\"action\":\"resolve\",\"ids\":[7]}", "ids must be"},
        {"{\"action\":\"label\",\"ids\":[\"e-1/u-1\"]}", "label must be"},
        {"{\"action\":\"resolve\",\"ids\":[\"e-1/u-1\"],\"who\":\"x\"}", "unknown field 'who'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = post_as(c, ana, "/api/review", bad[i].body);
        assert_error(&r, 400, bad[i].msg);
        reply_free(&r);
    }

    /* Filters the page uses. */
    r = request(c, "GET", "/api/alerts?label=legit&sort=subject&order=desc", ana, NULL, NULL);
    j = json_reply(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    json_decref(j);
    r = request(c, "GET", "/api/alerts?assignee=lea&action=freeze&search=U-2", ana, NULL, NULL);
    j = json_reply(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 1);
    json_decref(j);
    r = request(c, "GET", "/api/alerts?entity=u-9&status=open&order=newest", ana, NULL, NULL);
    j = json_reply(&r, 200);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 5);
    json_decref(j);
    static const struct { const char *path; const char *msg; } badq[] = {
        {"/api/alerts?label=maybe", "label must be fraud, legit or none"}, {"/api/alerts?action=boom", "action"},
        {"/api/alerts?sort=colour", "sort"}, {"/api/alerts?assignee=a%20b", "assignee"},
        {"/api/rules/stats?weeks=0", "weeks"}, {"/api/rules/stats?weeks=99", "weeks"},
        {"/api/releases?limit=0", "limit"},
    };
    for (size_t i = 0; i < sizeof badq / sizeof badq[0]; i++) {
        r = request(c, "GET", badq[i].path, ana, NULL, NULL);
        assert_error(&r, 400, badq[i].msg);
        reply_free(&r);
    }
    /* The fixture's alerts are all on Sunday 2026-11-22: one week, not two. */
    r = request(c, "GET", "/api/rules/stats?weeks=2", ana, NULL, NULL);
    j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(j, "from")), "2026-11-16");
    assert_string_equal(json_string_value(json_object_get(j, "to")), "2026-11-22");
    assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(j, "rules"), 0), "days")), 7);
    json_decref(j);
    r = request(c, "GET", "/api/subjects/u-2/related", ana, NULL, NULL);
    j = json_reply(&r, 200);
    assert_string_equal(json_string_value(json_object_get(j, "subject")), "u-2");
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 3); /* u-1's, through u-9 */
    json_decref(j);
    r = request(c, "GET", "/api/releases", ana, NULL, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"total\":0,\"releases\":[]}");
    reply_free(&r);
    r = request(c, "DELETE", "/api/review", lea, NULL, NULL);
    assert_error(&r, 405, "POST");
    reply_free(&r);

    /* A removed user's token stops working at once. */
    s = rg_alert_store_open(c->db, RG_ALERTS_EXISTING, err, sizeof err);
    assert_int_equal(rg_users_remove(s, "ana", err, sizeof err), 1);
    rg_alert_store_close(s, NULL, 0);
    r = request(c, "GET", "/api/me", ana, NULL, NULL);
    assert_error(&r, 401, "wrong token");
    reply_free(&r);
    r = request(c, "GET", "/api/me", lea, NULL, NULL);
    assert_int_equal(r.status, 200);
    reply_free(&r);
}

static void test_percent_decode(void **state)
{
    (void)state;
    char *s = rg_api_percent_decode("e-3%2Fu-1%20x", 13);
    assert_string_equal(s, "e-3/u-1 x");
    free(s);
    s = rg_api_percent_decode("%e4%bd%a0", 9);
    assert_string_equal(s, "\xe4\xbd\xa0");
    free(s);
    assert_null(rg_api_percent_decode("%", 1));
    assert_null(rg_api_percent_decode("%4", 2));
    assert_null(rg_api_percent_decode("ab%4g", 5));
    assert_null(rg_api_percent_decode("%00", 3));
    assert_null(rg_api_percent_decode("%c3", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_required_everywhere_but_the_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_and_resolve_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_and_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_analysts_with_their_own_tokens, setup, teardown),
        cmocka_unit_test(test_percent_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
