/*
 * event_fields — internal to the event contract: the fields events.md
 * names, and what the scan (event_parse.c) collected for the checks
 * (event_check.c). Not for use outside ingest/.
 *
 * The parse is two passes over one line: the scan reads the whole JSON
 * text, so a syntax error anywhere wins over a contract error (a truncated
 * line is invalid_json even if its amount was already wrong), and it keeps
 * each known field's value; the check then applies events.md's rules in a
 * fixed field order, so the reject a line gets does not depend on the
 * order its keys were written in.
 */
#ifndef RG_EVENT_FIELDS_H
#define RG_EVENT_FIELDS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "event.h"
#include "event_parse.h"
#include "json_scan.h"

typedef enum rg_field {
    F_EVENT_ID = 0, F_TYPE, F_TS, F_ACCOUNT, F_IP, F_DEVICE_ID, F_LOCATION, F_CLIENT_TS,
    F_CLIENT, F_REGION, F_COUNTERPARTY, F_AMOUNT, F_CURRENCY, F_MODE,
    F_COUNTERPARTY_CREATED_AT, F_PACKET_ID, F_SHARES, F_KIND, F_TARGET, F_REF, F_REASON,
    /* kcat -J envelope keys (only looked at by rg_event_parse_line) */
    F_TOPIC, F_PARTITION, F_OFFSET, F_PAYLOAD,
    F_COUNT
} rg_field;

#define F_BIT(f) (UINT32_C(1) << (f))

/* events.md's limits on ids: event_id, device_id, packet_id and ref are
 * 1..128 bytes, account and counterparty 1..64. */
#define RG_ID_MAX 128
#define RG_ACCOUNT_ID_MAX 64

/* A transfer's currency and a red packet's shares when the event leaves
 * them out (events.md). */
#define RG_DEFAULT_CURRENCY "CNY"
#define RG_DEFAULT_SHARES 1

/* Limits we chose where events.md is silent (docs/events.md). */
#define RG_TARGET_MAX 128
#define RG_IP_TEXT_MAX 45         /* INET6_ADDRSTRLEN - 1 */
#define RG_PACKAGE_MAX 256        /* bytes per client.packages item */
#define RG_PACKAGES_MAX 256       /* items in client.packages */

/* The line pass (event_line.c) reads lines up to this long; longer ones
 * go to the compact scan. RG_LINE_PAD bytes of padding follow its copy. */
#define RG_LINE_PASS_MAX 2048
#define RG_LINE_PAD 32

/* Sub-field bits of location and client. */
enum { LOC_LAT = 1, LOC_LON = 2 };
enum { CL_AUTOMATION = 1, CL_HOOKED = 2, CL_PACKAGES = 4 };

/* The line pass's guess of the next key (event_line.c): `,"name":` as
 * the 16 bytes it is compared with, a bit per byte that must match, its
 * field's bit in the line's set of fields seen, its length, its field and
 * where the guess for the key after it is. No guess: `want` has bit 16, which a 16-byte
 * compare never sets (rg_event_line_init). */
typedef struct rg_key_guess {
    _Alignas(16) unsigned char text[16];
    uint32_t want;
    uint32_t bit; /* F_BIT(field), for the duplicate test without a shift */
    uint8_t bytes, field;
    int16_t next; /* bytes from this guess to the next key's, in its row: key_after[row][field] */
} rg_key_guess;

struct rg_event_parser {
    rg_json_scanner js;
    uint32_t seen;                /* F_BIT of each known key present */
    rg_json_val vals[F_COUNT];    /* their values (containers: type only) */
    unsigned loc_seen;
    rg_json_val lat, lon;
    unsigned client_seen;
    rg_json_val automation, hooked, packages;
    const char *pkgs[RG_PACKAGES_MAX];
    size_t n_pkgs;                /* items seen (may exceed RG_PACKAGES_MAX) */
    bool pkg_bad;                 /* an item broke the rules: the first one */
    size_t pkg_bad_index;
    rg_json_val pkg_bad_val;
    const char *field;            /* field an error is about (static or field_buf) */
    char field_buf[96];
    char *envbuf;                 /* an envelope's payload, parsed as the event */
    size_t envbuf_cap;
    bool general_only;            /* tests: skip the line pass and the compact scan (event_compact.c) */
    bool no_line_pass;            /* tests: skip the line pass (event_line.c) */
    /* The line pass's copy of the line, NUL padding after it, and the key
     * it last saw after each field, per event type (event_line.c). */
    unsigned char line[RG_LINE_PASS_MAX + RG_LINE_PAD];
    rg_key_guess key_after[RG_EV_TYPE_COUNT + 1][F_COUNT + 1];
};

extern const char *const rg_field_names[F_COUNT];

