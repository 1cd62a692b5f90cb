/*
 * velocity — `count(W, FILTER)`: how many of the acting account's events
 * in the sliding window (E.ts - W, E.ts] satisfy FILTER, E included when
 * it satisfies it (rules.md; detection.md "Window semantics").
 *
 * Owner: detectors.
 *
 * FILTER is decided once per event, as the event arrives (observe hook),
 * by rg_eval_condition over filterable names, against the state from
 * before the event (a filter the event's type settles, as the loader
 * folded it, read from a table made at create: rg_expr_type_settles):
 * an event that matched is remembered by its ts alone,
 * so later rule changes to other names cannot rewrite history. A NULL
 * filter means "every event of the account" (tests and packs that count
 * all activity use it). A filter that is UNKNOWN does not match: an event
 * is counted only when the filter is TRUE, like a rule firing.
 *
 * State: a slice of the account's shared record (account_store.h)
 * holding one rg_window per count() use (uses with equal W and FILTER are
 * merged by the loader, so e.g. instant claims and recall bursts each keep
 * their own timestamps, once) and the base their 32-bit offsets count
 * from (window.h), and when a trim could first drop one (trim_due_ms):
 * 16 bytes, plus 16 per use holding 3 timestamps inline.
 * Nothing is kept for an account until one of its events matches.
 *
 * Expiry: a timestamp matters while some event may still ask for a window
 * that contains it. Events up to max_lateness behind the watermark are
 * answered exactly, so a use's entries <= watermark - max_lateness - W
 * are dropped, lazily when the account is touched and in expire(); an
 * account whose windows are all empty is removed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strmap.h"
#include "../rules/eval.h"
#include "../rules/expr.h"
#include "account_store.h"
#include "detector.h"
#include "sweep.h"
#include "window.h"

static const rg_name_spec velocity_names[] = {
    {"count", RG_T_INT, {RG_ARG_DURATION, RG_ARG_CONDITION}, false,
     "the acting account's events in (E.ts - W, E.ts] satisfying FILTER (decided as each event arrived), E "
     "included if it does"},
};

typedef struct velocity_state {
    rg_sweep_clock sweep_clock;       /* when the next sweep is due (sweep.h) */
    rg_account_slice accounts;        /* account -> vel_record, in the shared store */
    rg_account_store *own_store;      /* a private store (no engine), else NULL */
    const rg_name_use *const *uses;
    size_t n_uses;
    int64_t max_lateness_ms;
    int64_t watermark_ms;             /* highest ts folded in (or the engine's: watermark_external) */
    bool watermark_external;
    size_t dropped;

    /* This event, as observe saw it (reset by update): the account's
     * record (NULL when it has none) and which filters E matched. */
    const rg_event *observed;
    struct vel_record *observed_record;
    const bool *matched;              /* [n_uses]: the plan's matched, or its answers */
    bool any_matched;
    const struct type_plan *plan;     /* E's type's */

    /* Per rg_eval_ctx.type_slot, what E's type settles of the filters
     * (make_plans): most of a pack's filters are settled for most types
     * (`type == recall_request` on a transfer), so observe reads their
     * answers instead of calling the folded roots, and asks only the rest
     * (issue 16). Slot 0 (type not known) asks every filter. */
    struct type_plan *plans;          /* [RG_EV_TYPE_COUNT + 1] */
    void *plan_block;                 /* what the plans point into */

    /* Each use's trim cutoff (watermark - max_lateness - W) at
     * cutoffs_wm_ms: worked out once per watermark, not once per record
     * a sweep trims. */
    int64_t *cutoff_ms;               /* [n_uses] */
    int64_t cutoffs_wm_ms;
    bool cutoffs_valid;
    int64_t *keep_ms;                 /* [n_uses]: max_lateness + W, saturated */
} velocity_state;

/* An account's slice: the base of every window's offsets, then one
 * window per use (velocity_state.n_uses; a slice does not store the
 * count, that would cost every account bytes). */
typedef struct vel_record {
    int64_t base_ms;
    /* The lowest watermark at which a trim could drop an entry (a lower
     * bound: min over the windows of oldest + max_lateness + W), so the
     * trims of an update or a sweep that would drop nothing skip the
     * windows (issue 16). INT64_MIN: unknown, trim and work it out. */
    int64_t trim_due_ms;
    rg_window windows[];
} vel_record;

