/* Tests for who may do what on serve/'s review server, over real HTTP
 * (serve_api_fixture.h): the token (missing, wrong, right, constant-time
 * compare, the 0600 file), the page's headers; per-analyst tokens (who is
 * recorded, what each role may do), and through them bulk changes,
 * history, search and filters, rule statistics, related alerts, releases.
 * Routes, errors and bodies with the single token: test_serve_api.c. */
#include <sys/stat.h>

#include "serve_api_fixture.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_required_everywhere_but_the_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_file_and_compare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_analysts_with_their_own_tokens, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
