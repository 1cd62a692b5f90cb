/*
 * engine_ship — the values an engine of one stage hands to the next
 * (rg_engine_process_stage's values_out / values_in), in the two forms of
 * stage_values.h: keyed (between processes: `riskgate run`'s records) or
 * by use slot (between threads of one process on one rule set object:
 * replay --workers, rg_engine_role.ship_by_slot).
 *
 * Both lists are fixed when the rule set is (rg_engine_ship_init): which
 * uses this engine computes and ships, with their keys; which it takes
 * from earlier stages. Walking every use of the rule set and writing each
 * key per event cost ~1,500 instructions an event over replay --workers'
 * three engines (issue 16).
 *
 * Owner: decisions.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"
#include "engine_internal.h"
#include "stage_values.h"

void rg_engine_ship_free(rg_engine_ship *s)
{
    rg_strmap_free(s->in_by_key, NULL);
    free(s->in_by_slot);
    free(s->out);
    free(s->by_family);
    memset(s, 0, sizeof *s);
}

int rg_engine_ship_init(rg_engine_ship *s, const rg_ruleset *rs, const rg_engine_role *role, void *const *states)
{
    memset(s, 0, sizeof *s);
    size_t n = rg_ruleset_use_count(rs);
    s->n_slots = n;
    if (n && (!(s->out = calloc(n, sizeof *s->out)) || !(s->in_by_slot = calloc(n, sizeof *s->in_by_slot))))
        goto oom;
    /* A role keeping every family takes nothing from earlier stages. */
    if (role->families != RG_FAMILIES_ALL && !(s->in_by_key = rg_strmap_new(sizeof(const rg_name_use *))))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const rg_name_use *u = rg_ruleset_use(rs, i);
        if (!u->detector || u->detector_index >= 32)
            continue;
        uint32_t bit = UINT32_C(1) << u->detector_index;
        if (!(role->families & bit)) {
            if (!s->in_by_key)
                continue;
            char key[RG_SHIP_KEY_MAX];
            size_t len = rg_use_ship_key(u, key);
            const rg_name_use **slot = rg_strmap_put(s->in_by_key, key, len, NULL);
            if (!slot)
                goto oom;
            *slot = u;
            if (u->slot < n)
                s->in_by_slot[u->slot] = u;
            continue;
        }
        /* Lists never travel (client.packages is the event's own), and a
         * family this rule set made no state for has nothing to say. */
        if (u->spec->type == RG_T_STRLIST || !states[u->detector_index])
            continue;
        rg_engine_ship_out *o = &s->out[s->n_out++];
        o->use = u;
        o->family_bit = bit;
        o->key_len = (uint8_t)rg_use_ship_key(u, o->key);
    }
    if (s->n_out > UINT16_MAX || (s->n_out && !(s->by_family = malloc(s->n_out * sizeof *s->by_family))))
        goto oom;
    size_t k = 0;
    for (unsigned f = 0; f < 32; f++) {
        s->family_at[f] = (uint16_t)k;
        for (size_t i = 0; i < s->n_out; i++)
            if (s->out[i].family_bit == UINT32_C(1) << f)
                s->by_family[k++] = (uint16_t)i;
    }
    s->family_at[32] = (uint16_t)k;
    return 0;
oom:
    rg_engine_ship_free(s);
    return -1;
}

/* By slot, for one process (stage_values.h): a fixed head, then a
 * STRING's bytes padded to 8. */
typedef struct slot_value {
    uint32_t slot;
    uint8_t type, known;
    uint16_t str_len;   /* at most UINT16_MAX bytes, as the keyed form */
    union {
        int64_t i;
        double d;
        uint8_t b;
    } u;
} slot_value;

/* One use's value by slot, its head written in place while the room
 * reserved for the heads holds (*room: no string appended since). false
 * when out of memory. */
static bool put_by_slot(const rg_engine_ship_out *o, rg_eval_ctx *ctx, rg_strbuf *out, bool *room, uint16_t *count)
{
    rg_value v = rg_eval_use(ctx, o->use);
    if (v.type == RG_T_STRLIST || v.type == RG_T_NONE)
        return true;   /* what rg_values_add leaves out */
    slot_value sv = {.slot = o->use->slot, .type = (uint8_t)v.type, .known = v.known};
    if (v.known && v.type == RG_T_STRING)
        sv.str_len = v.u.str.len > UINT16_MAX ? UINT16_MAX : (uint16_t)v.u.str.len;
    else if (v.known && v.type == RG_T_NUMBER)
        sv.u.d = v.u.d;
    else if (v.known && v.type == RG_T_BOOL)
        sv.u.b = v.u.b;
    else if (v.known)
        sv.u.i = v.u.i;
    if (!*room && !rg_strbuf_reserve(out, sizeof sv))
        return false;
    memcpy(out->data + out->len, &sv, sizeof sv);
    out->len += sizeof sv;
    out->data[out->len] = '\0';
    if (sv.str_len) {
        static const char pad[8];
        rg_strbuf_append(out, v.u.str.s, sv.str_len);
        rg_strbuf_append(out, pad, (8 - sv.str_len % 8) % 8);
        *room = false;
    }
    (*count)++;
    return true;
}

