/*
 * The engine: dedupe -> observe -> rules -> decisions -> update, for one
 * event at a time, on one thread (see engine.h for the contract).
 *
 * Everything an event's decisions need (reasons, evidence, subjects) is
 * computed from detector state as it was BEFORE the event, then the
 * detectors fold the event in. That order is what makes "E included" an
 * explicit choice of each name rather than an accident of call order.
 */
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/exit_keep.h"
#include "../common/strbuf.h"
#include "../common/strmap.h"
#include "../rules/eval.h"
#include "engine_internal.h"
#include "stage_values.h"

rg_engine *rg_engine_new(const rg_ruleset *rs, const rg_geo *geo, char *errstr, size_t errstr_size)
{
    const rg_engine_role all = {.families = RG_FAMILIES_ALL, .dedupe = true, .decide = true};
    return rg_engine_new_role(rs, geo, &all, errstr, errstr_size);
}

rg_engine *rg_engine_new_role(const rg_ruleset *rs, const rg_geo *geo, const rg_engine_role *role, char *errstr,
                              size_t errstr_size)
{
    rg_engine *e = calloc(1, sizeof *e);
    if (!e)
        goto oom;
    e->role = *role;
    e->rs = rs;
    e->max_lateness_ms = rg_ruleset_max_lateness_ms(rs);
    e->geo = geo;
    e->n_detectors = rg_engine_registry_size();
    e->detector_state = calloc(e->n_detectors ? e->n_detectors : 1, sizeof *e->detector_state);
    e->rule_hits = calloc(rg_ruleset_rule_count(rs) + 1, sizeof *e->rule_hits);
    e->dedupe = rg_engine_dedupe_new(rs);
    e->cooldowns = rg_cooldowns_new();
    e->accounts = rg_account_store_new();
    if (!e->detector_state || !e->rule_hits || !e->dedupe || !e->cooldowns || !e->accounts)
        goto oom;
    if (rg_engine_create_detectors(rs, geo, e->accounts, e->detector_state, e->n_detectors, &e->role, errstr,
                                   errstr_size) != 0) {
        rg_engine_free(e);
        return NULL;
    }
    if (rg_engine_ship_init(&e->ship, rs, &e->role, e->detector_state) != 0 ||
        rg_eval_ctx_init(&e->ctx, rs, e->detector_state, geo) != 0 ||
        rg_engine_make_plan(&e->plan, rs, e->detector_state, e->n_detectors, &e->role) != 0)
        goto oom;
    e->stats.watermark_ms = INT64_MIN;
    return e;
oom:
    snprintf(errstr, errstr_size, "out of memory creating the engine");
    rg_engine_free(e);
    return NULL;
}

void rg_engine_free(rg_engine *e)
{
    if (!e)
        return;
    if (e->detector_state)
        rg_engine_destroy_detectors(e->detector_state, e->n_detectors);
    rg_account_store_free(e->accounts);   /* after the families freed their slices' contents */
    free(e->detector_state);
    rg_eval_ctx_free(&e->ctx);
    rg_dedupe_free(e->dedupe);
    rg_cooldowns_free(e->cooldowns);
    rg_decision_builder_free(&e->builder);
    rg_engine_ship_free(&e->ship);
    free(e->rule_hits);
    free(e->plan.rules);
    free(e);
}

void rg_engine_leave_to_exit(rg_engine *e)
{
    if (!rg_exit_keep(e))
        rg_engine_free(e);
}

const rg_ruleset *rg_engine_ruleset(const rg_engine *e) { return e->rs; }

void rg_engine_set_inspector(rg_engine *e, rg_engine_inspect_fn fn, void *arg)
{
    e->inspect = fn;
    e->inspect_arg = arg;
}

static void expire_state(rg_engine *e)
{
    int64_t wm = e->stats.watermark_ms;
    /* The families keyed by account sweep one store: one walk for all. */
    rg_account_store_defer(e->accounts, true);
    for (size_t k = 0; k < e->plan.n_expire; k++) {
        size_t i = e->plan.expire[k];
        rg_detectors[i]->expire(e->detector_state[i], wm);
    }
    rg_account_store_run_sweeps(e->accounts);
    rg_account_store_defer(e->accounts, false);
    rg_cooldowns_expire(e->cooldowns, wm);
}

