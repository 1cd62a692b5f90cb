/*
 * workers — `replay --workers N` and `backtest --workers N`: the keyed
 * stages of docs/scale-out.md as threads over in-memory queues, with the
 * decisions of --workers 1 (replay.h's one-thread path), byte for byte
 * and in the same order, on any capture.
 *
 * The capture is cut into batches of lines, read by one worker at a
 * time, in order. Each batch then goes through five steps, each a job a
 * worker thread runs (keyed tasks always on the same worker):
 *
 *   parse      the lines (in parallel with other batches' parses): the
 *              event contract, rejects, and for each event its keys'
 *              partitions (keyed as `riskgate run` routes: c:ACCOUNT,
 *              p:PACKET, t:TRANSFER, the acting account; by the table
 *              hash, not Kafka's murmur2: workers_parse.c key_task);
 *   order      in capture order, one batch after the other: dedupe and
 *              the watermark (an engine with the dedupe role), exactly as
 *              the single engine sees them, since they depend on every
 *              event before; the events each keyed task gets, in order;
 *   entity     one job per partition: the counterparty, packets and
 *              complaints families for the keys of that partition
 *              (c:ACCOUNT, p:PACKET, t:TRANSFER), the values of the names
 *              the rules need from them (the ENTITY/STORE records of the
 *              topology, without their bytes: the parsed event is shared,
 *              and the values travel by use slot, not by key:
 *              rg_engine_role.ship_by_slot);
 *   decide     one job per partition of acting accounts: every other
 *              family (count() windows, login facts, stateless names),
 *              the rules, decisions and cooldowns, with the entity values
 *              seeded (rg_engine_process_stage);
 *   output     in capture order: rejects, then each event's decisions,
 *              taken from the decide partitions' queues by line number
 *              (a k-way merge: each queue is in capture order).
 *
 * A task of a later step for batch b runs once its inputs for b are done
 * and the same task has done b - 1, so every keyed task sees its events in
 * capture order: each entity's history, and each account's, is replay's.
 * Dedupe and the watermark are computed once in capture order and handed
 * to the keyed tasks (their engines take the watermark from outside:
 * rg_engine_advance_watermark), so state expiry, too_late counts and
 * cooldown expiry follow replay's watermark.
 *
 * Late events (past max_lateness) too: every family judges an event by
 * the engine's watermark before it (rg_eval_ctx.watermark_ms, which the
 * order step computes and hands to each keyed task), and counts nothing
 * that a trim or sweep at that watermark could have removed, removed yet
 * or not; so the single engine and the keyed tasks, which trim at
 * different moments, answer alike (docs/state.md, "Late events";
 * tests/cli/workers_equivalence.sh, the "late" capture).
 *
 * Cooldowns on a subject other than the acting account (a transfer's
 * counterparty, a complaint's ref_counterparty): such a (rule, subject)
 * pair is reached from many accounts' decide partitions, so the decide
 * tasks leave those rules' cooldowns (rg_rule_cross_cooldown) to the
 * output step, which sees every decision in capture order and applies
 * them there, judged by the watermark before the event as the one engine
 * judges them (rg_engine_role.defer_cross_cooldowns; docs/scale-out.md
 * keeps them at the subject's own task instead). Every rule set runs on
 * the workers.
 *
 * Memory: at most 4 x workers + 2 batches of 1,024 lines are in flight
 * (none is read until the output step frees one), plus each task's
 * engine state.
 */
#ifndef RG_REPLAY_WORKERS_H
#define RG_REPLAY_WORKERS_H

#include <stdbool.h>
#include <stddef.h>

#include "../rules/ruleset.h"
#include "replay.h"

/* The most worker threads (and partitions). */
#define RG_WORKERS_MAX 64

/* rg_replay_run with o->workers threads (>= 2); the lanes' engines give
 * the rule sets (they are not used themselves: each task makes its own).
 * Not with o->pipeline. */
int rg_workers_run(const rg_replay_opts *o, rg_replay_result *res, char *errstr, size_t errstr_size);

#endif