static size_t record_size(size_t n_uses) { return sizeof(vel_record) + n_uses * sizeof(rg_window); }

/* One event type's plan (velocity_state.plans). */
typedef struct type_plan {
    const bool *matched;   /* [n_uses]: the filter settled TRUE (a NULL filter: always); asked ones false */
    /* [n_uses]: matched, with each asked filter's answer for the event in
     * hand written over its entry by observe: the settled entries are
     * this type's for good, so an event writes only what it asks. */
    bool *answers;
    const uint32_t *ask;   /* the uses whose filter is asked, ascending */
    const uint32_t *may;   /* the uses that may match (settled TRUE, or asked), ascending */
    uint32_t n_ask, n_may;
    bool any;              /* some use matched by the type alone */
} type_plan;

/* The plans of the uses (velocity_state.plans), by rg_expr_type_settles
 * of each filter; -1 on OOM. */
static int make_plans(velocity_state *s)
{
    size_t n = s->n_uses, slots = RG_EV_TYPE_COUNT + 1;
    s->plans = calloc(slots, sizeof *s->plans);
    s->plan_block = malloc(slots * n * (2 * sizeof(uint32_t) + 2 * sizeof(bool)) + 1);
    if (!s->plans || !s->plan_block)
        return -1;
    uint32_t *lists = s->plan_block;
    bool *matched = (bool *)(lists + 2 * slots * n), *answers = matched + slots * n;
    for (size_t slot = 0; slot < slots; slot++) {
        type_plan *p = &s->plans[slot];
        uint32_t *ask = lists + 2 * slot * n, *may = ask + n;
        bool *row = matched + slot * n;
        for (size_t i = 0; i < n; i++) {
            const struct rg_expr *filter = s->uses[i]->filter;
            int settled = filter ? rg_expr_type_settles(filter, (unsigned)slot) : RG_TRUE;
            row[i] = settled == RG_TRUE;
            p->any |= row[i];
            if (settled < 0)
                ask[p->n_ask++] = (uint32_t)i;
            if (settled < 0 || settled == RG_TRUE)
                may[p->n_may++] = (uint32_t)i;
        }
        p->matched = row;
        p->answers = answers + slot * n;
        memcpy(p->answers, row, n * sizeof *row);
        p->ask = ask;
        p->may = may;
    }
    return 0;
}

static void velocity_destroy(void *state);

static void *velocity_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    velocity_state *s = calloc(1, sizeof *s);
    if (!s)
        goto fail;
    s->sweep_clock = RG_SWEEP_CLOCK_INIT;
    s->uses = cfg->uses;
    s->n_uses = cfg->n_uses;
    s->max_lateness_ms = cfg->max_lateness_ms > 0 ? cfg->max_lateness_ms : 0;
    s->watermark_external = cfg->watermark_external;
    s->watermark_ms = INT64_MIN;
    s->cutoff_ms = calloc(cfg->n_uses ? cfg->n_uses : 1, sizeof *s->cutoff_ms);
    s->keep_ms = calloc(cfg->n_uses ? cfg->n_uses : 1, sizeof *s->keep_ms);
    if (!s->cutoff_ms || !s->keep_ms || make_plans(s) != 0)
        goto fail;
    for (size_t i = 0; i < cfg->n_uses; i++)
        s->keep_ms[i] = rg_sat_add(s->max_lateness_ms, cfg->uses[i]->window_ms);
    rg_account_store *store = cfg->accounts;
    if (!store && !(store = s->own_store = rg_account_store_new()))
        goto fail;
    if (rg_account_store_reserve(store, record_size(cfg->n_uses), &s->accounts) != 0 ||
        (s->own_store && rg_account_store_seal(s->own_store) != 0))
        goto fail;
    for (size_t i = 0; i < cfg->n_uses; i++) {
        if (cfg->uses[i]->window_ms <= 0) {
            snprintf(errstr, errstr_size, "count(): window must be a positive duration");
            velocity_destroy(s);
            return NULL;
        }
    }
    return s;
fail:
    snprintf(errstr, errstr_size, "velocity: out of memory");
    velocity_destroy(s);
    return NULL;
}

static void free_record(void *value, size_t n_uses)
{
    vel_record *r = value;
    for (size_t i = 0; i < n_uses; i++)
        rg_window_free(&r->windows[i]);
}

/* A slice does not store its window count (that would cost every
 * account bytes): windows are freed by code that knows n_uses, before the
 * slice is released. */
