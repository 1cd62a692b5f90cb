/*
 * event_compact — the compact scan, the second of the event scan's
 * readings of a line (event_parse.c; internal to the ingest layer).
 *
 * It reads a line the line pass (event_line.c) did not take: one it found
 * compact but not a usual event (its values are then kept for
 * rg_event_check), or one it could not read (longer than its copy, an
 * escape in a string, ...), which may still be compact. Anything that is
 * not compact goes to the general scan in event_parse.c, which starts the
 * line over, so every error is the general scan's.
 */
#include <string.h>

#include "event_fields.h"
#include "event_usual.h"

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
        if (n < 0 || !rg_event_location_slot(p, (const char *)q + 1, (size_t)n, &val, &bit, &name) ||
            (p->loc_seen & bit))
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
 * read, with exactly the state the general scan (event_parse.c's scan())
 * would have left (the same steps, the same primitives for every value
 * but the plain strings, which are copied as rg_json_string would);
 * COMPACT_NO on anything else, and the general scan then starts the line
 * over, so every error is its own. test_event_parse.c compares the
 * two on every one-byte change of sample lines.
 *
 * With `take`, each value is taken into *ev instead of being kept
 * (event_usual.h): COMPACT_USUAL when every one was and the fields make a
 * usual event, COMPACT_UNUSUAL as soon as that fails. Without, values are
 * kept in p->vals for rg_event_check: COMPACT_KEPT.
 */
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
        int f = rg_field_of((const char *)q + 1, (size_t)n);
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
            if (rg_event_scan_value(p, f, kept) != 0)
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

/* The compact scan of a line the line pass gave r (LINE_NO or
 * LINE_UNUSUAL; event_fields.h). */
int rg_event_scan_compact(rg_event_parser *p, const char *json, size_t len, rg_event *ev, int r)
{
    return r == LINE_UNUSUAL ? scan_compact_as(p, json, len, ev, false) : scan_compact(p, json, len, ev);
}