/* By slot: the fixed heads written in place (room reserved once per
 * event); only a STRING's bytes go through rg_strbuf_append. The uses of
 * each family asked, family by family (by_family: a keyed task asks for
 * one family per call). n_out <= UINT16_MAX (rg_engine_ship_init), so the
 * count cannot wrap. */
static void ship_by_slot(const rg_engine_ship *s, rg_eval_ctx *ctx, uint32_t families, rg_strbuf *out)
{
    size_t at = out->len;
    if (!rg_strbuf_reserve(out, 2 + s->n_out * sizeof(slot_value)))
        return;
    out->len += 2;
    uint16_t count = 0;
    bool room = true;
    for (uint32_t left = families; left; left &= left - 1) {
        unsigned f = (unsigned)__builtin_ctz(left);
        for (size_t k = s->family_at[f]; k < s->family_at[f + 1]; k++)
            if (!put_by_slot(&s->out[s->by_family[k]], ctx, out, &room, &count))
                return;
    }
    if (!rg_strbuf_ok(out))
        return;
    out->data[at] = (char)(count & 0xff);
    out->data[at + 1] = (char)(count >> 8);
}

void rg_engine_ship_values(const rg_engine_ship *s, rg_eval_ctx *ctx, uint32_t families, bool by_slot,
                           rg_strbuf *out)
{
    if (by_slot) {
        ship_by_slot(s, ctx, families, out);
        return;
    }
    size_t at = out->len;
    uint16_t count = 0;
    rg_values_begin(out);
    for (size_t k = 0; k < s->n_out && count < UINT16_MAX; k++) {
        const rg_engine_ship_out *o = &s->out[k];
        if (!(families & o->family_bit))
            continue;
        rg_value v = rg_eval_use(ctx, o->use);
        rg_values_add(out, o->key, o->key_len, &v);
        count++;
    }
    rg_values_end(out, at, count);
}

static bool take_keyed(void *arg, const char *key, size_t key_len, const rg_value *v)
{
    const rg_engine_ship *s = ((void **)arg)[0];
    rg_eval_ctx *ctx = ((void **)arg)[1];
    const rg_name_use **u = rg_strmap_get(s->in_by_key, key, key_len);
    if (u && (*u)->spec->type == v->type)
        rg_eval_preset(ctx, *u, *v);
    return true;
}

void rg_engine_take_values(const rg_engine_ship *s, rg_eval_ctx *ctx, bool by_slot, const void *in, size_t len)
{
    if (!s->in_by_key)
        return;
    if (!by_slot) {
        /* A malformed list seeds what came before the fault; the rest is
         * unknown. */
        void *arg[2] = {(void *)s, ctx};
        (void)rg_values_each(in, len, take_keyed, arg);
        return;
    }
    /* Written by this process's rg_engine_ship_values on the same rule
     * set, but read as carefully: every length is checked. */
    const unsigned char *p = in, *end = p + len;
    if (len < 2)
        return;
    uint32_t count = p[0] | (uint32_t)p[1] << 8;
    p += 2;
    for (uint32_t i = 0; i < count && (size_t)(end - p) >= sizeof(slot_value); i++) {
        slot_value sv;
        memcpy(&sv, p, sizeof sv);
        p += sizeof sv;
        rg_value v = {.type = (rg_type)sv.type, .known = sv.known != 0};
        if (v.known && v.type == RG_T_STRING) {
            size_t padded = (size_t)sv.str_len + (8 - sv.str_len % 8) % 8;
            if ((size_t)(end - p) < padded)
                return;
            v.u.str.s = (const char *)p;
            v.u.str.len = sv.str_len;
            p += padded;
        } else if (v.known && v.type == RG_T_NUMBER) {
            v.u.d = sv.u.d;
        } else if (v.known && v.type == RG_T_BOOL) {
            v.u.b = sv.u.b != 0;
        } else if (v.known) {
            v.u.i = sv.u.i;
        }
        const rg_name_use *u = sv.slot < s->n_slots ? s->in_by_slot[sv.slot] : NULL;
        if (u && u->spec->type == v.type)
            rg_eval_preset(ctx, u, v);
    }
}