rg_engine_result rg_engine_process(rg_engine *e, const rg_event *ev, const char *raw, size_t raw_len,
                                   const rg_sink *sink)
{
    return rg_engine_process_stage(e, ev, raw, raw_len, RG_FAMILIES_ALL, NULL, 0, NULL, sink);
}

static int decide(rg_engine *e, const rg_event *ev, const char *raw, size_t raw_len, const rg_sink *sink);

/* An event's class for rg_engine.geo_asked. */
static size_t geo_class(const rg_event *ev)
{
    size_t t = (unsigned)ev->type < RG_EV_TYPE_COUNT ? (size_t)ev->type : RG_EV_TYPE_COUNT;
    return t * 2 + (ev->has_location ? 1 : 0);
}

/* The hashes rg_engine_prefetch's stage 0 made of ev, matched by address
 * in the ring of the last four events it saw: searched oldest first (the
 * process stage, which reads ahead's oldest) or newest first (the later
 * prefetch stages). NULL when ev is not there. */
static inline struct rg_engine_ahead *ahead_of(rg_engine *e, const rg_event *ev, bool oldest_first)
{
    const size_t n_ahead = sizeof e->ahead / sizeof e->ahead[0];
    for (size_t i = 1; i <= n_ahead; i++) {
        size_t k = (e->ahead_next - (oldest_first ? n_ahead + 1 - i : i)) % n_ahead;
        if (e->ahead[k].ev == ev)
            return &e->ahead[k];
    }
    return NULL;
}

rg_engine_result rg_engine_process_stage(rg_engine *e, const rg_event *ev, const char *raw, size_t raw_len,
                                         uint32_t families, const void *values_in, size_t values_in_len,
                                         rg_strbuf *values_out, const rg_sink *sink)
{
    families &= e->role.families;
    e->stats.events++;
    /* Later than max_lateness behind the watermark: windows and the dedupe
     * memory may have let go of what it needs. Evaluated anyway, but
     * counted, never silently (settings.max_lateness, docs/state.md). */
    int64_t lateness = e->max_lateness_ms;
    if (e->stats.watermark_ms != INT64_MIN && ev->ts_ms < e->stats.watermark_ms &&
        (uint64_t)e->stats.watermark_ms - (uint64_t)ev->ts_ms > (uint64_t)lateness)
        e->stats.too_late++;
    if (e->role.dedupe && rg_dedupe_check(e->dedupe, ev->event_id, ev->event_id_len, ev->ts_ms)) {
        e->stats.duplicates++;
        e->n_held = 0;
        return RG_ENGINE_DUPLICATE;
    }
    e->stats.evaluated++;
    int64_t watermark_before_ms = e->stats.watermark_ms;
    if (ev->ts_ms > e->stats.watermark_ms && !e->role.external_watermark)
        e->stats.watermark_ms = ev->ts_ms;
    /* Nothing to evaluate here (a role that only dedupes and keeps the
     * watermark, as replay --workers' order step): no family runs, no
     * rule, so the rest would only walk empty tables. */
    if (!families && !e->role.decide && !values_out) {
        e->n_held = 0;
        return RG_ENGINE_OK;
    }

    rg_eval_ctx *ctx = &e->ctx;
    rg_eval_begin(ctx, ev);
    ctx->watermark_ms = watermark_before_ms;
    /* Values an earlier stage computed are this event's, whatever this
     * engine's own (absent) state would say. A malformed list seeds what
     * came before the fault; the rest is unknown. */
    if (values_in)
        rg_engine_take_values(&e->ship, ctx, e->role.ship_by_slot, values_in, values_in_len);
    /* Only the ids this store is keyed by in this role: a packet family in
     * an entity task asks the claimer's fingerprint, which the store
     * would otherwise look for among the counterparties' records. */
    rg_account_focus(e->accounts, e->plan.prefetch_account ? ev->account : NULL, ev->account_len,
                     e->plan.prefetch_counterparty ? ev->counterparty : NULL, ev->counterparty_len);
    /* The hashes stage 0 made of these ids, if it saw this event (read
     * ahead, it is the ring's oldest): hints the store checks against the
     * keys, since the ring matches events by address alone. */
    const struct rg_engine_ahead *ahead = ahead_of(e, ev, true);
    if (ahead)
        rg_account_focus_hint(e->accounts, ahead->h.account, ahead->h.counterparty);
    for (const rg_engine_hook *h = e->plan.observe, *end = h + e->plan.n_observe; h < end; h++)
        if (families & h->bit)
            h->fn.event(h->state, ev, ctx);
    if (values_out)
        rg_engine_ship_values(&e->ship, ctx, families, e->role.ship_by_slot, values_out);
    int sink_failed = e->role.decide ? decide(e, ev, raw, raw_len, sink) : 0;
    for (const rg_engine_hook *h = e->plan.update, *end = h + e->plan.n_update; h < end; h++)
        if (families & h->bit)
            h->fn.event(h->state, ev, ctx);
    rg_account_unfocus(e->accounts);
    e->geo_asked[geo_class(ev)] = rg_eval_geo_asked(ctx);
    if (++e->since_expire >= EXPIRE_EVERY) {
        e->since_expire = 0;
        expire_state(e);
    }
    e->held = NULL;
    e->held_lens = NULL;
    e->n_held = 0;
    return sink_failed ? RG_ENGINE_SINK_ERROR : RG_ENGINE_OK;
}

