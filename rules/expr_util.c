/*
 * expr_util — small shared pieces of the condition language: the closed
 * value sets of enumerated fields, type words for messages, structural
 * equality (so identical count() filters share one use, hence one
 * window), visiting the names an expression uses, list membership.
 * Owner: rules.
 */
#include <string.h>

#include "../common/binio.h"
#include "../common/strmap.h"
#include "../common/timeutil.h"
#include "expr_internal.h"
#include "functions.h"

const char *const rg_rules_event_types[] = {"account_open", "login", "transfer", "red_packet_send",
                                            "red_packet_claim", "recall_request", "complaint", NULL};

int rg_rules_event_type(const char *name, size_t len)
{
    for (int i = 0; rg_rules_event_types[i]; i++)
        if (strlen(rg_rules_event_types[i]) == len && memcmp(rg_rules_event_types[i], name, len) == 0)
            return i;
    return -1;
}

const char *const *rg_field_enum_values(const char *name)
{
    static const char *const kinds[] = {"normal", "lucky", "group", "timed", NULL};
    static const char *const modes[] = {"realtime", "delay_2h", "delay_24h", NULL};
    static const char *const reasons[] = {"fraud", "mistake", "other", NULL};
    if (strcmp(name, "type") == 0)
        return rg_rules_event_types;
    if (strcmp(name, "kind") == 0)
        return kinds;
    if (strcmp(name, "mode") == 0)
        return modes;
    if (strcmp(name, "reason") == 0)
        return reasons;
    return NULL;
}

rg_dur_check rg_duration_parse_bounded(const char *s, size_t len, int64_t *ms)
{
    if (rg_parse_duration(s, len, ms))
        return *ms > RG_DURATION_MAX_MS ? RG_DUR_TOO_LONG : RG_DUR_OK;
    /* rg_parse_duration also refuses what overflows int64: digits and a
     * unit are a duration, only too long. */
    size_t i = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    int64_t unit_only;
    if (i > 0 && i < len && rg_parse_duration(s + i - 1, len - i + 1, &unit_only))
        return RG_DUR_TOO_LONG;
    return RG_DUR_BAD;
}

const char *rg_expr_type_word(rg_type t)
{
    switch (t) {
    case RG_T_BOOL: return "boolean";
    case RG_T_INT: return "integer";
    case RG_T_MONEY: return "money";
    case RG_T_DURATION: return "duration";
    case RG_T_NUMBER: return "number";
    case RG_T_STRING: return "string";
    case RG_T_STRLIST: return "string list";
    default: return "invalid";
    }
}

bool rg_expr_equal(const rg_expr *a, const rg_expr *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind || a->op != b->op || a->type != b->type)
        return false;
    switch (a->kind) {
    case RG_X_LIT:
        if (a->lit.type == RG_T_STRING)
            return a->lit.u.str.len == b->lit.u.str.len &&
                   memcmp(a->lit.u.str.s, b->lit.u.str.s, a->lit.u.str.len) == 0;
        if (a->lit.type == RG_T_BOOL)
            return a->lit.u.b == b->lit.u.b;
        return a->lit.u.i == b->lit.u.i;
    case RG_X_USE:
        return a->use == b->use;
    case RG_X_FUNC:
        if (a->fn != b->fn)
            return false;
        /* the arguments, like the items of `in [..]` */
        __attribute__((fallthrough));
    case RG_X_IN:
        if (a->n_items != b->n_items || !rg_expr_equal(a->a, b->a))
            return false;
        for (size_t i = 0; i < a->n_items; i++)
            if (!rg_expr_equal(a->items[i], b->items[i]))
                return false;
        return true;
    case RG_X_IN_LIST:
        return a->set == b->set && rg_expr_equal(a->a, b->a);
    default:
        return rg_expr_equal(a->a, b->a) && rg_expr_equal(a->b, b->b);
    }
}

