/*
 * replay — one pass over captured traffic through one or more engines.
 *
 * The capture is read once (ingest/capture.h); every accepted event goes
 * to each engine in turn (one engine for `replay`, two for `backtest`,
 * each with its own rule set, state and sink), every rejected line to the
 * rejects sink once. Nothing here decides anything: it is the offline door
 * of the design's "one engine, several doors".
 *
 * Ownership: the caller owns engines and sinks (sinks/sink.h); replay
 * only calls them (never flush or close). One thread, or with `workers` >
 * 1 that many more (workers.h): the sinks are then called from them, one
 * call at a time, in capture order.
 */
#ifndef RG_REPLAY_H
#define RG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../common/strbuf.h"
#include "../decisions/engine.h"
#include "../ingest/reject.h"

typedef struct rg_replay_lane {
    rg_engine *engine;
    const rg_sink *sink;         /* decisions; may be NULL */
} rg_replay_lane;

struct rg_pipeline;   /* stages/pipeline.h */

typedef struct rg_replay_opts {
    const char *const *captures; /* paths, "-" for stdin */
    size_t n_captures;
    rg_replay_lane *lanes;
    size_t n_lanes;
    /* Every rejected line goes to this sink's `reject` (no ticket); NULL
     * to only count them. One it declines (the rejects file past
     * --max-rejects: sinks/jsonl.h) is counted in rejects_not_written. */
    const rg_sink *rejects;
    bool progress;               /* draw a progress line on stderr */
    /* Instead of the lanes: every accepted event goes to this in-memory
     * staged topology (replay --stages, docs/scale-out.md), run to the end
     * after the last capture. Rejects are handled here as usual. */
    struct rg_pipeline *pipeline;
    /* Worker threads (workers.h); 0 or 1: this thread runs the lanes'
     * engines. With more, the engines only give their rule sets, and
     * geo is the handle the workers' engines use. */
    int workers;
    const rg_geo *geo;
    /* The process exits after the run (replay, backtest): the workers'
     * engines are left to the exit (rg_engine_leave_to_exit), not freed. */
    bool exit_after;
} rg_replay_opts;

#define RG_REPLAY_MAX_LANES 2

/* A lane's counters after the run: its engine's (one thread), or the sum
 * over the workers' engines (rule_hits then points into the result). */
typedef struct rg_replay_lane_result {
    const rg_ruleset *rs;
    rg_engine_stats stats;
} rg_replay_lane_result;

typedef struct rg_replay_result {
    uint64_t lines;              /* physical lines, blank included */
    uint64_t blank_lines;
    uint64_t events_read;        /* non-blank lines: accepted + rejected */
    uint64_t accepted;           /* passed the event contract (duplicates included) */
    uint64_t rejected;
    uint64_t rejected_by_kind[RG_REJ_KIND_COUNT];
    uint64_t envelopes;          /* lines that were kcat envelopes */
    uint64_t rejects_not_written;/* counted in `rejected`, declined by the rejects sink (past --max-rejects) */
    /* GeoIP lookups that failed on a database error (rg_geo_lookup_errors),
     * set by the caller, which owns the handle; printed by the summaries. */
    uint64_t geoip_lookup_errors;
    double seconds;
    rg_replay_lane_result lane[RG_REPLAY_MAX_LANES];
    uint64_t *hits_storage;      /* the workers' summed rule hits (freed by rg_replay_result_free) */
} rg_replay_result;

/* Run the replay. Returns 0 when every capture was read to the end; -1 on
 * an I/O error (errstr names the file), a sink failure or a failure of the
 * rejects sink ("writing rejects: " and errno's message). *res holds what was done either way (free it with
 * rg_replay_result_free; its lane stats borrow the lanes' engines). At
 * most RG_REPLAY_MAX_LANES lanes. */
int rg_replay_run(const rg_replay_opts *o, rg_replay_result *res, char *errstr, size_t errstr_size);
void rg_replay_result_free(rg_replay_result *res);

/* The --summary JSON object of cli.md for lane 0 (no newline). Counters
 * first in a fixed order, then "seconds" and "events_per_second" last, so
 * two runs differ only in those two keys. */
void rg_replay_summary_json(const rg_replay_result *res, rg_strbuf *out);

/* The short human summary (one or two lines, with newline). */
void rg_replay_summary_text(const rg_replay_result *res, rg_strbuf *out);

#endif
