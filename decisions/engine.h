/*
 * engine — one event in, its decisions out: dedupe, detectors, rules,
 * decisions, cooldowns. The same engine serves replay and streaming (the
 * design's "one engine, several doors"): it never knows where an event
 * came from, which is what makes their outputs equal by construction.
 *
 * Per event E (rg_engine_process):
 *   1. dedupe: an event_id seen within the dedupe horizon is counted and
 *      skipped (RG_ENGINE_DUPLICATE), never evaluated;
 *   2. observe: detectors that need to see E first (count() filters);
 *   3. every enabled rule whose `on` lists E's type is evaluated
 *      (three-valued; fires on TRUE only);
 *   4. hits are grouped per subject, in the order of the first rule that hit
 *      each subject; each group is one decision (detection.md), cooldowns
 *      applied; each decision goes to the sink;
 *   5. update: detectors fold E into their state; now and then expire.
 *
 * Threading: one engine, one thread. Ownership: the engine borrows the
 * rule set and GeoIP handle (both must outlive it, or until swapped out)
 * and owns all detector state.
 */
#ifndef RG_ENGINE_H
#define RG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../geo/geo.h"
#include "../ingest/event.h"
#include "../ingest/reject.h"
#include "../rules/ruleset.h"
#include "../sinks/sink.h"

/* One rule's part in a decision. */
typedef struct rg_decision_hit {
    /* The rule; NULL only when a subject task finishes a decision under a
     * rule set that no longer has the rule (a reload in between): the
     * other fields stand. */
    const rg_rule *rule;
    const char *rule_id;
    unsigned actions;       /* RG_ACT_BIT mask the rule aims at this subject */
    int64_t cooldown_ms;    /* the rule's cooldown (0 none) */
    bool suppressed;        /* within the rule's cooldown for this subject: counted and stored, no actions */
    const char *reason;     /* as in the JSON (not NUL-terminated) */
    size_t reason_len;
    const char *evidence;   /* a JSON object (not NUL-terminated) */
    size_t evidence_len;
} rg_decision_hit;

/* A decision as the sinks see it. Valid only during the sink callback. */
typedef struct rg_decision {
    const char *decision_id;    /* "event_id/subject" */
    const char *event_id;
    const char *subject;
    rg_event_type event_type;
    int64_t ts_ms;              /* the event's ts */
    unsigned actions;           /* RG_ACT_BIT() mask of actions emitted (suppressed hits excluded) */
    const rg_decision_hit *hits;
    size_t n_hits;
    const char *ruleset;        /* rule set id */
    /* The decision as one JSON object, keys in the fixed order of
     * detection.md, WITHOUT decided_at and without a trailing newline. It
     * ends in '}', so a streaming sink appends ,"decided_at":".." before it. */
    const char *json;
    size_t json_len;
    const rg_event *event;      /* the event that caused it */
    const char *event_raw;      /* its original JSON bytes (may be NULL) */
    size_t event_raw_len;
    /* False when every hit is under cooldown: store it as an alert, but
     * nothing goes to the action topic / decisions output. */
    bool emit;
    /* The subject was held (rg_engine_hold_subjects): the cooldowns of the
     * rules rg_rule_subject_cooldown() names are NOT applied here; the
     * subject's task applies them and finishes the decision. Or the role
     * defers cooldowns (defer_cross_cooldowns), and one of the hits is of
     * a rule rg_rule_cross_cooldown() names: the caller applies those.
     * emit and actions count only the cooldowns applied, and the engine's
     * counters leave the decision to whoever finishes it. */
    bool held;
} rg_decision;

/* Where decisions go: an rg_sink (sinks/sink.h). Replay writes a file;
 * streaming produces to Kafka; the alert store inserts rows. The engine
 * hands every decision to the sink's `decision` op without a ticket (NULL:
 * it counts nothing); RG_SINK_FAILED from it is reported by
 * rg_engine_process as -1 (the event is fully evaluated and state updated
 * either way: the caller decides whether to stop). A user that only wants
 * decisions fills a static ops table with `decision` alone. */

