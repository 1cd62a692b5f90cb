/*
 * decision_id — the `decision_id` of detection.md ("Decisions"): the event
 * id and the subject joined by '/', each part escaped so that the id is
 * unique per (event, subject): '%' is written "%25" and '/' is written
 * "%2F"; nothing else changes, so an id whose parts hold neither character
 * reads as before ("e-3/u-1"). Without the escaping, event "x/y" on subject
 * "z" and event "x" on subject "y/z" would both be "x/y/z".
 *
 * Owner: decisions. The engine builds every decision's id here; the alert
 * store builds its release ids ("<decision_id>/release") and checks
 * imported ids with the same functions, and the CLI and the review API
 * explain a malformed id with rg_decision_id_parse. Pure functions, no
 * state, any thread. Appending to an rg_strbuf follows its out-of-memory
 * rule (the buffer's oom flag, checked by the caller).
 */
#ifndef RG_DECISION_ID_H
#define RG_DECISION_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "../common/strbuf.h"

/* Append one part (an event id or a subject) escaped. */
void rg_decision_id_put_part(rg_strbuf *out, const char *part, size_t len);

/* Append the whole id: escaped event_id, '/', escaped subject. */
void rg_decision_id_put(rg_strbuf *out, const char *event_id, size_t event_id_len,
                        const char *subject, size_t subject_len);

/*
 * Split an id into its two parts, unescaped, appended to event_id and
 * subject (either may be NULL when not wanted). Returns false (nothing
 * appended) when `id` is not a well-formed decision id: not exactly one
 * unescaped '/', an empty part, or a '%' not followed by "25" or "2F"
 * (either case). rg_decision_id_put of the parts gives back `id` when the
 * hex digits were upper case.
 */
bool rg_decision_id_parse(const char *id, size_t len, rg_strbuf *event_id, rg_strbuf *subject);

#endif
