/*
 * fuzz_expr — the condition language's parser and type checker on
 * arbitrary text (rules layer), without YAML around it.
 *
 * The environment knows every built-in name (the real registry), one list
 * `tools`, and one signal `sig` (an integer). Every error must have a
 * position inside the text and a message; a compiled tree must be typed,
 * equal to itself, and evaluate (as a condition or a value) on an event
 * with every name unknown, without crashing; then, with names given
 * values chosen by the input (rg_eval_preset, some of another runtime type
 * than their static one), its specialised nodes (rg_expr.tri) must answer
 * what the generic walk answers, and rg_eval_fires (the engine's "is it
 * TRUE?") must say TRUE exactly when the walk does, on an event whose
 * parts (detector.h RG_PART_*, a name unknown without its part) the input
 * picks too. The input is copied
 * to an exact-size buffer so ASan sees any read past `len`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/eval.h"
#include "rules/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

#define MAX_USES 4096

typedef struct fuzz_env {
    rg_arena arena;
    size_t len;
    size_t errors;
    rg_name_use *uses[MAX_USES];
    size_t n_uses;
    rg_name_spec sig_spec;
    rg_name_use *sig_use;
    rg_strset tools;
} fuzz_env;

static void on_error(void *opaque, unsigned pos, const char *msg)
{
    fuzz_env *f = opaque;
    CHECK(pos <= f->len);
    CHECK(msg && *msg);
    f->errors++;
}

static rg_name_use *new_use(fuzz_env *f)
{
    if (f->n_uses == MAX_USES)
        return NULL;
    rg_name_use *u = rg_arena_alloc(&f->arena, sizeof *u);
    if (u) {
        u->slot = (unsigned)f->n_uses;
        u->evidence_key = "k";
        f->uses[f->n_uses++] = u;
    }
    return u;
}

static const rg_name_use *on_signal(void *opaque, const char *name, size_t len, unsigned pos)
{
    fuzz_env *f = opaque;
    (void)pos;
    if (len != 3 || memcmp(name, "sig", 3) != 0)
        return NULL;
    if (!f->sig_use) {
        f->sig_use = new_use(f);
        if (!f->sig_use)
            return NULL;
        f->sig_spec = (rg_name_spec){.name = "sig", .type = RG_T_INT, .filterable = true};
        f->sig_use->spec = &f->sig_spec;
    }
    return f->sig_use;
}

static const rg_strset *on_list(void *opaque, const char *name, size_t len)
{
    fuzz_env *f = opaque;
    return len == 5 && memcmp(name, "tools", 5) == 0 ? &f->tools : NULL;
}

static const rg_name_use *on_builtin(void *opaque, const rg_name_spec *spec, const rg_detector *d, int64_t window_ms,
                                     const char *window_text, const rg_expr *filter, const char *call_text)
{
    fuzz_env *f = opaque;
    CHECK(spec && d);
    CHECK(spec->args[0] == RG_ARG_NONE ? window_ms == 0 && !filter : window_ms > 0 && window_text && call_text);
    rg_name_use *u = new_use(f);
    if (!u)
        return NULL;
    u->spec = spec;
    u->detector = d;
    u->window_ms = window_ms;
    u->filter = filter;
    return u;
}

/* A value for use i picked by the input: unknown, of the use's type, or
 * (rarely) of another type. */
static rg_value value_for(const rg_name_use *u, const uint8_t *data, size_t size, size_t i)
{
    static const char *const strings[] = {"com.a", "transfer", "fraud", "CN", ""};
    static const char *const list[] = {"com.b", "com.a"};
    uint8_t b = size ? data[(i * 7 + 1) % size] : 0;
    rg_type t = (b & 0x30) == 0x30 ? (rg_type)(1 + b % 7) : u->spec->type;
    if ((b & 7) == 0)
        return rg_unknown(t);
    int64_t small = (int64_t)(b >> 3) - 8;
    switch (t) {
    case RG_T_BOOL: return rg_bool(b & 8);
    case RG_T_NUMBER: return rg_number((double)small / 2);
    case RG_T_STRING: return rg_string(strings[b % 5], strlen(strings[b % 5]));
    case RG_T_STRLIST: {
        rg_value v = {.type = RG_T_STRLIST, .known = true};
        v.u.list.items = list;
        v.u.list.n = b % 3;
        return v;
    }
    default: return rg_int_typed(t, small * (b & 8 ? 1000 : 1));
    }
}

/* The event parts (detector.h) the input picks for the preset rounds. */
static uint32_t parts_for(const uint8_t *data, size_t size) { return size > 2 ? data[2] : UINT32_MAX; }

/* A use's value as the event's parts allow it: unknown when its family
 * says it needs a part the event lacks (rg_detector.name_needs), as the
 * family would answer. */
static rg_value value_with_parts(const rg_name_use *u, uint32_t parts, const uint8_t *data, size_t size, size_t i)
{
    const rg_detector *d = u->detector;
    if (d && d->name_needs && !u->signal && u->spec >= d->names && u->spec < d->names + d->n_names &&
        (d->name_needs[u->spec - d->names] & ~parts))
        return rg_unknown(u->spec->type);
    return value_for(u, data, size, i);
}

