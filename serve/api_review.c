/*
 * api_review.c — the review API's changing endpoints: label, resolve,
 * reopen and assign one alert, or several at once (POST /api/review).
 * Every change is made as the user the token belongs to (rq->user), with
 * that user's role; a "by" field is accepted for older clients and
 * ignored: the history records who the token says, never what the client
 * writes. What a role may do is rg_alert_store_review's rule (store/alerts.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

#define API_MAX_BULK 500

static const char *const ACTION_NAMES[] = {
    [RG_REVIEW_LABEL] = "label", [RG_REVIEW_RESOLVE] = "resolve",
    [RG_REVIEW_REOPEN] = "reopen", [RG_REVIEW_ASSIGN] = "assign",
};

static const char *const OUTCOME_NAMES[] = {
    [RG_REVIEW_DONE] = "done", [RG_REVIEW_UNCHANGED] = "unchanged",
    [RG_REVIEW_NOT_FOUND] = "not_found", [RG_REVIEW_FORBIDDEN] = "forbidden",
};

/* The op's fields from a body (label, note, assignee); -1 with rs filled. */
static int op_from_body(json_t *root, rg_review_op *op, rg_api_response *rs)
{
    const char *by;
    if (rg_api_body_string(root, "by", RG_ALERT_NAME_MAX, &by, rs) < 0)
        return -1;
    if (op->action == RG_REVIEW_LABEL) {
        if (rg_api_body_string(root, "label", 16, &op->label, rs) < 0 ||
            rg_api_body_string(root, "note", API_MAX_NOTE, &op->note, rs) < 0)
            return -1;
        if (!op->label || (strcmp(op->label, "fraud") != 0 && strcmp(op->label, "legit") != 0)) {
            rg_api_fail(rs, 400, "label must be \"fraud\" or \"legit\"");
            return -1;
        }
        if (op->note && !*op->note)
            op->note = NULL; /* an empty note field keeps the earlier note */
    }
    if (op->action == RG_REVIEW_ASSIGN) {
        json_t *v = json_object_get(root, "assignee");
        if (!v) {
            rg_api_fail(rs, 400, "assignee is required: a user name, or null to unassign");
            return -1;
        }
        if (rg_api_body_string(root, "assignee", RG_ALERT_NAME_MAX, &op->assignee, rs) < 0)
            return -1;
        if (op->assignee && !rg_alert_name_valid(op->assignee)) {
            rg_api_fail(rs, 400, "assignee must be a user name (A-Z a-z 0-9 . _ @ -) or null");
            return -1;
        }
    }
    return 0;
}

static const char *const *allowed_fields(rg_review_action action, bool bulk)
{
    static const char *const LABEL[] = {"label", "note", "by", NULL};
    static const char *const PLAIN[] = {"by", NULL};
    static const char *const ASSIGN[] = {"assignee", "by", NULL};
    static const char *const BULK[] = {"action", "ids", "label", "note", "assignee", "by", NULL};
    if (bulk)
        return BULK;
    return action == RG_REVIEW_LABEL ? LABEL : action == RG_REVIEW_ASSIGN ? ASSIGN : PLAIN;
}

void rg_api_review_one(rg_alert_store *s, rg_review_action action, const char *id,
                       const rg_api_request *rq, rg_api_response *rs)
{
    if (rg_api_check_params(rq, (const char *const[]){NULL}, rs) < 0)
        return;
    bool body_optional = action == RG_REVIEW_RESOLVE || action == RG_REVIEW_REOPEN;
    json_t *root = rg_api_body_object(rq, allowed_fields(action, false), body_optional, rs);
    if (!root)
        return;
    rg_review_op op = {.action = action, .who = rq->user->name, .role = rq->user->role};
    char err[512];
    rg_review_result res;
    if (op_from_body(root, &op, rs) == 0) {
        if (rg_alert_store_review(s, &op, &id, 1, &res, err, sizeof err) < 0)
            rg_api_fail(rs, 500, err);
        else if (res.outcome == RG_REVIEW_NOT_FOUND)
            rg_api_failf(rs, 404, "no alert with id '%.512s'", id);
        else if (res.outcome == RG_REVIEW_FORBIDDEN)
            rg_api_fail(rs, 403, res.why);
        else
            rg_api_show_alert(s, rq, id, res.release_queued, rs);
    }
    json_decref(root);
}

void rg_api_review_bulk(rg_alert_store *s, const rg_api_request *rq, rg_api_response *rs)
{
    json_t *root = rg_api_body_object(rq, allowed_fields(RG_REVIEW_LABEL, true), false, rs);
    if (!root)
        return;
    const char **ids = NULL;
    rg_review_result *res = NULL;
    const char *action_name;
    if (rg_api_body_string(root, "action", 16, &action_name, rs) < 0)
        goto done;
    int action = -1;
    for (int a = 0; action_name && a <= RG_REVIEW_ASSIGN; a++)
        if (strcmp(action_name, ACTION_NAMES[a]) == 0)
            action = a;
    if (action < 0) {
        rg_api_fail(rs, 400, "action must be label, resolve, reopen or assign");
        goto done;
    }
    json_t *list = json_object_get(root, "ids");
    size_t n = json_array_size(list);
    if (!json_is_array(list) || n == 0 || n > API_MAX_BULK) {
        rg_api_fail(rs, 400, "ids must be an array of 1 to 500 alert ids");
        goto done;
    }
    ids = calloc(n, sizeof *ids);
    res = calloc(n, sizeof *res);
    if (!ids || !res) {
        rg_api_fail(rs, 500, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > API_MAX_ID ||
            strlen(json_string_value(v)) != json_string_length(v)) {
            rg_api_fail(rs, 400, "ids must be an array of 1 to 500 alert ids");
            goto done;
        }
        ids[i] = json_string_value(v);
    }
    rg_review_op op = {.action = (rg_review_action)action, .who = rq->user->name, .role = rq->user->role};
    if (op_from_body(root, &op, rs) < 0)
        goto done;
    char err[512];
    if (rg_alert_store_review(s, &op, ids, n, res, err, sizeof err) < 0) {
        rg_api_fail(rs, 500, err);
        goto done;
    }
    size_t counts[4] = {0};
    for (size_t i = 0; i < n; i++)
        counts[res[i].outcome]++;
    rg_strbuf *b = &rs->body;
    rg_strbuf_printf(b, "{\"action\":\"%s\",\"done\":%zu,\"unchanged\":%zu,\"not_found\":%zu,\"forbidden\":%zu,"
                        "\"results\":[", ACTION_NAMES[action], counts[RG_REVIEW_DONE], counts[RG_REVIEW_UNCHANGED],
                     counts[RG_REVIEW_NOT_FOUND], counts[RG_REVIEW_FORBIDDEN]);
    for (size_t i = 0; i < n; i++) {
        rg_strbuf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        rg_strbuf_put_json_str(b, ids[i], strlen(ids[i]));
        rg_strbuf_printf(b, ",\"outcome\":\"%s\",\"why\":", OUTCOME_NAMES[res[i].outcome]);
        if (res[i].why)
            rg_strbuf_put_json_str(b, res[i].why, strlen(res[i].why));
        else
            rg_strbuf_puts(b, "null");
        rg_strbuf_puts(b, res[i].release_queued ? ",\"release_queued\":true}" : ",\"release_queued\":false}");
    }
    rg_strbuf_puts(b, "]}");
    rs->status = 200;
done:
    free(ids);
    free(res);
    json_decref(root);
}
