/*
 * jsonl — the offline commands' files as a sink (sinks/sink.h): decisions
 * as JSON Lines (`replay --out`: emitted decisions only, without
 * decided_at, one per line, byte for byte what the engine formatted) and
 * rejects as JSON Lines (`replay --rejects`: one dead-letter object per
 * line), at most max_rejects of them when a maximum is set (--max-rejects:
 * a corrupted input cannot fill a disk).
 *
 * Ops: decision (declines a decision under cooldown, or any without a
 * decisions file), reject (declines past the maximum, or without a rejects
 * file: the caller counts those as not written), flush (fflush of both),
 * close (frees the sink; the FILEs stay open). Acknowledgement: once
 * fwrite returned the whole line (stdio has it; the caller's fclose, which
 * reports its own errors, puts it on disk). A failed fwrite returns
 * RG_SINK_FAILED with errno as fwrite left it, nothing acknowledged.
 *
 * Ownership: the caller owns the FILEs and closes them after
 * rg_sink_close. Threading: one call at a time (replay's workers call
 * their sinks one at a time, in capture order).
 */
#ifndef RG_SINKS_JSONL_H
#define RG_SINKS_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sink.h"

typedef struct rg_jsonl_sink_conf {
    FILE *decisions;            /* may be NULL */
    FILE *rejects;              /* may be NULL */
    bool max_rejects_set;       /* --max-rejects given */
    uint64_t max_rejects;
    rg_sink_acked_fn acked;     /* may be NULL */
    void *ack_opaque;
} rg_jsonl_sink_conf;

/* Make the sink into *out. 0, or -1 (out of memory) with errstr. */
int rg_jsonl_sink_open(rg_sink *out, const rg_jsonl_sink_conf *conf, char *errstr, size_t errstr_size);

#endif