void rg_engine_hash_ids(const rg_event *ev, rg_event_hashes *ids)
{
#define ID_HASH(id) (ev->id ? rg_strmap_hash(ev->id, ev->id##_len) : 0)
    ids->event_id = ID_HASH(event_id);
    ids->account = ID_HASH(account);
    ids->counterparty = ID_HASH(counterparty);
    ids->packet_id = ID_HASH(packet_id);
    ids->ref = ID_HASH(ref);
#undef ID_HASH
}

/* Table hashes of ev's ids (0 for those it lacks or this engine does not
 * look up): the caller's when it gave them (rg_engine_prefetch_hashed),
 * else made here. The one engine of replay looks every id up anyway. */
static void hash_ids(const rg_engine *e, const rg_event *ev, const rg_event_hashes *given, rg_event_hashes *h)
{
    rg_event_hashes all;
    if (!given) {
        rg_engine_hash_ids(ev, &all);
        given = &all;
    }
    /* Only the ids this engine looks up: a decide task's families never
     * read the counterparty's record, an entity task's the account's. */
    bool by_id = e->role.dedupe || e->plan.n_prefetch;
    h->event_id = by_id ? given->event_id : 0;
    h->account = e->plan.prefetch_account ? given->account : 0;
    h->counterparty = e->plan.prefetch_counterparty ? given->counterparty : 0;
    h->packet_id = by_id ? given->packet_id : 0;
    h->ref = by_id ? given->ref : 0;
}

typedef struct rg_engine_ahead ahead_entry;

/* A new ring entry for ev, its ids hashed (the hashes stay for stages 1
 * and 2, one and two events later, and the process stage's account
 * hints). */
static ahead_entry *ahead_new(rg_engine *e, const rg_event *ev, const rg_event_hashes *ids)
{
    const size_t n_ahead = sizeof e->ahead / sizeof e->ahead[0];
    ahead_entry *a = &e->ahead[e->ahead_next++ % n_ahead];
    a->ev = ev;
    a->peeked = false;
    hash_ids(e, ev, ids, &a->h);
    return a;
}

/* Stage 0: ev's entry, and the table slots of its lookups fetched. */
static void prefetch_slots(rg_engine *e, const rg_event *ev, const rg_event_hashes *ids, uint32_t families)
{
    const ahead_entry *a = ahead_new(e, ev, ids);
    if (e->role.dedupe)
        rg_dedupe_prefetch(e->dedupe, a->h.event_id, 0);
    if (e->plan.prefetch_account)
        rg_account_prefetch(e->accounts, a->h.account, 0);
    if (ev->counterparty && e->plan.prefetch_counterparty && (families & e->plan.counterparty_bit))
        rg_account_prefetch(e->accounts, a->h.counterparty, 0);
    for (const rg_engine_hook *p = e->plan.prefetch, *end = p + e->plan.n_prefetch; p < end; p++)
        if (families & p->bit)
            p->fn.prefetch(p->state, ev, &a->h, 0);
}

/* Whether stages 1 and 2 fetch GeoIP's lines for ev. The flag is read as
 * a relaxed atomic load, which is still a plain load here: GCC 12's
 * profile-guided link-time build (`make build`) dropped the plain read,
 * and both GeoIP prefetches with it (objdump of build/riskgate: no read
 * of geo_asked, no prefetch of the cache; the -O3 and the LTO-only builds
 * kept them). Without them the cache's lookup took 6% of a replay's
 * samples, with them 1% (docs/bench.md "Eleventh round"). */
