/*
 * processor — what the streaming runner asks of "the thing that decides":
 * parse a message, evaluate it, hand back decisions and dead-letter
 * records. The production implementation wraps the engine
 * (engine_proc.h); tests plug in a fake so the Kafka plumbing (merge,
 * delivery-driven commits, faults, drain) is tested on its own.
 *
 * Slots: the runner holds one slot per assigned partition and calls
 * prepare() on a slot's head message once, then process() for that same
 * message later (other slots may be prepared in between). So a processor
 * keeps one parser per slot: what prepare() parsed stays valid until the
 * next prepare() on that slot.
 *
 * Threading: every function is called on the runner's (engine) thread.
 */
#ifndef RG_STREAM_PROCESSOR_H
#define RG_STREAM_PROCESSOR_H

#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "checkpoint.h"

struct rg_decision;   /* decisions/engine.h */

/* Where process() sends decisions; implemented by the runner. */
typedef struct rg_stream_output {
    void *opaque;
    /* One decision: key = subject; json = the decision WITHOUT decided_at,
     * ending in '}' (the runner splices decided_at in). actions and
     * rule_ids name what it carries (metrics). 0, or -1 when it could not
     * be queued for production (the runner has logged why). */
    int (*decision)(void *opaque, const char *subject, size_t subject_len, const char *json, size_t json_len,
                    const char *const *actions, size_t n_actions, const char *const *rule_ids, size_t n_rules);
    /* Every decision, emitted or all under cooldown, for the alert store
     * (NULL when the runner keeps none: then the processor skips it).
     * Called before decision() for the same decision. The runner copies
     * what it needs but keeps d->hits[].rule pointers: they must stay valid
     * until the next reload() (the runner writes its copies before
     * reloading). 0, or -1 when it could not be kept (logged). */
    int (*alert)(void *opaque, const struct rg_decision *d);
} rg_stream_output;

typedef enum rg_stream_outcome {
    RG_STREAM_EVALUATED = 0,    /* an event, evaluated (zero or more decisions) */
    RG_STREAM_DUPLICATE = 1,    /* an event skipped as a duplicate */
    RG_STREAM_REJECTED = 2,     /* not an event: *deadletter holds its record */
    RG_STREAM_FAILED = -1       /* a decision could not be produced */
} rg_stream_outcome;

typedef struct rg_stream_processor {
    void *opaque;
    /* Parse the message value (len bytes; value may be NULL for an empty
     * message). 1: an event, *ts_ms = its event time. 0: a reject. */
    int (*prepare)(void *opaque, unsigned slot, const void *value, size_t len, int64_t *ts_ms);
    /* Evaluate what prepare() gave for slot. `source` is
     * "topic/partition/offset". On RG_STREAM_REJECTED, append the
     * dead-letter record to *deadletter and set *reject_kind (static). */
    rg_stream_outcome (*process)(void *opaque, unsigned slot, const char *source, const void *value, size_t len,
                                 const rg_stream_output *out, rg_strbuf *deadletter, const char **reject_kind);
    /* Reload the rule file (SIGHUP). 0 swapped; -1 refused, the old rules
     * stay, errstr says why. May be NULL (reload unsupported). */
    int (*reload)(void *opaque, char *errstr, size_t errstr_size);
    /* Identifier of the rules in force (for logs, checkpoints). May be NULL. */
    const char *(*ruleset_id)(void *opaque);
    /* Events evaluated more than max_lateness behind the watermark (the
     * engine's count, metrics). May be NULL. */
    uint64_t (*too_late)(void *opaque);
    /* Engine state for checkpoints (NULL functions: none kept). load is
     * called at most once, before any event. */
    rg_state_codec state;
} rg_stream_processor;

#endif
