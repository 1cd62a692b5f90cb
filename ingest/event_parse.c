/*
 * event_parse — the event contract's scan pass and entry points
 * (event_parse.h). Owned by the ingest layer.
 *
 * The scan reads the top-level object itself (and the nested `location`
 * and `client` objects), so known keys are recognised without building a
 * tree: their values are kept in the parser (event_fields.h) and every
 * other value is validated and skipped by json_scan. Known keys are
 * deduplicated with a bit per field; every other key goes through the
 * scanner's per-object key set, so a duplicate is caught at any depth.
 */
#include "event_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_fields.h"
#include "event_usual.h"

const char *const rg_field_names[F_COUNT] = {
    [F_EVENT_ID] = "event_id", [F_TYPE] = "type", [F_TS] = "ts", [F_ACCOUNT] = "account",
    [F_IP] = "ip", [F_DEVICE_ID] = "device_id", [F_LOCATION] = "location",
    [F_CLIENT_TS] = "client_ts", [F_CLIENT] = "client", [F_REGION] = "region",
    [F_COUNTERPARTY] = "counterparty", [F_AMOUNT] = "amount", [F_CURRENCY] = "currency",
    [F_MODE] = "mode", [F_COUNTERPARTY_CREATED_AT] = "counterparty_created_at",
    [F_PACKET_ID] = "packet_id", [F_SHARES] = "shares", [F_KIND] = "kind", [F_TARGET] = "target",
    [F_REF] = "ref", [F_REASON] = "reason", [F_TOPIC] = "topic", [F_PARTITION] = "partition",
    [F_OFFSET] = "offset", [F_PAYLOAD] = "payload",
};

#define KEY_IS(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)

/* Known top-level key → field, or -1. Dispatch on length first: this runs
 * for every key of every line. */
static inline __attribute__((always_inline)) int field_of(const char *k, size_t len)
{
    switch (len) {
    case 2: return KEY_IS("ts") ? F_TS : KEY_IS("ip") ? F_IP : -1;
    case 3: return KEY_IS("ref") ? F_REF : -1;
    case 4: return KEY_IS("type") ? F_TYPE : KEY_IS("mode") ? F_MODE : KEY_IS("kind") ? F_KIND : -1;
    case 5: return KEY_IS("topic") ? F_TOPIC : -1;
    case 6:
        return KEY_IS("amount") ? F_AMOUNT : KEY_IS("region") ? F_REGION : KEY_IS("shares") ? F_SHARES
             : KEY_IS("target") ? F_TARGET : KEY_IS("reason") ? F_REASON : KEY_IS("client") ? F_CLIENT
             : KEY_IS("offset") ? F_OFFSET : -1;
    case 7: return KEY_IS("account") ? F_ACCOUNT : KEY_IS("payload") ? F_PAYLOAD : -1;
    case 8:
        return KEY_IS("event_id") ? F_EVENT_ID : KEY_IS("location") ? F_LOCATION
             : KEY_IS("currency") ? F_CURRENCY : -1;
    case 9:
        return KEY_IS("device_id") ? F_DEVICE_ID : KEY_IS("client_ts") ? F_CLIENT_TS
             : KEY_IS("packet_id") ? F_PACKET_ID : KEY_IS("partition") ? F_PARTITION : -1;
    case 12: return KEY_IS("counterparty") ? F_COUNTERPARTY : -1;
    case 23: return KEY_IS("counterparty_created_at") ? F_COUNTERPARTY_CREATED_AT : -1;
    default: return -1;
    }
}

/* Point p->field at a copy of a dynamic key (valid until the next parse). */
static void field_from_key(rg_event_parser *p, const char *prefix, const char *key, size_t len)
{
    size_t room = sizeof p->field_buf - 1 - strlen(prefix);
    if (len > room) {
        len = room;
        while (len > 0 && ((unsigned char)key[len] & 0xC0) == 0x80)
            len--; /* do not cut a UTF-8 sequence */
    }
    snprintf(p->field_buf, sizeof p->field_buf, "%s%.*s", prefix, (int)len, key);
    p->field = p->field_buf;
}

