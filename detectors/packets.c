/* packets — stub; being implemented (owner: detectors). */
#include <stdlib.h>

#include "detector.h"

static const rg_name_spec names[] = {
    {"claim_delay", RG_T_DURATION, {RG_ARG_NONE}, true,
     "claim ts - the packet's send ts; unknown if the send was not seen"},
    {"packet_expired", RG_T_BOOL, {RG_ARG_NONE}, false,
     "the claim is after the packet's lifetime (normal/lucky 24h, group 72h, timed 60s); unknown if the send was not seen"},
    {"packet_overclaimed", RG_T_BOOL, {RG_ARG_NONE}, false,
     "the claims on the packet, this one included, add up to more than its amount; unknown if the send was not seen"},
    {"packet_reclaimed", RG_T_BOOL, {RG_ARG_NONE}, false,
     "this account already claimed this packet; unknown if the send was not seen"},
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

const rg_detector rg_detector_packets = {
    .family = "packets",
    .names = names,
    .n_names = sizeof names / sizeof names[0],
    .create = create,
    .eval = eval,
    .destroy = destroy,
};