static inline bool geo_wanted(const rg_engine *e, const rg_event *ev)
{
    return ev->ip_family && __atomic_load_n(&e->geo_asked[geo_class(ev)], __ATOMIC_RELAXED);
}

/* Stage 1: the records the slots lead to. The account records' peeks
 * are kept for stage 2. */
static void prefetch_records(rg_engine *e, const rg_event *ev, ahead_entry *a, uint32_t families)
{
    if (e->role.dedupe)
        rg_dedupe_prefetch(e->dedupe, a->h.event_id, 1);
    a->account_record = a->counterparty_record = NULL;
    if (e->plan.prefetch_account && a->h.account)
        a->account_record = rg_account_prefetch_peek(e->accounts, a->h.account);
    if (ev->counterparty && e->plan.prefetch_counterparty && (families & e->plan.counterparty_bit) &&
        a->h.counterparty)
        a->counterparty_record = rg_account_prefetch_peek(e->accounts, a->h.counterparty);
    a->peeked = true;
    for (const rg_engine_hook *p = e->plan.prefetch, *end = p + e->plan.n_prefetch; p < end; p++)
        if (families & p->bit)
            p->fn.prefetch(p->state, ev, &a->h, 1);
    if (geo_wanted(e, ev))
        rg_geo_cache_prefetch(e->ctx.geo_cache, ev->ip_family, ev->ip_bin);
}

/* Stage 2: what the account records point to, each record read once for
 * every family: the ones stage 1 peeked (hints either way: a record
 * deleted or reused since only fetches the wrong lines), else peeked now. */
static void prefetch_pointed(rg_engine *e, const rg_event *ev, const ahead_entry *a, uint32_t families)
{
    if (e->plan.pointed_families & families) {
        rg_account_peeked rec;
        if (a->peeked)
            rg_account_peeked_from(e->accounts, a->account_record, ev->counterparty ? a->counterparty_record : NULL,
                                   &rec);
        else
            rg_account_peek_records(e->accounts, a->h.account, ev->counterparty ? a->h.counterparty : 0, &rec);
        for (const rg_engine_hook *p = e->plan.prefetch_pointed, *end = p + e->plan.n_prefetch_pointed; p < end; p++)
            if (families & p->bit)
                p->fn.pointed(p->state, ev, &rec);
    }
    if (geo_wanted(e, ev))
        rg_geo_cache_prefetch_answer(e->ctx.geo_cache, ev->ip_family, ev->ip_bin);
}

void rg_engine_prefetch(rg_engine *e, const rg_event *ev, int stage)
{
    rg_engine_prefetch_families(e, ev, stage, RG_FAMILIES_ALL);
}

void rg_engine_prefetch_families(rg_engine *e, const rg_event *ev, int stage, uint32_t families)
{
    rg_engine_prefetch_hashed(e, ev, NULL, stage, families);
}

void rg_engine_prefetch_hashed(rg_engine *e, const rg_event *ev, const rg_event_hashes *ids, int stage,
                               uint32_t families)
{
    if (stage < 1) {
        prefetch_slots(e, ev, ids, families);
        return;
    }
    /* Callers give stage 0 of the next event first, then stage 1 of the
     * one before, then stage 2: the entry `stage` places back is tried
     * first (it is matched by address like any other). An event stage 0
     * never saw gets its entry now. */
    const size_t n_ahead = sizeof e->ahead / sizeof e->ahead[0];
    ahead_entry *a = &e->ahead[(e->ahead_next - 1 - (unsigned)stage) % n_ahead];
    if (a->ev != ev && !(a = ahead_of(e, ev, false)))
        a = ahead_new(e, ev, ids);
    if (stage == 1)
        prefetch_records(e, ev, a, families);
    else if (stage == 2)
        prefetch_pointed(e, ev, a, families);
}

int64_t rg_engine_watermark(const rg_engine *e) { return e->stats.watermark_ms; }

void rg_engine_advance_watermark(rg_engine *e, int64_t wm)
{
    if (wm > e->stats.watermark_ms)
        e->stats.watermark_ms = wm;
}

void rg_engine_hold_subjects(rg_engine *e, const char *const *subjects, const size_t *lens, size_t n)
{
    e->held = subjects;
    e->held_lens = lens;
    e->n_held = n;
}

