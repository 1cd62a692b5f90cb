/*
 * explain — a rule's evaluation on one event, step by step (explain.h).
 * Owner: rules.
 */
#include "explain.h"

#include <string.h>

#include "expr.h"
#include "expr_internal.h"
#include "ruleset_internal.h"

static const char *tri_word(rg_tri t) { return t == RG_TRUE ? "true" : t == RG_FALSE ? "false" : "unknown"; }

static const char *currency_of(const rg_event *ev) { return ev && ev->currency ? ev->currency : "CNY"; }

/* A sub-expression worth a line: every node but literals and names that
 * are not conditions (their values are listed under names). */
static bool is_step(const rg_expr *e)
{
    if (e->kind == RG_X_LIT)
        return false;
    if (e->kind == RG_X_USE)
        return e->type == RG_T_BOOL;
    return true;
}

typedef struct step_walk {
    rg_eval_ctx *ctx;
    const rg_event *ev;
    rg_strbuf *out;
    bool json;
    bool first;
    rg_strbuf text;   /* scratch for values as text */
} step_walk;

/* A node's span ends where its last operand does, before the ')' that
 * closes a parenthesised operand (`not (a > 1)`): extend it over the
 * closing parentheses it opened, so each step reads as written. */
static int shown_len(const rg_expr *e)
{
    int open = 0;
    unsigned end = e->end;
    char quote = 0;   /* parentheses inside string literals do not count */
    for (unsigned i = e->pos; i < e->end; i++) {
        char c = e->src[i];
        if (quote) {
            if (c == '\\')
                i++;
            else if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else {
            open += c == '(' ? 1 : c == ')' ? -1 : 0;
        }
    }
    for (size_t n = strlen(e->src); open > 0 && end < n; end++) {
        char c = e->src[end];
        if (c == ')')
            open--;
        else if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
    }
    return (int)(end - e->pos);
}

static void put_step(step_walk *w, const rg_expr *e, unsigned depth)
{
    rg_value v = rg_eval_expr_value(w->ctx, e);
    int len = shown_len(e);
    rg_strbuf_reset(&w->text);
    if (e->type != RG_T_BOOL)
        rg_value_write_text(&v, currency_of(w->ev), &w->text);
    const char *result = e->type == RG_T_BOOL ? (!v.known ? "unknown" : v.u.b ? "true" : "false") : NULL;
    if (w->json) {
        rg_strbuf_puts(w->out, w->first ? "{\"expr\":" : ",{\"expr\":");
        rg_strbuf_put_json_str(w->out, e->src + e->pos, (size_t)len);
        rg_strbuf_printf(w->out, ",\"depth\":%u", depth);
        if (result) {
            rg_strbuf_printf(w->out, ",\"result\":\"%s\"}", result);
        } else {
            rg_strbuf_puts(w->out, ",\"value\":");
            rg_value_write_json(&v, w->out);
            rg_strbuf_puts(w->out, ",\"text\":");
            rg_strbuf_put_json_str(w->out, w->text.data ? w->text.data : "", w->text.len);
            rg_strbuf_putc(w->out, '}');
        }
    } else {
        rg_strbuf_printf(w->out, "    %-8s %*s%.*s", result ? result : "=", (int)(2 * depth), "", len,
                         e->src + e->pos);
        if (!result)
            rg_strbuf_printf(w->out, "  -> %s", w->text.data ? w->text.data : "");
        rg_strbuf_putc(w->out, '\n');
    }
    w->first = false;
}

/* Pre-order: a node, then its operands, as a reader expands the condition. */
static void walk(step_walk *w, const rg_expr *e, unsigned depth)
{
    if (!e)
        return;
    bool step = is_step(e);
    if (step)
        put_step(w, e, depth);
    if (e->kind == RG_X_USE || e->kind == RG_X_LIT)
        return;
    unsigned below = step ? depth + 1 : depth;
    walk(w, e->a, below);
    switch (e->kind) {
    case RG_X_AND:
    case RG_X_OR:
    case RG_X_CMP:
    case RG_X_ARITH:
        walk(w, e->b, below);
        break;
    case RG_X_FUNC:
        for (size_t i = 0; i < e->n_items; i++)
            walk(w, e->items[i], below);
        break;
    default:
        break;   /* `in [..]` items are literals; `in LIST` names a list */
    }
}

static bool evaluated(const rg_rule *r, const rg_event *ev)
{
    return r->enabled && (r->on_mask & RG_EV_BIT(ev->type));
}

static const char *why_not(const rg_rule *r) { return !r->enabled ? "disabled" : "its 'on' does not list this type"; }

static void rule_text(rg_eval_ctx *ctx, const rg_event *ev, const rg_rule *r, step_walk *w)
{
    rg_strbuf *out = w->out;
    rg_tri t = rg_eval_condition(ctx, r->when);
    rg_strbuf_printf(out, "rule %s (%s:%d): %s\n", r->id, r->file ? r->file : "?", r->line, tri_word(t));
    rg_strbuf_printf(out, "  when: %s\n  names:\n", rg_rule_impl_of(r)->when_text);
    for (size_t i = 0; i < r->n_evidence; i++) {
        const rg_name_use *u = r->evidence[i];
        rg_value v = rg_eval_use(ctx, u);
        rg_strbuf_printf(out, "    %s = ", rg_use_text(u));
        rg_value_write_text(&v, currency_of(ev), out);
        /* Money and durations also as the condition compares them: minor
         * units, and seconds as in evidence. */
        if (v.known && v.type == RG_T_MONEY)
            rg_strbuf_printf(out, " (%lld)", (long long)v.u.i);
        if (v.known && v.type == RG_T_DURATION) {
            rg_strbuf_puts(out, " (");
            rg_value_write_json(&v, out);
            rg_strbuf_puts(out, " s)");
        }
        if (u->signal)
            rg_strbuf_printf(out, "   [signal: %s]", u->spec->doc);
        rg_strbuf_putc(out, '\n');
    }
    if (!r->n_evidence)
        rg_strbuf_puts(out, "    (none)\n");
    rg_strbuf_puts(out, "  evaluation:\n");
    walk(w, r->when, 0);
}

void rg_explain_text(rg_eval_ctx *ctx, const rg_event *ev, rg_strbuf *out)
{
    const rg_ruleset *rs = ctx->rs;
    step_walk w = {.ctx = ctx, .ev = ev, .out = out, .text = RG_STRBUF_INIT};
    size_t shown = 0;
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        if (!evaluated(r, ev))
            continue;
        if (shown++)
            rg_strbuf_putc(out, '\n');
        rule_text(ctx, ev, r, &w);
    }
    if (!shown)
        rg_strbuf_printf(out, "no enabled rule runs on %s events\n", rg_event_type_name(ev->type));
    bool header = false;
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        if (evaluated(r, ev))
            continue;
        if (!header)
            rg_strbuf_puts(out, "\nnot evaluated:\n");
        header = true;
        rg_strbuf_printf(out, "  %s: %s\n", r->id, why_not(r));
    }
    if (!rg_strbuf_ok(&w.text))
        out->oom = true;
    rg_strbuf_free(&w.text);
}

