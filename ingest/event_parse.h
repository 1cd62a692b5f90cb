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

#include <stddef.h>

#include "event.h"
#include "reject.h"

#define RG_EVENT_MAX_DEPTH 32

typedef struct rg_event_parser rg_event_parser;

rg_event_parser *rg_event_parser_new(void);   /* NULL on OOM */
void rg_event_parser_free(rg_event_parser *p); /* NULL-safe */

/*
 * Parse one JSON text of `len` bytes (need not be NUL-terminated; leading
 * and trailing JSON whitespace allowed). Returns 0 with *ev filled, or -1
 * with *rej filled (kind, field, message) and *ev unspecified.
 */
int rg_event_parse(rg_event_parser *p, const char *json, size_t len, rg_event *ev, rg_reject *rej);

#endif