static bool free_record_visit(const char *key, size_t keylen, void *value, void *arg)
{
    free_record(value, *(const size_t *)arg);
    return true;
}

static void velocity_destroy(void *state)
{
    velocity_state *s = state;
    if (!s)
        return;
    if (s->accounts.store)
        rg_account_foreach(&s->accounts, free_record_visit, &s->n_uses);
    rg_account_store_free(s->own_store);
    free(s->cutoff_ms);
    free(s->keep_ms);
    free(s->plans);
    free(s->plan_block);
    free(s);
}

static void velocity_observe(void *state, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    velocity_state *s = state;
    s->observed = ev;
    s->observed_record = rg_account_get(&s->accounts, ev->account, ev->account_len);
    const type_plan *p = &s->plans[ctx && ctx->type_slot <= RG_EV_TYPE_COUNT ? ctx->type_slot : 0];
    s->plan = p;
    s->matched = p->matched;
    s->any_matched = p->any;
    if (!p->n_ask)
        return;   /* the type settles every filter */
    for (uint32_t k = 0; k < p->n_ask; k++) {
        uint32_t i = p->ask[k];   /* a filter, never NULL (a NULL one is settled TRUE) */
        bool match = ctx && rg_eval_condition(ctx, s->uses[i]->filter) == RG_TRUE;
        p->answers[i] = match;
        s->any_matched |= match;
    }
    s->matched = p->answers;
}

static rg_value velocity_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx);

/* eval of an event observe has not seen (the engine observes first;
 * tests may not): out of line, so the usual eval keeps no frame. */
__attribute__((noinline)) static rg_value eval_unobserved(velocity_state *s, const rg_name_use *use,
                                                          const rg_event *ev, struct rg_eval_ctx *ctx)
{
    velocity_observe(s, ev, ctx);
    return velocity_eval(s, use, ev, ctx);
}

static rg_value velocity_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    velocity_state *s = state;
    if (s->observed != ev)
        return eval_unobserved(s, use, ev, ctx);
    size_t i = use->detector_slot;
    if (i >= s->n_uses)
        return rg_unknown(RG_T_INT);
    int64_t window_count = s->matched[i] ? 1 : 0;
    const vel_record *r = s->observed_record;
    if (r) {
        /* Entries at or below the trim cutoff of the watermark E is judged
         * by count for no one, trimmed yet or not: a late event's count
         * does not depend on when its account was last trimmed (one
         * engine and replay --workers' tasks trim at different moments).
         * For an event within max_lateness the cutoff is below its window
         * and changes nothing. */
        int64_t lo_ms = rg_sat_sub(ev->ts_ms, use->window_ms);
        int64_t wm_ms = rg_eval_judge_at(ctx, s->watermark_ms);
        int64_t cutoff_ms = rg_sat_sub(rg_sat_sub(wm_ms, s->max_lateness_ms), s->uses[i]->window_ms);
        if (cutoff_ms > lo_ms)
            lo_ms = cutoff_ms;
        window_count += rg_window_count(&r->windows[i], r->base_ms, lo_ms, ev->ts_ms);
    }
    return rg_int_typed(RG_T_INT, window_count);
}

/* The uses' trim cutoffs at the current watermark. The watermark moves
 * with nearly every event, so update works them out itself (trim_record
 * with NULL); a sweep, whose watermark stays, once for all its records. */
static const int64_t *trim_cutoffs(velocity_state *s)
{
    if (!s->cutoffs_valid || s->cutoffs_wm_ms != s->watermark_ms) {
        int64_t late_ms = rg_sat_sub(s->watermark_ms, s->max_lateness_ms);
        for (size_t i = 0; i < s->n_uses; i++)
            s->cutoff_ms[i] = rg_sat_sub(late_ms, s->uses[i]->window_ms);
        s->cutoffs_wm_ms = s->watermark_ms;
        s->cutoffs_valid = true;
    }
    return s->cutoff_ms;
}

/* When an entry at ts_ms of use i can first be trimmed: the watermark
 * at which cutoff (watermark - max_lateness - W, saturated) reaches it.
 * Never later than that (saturating down), so skipping a trim below it
 * skips nothing a trim would drop. */
static int64_t entry_due(const velocity_state *s, size_t i, int64_t ts_ms)
{
    return ts_ms == INT64_MIN ? INT64_MIN : rg_sat_add(ts_ms, s->keep_ms[i]);
}

