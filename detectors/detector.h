/*
 * detector — the contract between detectors (who own all state) and the
 * rule language (which asks them for the values of names).
 *
 * Each detector family is one file in detectors/ exporting one
 * `const struct rg_detector`, listed once in detectors/registry.c (the
 * Suricata sigmatch_table habit). Adding a detector is one new file plus
 * one line in the table; the rule loader discovers the names it offers.
 *
 * Life of a detector, per loaded rule file:
 *   create(cfg)      once, with the uses of its names the file contains;
 *                    a detector whose names no rule uses is not created,
 *                    so no state is kept for what no rule needs.
 *   per event E, in this order (driven by the engine, one thread):
 *     observe(E)     optional; sees E before any rule is evaluated (a
 *                    detector that must evaluate other names on E as it
 *                    arrives, e.g. count() filters, does it here);
 *     eval(use, E)   any number of times, memoised by the engine per
 *                    (use, event); state must reflect the events BEFORE E,
 *                    and each name says itself whether it includes E
 *                    (count() and counterparty_senders() do);
 *     update(E)      after every rule has been evaluated: fold E into state.
 *                    Required for every event observed or evaluated,
 *                    before the next one: families cache E's record
 *                    between eval and update (detectors/record_cache.h).
 *   expire(now)      now and then, with the event-time watermark (highest
 *                    ts seen); drop what no loaded rule can look at again.
 *   destroy()        frees everything create() and update() made.
 *
 *   save(out)        optional, between events: append the state (engine
 *                    checkpoint, rg_engine_save);
 *   load(in)         optional, into state create() just made, before any
 *                    event: restore what save() wrote (rg_engine_load,
 *                    and a reload). A family that keeps state and has
 *                    no save/load starts empty after a restart or reload.
 *
 * Reload (rg_engine_swap_rules): the engine creates state for the new
 * file and moves the old state into it with save then load, which keep
 * what both files use (rules.md "State that both files use is kept").
 *
 * Errors: create() returns NULL and writes a message into errstr; nothing
 * else can fail (allocation failure in update() drops that piece of state
 * and counts it in stats, it never aborts).
 *
 * Values: strings a detector returns borrow the event or the detector's
 * state and stay valid until that detector's update() for the event.
 * `ctx` may be NULL in observe/eval/update (unit tests drive detectors
 * without an engine): names that need it (count() filters, geo) then act
 * as if the filter were not TRUE / the IP were not in the database.
 * Owner of this contract and of detectors/: the detectors engineer;
 * docs/detectors.md lists every name with its meaning and state cost.
 */
#ifndef RG_DETECTOR_H
#define RG_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"
#include "../common/value.h"
#include "../ingest/event.h"

struct rg_expr;      /* rules/expr.h: a parsed condition */
struct rg_eval_ctx;  /* rules/eval.h: per-event evaluation context */
struct rg_geo;       /* geo/geo.h */

/* Kinds of arguments a name can take: count(24h, type == login). */
typedef enum rg_arg_kind {
    RG_ARG_NONE = 0,
    RG_ARG_DURATION,   /* a duration literal, e.g. 24h (a window) */
    RG_ARG_CONDITION   /* a condition over per-event names (a filter) */
} rg_arg_kind;

#define RG_NAME_MAX_ARGS 2

/* What keeping the state behind a name means (rules.md "State is
 * bounded"): for `riskgate names`, `check-rules` and the rule loader's
 * history-horizon check. */
typedef enum rg_name_kept {
    RG_KEPT_UNSET = 0,   /* in a name: the family's (rg_detector.kept) */
    RG_KEPT_NONE,        /* no state: read from the event (or GeoIP) */
    RG_KEPT_WINDOW,      /* entries inside the name's window, plus max_lateness */
    RG_KEPT_ACCOUNT,     /* facts about an account, kept for good (a few bytes each) */
    /* Facts about one earlier event (a packet, a transfer), kept for
     * settings.history_horizon after it and unknown later. A DURATION
     * name of this kind is the time since that event, so it is known
     * only while below the horizon: the loader refuses a rule that needs
     * it at or past the horizon. */
    RG_KEPT_EVENT
} rg_name_kept;

