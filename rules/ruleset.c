/*
 * ruleset — accessors of a loaded rule set and freeing (ruleset.h); its
 * description for `riskgate check-rules` is in describe.c.
 *
 * Owner: rules. A rule set is immutable after loading, so every accessor
 * is a plain read and may be called from any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "expr_internal.h"
#include "ruleset_internal.h"

const char *rg_action_name(rg_action a)
{
    static const char *const names[] = {"freeze", "face_verify", "review", "release"};
    return (unsigned)a < RG_ACT_COUNT ? names[a] : "unknown";
}

const char *rg_subject_name(rg_subject_kind s)
{
    static const char *const names[] = {"account", "counterparty", "ref_counterparty"};
    return (unsigned)s < RG_SUBJ_COUNT ? names[s] : "unknown";
}

void rg_ruleset_free(rg_ruleset *rs)
{
    if (!rs)
        return;
    rg_arena_free(&rs->arena);
    free(rs);
}

const char *rg_ruleset_id(const rg_ruleset *rs) { return rs->id; }
const char *rg_ruleset_path(const rg_ruleset *rs) { return rs->path; }
size_t rg_ruleset_file_count(const rg_ruleset *rs) { return rs->n_files; }
const char *rg_ruleset_file(const rg_ruleset *rs, size_t i) { return i < rs->n_files ? rs->files[i] : NULL; }
size_t rg_ruleset_rule_count(const rg_ruleset *rs) { return rs->n_rules; }

size_t rg_ruleset_use_count(const rg_ruleset *rs) { return rs->n_uses; }

const rg_name_use *rg_ruleset_use(const rg_ruleset *rs, size_t slot)
{
    return slot < rs->n_uses ? rs->uses[slot] : NULL;
}

const rg_name_use *const *rg_ruleset_detector_uses(const rg_ruleset *rs, const rg_detector *d, size_t *n)
{
    int idx = rg_registry_index(d);
    if (idx < 0 || (size_t)idx >= rs->n_detectors || !rs->det_n[idx]) {
        *n = 0;
        return NULL;
    }
    *n = rs->det_n[idx];
    return rs->det_uses[idx];
}

const rg_name_use *rg_ruleset_subject_use(const rg_ruleset *rs, rg_subject_kind s)
{
    return (unsigned)s < RG_SUBJ_COUNT ? rs->subject_use[s] : NULL;
}

int64_t rg_ruleset_dedupe_horizon_ms(const rg_ruleset *rs) { return rs->dedupe_horizon_ms; }
int64_t rg_ruleset_history_horizon_ms(const rg_ruleset *rs) { return rs->history_horizon_ms; }
int64_t rg_ruleset_max_lateness_ms(const rg_ruleset *rs) { return rs->max_lateness_ms; }

const char *const *rg_ruleset_list(const rg_ruleset *rs, const char *name, size_t *n)
{
    for (size_t i = 0; i < rs->n_lists; i++)
        if (strcmp(rs->lists[i].name, name) == 0) {
            *n = rs->lists[i].n;
            return rs->lists[i].names;
        }
    *n = 0;
    return NULL;
}
