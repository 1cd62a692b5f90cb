/*
 * describe — what `riskgate check-rules` prints about a loaded rule set
 * (ruleset.h rg_ruleset_describe, rg_ruleset_describe_json): files and id,
 * settings, lists, signals, rules, the names and state each uses, and
 * the state each detector family will keep.
 *
 * Owner: rules. Reads a loaded rule set only: any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "expr_internal.h"
#include "eval.h"
#include "names.h"
#include "ruleset_internal.h"

/* ---- describe ---------------------------------------------------------- */

/* Settings read better in days when they are whole days ("7d"). */
static void put_setting(rg_strbuf *out, int64_t ms)
{
    char buf[64];
    rg_setting_text(ms, buf, sizeof buf);
    rg_strbuf_puts(out, buf);
}

static void put_duration(rg_strbuf *out, int64_t ms)
{
    char buf[64];
    rg_duration_text(ms, buf, sizeof buf);
    rg_strbuf_puts(out, buf);
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

static void describe_rule(const rg_ruleset *rs, const rg_rule_impl *r, rg_strbuf *out)
{
    const rg_rule *p = &r->pub;
    if (rs->n_files > 1)
        rg_strbuf_printf(out, "  %s (%s:%d)%s\n", p->id, p->file, p->line, p->enabled ? "" : " [disabled]");
    else
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
    if (rs->n_files > 1) {
        rg_strbuf_puts(out, "rule files, read in this order as one rule set:\n");
        for (size_t i = 0; i < rs->n_files; i++)
            rg_strbuf_printf(out, "  %s\n", rs->files[i]);
    } else {
        rg_strbuf_printf(out, "rule file %s\n", rs->path);
    }
    rg_strbuf_printf(out, "ruleset id %s\n\nsettings:\n  dedupe_horizon  ", rs->id);
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
        describe_rule(rs, &rs->rules[i], out);
    rg_strbuf_puts(out, "\nstate kept, per detector (only detectors the rules use are created):\n");
    for (size_t d = 0; d < rs->n_detectors; d++) {
        if (!rs->det_n[d])
            continue;
        const char *family = rg_detectors[d]->family;
        const char *key = family_key(family);
        rg_strbuf_printf(out, "  %s:", family);
        for (size_t k = 0; k < rs->det_n[d]; k++)
            rg_strbuf_printf(out, "%s%s", k ? ", " : " ", rg_use_text(rs->det_uses[d][k]));
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

/* ---- describe as JSON (check-rules --json) ------------------------------ */

static void put_str(rg_strbuf *out, const char *s) { rg_strbuf_put_json_str(out, s ? s : "", s ? strlen(s) : 0); }

/* A duration in seconds, as evidence writes durations. */
static void put_seconds(rg_strbuf *out, int64_t ms)
{
    rg_value v = rg_int_typed(RG_T_DURATION, ms);
    rg_value_write_json(&v, out);
}

static void put_use_fields(const rg_name_use *u, rg_strbuf *out)
{
    rg_strbuf_puts(out, "\"name\":");
    put_str(out, rg_use_text(u));
    rg_strbuf_puts(out, ",\"type\":");
    put_str(out, rg_expr_type_word(u->spec->type));
    rg_strbuf_puts(out, ",\"family\":");
    if (u->signal) {
        rg_strbuf_puts(out, "\"signals\",\"kept\":null");
        return;
    }
    put_str(out, u->detector ? u->detector->family : "");
    rg_strbuf_puts(out, ",\"kept\":");
    put_str(out, rg_name_kept_word(rg_name_kept_of(u->spec, u->detector)));
    if (u->window_ms) {
        rg_strbuf_puts(out, ",\"window_s\":");
        put_seconds(out, u->window_ms);
    }
}

/* The built-in uses a rule reaches (its condition, through signals and
 * count() filters, and its message): the state it needs. */
typedef struct reach {
    const rg_name_use **uses;
    size_t n, cap;
    bool oom;
} reach;

static void reach_add(void *arg, const rg_name_use *u)
{
    reach *r = arg;
    for (size_t i = 0; i < r->n; i++)
        if (r->uses[i] == u)
            return;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        const rg_name_use **nu = realloc(r->uses, cap * sizeof *nu);
        if (!nu) {
            r->oom = true;
            return;
        }
        r->uses = nu;
        r->cap = cap;
    }
    r->uses[r->n++] = u;
    rg_expr_visit_uses(u->signal, reach_add, r);
    rg_expr_visit_uses(u->filter, reach_add, r);
}

static void rule_json(const rg_ruleset *rs, const rg_rule_impl *ri, rg_strbuf *out)
{
    const rg_rule *r = &ri->pub;
    rg_strbuf_puts(out, "{\"id\":");
    put_str(out, r->id);
    rg_strbuf_puts(out, ",\"file\":");
    put_str(out, r->file);
    rg_strbuf_printf(out, ",\"line\":%d,\"enabled\":%s,\"on\":[", r->line, r->enabled ? "true" : "false");
    bool first = true;
    for (int t = 0; rg_rules_event_types[t]; t++)
        if (r->on_mask & RG_EV_BIT(t)) {
            rg_strbuf_puts(out, first ? "" : ",");
            put_str(out, rg_rules_event_types[t]);
            first = false;
        }
    rg_strbuf_puts(out, "],\"when\":");
    put_str(out, ri->when_text);
    rg_strbuf_puts(out, ",\"then\":[");
    for (size_t i = 0; i < r->n_then; i++)
        rg_strbuf_printf(out, "%s{\"action\":\"%s\",\"subject\":\"%s\"}", i ? "," : "", rg_action_name(r->then[i].action),
                         rg_subject_name(r->then[i].subject));
    rg_strbuf_puts(out, "],\"cooldown_s\":");
    if (r->cooldown_ms)
        put_seconds(out, r->cooldown_ms);
    else
        rg_strbuf_puts(out, "null");
    rg_strbuf_puts(out, ",\"message\":");
    if (r->message)
        put_str(out, r->message);
    else
        rg_strbuf_puts(out, "null");
    rg_strbuf_puts(out, ",\"names\":[");
    for (size_t i = 0; i < r->n_evidence; i++) {
        rg_strbuf_puts(out, i ? ",{\"key\":" : "{\"key\":");
        put_str(out, r->evidence[i]->evidence_key);
        rg_strbuf_putc(out, ',');
        put_use_fields(r->evidence[i], out);
        rg_strbuf_putc(out, '}');
    }
    reach rc = {0};
    rg_expr_visit_uses(r->when, reach_add, &rc);
    for (size_t k = 0; k < ri->n_parts; k++)
        if (ri->parts[k].use)
            reach_add(&rc, ri->parts[k].use);
    for (size_t s = 0; s < RG_SUBJ_COUNT; s++)
        for (size_t i = 0; i < r->n_then; i++)
            if (r->then[i].subject == (rg_subject_kind)s && rs->subject_use[s])
                reach_add(&rc, rs->subject_use[s]);
    rg_strbuf_puts(out, "],\"state\":[");
    first = true;
    for (size_t i = 0; i < rc.n; i++) {
        if (rc.uses[i]->signal)
            continue;
        rg_strbuf_puts(out, first ? "{" : ",{");
        put_use_fields(rc.uses[i], out);
        rg_strbuf_putc(out, '}');
        first = false;
    }
    rg_strbuf_puts(out, "]}");
    if (rc.oom)
        out->oom = true;
    free(rc.uses);
}

void rg_ruleset_describe_json(const rg_ruleset *rs, struct rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"ok\":true,\"ruleset\":");
    put_str(out, rs->id);
    rg_strbuf_puts(out, ",\"files\":[");
    for (size_t i = 0; i < rs->n_files; i++) {
        rg_strbuf_puts(out, i ? "," : "");
        put_str(out, rs->files[i]);
    }
    rg_strbuf_puts(out, "],\"settings\":{\"dedupe_horizon_s\":");
    put_seconds(out, rs->dedupe_horizon_ms);
    rg_strbuf_puts(out, ",\"history_horizon_s\":");
    put_seconds(out, rs->history_horizon_ms);
    rg_strbuf_puts(out, ",\"max_lateness_s\":");
    put_seconds(out, rs->max_lateness_ms);
    rg_strbuf_puts(out, "},\"lists\":{");
    for (size_t i = 0; i < rs->n_lists; i++) {
        rg_strbuf_puts(out, i ? "," : "");
        put_str(out, rs->lists[i].name);
        rg_strbuf_puts(out, ":[");
        for (size_t k = 0; k < rs->lists[i].n; k++) {
            rg_strbuf_puts(out, k ? "," : "");
            put_str(out, rs->lists[i].names[k]);
        }
        rg_strbuf_putc(out, ']');
    }
    rg_strbuf_puts(out, "},\"signals\":[");
    for (size_t i = 0; i < rs->n_signals; i++) {
        const rg_signal *s = &rs->signals[i];
        rg_strbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        put_str(out, s->name);
        rg_strbuf_puts(out, ",\"type\":");
        put_str(out, rg_expr_type_word(s->spec.type));
        rg_strbuf_puts(out, ",\"expr\":");
        put_str(out, s->text);
        rg_strbuf_printf(out, ",\"used\":%s}", s->use && s->use->reachable ? "true" : "false");
    }
    rg_strbuf_puts(out, "],\"rules\":[");
    for (size_t i = 0; i < rs->n_rules; i++) {
        rg_strbuf_puts(out, i ? ",\n" : "\n");
        rule_json(rs, &rs->rules[i], out);
    }
    rg_strbuf_puts(out, "],\"state\":[");
    bool first = true;
    int64_t longest = 0;
    for (size_t i = 0; i < rs->n_uses; i++)
        if (rs->uses[i]->window_ms > longest)
            longest = rs->uses[i]->window_ms;
    for (size_t d = 0; d < rs->n_detectors; d++) {
        if (!rs->det_n[d])
            continue;
        const rg_detector *det = rg_detectors[d];
        rg_strbuf_puts(out, first ? "{\"family\":" : ",{\"family\":");
        first = false;
        put_str(out, det->family);
        rg_strbuf_puts(out, ",\"uses\":[");
        for (size_t k = 0; k < rs->det_n[d]; k++) {
            const rg_name_use *u = rs->det_uses[d][k];
            rg_strbuf_puts(out, k ? ",{" : "{");
            put_use_fields(u, out);
            rg_strbuf_puts(out, ",\"state\":");
            put_str(out, rg_name_state_of(u->spec, det));
            rg_strbuf_putc(out, '}');
        }
        rg_strbuf_puts(out, "]}");
    }
    rg_strbuf_puts(out, "],\"horizons\":{\"longest_window_s\":");
    if (longest)
        put_seconds(out, longest);
    else
        rg_strbuf_puts(out, "null");
    rg_strbuf_puts(out, ",\"history_horizon_s\":");
    put_seconds(out, rs->history_horizon_ms);
    rg_strbuf_puts(out, ",\"max_lateness_s\":");
    put_seconds(out, rs->max_lateness_ms);
    rg_strbuf_puts(out, ",\"dedupe_horizon_s\":");
    put_seconds(out, rs->dedupe_horizon_ms);
    rg_strbuf_puts(out, "},\"errors\":[]}\n");
}