/* A record's window i holds an entry at ts_ms now. */
static void note_entry(const velocity_state *s, vel_record *r, size_t i, int64_t ts_ms)
{
    int64_t due = entry_due(s, i, ts_ms);
    if (due < r->trim_due_ms)
        r->trim_due_ms = due;
}

/* Drop what no window that is still answered exactly can contain, by
 * the uses' cutoffs at the watermark (NULL: worked out here); returns
 * whether anything is left. Below the record's trim_due_ms nothing
 * would go: the windows are not looked at (a record holds entries while
 * it exists: update and sweeps release an emptied one). */
static bool trim_record(velocity_state *s, vel_record *r, const int64_t *cutoff_ms)
{
    if (s->watermark_ms < r->trim_due_ms)
        return true;
    int64_t late_ms = rg_sat_sub(s->watermark_ms, s->max_lateness_ms);
    bool any_left = false;
    r->trim_due_ms = INT64_MAX;
    for (size_t i = 0; i < s->n_uses; i++) {
        rg_window *w = &r->windows[i];
        rg_window_trim(w, r->base_ms, cutoff_ms ? cutoff_ms[i] : rg_sat_sub(late_ms, s->uses[i]->window_ms));
        if (rg_window_len(w)) {
            any_left = true;
            note_entry(s, r, i, rg_window_oldest(w, r->base_ms));
        }
    }
    return any_left;
}

static void velocity_update(void *state, const rg_event *ev, struct rg_eval_ctx *ctx);

/* update of an event observe has not seen (the engine observes first;
 * tests may not): out of line, so the usual update keeps no frame. */
__attribute__((noinline)) static void update_unobserved(velocity_state *s, const rg_event *ev,
                                                        struct rg_eval_ctx *ctx)
{
    velocity_observe(s, ev, ctx);
    velocity_update(s, ev, ctx);
}

static void fold_in(velocity_state *s, const rg_event *ev, vel_record *r);

static void velocity_update(void *state, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    velocity_state *s = state;
    if (s->observed != ev) {
        update_unobserved(s, ev, ctx);
        return;
    }
    rg_sweep_tick(&s->sweep_clock);
    s->watermark_ms = rg_eval_judge_at(ctx, s->watermark_ms);
    if (ev->ts_ms > s->watermark_ms && !s->watermark_external)
        s->watermark_ms = ev->ts_ms;
    vel_record *r = s->observed_record;
    s->observed = NULL;
    s->observed_record = NULL;
    /* An event that matches no filter, of an account with no record or
     * one that nothing expires from yet (trim_record's own test): nothing
     * to trim or add, decided without the fold's frame. */
    if (s->any_matched || (r && s->watermark_ms >= r->trim_due_ms))
        fold_in(s, ev, r);
}

/* E into its account's record r (NULL: none yet, E matched something):
 * trim, then add E's ts to each window whose filter it matched. */
__attribute__((noinline)) static void fold_in(velocity_state *s, const rg_event *ev, vel_record *r)
{
    if (s->any_matched && !r) {
        r = rg_account_put(&s->accounts, ev->account, ev->account_len, NULL);
        if (!r) {
            s->dropped++;
        } else {
            r->trim_due_ms = INT64_MAX;   /* no entry yet */
            r->base_ms = rg_window_empty_group_base(ev->ts_ms);   /* what the fit below would choose */
        }
    }
    if (r) {
        /* Trim first: an account that is steady in time then keeps its
         * few live timestamps inline instead of growing a heap buffer. */
        bool any_left = s->watermark_ms < r->trim_due_ms || trim_record(s, r, NULL);   /* trim_record's own test, inline: most updates trim nothing */
        if (s->any_matched)
            (void)rg_window_group_fit(r->windows, s->n_uses, &r->base_ms, ev->ts_ms);
        for (uint32_t k = 0; s->any_matched && k < s->plan->n_may; k++) {
            uint32_t i = s->plan->may[k];
            if (!s->matched[i])
                continue;
            if (rg_window_insert(&r->windows[i], r->base_ms, ev->ts_ms) != 0) {
                s->dropped++;
            } else {
                any_left = true;
                note_entry(s, r, i, ev->ts_ms);
            }
        }
        if (!any_left) {
            free_record(r, s->n_uses);
            rg_account_release(&s->accounts, ev->account, ev->account_len);
        }
    }
}

