/* Tests for serve/'s API over real HTTP (serve_api_fixture.h): routes
 * and their errors (bad ids, bad parameters, wrong methods, bad and
 * oversized bodies), labels and resolve through the API, percent-decoding.
 * Who may do what (the token on every path, the page's headers, the token
 * file, per-analyst tokens and roles): test_serve_api_auth.c. */
#include "serve_api_fixture.h"

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
        cmocka_unit_test_setup_teardown(test_list_and_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_and_resolve_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_bodies, setup, teardown),
        cmocka_unit_test(test_percent_decode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
