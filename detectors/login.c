/* login — stub; being implemented (owner: detectors). */
#include <stdlib.h>

#include "detector.h"

static const rg_name_spec names[] = {
    {"new_device", RG_T_BOOL, {RG_ARG_NONE}, false,
     "device_id never seen on an earlier event of the account, and the account has earlier logins"},
    {"prev_login_country", RG_T_STRING, {RG_ARG_NONE}, false,
     "ip_country of the account's previous login placed by the database; unknown if none"},
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

const rg_detector rg_detector_login = {
    .family = "login",
    .names = names,
    .n_names = sizeof names / sizeof names[0],
    .create = create,
    .eval = eval,
    .destroy = destroy,
};
