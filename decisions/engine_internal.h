/*
 * engine_internal — what engine.c and engine_state.c (the checkpoint)
 * share: the engine's fields and the helpers that create detector state.
 * Owner: decisions. Nobody outside decisions/ includes this.
 */
#ifndef RG_ENGINE_INTERNAL_H
#define RG_ENGINE_INTERNAL_H

#include "../detectors/account_store.h"
#include "../rules/eval.h"
#include "cooldown.h"
#include "decision_json.h"
#include "engine.h"
#include "../ingest/dedupe.h"
#include "stage_values.h"

/* How often (in evaluated events) detectors get to drop expired state. A
 * sweep costs O(entities), so doing it every few thousand events keeps its
 * amortised cost per event small while bounding the garbage a quiet stream
 * can hold to a few thousand events' worth. */
#define EXPIRE_EVERY 4096

/* A use this engine computes for later stages, with its ship key. */
typedef struct rg_engine_ship_out {
    const rg_name_use *use;
    uint32_t family_bit;
    uint8_t key_len;
    char key[RG_SHIP_KEY_MAX];
} rg_engine_ship_out;

/* What an engine ships and takes (engine_ship.c), fixed with its rule set. */
typedef struct rg_engine_ship {
    struct rg_strmap *in_by_key;       /* uses of families outside the role, by ship key; NULL: none */
    const rg_name_use **in_by_slot;    /* [n_slots]: the use when it is shipped in, else NULL */
    size_t n_slots;
    rg_engine_ship_out *out;           /* the role's uses that ship, in the rule set's order */
    size_t n_out;
    /* The same uses by family, for the by-slot form (whose order is free:
     * values are taken by slot): family f's are out[by_family[k]] for k in
     * [family_at[f], family_at[f + 1]), so a keyed task's call for one
     * family walks that family's uses only. */
    uint16_t *by_family;
    uint16_t family_at[33];
} rg_engine_ship;

int rg_engine_ship_init(rg_engine_ship *s, const rg_ruleset *rs, const rg_engine_role *role, void *const *states);
void rg_engine_ship_free(rg_engine_ship *s);
/* Append the values of every shipping use of `families` (as the rules
 * would see them) to out, keyed or by slot (stage_values.h). */
void rg_engine_ship_values(const rg_engine_ship *s, rg_eval_ctx *ctx, uint32_t families, bool by_slot,
                           rg_strbuf *out);
/* Seed ctx with the values an earlier stage shipped. */
void rg_engine_take_values(const rg_engine_ship *s, rg_eval_ctx *ctx, bool by_slot, const void *in, size_t len);

/* A family's per-event hook in the plan, bound to the family's state
 * (rg_engine_plan_bind: again whenever the states are replaced). */
typedef struct rg_engine_hook {
    union {
        void (*event)(void *state, const rg_event *ev, struct rg_eval_ctx *ctx);   /* observe, update */
        void (*prefetch)(const void *state, const rg_event *ev, const rg_event_hashes *hashes, int stage);
        void (*pointed)(const void *state, const rg_event *ev, const struct rg_account_peeked *records);
    } fn;
    void *state;
    uint32_t bit;     /* the family's bit in process_stage's `families` */
    uint8_t family;   /* its index in rg_detectors and detector_state */
} rg_engine_hook;

/* A rule the plan runs on an event type: its `when` and that condition's
 * fire_never (rules/expr.h), read here so that a rule an event's parts
 * rule out costs no load of the rule or its tree; NULL `when`: never. */
typedef struct rg_engine_rule_run {
    const struct rg_expr *when;
    uint64_t fire_never;
    uint32_t rule;    /* index in the rule set */
} rg_engine_rule_run;

