/* engine_proc — the engine as a stream processor; see engine_proc.h. */
#include "engine_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../decisions/engine.h"
#include "../ingest/event_parse.h"
#include "../ingest/reject.h"

typedef struct proc_slot {
    rg_event_parser *parser;
    bool is_event;
    rg_event event;
    rg_reject reject;
} proc_slot;

struct rg_engine_proc {
    rg_engine *engine;
    rg_ruleset *rules;
    const rg_geo *geo;
    const char *rules_path;
    proc_slot *slots;
    size_t n_slots;
    /* the current process() call, for the engine sink */
    const rg_stream_output *out;
    bool sink_failed;
};

rg_engine_proc *rg_engine_proc_new(rg_ruleset *rules, const rg_geo *geo, const char *rules_path, char *errstr,
                                   size_t errstr_size)
{
    rg_engine_proc *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->engine = rg_engine_new(rules, geo, errstr, errstr_size);
    if (!p->engine) {
        free(p);
        return NULL;
    }
    p->rules = rules;
    p->geo = geo;
    p->rules_path = rules_path;
    return p;
}

void rg_engine_proc_free(rg_engine_proc *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_slots; i++)
        rg_event_parser_free(p->slots[i].parser);
    free(p->slots);
    rg_engine_free(p->engine);
    rg_ruleset_free(p->rules);
    free(p);
}

static proc_slot *slot_at(rg_engine_proc *p, unsigned slot)
{
    if (slot >= p->n_slots) {
        size_t n = (size_t)slot + 1;
        proc_slot *s = realloc(p->slots, n * sizeof *s);
        if (!s)
            return NULL;
        memset(s + p->n_slots, 0, (n - p->n_slots) * sizeof *s);
        p->slots = s;
        p->n_slots = n;
    }
    proc_slot *s = &p->slots[slot];
    if (!s->parser && !(s->parser = rg_event_parser_new()))
        return NULL;
    return s;
}

static int prepare(void *opaque, unsigned slot, const void *value, size_t len, int64_t *ts_ms)
{
    rg_engine_proc *p = opaque;
    proc_slot *s = slot_at(p, slot);
    if (!s) {
        /* Out of memory: reported by process() as a failure. */
        return 0;
    }
    s->is_event = rg_event_parse(s->parser, value ? value : "", value ? len : 0, &s->event, &s->reject) == 0;
    if (s->is_event)
        *ts_ms = s->event.ts_ms;
    return s->is_event ? 1 : 0;
}

static int on_decision(void *opaque, const rg_decision *d)
{
    rg_engine_proc *p = opaque;
    /* Every decision is an alert, one under cooldown too (as replay
     * --alerts stores it): analysts see that the rule kept firing. */
    if (p->out->alert && p->out->alert(p->out->opaque, d) != 0) {
        p->sink_failed = true;
        return -1;
    }
    if (!d->emit)
        return 0;   /* every hit under cooldown: nothing to the action topic */
    const char *actions[RG_ACT_COUNT];
    size_t n_actions = 0;
    for (int a = 0; a < RG_ACT_COUNT; a++)
        if (d->actions & RG_ACT_BIT(a))
            actions[n_actions++] = rg_action_name((rg_action)a);
    const char *rule_ids[64];
    size_t n_rules = 0;
    for (size_t i = 0; i < d->n_hits && n_rules < 64; i++)
        if (!d->hits[i].suppressed)
            rule_ids[n_rules++] = d->hits[i].rule->id;
    if (p->out->decision(p->out->opaque, d->subject, strlen(d->subject), d->json, d->json_len, actions, n_actions,
                         rule_ids, n_rules) != 0) {
        p->sink_failed = true;
        return -1;
    }
    return 0;
}

static rg_stream_outcome process(void *opaque, unsigned slot, const char *source, const void *value, size_t len,
                                 const rg_stream_output *out, rg_strbuf *deadletter, const char **reject_kind)
{
    rg_engine_proc *p = opaque;
    if (slot >= p->n_slots || !p->slots[slot].parser)
        return RG_STREAM_FAILED;
    proc_slot *s = &p->slots[slot];
    if (!s->is_event) {
        rg_reject_write_json(&s->reject, source, value ? value : "", value ? len : 0, deadletter);
        *reject_kind = rg_reject_kind_name(s->reject.kind);
        return RG_STREAM_REJECTED;
    }
    p->out = out;
    p->sink_failed = false;
    rg_sink sink = {.opaque = p, .decision = on_decision};
    rg_engine_result r = rg_engine_process(p->engine, &s->event, value, len, &sink);
    p->out = NULL;
    if (r == RG_ENGINE_DUPLICATE)
        return RG_STREAM_DUPLICATE;
    if (r == RG_ENGINE_SINK_ERROR || p->sink_failed)
        return RG_STREAM_FAILED;
    return RG_STREAM_EVALUATED;
}

static int reload(void *opaque, char *errstr, size_t errstr_size)
{
    rg_engine_proc *p = opaque;
    char *errors = NULL;
    rg_ruleset *next = rg_ruleset_load_file(p->rules_path, &errors);
    if (!next) {
        snprintf(errstr, errstr_size, "%s", errors ? errors : "refused");
        /* One log line: the errors are newline-separated; the logger
         * escapes newlines. */
        size_t n = strlen(errstr);
        while (n && errstr[n - 1] == '\n')
            errstr[--n] = '\0';
        free(errors);
        return -1;
    }
    if (rg_engine_swap_rules(p->engine, next, errstr, errstr_size) != 0) {
        rg_ruleset_free(next);
        return -1;
    }
    rg_ruleset_free(p->rules);
    p->rules = next;
    return 0;
}

static const char *ruleset_id(void *opaque)
{
    rg_engine_proc *p = opaque;
    return rg_ruleset_id(rg_engine_ruleset(p->engine));
}

static uint64_t too_late(void *opaque)
{
    rg_engine_stats st;
    rg_engine_get_stats(((rg_engine_proc *)opaque)->engine, &st);
    return st.too_late;
}

/* Checkpoints (checkpoint.h): the whole engine state, between two events. */
static int state_save(void *opaque, rg_strbuf *out, char *errstr, size_t errstr_size)
{
    rg_engine_proc *p = opaque;
    return rg_engine_save(p->engine, out, errstr, errstr_size);
}

/* Called once, before the first event: the engine is as rg_engine_new
 * left it, which is what rg_engine_load needs (on error it stays empty). */
static int state_load(void *opaque, const void *bytes, size_t len, char *errstr, size_t errstr_size)
{
    rg_engine_proc *p = opaque;
    return rg_engine_load(p->engine, bytes, len, errstr, errstr_size);
}

void rg_engine_proc_processor(rg_engine_proc *p, rg_stream_processor *out)
{
    memset(out, 0, sizeof *out);
    out->opaque = p;
    out->prepare = prepare;
    out->process = process;
    out->reload = reload;
    out->ruleset_id = ruleset_id;
    out->too_late = too_late;
    out->state.opaque = p;
    out->state.save = state_save;
    out->state.load = state_load;
}
