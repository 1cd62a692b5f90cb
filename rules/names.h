/*
 * names — every name a condition may use, as one list: the event's
 * fields, client signals, detector names (detectors/registry.c) and
 * built-in functions (rules/functions.h), with type, meaning, family and
 * the state each costs. `riskgate names` prints it and `check-rules
 * --json` quotes it, from the very tables the loader resolves names
 * with, so the list cannot drift from the code.
 *
 * Owner: rules. Constant tables only: any thread may call these.
 */
#ifndef RG_NAMES_H
#define RG_NAMES_H

#include <stdbool.h>

#include "../common/strbuf.h"
#include "../detectors/detector.h"

/* How long the state behind a built-in name is kept: its entry in the
 * family's name_states, else the family's `kept`. */
rg_name_kept rg_name_kept_of(const rg_name_spec *spec, const rg_detector *d);
/* What it costs, one line: the name's own, else its family's. */
const char *rg_name_state_of(const rg_name_spec *spec, const rg_detector *d);
/* "none", "window", "account" (kept for good), "history_horizon"; NULL
 * for RG_KEPT_UNSET. */
const char *rg_name_kept_word(rg_name_kept k);

/* How a name is written in a condition: "amount", "count(W, FILTER)". */
void rg_name_usage(const rg_name_spec *spec, rg_strbuf *out);

/* One JSON object describing a built-in name (keys: name, usage, kind,
 * type, family, filterable, meaning, kept, state, evidence_key). */
void rg_name_write_json(const rg_name_spec *spec, const rg_detector *d, rg_strbuf *out);

/* `riskgate names`: every name and function, as text (grouped by family)
 * or as one JSON object {"names": [...]} (every name, then every
 * function, in registry order). */
void rg_names_write_text(rg_strbuf *out);
void rg_names_write_json(rg_strbuf *out);

#endif
