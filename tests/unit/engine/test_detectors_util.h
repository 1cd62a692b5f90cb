/*
 * test_detectors_util — helpers shared by the detector unit tests
 * (tests/unit/engine/test_detectors*.c): build name uses by hand from the
 * registry's specs, create a family's state, and drive one event through
 * observe / eval / update the way the engine does.
 *
 * Owner: detectors. Header-only (static functions): each test program
 * includes it once. Events are plain rg_event structs filled in C.
 */
#ifndef RG_TEST_DETECTORS_UTIL_H
#define RG_TEST_DETECTORS_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/binio.h"
#include "common/strbuf.h"
#include "detectors/detector.h"
#include "rules/eval.h"

#define SEC_MS INT64_C(1000)
#define MIN_MS (60 * SEC_MS)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
/* 2026-11-22T00:00:00Z: a day boundary, to slide windows across midnight. */
#define T0 INT64_C(1795305600000)

#define MAX_TEST_USES 8

/* A detector's state for hand-made uses; uses live in the struct. */
typedef struct det_fixture {
    const rg_detector *det;
    rg_name_use uses[MAX_TEST_USES];
    const rg_name_use *use_ptrs[MAX_TEST_USES];
    size_t n_uses;
    rg_detector_config cfg;
    void *state;
} det_fixture;

static inline void fixture_begin(det_fixture *f, const char *first_name)
{
    memset(f, 0, sizeof *f);
    const rg_detector *det = NULL;
    assert_non_null(rg_registry_find(first_name, strlen(first_name), &det));
    f->det = det;
    f->cfg.history_horizon_ms = 7 * DAY_MS;
    f->cfg.max_lateness_ms = HOUR_MS;
}

/* Add a use of `name` (its detector must be f->det). */
static inline const rg_name_use *fixture_use(det_fixture *f, const char *name, int64_t window_ms,
                                             const struct rg_expr *filter)
{
    const rg_detector *det = NULL;
    const rg_name_spec *spec = rg_registry_find(name, strlen(name), &det);
    assert_non_null(spec);
    assert_ptr_equal(det, f->det);
    assert_true(f->n_uses < MAX_TEST_USES);
    rg_name_use *u = &f->uses[f->n_uses];
    u->spec = spec;
    u->detector = det;
    u->detector_index = (unsigned)rg_registry_index(det);
    u->window_ms = window_ms;
    u->filter = filter;
    u->slot = (unsigned)f->n_uses;
    u->detector_slot = (unsigned)f->n_uses;
    u->evidence_key = name;
    f->use_ptrs[f->n_uses] = u;
    f->n_uses++;
    return u;
}

static inline void fixture_create(det_fixture *f)
{
    char err[256] = "";
    f->cfg.uses = f->use_ptrs;
    f->cfg.n_uses = f->n_uses;
    f->state = f->det->create(&f->cfg, err, sizeof err);
    if (!f->state)
        fail_msg("create failed: %s", err);
}

static inline void fixture_end(det_fixture *f)
{
    f->det->destroy(f->state);
    f->state = NULL;
}

/* The state's checkpoint bytes, into out (reset first). */
static inline void fixture_save_bytes(const det_fixture *f, rg_strbuf *out)
{
    rg_strbuf_reset(out);
    assert_int_equal(f->det->save(f->state, out), 0);
}

/* The state made again from its own checkpoint (scratch holds the
 * bytes): what a restart would have, and nothing a checkpoint does not
 * keep. */
static inline void fixture_reload(det_fixture *f, rg_strbuf *scratch)
{
    fixture_save_bytes(f, scratch);
    f->det->destroy(f->state);
    fixture_create(f);
    rg_reader in;
    rg_reader_init(&in, scratch->data, scratch->len, 0);
    assert_int_equal(f->det->load(f->state, f->det->state_version, &in), 0);
}

