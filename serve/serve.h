/*
 * serve — the analyst's review page and its JSON API over the alert store
 * (`riskgate serve`, docs/review.md).
 *
 * Security model (docs/review.md, "Tokens", "Per-analyst access"):
 *   - binds 127.0.0.1 unless told otherwise;
 *   - every request except the static page shell at GET / must carry
 *     `Authorization: Bearer TOKEN`. The token names who is asking: one
 *     of the store's users (store/users.h: analyst or lead, checked
 *     against every stored hash in constant time), or, while the store
 *     has no users, the single token kept in a 0600 file, which acts as
 *     one lead (rg_serve_config.user_name). Changes are recorded under
 *     that name, never one the client sends; what a role may do is
 *     rg_alert_store_review's rule. The shell holds no data and no secret:
 *     it asks for the token and sends it in the header of every API call.
 *     No cookies, so no CSRF; a token is never logged or printed;
 *   - request bodies are limited (RG_SERVE_MAX_BODY, else 413); every
 *     value from the client reaches SQL only as a bound parameter.
 *
 * Threads: libmicrohttpd runs one internal polling thread; every request
 * is handled on it, and it alone uses the server's alert store handle
 * (opened by rg_serve_start, handed over before the thread starts). The
 * caller's thread only starts and stops the server.
 */
#ifndef RG_SERVE_H
#define RG_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/strbuf.h"
#include "../store/alerts.h"
#include "../store/users.h"

#define RG_SERVE_MAX_BODY (16 * 1024)
/* Connection limits (docs/review.md, "Limits"). Headers: serve/gate.h
 * (10 s, 16 KiB, 256 waiting, 64 per client address). Then: */
#define RG_SERVE_MAX_CONNECTIONS 256        /* requests being answered */
#define RG_SERVE_MAX_CONNECTIONS_PER_IP 64
#define RG_SERVE_BODY_MS 10000              /* from the headers to the end of the body */
#define RG_SERVE_IDLE_SECONDS 10            /* nothing sent or received */
#define RG_SERVE_TOKEN_HEX 64               /* 32 random bytes */
#define RG_SERVE_DEFAULT_LISTEN "127.0.0.1:8477"

/* ---- token (serve/token.c) -------------------------------------------- */

/*
 * Read the token from `path`, or create the file (mode 0600, 32 bytes
 * from /dev/urandom as 64 hex digits) when it does not exist. A file that
 * group or others can read, that is not a regular file, or whose content
 * is not one token (32..256 characters of A-Z a-z 0-9 - . _ ~ + / =) is
 * refused. out must hold 257 bytes. *created (may be NULL) says whether
 * the file was made now. -1 with errstr on failure.
 */
int rg_serve_token_load(const char *path, char *out, size_t out_size, bool *created, char *errstr,
                        size_t errstr_size);

/* Write `token` and a newline into a new file at path: mode 0600, never
 * over an existing file or through a symlink (O_EXCL | O_NOFOLLOW),
 * fsynced; removed again when writing fails. -1 with errstr. */
int rg_serve_token_write(const char *path, const char *token, char *errstr, size_t errstr_size);

/* Constant-time comparison of a presented token with the expected one:
 * the time depends on the expected length only. NULL given: false. */
bool rg_serve_token_equal(const char *expected, const char *given);

/* ---- API (serve/api.c): one request in, status + JSON out, no HTTP ---- */

typedef struct rg_api_param {
    char *name;     /* percent-decoded */
    char *value;
} rg_api_param;

typedef struct rg_api_request {
    const char *method;          /* "GET", "POST", ... */
    const char *path;            /* as sent (percent-encoded), without the query */
    const rg_api_param *params;  /* decoded query parameters */
    size_t n_params;
    const char *body;            /* NULL when none */
    size_t body_len;
    const char *content_type;    /* NULL when absent */
    const rg_user *user;         /* who is asking (authenticated by serve.c); required */
    bool single_user;            /* the store has no users: the token file's one lead */
    const struct rg_geo *geo;    /* to place an alert's IP for the page; NULL: none */
} rg_api_request;

typedef struct rg_api_response {
    int status;                  /* HTTP status */
    const char *allow;           /* for 405: the methods the path takes */
    rg_strbuf body;              /* JSON; the caller frees */
} rg_api_response;

/*
 * Handle one authenticated request for a path under /api/ (the routes:
 * the ROUTES table in api.c, docs/review.md "API reference"). An ID in a
 * path is percent-encoded as a whole ("e-3%252Fx%2Fu-1" for e-3%2Fx/u-1).
 * Errors are {"error":"..."} with 400, 403, 404, 405, 413, 415 or 500.
 */
void rg_api_handle(rg_alert_store *s, const rg_api_request *rq, rg_api_response *rs);

/* Decode %XX escapes of src[0..len) into a malloc'd string. NULL for a
 * bad escape, an encoded NUL, or text that is not UTF-8. */
char *rg_api_percent_decode(const char *src, size_t len);

/* ---- the page (serve/page_html.c, generated from serve/page.html) ---- */

extern const char rg_page_html[];
extern const size_t rg_page_html_len;
/* Content-Security-Policy for the page: hashes of its one inline script
 * and one inline style, nothing from anywhere else. */
extern const char rg_page_csp[];

/* ---- the server (serve/serve.c) --------------------------------------- */

typedef struct rg_serve_config {
    const char *db_path;         /* an existing alert store */
    const char *listen;          /* "ADDR:PORT", "[v6]:PORT"; NULL: RG_SERVE_DEFAULT_LISTEN; port 0: any free */
    const char *token;           /* the single token; NULL when the store has users */
    const char *user_name;       /* whom the single token records changes as; NULL: "operator" */
    FILE *access_log;            /* one line per request (never the token); NULL: none */
    const struct rg_geo *geo;    /* GeoIP databases to place alerts' IPs (borrowed, read-only,
                                    must outlive the server); NULL: none */
    /* Slow-client limits (serve/gate.h); 0: the defaults there. */
    int header_timeout_ms;
    size_t max_waiting;
    size_t max_waiting_per_ip;
} rg_serve_config;

typedef struct rg_server rg_server;

/* Open the store and start listening. NULL with errstr on failure (bad
 * listen address: errstr starts with "--listen"). */
rg_server *rg_serve_start(const rg_serve_config *cfg, char *errstr, size_t errstr_size);

/* The port actually bound (useful with port 0). */
uint16_t rg_serve_port(const rg_server *srv);

/* Stop serving (waits for the polling thread), close the store. NULL-safe. */
void rg_serve_stop(rg_server *srv);

#endif
