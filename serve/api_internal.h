/*
 * api_internal — what the review API's two files share (serve/api.c:
 * routing, parameters, the reading endpoints; serve/api_review.c: the
 * changing endpoints). Internal to serve/.
 */
#ifndef RG_SERVE_API_INTERNAL_H
#define RG_SERVE_API_INTERNAL_H

#include <jansson.h>

#include "serve.h"

#define API_DEFAULT_LIMIT 50
#define API_MAX_LIMIT 500
#define API_MAX_ID 512
#define API_MAX_NOTE 2000
#define API_RECENT 10

/* Fill rs with {"error": msg} and the status. */
void rg_api_fail(rg_api_response *rs, int status, const char *msg);
void rg_api_failf(rg_api_response *rs, int status, const char *fmt, const char *arg);

/* A store failure: 500 with the store's message (it names the file and
 * SQLite's reason, nothing the client could not see anyway). */
void rg_api_store_fail(rg_api_response *rs, const char *err);

/* An optional integer parameter 0..max (dflt when absent); -1 with 400. */
int rg_api_param_count(const rg_api_request *rq, const char *name, size_t max, size_t dflt, size_t *out,
                       rg_api_response *rs);

/* Each query parameter must be one of `allowed` (NULL-terminated) and
 * appear once; else 400. Returns 0 when fine. */
int rg_api_check_params(const rg_api_request *rq, const char *const *allowed, rg_api_response *rs);

/* The POST body as a JSON object with only `allowed` keys; NULL (and the
 * response filled) when it is not. No body is {} when `optional`. */
json_t *rg_api_body_object(const rg_api_request *rq, const char *const *allowed, bool optional,
                           rg_api_response *rs);

/* An optional string field of at most `max` bytes (no NUL); -1 (response
 * filled) when present but wrong. */
int rg_api_body_string(json_t *root, const char *key, size_t max, const char **out, rg_api_response *rs);

/* {"alert":…,"subject_alerts":[…],"ip_geo":…} (+ "release_queued" when >= 0):
 * what GET /api/alerts/ID and every change to one alert answer. */
void rg_api_show_alert(rg_alert_store *s, const rg_api_request *rq, const char *id, int release_queued,
                       rg_api_response *rs);

/* The reading endpoints beyond one alert (api_views.c); `arg` is the
 * decoded '*' segment of the route, or NULL. */
#define RG_API_VIEW(name) \
    void rg_api_view_##name(rg_alert_store *s, const char *arg, const rg_api_request *rq, rg_api_response *rs)
RG_API_VIEW(precision);
RG_API_VIEW(rule_stats);
RG_API_VIEW(timeline);
RG_API_VIEW(related);
RG_API_VIEW(releases);
RG_API_VIEW(users);
RG_API_VIEW(me);

/* The changing endpoints (api_review.c); `id` is the decoded alert id. */
void rg_api_review_one(rg_alert_store *s, rg_review_action action, const char *id,
                       const rg_api_request *rq, rg_api_response *rs);
void rg_api_review_bulk(rg_alert_store *s, const rg_api_request *rq, rg_api_response *rs);

#endif
