/*
 * ruleset — a loaded, validated rule file (rules.md).
 *
 * A rule set is immutable once loaded: the engine may hold two at once
 * during a reload. Everything inside (rules, expressions, name uses,
 * lists, strings) is owned by the rule set and lives until
 * rg_ruleset_free. Loading is the only place a rule file is parsed; the
 * engine never looks at YAML.
 *
 * Errors: loading refuses the whole file on any error and reports every
 * error found, one per line, each as "FILE:LINE:COLUMN: what is wrong".
 */
#ifndef RG_RULESET_H
#define RG_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../detectors/detector.h"

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
    int line;                       /* where the rule starts in the file */
} rg_rule;

typedef struct rg_ruleset rg_ruleset;

/*
 * Load a rule file. On success returns the rule set and sets *errors to
 * NULL. On refusal returns NULL and sets *errors to a malloc'd string of
 * newline-terminated "FILE:LINE:COLUMN: message" lines, sorted by
 * position, every error of the file (at most 200) — the caller frees it.
 * *errors is NULL after a refusal only when memory ran out even for the
 * message. `errors` must not be NULL. Lines and columns are 1-based;
 * columns count characters, and inside an expression point at the
 * offending token (docs/rules-guide.md section 7). Never exits or aborts.
 */
rg_ruleset *rg_ruleset_load_file(const char *path, char **errors);

/* Same, from memory; `display_name` is the FILE part of messages. */
rg_ruleset *rg_ruleset_load_buffer(const char *display_name, const char *data, size_t len,
                                   char **errors);

void rg_ruleset_free(rg_ruleset *rs);   /* NULL-safe */

/* Identifies the file's exact bytes: first 12 hex digits of SHA-256
 * (docs/ruleset-id.md). Lives as long as rs. */
const char *rg_ruleset_id(const rg_ruleset *rs);
const char *rg_ruleset_path(const rg_ruleset *rs);

size_t rg_ruleset_rule_count(const rg_ruleset *rs);
const rg_rule *rg_ruleset_rule(const rg_ruleset *rs, size_t i);

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

/* A list from `lists:`; NULL when absent. Items are NUL-terminated. */
const char *const *rg_ruleset_list(const rg_ruleset *rs, const char *name, size_t *n);

/* Write what `check-rules` prints: ruleset id, settings, lists, signals
 * (unused ones marked: no state is kept for them), each rule (on, when as
 * written, then, cooldown, evidence keys, message), the uses each
 * detector will keep state for, the longest window and history horizon. */
struct rg_strbuf;
void rg_ruleset_describe(const rg_ruleset *rs, struct rg_strbuf *out);

#endif
