/*
 * names — the list of names and functions (names.h), read from the
 * detector registry and the function table. Owner: rules.
 */
#include "names.h"

#include <string.h>

#include "expr.h"
#include "functions.h"

/* The name's own entry of its family's name_states, or NULL. */
static const rg_name_state *own_state(const rg_name_spec *spec, const rg_detector *d)
{
    if (!d || !d->name_states || !spec || spec < d->names || spec >= d->names + d->n_names)
        return NULL;
    const rg_name_state *st = &d->name_states[spec - d->names];
    return st->kept != RG_KEPT_UNSET ? st : NULL;
}

rg_name_kept rg_name_kept_of(const rg_name_spec *spec, const rg_detector *d)
{
    const rg_name_state *st = own_state(spec, d);
    return st ? st->kept : d ? d->kept : RG_KEPT_UNSET;
}

const char *rg_name_state_of(const rg_name_spec *spec, const rg_detector *d)
{
    const rg_name_state *st = own_state(spec, d);
    return st && st->state ? st->state : d ? d->state : NULL;
}

const char *rg_name_kept_word(rg_name_kept k)
{
    switch (k) {
    case RG_KEPT_NONE: return "none";
    case RG_KEPT_WINDOW: return "window";
    case RG_KEPT_ACCOUNT: return "account";
    case RG_KEPT_EVENT: return "history_horizon";
    default: return NULL;
    }
}

void rg_name_usage(const rg_name_spec *spec, rg_strbuf *out)
{
    rg_strbuf_puts(out, spec->name);
    for (size_t i = 0; i < RG_NAME_MAX_ARGS && spec->args[i] != RG_ARG_NONE; i++)
        rg_strbuf_printf(out, "%s%s", i ? ", " : "(", spec->args[i] == RG_ARG_DURATION ? "W" : "FILTER");
    if (spec->args[0] != RG_ARG_NONE)
        rg_strbuf_putc(out, ')');
}

/* The evidence key a use of the name gets (rules.md "Evidence"). */
static void evidence_key(const rg_name_spec *spec, rg_strbuf *out)
{
    rg_strbuf_puts(out, spec->name);
    if (spec->args[0] == RG_ARG_DURATION)
        rg_strbuf_puts(out, "_W");
    else if (spec->type == RG_T_DURATION)
        rg_strbuf_puts(out, "_s");
}

static const char *name_kind(const rg_detector *d)
{
    if (strcmp(d->family, "fields") == 0)
        return "field";
    if (strcmp(d->family, "client") == 0)
        return "client signal";
    return "detector";
}

static void put_str(rg_strbuf *out, const char *s) { rg_strbuf_put_json_str(out, s ? s : "", s ? strlen(s) : 0); }

void rg_name_write_json(const rg_name_spec *spec, const rg_detector *d, rg_strbuf *out)
{
    rg_strbuf tmp = RG_STRBUF_INIT;
    rg_strbuf_puts(out, "{\"name\":");
    put_str(out, spec->name);
    rg_name_usage(spec, &tmp);
    rg_strbuf_puts(out, ",\"usage\":");
    put_str(out, tmp.data);
    rg_strbuf_puts(out, ",\"kind\":");
    put_str(out, name_kind(d));
    rg_strbuf_puts(out, ",\"type\":");
    put_str(out, rg_expr_type_word(spec->type));
    rg_strbuf_puts(out, ",\"family\":");
    put_str(out, d->family);
    rg_strbuf_printf(out, ",\"filterable\":%s,\"meaning\":", spec->filterable ? "true" : "false");
    put_str(out, spec->doc);
    rg_strbuf_puts(out, ",\"kept\":");
    put_str(out, rg_name_kept_word(rg_name_kept_of(spec, d)));
    rg_strbuf_puts(out, ",\"state\":");
    put_str(out, rg_name_state_of(spec, d));
    rg_strbuf_reset(&tmp);
    evidence_key(spec, &tmp);
    rg_strbuf_puts(out, ",\"evidence_key\":");
    put_str(out, tmp.data);
    rg_strbuf_putc(out, '}');
    if (!rg_strbuf_ok(&tmp))
        out->oom = true;
    rg_strbuf_free(&tmp);
}

static void function_json(const rg_function *fn, rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"name\":");
    put_str(out, fn->name);
    rg_strbuf_puts(out, ",\"usage\":");
    put_str(out, fn->signature);
    rg_strbuf_puts(out, ",\"kind\":\"function\",\"type\":");
    put_str(out, fn->result);
    rg_strbuf_puts(out, ",\"family\":\"functions\",\"filterable\":true,\"meaning\":");
    put_str(out, fn->doc);
    rg_strbuf_puts(out, ",\"kept\":\"none\",\"state\":\"none: computed from its arguments\","
                        "\"evidence_key\":null}");
}

void rg_names_write_json(rg_strbuf *out)
{
    bool first = true;
    rg_strbuf_puts(out, "{\"names\":[");
    for (size_t d = 0; rg_detectors[d]; d++)
        for (size_t i = 0; i < rg_detectors[d]->n_names; i++) {
            rg_strbuf_puts(out, first ? "\n" : ",\n");
            rg_name_write_json(&rg_detectors[d]->names[i], rg_detectors[d], out);
            first = false;
        }
    for (size_t i = 0; i < rg_function_count(); i++) {
        rg_strbuf_puts(out, ",\n");
        function_json(rg_function_at(i), out);
    }
    rg_strbuf_puts(out, "\n]}\n");
}

void rg_names_write_text(rg_strbuf *out)
{
    rg_strbuf usage = RG_STRBUF_INIT;
    rg_strbuf_puts(out, "Names a condition may use, by the detector family that provides them.\n"
                        "filter = may be used inside a count() filter; kept = how long its state lives\n"
                        "(none, window, account: for good, history_horizon: after the event it is about).\n");
    for (size_t d = 0; rg_detectors[d]; d++) {
        const rg_detector *det = rg_detectors[d];
        rg_strbuf_printf(out, "\n%s\n", det->family);
        for (size_t i = 0; i < det->n_names; i++) {
            const rg_name_spec *spec = &det->names[i];
            rg_strbuf_reset(&usage);
            rg_name_usage(spec, &usage);
            rg_strbuf_printf(out, "  %-26s %-12s %s kept: %s\n", usage.data ? usage.data : spec->name,
                             rg_expr_type_word(spec->type), spec->filterable ? "filter " : "       ",
                             rg_name_kept_word(rg_name_kept_of(spec, det)));
            rg_strbuf_printf(out, "      %s\n      state: %s\n", spec->doc,
                             rg_name_state_of(spec, det) ? rg_name_state_of(spec, det) : "");
        }
    }
    rg_strbuf_puts(out, "\nfunctions\n");
    for (size_t i = 0; i < rg_function_count(); i++) {
        const rg_function *fn = rg_function_at(i);
        rg_strbuf_printf(out, "  %-26s %s\n      %s\n", fn->signature, fn->result, fn->doc);
    }
    if (!rg_strbuf_ok(&usage))
        out->oom = true;
    rg_strbuf_free(&usage);
}
