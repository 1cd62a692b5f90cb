#include "decision_json.h"
#include "decision_id.h"

#include <stdlib.h>
#include <string.h>

void rg_decision_builder_free(rg_decision_builder *b)
{
    for (size_t g = 0; g < b->cap_groups; g++)
        free(b->groups[g].hits);
    free(b->groups);
    free(b->rule_texts);
    free(b->dhits);
    rg_strbuf_free(&b->texts);
    rg_strbuf_free(&b->json);
    rg_strbuf_free(&b->id);
    memset(b, 0, sizeof *b);
}

static bool ensure_rule_texts(rg_decision_builder *b, size_t n)
{
    if (n <= b->n_rule_texts)
        return true;
    struct rg_rule_text *t = realloc(b->rule_texts, n * sizeof *t);
    if (!t)
        return false;
    /* gen 0 never matches: the builder's gen is bumped before first use. */
    memset(t + b->n_rule_texts, 0, (n - b->n_rule_texts) * sizeof *t);
    b->rule_texts = t;
    b->n_rule_texts = n;
    return true;
}

/* The texts of the event before (rg_decision_builder_begin found some):
 * emptied, as rg_strbuf_reset leaves a buffer. */
void rg_decision_builder_clear_texts(rg_decision_builder *b) { rg_strbuf_reset(&b->texts); }

static rg_subject_group *group_for(rg_decision_builder *b, const char *subject, size_t len)
{
    for (size_t g = 0; g < b->n_groups; g++) {
        if (b->groups[g].subject_len == len && memcmp(b->groups[g].subject, subject, len) == 0)
            return &b->groups[g];
    }
    if (b->n_groups == b->cap_groups) {
        size_t ncap = b->cap_groups ? b->cap_groups * 2 : 4;
        rg_subject_group *ng = realloc(b->groups, ncap * sizeof *ng);
        if (!ng)
            return NULL;
        memset(ng + b->cap_groups, 0, (ncap - b->cap_groups) * sizeof *ng);
        b->groups = ng;
        b->cap_groups = ncap;
    }
    rg_subject_group *grp = &b->groups[b->n_groups++];
    grp->subject = subject;
    grp->subject_len = len;
    grp->held = false;
    grp->n_hits = 0;
    return grp;
}

static rg_subject_hit *hit_for(rg_subject_group *grp, const rg_rule *r)
{
    /* Rules are added in file order, so a rule already in the group is
     * always the last one. */
    if (grp->n_hits && grp->hits[grp->n_hits - 1].rule == r)
        return &grp->hits[grp->n_hits - 1];
    if (grp->n_hits == grp->cap_hits) {
        size_t ncap = grp->cap_hits ? grp->cap_hits * 2 : 4;
        rg_subject_hit *nh = realloc(grp->hits, ncap * sizeof *nh);
        if (!nh)
            return NULL;
        grp->hits = nh;
        grp->cap_hits = ncap;
    }
    rg_subject_hit *h = &grp->hits[grp->n_hits++];
    h->rule = r;
    h->actions = 0;
    h->suppressed = false;
    return h;
}

void rg_decision_builder_add_hit(rg_decision_builder *b, rg_eval_ctx *ctx, const rg_rule *r)
{
    for (size_t t = 0; t < r->n_then; t++) {
        const char *subject;
        size_t len;
        if (r->then[t].subject == RG_SUBJ_ACCOUNT) {
            subject = b->ev->account;
            len = b->ev->account_len;
        } else {
            const rg_name_use *use = rg_ruleset_subject_use(b->rs, r->then[t].subject);
            if (!use)
                continue;
            rg_value v = rg_eval_use(ctx, use);
            if (!v.known || v.type != RG_T_STRING || v.u.str.len == 0)
                continue;
            subject = v.u.str.s;
            len = v.u.str.len;
        }
        rg_subject_group *grp = group_for(b, subject, len);
        rg_subject_hit *h = grp ? hit_for(grp, r) : NULL;
        if (!h) {
            b->oom = true;
            continue;
        }
        h->actions |= RG_ACT_BIT(r->then[t].action);
    }
}