/* The line pass over a compact line (event_line.c): LINE_USUAL with *ev
 * the checked event; LINE_UNUSUAL when the line read so far is compact
 * but not a usual event (the compact scan then keeps its values for
 * rg_event_check); LINE_NO for anything else (the compact scan reads it
 * from the start). */
enum { LINE_NO = 0, LINE_USUAL, LINE_UNUSUAL };
int rg_event_line_pass(rg_event_parser *p, const char *json, size_t len, rg_event *ev);
/* The line pass's state in a new parser: no key guessed yet. */
void rg_event_line_init(rg_event_parser *p);
/* rg_event_parse_line in two steps, for rg_capture_parse (capture.c),
 * which returns at once on a usual line: the line pass, first reading of
 * every line unless a test turned it off (then LINE_NO), then the rest
 * given its result. */
static inline int rg_event_line_first(rg_event_parser *p, const char *line, size_t len, rg_event *ev)
{
    return p->general_only || p->no_line_pass ? LINE_NO : rg_event_line_pass(p, line, len, ev);
}
int rg_event_parse_line_after(rg_event_parser *p, const char *line, size_t len, rg_event *ev, rg_reject *rej,
                              rg_event_line *info, int line_result);

/* event_parse.c's scan state reset and start (-1 on out of memory), and
 * its reading of a top-level value at the scanner's cursor for field f
 * (-1: unknown), location and client read as the objects they are. */
int rg_event_scan_begin(rg_event_parser *p, const char *json, size_t len);
int rg_event_scan_value(rg_event_parser *p, int f, rg_json_val *val);

#define RG_KEY_IS(lit) (len == sizeof(lit) - 1 && memcmp(k, lit, sizeof(lit) - 1) == 0)

/* Known top-level key → field, or -1. Dispatch on length first: this runs
 * for every key of every line. */
static inline __attribute__((always_inline)) int rg_field_of(const char *k, size_t len)
{
    switch (len) {
    case 2: return RG_KEY_IS("ts") ? F_TS : RG_KEY_IS("ip") ? F_IP : -1;
    case 3: return RG_KEY_IS("ref") ? F_REF : -1;
    case 4: return RG_KEY_IS("type") ? F_TYPE : RG_KEY_IS("mode") ? F_MODE : RG_KEY_IS("kind") ? F_KIND : -1;
    case 5: return RG_KEY_IS("topic") ? F_TOPIC : -1;
    case 6:
        return RG_KEY_IS("amount") ? F_AMOUNT : RG_KEY_IS("region") ? F_REGION : RG_KEY_IS("shares") ? F_SHARES
             : RG_KEY_IS("target") ? F_TARGET : RG_KEY_IS("reason") ? F_REASON : RG_KEY_IS("client") ? F_CLIENT
             : RG_KEY_IS("offset") ? F_OFFSET : -1;
    case 7: return RG_KEY_IS("account") ? F_ACCOUNT : RG_KEY_IS("payload") ? F_PAYLOAD : -1;
    case 8:
        return RG_KEY_IS("event_id") ? F_EVENT_ID : RG_KEY_IS("location") ? F_LOCATION
             : RG_KEY_IS("currency") ? F_CURRENCY : -1;
    case 9:
        return RG_KEY_IS("device_id") ? F_DEVICE_ID : RG_KEY_IS("client_ts") ? F_CLIENT_TS
             : RG_KEY_IS("packet_id") ? F_PACKET_ID : RG_KEY_IS("partition") ? F_PARTITION : -1;
    case 12: return RG_KEY_IS("counterparty") ? F_COUNTERPARTY : -1;
    case 23: return RG_KEY_IS("counterparty_created_at") ? F_COUNTERPARTY_CREATED_AT : -1;
    default: return -1;
    }
}

/* location's member slot for key k (event_parse.c): lat or lon, with its
 * bit and name; 0 for any other key. */
int rg_event_location_slot(rg_event_parser *p, const char *k, size_t len, rg_json_val **val, unsigned *bit,
                           const char **name);

/*
 * The compact scan (event_compact.c) of a line the line pass gave r:
 * COMPACT_USUAL with *ev the checked event; COMPACT_KEPT with the values
 * kept for rg_event_check, exactly as the general scan would have kept
 * them; COMPACT_NO for a line that is not compact (the general scan then
 * reads it from the start).
 */
enum { COMPACT_NO = 0, COMPACT_KEPT, COMPACT_USUAL, COMPACT_UNUSUAL };
int rg_event_scan_compact(rg_event_parser *p, const char *json, size_t len, rg_event *ev, int r);

/* The contract checks over what the scan collected; fills ev or rej. */
int rg_event_check(rg_event_parser *p, rg_event *ev, rg_reject *rej);

#endif
