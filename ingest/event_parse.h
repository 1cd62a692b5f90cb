/*
 * event_parse — the event contract: one JSON text in, one validated
 * rg_event or one rg_reject out (events.md).
 *
 * A strict, allocation-light JSON reader specialised for events: RFC 8259
 * syntax, UTF-8 validated (escapes too: lone surrogates are invalid),
 * duplicate keys rejected at every level, nesting bounded
 * (RG_EVENT_MAX_DEPTH), unknown fields skipped after full validation.
 * Then every rule of events.md is checked, naming the field.
 *
 * Ownership: the parser owns the arena that the event's strings point
 * into; the event is valid until the next call on the same parser.
 * One parser per thread. Never allocates per field: the arena grows to the
 * largest line seen and is reused.
 */
#ifndef RG_EVENT_PARSE_H
#define RG_EVENT_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "reject.h"

#define RG_EVENT_MAX_DEPTH 32

typedef struct rg_event_parser rg_event_parser;

rg_event_parser *rg_event_parser_new(void);   /* NULL on OOM */
void rg_event_parser_free(rg_event_parser *p); /* NULL-safe */

/* Where the parser's copy of the last text of `len` bytes it read lies,
 * as an rg_event_copy_in block: len bytes and the NUL after them. The
 * line pass copies the text there and leaves its event's strings in it,
 * NUL-terminated; any other reading leaves them elsewhere (and a copy
 * finds them outside the block). */
rg_event_block rg_event_parser_text(const rg_event_parser *p, size_t len);

/*
 * Parse one JSON text of `len` bytes (need not be NUL-terminated; leading
 * and trailing JSON whitespace allowed). Returns 0 with *ev filled, or -1
 * with *rej filled (kind, field, message) and *ev unspecified.
 *
 * Precedence: the whole text is read first, so a syntax-level reject
 * (invalid_json, invalid_utf8, too_deep, duplicate_key) wins over
 * not_object, which wins over contract rejects; those are checked in a
 * fixed field order (event_id, type, ts, account, the optional common
 * fields, then the type's own), whatever the key order of the line.
 * rej->field is a static string or, for names built from the input
 * ("client.packages[2]", an unknown key), parser-owned storage valid until
 * the next call on this parser.
 */
int rg_event_parse(rg_event_parser *p, const char *json, size_t len, rg_event *ev, rg_reject *rej);

/* What rg_event_parse_line found the event bytes to be. */
typedef struct rg_event_line {
    bool is_envelope;          /* the line was a kcat -C -J envelope */
    const char *event_raw;     /* the event's bytes: the line, or the decoded payload */
    size_t event_raw_len;      /* (parser-owned, valid until the next call) */
} rg_event_line;

/*
 * One capture line: an event, or a kcat -C -J envelope whose "payload"
 * string is the event. A line is an envelope when its top-level object has
 * the keys "topic", "partition" and "offset" and neither "event_id" nor
 * "type" (so an event carrying extra fields of those names stays an event).
 * An envelope whose payload is absent, null or not a string is rejected as
 * bad_envelope (field "payload"); otherwise the payload is parsed with
 * rg_event_parse and its result returned. `info` is always filled; a reject
 * of the payload is about info->event_raw, not the whole line.
 */
int rg_event_parse_line(rg_event_parser *p, const char *line, size_t len, rg_event *ev,
                        rg_reject *rej, rg_event_line *info);

#endif