static int expect_colon_slow(rg_json_scanner *s)
{
    rg_json_ws(s);
    if (s->p >= s->end || *s->p != ':')
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "':' expected after key");
    s->p++;
    rg_json_ws(s);
    return 0;
}

/* ':' and no whitespace around it, the usual case, inline; else the
 * careful way. */
static inline int expect_colon(rg_json_scanner *s)
{
    if (s->end - s->p >= 2 && s->p[0] == ':' && s->p[1] > ' ') {
        s->p++;
        return 0;
    }
    return expect_colon_slow(s);
}

/* After a member: ',' (more, returns 1) or the closing '}' (returns 0). */
static int next_member_slow(rg_json_scanner *s)
{
    rg_json_ws(s);
    if (s->p >= s->end)
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "unterminated object");
    if (*s->p == '}') {
        s->p++;
        return 0;
    }
    if (*s->p != ',')
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "',' or '}' expected");
    s->p++;
    rg_json_ws(s);
    if (s->p >= s->end || *s->p != '"')
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "string key expected");
    return 1;
}

static inline int next_member(rg_json_scanner *s)
{
    if (s->end - s->p >= 2 && s->p[0] == ',' && s->p[1] == '"') {
        s->p++;
        return 1;
    }
    return next_member_slow(s);
}

/* A value at the cursor: a string by the inline fast path when it can. */
static inline int member_value(rg_json_scanner *s, int depth, rg_json_val *val)
{
    if (s->p < s->end && *s->p == '"')
        return rg_json_string_inline(s, val);
    return rg_json_value(s, depth, val);
}

/* At '{': 1 when there is a first member, 0 for {}. */
static int open_object(rg_json_scanner *s)
{
    s->p++;
    rg_json_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    if (s->p >= s->end || *s->p != '"')
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "string key expected");
    return 1;
}

/*
 * A nested object with a few known keys (location, client): known keys are
 * deduplicated by bit and their values stored through `slot`; any other
 * key is validated and skipped. `depth` is this object's level.
 */
typedef int (*sub_slot_fn)(rg_event_parser *p, const char *k, size_t len, rg_json_val **val,
                           unsigned *bit, const char **name);

static int scan_sub_object(rg_event_parser *p, int depth, unsigned *seen, sub_slot_fn slot,
                           const char *prefix)
{
    rg_json_scanner *s = &p->js;
    uint32_t obj = rg_json_object(s);
    int more = open_object(s);
    while (more > 0) {
        const unsigned char *key_at = s->p;
        size_t mark = s->arena_used;
        rg_json_val key, skipped, *val;
        unsigned bit;
        const char *name;
        if (rg_json_key_inline(s, &key) != 0)
            return -1;
        if (slot(p, key.str, key.str_len, &val, &bit, &name)) {
            s->arena_used = mark;
            if (*seen & bit) {
                s->p = key_at;
                p->field = name;
                return rg_json_fail(s, RG_REJ_DUPLICATE_KEY, "duplicate key in one object");
            }
            *seen |= bit;
        } else {
            if (rg_json_key_add(s, obj, key.str, key.str_len) != 0) {
                s->p = key_at;
                field_from_key(p, prefix, key.str, key.str_len);
                return -1;
            }
            val = &skipped;
            name = NULL;
        }
        if (expect_colon(s) != 0)
            return -1;
        int rc;
        if (val == &p->packages && s->p < s->end && *s->p == '[') {
            /* Items are checked as they go by, so no list is built. */
            rg_json_val item;
            val->type = RG_JSON_ARRAY;
            if (depth + 1 > RG_EVENT_MAX_DEPTH)
                return rg_json_fail(s, RG_REJ_TOO_DEEP, "nesting deeper than 32 levels");
            s->p++;
            rg_json_ws(s);
            rc = 0;
            if (s->p < s->end && *s->p == ']') {
                s->p++;
            } else {
                for (;;) {
                    if (rg_json_value(s, depth + 2, &item) != 0) {
                        rc = -1;
                        break;
                    }
                    size_t i = p->n_pkgs++;
                    if (i < RG_PACKAGES_MAX && item.type == RG_JSON_STRING && !item.str_has_nul &&
                        item.str_len >= 1 && item.str_len <= RG_PACKAGE_MAX) {
                        p->pkgs[i] = item.str;
                    } else if (!p->pkg_bad && i < RG_PACKAGES_MAX) {
                        p->pkg_bad = true;
                        p->pkg_bad_index = i;
                        p->pkg_bad_val = item;
                    }
                    rg_json_ws(s);
                    if (s->p < s->end && *s->p == ']') {
                        s->p++;
                        break;
                    }
                    if (s->p >= s->end || *s->p != ',') {
                        rc = rg_json_fail(s, RG_REJ_INVALID_JSON, "',' or ']' expected");
                        break;
                    }
                    s->p++;
                    rg_json_ws(s);
                }
            }
        } else {
            rc = member_value(s, depth + 1, val);
        }
        if (rc != 0) {
            if (!p->field) {
                if (name)
                    p->field = name;
                else
                    field_from_key(p, prefix, key.str, key.str_len);
            }
            return -1;
        }
        more = next_member(s);
    }
    return more;
}

