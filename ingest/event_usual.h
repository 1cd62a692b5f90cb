/*
 * event_usual — internal to the event contract: the checks of
 * event_check.c for the usual line, done by the compact scan
 * (event_parse.c) as each value goes by, so an accepted event is filled
 * without a second pass over the collected values. Owned by the ingest
 * layer; not for use outside ingest/.
 *
 * Only acceptance is decided here. A value this code does not take (null
 * for a required field, a wrong type, out of range, a field of another
 * event type, an envelope key, ...) makes
 * the line unusual, and rg_event_check then reads the collected values
 * from the start: every reject, and every event with anything unusual,
 * still comes from the one general check. When a line is usual, *ev is
 * exactly what rg_event_check would have made of it
 * (tests/unit/ingest/test_event_parse.c compares the two on every
 * one-byte change of usual lines; fuzz_event compares them on any input).
 */
#ifndef RG_EVENT_USUAL_H
#define RG_EVENT_USUAL_H

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "../common/timeutil.h"
#include "event_fields.h"

#define RG_AMOUNT_MAX INT64_C(1000000000000)
#define RG_SHARES_MAX 10000

/* One octet of a dotted quad at p: 0..255 in decimal, 1..3 digits, no
 * leading zero ("0" alone is one); the byte after it is returned in
 * *next, or NULL when it is no octet. Unrolled: a loop's bookkeeping was
 * most of what reading an address cost. */
static inline __attribute__((always_inline)) const unsigned char *rg_ipv4_octet(const unsigned char *p, const unsigned char *e, unsigned *out)
{
    unsigned v, d;
    if (p >= e || (v = (unsigned)(*p - '0')) > 9)
        return NULL;
    if (++p < e && (d = (unsigned)(*p - '0')) <= 9) {
        if (v == 0)
            return NULL; /* "01" */
        v = v * 10 + d;
        if (++p < e && (d = (unsigned)(*p - '0')) <= 9) {
            v = v * 10 + d;
            if (v > 255 || (++p < e && (unsigned)(*p - '0') <= 9))
                return NULL; /* a fourth digit makes it >= 1000 */
        }
    }
    *out = v;
    return p;
}

/* inet_pton(AF_INET, ...) exactly as glibc's inet_pton4 reads it (four
 * decimal octets 0..255, no leading zeros, nothing else), inline: it is
 * read on nearly every event. 1 with out[0..3] set, or 0 (out untouched).
 * tests/unit/ingest/test_event_parse.c compares it with inet_pton. */
static inline int rg_ipv4_text(const char *s, size_t len, unsigned char out[4])
{
    const unsigned char *p = (const unsigned char *)s, *e = p + len;
    unsigned a, b, c, d;
    if (!(p = rg_ipv4_octet(p, e, &a)) || p >= e || *p != '.' || !(p = rg_ipv4_octet(p + 1, e, &b)) || p >= e ||
        *p != '.' || !(p = rg_ipv4_octet(p + 1, e, &c)) || p >= e || *p != '.' ||
        !(p = rg_ipv4_octet(p + 1, e, &d)) || p != e)
        return 0;
    out[0] = (unsigned char)a, out[1] = (unsigned char)b, out[2] = (unsigned char)c, out[3] = (unsigned char)d;
    return 1;
}

/* The fields each event type reads besides the common ones, and those it
 * requires (event_check.c's type_fields). A usual line has no field of
 * another type: rg_event_check ignores those, and this code would have
 * taken them into the event. */
#define RG_USUAL_COMMON                                                                                     \
    (F_BIT(F_EVENT_ID) | F_BIT(F_TYPE) | F_BIT(F_TS) | F_BIT(F_ACCOUNT) | F_BIT(F_IP) | F_BIT(F_DEVICE_ID) | \
     F_BIT(F_LOCATION) | F_BIT(F_CLIENT_TS) | F_BIT(F_CLIENT))
#define RG_USUAL_REQUIRED (F_BIT(F_EVENT_ID) | F_BIT(F_TYPE) | F_BIT(F_TS) | F_BIT(F_ACCOUNT))
/* Fields for which null means absent. The others are required by every
 * type that reads them, so null is a reject there (or, for a field of
 * another type, the line is not usual anyway). */
#define RG_USUAL_OPTIONAL                                                                                    \
    (F_BIT(F_IP) | F_BIT(F_DEVICE_ID) | F_BIT(F_LOCATION) | F_BIT(F_CLIENT_TS) | F_BIT(F_CLIENT) |             \
     F_BIT(F_REGION) | F_BIT(F_CURRENCY) | F_BIT(F_MODE) | F_BIT(F_COUNTERPARTY_CREATED_AT) | F_BIT(F_SHARES) | \
     F_BIT(F_KIND) | F_BIT(F_TARGET) | F_BIT(F_REASON))

