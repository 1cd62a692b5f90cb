/* counterparty — stub; being implemented (owner: detectors). */
#include <stdlib.h>

#include "detector.h"

static const rg_name_spec names[] = {
    {"counterparty_age", RG_T_DURATION, {RG_ARG_NONE}, false,
     "E.ts - the counterparty's registration time (counterparty_created_at, else an earlier account_open); unknown when neither"},
    {"counterparty_senders", RG_T_INT, {RG_ARG_DURATION}, false,
     "distinct accounts that sent transfers to E's counterparty in (E.ts - W, E.ts], E included"},
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

const rg_detector rg_detector_counterparty = {
    .family = "counterparty",
    .names = names,
    .n_names = sizeof names / sizeof names[0],
    .create = create,
    .eval = eval,
    .destroy = destroy,
};