static int location_slot(rg_event_parser *p, const char *k, size_t len, rg_json_val **val,
                         unsigned *bit, const char **name)
{
    if (KEY_IS("lat")) {
        *val = &p->lat, *bit = LOC_LAT, *name = "location.lat";
        return 1;
    }
    if (KEY_IS("lon")) {
        *val = &p->lon, *bit = LOC_LON, *name = "location.lon";
        return 1;
    }
    *bit = 0;
    return 0;
}

static int client_slot(rg_event_parser *p, const char *k, size_t len, rg_json_val **val,
                       unsigned *bit, const char **name)
{
    if (KEY_IS("automation")) {
        *val = &p->automation, *bit = CL_AUTOMATION, *name = "client.automation";
        return 1;
    }
    if (KEY_IS("hooked")) {
        *val = &p->hooked, *bit = CL_HOOKED, *name = "client.hooked";
        return 1;
    }
    if (KEY_IS("packages")) {
        *val = &p->packages, *bit = CL_PACKAGES, *name = "client.packages";
        return 1;
    }
    *bit = 0;
    return 0;
}

/* A top-level member's value at the cursor, for field f (-1: unknown,
 * skipped into *val): location and client are read as the sub-objects
 * they are, anything else validated as a value. */
static int top_value(rg_event_parser *p, int f, rg_json_val *val)
{
    rg_json_scanner *s = &p->js;
    if (f == F_LOCATION && s->p < s->end && *s->p == '{') {
        val->type = RG_JSON_OBJECT;
        return scan_sub_object(p, 2, &p->loc_seen, location_slot, "location.");
    }
    if (f == F_CLIENT && s->p < s->end && *s->p == '{') {
        val->type = RG_JSON_OBJECT;
        return scan_sub_object(p, 2, &p->client_seen, client_slot, "client.");
    }
    return member_value(s, 2, val);
}

int rg_event_scan_value(rg_event_parser *p, int f, rg_json_val *val) { return top_value(p, f, val); }

/* Reset what a scan collects and start the scanner on the text. */
int rg_event_scan_begin(rg_event_parser *p, const char *json, size_t len)
{
    p->seen = 0;
    p->loc_seen = p->client_seen = 0;
    p->n_pkgs = 0;
    p->pkg_bad = false;
    p->field = NULL;
    return rg_json_begin(&p->js, json, len);
}

/* A compact location object at q ('{'), {"lat":N,"lon":N} in either
 * order with plain numbers: its length, with what scan_sub_object would
 * have kept for it; -1 for anything else. */
static long compact_location(rg_event_parser *p, const unsigned char *q, const unsigned char *e)
{
    const unsigned char *start = q;
    q++;
    if (q >= e || *q != '"')
        return -1;
    rg_json_object(&p->js);
    for (;;) {
        long n = rg_json_plain_key(q, e);
        rg_json_val *val;
        unsigned bit;
        const char *name;
        if (n < 0 || !location_slot(p, (const char *)q + 1, (size_t)n, &val, &bit, &name) || (p->loc_seen & bit))
            return -1;
        p->loc_seen |= bit;
        q += n + 2;
        if (q >= e || *q != ':')
            return -1;
        q++;
        if ((n = rg_json_plain_number(q, e, &val->num)) < 0)
            return -1;
        val->type = RG_JSON_NUMBER;
        q += n;
        if (e - q >= 2 && q[0] == ',' && q[1] == '"') {
            q++;
            continue;
        }
        if (q < e && *q == '}')
            return q + 1 - start;
        return -1;
    }
}

