/*
 * fuzz_review — what the review side parses from outside: decision ids
 * (decisions/decision_id.c), decisions-file lines (`alerts import`,
 * rg_alert_store_add_json), and review API requests (serve/api*.c: the
 * path, its percent-encoding, query parameters, JSON bodies), on one alert
 * store kept for the whole run (a temporary file with a few alerts and
 * two users).
 *
 * The first input byte picks the part; the rest is its input. Checks
 * beyond "no crash, no leak": a parsed id puts back to the same bytes
 * (upper-case escapes); every API answer is a JSON object with a known
 * status, an error answer carries "error"; a 2xx answer to a change was
 * made under the fixed user's name whatever the body said.
 *
 * API input: METHOD-byte, then "path\nquery\nbody" (query: name=value
 * pairs joined by '&', percent-decoded as serve.c does).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "decisions/decision_id.h"
#include "serve/serve.h"
#include "store/alerts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

static rg_alert_store *store;
static char path[64];

static void remove_store(void)
{
    rg_alert_store_close(store, NULL, 0);
    char side[80];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static rg_alert_store *the_store(void)
{
    if (store)
        return store;
    snprintf(path, sizeof path, "/tmp/fuzz_review-%ld.db", (long)getpid());
    unlink(path);
    char err[512];
    store = rg_alert_store_open(path, RG_ALERTS_CREATE, err, sizeof err);
    CHECK(store);
    static const char *const lines[] = {
        "{\"decision_id\":\"e-1/u-1\",\"event_id\":\"e-1\",\"event_type\":\"transfer\",\"subject\":\"u-1\","
        "\"actions\":[\"freeze\"],\"rules\":[{\"id\":\"r1\"}],\"ts\":\"2026-11-22T00:00:00Z\",\"ruleset\":\"x\"}",
        "{\"decision_id\":\"x%2Fy/z\",\"event_id\":\"x/y\",\"event_type\":\"transfer\",\"subject\":\"z\","
        "\"actions\":[\"review\"],\"rules\":[{\"id\":\"r2\"}],\"ts\":\"2026-11-23T00:00:00Z\",\"ruleset\":\"x\"}",
    };
    for (size_t i = 0; i < 2; i++)
        CHECK(rg_alert_store_add_json(store, lines[i], strlen(lines[i]), NULL, 0, err, sizeof err) == 1);
    CHECK(rg_alert_store_flush(store, err, sizeof err) == 0);
    atexit(remove_store);
    return store;
}

static void fuzz_id(const char *s, size_t n)
{
    rg_strbuf ev = RG_STRBUF_INIT, sub = RG_STRBUF_INIT, back = RG_STRBUF_INIT;
    if (rg_decision_id_parse(s, n, &ev, &sub)) {
        rg_decision_id_put(&back, ev.data, ev.len, sub.data, sub.len);
        /* Escapes come back upper-case; compare case-insensitively there. */
        CHECK(back.len == n);
        for (size_t i = 0; i < n; i++)
            CHECK(back.data[i] == s[i] || (s[i] == 'f' && back.data[i] == 'F'));
    } else {
        CHECK(ev.len == 0 && sub.len == 0);
    }
    rg_strbuf_free(&ev);
    rg_strbuf_free(&sub);
    rg_strbuf_free(&back);
}

static void fuzz_import(const char *s, size_t n)
{
    char err[512];
    err[0] = '\0';
    int rc = rg_alert_store_add_json(the_store(), s, n, NULL, 0, err, sizeof err);
    CHECK(rc >= -1 && rc <= 1);
    CHECK(rc != -1 || err[0]);
    CHECK(rg_alert_store_flush(store, err, sizeof err) == 0);
}

static void fuzz_api(const uint8_t *d, size_t n)
{
    static const char *const METHODS[] = {"GET", "POST", "HEAD", "DELETE"};
    if (n < 1)
        return;
    const char *method = METHODS[d[0] % 4];
    bool analyst = d[0] & 4;
    char *text = malloc(n);
    memcpy(text, d + 1, n - 1);
    text[n - 1] = '\0';
    if (strlen(text) != n - 1) { /* a NUL inside: not something HTTP hands over */
        free(text);
        return;
    }
    char *query = strchr(text, '\n');
    char *body = NULL;
    if (query) {
        *query++ = '\0';
        body = strchr(query, '\n');
        if (body)
            *body++ = '\0';
    }
    rg_api_param params[32];
    size_t n_params = 0;
    bool bad = false;
    for (char *p = query; p && *p && n_params < 32 && !bad; ) {
        char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        params[n_params].name = rg_api_percent_decode(p, klen);
        params[n_params].value = eq ? rg_api_percent_decode(eq + 1, len - klen - 1) : rg_api_percent_decode("", 0);
        if (!params[n_params].name || !params[n_params].value) {
            free(params[n_params].name);
            free(params[n_params].value);
            bad = true;
            break;
        }
        n_params++;
        p = amp ? amp + 1 : NULL;
    }
    rg_user user = {.name = "fuzzer", .role = analyst ? RG_ROLE_ANALYST : RG_ROLE_LEAD};
    rg_api_request rq = {
        .method = method, .path = text, .params = params, .n_params = n_params,
        .body = body, .body_len = body ? strlen(body) : 0,
        .content_type = body ? "application/json" : NULL, .user = &user,
    };
    rg_api_response rs = {.body = RG_STRBUF_INIT};
    if (!bad) {
        rg_api_handle(the_store(), &rq, &rs);
        static const int OK[] = {200, 400, 401, 403, 404, 405, 413, 415, 500};
        bool known = false;
        for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++)
            known |= rs.status == OK[i];
        CHECK(known && rs.status != 500);
        CHECK(rg_strbuf_ok(&rs.body) && rs.body.data);
        json_t *j = json_loadb(rs.body.data, rs.body.len, 0, NULL);
        CHECK(json_is_object(j));
        if (rs.status >= 400)
            CHECK(json_is_string(json_object_get(j, "error")));
        /* A change answered with the alert was made by the token's user. */
        json_t *a = json_object_get(j, "alert");
        const char *by = json_string_value(json_object_get(a, "labelled_by"));
        if (strcmp(method, "POST") == 0 && rs.status == 200 && strstr(text, "/label") && by)
            CHECK(strcmp(by, "fuzzer") == 0);
        json_decref(j);
    }
    rg_strbuf_free(&rs.body);
    for (size_t i = 0; i < n_params; i++) {
        free(params[i].name);
        free(params[i].value);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 64 * 1024)
        return 0;
    char *copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    switch (data[0] % 3) {
    case 0: fuzz_id(copy, size - 1); break;
    case 1: fuzz_import(copy, size - 1); break;
    default: fuzz_api(data + 1, size - 1); break;
    }
    free(copy);
    return 0;
}
