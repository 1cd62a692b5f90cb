/*
 * held — cooldowns of subjects other than the acting account, kept where
 * the subject is keyed (docs/scale-out.md, "Cooldowns of other subjects").
 *
 * A rule's cooldown is state of the (rule, subject) pair. The decide
 * stage is keyed by the acting account, so it keeps exactly the pairs
 * whose subject is the acting account. A rule that aims an action at a
 * transfer's counterparty and has a cooldown (rg_rule_subject_cooldown)
 * makes pairs whose subject is reached from many acting accounts: the
 * mule's cooldown must see every sender's hit, in the order replay sees
 * them. So, for such rules only:
 *
 *   ingest  for an event such a rule runs on, a HOLD record for each
 *           subject it could hit (the acting account, the counterparty)
 *           to the entity key "s:SUBJECT", and the list on the EVENT;
 *   entity  the "s:" task merges HOLDs with everything else in event-time
 *           order (merge.h) and queues them in that order;
 *   decide  evaluates the rules; a decision for a held subject is not
 *           finished there but sent as a HITS record (every hit with its
 *           reason, evidence and the cooldowns already applied; none
 *           when nothing hit) to "s:SUBJECT";
 *   entity  finishes the queue's head once its HITS came: applies the
 *           held rules' cooldowns in the subject's order, writes the
 *           decision JSON (decision_json.h) and hands it on.
 * Nothing waits in a cycle: the merge never waits for HITS, decide never
 * waits for the subject's task.
 *
 * This file: the plan (which events hold which subjects, from the rule
 * set), the records' extra encodings, and the subject task's queue.
 *
 * Ownership: rg_held owns its queue, the HITS copies and the cooldowns;
 * borrows the rule set. One thread.
 */
#ifndef RG_STAGES_HELD_H
#define RG_STAGES_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"
#include "../common/strbuf.h"
#include "../decisions/engine.h"
#include "../ingest/event_parse.h"
#include "record.h"
#include "stage.h"

#define RG_HELD_MAX_SUBJECTS 2   /* the acting account, the counterparty */

/* ---- the plan (ingest) ---- */

typedef struct rg_held_plan {
    /* per event type: bit 0 the account, bit 1 the counterparty */
    unsigned kinds[32];
    bool any;
} rg_held_plan;

void rg_held_plan_for(rg_held_plan *p, const rg_ruleset *rs);
/* The subjects ev holds (distinct, in a fixed order); their count. */
size_t rg_held_subjects(const rg_held_plan *p, const rg_event *ev, const char **subjects, size_t *lens);

/* ---- encodings (record.h's extra) ---- */

/* EVENT: the held subjects (u8 count, then rg_put_str each). */
void rg_held_list_put(rg_strbuf *out, const char *const *subjects, const size_t *lens, size_t n);
/* -1 when malformed (or more than RG_HELD_MAX_SUBJECTS). Pointers into extra. */
int rg_held_list_get(const void *extra, size_t len, const char **subjects, size_t *lens, size_t *n);

/* HOLD: u8 rank (the subject's place in the list), then the subject. */
void rg_held_hold_put(rg_strbuf *out, unsigned rank, const char *subject, size_t len);

/* HITS: rank, subject, decision id, rule set id and every hit of d (or
 * none: d NULL). */
void rg_held_hits_put(rg_strbuf *out, unsigned rank, const char *subject, size_t subject_len,
                      const rg_decision *d);

/* ---- the subject task's queue (entity) ---- */

typedef struct rg_held rg_held;

rg_held *rg_held_new(const rg_ruleset *rs, size_t n_sources);   /* NULL on OOM */
void rg_held_free(rg_held *h);                                   /* NULL-safe */
/* A reload in two steps, so the engine's swap can fail in between:
 * prepare (NULL on OOM), then install (the task uses rs from then on) or
 * drop. */
typedef struct rg_held_rules rg_held_rules;
rg_held_rules *rg_held_rules_prepare(const rg_ruleset *rs);
void rg_held_rules_install(rg_held *h, rg_held_rules *r, const rg_ruleset *rs);
void rg_held_rules_drop(rg_held_rules *r);

/* A HOLD record popped from the merge: its place in the subject's order.
 * 0, or -1 (malformed: counted; out of memory: *oom). */
int rg_held_reserve(rg_held *h, const rg_rec *r, bool *oom);
/* A HITS record pushed (any order): kept until its HOLD's turn, dropped
 * when sent again. input_offset: where it was read. 0, or -1 (malformed:
 * counted; out of memory: *oom). */
int rg_held_push(rg_held *h, const rg_rec *r, const void *bytes, size_t len, int64_t input_offset, bool *oom);
/* Finish every head whose HITS came, in order, handing decisions to
 * out->decision. watermark_ms: the task's stream time (cooldowns older
 * than their length behind it are forgotten). The number finished, or -1
 * when out->decision refused one (it is finished: the caller stops). */
long rg_held_run(rg_held *h, int64_t watermark_ms, const rg_stage_out *out);

size_t rg_held_waiting(const rg_held *h);     /* HOLDs queued */
size_t rg_held_pending(const rg_held *h);     /* HITS kept */
uint64_t rg_held_bad_records(const rg_held *h);

/* Snapshot: queue, kept HITS, per-source progress, cooldowns. */
int rg_held_save(const rg_held *h, rg_strbuf *out);
int rg_held_load(rg_held *h, rg_reader *in);

#endif