/* Sweep predicate: trims, and frees the windows of a record it drops
 * (the sweep then removes the entry without a callback). */
static bool keep_record(void *value, void *arg)
{
    velocity_state *s = arg;
    if (s->watermark_ms < ((const vel_record *)value)->trim_due_ms || trim_record(s, value, trim_cutoffs(s)))
        return true;   /* (trim_record's own test first, inline: a record nothing expires from yet) */
    free_record(value, s->n_uses);
    return false;
}

static void velocity_expire(void *state, int64_t watermark_ms)
{
    velocity_state *s = state;
    if (watermark_ms > s->watermark_ms)
        s->watermark_ms = watermark_ms;
    if (rg_sweep_due_every(&s->sweep_clock, rg_account_active_records(s->accounts.store),
                           RG_SWEEP_ACCOUNTS_EVERY))
        rg_account_sweep(&s->accounts, keep_record, s);
}

typedef struct stats_acc {
    size_t n_uses;
    rg_detector_stats *out;
} stats_acc;

static bool add_record_stats(const char *key, size_t keylen, void *value, void *arg)
{
    stats_acc *acc = arg;
    const vel_record *r = value;
    for (size_t i = 0; i < acc->n_uses; i++) {
        acc->out->bytes += rg_window_heap_bytes(&r->windows[i]);
        acc->out->window_entries += rg_window_len(&r->windows[i]);
        acc->out->window_bytes += rg_window_entry_bytes(&r->windows[i]);
    }
    return true;
}

static void velocity_stats(const void *state, rg_detector_stats *out)
{
    const velocity_state *s = state;
    memset(out, 0, sizeof *out);
    out->entities = rg_account_count(&s->accounts);
    /* The shared store's records are counted once, by the engine; a
     * private store is this family's alone. */
    out->bytes = sizeof *s + s->n_uses * (sizeof(bool) + sizeof *s->cutoff_ms) +
                 (s->own_store ? rg_account_store_bytes(s->own_store) : 0);
    out->dropped = s->dropped;
    stats_acc acc = {s->n_uses, out};
    rg_account_foreach(&s->accounts, add_record_stats, &acc);
}

/* ---- checkpoint ---------------------------------------------------------
 * Format 2: watermark, sweep clock (events since the last sweep and the
 * base: sweep.h), dropped; the uses (W, canonical form of the use:
 * rg_use_canonical), so a blob saved under another rule
 * file maps each window to an equal use or drops it; then per account in
 * key order: the key, and per saved use its timestamps, oldest first.
 * Format 1 had no sweep base (it is taken anew). */

#define VELOCITY_STATE_VERSION 2
#define KEY_MAX 1024   /* longer than any id events.md allows */