/* Rules, decisions, cooldowns for the event being evaluated: 0, or 1 when
 * a decision could not be built or a sink refused it. */
static int decide(rg_engine *e, const rg_event *ev, const char *raw, size_t raw_len, const rg_sink *sink)
{
    rg_eval_ctx *ctx = &e->ctx;
    /* Evaluate every rule that runs on this type; collect the hits. */
    rg_decision_builder *b = &e->builder;
    rg_decision_builder_begin(b, e->rs, ev, raw, raw_len);
    /* Types are checked by the parser; out of range, no rule runs. */
    unsigned t = (unsigned)ev->type < RG_EV_TYPE_COUNT ? (unsigned)ev->type : RG_EV_TYPE_COUNT;
    const rg_engine_rule_run *at = e->plan.rules + e->plan.rules_at[t],
                             *end = e->plan.rules + e->plan.rules_at[RG_EV_TYPE_COUNT];
    if (t < RG_EV_TYPE_COUNT)
        end = e->plan.rules + e->plan.rules_at[t + 1];
    for (; at < end; at++) {
        /* rg_eval_fires' own first test, from the plan's copy: a rule the
         * event's parts rule out is passed over without reading its tree. */
        if (at->fire_never >> (ctx->parts & 63) & 1)
            continue;
        if (!rg_eval_fires(ctx, at->when))
            continue;
        e->rule_hits[at->rule]++;
        rg_decision_builder_add_hit(b, ctx, rg_ruleset_rule(e->rs, at->rule));
    }
    if (e->inspect)
        e->inspect(e->inspect_arg, ctx, ev);

    int sink_failed = 0;
    if (rg_decision_builder_groups(b) > 0) {
        rg_decision_builder_apply_cooldowns(b, e->cooldowns, e->held, e->held_lens, e->n_held,
                                            e->role.defer_cross_cooldowns, ctx->watermark_ms);
        for (size_t g = 0; g < rg_decision_builder_groups(b); g++) {
            const rg_decision *d = rg_decision_builder_build(b, ctx, g);
            if (!d) {
                sink_failed = 1; /* out of memory building it: reported like a sink error */
                continue;
            }
            if (d->held) {
                /* finished (and counted) by the subject's task */
            } else if (d->emit) {
                e->stats.decisions++;
                for (int a = 0; a < RG_ACT_COUNT; a++)
                    if (d->actions & RG_ACT_BIT(a))
                        e->stats.actions[a]++;
            } else {
                e->stats.suppressed++;
            }
            if (rg_sink_decision(sink, d, NULL) < 0)
                sink_failed = 1;
        }
    }
    return sink_failed;
}

/* Move family i's state from `old` into `fresh` (made for the new file)
 * through its checkpoint hooks: what both files use is kept, exactly as
 * a restart from a checkpoint would keep it. */
static int carry_over(size_t i, const void *old, void *fresh, rg_strbuf *scratch, char *errstr, size_t errstr_size)
{
    const rg_detector *det = rg_detectors[i];
    rg_strbuf_reset(scratch);
    if (det->save(old, scratch) != 0 || !rg_strbuf_ok(scratch)) {
        snprintf(errstr, errstr_size, "out of memory moving the %s state to the new rule set", det->family);
        return -1;
    }
    rg_reader in;
    rg_reader_init(&in, scratch->data, scratch->len, 0);
    if (det->load(fresh, det->state_version, &in) != 0) {
        snprintf(errstr, errstr_size, "detector %s: cannot move its state to the new rule set: %s", det->family,
                 in.error);
        return -1;
    }
    return 0;
}