/* One built-in name a detector offers. */
typedef struct rg_name_spec {
    const char *name;                     /* "counterparty_senders" */
    rg_type type;                         /* static type of its value */
    rg_arg_kind args[RG_NAME_MAX_ARGS];   /* RG_ARG_NONE-terminated */
    /* True when the name can be evaluated for an event as it arrives
     * without window state of its own, so it may appear inside a count()
     * filter (event fields, claim_delay, geo names; not count itself). */
    bool filterable;
    const char *doc;                      /* one line: meaning, with units */
} rg_name_spec;

/* Parts of an event a name may need (rg_detector.name_needs). */
enum {
    RG_PART_IP = 1u << 0,
    RG_PART_LOCATION = 1u << 1,
    RG_PART_CLIENT_AUTOMATION = 1u << 2,
    RG_PART_CLIENT_HOOKED = 1u << 3,
    RG_PART_CLIENT_PACKAGES = 1u << 4,
    RG_PART_CLIENT_TS = 1u << 5,
};

/* The parts ev has. */
static inline uint32_t rg_event_parts(const rg_event *ev)
{
    return (ev->ip_family ? RG_PART_IP : 0) | (ev->has_location ? RG_PART_LOCATION : 0) |
           (ev->client_automation >= 0 ? RG_PART_CLIENT_AUTOMATION : 0) |
           (ev->client_hooked >= 0 ? RG_PART_CLIENT_HOOKED : 0) |
           (ev->has_client_packages ? RG_PART_CLIENT_PACKAGES : 0) | (ev->has_client_ts ? RG_PART_CLIENT_TS : 0);
}

/* The state behind one name, where it differs from its family's
 * (rg_detector.kept, .state). */
typedef struct rg_name_state {
    rg_name_kept kept;
    const char *state;
} rg_name_state;

/*
 * One distinct use of a name in a loaded rule file: the name and its
 * arguments. Uses with the same name and equal arguments are merged by the
 * loader, so state behind them is kept once. Owned by the rule set.
 */
typedef struct rg_name_use {
    const rg_name_spec *spec;             /* for a signal: a spec the loader made (its name and type) */
    const struct rg_detector *detector;   /* who evaluates it; NULL for a `signals:` name */
    unsigned detector_index;              /* rg_registry_index(detector) */
    const struct rg_expr *signal;         /* a `signals:` name: the expression it names, else NULL */
    int64_t window_ms;                    /* RG_ARG_DURATION, else 0 */
    /* RG_ARG_CONDITION, else NULL. For count(), NULL means "every event
     * of the account" (hand-built uses in tests; the loader always gives
     * the parsed filter). */
    const struct rg_expr *filter;
    unsigned slot;                        /* engine memo index, 0..n_uses-1 */
    unsigned detector_slot;               /* index among this detector's uses */
    const char *evidence_key;             /* "counterparty_senders_24h", "counterparty_age_s" */
} rg_name_use;

/* What a detector gets at creation. Everything is owned by the caller and
 * outlives the detector state. */
typedef struct rg_detector_config {
    const rg_name_use *const *uses;   /* this detector's uses, detector_slot order */
    size_t n_uses;
    /* settings.history_horizon (default 7d): facts about one event (a
     * packet, a transfer a complaint may name) are kept this long after
     * the event's ts; facts about an account (registration, devices, last
     * login country) are kept for good (rules.md "State is bounded").
     * <= 0 means the default. */
    int64_t history_horizon_ms;
    /* settings.max_lateness (the rule file's default): an event up to this
     * far behind the highest ts seen still gets exact windows; window
     * entries older than watermark - W - max_lateness are dropped. */
    int64_t max_lateness_ms;
    const struct rg_geo *geo;         /* may be NULL: geo names are then unknown */
    /* The engine's per-account records (detectors/account_store.h), not
     * sealed yet: a family keeping per-account state reserves its slice
     * in create(). NULL (unit tests driving one family): the family makes
     * and seals a private store. */
    struct rg_account_store *accounts;
    /* The engine sets the watermark (expire()) instead of the events'
     * ts: a keyed stage whose events come per source, not in time order
     * (the decide stage, docs/scale-out.md "Watermarks at decide"). A
     * family whose update() advances its own watermark does not then. */
    bool watermark_external;
} rg_detector_config;

/* The table hashes (common/strmap.h rg_strmap_hash) of an event's ids,
 * 0 for an id it lacks: what rg_engine_prefetch gives the families'
 * prefetch hooks. A hint only (a lookup hashes its key itself). */
struct rg_account_peeked;   /* account_store.h */

typedef struct rg_event_hashes {
    uint32_t event_id, account, counterparty, packet_id, ref;
} rg_event_hashes;