/*
 * The scan of a compact line (no whitespace between tokens, every key
 * plain and written once), the shape of nearly every captured
 * event, with the cursor in a register: COMPACT_KEPT when the line was
 * read, with exactly the state scan() would have left (the same steps, the
 * same primitives for every value but the plain strings, which are copied
 * as rg_json_string would); COMPACT_NO on anything else, and scan() then starts the
 * line over, so every error is scan()'s. test_event_parse.c compares the
 * two on every one-byte change of sample lines.
 *
 * With `take`, each value is taken into *ev instead of being kept
 * (event_usual.h): COMPACT_USUAL when every one was and the fields make a
 * usual event, COMPACT_UNUSUAL as soon as that fails. Without, values are
 * kept in p->vals for rg_event_check: COMPACT_KEPT.
 */
enum { COMPACT_NO = 0, COMPACT_KEPT, COMPACT_USUAL, COMPACT_UNUSUAL };

static inline __attribute__((always_inline)) int scan_compact_as(rg_event_parser *p, const char *json, size_t len,
                                                                 rg_event *ev, bool take)
{
    rg_json_scanner *s = &p->js;
    if (rg_event_scan_begin(p, json, len) != 0)
        return COMPACT_NO;
    const unsigned char *q = s->start, *e = s->end;
    if (e - q < 2 || q[0] != '{' || q[1] != '"')
        return COMPACT_NO;
    uint32_t obj = rg_json_object(s);
    q++;
    uint32_t seen = 0;
    if (take) {
        memset(ev, 0, sizeof *ev);
        ev->client_automation = ev->client_hooked = -1;
    }
    for (;;) { /* q at a key's opening quote */
        long n = rg_json_plain_key(q, e);
        if (n < 0)
            return COMPACT_NO;
        int f = field_of((const char *)q + 1, (size_t)n);
        rg_json_val skipped, *kept = &skipped;
        if (f >= 0) {
            if (seen & F_BIT(f))
                return COMPACT_NO;
            seen |= F_BIT(f);
            kept = &p->vals[f];
        } else if (rg_json_key_add(s, obj, (const char *)q + 1, (size_t)n) != 0) {
            return COMPACT_NO; /* a duplicate: scan() says so */
        }
        q += n + 2;
        /* Whitespace after the ':' is no value's first byte: the value's
         * reading below refuses it, and scan() reads the line. */
        if (e - q < 2 || *q != ':')
            return COMPACT_NO;
        q++;
        /* Taking, the value is read into a local that never has its
         * address taken, so it can live in registers until taken. */
        rg_json_val local = {0}, *val = take ? &local : kept;
        unsigned c = *q;
        if (c == '"' && (n = rg_json_plain_string(q, e, s->arena + s->arena_used)) >= 0) {
            rg_json_keep_plain(s, val, (size_t)n);
            q += n + 2;
        } else if ((c - '0' <= 9 || c == '-') && (n = rg_json_plain_number(q, e, &val->num)) >= 0) {
            val->type = RG_JSON_NUMBER;
            q += n;
        } else if (f == F_LOCATION && c == '{') {
            if ((n = compact_location(p, q, e)) < 0)
                return COMPACT_NO;
            val->type = RG_JSON_OBJECT;
            q += n;
        } else {
            s->p = q;
            if (top_value(p, f, kept) != 0)
                return COMPACT_NO;
            q = s->p;
            if (take)
                local = *kept;
        }
        if (take && f >= 0 && !rg_usual_take(p, ev, f, val)) /* unknown fields are ignored */
            return COMPACT_UNUSUAL;
        if (e - q >= 2 && q[0] == ',' && q[1] == '"') {
            q++;
            continue;
        }
        if (e - q == 1 && q[0] == '}')
            break;
        return COMPACT_NO;
    }
    p->seen = seen;
    s->p = e;
    if (!take)
        return COMPACT_KEPT;
    return rg_usual_finish(ev, seen) ? COMPACT_USUAL : COMPACT_UNUSUAL;
}

