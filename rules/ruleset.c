/*
 * ruleset — accessors of a loaded rule set, its description for
 * `riskgate check-rules`, and freeing (ruleset.h).
 *
 * Owner: rules. A rule set is immutable after loading, so every accessor
 * is a plain read and may be called from any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "expr_internal.h"
#include "ruleset_internal.h"

const char *rg_action_name(rg_action a)
{
    static const char *const names[] = {"freeze", "face_verify", "review", "release"};
    return (unsigned)a < RG_ACT_COUNT ? names[a] : "unknown";
}

const char *rg_subject_name(rg_subject_kind s)
{
    static const char *const names[] = {"account", "counterparty", "ref_counterparty"};
    return (unsigned)s < RG_SUBJ_COUNT ? names[s] : "unknown";
}

void rg_ruleset_free(rg_ruleset *rs)
{
    if (!rs)
        return;
    rg_arena_free(&rs->arena);
    free(rs);
}

const char *rg_ruleset_id(const rg_ruleset *rs) { return rs->id; }
const char *rg_ruleset_path(const rg_ruleset *rs) { return rs->path; }
size_t rg_ruleset_rule_count(const rg_ruleset *rs) { return rs->n_rules; }

const rg_rule *rg_ruleset_rule(const rg_ruleset *rs, size_t i)
{
    return i < rs->n_rules ? &rs->rules[i].pub : NULL;
}

size_t rg_ruleset_use_count(const rg_ruleset *rs) { return rs->n_uses; }

const rg_name_use *rg_ruleset_use(const rg_ruleset *rs, size_t slot)
{
    return slot < rs->n_uses ? rs->uses[slot] : NULL;
}

const rg_name_use *const *rg_ruleset_detector_uses(const rg_ruleset *rs, const rg_detector *d, size_t *n)
{
    int idx = rg_registry_index(d);
    if (idx < 0 || (size_t)idx >= rs->n_detectors || !rs->det_n[idx]) {
        *n = 0;
        return NULL;
    }
    *n = rs->det_n[idx];
    return rs->det_uses[idx];
}

const rg_name_use *rg_ruleset_subject_use(const rg_ruleset *rs, rg_subject_kind s)
{
    return (unsigned)s < RG_SUBJ_COUNT ? rs->subject_use[s] : NULL;
}

int64_t rg_ruleset_dedupe_horizon_ms(const rg_ruleset *rs) { return rs->dedupe_horizon_ms; }
int64_t rg_ruleset_history_horizon_ms(const rg_ruleset *rs) { return rs->history_horizon_ms; }
int64_t rg_ruleset_max_lateness_ms(const rg_ruleset *rs) { return rs->max_lateness_ms; }

const char *const *rg_ruleset_list(const rg_ruleset *rs, const char *name, size_t *n)
{
    for (size_t i = 0; i < rs->n_lists; i++)
        if (strcmp(rs->lists[i].name, name) == 0) {
            *n = rs->lists[i].n;
            return rs->lists[i].names;
        }
    *n = 0;
    return NULL;
}

/* ---- describe ---------------------------------------------------------- */

/* Settings read better in days when they are whole days ("7d"). */
static void put_setting(rg_strbuf *out, int64_t ms)
{
    const int64_t day = 86400000;
    if (ms >= day && ms % day == 0) {
        rg_strbuf_printf(out, "%lldd", (long long)(ms / day));
        return;
    }
    char buf[64];
    rg_duration_text(ms, buf, sizeof buf);
    rg_strbuf_puts(out, buf);
}

static void put_duration(rg_strbuf *out, int64_t ms)
{
    char buf[64];
    rg_duration_text(ms, buf, sizeof buf);
    rg_strbuf_puts(out, buf);
}

/* How a use is written: the call as first written, or the name. */
static const char *use_text(const rg_name_use *u)
{
    const rg_use_impl *ui = rg_use_impl_of(u);
    return ui->call_text ? ui->call_text : u->spec->name;
}

/* What a detector family keys its state on, for the reader of
 * check-rules; families not listed keep no per-entity state of note. */
