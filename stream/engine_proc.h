/*
 * engine_proc — the production rg_stream_processor: the event contract
 * (ingest/event_parse.h) and the same engine replay uses
 * (decisions/engine.h), so a topic and a capture holding the same events
 * in the same order give the same decisions.
 *
 * Per slot (held partition) it keeps one event parser, so the head event
 * the merge prepared stays valid while other partitions' heads are parsed.
 * Rejects become dead-letter records in the form of events.md with
 * source = "topic/partition/offset". SIGHUP reloads the rule file through
 * rg_engine_swap_rules: a refused file keeps the running one, and state
 * both files use is kept. Its checkpoint codec (rg_stream_processor.state)
 * is rg_engine_save / rg_engine_load.
 *
 * Ownership: takes over `rules` (freed by rg_engine_proc_free, or when a
 * reload replaces it); borrows `geo` and `rules_path` (must outlive it).
 * Engine thread only.
 */
#ifndef RG_STREAM_ENGINE_PROC_H
#define RG_STREAM_ENGINE_PROC_H

#include <stddef.h>

#include "../geo/geo.h"
#include "../rules/ruleset.h"
#include "processor.h"

typedef struct rg_engine_proc rg_engine_proc;

/* NULL with errstr when the engine refuses the rule set (then `rules` is
 * still the caller's). */
rg_engine_proc *rg_engine_proc_new(rg_ruleset *rules, const rg_geo *geo, const char *rules_path, char *errstr,
                                   size_t errstr_size);
void rg_engine_proc_free(rg_engine_proc *p);   /* NULL-safe */

/* Fill *out with this processor's functions (opaque = p). */
void rg_engine_proc_processor(rg_engine_proc *p, rg_stream_processor *out);

#endif
