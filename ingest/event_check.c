/*
 * event_check — the contract pass of the event parser: events.md's rules
 * over the values the scan collected (event_fields.h), in a fixed field
 * order. Owned by the ingest layer.
 *
 * Conventions (docs/events.md): JSON null for an optional field means the
 * field is absent; null for a required field is wrong_type. Fields that
 * belong to another event type are ignored like unknown fields (they were
 * validated as JSON by the scan). Every message starts with the field.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/timeutil.h"
#include "event_fields.h"
#include "event_usual.h"


static int fail(rg_reject *rej, rg_reject_kind kind, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(rg_reject *rej, rg_reject_kind kind, const char *field, const char *fmt, ...)
{
    rej->kind = kind;
    rej->field = field;
    int n = snprintf(rej->error, sizeof rej->error, "%s: ", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rej->error + n, sizeof rej->error - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Bytes of s to quote in a message: at most 40, never half a UTF-8
 * sequence (the scan validated s). */
static int quote_len(const char *s, size_t len)
{
    if (len <= 40)
        return (int)len;
    len = 40;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    return (int)len;
}

static bool has(const rg_event_parser *p, rg_field f)
{
    return (p->seen & F_BIT(f)) && p->vals[f].type != RG_JSON_NULL;
}

/* A string field of min..max bytes, kept in the event. Absent: *out stays
 * NULL, and that is an error only when required. Inlined: it is read
 * several times for every event. */
static inline __attribute__((always_inline)) int string_field(rg_event_parser *p, rg_field f, bool required, size_t max, const char **out,
                        size_t *out_len, rg_reject *rej)
{
    const char *name = rg_field_names[f];
    const rg_json_val *v = &p->vals[f];
    if (!(p->seen & F_BIT(f)) || (v->type == RG_JSON_NULL && !required)) {
        if (required)
            return fail(rej, RG_REJ_MISSING_FIELD, name, "required field is missing");
        return 0;
    }
    if (v->type != RG_JSON_STRING)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a string of 1..%zu bytes, got %s", max,
                    rg_json_type_desc(v->type));
    if (v->str_has_nul)
        return fail(rej, RG_REJ_BAD_STRING, name, "must not contain U+0000");
    if (v->str_len == 0)
        return fail(rej, RG_REJ_EMPTY_STRING, name, "must not be empty (1..%zu bytes)", max);
    if (v->str_len > max)
        return fail(rej, RG_REJ_STRING_TOO_LONG, name, "%zu bytes, over the limit of %zu", v->str_len, max);
    *out = v->str;
    if (out_len)
        *out_len = v->str_len;
    return 0;
}

/* An integer field in min..max; `range` spells the range for messages. */
static int int_field(rg_event_parser *p, rg_field f, int64_t min, int64_t max, const char *range,
                     int64_t *out, rg_reject *rej)
{
    const char *name = rg_field_names[f];
    const rg_json_val *v = &p->vals[f];
    if (v->type != RG_JSON_NUMBER)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a JSON integer %s, got %s", range,
                    rg_json_type_desc(v->type));
    const rg_json_num *n = &v->num;
    if (!n->is_int)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a JSON integer %s, got %.*s", range,
                    quote_len(n->text, n->len), n->text);
    bool neg = n->neg && n->mag > 0;
    if (n->big || neg || n->mag > (uint64_t)max || (int64_t)n->mag < min)
        return fail(rej, RG_REJ_OUT_OF_RANGE, name, "must be %s, got %.*s", range,
                    quote_len(n->text, n->len), n->text);
    *out = (int64_t)n->mag;
    return 0;
}

/* ts-like field: an RFC 3339 string or integer epoch ms. */
static int time_field(rg_event_parser *p, rg_field f, bool required, int64_t *out, bool *given,
                      rg_reject *rej)
{
    const char *name = rg_field_names[f];
    const rg_json_val *v = &p->vals[f];
    if (!(p->seen & F_BIT(f)) || (v->type == RG_JSON_NULL && !required)) {
        if (required)
            return fail(rej, RG_REJ_MISSING_FIELD, name, "required field is missing");
        return 0;
    }
    if (v->type == RG_JSON_STRING) {
        const char *why = "holds U+0000";
        if (v->str_has_nul || !rg_parse_rfc3339(v->str, v->str_len, out, &why))
            return fail(rej, RG_REJ_BAD_TIME, name, "%s: \"%.*s\"", why, quote_len(v->str, v->str_len),
                        v->str);
    } else if (v->type == RG_JSON_NUMBER && v->num.is_int) {
        const rg_json_num *n = &v->num;
        if (n->big || (n->neg && n->mag > 0) || n->mag > (uint64_t)RG_TS_MAX_MS)
            return fail(rej, RG_REJ_OUT_OF_RANGE, name,
                        "epoch milliseconds must be 0..253402300799999 (1970..9999), got %.*s",
                        quote_len(n->text, n->len), n->text);
        *out = (int64_t)n->mag;
    } else {
        return fail(rej, RG_REJ_WRONG_TYPE, name,
                    "must be an RFC 3339 date-time string or integer epoch milliseconds, got %s",
                    v->type == RG_JSON_NUMBER ? "a non-integer number" : rg_json_type_desc(v->type));
    }
    if (given)
        *given = true;
    return 0;
}