static void rule_json(rg_eval_ctx *ctx, const rg_event *ev, const rg_rule *r, step_walk *w)
{
    rg_strbuf *out = w->out;
    rg_strbuf_puts(out, "{\"id\":");
    rg_strbuf_put_json_str(out, r->id, strlen(r->id));
    rg_strbuf_puts(out, ",\"file\":");
    rg_strbuf_put_json_str(out, r->file ? r->file : "", r->file ? strlen(r->file) : 0);
    const char *when = rg_rule_impl_of(r)->when_text;
    rg_strbuf_printf(out, ",\"line\":%d,\"when\":", r->line);
    rg_strbuf_put_json_str(out, when, strlen(when));
    rg_strbuf_printf(out, ",\"result\":\"%s\",\"names\":", tri_word(rg_eval_condition(ctx, r->when)));
    rg_eval_evidence_json(ctx, r, out);
    rg_strbuf_puts(out, ",\"values\":[");
    for (size_t i = 0; i < r->n_evidence; i++) {
        const rg_name_use *u = r->evidence[i];
        rg_value v = rg_eval_use(ctx, u);
        rg_strbuf_puts(out, i ? ",{\"name\":" : "{\"name\":");
        rg_strbuf_put_json_str(out, rg_use_text(u), strlen(rg_use_text(u)));
        rg_strbuf_puts(out, ",\"key\":");
        rg_strbuf_put_json_str(out, u->evidence_key, strlen(u->evidence_key));
        rg_strbuf_puts(out, ",\"value\":");
        rg_value_write_json(&v, out);
        rg_strbuf_reset(&w->text);
        rg_value_write_text(&v, currency_of(ev), &w->text);
        rg_strbuf_puts(out, ",\"text\":");
        rg_strbuf_put_json_str(out, w->text.data ? w->text.data : "", w->text.len);
        if (u->signal) {
            rg_strbuf_puts(out, ",\"signal\":");
            rg_strbuf_put_json_str(out, u->spec->doc, strlen(u->spec->doc));
        }
        rg_strbuf_putc(out, '}');
    }
    rg_strbuf_puts(out, "],\"steps\":[");
    w->first = true;
    walk(w, r->when, 0);
    rg_strbuf_puts(out, "]}");
}

void rg_explain_json_members(rg_eval_ctx *ctx, const rg_event *ev, rg_strbuf *out)
{
    const rg_ruleset *rs = ctx->rs;
    step_walk w = {.ctx = ctx, .ev = ev, .out = out, .json = true, .text = RG_STRBUF_INIT};
    bool first = true;
    rg_strbuf_puts(out, "\"rules\":[");
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        if (!evaluated(r, ev))
            continue;
        if (!first)
            rg_strbuf_putc(out, ',');
        first = false;
        rule_json(ctx, ev, r, &w);
    }
    rg_strbuf_puts(out, "],\"not_evaluated\":[");
    first = true;
    for (size_t i = 0; i < rg_ruleset_rule_count(rs); i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        if (evaluated(r, ev))
            continue;
        rg_strbuf_puts(out, first ? "{\"id\":" : ",{\"id\":");
        rg_strbuf_put_json_str(out, r->id, strlen(r->id));
        rg_strbuf_printf(out, ",\"why\":\"%s\"}", why_not(r));
        first = false;
    }
    rg_strbuf_putc(out, ']');
    if (!rg_strbuf_ok(&w.text))
        out->oom = true;
    rg_strbuf_free(&w.text);
}