typedef struct rg_engine rg_engine;

/*
 * Which part of the work an engine does. The single engine (replay,
 * rg_engine_new) does all of it; the streaming topology splits it over
 * three stages (docs/scale-out.md): ingest (dedupe, the login family),
 * entity (counterparty, packets, complaints), decide (every other family,
 * the rules, decisions and cooldowns). A family outside `families` is
 * never created here: its names are unknown unless an earlier stage
 * shipped their values (rg_engine_process_stage).
 */
typedef struct rg_engine_role {
    uint32_t families;   /* bit i: rg_detectors[i] lives here (RG_FAMILIES_ALL: every one) */
    bool dedupe;         /* keep the event-id memory and skip duplicates */
    bool decide;         /* evaluate the rules: decisions, cooldowns */
    /* The watermark (state expiry, cooldown expiry, too_late) is set by
     * rg_engine_advance_watermark, not by the events' ts: events come per
     * source, not in time order (the decide stage). */
    bool external_watermark;
    /* Values to and from other stages travel by use slot, not by key
     * (stage_values.h): every stage is a thread of this process on the
     * same rule set object (replay --workers), never another process. */
    bool ship_by_slot;
    /* Leave the cooldowns of rules whose (rule, subject) pairs arise from
     * many acting accounts (rg_rule_cross_cooldown) to the caller, which
     * applies them in capture order: the decisions they touch come out
     * held (rg_decision.held). replay --workers' decide tasks, each keyed
     * by acting account, with the output step applying them. */
    bool defer_cross_cooldowns;
} rg_engine_role;

#define RG_FAMILIES_ALL UINT32_MAX

/* The bit of the family named `family` in the registry ("login"); 0 for a
 * name the registry does not have. */
uint32_t rg_family_bit(const char *family);

/* Counters since creation (replay summary, metrics). Arrays indexed by
 * rule index in the current rule set / by rg_action. */
typedef struct rg_engine_stats {
    uint64_t events;            /* events given to rg_engine_process */
    uint64_t duplicates;
    uint64_t evaluated;         /* events evaluated (not duplicates) */
    uint64_t decisions;         /* decisions emitted (emit == true) */
    uint64_t suppressed;        /* decisions with every hit under cooldown */
    uint64_t actions[RG_ACT_COUNT];
    const uint64_t *rule_hits;  /* [rule count]: hits incl. suppressed */
    size_t n_rules;
    int64_t watermark_ms;       /* highest event ts seen */
    /* Events more than settings.max_lateness behind the watermark when
     * they came (duplicates included): windows and dedupe are exact only
     * within it. Not kept in checkpoints (a count since the engine was
     * made). */
    uint64_t too_late;
} rg_engine_stats;

/* New engine over rs and geo (geo may be NULL: geo names are unknown).
 * NULL on failure with errstr filled (a detector refused the rule set). */
rg_engine *rg_engine_new(const rg_ruleset *rs, const rg_geo *geo, char *errstr, size_t errstr_size);
/* The same for one stage's part of the work (role is copied). */
rg_engine *rg_engine_new_role(const rg_ruleset *rs, const rg_geo *geo, const rg_engine_role *role, char *errstr,
                              size_t errstr_size);
const rg_engine_role *rg_engine_role_of(const rg_engine *e);
void rg_engine_free(rg_engine *e);   /* NULL-safe */
/* For a process about to exit (replay, backtest: their last output is
 * written): e is left to the exit, its state unfreed (common/exit_keep.h:
 * a long replay's state took 2-3% of the run to free), or freed where
 * that keeps nothing (AddressSanitizer builds). NULL-safe. */
void rg_engine_leave_to_exit(rg_engine *e);

typedef enum rg_engine_result {
    RG_ENGINE_OK = 0,
    RG_ENGINE_DUPLICATE = 1,
    RG_ENGINE_SINK_ERROR = -1
} rg_engine_result;

