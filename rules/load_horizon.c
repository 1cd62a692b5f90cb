/*
 * load_horizon — refuse a rule that can only be true past
 * settings.history_horizon (rules.md "State is bounded").
 *
 * Owner: rules. Facts about one event (a packet's send, a transfer a
 * complaint names) are kept for history_horizon H after that event; the
 * names built on them are unknown later (detector.h RG_KEPT_EVENT). The
 * DURATION names of that kind (`ref_age`, `claim_delay`) measure the time
 * since that event, so whenever they are known they are below H (a fact
 * exactly H old is gone, as an event exactly W old is outside a window).
 * A rule that can only be true when such a name is H or more can never
 * fire: it is refused at load, naming the rule and the setting.
 *
 * "Can only be true past the horizon", precisely: every way the rule's
 * `when` can be TRUE needs some comparison of such a name with a duration
 * literal to be TRUE (or, under `not`, FALSE) where no value below H
 * satisfies it:
 *   X > D   (or D < X)   with D >= H - 1ms
 *   X >= D  (or D <= X)  with D >= H
 *   X == D               with D >= H
 *   X in [D1, D2, ...]   with every Di >= H
 *   not (X < D), not (X <= D) etc.: the negated comparison, as above.
 * and/or/not combine as three-valued logic requires: `a and b` needs both
 * TRUE, `a or b` needs one, `not a` needs a FALSE (and FALSE also needs X
 * known). Signals are followed into their expressions. Anything else (a
 * name under arithmetic or a function, a comparison with another name,
 * count() filters) is not judged: the check refuses only what certainly
 * never fires. The boolean names of the kind (packet_expired, ...) and
 * ref_counterparty have no threshold to compare and are never refused.
 */
#include <stdio.h>

#include "expr_internal.h"
#include "load_internal.h"
#include "names.h"

#define MAX_SIGNAL_DEPTH LOAD_MAX_SIGNAL_NESTING

/* A DURATION name known only while it is below the horizon. */
static bool is_event_age(const rg_expr *e)
{
    if (e->kind != RG_X_USE || e->use->signal || !e->use->detector)
        return false;
    const rg_name_spec *spec = e->use->spec;
    return spec->type == RG_T_DURATION && rg_name_kept_of(spec, e->use->detector) == RG_KEPT_EVENT;
}

static bool is_duration_literal(const rg_expr *e) { return e->kind == RG_X_LIT && e->type == RG_T_DURATION; }

static rg_expr_op mirrored(rg_expr_op op)
{
    switch (op) {
    case RG_OP_LT: return RG_OP_GT;
    case RG_OP_LE: return RG_OP_GE;
    case RG_OP_GT: return RG_OP_LT;
    case RG_OP_GE: return RG_OP_LE;
    default: return op;
    }
}

static rg_expr_op negated(rg_expr_op op)
{
    switch (op) {
    case RG_OP_EQ: return RG_OP_NE;
    case RG_OP_NE: return RG_OP_EQ;
    case RG_OP_LT: return RG_OP_GE;
    case RG_OP_LE: return RG_OP_GT;
    case RG_OP_GT: return RG_OP_LE;
    default: return RG_OP_LT;   /* GE */
    }
}

/* Is `X op d` satisfied by no X below h? */
static bool only_at_or_past(rg_expr_op op, int64_t d, int64_t h)
{
    switch (op) {
    case RG_OP_GT: return d >= h - 1;
    case RG_OP_GE:
    case RG_OP_EQ: return d >= h;
    default: return false;   /* <, <=, != are satisfied by small values */
    }
}

/*
 * The comparison that keeps e from being `want` (TRUE, or FALSE) below
 * the horizon h, or NULL when e may be `want`.
 */
static const rg_expr *blocker(const rg_expr *e, bool want, int64_t h, int depth)
{
    if (!e || depth > MAX_SIGNAL_DEPTH)
        return NULL;
    switch (e->kind) {
    case RG_X_NOT:
        return blocker(e->a, !want, h, depth);
    case RG_X_AND:
    case RG_X_OR: {
        /* TRUE of an and, or FALSE of an or, needs both sides; the
         * other two need one side. */
        bool needs_both = (e->kind == RG_X_AND) == want;
        const rg_expr *x = blocker(e->a, want, h, depth), *y = blocker(e->b, want, h, depth);
        if (needs_both)
            return x ? x : y;
        return x && y ? x : NULL;
    }
    case RG_X_USE:
        return e->use->signal && e->use->spec->type == RG_T_BOOL ? blocker(e->use->signal, want, h, depth + 1)
                                                                 : NULL;
    case RG_X_CMP: {
        rg_expr_op op = e->op;
        const rg_expr *lit = e->b;
        if (is_event_age(e->b) && is_duration_literal(e->a)) {
            op = mirrored(op);
            lit = e->a;
        } else if (!is_event_age(e->a) || !is_duration_literal(e->b)) {
            return NULL;
        }
        return only_at_or_past(want ? op : negated(op), lit->lit.u.i, h) ? e : NULL;
    }
    case RG_X_IN:
        if (!want || !is_event_age(e->a) || e->n_items == 0)
            return NULL;
        for (size_t i = 0; i < e->n_items; i++)
            if (!is_duration_literal(e->items[i]) || !only_at_or_past(RG_OP_EQ, e->items[i]->lit.u.i, h))
                return NULL;
        return e;
    default:
        return NULL;
    }
}

void load_check_horizon(loader *L)
{
    rg_ruleset *rs = L->rs;
    int64_t h = rs->history_horizon_ms;
    load_source *saved = L->src;
    for (size_t i = 0; i < rs->n_rules && L->order; i++) {
        const rg_rule *r = &rs->rules[i].pub;
        const load_rule_entry *entry = &L->entries[L->order[i]];
        const rg_expr *atom = blocker(r->when, true, h, 0);
        if (!atom || !entry->when)
            continue;
        char hs[40], where[600] = "the default";
        rg_setting_text(h, hs, sizeof hs);
        if (L->horizon_src)
            snprintf(where, sizeof where, "set at %s:%d:%d", L->horizon_src->file, L->horizon_line,
                     L->horizon_col);
        const rg_expr *name = is_event_age(atom->a) ? atom->a : atom->b;
        if (atom->kind == RG_X_IN)
            name = atom->a;
        int span = (int)(atom->end - atom->pos > 60 ? 60 : atom->end - atom->pos);
        char msg[1200];
        snprintf(msg, sizeof msg,
                 "rule '%s' can only be true past settings.history_horizon: '%.*s' needs %s to be %s or more, "
                 "but what it measures from is kept for history_horizon = %s only (%s); raise history_horizon "
                 "or change the condition",
                 r->id ? r->id : "?", span, atom->src + atom->pos, name->use->spec->name, hs, hs, where);
        /* At the comparison when it is in the rule's own `when`, else
         * (inside a signal) at the `when`. */
        L->src = entry->src;
        load_error_in_scalar(L, entry->when, atom->src == r->when->src ? atom->pos : 0, msg);
    }
    L->src = saved;
}