/* Memory accounting for docs, benchmarks and metrics. */
typedef struct rg_detector_stats {
    size_t entities;        /* records held (accounts, packets, ...) */
    size_t bytes;           /* bytes held, including window entries */
    size_t window_entries;  /* timestamps kept for windows */
    size_t window_bytes;    /* those entries at their stored size (a received
                             * transfer is a timestamp and a sender: 16 B) */
    size_t dropped;         /* state lost to allocation failure */
} rg_detector_stats;

typedef struct rg_detector {
    const char *family;                   /* "velocity", "geo", ... */
    const rg_name_spec *names;
    size_t n_names;

    void *(*create)(const rg_detector_config *cfg, char *errstr, size_t errstr_size);
    void (*observe)(void *state, const rg_event *ev, struct rg_eval_ctx *ctx);   /* optional */
    rg_value (*eval)(void *state, const rg_name_use *use, const rg_event *ev,
                     struct rg_eval_ctx *ctx);
    void (*update)(void *state, const rg_event *ev, struct rg_eval_ctx *ctx);    /* optional */
    void (*expire)(void *state, int64_t watermark_ms);                            /* optional */
    void (*stats)(const void *state, rg_detector_stats *out);                     /* optional */
    void (*destroy)(void *state);

    /* Optional (checkpoints, decisions/engine.h rg_engine_save/load, and
     * reloads).
     * save appends everything a later event could see — records, the
     * family's watermark and counters — in the family's own format,
     * version `state_version`. Deterministic: equal states give equal
     * bytes (records in key order, rg_strmap_sorted). 0, or -1 when out
     * of memory. */
    uint32_t state_version;
    int (*save)(const void *state, struct rg_strbuf *out);
    /* Restore into state that create(cfg) has just made (no event yet)
     * from bytes save() wrote with format `version`, possibly under
     * another rule file: keep what the current uses need (a count()
     * window only for an equal use; other pieces whatever the file). The bytes are
     * untrusted (a corrupt file): bounds-check everything; on a bad
     * section return -1 with the reason in in->error (rg_reader_fail);
     * the engine then destroys this state. */
    int (*load)(void *state, uint32_t version, struct rg_reader *in);

    /* The state behind the family's names: how long it is kept, and what
     * it costs in one line (what a record is keyed by, its bytes, how it
     * grows), as `riskgate names` prints it; docs/state.md has the
     * measurements. `name_states`, optional, is indexed like `names` for
     * a family whose names differ (an entry with kept == RG_KEPT_UNSET
     * takes the family's). */
    rg_name_kept kept;
    const char *state;
    const rg_name_state *name_states;

    /* Optional: a hint that ev will be evaluated soon (replay reads ahead,
     * rg_engine_prefetch): stage 0 fetches the table slot of the records
     * ev will look up, stage 1 (an event later) the records. `hashes`
     * are ev's ids' table hashes, made once for both stages and every
     * family (rg_strmap_prefetch_hashed). Changes nothing; families keyed
     * by account need none (the engine asks the account store). */
    void (*prefetch)(const void *state, const rg_event *ev, const struct rg_event_hashes *hashes, int stage);
    /* Optional, the step after (stage 2, an event later again): what the
     * family's account records point to (a window's heap ring, a
     * buffer). `accounts` are the account store's records of ev's account
     * and counterparty as the engine peeked them once for every family
     * (rg_account_peek_records: hints, NULL when absent); a family reads
     * its slice of them with rg_account_slice_in. Changes nothing. */
    void (*prefetch_pointed)(const void *state, const rg_event *ev, const struct rg_account_peeked *accounts);

    /* Optional, indexed like `names`: the parts of the event (RG_PART_*)
     * each name's value needs. On an event without one of them the name
     * is unknown whatever the state, and computing it would look nothing
     * up, so a rule that needs the name TRUE is settled not-TRUE without
     * asking eval (rg_eval_fires, rules/expr_fires.c "Firing"). 0: no
     * promise. */
    const uint32_t *name_needs;
} rg_detector;

/* The registration table (detectors/registry.c), NULL-terminated. */
extern const rg_detector *const rg_detectors[];

/* Find the detector and spec offering `name` (len bytes); NULL if none. */
const rg_name_spec *rg_registry_find(const char *name, size_t len, const rg_detector **out_detector);

/* Index of a detector in rg_detectors, or -1. */
int rg_registry_index(const rg_detector *d);

#endif
