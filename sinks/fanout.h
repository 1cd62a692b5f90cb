/*
 * fanout — several sinks behind one handle (sinks/sink.h): `replay --out F
 * --alerts DB` writes each decision to the decisions file and the alert
 * store through one sink the engine holds.
 *
 * Every op goes to every child, in the order given, even after one failed
 * (each destination gets what it can take). Result: RG_SINK_FAILED when
 * any child failed (rg_fanout_sink_failed names the first), else TAKEN
 * when any took it, else DECLINED. The fan-out acknowledges nothing
 * itself: each child acknowledges what it took with its own callback
 * (so a ticket given to a fan-out of two sinks that both take it is
 * acknowledged twice; `riskgate run` gives each destination its own).
 * flush and close go to every child too and report the first error.
 *
 * Ownership: the fan-out owns its children from rg_fanout_sink_open on
 * (success or not): rg_sink_close closes them.
 */
#ifndef RG_SINKS_FANOUT_H
#define RG_SINKS_FANOUT_H

#include <stddef.h>

#include "sink.h"

/* The most children of one fan-out. */
#define RG_FANOUT_MAX 8

/* Make a fan-out of the n children (copied handles; no-sink handles are
 * skipped) into *out. 0, or -1 with errstr (out of memory, n too large;
 * the children are closed). */
int rg_fanout_sink_open(rg_sink *out, const rg_sink *children, size_t n, char *errstr, size_t errstr_size);

/* The name of the first child that failed an op (its ops' name), or NULL
 * when none has. */
const char *rg_fanout_sink_failed(const rg_sink *fanout);

#endif
