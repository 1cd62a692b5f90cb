/*
 * sinks — the decision sinks the offline commands combine: a JSON Lines
 * file (decisions with emit set, one per line) and, optionally, the alert
 * store (every decision, suppressed ones too). One rg_sink fans out to
 * both.
 */
#ifndef RG_CLI_SINKS_H
#define RG_CLI_SINKS_H

#include <stddef.h>
#include <stdio.h>

#include "../common/strbuf.h"
#include "../decisions/engine.h"

typedef struct rg_decision_sinks {
    rg_sink sink;          /* give this to the engine */
    FILE *out;             /* decisions file, or NULL */
    void *alerts;          /* alert store, or NULL */
    rg_sink alerts_sink;
    rg_strbuf line;
} rg_decision_sinks;

/* out may be NULL (no file); alerts_db NULL means no alert store. */
int rg_decision_sinks_open(rg_decision_sinks *s, FILE *out, const char *alerts_db, char *errstr,
                           size_t errstr_size);
/* Flush and close the alert store (not `out`, which the caller owns). */
int rg_decision_sinks_close(rg_decision_sinks *s, char *errstr, size_t errstr_size);

#endif