/* A string of 1..max bytes without U+0000 (string_field's acceptance). */
static inline bool rg_usual_string(const rg_json_val *v, size_t max, const char **out, size_t *out_len)
{
    if (v->type != RG_JSON_STRING || v->str_has_nul || v->str_len - 1 >= max)
        return false;
    *out = v->str;
    *out_len = v->str_len;
    return true;
}

/* An integer in 1..max (int_field's acceptance, for min 1). */
static inline bool rg_usual_int(const rg_json_val *v, uint64_t max, int64_t *out)
{
    const rg_json_num *n = &v->num;
    if (v->type != RG_JSON_NUMBER || !n->is_int || n->big || n->mag - 1 >= max)
        return false; /* mag 0 (also "-0") wraps above max; other negatives have mag > 0 */
    if (n->neg)
        return false;
    *out = (int64_t)n->mag;
    return true;
}

/* time_field's acceptance: an RFC 3339 string or integer epoch ms. */
static inline bool rg_usual_time(const rg_json_val *v, int64_t *out)
{
    if (v->type == RG_JSON_STRING)
        return !v->str_has_nul && rg_parse_rfc3339(v->str, v->str_len, out, NULL);
    const rg_json_num *n = &v->num;
    if (v->type != RG_JSON_NUMBER || !n->is_int || n->big || (n->neg && n->mag > 0) ||
        n->mag > (uint64_t)RG_TS_MAX_MS)
        return false;
    *out = (int64_t)n->mag;
    return true;
}

/* code_field's acceptance: exactly n upper-case ASCII letters. */
static inline bool rg_usual_code(const rg_json_val *v, size_t n, const char **out)
{
    if (v->type != RG_JSON_STRING || v->str_len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)(v->str[i] - 'A') > 'Z' - 'A')
            return false;
    *out = v->str;
    return true;
}

/* enum_field's acceptance. */
static inline bool rg_usual_enum(const rg_json_val *v, int (*from_name)(const char *, size_t), int *out)
{
    int e;
    if (v->type != RG_JSON_STRING || v->str_has_nul || (e = from_name(v->str, v->str_len)) < 0)
        return false;
    *out = e;
    return true;
}

/* coordinate()'s acceptance for one of location's two numbers. */
static inline bool rg_usual_coordinate(rg_event_parser *p, const rg_json_val *v, double limit, double *out)
{
    if (v->type != RG_JSON_NUMBER)
        return false;
    double d = rg_json_num_double(&p->js, &v->num);
    if (!(d >= -limit && d <= limit))
        return false;
    *out = d;
    return true;
}

/* flag()'s acceptance for client.automation or client.hooked. */
static inline bool rg_usual_flag(const rg_event_parser *p, const rg_json_val *v, unsigned bit, int8_t *out)
{
    if (!(p->client_seen & bit) || v->type == RG_JSON_NULL)
        return true;
    if (v->type != RG_JSON_TRUE && v->type != RG_JSON_FALSE)
        return false;
    *out = v->type == RG_JSON_TRUE;
    return true;
}

/* client_field's acceptance: the object, its flags and its package list
 * (whose items the scan checked as they went by). */
static inline bool rg_usual_client(const rg_event_parser *p, rg_event *ev, const rg_json_val *v)
{
    if (v->type != RG_JSON_OBJECT || !rg_usual_flag(p, &p->automation, CL_AUTOMATION, &ev->client_automation) ||
        !rg_usual_flag(p, &p->hooked, CL_HOOKED, &ev->client_hooked))
        return false;
    if (!(p->client_seen & CL_PACKAGES) || p->packages.type == RG_JSON_NULL)
        return true;
    if (p->packages.type != RG_JSON_ARRAY || p->pkg_bad || p->n_pkgs > RG_PACKAGES_MAX)
        return false;
    ev->has_client_packages = true;
    ev->client_packages = p->pkgs;
    ev->n_client_packages = p->n_pkgs;
    return true;
}

/*
 * Field f's value v, just read by the compact scan, into ev as
 * rg_event_check would put it there: true when taken, false when the line
 * is not usual (rg_event_check decides then). A null is looked at only
 * when a field did not take its value (most values are not null).
 */
