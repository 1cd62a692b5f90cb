/*
 * engine_plan — the families an engine makes for a rule set (the
 * registry's detectors and their configs), and its plan: what runs per
 * event, fixed when the families are made (engine_internal.h). Split from
 * engine.c, which runs the plan. Owner: decisions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

size_t rg_engine_registry_size(void)
{
    size_t n = 0;
    while (rg_detectors[n])
        n++;
    return n;
}

rg_detector_config rg_engine_config_for(const rg_ruleset *rs, const rg_geo *geo, rg_account_store *accounts,
                                         size_t i, const rg_engine_role *role)
{
    rg_detector_config cfg = {
        .history_horizon_ms = rg_ruleset_history_horizon_ms(rs),
        .max_lateness_ms = rg_ruleset_max_lateness_ms(rs),
        .geo = geo,
        .accounts = accounts,
        .watermark_external = role && role->external_watermark,
    };
    cfg.uses = rg_ruleset_detector_uses(rs, rg_detectors[i], &cfg.n_uses);
    return cfg;
}

/* Create detector i's state for cfg; NULL with errstr filled on failure. */
void *rg_engine_create_one(size_t i, const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    char why[256] = "";
    void *state = rg_detectors[i]->create(cfg, why, sizeof why);
    if (!state)
        snprintf(errstr, errstr_size, "detector %s: %s", rg_detectors[i]->family, why[0] ? why : "out of memory");
    return state;
}

/* Create the state of every detector whose names the rule set uses; a
 * detector nobody uses keeps nothing (rules.md: state only for what the
 * loaded rules use). */
int rg_engine_create_detectors(const rg_ruleset *rs, const rg_geo *geo, rg_account_store *accounts, void **states,
                               size_t n, const rg_engine_role *role, char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < n; i++) {
        rg_detector_config cfg = rg_engine_config_for(rs, geo, accounts, i, role);
        if (!cfg.n_uses || i >= 32 || !(role->families & (UINT32_C(1) << i)))
            continue;
        if (!(states[i] = rg_engine_create_one(i, &cfg, errstr, errstr_size)))
            return -1;
    }
    /* Every family has reserved its slice: fix the record layout. */
    if (rg_account_store_seal(accounts) != 0) {
        snprintf(errstr, errstr_size, "out of memory creating the account store");
        return -1;
    }
    return 0;
}

void rg_engine_destroy_detectors(void **states, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (states[i])
            rg_detectors[i]->destroy(states[i]);
        states[i] = NULL;
    }
}

rg_dedupe *rg_engine_dedupe_new(const rg_ruleset *rs)
{
    rg_dedupe *d = rg_dedupe_new(rg_ruleset_dedupe_horizon_ms(rs));
    if (d)
        rg_dedupe_set_lateness(d, rg_ruleset_max_lateness_ms(rs));
    return d;
}

uint32_t rg_family_bit(const char *family)
{
    for (size_t i = 0; rg_detectors[i] && i < 32; i++)
        if (strcmp(rg_detectors[i]->family, family) == 0)
            return UINT32_C(1) << i;
    return 0;
}

const rg_engine_role *rg_engine_role_of(const rg_engine *e) { return &e->role; }

/* A hook of family i for the plan (its state bound later). */
static rg_engine_hook hook_of(size_t i)
{
    return (rg_engine_hook){.bit = UINT32_C(1) << i, .family = (uint8_t)i};
}

void rg_engine_plan_bind(struct rg_engine_plan *p, void *const *states)
{
    for (size_t k = 0; k < p->n_observe; k++)
        p->observe[k].state = states[p->observe[k].family];
    for (size_t k = 0; k < p->n_update; k++)
        p->update[k].state = states[p->update[k].family];
    for (size_t k = 0; k < p->n_prefetch; k++)
        p->prefetch[k].state = states[p->prefetch[k].family];
    for (size_t k = 0; k < p->n_prefetch_pointed; k++)
        p->prefetch_pointed[k].state = states[p->prefetch_pointed[k].family];
}

int rg_engine_make_plan(struct rg_engine_plan *p, const rg_ruleset *rs, void *const *states, size_t n,
                        const rg_engine_role *role)
{
    size_t n_rules = rg_ruleset_rule_count(rs), total = 0;
    rg_engine_rule_run *rules = malloc((n_rules * RG_EV_TYPE_COUNT + 1) * sizeof *rules);
    if (!rules)
        return -1;
    free(p->rules);
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < n && i < 32; i++) {
        const rg_detector *d = rg_detectors[i];
        if (!states[i])
            continue;
        rg_engine_hook h = hook_of(i);
        if (d->observe) {
            h.fn.event = d->observe;
            p->observe[p->n_observe++] = h;
        }
        if (d->update) {
            h.fn.event = d->update;
            p->update[p->n_update++] = h;
        }
        if (d->expire)
            p->expire[p->n_expire++] = (uint8_t)i;
        if (d->prefetch) {
            h.fn.prefetch = d->prefetch;
            p->prefetch[p->n_prefetch++] = h;
        }
        if (d->prefetch_pointed) {
            h.fn.pointed = d->prefetch_pointed;
            p->prefetch_pointed[p->n_prefetch_pointed++] = h;
            p->pointed_families |= h.bit;
        }
    }
    rg_engine_plan_bind(p, states);
    for (unsigned t = 0; t < RG_EV_TYPE_COUNT; t++) {
        p->rules_at[t] = (uint32_t)total;
        for (size_t i = 0; i < n_rules; i++) {
            const rg_rule *r = rg_ruleset_rule(rs, i);
            if (r->enabled && (r->on_mask & RG_EV_BIT(t)))
                rules[total++] = (rg_engine_rule_run){
                    .when = r->when, .fire_never = r->when ? r->when->fire_never : ~UINT64_C(0), .rule = (uint32_t)i};
        }
    }
    p->rules_at[RG_EV_TYPE_COUNT] = (uint32_t)total;
    p->rules = rules;
    /* The account records rg_engine_prefetch fetches: the acting
     * account's where a family keyed by it lives (an entity task's store
     * is keyed by counterparty, and sees an account as a key only on the
     * rare account_open), the counterparty's where its family does. */
    uint32_t cp = rg_family_bit("counterparty"),
             entity_only = cp | rg_family_bit("packets") | rg_family_bit("complaints");
    p->prefetch_account = (role->families & ~entity_only) != 0;
    for (size_t i = 0; i < n && i < 32; i++)
        if (states[i] && (UINT32_C(1) << i) == cp)
            p->prefetch_counterparty = true;
    p->counterparty_bit = cp;
    return 0;
}
