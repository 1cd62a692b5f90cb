/*
 * fields — the event's own fields as names of the rule language: `type`,
 * `amount`, `counterparty`, ... (rules.md, Names; events.md, Types).
 *
 * Owner: detectors. Stateless: every value is read from the event being
 * evaluated, so every name here is filterable (usable inside count()).
 * A field is unknown when the event does not carry it or its type does
 * not have it (`kind` on a transfer), so a rule never fires on a field
 * that is not there. Defaults of events.md are the parser's: `currency`
 * CNY and `mode` realtime on a transfer, `shares` 1 and `kind` normal on a
 * packet send, `reason` fraud on a complaint are known values.
 * String values borrow the event's bytes (valid until update).
 */
#include <string.h>

#include "detector.h"

enum field_name {
    F_TYPE, F_AMOUNT, F_COUNTERPARTY, F_KIND, F_SHARES, F_MODE, F_CURRENCY, F_REASON,
    F_IP, F_DEVICE_ID, F_REGION, F_PACKET_ID, F_REF, F_ACCOUNT, F_TARGET, F_COUNT
};

static const rg_name_spec field_names[F_COUNT] = {
    [F_TYPE] = {"type", RG_T_STRING, {RG_ARG_NONE}, true, "the event type (account_open, login, transfer, ...)"},
    [F_AMOUNT] = {"amount", RG_T_MONEY, {RG_ARG_NONE}, true,
                  "amount in minor units (fen) of a transfer, packet send or claim; unknown on other types"},
    [F_COUNTERPARTY] = {"counterparty", RG_T_STRING, {RG_ARG_NONE}, true,
                        "receiving account of a transfer; unknown on other types"},
    [F_KIND] = {"kind", RG_T_STRING, {RG_ARG_NONE}, true,
                "packet kind of a red_packet_send (normal, lucky, group, timed; default normal)"},
    [F_SHARES] = {"shares", RG_T_INT, {RG_ARG_NONE}, true, "number of shares of a red_packet_send (default 1)"},
    [F_MODE] = {"mode", RG_T_STRING, {RG_ARG_NONE}, true,
                "transfer mode (realtime, delay_2h, delay_24h; default realtime); unknown on other types"},
    [F_CURRENCY] = {"currency", RG_T_STRING, {RG_ARG_NONE}, true,
                    "ISO 4217 currency of a transfer (default CNY); unknown on other types"},
    [F_REASON] = {"reason", RG_T_STRING, {RG_ARG_NONE}, true,
                  "complaint reason (fraud, mistake, other; fraud when absent); unknown on other types"},
    [F_IP] = {"ip", RG_T_STRING, {RG_ARG_NONE}, true, "client IP literal as sent; unknown when absent"},
    [F_DEVICE_ID] = {"device_id", RG_T_STRING, {RG_ARG_NONE}, true, "device fingerprint; unknown when absent"},
    [F_REGION] = {"region", RG_T_STRING, {RG_ARG_NONE}, true,
                  "registration country of an account_open; unknown when absent or on other types"},
    [F_PACKET_ID] = {"packet_id", RG_T_STRING, {RG_ARG_NONE}, true,
                     "packet id of a red_packet_send or red_packet_claim; unknown on other types"},
    [F_REF] = {"ref", RG_T_STRING, {RG_ARG_NONE}, true,
               "what a recall_request or complaint refers to (packet_id or transfer event_id)"},
    [F_ACCOUNT] = {"account", RG_T_STRING, {RG_ARG_NONE}, true, "the acting account"},
    [F_TARGET] = {"target", RG_T_STRING, {RG_ARG_NONE}, true,
                  "receiving account or chat/group id of a red_packet_send; unknown when absent"},
};

/* Stateless, but create() must return non-NULL: hand out a static token. */
static char fields_token;

static void *fields_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    return &fields_token;
}

static void fields_destroy(void *state) {}

static rg_value str_or_unknown(const char *s)
{
    return s ? rg_string(s, strlen(s)) : rg_unknown(RG_T_STRING);
}

static bool has_amount(rg_event_type t)
{
    return t == RG_EV_TRANSFER || t == RG_EV_RED_PACKET_SEND || t == RG_EV_RED_PACKET_CLAIM;
}

static rg_value fields_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    ptrdiff_t which = use->spec - field_names;
    rg_type type = use->spec->type;
    switch (which) {
    case F_TYPE: {
        const char *name = rg_event_type_name(ev->type);
        return str_or_unknown(name);
    }
    case F_AMOUNT:
        return has_amount(ev->type) ? rg_int_typed(RG_T_MONEY, ev->amount) : rg_unknown(type);
    case F_COUNTERPARTY:
        return ev->type == RG_EV_TRANSFER && ev->counterparty ? rg_string(ev->counterparty, ev->counterparty_len)
                                                              : rg_unknown(type);
    case F_KIND:
        return ev->type == RG_EV_RED_PACKET_SEND ? str_or_unknown(rg_packet_kind_name(ev->kind)) : rg_unknown(type);
    case F_SHARES:
        return ev->type == RG_EV_RED_PACKET_SEND ? rg_int_typed(RG_T_INT, ev->shares) : rg_unknown(type);
    case F_MODE:
        return ev->type == RG_EV_TRANSFER ? str_or_unknown(rg_transfer_mode_name(ev->mode)) : rg_unknown(type);
    case F_CURRENCY:
        return ev->type == RG_EV_TRANSFER ? str_or_unknown(ev->currency ? ev->currency : "CNY") : rg_unknown(type);
    case F_REASON:
        return ev->type == RG_EV_COMPLAINT ? str_or_unknown(rg_complaint_reason_name(ev->reason))
                                           : rg_unknown(type);
    case F_IP:
        return str_or_unknown(ev->ip);
    case F_DEVICE_ID:
        return str_or_unknown(ev->device_id);
    case F_REGION:
        return ev->type == RG_EV_ACCOUNT_OPEN ? str_or_unknown(ev->region) : rg_unknown(type);
    case F_PACKET_ID:
        return (ev->type == RG_EV_RED_PACKET_SEND || ev->type == RG_EV_RED_PACKET_CLAIM) && ev->packet_id
                   ? rg_string(ev->packet_id, ev->packet_id_len)
                   : rg_unknown(type);
    case F_REF:
        return (ev->type == RG_EV_RECALL_REQUEST || ev->type == RG_EV_COMPLAINT) && ev->ref
                   ? rg_string(ev->ref, ev->ref_len)
                   : rg_unknown(type);
    case F_ACCOUNT:
        return ev->account ? rg_string(ev->account, ev->account_len) : rg_unknown(type);
    case F_TARGET:
        return ev->type == RG_EV_RED_PACKET_SEND ? str_or_unknown(ev->target) : rg_unknown(type);
    default:
        return rg_unknown(type);
    }
}

const rg_detector rg_detector_fields = {
    .family = "fields",
    .names = field_names,
    .n_names = F_COUNT,
    .create = fields_create,
    .eval = fields_eval,
    .destroy = fields_destroy,
    .kept = RG_KEPT_NONE,
    .state = "none: read from the event itself",
};
