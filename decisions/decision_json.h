/*
 * decision_json — turns one event's rule hits into decisions: grouped by
 * subject, ordered, cooldowns applied, and written as the JSON of
 * detection.md with a fixed key order, so that the same input always gives
 * the same bytes.
 *
 * Order (detection.md): an event's decisions come in the order of the
 * first rule (file order) that hit each subject; a decision's `rules` are
 * in file order; `actions` are the union of its rules' actions for that
 * subject, in the order freeze, face_verify, review.
 *
 * The builder is owned by the engine and reused for every event; what
 * build() returns is valid until the next begin(). One thread.
 */
#ifndef RG_DECISION_JSON_H
#define RG_DECISION_JSON_H

#include <stddef.h>

#include "../common/strbuf.h"
#include "../rules/eval.h"
#include "cooldown.h"
#include "engine.h"

typedef struct rg_subject_hit {
    const rg_rule *rule;
    unsigned actions;     /* RG_ACT_BIT mask aimed at this subject */
    bool suppressed;
} rg_subject_hit;

typedef struct rg_subject_group {
    const char *subject;
    size_t subject_len;
    bool held;            /* rg_engine_hold_subjects named it */
    rg_subject_hit *hits;
    size_t n_hits, cap_hits;
} rg_subject_group;

typedef struct rg_decision_builder {
    const rg_ruleset *rs;
    const rg_event *ev;
    const char *raw;
    size_t raw_len;
    rg_subject_group *groups;
    size_t n_groups, cap_groups;
    /* Per rule, the reason and evidence text of this event, computed once
     * even when the rule hit two subjects: offsets into `texts`. */
    struct rg_rule_text {
        uint64_t gen;       /* == builder gen: computed for this event */
        size_t reason_off, reason_len, evidence_off, evidence_len;
    } *rule_texts;
    size_t n_rule_texts;
    uint64_t gen;
    rg_strbuf texts;
    rg_strbuf json;
    rg_strbuf id;
    rg_decision_hit *dhits;
    size_t cap_dhits;
    rg_decision out;
    bool oom;
} rg_decision_builder;

void rg_decision_builder_free(rg_decision_builder *b);

/* Start a new event. Inline: the engine starts every event so, and most
 * events hit nothing, so the texts of the event before are usually
 * already empty (a buffer rg_strbuf_reset left, or one nothing was
 * appended to since: len 0, not oom, NUL at data[0]); only a buffer
 * written to is reset, out of line. */
void rg_decision_builder_clear_texts(rg_decision_builder *b);
static inline void rg_decision_builder_begin(rg_decision_builder *b, const rg_ruleset *rs, const rg_event *ev,
                                             const char *raw, size_t raw_len)
{
    b->rs = rs;
    b->ev = ev;
    b->raw = raw;
    b->raw_len = raw_len;
    b->n_groups = 0;
    b->gen++;
    b->oom = false;
    if (b->texts.len || b->texts.oom)
        rg_decision_builder_clear_texts(b);
}

/* Record that rule r hit the current event: each `then` pair adds its
 * action to the group of its subject (subjects that resolve to unknown,
 * e.g. a complaint whose transfer was never seen, get nothing). */
void rg_decision_builder_add_hit(rg_decision_builder *b, rg_eval_ctx *ctx, const rg_rule *r);

static inline size_t rg_decision_builder_groups(const rg_decision_builder *b) { return b->n_groups; }

/* Mark hits within their rule's cooldown as suppressed. Groups whose
 * subject is one of the n_held `held` subjects are marked held and skip
 * the cooldowns rg_rule_subject_cooldown() names (their subject's task
 * applies those). With defer_cross, the cooldowns rg_rule_cross_cooldown()
 * names are skipped in every group, and a group with such a hit is marked
 * held (the caller applies them: rg_engine_role.defer_cross_cooldowns).
 * watermark_ms: as rg_cooldowns_suppress. */
void rg_decision_builder_apply_cooldowns(rg_decision_builder *b, rg_cooldowns *c, const char *const *held,
                                         const size_t *held_lens, size_t n_held, bool defer_cross,
                                         int64_t watermark_ms);

/* The decision for group g; NULL on allocation failure. */
const rg_decision *rg_decision_builder_build(rg_decision_builder *b, rg_eval_ctx *ctx, size_t g);

/* Append actions as a JSON array in the contract's order. */
void rg_actions_write_json(unsigned actions, rg_strbuf *out);

/* Append a decision's JSON (detection.md, keys in the fixed order, no
 * decided_at): the one writer of that object, for the engine's builder
 * and for a subject task that finishes a held decision. The hits' reason
 * and evidence are copied as they are (evidence is a JSON object). */
void rg_decision_json_write(rg_strbuf *j, const char *id, size_t id_len, const char *event_id, size_t event_id_len,
                            rg_event_type type, const char *subject, size_t subject_len, unsigned actions,
                            const rg_decision_hit *hits, size_t n_hits, int64_t ts_ms, const char *ruleset);

#endif