static int velocity_save(const void *state, rg_strbuf *out)
{
    const velocity_state *s = state;
    rg_put_i64(out, s->watermark_ms);
    rg_sweep_clock_save(out, &s->sweep_clock);
    rg_put_u64(out, s->dropped);
    rg_put_u32(out, (uint32_t)s->n_uses);
    rg_strbuf form = RG_STRBUF_INIT;
    for (size_t i = 0; i < s->n_uses; i++) {
        rg_strbuf_reset(&form);
        rg_use_canonical(s->uses[i], &form);
        rg_put_str(out, form.data, form.len);
        if (form.oom)
            out->oom = true;
    }
    rg_strbuf_free(&form);
    size_t n;
    rg_strmap_item *items = rg_account_sorted(&s->accounts, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        const vel_record *r = items[k].value;
        rg_put_str(out, items[k].key, items[k].keylen);
        for (size_t i = 0; i < s->n_uses; i++) {
            uint32_t len = rg_window_len(&r->windows[i]);
            rg_put_u32(out, len);
            for (uint32_t j = 0; j < len; j++)
                rg_put_i64(out, rg_window_at(&r->windows[i], r->base_ms, j));
        }
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

static int velocity_load(void *state, uint32_t version, rg_reader *in)
{
    velocity_state *s = state;
    if (version != VELOCITY_STATE_VERSION && version != 1) {
        rg_reader_fail(in, "velocity", "unknown section version");
        return -1;
    }
    int64_t watermark_ms = rg_get_mark(in, "watermark");
    rg_sweep_clock clock = rg_sweep_clock_load(in, version >= 2);
    uint64_t dropped = rg_get_u64(in, "dropped");
    uint32_t n_saved = rg_get_count(in, 4, "use count");
    if (!rg_reader_ok(in))
        return -1;
    /* Saved use i -> current use target[i], or -1 when this file has no
     * equal use (its timestamps are skipped). */
    long *target = calloc(n_saved ? n_saved : 1, sizeof *target);
    rg_strbuf form = RG_STRBUF_INIT;
    if (!target) {
        rg_reader_fail(in, "velocity", "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < n_saved && rg_reader_ok(in); i++) {
        size_t len;
        const char *saved = rg_get_str(in, 1u << 20, &len, "use");
        target[i] = -1;
        for (size_t j = 0; j < s->n_uses && target[i] < 0 && rg_reader_ok(in); j++) {
            rg_strbuf_reset(&form);
            rg_use_canonical(s->uses[j], &form);
            if (!rg_strbuf_ok(&form))
                rg_reader_fail(in, "velocity", "out of memory");
            else if (form.len == len && (!len || memcmp(form.data, saved, len) == 0))
                target[i] = (long)j;
        }
    }
    rg_strbuf_free(&form);
    uint32_t n_accounts = rg_get_count(in, 4 + 4 * (size_t)n_saved, "account count");
    for (uint32_t k = 0; k < n_accounts && rg_reader_ok(in); k++) {
        size_t keylen;
        const char *key = rg_get_str(in, KEY_MAX, &keylen, "account");
        if (!key) {
            rg_reader_fail(in, "account", "empty key");
            break;
        }
        if (rg_account_get(&s->accounts, key, keylen)) {
            rg_reader_fail(in, "account", "saved twice");
            break;
        }
        vel_record *r = NULL;
        for (uint32_t i = 0; i < n_saved && rg_reader_ok(in); i++) {
            uint32_t n = rg_get_count(in, 8, "timestamp count");
            int64_t prev = INT64_MIN;
            for (uint32_t j = 0; j < n && rg_reader_ok(in); j++) {
                int64_t ts = rg_get_ts(in, "timestamp");
                if (ts < prev) {
                    rg_reader_fail(in, "timestamp", "out of order");
                    break;
                }
                prev = ts;
                if (target[i] < 0)
                    continue;
                if (!r) {
                    if (!(r = rg_account_put(&s->accounts, key, keylen, NULL))) {
                        rg_reader_fail(in, "account", "out of memory");
                        break;
                    }
                    r->trim_due_ms = INT64_MIN;   /* unknown until its first trim */
                }
                (void)rg_window_group_fit(r->windows, s->n_uses, &r->base_ms, ts);
                if (rg_window_insert(&r->windows[target[i]], r->base_ms, ts) != 0)
                    rg_reader_fail(in, "timestamp", "out of memory");
            }
        }
    }
    free(target);
    if (!rg_reader_ok(in))
        return -1;
    if (rg_reader_left(in)) {
        rg_reader_fail(in, "velocity", "bytes after the last account");
        return -1;
    }
    s->watermark_ms = watermark_ms;
    s->sweep_clock = clock;
    s->dropped = (size_t)dropped;
    return 0;
}

/* Stage 2 (detector.h): the record came a stage ago; its windows' rings
 * are what the update appends to and trims. */
static void velocity_prefetch(const void *state, const rg_event *ev, const rg_account_peeked *accounts)
{
    const velocity_state *s = state;
    const vel_record *r = rg_account_peeked_slice(&s->accounts, accounts, false);
    if (!r)
        return;
    for (size_t i = 0; i < s->n_uses; i++)
        rg_window_prefetch(&r->windows[i]);
}

const rg_detector rg_detector_velocity = {
    .family = "velocity",
    .names = velocity_names,
    .n_names = sizeof velocity_names / sizeof velocity_names[0],
    .create = velocity_create,
    .observe = velocity_observe,
    .eval = velocity_eval,
    .update = velocity_update,
    .expire = velocity_expire,
    .prefetch_pointed = velocity_prefetch,
    .stats = velocity_stats,
    .destroy = velocity_destroy,
    .state_version = VELOCITY_STATE_VERSION,
    .save = velocity_save,
    .load = velocity_load,
    .kept = RG_KEPT_WINDOW,
    .state = "per account and count() use: a 16 B window, plus 4 B (8 B in a window spanning over 49 days) "
             "per matching event in (E.ts - W - max_lateness, E.ts] beyond 3",
};