/* Every use given an input-chosen value but `type`, which gets the
 * event's type name, as the fields family answers it; that family's state
 * marked present in states (no use is computed: all are preset). */
static void preset_as_event(fuzz_env *f, rg_eval_ctx *ctx, void **states, void *fields_state, const rg_event *ev,
                            const uint8_t *data, size_t size)
{
    static const char *const names[] = {"account_open",     "login",          "transfer", "red_packet_send",
                                        "red_packet_claim", "recall_request", "complaint"};
    for (size_t i = 0; i < f->n_uses; i++) {
        const rg_name_use *u = f->uses[i];
        bool is_type = u->detector && !u->signal && strcmp(u->spec->name, "type") == 0;
        if (is_type && u->detector_index < 64 && (unsigned)ev->type < sizeof names / sizeof names[0]) {
            states[u->detector_index] = fields_state;
            rg_eval_preset(ctx, u, rg_string(names[ev->type], strlen(names[ev->type])));
        } else {
            rg_eval_preset(ctx, u, value_with_parts(u, ctx->parts, data, size, i));
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const items[] = {"com.a", "com.b"};
    static const size_t lens[] = {5, 5};
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    fuzz_env *f = calloc(1, sizeof *f);
    if (!f) {
        free(copy);
        return 0;
    }
    f->len = size;
    f->tools = (rg_strset){.name = "tools", .names = items, .sorted = items, .sorted_lens = lens, .n = 2};
    rg_expr_env env = {.arena = &f->arena, .opaque = f, .error = on_error, .signal = on_signal,
                       .list = on_list, .builtin_use = on_builtin};
    bool filterable = false;
    rg_expr_want want = size && (data[0] & 1) ? RG_EXPR_ANY : RG_EXPR_CONDITION;
    rg_expr *e = rg_expr_compile(copy, size, &env, want, &filterable);
    if (e) {
        CHECK(f->errors == 0);
        CHECK(e->type != RG_T_NONE);
        CHECK(want == RG_EXPR_ANY || e->type == RG_T_BOOL);
        CHECK(rg_expr_equal(e, e));
        /* Evaluate with no detector state: every built-in name unknown. */
        rg_eval_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.memo_gen = calloc(f->n_uses + 1, sizeof *ctx.memo_gen);
        ctx.memo = calloc(f->n_uses + 1, sizeof *ctx.memo);
        if (ctx.memo_gen && ctx.memo) {
            rg_event ev;
            memset(&ev, 0, sizeof ev);
            ctx.ev = &ev;
            ctx.gen = 1;
            if (e->type == RG_T_BOOL) {
                rg_tri t = rg_eval_condition(&ctx, e);
                CHECK(t == RG_TRUE || t == RG_FALSE || t == RG_UNKNOWN);
            }
            rg_value v = rg_eval_expr_value(&ctx, e);
            CHECK(v.type == e->type || !v.known);
            if (e->type == RG_T_BOOL) {
                ctx.gen = 2;
                ctx.parts = parts_for(data, size);
                for (size_t i = 0; i < f->n_uses; i++)
                    rg_eval_preset(&ctx, f->uses[i], value_with_parts(f->uses[i], ctx.parts, data, size, i));
                rg_tri fast = rg_eval_condition(&ctx, e);
                /* "Does it fire" (rg_eval_fires, the engine's question),
                 * from a fresh memo: TRUE exactly when the walk's is. */
                ctx.gen = 10;
                for (size_t i = 0; i < f->n_uses; i++)
                    rg_eval_preset(&ctx, f->uses[i], value_with_parts(f->uses[i], ctx.parts, data, size, i));
                CHECK(rg_eval_fires(&ctx, e) == (fast == RG_TRUE));
                /* With the fields family's state present, `type` is the
                 * event type's name and a root the type folds
                 * (rg_expr_fold_types) answers from its residue. */
                ev.type = (rg_event_type)(size > 1 ? data[1] % RG_EV_TYPE_COUNT : 0);
                void *states[64] = {0};
                static char fields_state;
                ctx.gen = 3;
                preset_as_event(f, &ctx, states, &fields_state, &ev, data, size);
                ctx.detector_state = states;
                ctx.type_slot = (unsigned)ev.type + 1;   /* what rg_eval_begin derives from the fields state */
                rg_tri folded = rg_eval_condition(&ctx, e);
                ctx.gen = 11;
                preset_as_event(f, &ctx, states, &fields_state, &ev, data, size);
                CHECK(rg_eval_fires(&ctx, e) == (folded == RG_TRUE));
                ctx.detector_state = NULL;
                ctx.type_slot = 0;
                rg_expr_despecialise(e);
                CHECK(rg_eval_condition(&ctx, e) == folded);
                ctx.gen = 4;
                for (size_t i = 0; i < f->n_uses; i++)
                    rg_eval_preset(&ctx, f->uses[i], value_with_parts(f->uses[i], ctx.parts, data, size, i));
                CHECK(rg_eval_condition(&ctx, e) == fast);
            }
        }
        free(ctx.memo_gen);
        free(ctx.memo);
    } else {
        CHECK(f->errors > 0 || f->arena.oom);
    }
    rg_arena_free(&f->arena);
    free(f);
    free(copy);
    return 0;
}