bool rg_rule_subject_cooldown(const rg_rule *r)
{
    if (r->cooldown_ms <= 0)
        return false;
    for (size_t t = 0; t < r->n_then; t++)
        if (r->then[t].subject == RG_SUBJ_COUNTERPARTY)
            return true;
    return false;
}

bool rg_rule_cross_cooldown(const rg_rule *r)
{
    if (r->cooldown_ms <= 0)
        return false;
    for (size_t t = 0; t < r->n_then; t++)
        if (r->then[t].subject != RG_SUBJ_ACCOUNT)
            return true;
    return false;
}

void rg_decision_builder_apply_cooldowns(rg_decision_builder *b, rg_cooldowns *c, const char *const *held,
                                         const size_t *held_lens, size_t n_held, bool defer_cross,
                                         int64_t watermark_ms)
{
    for (size_t g = 0; g < b->n_groups; g++) {
        rg_subject_group *grp = &b->groups[g];
        for (size_t k = 0; k < n_held && !grp->held; k++)
            grp->held = held_lens[k] == grp->subject_len && memcmp(held[k], grp->subject, grp->subject_len) == 0;
        for (size_t i = 0; i < grp->n_hits; i++) {
            const rg_rule *r = grp->hits[i].rule;
            if (r->cooldown_ms <= 0)
                continue;
            if (defer_cross && rg_rule_cross_cooldown(r)) {
                grp->held = true;   /* the caller applies it, in capture order */
                continue;
            }
            if (!(grp->held && rg_rule_subject_cooldown(r)))
                grp->hits[i].suppressed = rg_cooldowns_suppress(c, r->id, grp->subject, grp->subject_len,
                                                                b->ev->ts_ms, r->cooldown_ms, watermark_ms);
        }
    }
}

void rg_actions_write_json(unsigned actions, rg_strbuf *out)
{
    rg_strbuf_putc(out, '[');
    bool first = true;
    for (int a = 0; a < RG_ACT_COUNT; a++) {
        if (!(actions & RG_ACT_BIT(a)))
            continue;
        if (!first)
            rg_strbuf_putc(out, ',');
        first = false;
        rg_strbuf_putc(out, '"');
        rg_strbuf_puts(out, rg_action_name((rg_action)a));
        rg_strbuf_putc(out, '"');
    }
    rg_strbuf_putc(out, ']');
}

/* Reason and evidence of rule r for this event, computed at most once. */
static void rule_texts(rg_decision_builder *b, rg_eval_ctx *ctx, const rg_rule *r)
{
    struct rg_rule_text *t = &b->rule_texts[r->index];
    if (t->gen == b->gen)
        return;
    t->gen = b->gen;
    t->reason_off = b->texts.len;
    rg_eval_reason(ctx, r, &b->texts);
    t->reason_len = b->texts.len - t->reason_off;
    t->evidence_off = b->texts.len;
    rg_eval_evidence_json(ctx, r, &b->texts);
    t->evidence_len = b->texts.len - t->evidence_off;
}

