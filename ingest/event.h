/*
 * event — one validated transaction event, as events.md defines it.
 *
 * An rg_event is produced only by the event contract (event_parse.h): if
 * you hold one, every rule of events.md holds for it. Downstream code
 * (dedupe, detectors, rules, decisions) never re-validates.
 *
 * Ownership: every string points into the event's own arena, which the
 * parser owns and reuses for the next line. Anything that must outlive the
 * current event (detector state, decisions) copies what it needs. Strings
 * are NUL-terminated valid UTF-8 with no NUL inside, and their byte length
 * is in the matching *_len field where one is kept.
 *
 * Optional fields: a string is NULL when absent; numbers and flags have a
 * has_* bit. Defaults of events.md (currency CNY, mode realtime, shares 1,
 * kind normal, complaint reason fraud) are filled in by the parser, and
 * the *_given bits say whether the sender actually wrote them.
 */
#ifndef RG_EVENT_H
#define RG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rg_event_type {
    RG_EV_ACCOUNT_OPEN = 0,
    RG_EV_LOGIN,
    RG_EV_TRANSFER,
    RG_EV_RED_PACKET_SEND,
    RG_EV_RED_PACKET_CLAIM,
    RG_EV_RECALL_REQUEST,
    RG_EV_COMPLAINT,
    RG_EV_TYPE_COUNT
} rg_event_type;

/* Bit for an event type in a type mask (rule `on:` lists). */
#define RG_EV_BIT(t) (1u << (t))
#define RG_EV_ALL ((1u << RG_EV_TYPE_COUNT) - 1)

/* "transfer" etc.; NULL for an out-of-range value. */
const char *rg_event_type_name(rg_event_type t);
/* Type for a name of `len` bytes; -1 when it is not one of events.md's. */
int rg_event_type_from_name(const char *name, size_t len);

typedef enum rg_packet_kind {
    RG_PACKET_NORMAL = 0, RG_PACKET_LUCKY, RG_PACKET_GROUP, RG_PACKET_TIMED
} rg_packet_kind;

typedef enum rg_transfer_mode {
    RG_MODE_REALTIME = 0, RG_MODE_DELAY_2H, RG_MODE_DELAY_24H
} rg_transfer_mode;

typedef enum rg_complaint_reason {
    RG_REASON_FRAUD = 0, RG_REASON_MISTAKE, RG_REASON_OTHER
} rg_complaint_reason;

typedef struct rg_event {
    rg_event_type type;
    int64_t ts_ms;              /* event time, epoch ms UTC */

    const char *event_id;       /* 1..128 bytes */
    size_t event_id_len;
    const char *account;        /* 1..64 bytes: the acting account */
    size_t account_len;

    /* Common optional fields. */
    const char *ip;             /* textual form as sent; NULL if absent */
    unsigned char ip_bin[16];   /* inet_pton result; IPv4 in the first 4 */
    int ip_family;              /* AF_INET, AF_INET6, or 0 when absent */
    const char *device_id;      /* 1..128 bytes */
    bool has_location;
    double lat, lon;            /* device-reported position, degrees */
    bool has_client_ts;
    int64_t client_ts_ms;

    /* client integrity signals; -1 absent, 0 false, 1 true */
    int8_t client_automation;
    int8_t client_hooked;
    bool has_client_packages;   /* the array was present (possibly empty) */
    const char *const *client_packages;
    size_t n_client_packages;

    /* account_open */
    const char *region;         /* ISO 3166-1 alpha-2, NULL if absent */

    /* transfer, red_packet_send, red_packet_claim */
    int64_t amount;             /* minor units, 1..10^12; 0 when the type has none */
    const char *counterparty;   /* transfer: 1..64 bytes */
    size_t counterparty_len;
    const char *currency;       /* ISO 4217, "CNY" by default */
    bool currency_given;
    rg_transfer_mode mode;
    bool mode_given;
    bool has_counterparty_created_at;
    int64_t counterparty_created_at_ms;

    /* red packets */
    const char *packet_id;      /* send, claim: 1..128 bytes */
    size_t packet_id_len;
    int64_t shares;             /* 1..10000, default 1 */
    bool shares_given;
    rg_packet_kind kind;
    bool kind_given;
    const char *target;

    /* recall_request, complaint */
    const char *ref;            /* 1..128 bytes */
    size_t ref_len;
    rg_complaint_reason reason; /* complaint; default fraud */
    bool reason_given;
} rg_event;

/* "normal", "lucky", ... (NULL for an out-of-range value) and the
 * reverse for a name of `len` bytes (-1 when it is not one of events.md's). */
const char *rg_packet_kind_name(rg_packet_kind k);
const char *rg_transfer_mode_name(rg_transfer_mode m);
const char *rg_complaint_reason_name(rg_complaint_reason r);
int rg_packet_kind_from_name(const char *name, size_t len);
int rg_transfer_mode_from_name(const char *name, size_t len);
int rg_complaint_reason_from_name(const char *name, size_t len);

/* A deep copy of an event, for holding it past its parser's next call
 * (replay --workers parses a batch of lines on several threads, then
 * evaluates them in order). rg_event_copy_size says how many bytes src's
 * strings and package list need; rg_event_copy fills *dst with src's
 * fields and puts every string it points to (and the client_packages
 * array) in buf, which must hold that many bytes and be aligned for a
 * pointer. A field added to rg_event that points into the parser's arena
 * must be copied here too. */
size_t rg_event_copy_size(const rg_event *src);
void rg_event_copy(rg_event *dst, const rg_event *src, void *buf);

/* The same copy, with the strings that lie in `block` moved as one piece
 * (their places kept) instead of one by one: the parser's copy of the
 * line it read, where the line pass leaves its event's strings, each
 * NUL-terminated there (rg_event_parser_text). The caller vouches that a
 * string starting in the block ends (its NUL) in it. Strings elsewhere
 * are copied as rg_event_copy does. An empty block: rg_event_copy. */
typedef struct rg_event_block {
    const char *at;
    size_t len;
} rg_event_block;
size_t rg_event_copy_size_in(const rg_event *src, const rg_event_block *block);
void rg_event_copy_in(rg_event *dst, const rg_event *src, const rg_event_block *block, void *buf);

/* Platform packet lifetime after the send's ts (events.md): normal and
 * lucky 24 h, group 72 h, timed 60 s (24 h for an out-of-range value). */
int64_t rg_packet_lifetime_ms(rg_packet_kind k);

#endif