/* FNV-1a over 64-bit words: enough to spread filters over a hash map
 * (collisions are resolved by rg_expr_equal). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    for (int i = 0; i < 8; i++, v >>= 8)
        h = (h ^ (v & 0xff)) * 0x100000001b3ULL;
    return h;
}

uint64_t rg_expr_hash(const rg_expr *e)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    if (!e)
        return h;
    h = mix(h, (uint64_t)e->kind << 16 | (uint64_t)e->op << 8 | (uint64_t)e->type);
    switch (e->kind) {
    case RG_X_LIT:
        if (e->lit.type == RG_T_STRING)
            return mix(h, rg_hash_bytes(e->lit.u.str.s, e->lit.u.str.len));
        return mix(h, e->lit.type == RG_T_BOOL ? (uint64_t)e->lit.u.b : (uint64_t)e->lit.u.i);
    case RG_X_USE:
        return mix(h, (uint64_t)(uintptr_t)e->use);
    case RG_X_IN_LIST:
        return mix(mix(h, (uint64_t)(uintptr_t)e->set), rg_expr_hash(e->a));
    case RG_X_FUNC:
    case RG_X_IN:
        h = mix(mix(h, (uint64_t)(uintptr_t)e->fn), rg_expr_hash(e->a));
        for (size_t i = 0; i < e->n_items; i++)
            h = mix(h, rg_expr_hash(e->items[i]));
        return h;
    default:
        return mix(mix(h, rg_expr_hash(e->a)), rg_expr_hash(e->b));
    }
}

void rg_expr_visit_uses(const rg_expr *e, void (*fn)(void *arg, const rg_name_use *use), void *arg)
{
    if (!e)
        return;
    if (e->kind == RG_X_USE) {
        fn(arg, e->use);
        return;
    }
    rg_expr_visit_uses(e->a, fn, arg);
    rg_expr_visit_uses(e->b, fn, arg);
    if (e->kind == RG_X_IN || e->kind == RG_X_FUNC)
        for (size_t i = 0; i < e->n_items; i++)
            rg_expr_visit_uses(e->items[i], fn, arg);
}

static int strset_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    return r ? r : (alen > blen) - (alen < blen);
}

bool rg_strset_contains(const rg_strset *set, const char *s, size_t len)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strset_cmp(set->sorted[mid], set->sorted_lens[mid], s, len);
        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* ---- canonical form, for matching across two rule files --------------- */

static void canonical_use(const rg_name_use *u, rg_strbuf *out);

static void canonical(const rg_expr *e, rg_strbuf *out)
{
    if (!e) {
        rg_put_u8(out, 0);   /* absent operand / filter */
        return;
    }
    /* A function by its row's stable byte (functions.h), not its kind:
     * abs and any keep the bytes their own node kinds gave them. */
    rg_put_u8(out, e->kind == RG_X_FUNC ? e->fn->form_code : (uint8_t)(e->kind + 1));
    rg_put_u8(out, (uint8_t)e->op);
    rg_put_u8(out, (uint8_t)e->type);
    switch (e->kind) {
    case RG_X_LIT:
        rg_put_u8(out, (uint8_t)e->lit.type);
        if (e->lit.type == RG_T_STRING) {
            rg_put_str(out, e->lit.u.str.s, e->lit.u.str.len);
        } else if (e->lit.type == RG_T_BOOL) {
            rg_put_u8(out, e->lit.u.b);
        } else if (e->lit.type == RG_T_NUMBER) {
            uint64_t bits;
            memcpy(&bits, &e->lit.u.d, sizeof bits);
            rg_put_u64(out, bits);
        } else {
            rg_put_i64(out, e->lit.u.i);
        }
        return;
    case RG_X_USE:
        canonical_use(e->use, out);
        return;
    case RG_X_FUNC:
        /* The arguments, padded to two operands as unary and binary nodes
         * are (abs(x) wrote x, then "no operand"). */
        for (size_t i = 0; i < e->n_items || i < 2; i++)
            canonical(i < e->n_items ? e->items[i] : NULL, out);
        return;
    case RG_X_IN:
        canonical(e->a, out);
        rg_put_u32(out, (uint32_t)e->n_items);
        for (size_t i = 0; i < e->n_items; i++)
            canonical(e->items[i], out);
        return;
    case RG_X_IN_LIST:
        /* A list by its contents: the same name may hold other items in
         * the other file. Sorted order, so item order does not matter. */
        canonical(e->a, out);
        rg_put_u32(out, (uint32_t)(e->set ? e->set->n : 0));
        for (size_t i = 0; e->set && i < e->set->n; i++)
            rg_put_str(out, e->set->sorted[i], e->set->sorted_lens[i]);
        return;
    default:
        canonical(e->a, out);
        canonical(e->b, out);
        return;
    }
}

static void canonical_use(const rg_name_use *u, rg_strbuf *out)
{
    if (u->signal) {
        /* A signal by what it computes, not by its name. */
        rg_put_u8(out, 'S');
        canonical(u->signal, out);
        return;
    }
    rg_put_u8(out, 'B');
    const char *name = u->spec && u->spec->name ? u->spec->name : "";
    rg_put_str(out, name, strlen(name));
    rg_put_i64(out, u->window_ms);
    canonical(u->filter, out);
}

void rg_expr_canonical(const rg_expr *e, rg_strbuf *out) { canonical(e, out); }

void rg_use_canonical(const rg_name_use *use, rg_strbuf *out) { canonical_use(use, out); }
