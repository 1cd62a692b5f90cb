/*
 * value — what a name in the rule language evaluates to.
 *
 * Every value has a static type (known when the rule file loads) and may be
 * unknown at run time (absent field, unknown counterparty, IP without a
 * city). Unknown drives the three-valued logic of rules.md: a comparison
 * with an unknown operand is unknown, which never fires a rule.
 *
 * Types carry their unit so messages and evidence print them right:
 * MONEY is minor units (fen) and prints as "2500.00 CNY"; DURATION is
 * milliseconds and prints as "46h" (evidence: seconds, key NAME_s); NUMBER
 * is a double (kilometres for geo names).
 *
 * Ownership: string and list payloads are borrowed from the event or from
 * detector state and are valid only while the current event is being
 * evaluated (until the detectors' update step). Copy to keep.
 */
#ifndef RG_VALUE_H
#define RG_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rg_type {
    RG_T_NONE = 0,   /* not a value (internal) */
    RG_T_BOOL,
    RG_T_INT,        /* plain integer: counts, shares */
    RG_T_MONEY,      /* integer minor units */
    RG_T_DURATION,   /* integer milliseconds */
    RG_T_NUMBER,     /* double: distances in km, coordinates */
    RG_T_STRING,
    RG_T_STRLIST     /* client.packages */
} rg_type;

typedef struct rg_value {
    rg_type type;
    bool known;
    union {
        bool b;
        int64_t i;   /* INT, MONEY, DURATION */
        double d;    /* NUMBER */
        struct {
            const char *s;
            size_t len;
        } str;
        struct {
            const char *const *items;
            size_t n;
        } list;
    } u;
} rg_value;

static inline rg_value rg_unknown(rg_type t)
{
    rg_value v = {.type = t, .known = false};
    return v;
}
static inline rg_value rg_bool(bool b)
{
    rg_value v = {.type = RG_T_BOOL, .known = true, .u.b = b};
    return v;
}
static inline rg_value rg_int_typed(rg_type t, int64_t i)
{
    rg_value v = {.type = t, .known = true, .u.i = i};
    return v;
}
static inline rg_value rg_number(double d)
{
    rg_value v = {.type = RG_T_NUMBER, .known = true, .u.d = d};
    return v;
}
static inline rg_value rg_string(const char *s, size_t len)
{
    rg_value v = {.type = RG_T_STRING, .known = true};
    v.u.str.s = s;
    v.u.str.len = len;
    return v;
}

const char *rg_type_name(rg_type t);

#endif