const rg_decision *rg_decision_builder_build(rg_decision_builder *b, rg_eval_ctx *ctx, size_t g)
{
    const rg_subject_group *grp = &b->groups[g];
    const rg_event *ev = b->ev;
    if (b->oom || !ensure_rule_texts(b, rg_ruleset_rule_count(b->rs)))
        return NULL;
    if (grp->n_hits > b->cap_dhits) {
        rg_decision_hit *nd = realloc(b->dhits, grp->n_hits * sizeof *nd);
        if (!nd)
            return NULL;
        b->dhits = nd;
        b->cap_dhits = grp->n_hits;
    }
    unsigned actions = 0;
    for (size_t i = 0; i < grp->n_hits; i++)
        rule_texts(b, ctx, grp->hits[i].rule);   /* texts may move: pointers after */
    for (size_t i = 0; i < grp->n_hits; i++) {
        const rg_rule *r = grp->hits[i].rule;
        const struct rg_rule_text *t = &b->rule_texts[r->index];
        b->dhits[i] = (rg_decision_hit){.rule = r, .rule_id = r->id, .actions = grp->hits[i].actions,
                                        .cooldown_ms = r->cooldown_ms, .suppressed = grp->hits[i].suppressed,
                                        .reason = b->texts.data + t->reason_off, .reason_len = t->reason_len,
                                        .evidence = b->texts.data + t->evidence_off, .evidence_len = t->evidence_len};
        if (!grp->hits[i].suppressed)
            actions |= grp->hits[i].actions;
    }

    /* b->id holds the escaped decision id (decision_id.h). The subject as a
     * C string for b->out.subject is the id's tail when escaping left it
     * unchanged (always, unless it holds '%' or '/'): some sinks rely on
     * finding it inside the id. Otherwise it follows the id's NUL. */
    rg_strbuf_reset(&b->id);
    rg_decision_id_put(&b->id, ev->event_id, ev->event_id_len, grp->subject, grp->subject_len);
    size_t id_len = b->id.len, subject_at = id_len - grp->subject_len;
    if (memchr(grp->subject, '%', grp->subject_len) || memchr(grp->subject, '/', grp->subject_len)) {
        subject_at = id_len + 1;
        rg_strbuf_putc(&b->id, '\0');
        rg_strbuf_append(&b->id, grp->subject, grp->subject_len);
    }

    rg_strbuf *j = &b->json;
    rg_strbuf_reset(j);
    rg_decision_json_write(j, b->id.data, id_len, ev->event_id, ev->event_id_len, ev->type, grp->subject,
                           grp->subject_len, actions, b->dhits, grp->n_hits, ev->ts_ms, rg_ruleset_id(b->rs));
    if (!rg_strbuf_ok(j) || !rg_strbuf_ok(&b->id) || !rg_strbuf_ok(&b->texts))
        return NULL;

    b->out = (rg_decision){
        .decision_id = b->id.data,
        .event_id = ev->event_id,
        .subject = NULL,
        .event_type = ev->type,
        .ts_ms = ev->ts_ms,
        .actions = actions,
        .hits = b->dhits,
        .n_hits = grp->n_hits,
        .ruleset = rg_ruleset_id(b->rs),
        .json = j->data,
        .json_len = j->len,
        .event = ev,
        .event_raw = b->raw,
        .event_raw_len = b->raw_len,
        .emit = actions != 0,
        .held = grp->held,
    };
    b->out.subject = b->id.data + subject_at;
    return &b->out;
}

void rg_decision_json_write(rg_strbuf *j, const char *id, size_t id_len, const char *event_id, size_t event_id_len,
                            rg_event_type type, const char *subject, size_t subject_len, unsigned actions,
                            const rg_decision_hit *hits, size_t n_hits, int64_t ts_ms, const char *ruleset)
{
    /* Key order is part of the contract (byte-identical output). */
    rg_strbuf_puts(j, "{\"decision_id\":");
    rg_strbuf_put_json_str(j, id, id_len);
    rg_strbuf_puts(j, ",\"event_id\":");
    rg_strbuf_put_json_str(j, event_id, event_id_len);
    rg_strbuf_puts(j, ",\"event_type\":\"");
    rg_strbuf_puts(j, rg_event_type_name(type));
    rg_strbuf_puts(j, "\",\"subject\":");
    rg_strbuf_put_json_str(j, subject, subject_len);
    rg_strbuf_puts(j, ",\"actions\":");
    rg_actions_write_json(actions, j);
    rg_strbuf_puts(j, ",\"rules\":[");
    for (size_t i = 0; i < n_hits; i++) {
        if (i)
            rg_strbuf_putc(j, ',');
        rg_strbuf_puts(j, "{\"id\":");
        rg_strbuf_put_json_str(j, hits[i].rule_id, strlen(hits[i].rule_id));
        rg_strbuf_puts(j, ",\"reason\":");
        rg_strbuf_put_json_str(j, hits[i].reason, hits[i].reason_len);
        rg_strbuf_puts(j, ",\"evidence\":");
        rg_strbuf_append(j, hits[i].evidence, hits[i].evidence_len);
        if (hits[i].suppressed)
            rg_strbuf_puts(j, ",\"suppressed\":true");
        rg_strbuf_putc(j, '}');
    }
    rg_strbuf_puts(j, "],\"ts\":\"");
    rg_strbuf_put_utc_ms(j, ts_ms);
    rg_strbuf_puts(j, "\",\"ruleset\":\"");
    rg_strbuf_puts(j, ruleset);
    rg_strbuf_puts(j, "\"}");
}