rg_engine_result rg_engine_process(rg_engine *e, const rg_event *ev, const char *raw, size_t raw_len,
                                   const rg_sink *sink);

/*
 * One event in a stage (docs/scale-out.md). `families` are the families
 * of this engine's role the event is for here (an entity task runs only
 * the family of the record's key; RG_FAMILIES_ALL: all of the role's):
 * their observe, names and update run. values_in (may be NULL) holds the
 * values earlier stages computed (stage_values.h): they are the names'
 * values for this event. With values_out, the values of every use of
 * `families` the rule set has are appended there (rg_values_*), as the
 * rules would see them. A role with decide evaluates the rules and hands
 * decisions to sink, as rg_engine_process does. RG_ENGINE_DUPLICATE only
 * with a dedupe role.
 */
rg_engine_result rg_engine_process_stage(rg_engine *e, const rg_event *ev, const char *raw, size_t raw_len,
                                         uint32_t families, const void *values_in, size_t values_in_len,
                                         rg_strbuf *values_out, const rg_sink *sink);

/* A hint that ev comes three events from now (stage 0), two (stage 1) or
 * next (stage 2): fetch what its evaluation will read into the cache,
 * table slots, then records, then what records point to (detector.h).
 * Changes nothing an event can see (the engine keeps stage 0's hashes of
 * ev's ids for the later stages). */
void rg_engine_prefetch(rg_engine *e, const rg_event *ev, int stage);
/* The same for the families of `families` only (as rg_engine_process_stage
 * will be asked: a keyed task evaluates one route's family per call), so
 * a route does not fetch what another family's route will. GeoIP's lines
 * are fetched whatever `families` says: stage 2 with none fetches the
 * GeoIP answer alone. */
void rg_engine_prefetch_families(rg_engine *e, const rg_event *ev, int stage, uint32_t families);
/* The same, with ev's ids already hashed (rg_strmap_hash; 0 for an id ev
 * lacks), once for every engine that sees ev: replay --workers' parse
 * hashes them where the line was just read, and the keyed tasks, on
 * other cores, take their ids' hashes from there instead of reading the
 * strings again to hash them. NULL: hashed here. The hashes only steer
 * fetches and hints that are checked against the keys (every lookup
 * hashes its key itself), so a wrong one costs speed, never a decision
 * (checked: hashes off by one bit gave the same decisions). */
void rg_engine_prefetch_hashed(rg_engine *e, const rg_event *ev, const struct rg_event_hashes *ids, int stage,
                               uint32_t families);
/* Every id of ev hashed as rg_engine_prefetch_hashed takes them (0 for
 * an id ev lacks). */
void rg_engine_hash_ids(const rg_event *ev, struct rg_event_hashes *ids);

/* The watermark (rg_engine_stats.watermark_ms) alone, per event. */
int64_t rg_engine_watermark(const rg_engine *e);

/* external_watermark roles: the watermark only grows; wm lower than the
 * current one is ignored. */
void rg_engine_advance_watermark(rg_engine *e, int64_t wm);

/*
 * The keyed topology (docs/scale-out.md, "Cooldowns of other subjects"):
 * for the next rg_engine_process_stage call only, decisions for these
 * subjects are handed to the sink with `held` set and without the
 * cooldowns of rules whose cooldown is kept by the subject's task
 * (rg_rule_subject_cooldown). The strings are borrowed for that call.
 */
void rg_engine_hold_subjects(rg_engine *e, const char *const *subjects, const size_t *lens, size_t n);

/* Whether rule r's cooldown must be kept where its subject is keyed: it
 * has a cooldown and aims an action at a transfer's counterparty, so its
 * (rule, subject) pairs arise from many acting accounts. */
bool rg_rule_subject_cooldown(const rg_rule *r);
/* Whether rule r has a cooldown and aims an action at any subject other
 * than the acting account (a transfer's counterparty, a complaint's
 * ref_counterparty): its pairs arise from many acting accounts, so a
 * split keyed by acting account keeps them in one place
 * (rg_engine_role.defer_cross_cooldowns). */
