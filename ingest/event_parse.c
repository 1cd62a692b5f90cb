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
 *
 * A line is read by up to three readings, each taking what the one before
 * could not: the line pass (event_line.c), the compact scan
 * (event_compact.c), then the general scan here, which starts the line
 * over, so every error is its own.
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

int rg_event_location_slot(rg_event_parser *p, const char *k, size_t len, rg_json_val **val,
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
        return scan_sub_object(p, 2, &p->loc_seen, rg_event_location_slot, "location.");
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
        r = rg_event_scan_compact(p, json, len, ev, r);
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
        int f = rg_field_of(key.str, key.str_len);
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
    rg_event_parser *p = calloc(1, sizeof(rg_event_parser));
    if (p)
        rg_event_line_init(p);
    return p;
}

rg_event_block rg_event_parser_text(const rg_event_parser *p, size_t len)
{
    /* Past the copy's room the line pass does not run, and nothing of the
     * event is there. */
    if (len > RG_LINE_PASS_MAX)
        return (rg_event_block){NULL, 0};
    return (rg_event_block){(const char *)p->line, len + 1};
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