static const char *family_key(const char *family)
{
    static const struct { const char *family, *key; } keys[] = {
        {"velocity", "per account"},       {"counterparty", "per counterparty"},
        {"login", "per account"},          {"packets", "per red packet"},
        {"complaints", "per transfer"},    {"fields", "read from the event, no state"},
        {"client", "read from the event, no state"}, {"geo", "GeoIP lookup, no state"},
        {"geo_signals", "GeoIP lookup, no state"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (strcmp(keys[i].family, family) == 0)
            return keys[i].key;
    return NULL;
}

static void describe_rule(const rg_rule_impl *r, rg_strbuf *out)
{
    const rg_rule *p = &r->pub;
    rg_strbuf_printf(out, "  %s (line %d)%s\n", p->id, p->line, p->enabled ? "" : " [disabled]");
    rg_strbuf_puts(out, "    on:       ");
    if (p->on_mask == RG_EV_ALL) {
        rg_strbuf_puts(out, "every event type");
    } else {
        bool first = true;
        for (int t = 0; rg_rules_event_types[t]; t++)
            if (p->on_mask & RG_EV_BIT(t)) {
                rg_strbuf_printf(out, "%s%s", first ? "" : ", ", rg_rules_event_types[t]);
                first = false;
            }
    }
    rg_strbuf_printf(out, "\n    when:     %s\n    then:     ", r->when_text ? r->when_text : "");
    for (size_t i = 0; i < p->n_then; i++)
        rg_strbuf_printf(out, "%s%s -> %s", i ? ", " : "", rg_action_name(p->then[i].action),
                         rg_subject_name(p->then[i].subject));
    rg_strbuf_puts(out, "\n    cooldown: ");
    if (p->cooldown_ms)
        put_duration(out, p->cooldown_ms);
    else
        rg_strbuf_puts(out, "none");
    rg_strbuf_puts(out, "\n    evidence: ");
    for (size_t i = 0; i < p->n_evidence; i++)
        rg_strbuf_printf(out, "%s%s", i ? ", " : "", p->evidence[i]->evidence_key);
    if (p->message)
        rg_strbuf_printf(out, "\n    message:  %s", p->message);
    rg_strbuf_putc(out, '\n');
}

void rg_ruleset_describe(const rg_ruleset *rs, struct rg_strbuf *out)
{
    rg_strbuf_printf(out, "rule file %s\nruleset id %s\n\nsettings:\n  dedupe_horizon  ", rs->path, rs->id);
    put_setting(out, rs->dedupe_horizon_ms);
    rg_strbuf_puts(out, "\n  history_horizon ");
    put_setting(out, rs->history_horizon_ms);
    rg_strbuf_puts(out, "\n  max_lateness    ");
    put_setting(out, rs->max_lateness_ms);
    rg_strbuf_printf(out, "\n\nlists (%zu):\n", rs->n_lists);
    for (size_t i = 0; i < rs->n_lists; i++)
        rg_strbuf_printf(out, "  %s: %zu item%s\n", rs->lists[i].name, rs->lists[i].n, rs->lists[i].n == 1 ? "" : "s");
    rg_strbuf_printf(out, "\nsignals (%zu):\n", rs->n_signals);
    for (size_t i = 0; i < rs->n_signals; i++) {
        const rg_signal *s = &rs->signals[i];
        bool used = s->use && s->use->reachable;
        rg_strbuf_printf(out, "  %s (%s) = %s%s\n", s->name, rg_expr_type_word(s->spec.type), s->text,
                         used ? "" : "   [unused: no state kept]");
    }
    rg_strbuf_printf(out, "\nrules (%zu):\n", rs->n_rules);
    for (size_t i = 0; i < rs->n_rules; i++)
        describe_rule(&rs->rules[i], out);
    rg_strbuf_puts(out, "\nstate kept, per detector (only detectors the rules use are created):\n");
    for (size_t d = 0; d < rs->n_detectors; d++) {
        if (!rs->det_n[d])
            continue;
        const char *family = rg_detectors[d]->family;
        const char *key = family_key(family);
        rg_strbuf_printf(out, "  %s:", family);
        for (size_t k = 0; k < rs->det_n[d]; k++)
            rg_strbuf_printf(out, "%s%s", k ? ", " : " ", use_text(rs->det_uses[d][k]));
        if (key)
            rg_strbuf_printf(out, " (%s)", key);
        rg_strbuf_putc(out, '\n');
    }
    int64_t longest = 0;
    for (size_t i = 0; i < rs->n_uses; i++)
        if (rs->uses[i]->window_ms > longest)
            longest = rs->uses[i]->window_ms;
    rg_strbuf_puts(out, "\nlongest window ");
    if (longest)
        put_duration(out, longest);
    else
        rg_strbuf_puts(out, "none");
    rg_strbuf_puts(out, "; history horizon ");
    put_setting(out, rs->history_horizon_ms);
    rg_strbuf_puts(out, " (how far back per-entity history such as devices, registrations and transfers is kept)\n");
}
