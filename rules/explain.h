/*
 * explain — why a rule did or did not fire on one event (`riskgate
 * explain`, cli.md "Added in the second round").
 *
 * For every enabled rule whose `on` lists the event's type: the condition
 * as written, each name it uses with its value (the values its evidence
 * would carry), every sub-expression with its three-valued result (or
 * its value, for arithmetic), and the rule's result; then the rules not
 * evaluated and why (disabled, or `on` does not list the type).
 *
 * Owner: rules. Each sub-expression is evaluated on its own with
 * rg_eval_expr_value, so `and`/`or` short-circuiting hides nothing, and
 * through the context's memo, so every value is the one the rules saw.
 * Call with the context on the event: from the engine's inspector
 * (decisions/engine.h rg_engine_set_inspector), i.e. after the detectors
 * observed it and before they fold it in. Same thread as the context.
 */
#ifndef RG_EXPLAIN_H
#define RG_EXPLAIN_H

#include "../common/strbuf.h"
#include "../ingest/event.h"
#include "eval.h"

/* Human-readable, one block per rule. */
void rg_explain_text(rg_eval_ctx *ctx, const rg_event *ev, rg_strbuf *out);

/* The same as two members of a JSON object the caller writes:
 * `"rules":[{"id","file","line","when","result","names":{KEY: value},
 * "values":[{"name","key","value","text"[,"signal"]}],"steps":[{"expr","depth",
 * "result"} or {"expr","depth","value","text"}]}...],
 * "not_evaluated":[{"id","why"}...]`. "names" holds exactly what the
 * rule's evidence would (rules.md "Evidence"). */
void rg_explain_json_members(rg_eval_ctx *ctx, const rg_event *ev, rg_strbuf *out);

#endif
