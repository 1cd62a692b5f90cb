/*
 * alerts_review_fixture — the store and the review helpers that
 * test_alerts_review.c (review actions, history, outbox, users) and
 * test_alerts_review_lists.c (filters, sorts, counts, rule days, related)
 * both use: a fresh store holding fix_fill's five alerts per test, and one
 * review call by action. Header-only, like alerts_fixture.h, so each test
 * program has its own copy.
 */
#ifndef RG_TEST_ALERTS_REVIEW_FIXTURE_H
#define RG_TEST_ALERTS_REVIEW_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "alerts_fixture.h"

typedef struct ctx {
    char path[512];
    rg_alert_store *s;
    char err[512];
} ctx;

static inline int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    fix_db_path(c->path, sizeof c->path, "alerts-review");
    c->s = rg_alert_store_open(c->path, RG_ALERTS_CREATE, c->err, sizeof c->err);
    if (!c->s || fix_fill(c->s) < 0) {
        fprintf(stderr, "%s\n", c->err);
        return -1;
    }
    *state = c;
    return 0;
}

static inline int teardown(void **state)
{
    ctx *c = *state;
    rg_alert_store_close(c->s, NULL, 0);
    fix_db_remove(c->path);
    free(c);
    return 0;
}

static inline int review(ctx *c, rg_review_action action, const char *id, const char *value,
                         const char *who, rg_role role, rg_review_result *res)
{
    rg_review_op op = {.action = action, .who = who, .role = role};
    if (action == RG_REVIEW_LABEL)
        op.label = value;
    if (action == RG_REVIEW_ASSIGN)
        op.assignee = value;
    return rg_alert_store_review(c->s, &op, &id, 1, res, c->err, sizeof c->err);
}

/* What happened to one id, as a short word. */
static inline const char *outcome(ctx *c, rg_review_action action, const char *id,
                                  const char *value, const char *who, rg_role role)
{
    rg_review_result res;
    assert_int_equal(review(c, action, id, value, who, role, &res), 0);
    static const char *const W[] = {"done", "unchanged", "not_found", "forbidden"};
    return W[res.outcome];
}

#endif