/*
 * The compact scan, first taking each value into *ev as it goes by
 * (event_usual.h) without keeping it in p->vals: COMPACT_USUAL when the
 * line was a usual event, *ev then being the checked event. A line that
 * turns out not to be usual is read again keeping its values
 * (COMPACT_KEPT), for rg_event_check; COMPACT_NO sends it to scan().
 */
static int scan_compact(rg_event_parser *p, const char *json, size_t len, rg_event *ev)
{
    int r = scan_compact_as(p, json, len, ev, true);
    return r == COMPACT_UNUSUAL ? scan_compact_as(p, json, len, ev, false) : r;
}

static inline int line_pass(rg_event_parser *p, const char *json, size_t len, rg_event *ev)
{
    return rg_event_line_first(p, json, len, ev);
}

/* The scan pass over one JSON text, after the line pass gave r: 0 when it
 * is a JSON object (known fields collected; *usual when *ev is already
 * the checked event), -1 with the scanner's error otherwise. */
static int scan_after(rg_event_parser *p, const char *json, size_t len, rg_event *ev, bool *usual, int r)
{
    *usual = false;
    if (!p->general_only) {
        /* A line the line pass found compact but unusual is read again
         * keeping its values. */
        if (r == LINE_USUAL) {
            *usual = true;
            return 0;
        }
        r = r == LINE_UNUSUAL ? scan_compact_as(p, json, len, ev, false) : scan_compact(p, json, len, ev);
        *usual = r == COMPACT_USUAL;
        if (r != COMPACT_NO)
            return 0;
    }
    rg_json_scanner *s = &p->js;
    if (rg_event_scan_begin(p, json, len) != 0)
        return -1;
    rg_json_ws(s);
    if (s->p >= s->end)
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "no JSON value (empty or only whitespace)");
    if (*s->p != '{') {
        rg_json_val v;
        if (rg_json_value(s, 1, &v) != 0)
            return -1;
        rg_json_ws(s);
        if (s->p != s->end)
            return rg_json_fail(s, RG_REJ_INVALID_JSON, "trailing characters after the JSON value");
        s->err_kind = RG_REJ_NOT_OBJECT;
        snprintf(s->err_msg, sizeof s->err_msg, "an event must be a JSON object, got %s",
                 rg_json_type_desc(v.type));
        return -1;
    }
    uint32_t obj = rg_json_object(s);
    int more = open_object(s);
    while (more > 0) {
        const unsigned char *key_at = s->p;
        size_t mark = s->arena_used;
        rg_json_val key, skipped, *val = &skipped;
        if (rg_json_key_inline(s, &key) != 0)
            return -1;
        int f = field_of(key.str, key.str_len);
        if (f >= 0) {
            s->arena_used = mark; /* a known key needs no copy */
            if (p->seen & F_BIT(f)) {
                s->p = key_at;
                p->field = rg_field_names[f];
                return rg_json_fail(s, RG_REJ_DUPLICATE_KEY, "duplicate key in one object");
            }
            p->seen |= F_BIT(f);
            val = &p->vals[f];
        } else if (rg_json_key_add(s, obj, key.str, key.str_len) != 0) {
            s->p = key_at;
            field_from_key(p, "", key.str, key.str_len);
            return -1;
        }
        if (expect_colon(s) != 0)
            return -1;
        if (top_value(p, f, val) != 0) {
            if (!p->field) {
                if (f >= 0)
                    p->field = rg_field_names[f];
                else
                    field_from_key(p, "", key.str, key.str_len);
            }
            return -1;
        }
        more = next_member(s);
    }
    if (more < 0)
        return -1;
    rg_json_ws(s);
    if (s->p != s->end) {
        p->field = NULL;
        return rg_json_fail(s, RG_REJ_INVALID_JSON, "trailing characters after the JSON object");
    }
    return 0;
}

