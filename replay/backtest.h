/*
 * backtest — compare what two rule files decide on the same traffic.
 *
 * The capture is read once (replay.h, two lanes); each rule file runs in
 * its own engine with its own state. A backtest collector is the sink of
 * both lanes: it remembers, per decision id, the actions and rules each
 * file produced, and per (rule, subject) which file hit it, so the report
 * can say which rules fire more or less, which customers would newly be
 * frozen or asked for face verification, and which decisions changed.
 *
 * Labels: with an alert store, each rule's hits are matched to analyst
 * labels by (event_id, subject) to give per-rule precision for both files,
 * and the fraud-labelled subjects the candidate would miss.
 *
 * Ownership: the collector copies what it keeps; one call at a time (the
 * replay calls its sinks in capture order, from whichever thread).
 */
#ifndef RG_BACKTEST_H
#define RG_BACKTEST_H

#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../decisions/engine.h"
#include "replay.h"

typedef struct rg_backtest rg_backtest;

/* A label an analyst gave an alert: what --labels contributes. */
typedef struct rg_backtest_label {
    const char *event_id;
    const char *subject;
    int fraud;          /* 1 fraud, 0 legit */
} rg_backtest_label;

rg_backtest *rg_backtest_new(void);        /* NULL on OOM */
void rg_backtest_free(rg_backtest *b);     /* NULL-safe */

/* Sinks for lane 0 (the current rule file) and lane 1 (the candidate). */
const rg_sink *rg_backtest_sink(rg_backtest *b, int lane);

/* Add one analyst label (copied). -1 on OOM. */
int rg_backtest_add_label(rg_backtest *b, const rg_backtest_label *label);

/* The JSON report of cli.md (no newline), from the replay's two lanes
 * (lane 0 the current file, lane 1 the candidate), plus sections riskgate
 * adds (subjects per action, labels). */
void rg_backtest_report_json(rg_backtest *b, const rg_replay_result *res, rg_strbuf *out);

/* The readable table for stdout. */
void rg_backtest_report_text(rg_backtest *b, const rg_replay_result *res, rg_strbuf *out);

#endif
