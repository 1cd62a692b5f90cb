/*
 * ruleset — a loaded, validated rule file (rules.md).
 *
 * A rule set is immutable once loaded: the engine may hold two at once
 * during a reload. Everything inside (rules, expressions, name uses,
 * lists, strings) is owned by the rule set and lives until
 * rg_ruleset_free. Loading is the only place a rule file is parsed; the
 * engine never looks at YAML.
 *
 * Errors: loading refuses the whole rule set on any error in any of its
 * files and reports every error found, one per line, each as
 * "FILE:LINE:COLUMN: what is wrong".
 */
#ifndef RG_RULESET_H
#define RG_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../detectors/detector.h"

/*
 * The longest duration a rule file may write anywhere (settings,
 * cooldown, count() and counterparty_senders() windows, duration
 * literals in conditions): 36500d, 100 years. Longer is refused at load
 * with its FILE:LINE:COLUMN. Every duration a loaded rule set hands out
 * is at most this, so an event ts (at most year 9999, 2.5e14 ms) plus or
 * minus any of them, or a few of them added, stays far inside int64.
 */
#define RG_DURATION_MAX_MS (INT64_C(36500) * 86400000)

typedef enum rg_action {
    RG_ACT_FREEZE = 0,      /* order of this enum is the order actions are printed */
    RG_ACT_FACE_VERIFY,
    RG_ACT_REVIEW,
    RG_ACT_RELEASE,
    RG_ACT_COUNT
} rg_action;

#define RG_ACT_BIT(a) (1u << (a))

typedef enum rg_subject_kind {
    RG_SUBJ_ACCOUNT = 0,
    RG_SUBJ_COUNTERPARTY,       /* the counterparty of a transfer */
    RG_SUBJ_REF_COUNTERPARTY,   /* counterparty of the transfer a complaint names */
    RG_SUBJ_COUNT
} rg_subject_kind;

const char *rg_action_name(rg_action a);
const char *rg_subject_name(rg_subject_kind s);

typedef struct rg_then {
    rg_action action;
    rg_subject_kind subject;
} rg_then;

typedef struct rg_rule {
    const char *id;                 /* [a-z0-9_]{1,64} */
    unsigned index;                 /* position in the file, 0-based */
    uint32_t on_mask;               /* RG_EV_BIT() of the types it runs on */
    const struct rg_expr *when;
    const rg_then *then;
    size_t n_then;
    const char *message;            /* template with {name} placeholders; may be NULL */
    int64_t cooldown_ms;            /* 0: none */
    bool enabled;
    /* Names the condition uses, in order of first appearance (signals by
     * their signal name): what evidence and the message draw on. */
    const rg_name_use *const *evidence;
    size_t n_evidence;
    int line;                       /* where the rule starts in its file */
    const char *file;               /* the file it is in (several files: the one whose definition is in force) */
} rg_rule;

typedef struct rg_ruleset rg_ruleset;

/*
 * Loading. A rule set is read from one or more rule files, in the order
 * given, as one rule set (rules.md "Several files"): a later file may add
 * rules, lists and signals with new names, replace an earlier file's rule
 * whole with `override: true`, extend an earlier file's list with
 * `NAME: {append: [...]}`, and set `settings:` keys (the last file that
 * sets a key wins). The ruleset id covers every file's bytes in order
 * (docs/ruleset-id.md).
 *
 * On success a load returns the rule set and sets *errors to NULL. On
 * refusal it returns NULL and sets *errors to a malloc'd string of
 * newline-terminated "FILE:LINE:COLUMN: message" lines, each in the file
 * it is about, files in the order given and each file's errors by
 * position: every error of every file (at most LOAD_MAX_ERRORS = 200 in
 * all) — the caller frees it. *errors is NULL after a refusal only when
 * memory ran out even for the message. `errors` must not be NULL. Lines
 * and columns are 1-based; columns count characters, and inside an
 * expression point at the offending token (docs/rules-guide.md section
 * 7). A duplicate name across files names both places.
 *
 * Threads: a load reads only its arguments, its files and constant tables,
 * and builds a rule set nobody else sees until it returns. It may run on
 * any thread, concurrently with other loads and with an engine evaluating
 * events under another rule set (a SIGHUP reload builds the new set off
 * the engine thread, then swaps it in with rg_engine_swap_rules between
 * two events). Never exits or aborts.
 */
#define RG_RULES_MAX_FILES 64                      /* files in one rule set */
#define RG_RULES_MAX_FILE_BYTES (64u << 20)        /* bytes of one rule file: 64 MiB */

/* Load the files at `paths[0..n)` (n >= 1) in that order. A file that
 * cannot be read is an error "PATH:1:1: cannot read the rule file: ...";
 * the other files are still checked, so one run reports everything. */