bool rg_rule_cross_cooldown(const rg_rule *r);

/*
 * Swap to a new rule set between two events (SIGHUP reload). A detector
 * used by both files moves its state to the new file's through its
 * checkpoint hooks (save, then load into state made for the new file):
 * what both files use is kept, as after a restart from a checkpoint —
 * for count(), the windows of uses with an equal window and filter.
 * Detectors only the old file used are freed. This costs one copy of the
 * moved state, O(state), once per reload. Dedupe and
 * cooldown state carry over (cooldowns are keyed by rule id). On failure
 * the engine is unchanged, the old rule set stays in force and errstr
 * says why. The caller frees the old rule set after success.
 */
int rg_engine_swap_rules(rg_engine *e, const rg_ruleset *rs, char *errstr, size_t errstr_size);

/*
 * `riskgate explain`: an inspector is called by rg_engine_process for
 * each event it evaluates (not for a duplicate), after the rules were
 * evaluated and before the detectors fold the event in, with the
 * evaluation context the rules used: it may evaluate any rule, name or
 * sub-expression of the current rule set for the event (rules/eval.h) and
 * sees exactly the values the rules saw (memoised). It must not keep the
 * context. NULL fn removes it. Same thread as rg_engine_process.
 */
struct rg_eval_ctx;
typedef void (*rg_engine_inspect_fn)(void *arg, struct rg_eval_ctx *ctx, const rg_event *ev);
void rg_engine_set_inspector(rg_engine *e, rg_engine_inspect_fn fn, void *arg);

const rg_ruleset *rg_engine_ruleset(const rg_engine *e);
void rg_engine_get_stats(const rg_engine *e, rg_engine_stats *out);

/* Bytes of state held (detectors, dedupe, cooldowns), and entities. */
size_t rg_engine_state_bytes(const rg_engine *e, size_t *entities);

/* Stats of detector i of rg_detectors[]; false when the loaded rule set
 * does not use it (no state) or it keeps no accounts. */
bool rg_engine_detector_stats(const rg_engine *e, size_t i, rg_detector_stats *out);

/* Bytes and entries of the dedupe memory (event ids within the horizon). */
size_t rg_engine_dedupe_bytes(const rg_engine *e, size_t *ids);

/* Bytes of the per-account records shared by the families (map, records,
 * keys; not what the families' slices point to, which their stats
 * count), and how many accounts have one. */
size_t rg_engine_account_bytes(const rg_engine *e, size_t *accounts);

/*
 * Checkpoints (decisions/engine_state.c; the format and the choices are in
 * docs/state.md). Call between two events, on the engine's thread. The
 * blob is versioned and self-describing: a magic, a format version, the
 * rule set id it was saved under, then one section per part (engine
 * counters, dedupe, cooldowns, each detector family by name) with its own
 * version and length; little-endian fixed-width integers. Equal states
 * give equal bytes (save -> load -> save is the identity).
 *
 * A blob saved under another rule file is loaded like a reload
 * (rg_engine_swap_rules) from it: dedupe, cooldowns (by rule id), the
 * counters of rules both files have, and each family's state the current
 * file uses (a count() window only for an equal use) are kept; the rest
 * starts empty. `out` is the caller's; load borrows `bytes` for the call.
 */
/* Serialise the engine's whole state (watermark, dedupe ids, cooldowns, every detector's state, counters needed to continue identically) by appending to out. 0, or -1 with errstr. */
int rg_engine_save(const rg_engine *e, rg_strbuf *out, char *errstr, size_t errstr_size);
/* Restore into a freshly created engine (same rule file loaded; no event processed yet) from bytes rg_engine_save wrote. 0, or -1 with errstr naming what is wrong and where (offset / section); on error the engine is left empty as after rg_engine_new, never half-loaded. */
int rg_engine_load(rg_engine *e, const void *bytes, size_t len, char *errstr, size_t errstr_size);

#endif