/* Optional enum: absent leaves *out at its default. */
static int enum_field(rg_event_parser *p, rg_field f, int (*from_name)(const char *, size_t),
                      const char *allowed, int *out, bool *given, rg_reject *rej)
{
    const char *name = rg_field_names[f];
    const rg_json_val *v = &p->vals[f];
    if (!has(p, f))
        return 0;
    if (v->type != RG_JSON_STRING)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a string (one of %s), got %s", allowed,
                    rg_json_type_desc(v->type));
    int e = v->str_has_nul ? -1 : from_name(v->str, v->str_len);
    if (e < 0)
        return fail(rej, RG_REJ_BAD_VALUE, name, "must be one of %s, got \"%.*s\"", allowed,
                    quote_len(v->str, v->str_len), v->str);
    *out = e;
    *given = true;
    return 0;
}

/* Optional code of exactly n upper-case ASCII letters (region, currency). */
static int code_field(rg_event_parser *p, rg_field f, size_t n, const char *what, const char **out,
                      rg_reject *rej)
{
    const char *name = rg_field_names[f];
    const rg_json_val *v = &p->vals[f];
    if (!has(p, f))
        return 0;
    if (v->type != RG_JSON_STRING)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a string (%s), got %s", what,
                    rg_json_type_desc(v->type));
    bool ok = v->str_len == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = v->str[i] >= 'A' && v->str[i] <= 'Z';
    if (!ok)
        return fail(rej, RG_REJ_BAD_VALUE, name, "must be %s, got \"%.*s\"", what,
                    quote_len(v->str, v->str_len), v->str);
    *out = v->str;
    return 0;
}

static int ip_field(rg_event_parser *p, rg_event *ev, rg_reject *rej)
{
    const rg_json_val *v = &p->vals[F_IP];
    if (!has(p, F_IP))
        return 0;
    if (v->type != RG_JSON_STRING)
        return fail(rej, RG_REJ_WRONG_TYPE, "ip", "must be an IPv4 or IPv6 address string, got %s",
                    rg_json_type_desc(v->type));
    if (v->str_has_nul)
        return fail(rej, RG_REJ_BAD_STRING, "ip", "must not contain U+0000");
    /* A longer text is no IP literal: that is bad_ip, not string_too_long,
     * since the limit is inet_pton's, not the contract's. */
    if (v->str_len <= RG_IP_TEXT_MAX && rg_ipv4_text(v->str, v->str_len, ev->ip_bin))
        ev->ip_family = AF_INET;
    else if (v->str_len <= RG_IP_TEXT_MAX && inet_pton(AF_INET6, v->str, ev->ip_bin) == 1)
        ev->ip_family = AF_INET6;
    else
        return fail(rej, RG_REJ_BAD_IP, "ip", "not an IPv4 or IPv6 address: \"%.*s\"",
                    quote_len(v->str, v->str_len), v->str);
    ev->ip = v->str;
    return 0;
}

static int coordinate(rg_event_parser *p, const rg_json_val *v, unsigned bit, const char *name,
                      double limit, double *out, rg_reject *rej)
{
    if (!(p->loc_seen & bit))
        return fail(rej, RG_REJ_MISSING_FIELD, name, "required in location");
    if (v->type != RG_JSON_NUMBER)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a number in [%g, %g], got %s", -limit, limit,
                    rg_json_type_desc(v->type));
    double d = rg_json_num_double(&p->js, &v->num);
    if (!(d >= -limit && d <= limit)) /* also catches overflow to +-inf */
        return fail(rej, RG_REJ_OUT_OF_RANGE, name, "must be in [%g, %g], got %.*s", -limit, limit,
                    quote_len(v->num.text, v->num.len), v->num.text);
    *out = d;
    return 0;
}

static int location_field(rg_event_parser *p, rg_event *ev, rg_reject *rej)
{
    if (!has(p, F_LOCATION))
        return 0;
    if (p->vals[F_LOCATION].type != RG_JSON_OBJECT)
        return fail(rej, RG_REJ_WRONG_TYPE, "location", "must be an object {\"lat\": number, \"lon\": number}, got %s",
                    rg_json_type_desc(p->vals[F_LOCATION].type));
    if (coordinate(p, &p->lat, LOC_LAT, "location.lat", 90, &ev->lat, rej) != 0 ||
        coordinate(p, &p->lon, LOC_LON, "location.lon", 180, &ev->lon, rej) != 0)
        return -1;
    ev->has_location = true;
    return 0;
}