/* scan_after with the line pass first. */
static int scan(rg_event_parser *p, const char *json, size_t len, rg_event *ev, bool *usual)
{
    return scan_after(p, json, len, ev, usual, line_pass(p, json, len, ev));
}

static void scan_reject(rg_event_parser *p, rg_reject *rej)
{
    rej->kind = p->js.err_kind;
    rej->field = p->field;
    if (p->field)
        snprintf(rej->error, sizeof rej->error, "%s: %s", p->field, p->js.err_msg);
    else
        snprintf(rej->error, sizeof rej->error, "%s", p->js.err_msg);
}

rg_event_parser *rg_event_parser_new(void)
{
    return calloc(1, sizeof(rg_event_parser));
}

void rg_event_parser_free(rg_event_parser *p)
{
    if (!p)
        return;
    rg_json_scanner_free(&p->js);
    free(p->envbuf);
    free(p);
}

int rg_event_parse(rg_event_parser *p, const char *json, size_t len, rg_event *ev, rg_reject *rej)
{
    bool usual;
    if (scan(p, json, len, ev, &usual) != 0) {
        scan_reject(p, rej);
        return -1;
    }
    return usual ? 0 : rg_event_check(p, ev, rej);
}

#define ENVELOPE_KEYS (F_BIT(F_TOPIC) | F_BIT(F_PARTITION) | F_BIT(F_OFFSET))

int rg_event_parse_line(rg_event_parser *p, const char *line, size_t len, rg_event *ev,
                        rg_reject *rej, rg_event_line *info)
{
    /* The line pass called here, not through scan(): nearly every line
     * ends with it, and one call level less is measurable per line. */
    return rg_event_parse_line_after(p, line, len, ev, rej, info, line_pass(p, line, len, ev));
}

int rg_event_parse_line_after(rg_event_parser *p, const char *line, size_t len, rg_event *ev, rg_reject *rej,
                              rg_event_line *info, int r)
{
    info->is_envelope = false;
    info->event_raw = line;
    info->event_raw_len = len;
    if (r == LINE_USUAL) /* no envelope keys either */
        return 0;
    bool usual;
    if (scan_after(p, line, len, ev, &usual, r) != 0) {
        scan_reject(p, rej);
        return -1;
    }
    if (usual) /* no envelope keys either */
        return 0;
    if ((p->seen & ENVELOPE_KEYS) != ENVELOPE_KEYS || (p->seen & (F_BIT(F_EVENT_ID) | F_BIT(F_TYPE))))
        return rg_event_check(p, ev, rej);

    info->is_envelope = true;
    const rg_json_val *payload = &p->vals[F_PAYLOAD];
    if (!(p->seen & F_BIT(F_PAYLOAD)) || payload->type != RG_JSON_STRING) {
        rej->kind = RG_REJ_BAD_ENVELOPE;
        rej->field = rg_field_names[F_PAYLOAD];
        snprintf(rej->error, sizeof rej->error,
                 "payload: a kcat envelope must carry the event as a JSON string, got %s",
                 (p->seen & F_BIT(F_PAYLOAD)) ? rg_json_type_desc(payload->type) : "no payload");
        return -1;
    }
    /* The payload lives in the scanner's arena, which the next scan reuses:
     * move it aside first. */
    if (payload->str_len + 1 > p->envbuf_cap) {
        size_t cap = p->envbuf_cap ? p->envbuf_cap : 4096;
        while (cap < payload->str_len + 1)
            cap *= 2;
        char *b = realloc(p->envbuf, cap);
        if (!b) {
            rej->kind = RG_REJ_LINE_TOO_LONG;
            rej->field = rg_field_names[F_PAYLOAD];
            snprintf(rej->error, sizeof rej->error, "payload: out of memory for a payload this long");
            return -1;
        }
        p->envbuf = b;
        p->envbuf_cap = cap;
    }
    memcpy(p->envbuf, payload->str, payload->str_len);
    info->event_raw = p->envbuf;
    info->event_raw_len = payload->str_len;
    return rg_event_parse(p, p->envbuf, payload->str_len, ev, rej);
}
