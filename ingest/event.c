/*
 * event — the names of events.md's enumerations and the platform's packet
 * lifetimes (event.h). Owned by the ingest layer. The tables are the single
 * spelling of each name: the parser matches input against them and every
 * writer prints from them.
 */
#include "event.h"

#include <string.h>

static const char *const type_names[RG_EV_TYPE_COUNT] = {
    [RG_EV_ACCOUNT_OPEN] = "account_open",
    [RG_EV_LOGIN] = "login",
    [RG_EV_TRANSFER] = "transfer",
    [RG_EV_RED_PACKET_SEND] = "red_packet_send",
    [RG_EV_RED_PACKET_CLAIM] = "red_packet_claim",
    [RG_EV_RECALL_REQUEST] = "recall_request",
    [RG_EV_COMPLAINT] = "complaint",
};

/* Their lengths, so a lookup compares only names of the right length. */
static const unsigned char type_name_len[RG_EV_TYPE_COUNT] = {
    [RG_EV_ACCOUNT_OPEN] = 12, [RG_EV_LOGIN] = 5, [RG_EV_TRANSFER] = 8, [RG_EV_RED_PACKET_SEND] = 15,
    [RG_EV_RED_PACKET_CLAIM] = 16, [RG_EV_RECALL_REQUEST] = 14, [RG_EV_COMPLAINT] = 9,
};

static const char *const kind_names[] = {
    [RG_PACKET_NORMAL] = "normal", [RG_PACKET_LUCKY] = "lucky",
    [RG_PACKET_GROUP] = "group", [RG_PACKET_TIMED] = "timed",
};

static const char *const mode_names[] = {
    [RG_MODE_REALTIME] = "realtime", [RG_MODE_DELAY_2H] = "delay_2h", [RG_MODE_DELAY_24H] = "delay_24h",
};

static const char *const reason_names[] = {
    [RG_REASON_FRAUD] = "fraud", [RG_REASON_MISTAKE] = "mistake", [RG_REASON_OTHER] = "other",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int from_name(const char *const *names, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
            return (int)i;
    return -1;
}

const char *rg_event_type_name(rg_event_type t)
{
    return (unsigned)t < COUNT(type_names) ? type_names[t] : NULL;
}

const char *rg_packet_kind_name(rg_packet_kind k)
{
    return (unsigned)k < COUNT(kind_names) ? kind_names[k] : NULL;
}

const char *rg_transfer_mode_name(rg_transfer_mode m)
{
    return (unsigned)m < COUNT(mode_names) ? mode_names[m] : NULL;
}

const char *rg_complaint_reason_name(rg_complaint_reason r)
{
    return (unsigned)r < COUNT(reason_names) ? reason_names[r] : NULL;
}

int rg_event_type_from_name(const char *name, size_t len)
{
    /* Read for every event: the type names' lengths all differ, so at
     * most one name is compared. */
    for (size_t i = 0; i < COUNT(type_names); i++)
        if (type_name_len[i] == len && memcmp(type_names[i], name, len) == 0)
            return (int)i;
    return -1;
}

int rg_packet_kind_from_name(const char *name, size_t len)
{
    return from_name(kind_names, COUNT(kind_names), name, len);
}

int rg_transfer_mode_from_name(const char *name, size_t len)
{
    return from_name(mode_names, COUNT(mode_names), name, len);
}

int rg_complaint_reason_from_name(const char *name, size_t len)
{
    return from_name(reason_names, COUNT(reason_names), name, len);
}

int64_t rg_packet_lifetime_ms(rg_packet_kind k)
{
    switch (k) {
    case RG_PACKET_NORMAL:
    case RG_PACKET_LUCKY: return INT64_C(24) * 3600 * 1000;
    case RG_PACKET_GROUP: return INT64_C(72) * 3600 * 1000;
    case RG_PACKET_TIMED: return INT64_C(60) * 1000;
    }
    return INT64_C(24) * 3600 * 1000;
}

/* The NUL-terminated strings of an event beside those with a length. */
#define EVENT_CSTRINGS(X) X(ip) X(device_id) X(region) X(currency) X(target)
#define EVENT_LSTRINGS(X) X(event_id) X(account) X(counterparty) X(packet_id) X(ref)

/* Whether s lies in the block (which then also holds its NUL). */
static inline bool in_block(const char *s, const rg_event_block *b)
{
    return (uintptr_t)s - (uintptr_t)b->at < b->len;
}

size_t rg_event_copy_size_in(const rg_event *src, const rg_event_block *block)
{
    size_t n = src->n_client_packages * sizeof(char *) + block->len;
#define ADD_C(f) n += src->f && !in_block(src->f, block) ? strlen(src->f) + 1 : 0;
#define ADD_L(f) n += src->f && !in_block(src->f, block) ? src->f##_len + 1 : 0;
    EVENT_CSTRINGS(ADD_C)
    EVENT_LSTRINGS(ADD_L)
#undef ADD_C
#undef ADD_L
    for (size_t i = 0; i < src->n_client_packages; i++)
        if (src->client_packages[i] && !in_block(src->client_packages[i], block))
            n += strlen(src->client_packages[i]) + 1;
    return n;
}

static const char *put_str(char **at, const char *s, size_t len)
{
    char *d = *at;
    memcpy(d, s, len);
    d[len] = '\0';
    *at = d + len + 1;
    return d;
}

void rg_event_copy_in(rg_event *dst, const rg_event *src, const rg_event_block *block, void *buf)
{
    *dst = *src;
    /* The package pointers first: buf is aligned for them; then the
     * block, whose strings keep their places in it; then the others. */
    const char **pkgs = buf;
    char *copy = (char *)buf + src->n_client_packages * sizeof(char *);
    char *at = copy + block->len;
    if (block->len)
        memcpy(copy, block->at, block->len);
#define MOVE(f, size)                                                                                 \
    if (src->f)                                                                                       \
        dst->f = in_block(src->f, block) ? copy + (src->f - block->at) : put_str(&at, src->f, size);
#define COPY_C(f) MOVE(f, strlen(src->f))
#define COPY_L(f) MOVE(f, src->f##_len)
    EVENT_CSTRINGS(COPY_C)
    EVENT_LSTRINGS(COPY_L)
#undef COPY_C
#undef COPY_L
#undef MOVE
    for (size_t i = 0; i < src->n_client_packages; i++) {
        const char *s = src->client_packages[i];
        pkgs[i] = !s                   ? NULL
                  : in_block(s, block) ? copy + (s - block->at)
                                       : put_str(&at, s, strlen(s));
    }
    dst->client_packages = src->n_client_packages ? (const char *const *)pkgs : src->client_packages;
}

static const rg_event_block no_block = {NULL, 0};

size_t rg_event_copy_size(const rg_event *src) { return rg_event_copy_size_in(src, &no_block); }

void rg_event_copy(rg_event *dst, const rg_event *src, void *buf) { rg_event_copy_in(dst, src, &no_block, buf); }