rg_ruleset *rg_ruleset_load_files(const char *const *paths, size_t n, char **errors);

/* One file: rg_ruleset_load_files(&path, 1, errors). */
rg_ruleset *rg_ruleset_load_file(const char *path, char **errors);

/* Rule files given as bytes (tests, fuzzing, a reload that read them). */
typedef struct rg_rule_source {
    const char *name;       /* the FILE part of messages */
    const char *data;       /* borrowed for the call */
    size_t len;
} rg_rule_source;
rg_ruleset *rg_ruleset_load_sources(const rg_rule_source *sources, size_t n, char **errors);

/* One file from memory; `display_name` is the FILE part of messages. */
rg_ruleset *rg_ruleset_load_buffer(const char *display_name, const char *data, size_t len,
                                   char **errors);

void rg_ruleset_free(rg_ruleset *rs);   /* NULL-safe */

/* Identifies the files' exact bytes: first 12 hex digits of SHA-256 of
 * every file's bytes in order (docs/ruleset-id.md). Lives as long as rs. */
const char *rg_ruleset_id(const rg_ruleset *rs);
/* The file's name; for several files their names joined by " + ". */
const char *rg_ruleset_path(const rg_ruleset *rs);
/* The files it was loaded from, in order. */
size_t rg_ruleset_file_count(const rg_ruleset *rs);
const char *rg_ruleset_file(const rg_ruleset *rs, size_t i);

size_t rg_ruleset_rule_count(const rg_ruleset *rs);

/* The start of every rule set, so that the engine's per-event loop over
 * the rules reads them inline (not a call per rule and event). Set once
 * at load; read-only after. */
typedef struct rg_ruleset_head {
    const rg_rule *const *rules;   /* [n_rules], file order */
    size_t n_rules;
} rg_ruleset_head;

/* Rule i (file order), NULL when i >= rg_ruleset_rule_count(rs). */
static inline const rg_rule *rg_ruleset_rule(const rg_ruleset *rs, size_t i)
{
    const rg_ruleset_head *head = (const rg_ruleset_head *)(const void *)rs;
    return i < head->n_rules ? head->rules[i] : NULL;
}

/* Every distinct name use in the file (conditions, signals, count()
 * filters, messages, and subjects such as ref_counterparty), slot order.
 * Uses reachable only from a signal no rule uses are left out, so no
 * detector keeps state for them. */
size_t rg_ruleset_use_count(const rg_ruleset *rs);
const rg_name_use *rg_ruleset_use(const rg_ruleset *rs, size_t slot);

/* The uses that belong to detector d, in detector_slot order (NULL and 0
 * when the file uses none of its names: the detector is not created). */
const rg_name_use *const *rg_ruleset_detector_uses(const rg_ruleset *rs, const rg_detector *d,
                                                  size_t *n);

/* The use that resolves a subject kind (account -> NULL: the event's own
 * account; counterparty -> the `counterparty` field; ref_counterparty ->
 * the `ref_counterparty` name). */
const rg_name_use *rg_ruleset_subject_use(const rg_ruleset *rs, rg_subject_kind s);

/* settings: */
int64_t rg_ruleset_dedupe_horizon_ms(const rg_ruleset *rs);   /* default 1h */
int64_t rg_ruleset_history_horizon_ms(const rg_ruleset *rs);  /* default 7d */
int64_t rg_ruleset_max_lateness_ms(const rg_ruleset *rs);     /* default 1h */

/* A list from `lists:` (with every file's appends); NULL when absent.
 * Items are NUL-terminated, in the order written. */
const char *const *rg_ruleset_list(const rg_ruleset *rs, const char *name, size_t *n);

/* Write what `check-rules` prints: ruleset id, settings, lists, signals
 * (unused ones marked: no state is kept for them), each rule (on, when as
 * written, then, cooldown, evidence keys, message), the uses each
 * detector will keep state for, the longest window and history horizon. */
struct rg_strbuf;
void rg_ruleset_describe(const rg_ruleset *rs, struct rg_strbuf *out);

/* The same as one JSON object and a newline (`check-rules --json`):
 * {"ok":true,"ruleset","files","settings","lists","signals","rules":[{"id",
 * "file","line","enabled","on","when","then","cooldown_s","message",
 * "names" (evidence keys with name, type, family, kept),"state" (every
 * built-in use it reaches)}],"state" (per detector family: uses, how long
 * kept, what they cost),"horizons","errors":[]}; durations in seconds. */
void rg_ruleset_describe_json(const rg_ruleset *rs, struct rg_strbuf *out);

#endif
