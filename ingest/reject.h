/*
 * reject — why an input line broke the event contract, and its
 * dead-letter / rejects-file record (events.md, "Bad input").
 *
 * The kinds are a closed list: every reject has exactly one, metrics and
 * the replay summary count per kind, and docs/events.md documents each.
 * Adding a kind is a contract change: append it, never renumber.
 */
#ifndef RG_REJECT_H
#define RG_REJECT_H

#include <stddef.h>

#include "../common/strbuf.h"

typedef enum rg_reject_kind {
    RG_REJ_LINE_TOO_LONG = 0, /* line longer than the limit (1 MiB) */
    RG_REJ_INVALID_UTF8,      /* bytes that are not UTF-8, or a lone surrogate \u escape */
    RG_REJ_INVALID_JSON,      /* not JSON (syntax), incl. trailing garbage */
    RG_REJ_TOO_DEEP,          /* nesting deeper than the limit */
    RG_REJ_DUPLICATE_KEY,     /* the same key twice in one object */
    RG_REJ_NOT_OBJECT,        /* valid JSON but not an object */
    RG_REJ_MISSING_FIELD,     /* a required field is absent */
    RG_REJ_WRONG_TYPE,        /* a field has the wrong JSON type (incl. "100" for amount, 1e3, null) */
    RG_REJ_UNKNOWN_TYPE,      /* `type` is not one of events.md's */
    RG_REJ_OUT_OF_RANGE,      /* amount, shares, lat/lon, epoch ms out of range */
    RG_REJ_EMPTY_STRING,      /* a string field that must have 1+ bytes is "" */
    RG_REJ_STRING_TOO_LONG,   /* over the field's byte limit */
    RG_REJ_BAD_STRING,        /* a string holding U+0000 */
    RG_REJ_BAD_IP,            /* `ip` is no IPv4/IPv6 literal */
    RG_REJ_BAD_TIME,          /* unparsable or impossible time */
    RG_REJ_BAD_VALUE,         /* not one of a field's allowed values (kind, mode, reason, region, currency) */
    RG_REJ_BAD_ENVELOPE,      /* a kcat -J envelope whose payload is missing or not a string */
    RG_REJ_KIND_COUNT
} rg_reject_kind;

/* "line_too_long", "invalid_utf8", ... (snake_case, stable: used as
 * metric labels and summary keys). */
const char *rg_reject_kind_name(rg_reject_kind k);

typedef struct rg_reject {
    rg_reject_kind kind;
    const char *field;   /* field name ("amount", "location.lat", "client.packages[2]"), or NULL:
                          * static, or owned by the parser/reader that filled the reject and
                          * valid until its next call */
    char error[256];     /* "amount: must be an integer 1..10^12" */
} rg_reject;

/* Raw bytes kept in a reject record. */
#define RG_REJECT_RAW_MAX (64 * 1024)

/*
 * Append one rejects-file / dead-letter record (no newline):
 * {"error":..,"kind":..,"field":..|null,"source":..,"raw":..} where raw is
 * the first RG_REJECT_RAW_MAX bytes of the input; when those bytes are not
 * valid UTF-8, "raw_base64" replaces "raw". A cut that would split a UTF-8
 * sequence backs up to the sequence start, so valid input stays "raw".
 */
void rg_reject_write_json(const rg_reject *rej, const char *source, const void *raw, size_t raw_len,
                          rg_strbuf *out);

#endif