struct rg_engine {
    rg_engine_role role;
    const rg_ruleset *rs;
    const rg_geo *geo;
    size_t n_detectors;
    void **detector_state;      /* [n_detectors], NULL = not created */
    rg_eval_ctx ctx;
    rg_dedupe *dedupe;
    rg_cooldowns *cooldowns;
    rg_account_store *accounts; /* per-account records shared by the families */
    rg_decision_builder builder;
    /* What runs per event, fixed when the detectors are made (make_plan):
     * the hooks of the families this engine holds, each with its state,
     * so the per-event loops neither skip absent families nor go through
     * rg_detectors[i] for the function; and per event type the enabled
     * rules that run on it, in file order. */
    struct rg_engine_plan {
        rg_engine_hook observe[32], update[32], prefetch[32], prefetch_pointed[32];
        uint8_t expire[32];
        uint8_t n_observe, n_update, n_expire, n_prefetch, n_prefetch_pointed;
        bool prefetch_account, prefetch_counterparty;   /* rg_engine_prefetch's account records */
        uint32_t counterparty_bit;            /* the family whose records prefetch_counterparty fetches */
        uint32_t pointed_families;            /* the bits of prefetch_pointed's families */
        rg_engine_rule_run *rules;            /* every type's list, one after another */
        uint32_t rules_at[RG_EV_TYPE_COUNT + 1];
    } plan;

    /* rg_engine_prefetch: the ids' hashes of the last events stage 0
     * saw, for their stages 1 and 2, and for the process stage's account
     * lookups (rg_account_focus_hint). Hints only: an event struct reused
     * for another line only fetches the wrong lines, and the account
     * store compares the key of the record a hint leads to. */
    struct rg_engine_ahead {
        const rg_event *ev;
        rg_event_hashes h;
        /* The active records stage 1 peeked (rg_account_prefetch_peek)
         * for stage 2, which then reads them instead of probing the
         * table again; valid only when `peeked` (stage 1 ran). */
        bool peeked;
        const void *account_record, *counterparty_record;
    } ahead[4];
    unsigned ahead_next;
    /* Whether the last evaluated event of each class (type x has a
     * location) had its IP looked up: stage 1 fetches the GeoIP cache's
     * set only for a class that does (on the month, half the events with
     * an IP never ask: no location and no rule that needs the country). */
    bool geo_asked[(RG_EV_TYPE_COUNT + 1) * 2];

    int64_t max_lateness_ms;    /* rs's, read per event (fixed with rs) */
    uint64_t *rule_hits;        /* [rule count] */
    rg_engine_stats stats;
    uint64_t since_expire;      /* evaluated events since detectors last expired */
    rg_engine_ship ship;        /* values to and from other stages */
    /* rg_engine_hold_subjects: for the event being processed only */
    const char *const *held;
    const size_t *held_lens;
    size_t n_held;
    rg_engine_inspect_fn inspect;   /* riskgate explain; usually NULL */
    void *inspect_arg;
};

/* The per-event loops' lists for these states and this rule set (the
 * engine's plan, engine_plan.c): walking every registered family and
 * every rule for each event cost ~600 instructions an event, most of it
 * on families not held and rules not on the event's type. 0, or -1 on
 * OOM (plan unchanged). */
int rg_engine_make_plan(struct rg_engine_plan *p, const rg_ruleset *rs, void *const *states, size_t n,
                        const rg_engine_role *role);
/* Point the plan's hooks at `states` (the engine's detector_state, after
 * it is made or replaced: make_plan, a checkpoint's load). */
void rg_engine_plan_bind(struct rg_engine_plan *p, void *const *states);

size_t rg_engine_registry_size(void);
/* The config detector i gets for rs (n_uses 0: rs uses none of its names). */
rg_detector_config rg_engine_config_for(const rg_ruleset *rs, const rg_geo *geo, rg_account_store *accounts,
                                         size_t i, const rg_engine_role *role);
/* Create every detector rs uses, with slices in `accounts`, then seal it.
 * -1 with errstr (states made so far are left for the caller to free). */
int rg_engine_create_detectors(const rg_ruleset *rs, const rg_geo *geo, rg_account_store *accounts, void **states,
                               size_t n, const rg_engine_role *role, char *errstr, size_t errstr_size);
void rg_engine_destroy_detectors(void **states, size_t n);
/* A dedupe memory for rs: its dedupe horizon, kept max_lateness longer
 * (dedupe.h). NULL on OOM. */
rg_dedupe *rg_engine_dedupe_new(const rg_ruleset *rs);
/* Create detector i's state for cfg; NULL with errstr filled on failure. */
void *rg_engine_create_one(size_t i, const rg_detector_config *cfg, char *errstr, size_t errstr_size);

#endif