/* A bare event of a type at ts for an account (string literals only). */
static inline rg_event mk_event(rg_event_type type, int64_t ts_ms, const char *account)
{
    rg_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.ts_ms = ts_ms;
    ev.event_id = "e-test";
    ev.event_id_len = strlen(ev.event_id);
    ev.account = account;
    ev.account_len = strlen(account);
    ev.client_automation = -1;
    ev.client_hooked = -1;
    ev.shares = 1;
    if (type == RG_EV_TRANSFER)
        ev.currency = "CNY";
    return ev;
}

static inline rg_event mk_transfer(int64_t ts_ms, const char *account, const char *counterparty, int64_t amount)
{
    rg_event ev = mk_event(RG_EV_TRANSFER, ts_ms, account);
    ev.counterparty = counterparty;
    ev.counterparty_len = strlen(counterparty);
    ev.amount = amount;
    return ev;
}

/* Run the engine's per-event steps for one event, evaluating `use` (may be
 * NULL) between observe and update; returns that value. */
static inline rg_value fixture_step(det_fixture *f, const rg_name_use *use, const rg_event *ev,
                                    struct rg_eval_ctx *ctx)
{
    rg_value v = rg_unknown(RG_T_NONE);
    if (f->det->observe)
        f->det->observe(f->state, ev, ctx);
    if (use)
        v = f->det->eval(f->state, use, ev, ctx);
    if (f->det->update)
        f->det->update(f->state, ev, ctx);
    return v;
}

/* Evaluate without folding the event in (what a rule sees). */
static inline rg_value fixture_peek(det_fixture *f, const rg_name_use *use, const rg_event *ev,
                                    struct rg_eval_ctx *ctx)
{
    if (f->det->observe)
        f->det->observe(f->state, ev, ctx);
    return f->det->eval(f->state, use, ev, ctx);
}

static inline void fixture_fold(det_fixture *f, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    if (f->det->observe)
        f->det->observe(f->state, ev, ctx);
    if (f->det->update)
        f->det->update(f->state, ev, ctx);
}

static inline rg_detector_stats fixture_stats(const det_fixture *f)
{
    rg_detector_stats st;
    memset(&st, 0, sizeof st);
    if (f->det->stats)
        f->det->stats(f->state, &st);
    return st;
}

#define assert_int_value(v, expected)                  \
    do {                                               \
        rg_value v_ = (v);                             \
        assert_true(v_.known);                         \
        assert_int_equal(v_.u.i, (expected));          \
    } while (0)

#define assert_bool_value(v, expected)                 \
    do {                                               \
        rg_value v_ = (v);                             \
        assert_true(v_.known);                         \
        assert_int_equal(v_.type, RG_T_BOOL);          \
        assert_int_equal(v_.u.b, (expected));          \
    } while (0)

#define assert_unknown(v) assert_false((v).known)

#define assert_string_value(v, expected)                                  \
    do {                                                                  \
        rg_value v_ = (v);                                                \
        assert_true(v_.known);                                            \
        assert_int_equal(v_.u.str.len, strlen(expected));                 \
        assert_memory_equal(v_.u.str.s, (expected), strlen(expected));    \
    } while (0)

/*
 * A context whose GeoIP answer for `ev` is `where` (NULL: not in the
 * database), without a database: sets the memo rg_eval_geo reads. Test
 * only; tests with real databases are in test_detectors.c.
 */
static inline void fake_geo(rg_eval_ctx *ctx, const rg_event *ev, const rg_geo_result *where)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->ev = ev;
    ctx->gen = 1;
    ctx->geo_gen = 1;
    ctx->geo_ok = where != NULL;
    if (where)
        ctx->geo_res = *where;
}

static inline rg_geo_result geo_at(const char *country, bool city_level, double lat, double lon, int accuracy_km)
{
    rg_geo_result g;
    memset(&g, 0, sizeof g);
    g.found = true;
    snprintf(g.country, sizeof g.country, "%s", country);
    g.city_level = city_level;
    g.lat = lat;
    g.lon = lon;
    g.accuracy_km = accuracy_km;
    return g;
}

#endif