static inline __attribute__((always_inline)) bool rg_usual_take_value_with(rg_event_parser *p, rg_event *ev, int f,
                                                                           const rg_json_val *v,
                                                                           int (*ipv4)(const char *, size_t,
                                                                                       unsigned char[4]))
{
    size_t unused;
    int e;
    switch (f) {
    case F_EVENT_ID: return rg_usual_string(v, RG_ID_MAX, &ev->event_id, &ev->event_id_len);
    case F_TYPE:
        if (v->type != RG_JSON_STRING || v->str_has_nul || (e = rg_event_type_from_name(v->str, v->str_len)) < 0)
            return false;
        ev->type = (rg_event_type)e;
        return true;
    case F_TS: return rg_usual_time(v, &ev->ts_ms);
    case F_ACCOUNT: return rg_usual_string(v, RG_ACCOUNT_ID_MAX, &ev->account, &ev->account_len);
    case F_IP:
        if (v->type != RG_JSON_STRING || v->str_has_nul || v->str_len > RG_IP_TEXT_MAX)
            return false;
        if (ipv4(v->str, v->str_len, ev->ip_bin))
            ev->ip_family = AF_INET;
        else if (inet_pton(AF_INET6, v->str, ev->ip_bin) == 1)
            ev->ip_family = AF_INET6;
        else
            return false;
        ev->ip = v->str;
        return true;
    case F_DEVICE_ID: return rg_usual_string(v, RG_ID_MAX, &ev->device_id, &unused);
    case F_LOCATION:
        if (v->type != RG_JSON_OBJECT || p->loc_seen != (LOC_LAT | LOC_LON) ||
            !rg_usual_coordinate(p, &p->lat, 90, &ev->lat) || !rg_usual_coordinate(p, &p->lon, 180, &ev->lon))
            return false;
        ev->has_location = true;
        return true;
    case F_CLIENT_TS: return (ev->has_client_ts = rg_usual_time(v, &ev->client_ts_ms));
    case F_REGION: return rg_usual_code(v, 2, &ev->region);
    case F_COUNTERPARTY: return rg_usual_string(v, RG_ACCOUNT_ID_MAX, &ev->counterparty, &ev->counterparty_len);
    case F_AMOUNT: return rg_usual_int(v, (uint64_t)RG_AMOUNT_MAX, &ev->amount);
    case F_CURRENCY: return (ev->currency_given = rg_usual_code(v, 3, &ev->currency));
    case F_MODE:
        if (!rg_usual_enum(v, rg_transfer_mode_from_name, &e))
            return false;
        ev->mode = (rg_transfer_mode)e;
        return (ev->mode_given = true);
    case F_COUNTERPARTY_CREATED_AT:
        return (ev->has_counterparty_created_at = rg_usual_time(v, &ev->counterparty_created_at_ms));
    case F_PACKET_ID: return rg_usual_string(v, RG_ID_MAX, &ev->packet_id, &ev->packet_id_len);
    case F_SHARES: return (ev->shares_given = rg_usual_int(v, RG_SHARES_MAX, &ev->shares));
    case F_KIND:
        if (!rg_usual_enum(v, rg_packet_kind_from_name, &e))
            return false;
        ev->kind = (rg_packet_kind)e;
        return (ev->kind_given = true);
    case F_TARGET: return rg_usual_string(v, RG_TARGET_MAX, &ev->target, &unused);
    case F_REF: return rg_usual_string(v, RG_ID_MAX, &ev->ref, &ev->ref_len);
    case F_REASON:
        if (!rg_usual_enum(v, rg_complaint_reason_from_name, &e))
            return false;
        ev->reason = (rg_complaint_reason)e;
        return (ev->reason_given = true);
    case F_CLIENT: return rg_usual_client(p, ev, v);
    default: return false; /* envelope keys */
    }
}

static inline __attribute__((always_inline)) bool rg_usual_take_value(rg_event_parser *p, rg_event *ev, int f,
                                                                      const rg_json_val *v)
{
    return rg_usual_take_value_with(p, ev, f, v, rg_ipv4_text);
}

/* rg_usual_take_value, an IPv4 address read by ipv4 (which must read it
 * as rg_ipv4_text does: the line pass's reader needs its padding). */
static inline __attribute__((always_inline)) bool rg_usual_take_with(rg_event_parser *p, rg_event *ev, int f,
                                                                     const rg_json_val *v,
                                                                     int (*ipv4)(const char *, size_t,
                                                                                 unsigned char[4]))
{
    /* null: absent when optional; wrong_type for a required field */
    return rg_usual_take_value_with(p, ev, f, v, ipv4) || (v->type == RG_JSON_NULL && ((RG_USUAL_OPTIONAL >> f) & 1));
}

static inline __attribute__((always_inline)) bool rg_usual_take(rg_event_parser *p, rg_event *ev, int f, const rg_json_val *v)
{
    return rg_usual_take_with(p, ev, f, v, rg_ipv4_text);
}