int rg_engine_swap_rules(rg_engine *e, const rg_ruleset *rs, char *errstr, size_t errstr_size)
{
    /* Everything that can fail happens before the engine changes, so a
     * failure leaves it exactly as it was (rules.md "Loading": a refused
     * file leaves the running one in place). The new file gets a new
     * account store (its record layout follows the families and count()
     * uses in use); a family used by both files moves its state there
     * through save/load, which keeps what both files use (rules.md) —
     * for velocity, the windows of count() uses with an equal window and
     * filter. A family without those hooks starts empty. Dedupe and
     * cooldowns (keyed by event id and rule id) always carry over. */
    size_t n = e->n_detectors;
    void **states = calloc(n ? n : 1, sizeof *states);
    uint64_t *hits = calloc(rg_ruleset_rule_count(rs) + 1, sizeof *hits);
    rg_account_store *accounts = rg_account_store_new();
    rg_strbuf scratch = RG_STRBUF_INIT;
    rg_engine_ship ship = {0};
    rg_eval_ctx ctx;
    struct rg_engine_plan plan = {0};
    bool ctx_ok = false;
    if (!states || !hits || !accounts || rg_eval_ctx_init(&ctx, rs, states, e->geo) != 0) {
        snprintf(errstr, errstr_size, "out of memory loading the new rule set");
        goto fail;
    }
    ctx_ok = true;
    if (rg_engine_create_detectors(rs, e->geo, accounts, states, n, &e->role, errstr, errstr_size) != 0)
        goto fail;
    if (rg_engine_make_plan(&plan, rs, states, n, &e->role) != 0 || rg_engine_ship_init(&ship, rs, &e->role, states) != 0) {
        snprintf(errstr, errstr_size, "out of memory loading the new rule set");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const rg_detector *det = rg_detectors[i];
        if (states[i] && e->detector_state[i] && det->save && det->load &&
            carry_over(i, e->detector_state[i], states[i], &scratch, errstr, errstr_size) != 0)
            goto fail;
    }
    /* Commit. */
    rg_engine_destroy_detectors(e->detector_state, n);
    rg_account_store_free(e->accounts);
    free(e->detector_state);
    rg_eval_ctx_free(&e->ctx);
    free(e->rule_hits);
    e->detector_state = states;
    e->accounts = accounts;
    e->ctx = ctx;
    e->ctx.detector_state = states;
    e->rule_hits = hits;
    free(e->plan.rules);
    e->plan = plan;
    /* The ring's hashes were made for the old plan's ids: hints only (the
     * store compares keys), but none should outlive the plan. */
    memset(e->ahead, 0, sizeof e->ahead);
    e->rs = rs;
    e->max_lateness_ms = rg_ruleset_max_lateness_ms(rs);
    rg_engine_ship_free(&e->ship);
    e->ship = ship;
    rg_dedupe_set_horizon(e->dedupe, rg_ruleset_dedupe_horizon_ms(e->rs));
    rg_dedupe_set_lateness(e->dedupe, rg_ruleset_max_lateness_ms(e->rs));
    rg_strbuf_free(&scratch);
    return 0;
fail:
    if (states)
        rg_engine_destroy_detectors(states, n);
    rg_account_store_free(accounts);
    if (ctx_ok)
        rg_eval_ctx_free(&ctx);
    rg_engine_ship_free(&ship);
    free(states);
    free(hits);
    free(plan.rules);
    rg_strbuf_free(&scratch);
    return -1;
}

void rg_engine_get_stats(const rg_engine *e, rg_engine_stats *out)
{
    *out = e->stats;
    out->rule_hits = e->rule_hits;
    out->n_rules = rg_ruleset_rule_count(e->rs);
}

size_t rg_engine_state_bytes(const rg_engine *e, size_t *entities)
{
    size_t bytes = rg_dedupe_bytes(e->dedupe) + rg_cooldowns_bytes(e->cooldowns) +
                   rg_account_store_bytes(e->accounts),
           ents = 0;
    for (size_t i = 0; i < e->n_detectors; i++) {
        if (!e->detector_state[i] || !rg_detectors[i]->stats)
            continue;
        rg_detector_stats st = {0};
        rg_detectors[i]->stats(e->detector_state[i], &st);
        bytes += st.bytes;
        ents += st.entities;
    }
    if (entities)
        *entities = ents;
    return bytes;
}

bool rg_engine_detector_stats(const rg_engine *e, size_t i, rg_detector_stats *out)
{
    memset(out, 0, sizeof *out);
    if (i >= e->n_detectors || !e->detector_state[i] || !rg_detectors[i]->stats)
        return false;
    rg_detectors[i]->stats(e->detector_state[i], out);
    return true;
}

size_t rg_engine_dedupe_bytes(const rg_engine *e, size_t *ids)
{
    if (ids)
        *ids = rg_dedupe_size(e->dedupe);
    return rg_dedupe_bytes(e->dedupe);
}

size_t rg_engine_account_bytes(const rg_engine *e, size_t *accounts)
{
    if (accounts)
        *accounts = rg_account_records(e->accounts);
    return rg_account_store_bytes(e->accounts);
}
