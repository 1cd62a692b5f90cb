/*
 * json_scan — strict RFC 8259 scanning primitives for the event contract.
 *
 * Not a general JSON library: no tree is built. The event parser
 * (event_parse.c) drives the scan of the object it knows and calls these
 * primitives for each token; values it does not know are validated and
 * skipped with rg_json_value. Everything RFC 8259 forbids is refused:
 * trailing commas, leading zeros, NaN/Infinity, comments, single quotes,
 * raw control characters in strings, invalid UTF-8 (raw bytes and \u
 * escapes: a lone surrogate is invalid, a pair is decoded).
 *
 * Memory: decoded strings are written to one arena sized at rg_json_begin
 * from the text length. Decoding never grows a string (an escape is at
 * least as long as what it stands for, and the two quotes pay for the
 * NUL), so the arena never moves during a scan and pointers into it stay
 * valid until the next rg_json_begin. The duplicate-key set is a hash table
 * reused across scans (entries are stamped with a scan generation, so
 * nothing is cleared per line).
 *
 * Errors: a failing primitive returns -1 after rg_json_fail has set
 * err_kind (invalid_json, invalid_utf8, too_deep, duplicate_key, or
 * line_too_long for out of memory) and err_msg ("... at byte N").
 * Not thread-safe; one scanner per parser.
 */
#ifndef RG_JSON_SCAN_H
#define RG_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reject.h"

typedef enum rg_json_type {
    RG_JSON_NONE = 0, /* absent (never written by the scanner) */
    RG_JSON_NULL,
    RG_JSON_FALSE,
    RG_JSON_TRUE,
    RG_JSON_NUMBER,
    RG_JSON_STRING,
    RG_JSON_ARRAY,
    RG_JSON_OBJECT
} rg_json_type;

/* "a string", "null", "an array", ...: for "got X" in messages. */
const char *rg_json_type_desc(rg_json_type t);

typedef struct rg_json_num {
    const char *text;  /* the literal as written, in the input */
    size_t len;
    bool is_int;       /* no fraction and no exponent */
    bool neg;
    bool big;          /* integer magnitude did not fit (saturated) */
    uint64_t mag;      /* integer magnitude when is_int && !big */
} rg_json_num;

typedef struct rg_json_val {
    rg_json_type type;
    const char *str;   /* STRING: decoded, NUL-terminated, in the arena */
    size_t str_len;
    bool str_has_nul;  /* STRING: held U+0000 (\u0000) */
    rg_json_num num;   /* NUMBER */
} rg_json_val;

struct rg_json_keyslot;

typedef struct rg_json_scanner {
    const unsigned char *start, *p, *end; /* the text and the cursor */
    char *arena;
    size_t arena_used, arena_cap;
    struct rg_json_keyslot *keys; /* duplicate-key set, open addressing */
    size_t keys_cap, keys_count;
    uint32_t keys_gen;            /* scan generation stamping live slots */
    uint32_t next_object;         /* id of the next object opened */
    void *c_locale;               /* locale_t "C" for strtod_l, made on first use */
    rg_reject_kind err_kind;
    char err_msg[200];
} rg_json_scanner;

/* Start scanning text[0..len). Makes the arena large enough for every
 * string of this text. -1 (err_kind line_too_long, "out of memory") when
 * it cannot. */
int rg_json_begin(rg_json_scanner *s, const char *text, size_t len);
void rg_json_scanner_free(rg_json_scanner *s); /* releases buffers; reusable */

/* Skip JSON whitespace (space, tab, LF, CR only). */
static inline void rg_json_ws(rg_json_scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

/* Any value at the cursor. `depth` is the nesting level a container here
 * would have (a top-level value is at 1); deeper than RG_EVENT_MAX_DEPTH
 * fails as too_deep before anything is read inside it. Containers are
 * validated and skipped (out->type says which). */
int rg_json_value(rg_json_scanner *s, int depth, rg_json_val *out);

/* A string at the cursor (which must be at '"'), decoded into the arena. */
int rg_json_string(rg_json_scanner *s, rg_json_val *out);

/* An object member's name at the cursor (at '"'): as rg_json_string, but
 * a name of plain printable ASCII without escapes (every known key) is
 * not copied: out->str then points into the text, NOT NUL-terminated,
 * valid while the text is. Compare it by its length. */
int rg_json_key(rg_json_scanner *s, rg_json_val *out);

/* A new object's id for rg_json_key_add. */
static inline uint32_t rg_json_object(rg_json_scanner *s) { return ++s->next_object; }

/* Add key to object `obj`'s key set: 0 when new, -1 (duplicate_key, or
 * out of memory) when it was already there. The key bytes must stay put
 * until the next rg_json_begin (arena or input). */
int rg_json_key_add(rg_json_scanner *s, uint32_t obj, const char *key, size_t len);

/* Convert a NUMBER to a double (correctly rounded, locale-independent);
 * overflow gives +-HUGE_VAL. Uses the arena transiently. */
double rg_json_num_double(rg_json_scanner *s, const rg_json_num *n);

/* Record an error at the cursor and return -1. */
int rg_json_fail(rg_json_scanner *s, rg_reject_kind kind, const char *what);

#endif