/*
 * rg_usual_take_value_with for the two values the line pass reads most, a
 * string without U+0000 and an integer 0..2^64-1 written without sign,
 * fraction or exponent, given as their bytes or their value instead of an
 * rg_json_val: the same answer and the same stores into ev, field by
 * field (the line pass's compiler then keeps them in registers instead of
 * building a value and reading its type back). Neither is null, so
 * rg_usual_take_with's null rule never applies to them.
 * tests/unit/ingest/test_event_parse.c compares each with
 * rg_usual_take_value on every field.
 */
static inline __attribute__((always_inline)) bool rg_usual_code_text(const char *s, size_t len, size_t n)
{
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned)(s[i] - 'A') > 'Z' - 'A')
            return false;
    return true;
}

static inline __attribute__((always_inline)) bool rg_usual_take_string_with(rg_event_parser *p, rg_event *ev, int f,
                                                                            const char *s, size_t n,
                                                                            int (*ipv4)(const char *, size_t,
                                                                                        unsigned char[4]))
{
    int e;
    (void)p;
    switch (f) {
    case F_EVENT_ID:
        if (n - 1 >= RG_ID_MAX)
            return false;
        ev->event_id = s, ev->event_id_len = n;
        return true;
    case F_TYPE:
        if ((e = rg_event_type_from_name(s, n)) < 0)
            return false;
        ev->type = (rg_event_type)e;
        return true;
    case F_TS: return rg_parse_rfc3339(s, n, &ev->ts_ms, NULL);
    case F_ACCOUNT:
        if (n - 1 >= RG_ACCOUNT_ID_MAX)
            return false;
        ev->account = s, ev->account_len = n;
        return true;
    case F_IP:
        if (n > RG_IP_TEXT_MAX)
            return false;
        if (ipv4(s, n, ev->ip_bin))
            ev->ip_family = AF_INET;
        else if (inet_pton(AF_INET6, s, ev->ip_bin) == 1)
            ev->ip_family = AF_INET6;
        else
            return false;
        ev->ip = s;
        return true;
    case F_DEVICE_ID:
        if (n - 1 >= RG_ID_MAX)
            return false;
        ev->device_id = s;
        return true;
    case F_CLIENT_TS: return (ev->has_client_ts = rg_parse_rfc3339(s, n, &ev->client_ts_ms, NULL));
    case F_REGION:
        if (!rg_usual_code_text(s, n, 2))
            return false;
        ev->region = s;
        return true;
    case F_COUNTERPARTY:
        if (n - 1 >= RG_ACCOUNT_ID_MAX)
            return false;
        ev->counterparty = s, ev->counterparty_len = n;
        return true;
    case F_CURRENCY:
        if (!rg_usual_code_text(s, n, 3))
            return (ev->currency_given = false);
        ev->currency = s;
        return (ev->currency_given = true);
    case F_MODE:
        if ((e = rg_transfer_mode_from_name(s, n)) < 0)
            return false;
        ev->mode = (rg_transfer_mode)e;
        return (ev->mode_given = true);
    case F_COUNTERPARTY_CREATED_AT:
        return (ev->has_counterparty_created_at = rg_parse_rfc3339(s, n, &ev->counterparty_created_at_ms, NULL));
    case F_PACKET_ID:
        if (n - 1 >= RG_ID_MAX)
            return false;
        ev->packet_id = s, ev->packet_id_len = n;
        return true;
    case F_SHARES: return (ev->shares_given = false); /* not an integer */
    case F_KIND:
        if ((e = rg_packet_kind_from_name(s, n)) < 0)
            return false;
        ev->kind = (rg_packet_kind)e;
        return (ev->kind_given = true);
    case F_TARGET:
        if (n - 1 >= RG_TARGET_MAX)
            return false;
        ev->target = s;
        return true;
    case F_REF:
        if (n - 1 >= RG_ID_MAX)
            return false;
        ev->ref = s, ev->ref_len = n;
        return true;
    case F_REASON:
        if ((e = rg_complaint_reason_from_name(s, n)) < 0)
            return false;
        ev->reason = (rg_complaint_reason)e;
        return (ev->reason_given = true);
    default: return false; /* location, client, amount: not a string; envelope keys */
    }
}