static int flag(rg_event_parser *p, const rg_json_val *v, unsigned bit, const char *name, int8_t *out,
                rg_reject *rej)
{
    if (!(p->client_seen & bit) || v->type == RG_JSON_NULL)
        return 0;
    if (v->type != RG_JSON_TRUE && v->type != RG_JSON_FALSE)
        return fail(rej, RG_REJ_WRONG_TYPE, name, "must be a boolean, got %s", rg_json_type_desc(v->type));
    *out = v->type == RG_JSON_TRUE;
    return 0;
}

static int packages(rg_event_parser *p, rg_event *ev, rg_reject *rej)
{
    const rg_json_val *v = &p->packages;
    if (!(p->client_seen & CL_PACKAGES) || v->type == RG_JSON_NULL)
        return 0;
    if (v->type != RG_JSON_ARRAY)
        return fail(rej, RG_REJ_WRONG_TYPE, "client.packages", "must be an array of strings, got %s",
                    rg_json_type_desc(v->type));
    if (p->pkg_bad) {
        snprintf(p->field_buf, sizeof p->field_buf, "client.packages[%zu]", p->pkg_bad_index);
        const rg_json_val *it = &p->pkg_bad_val;
        if (it->type != RG_JSON_STRING)
            return fail(rej, RG_REJ_WRONG_TYPE, p->field_buf, "must be a string, got %s",
                        rg_json_type_desc(it->type));
        if (it->str_has_nul)
            return fail(rej, RG_REJ_BAD_STRING, p->field_buf, "must not contain U+0000");
        if (it->str_len == 0)
            return fail(rej, RG_REJ_EMPTY_STRING, p->field_buf, "must not be empty (1..%d bytes)",
                        RG_PACKAGE_MAX);
        return fail(rej, RG_REJ_STRING_TOO_LONG, p->field_buf, "%zu bytes, over the limit of %d",
                    it->str_len, RG_PACKAGE_MAX);
    }
    if (p->n_pkgs > RG_PACKAGES_MAX)
        return fail(rej, RG_REJ_OUT_OF_RANGE, "client.packages", "%zu items, over the limit of %d",
                    p->n_pkgs, RG_PACKAGES_MAX);
    ev->has_client_packages = true;
    ev->client_packages = p->pkgs;
    ev->n_client_packages = p->n_pkgs;
    return 0;
}

static int client_field(rg_event_parser *p, rg_event *ev, rg_reject *rej)
{
    if (!has(p, F_CLIENT))
        return 0;
    if (p->vals[F_CLIENT].type != RG_JSON_OBJECT)
        return fail(rej, RG_REJ_WRONG_TYPE, "client", "must be an object, got %s",
                    rg_json_type_desc(p->vals[F_CLIENT].type));
    if (flag(p, &p->automation, CL_AUTOMATION, "client.automation", &ev->client_automation, rej) != 0 ||
        flag(p, &p->hooked, CL_HOOKED, "client.hooked", &ev->client_hooked, rej) != 0)
        return -1;
    return packages(p, ev, rej);
}

static int amount_field(rg_event_parser *p, rg_event *ev, const char *type, rg_reject *rej)
{
    if (!(p->seen & F_BIT(F_AMOUNT)))
        return fail(rej, RG_REJ_MISSING_FIELD, "amount", "required for type %s", type);
    return int_field(p, F_AMOUNT, 1, RG_AMOUNT_MAX, "1..10^12", &ev->amount, rej);
}

/* A string the type requires: missing names the type. */
static int required_string(rg_event_parser *p, rg_field f, size_t max, const char **out, size_t *len,
                           const char *type, rg_reject *rej)
{
    if (!(p->seen & F_BIT(f)))
        return fail(rej, RG_REJ_MISSING_FIELD, rg_field_names[f], "required for type %s", type);
    return string_field(p, f, true, max, out, len, rej);
}

