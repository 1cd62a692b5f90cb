/*
 * client — client integrity signals reported by the app SDK, and the
 * client's clock against the server's (rules.md, Names).
 *
 * Owner: detectors. Stateless and filterable. `client.automation` and
 * `client.hooked` are unknown when the SDK did not report them (an old
 * client is not a clean client, but neither is it a hooked one: rules
 * decide with `or`); `client.packages` is unknown when the array is
 * absent and an empty list when it was sent empty. `clock_skew` is
 * |client_ts - ts| in ms, unknown without client_ts.
 */
#include "detector.h"

enum client_name { C_AUTOMATION, C_HOOKED, C_PACKAGES, C_CLOCK_SKEW, C_COUNT };

static const rg_name_spec client_names[C_COUNT] = {
    [C_AUTOMATION] = {"client.automation", RG_T_BOOL, {RG_ARG_NONE}, true,
                      "an accessibility-service automation is driving the app; unknown when not reported"},
    [C_HOOKED] = {"client.hooked", RG_T_BOOL, {RG_ARG_NONE}, true,
                  "a hooking framework is loaded in the app; unknown when not reported"},
    [C_PACKAGES] = {"client.packages", RG_T_STRLIST, {RG_ARG_NONE}, true,
                    "suspicious installed package names reported by the SDK; unknown when not reported"},
    [C_CLOCK_SKEW] = {"clock_skew", RG_T_DURATION, {RG_ARG_NONE}, true,
                      "|client_ts - ts| (ms); unknown without client_ts"},
};

/* Every name is unknown when the client did not report its part. */
static const uint32_t client_needs[C_COUNT] = {
    [C_AUTOMATION] = RG_PART_CLIENT_AUTOMATION,
    [C_HOOKED] = RG_PART_CLIENT_HOOKED,
    [C_PACKAGES] = RG_PART_CLIENT_PACKAGES,
    [C_CLOCK_SKEW] = RG_PART_CLIENT_TS,
};

static char client_token;

static void *client_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    return &client_token;
}

static void client_destroy(void *state) {}

static rg_value tristate(int8_t flag)
{
    return flag < 0 ? rg_unknown(RG_T_BOOL) : rg_bool(flag > 0);
}

static rg_value client_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    switch (use->spec - client_names) {
    case C_AUTOMATION:
        return tristate(ev->client_automation);
    case C_HOOKED:
        return tristate(ev->client_hooked);
    case C_PACKAGES: {
        if (!ev->has_client_packages)
            return rg_unknown(RG_T_STRLIST);
        rg_value v = {.type = RG_T_STRLIST, .known = true};
        v.u.list.items = ev->client_packages;
        v.u.list.n = ev->n_client_packages;
        return v;
    }
    case C_CLOCK_SKEW: {
        if (!ev->has_client_ts)
            return rg_unknown(RG_T_DURATION);
        int64_t skew_ms = ev->client_ts_ms - ev->ts_ms;
        return rg_int_typed(RG_T_DURATION, skew_ms < 0 ? -skew_ms : skew_ms);
    }
    default:
        return rg_unknown(use->spec->type);
    }
}

const rg_detector rg_detector_client = {
    .family = "client",
    .names = client_names,
    .n_names = C_COUNT,
    .create = client_create,
    .eval = client_eval,
    .destroy = client_destroy,
    .kept = RG_KEPT_NONE,
    .state = "none: read from the event itself",
    .name_needs = client_needs,
};
