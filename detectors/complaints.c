/* complaints — stub; being implemented (owner: detectors). */
#include <stdlib.h>

#include "detector.h"

static const rg_name_spec names[] = {
    {"ref_age", RG_T_DURATION, {RG_ARG_NONE}, false,
     "complaint ts - the referenced transfer's ts; unknown if it was not seen"},
    {"ref_counterparty", RG_T_STRING, {RG_ARG_NONE}, false,
     "counterparty of the transfer a complaint names; unknown if it was not seen"},
};

static void *create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    return calloc(1, 16);
}

static void destroy(void *state) { free(state); }

static rg_value eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    return rg_unknown(use->spec->type);
}

const rg_detector rg_detector_complaints = {
    .family = "complaints",
    .names = names,
    .n_names = sizeof names / sizeof names[0],
    .create = create,
    .eval = eval,
    .destroy = destroy,
};