static int type_fields(rg_event_parser *p, rg_event *ev, rg_reject *rej)
{
    const char *type = rg_event_type_name(ev->type);
    int e;
    switch (ev->type) {
    case RG_EV_ACCOUNT_OPEN:
        return code_field(p, F_REGION, 2, "an ISO 3166-1 alpha-2 code like \"CN\"", &ev->region, rej);
    case RG_EV_LOGIN:
        return 0;
    case RG_EV_TRANSFER:
        ev->currency = RG_DEFAULT_CURRENCY;
        e = RG_MODE_REALTIME;
        if (required_string(p, F_COUNTERPARTY, RG_ACCOUNT_ID_MAX, &ev->counterparty, &ev->counterparty_len, type, rej) ||
            amount_field(p, ev, type, rej) ||
            code_field(p, F_CURRENCY, 3, "an ISO 4217 code like \"CNY\"", &ev->currency, rej) ||
            enum_field(p, F_MODE, rg_transfer_mode_from_name, "realtime, delay_2h, delay_24h", &e,
                       &ev->mode_given, rej) ||
            time_field(p, F_COUNTERPARTY_CREATED_AT, false, &ev->counterparty_created_at_ms,
                       &ev->has_counterparty_created_at, rej))
            return -1;
        ev->currency_given = has(p, F_CURRENCY);
        ev->mode = (rg_transfer_mode)e;
        return 0;
    case RG_EV_RED_PACKET_SEND:
        ev->shares = RG_DEFAULT_SHARES;
        e = RG_PACKET_NORMAL;
        if (required_string(p, F_PACKET_ID, RG_ID_MAX, &ev->packet_id, &ev->packet_id_len, type, rej) ||
            amount_field(p, ev, type, rej))
            return -1;
        if (has(p, F_SHARES)) {
            if (int_field(p, F_SHARES, 1, RG_SHARES_MAX, "1..10000", &ev->shares, rej))
                return -1;
            ev->shares_given = true;
        }
        if (enum_field(p, F_KIND, rg_packet_kind_from_name, "normal, lucky, group, timed", &e,
                       &ev->kind_given, rej) ||
            string_field(p, F_TARGET, false, RG_TARGET_MAX, &ev->target, NULL, rej))
            return -1;
        ev->kind = (rg_packet_kind)e;
        return 0;
    case RG_EV_RED_PACKET_CLAIM:
        return required_string(p, F_PACKET_ID, RG_ID_MAX, &ev->packet_id, &ev->packet_id_len, type, rej) ||
                       amount_field(p, ev, type, rej)
                   ? -1
                   : 0;
    case RG_EV_RECALL_REQUEST:
        return required_string(p, F_REF, RG_ID_MAX, &ev->ref, &ev->ref_len, type, rej);
    case RG_EV_COMPLAINT:
        e = RG_REASON_FRAUD;
        if (required_string(p, F_REF, RG_ID_MAX, &ev->ref, &ev->ref_len, type, rej) ||
            enum_field(p, F_REASON, rg_complaint_reason_from_name, "fraud, mistake, other", &e,
                       &ev->reason_given, rej))
            return -1;
        ev->reason = (rg_complaint_reason)e;
        return 0;
    case RG_EV_TYPE_COUNT:
        break;
    }
    return 0;
}

int rg_event_check(rg_event_parser *p, rg_event *ev, rg_reject *rej)
{
    memset(ev, 0, sizeof *ev);
    ev->client_automation = ev->client_hooked = -1;

    if (string_field(p, F_EVENT_ID, true, RG_ID_MAX, &ev->event_id, &ev->event_id_len, rej) != 0)
        return -1;
    const rg_json_val *t = &p->vals[F_TYPE];
    if (!(p->seen & F_BIT(F_TYPE)))
        return fail(rej, RG_REJ_MISSING_FIELD, "type", "required field is missing");
    if (t->type != RG_JSON_STRING)
        return fail(rej, RG_REJ_WRONG_TYPE, "type", "must be a string (an event type), got %s",
                    rg_json_type_desc(t->type));
    int type = t->str_has_nul ? -1 : rg_event_type_from_name(t->str, t->str_len);
    if (type < 0)
        return fail(rej, RG_REJ_UNKNOWN_TYPE, "type",
                    "unknown event type \"%.*s\" (account_open, login, transfer, red_packet_send, "
                    "red_packet_claim, recall_request, complaint)",
                    quote_len(t->str, t->str_len), t->str);
    ev->type = (rg_event_type)type;

    if (time_field(p, F_TS, true, &ev->ts_ms, NULL, rej) != 0 ||
        string_field(p, F_ACCOUNT, true, RG_ACCOUNT_ID_MAX, &ev->account, &ev->account_len, rej) != 0 ||
        ip_field(p, ev, rej) != 0 ||
        string_field(p, F_DEVICE_ID, false, RG_ID_MAX, &ev->device_id, NULL, rej) != 0 ||
        location_field(p, ev, rej) != 0 ||
        time_field(p, F_CLIENT_TS, false, &ev->client_ts_ms, &ev->has_client_ts, rej) != 0 ||
        client_field(p, ev, rej) != 0)
        return -1;
    return type_fields(p, ev, rej);
}
