/*
 * cooldown — per (rule, subject) memory of the last emitted hit, so a rule
 * with `cooldown: D` emits its actions on a subject at most once per D of
 * event time (detection.md). A suppressed hit is still counted and stored
 * by the engine; it only carries no action.
 *
 * Keyed by rule id (not rule index) so a reloaded rule file that keeps a
 * rule keeps its cooldowns. Owned by the engine; one thread.
 */
#ifndef RG_COOLDOWN_H
#define RG_COOLDOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_cooldowns rg_cooldowns;

rg_cooldowns *rg_cooldowns_new(void);          /* NULL on OOM */
void rg_cooldowns_free(rg_cooldowns *c);       /* NULL-safe */

/*
 * A hit of rule_id on subject at ts_ms, for a rule with cooldown_ms > 0.
 * Returns true when it falls within cooldown_ms (either side, so a late
 * event cannot re-trigger) of the last emitted hit: suppress it. Otherwise
 * records ts_ms as the last emitted hit and returns false. On allocation
 * failure nothing is recorded and false is returned: better an extra
 * action than a missing one. watermark_ms: the watermark the hit is judged
 * by; an entry rg_cooldowns_expire(watermark_ms) would drop counts as gone
 * whether or not a sweep ran (INT64_MIN: none does).
 */
bool rg_cooldowns_suppress(rg_cooldowns *c, const char *rule_id, const char *subject, size_t subject_len,
                           int64_t ts_ms, int64_t cooldown_ms, int64_t watermark_ms);

/* Forget entries whose cooldown ended before the watermark. */
void rg_cooldowns_expire(rg_cooldowns *c, int64_t watermark_ms);

size_t rg_cooldowns_bytes(const rg_cooldowns *c);

/* Checkpoint (rg_engine_save/load): append every entry, in key order;
 * 0, or -1 when out of memory. Load into a new, empty set from untrusted
 * bytes: -1 with the reason in in->error (the caller frees the set). */
struct rg_strbuf;
struct rg_reader;
int rg_cooldowns_save(const rg_cooldowns *c, struct rg_strbuf *out);
int rg_cooldowns_load(rg_cooldowns *c, struct rg_reader *in);

#endif