static inline __attribute__((always_inline)) bool rg_usual_take_uint(rg_event *ev, int f, uint64_t m)
{
    switch (f) {
    case F_TS:
        if (m > (uint64_t)RG_TS_MAX_MS)
            return false;
        ev->ts_ms = (int64_t)m;
        return true;
    case F_CLIENT_TS:
        if (m > (uint64_t)RG_TS_MAX_MS)
            return (ev->has_client_ts = false);
        ev->client_ts_ms = (int64_t)m;
        return (ev->has_client_ts = true);
    case F_COUNTERPARTY_CREATED_AT:
        if (m > (uint64_t)RG_TS_MAX_MS)
            return (ev->has_counterparty_created_at = false);
        ev->counterparty_created_at_ms = (int64_t)m;
        return (ev->has_counterparty_created_at = true);
    case F_AMOUNT:
        if (m - 1 >= (uint64_t)RG_AMOUNT_MAX)
            return false;
        ev->amount = (int64_t)m;
        return true;
    case F_SHARES:
        if (m - 1 >= RG_SHARES_MAX)
            return (ev->shares_given = false);
        ev->shares = (int64_t)m;
        return (ev->shares_given = true);
    case F_CURRENCY: return (ev->currency_given = false); /* not a string */
    default: return false;
    }
}

/*
 * rg_usual_take for a null, on an event whose field f has not been taken
 * (its bytes still zero, as the line pass clears the event): taken (as
 * absent) when f is optional. The stores rg_usual_take_value makes for a
 * null (has_client_ts, currency_given, shares_given, ... set false) are
 * of zero over zero, so the line pass reads a null with no rg_json_val
 * and no switch. tests/unit/ingest/test_event_fastpath.c compares the two
 * on every field.
 */
static inline __attribute__((always_inline)) bool rg_usual_take_null(int f)
{
    return (RG_USUAL_OPTIONAL >> f) & 1;
}

/* After the last field: true when the fields seen are exactly a usual
 * event of the type read (nothing of another type, every required one),
 * with the type's defaults filled in as rg_event_check fills them. */
static inline bool rg_usual_finish(rg_event *ev, uint32_t seen)
{
    static const uint32_t allowed[RG_EV_TYPE_COUNT] = {
        [RG_EV_ACCOUNT_OPEN] = RG_USUAL_COMMON | F_BIT(F_REGION),
        [RG_EV_LOGIN] = RG_USUAL_COMMON,
        [RG_EV_TRANSFER] = RG_USUAL_COMMON | F_BIT(F_COUNTERPARTY) | F_BIT(F_AMOUNT) | F_BIT(F_CURRENCY) |
                           F_BIT(F_MODE) | F_BIT(F_COUNTERPARTY_CREATED_AT),
        [RG_EV_RED_PACKET_SEND] = RG_USUAL_COMMON | F_BIT(F_PACKET_ID) | F_BIT(F_AMOUNT) | F_BIT(F_SHARES) |
                                  F_BIT(F_KIND) | F_BIT(F_TARGET),
        [RG_EV_RED_PACKET_CLAIM] = RG_USUAL_COMMON | F_BIT(F_PACKET_ID) | F_BIT(F_AMOUNT),
        [RG_EV_RECALL_REQUEST] = RG_USUAL_COMMON | F_BIT(F_REF),
        [RG_EV_COMPLAINT] = RG_USUAL_COMMON | F_BIT(F_REF) | F_BIT(F_REASON),
    };

    static const uint32_t required[RG_EV_TYPE_COUNT] = {
        [RG_EV_ACCOUNT_OPEN] = RG_USUAL_REQUIRED,
        [RG_EV_LOGIN] = RG_USUAL_REQUIRED,
        [RG_EV_TRANSFER] = RG_USUAL_REQUIRED | F_BIT(F_COUNTERPARTY) | F_BIT(F_AMOUNT),
        [RG_EV_RED_PACKET_SEND] = RG_USUAL_REQUIRED | F_BIT(F_PACKET_ID) | F_BIT(F_AMOUNT),
        [RG_EV_RED_PACKET_CLAIM] = RG_USUAL_REQUIRED | F_BIT(F_PACKET_ID) | F_BIT(F_AMOUNT),
        [RG_EV_RECALL_REQUEST] = RG_USUAL_REQUIRED | F_BIT(F_REF),
        [RG_EV_COMPLAINT] = RG_USUAL_REQUIRED | F_BIT(F_REF),
    };
    if (!(seen & F_BIT(F_TYPE)))
        return false;
    rg_event_type t = ev->type;
    if ((seen & ~allowed[t]) || (seen & required[t]) != required[t])
        return false;
    if (t == RG_EV_TRANSFER && !ev->currency_given)
        ev->currency = RG_DEFAULT_CURRENCY;
    else if (t == RG_EV_RED_PACKET_SEND && !ev->shares_given)
        ev->shares = RG_DEFAULT_SHARES;
    return true;
}

#endif
