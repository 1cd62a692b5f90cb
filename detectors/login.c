/*
 * login — device and login history of an account: `new_device` and
 * `prev_login_country` (detection.md new_device_remote_ip).
 *
 * Owner: detectors.
 *
 * new_device (BOOL) on an event E with a device_id:
 *   TRUE   the account has an earlier login, and E.device_id was on none
 *          of the account's earlier events (any type: account_open,
 *          login, transfer, ... all carry device_id);
 *   FALSE  the device was seen before, or the account has no earlier
 *          login ("an account's first-ever event sets its history": the
 *          first login is never a new device, whatever came before it);
 *   unknown when E has no device_id.
 * prev_login_country (STRING): ip_country of the account's most recent
 * earlier login (by arrival) whose IP the GeoIP database places in a
 * country (rules.md): a login without `ip`, or with an IP the database
 * does not place (not in it, no country in its record, or a lookup
 * error), is skipped; unknown when there is none. E itself never counts:
 * both names read state from before E.
 *
 * State per account, a kept slice of the account's shared record
 * (account_store.h): facts about an account are kept for good (rules.md
 * "State is bounded"), so a login a month after the last one still knows
 * the devices and the country; there is no horizon here. The slice is a
 * flag "has logged in", the last login country (2 bytes), and the devices
 * seen as 64-bit fingerprints (rg_fingerprint64 of the id: keyed, stable
 * across restarts since they are checkpointed; a collision would hide one
 * new device, at 2^-64 per pair: negligible). The first two are inline;
 * more go to a heap array, capped at DEVICES_MAX most recently seen (a
 * device farm rotating ids must not grow memory without bound; a device
 * unused for DEVICES_MAX newer ones is new again): at most 8 + 8 x 64 B of
 * heap per account. Devices are kept only when new_device is used, the
 * country only when prev_login_country is.
 *
 * The most recently seen device's id itself, when it is short, is kept
 * beside the fingerprints (not checkpointed: a loaded record starts
 * without it; a record moved to the dormant map and back keeps it, with
 * the devices it belongs to): most events of an account come from the device of
 * its previous one, and an id equal byte for byte to that one is that
 * fingerprint, so neither new_device nor the update has to make it
 * (SipHash, ~160 instructions an event; issue 16). 16 bytes a record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/same_bytes.h"
#include "../common/strmap.h"
#include "../geo/geo.h"
#include "../rules/eval.h"
#include "detector.h"
#include "record_cache.h"
#include "window.h"

enum login_name { L_NEW_DEVICE, L_PREV_LOGIN_COUNTRY, L_COUNT };

static const rg_name_spec login_names[L_COUNT] = {
    [L_NEW_DEVICE] = {"new_device", RG_T_BOOL, {RG_ARG_NONE}, false,
                      "device_id on none of the account's earlier events, and the account has earlier logins "
                      "(false on its first login; unknown without device_id)"},
    [L_PREV_LOGIN_COUNTRY] = {"prev_login_country", RG_T_STRING, {RG_ARG_NONE}, false,
                              "ip_country of the account's previous login that the database placed; unknown if "
                              "none"},
};

#define DEVICES_INLINE 2
#define DEVICES_MAX 64
#define LAST_DEVICE_MAX 16   /* longest id kept as last_device */

typedef struct login_record {
    union {
        uint64_t *heap;
        uint64_t inline_hash[DEVICES_INLINE];
    } devices;                   /* oldest first; most recently seen last */
    uint16_t n_devices;
    uint16_t devices_cap;        /* <= DEVICES_INLINE: inline */
    bool has_login;
    char prev_login_country[2];  /* valid when [0] != 0 */
    /* The id whose fingerprint is the last of devices (the most recently
     * seen), last_device_len bytes; 0: not known (never seen, longer than
     * LAST_DEVICE_MAX, or the record was loaded from a checkpoint). */
    uint8_t last_device_len;
    char last_device[LAST_DEVICE_MAX];
} login_record;

typedef struct login_state {
    rg_record_cache cache;            /* the account of the event in hand */
    /* The event in hand's device fingerprint, made by eval (new_device)
     * for update to reuse: set between them only (update and expire
     * clear it), matched by the event as record_cache.h matches it and
     * by the device_id's address. */
    const char *fingerprinted_device; /* NULL: none */
    rg_record_cache fingerprinted_event;
    uint64_t device_fingerprint;
    rg_account_slice accounts;        /* login_record per account, in the shared store */
    rg_account_store *own_store;      /* a private store (no engine), else NULL */
    bool want_devices, want_country;
    int64_t watermark_ms;             /* highest ts folded in (kept for the checkpoint format) */
    size_t dropped;
    const rg_geo *geo;
} login_state;

static uint64_t *devices_of(login_record *r)
{
    return r->devices_cap > DEVICES_INLINE ? r->devices.heap : r->devices.inline_hash;
}

static const uint64_t *devices_of_c(const login_record *r)
{
    return r->devices_cap > DEVICES_INLINE ? r->devices.heap : r->devices.inline_hash;
}

static void free_record(void *value)
{
    login_record *r = value;
    if (r->devices_cap > DEVICES_INLINE)
        free(r->devices.heap);
    r->devices_cap = 0;
    r->n_devices = 0;
}

static bool free_record_visit(const char *key, size_t keylen, void *value, void *arg)
{
    free_record(value);
    return true;
}

static void login_destroy(void *state)
{
    login_state *s = state;
    if (!s)
        return;
    if (s->accounts.store)
        rg_account_foreach(&s->accounts, free_record_visit, NULL);
    rg_account_store_free(s->own_store);
    free(s);
}

static void configure(login_state *s, const rg_detector_config *cfg)
{
    s->want_devices = s->want_country = false;
    for (size_t i = 0; i < cfg->n_uses; i++) {
        if (cfg->uses[i]->spec == &login_names[L_NEW_DEVICE])
            s->want_devices = true;
        else if (cfg->uses[i]->spec == &login_names[L_PREV_LOGIN_COUNTRY])
            s->want_country = true;
    }
    s->geo = cfg->geo;
}

static void *login_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    login_state *s = calloc(1, sizeof *s);
    rg_account_store *store = cfg->accounts;
    if (s && !store)
        store = s->own_store = rg_account_store_new();
    if (!s || !store || rg_account_store_reserve_kept(store, sizeof(login_record), &s->accounts) != 0 ||
        (s->own_store && rg_account_store_seal(s->own_store) != 0)) {
        snprintf(errstr, errstr_size, "login: out of memory");
        login_destroy(s);
        return NULL;
    }
    s->watermark_ms = INT64_MIN / 2;
    configure(s, cfg);
    return s;
}

/* Whether device (len bytes) is the account's most recently seen device,
 * by its kept id: then it was seen, and remembering it again would change
 * nothing (it is the last already). False says nothing either way. */
static bool is_last_device(const login_record *r, const char *device, size_t len)
{
    /* Two overlapping words for the usual 8- to 16-byte ids, without
     * memcmp's call (~17 instructions an event). */
    return r->last_device_len && r->last_device_len == len && rg_same_bytes(r->last_device, device, len);
}

/* device (len bytes) was just remembered: it is the last of devices. */
static void note_last_device(login_record *r, const char *device, size_t len)
{
    r->last_device_len = len <= LAST_DEVICE_MAX ? (uint8_t)len : 0;
    if (r->last_device_len)
        memcpy(r->last_device, device, len);
}

static int device_index(const login_record *r, uint64_t device)
{
    const uint64_t *d = devices_of_c(r);
    for (int i = r->n_devices - 1; i >= 0; i--)   /* recent devices are at the end */
        if (d[i] == device)
            return i;
    return -1;
}

/* The fingerprint of E's device, made once between eval and update. */
static bool device_fingerprinted(const login_state *s, const rg_event *ev)
{
    const rg_record_cache *c = &s->fingerprinted_event;
    return s->fingerprinted_device == ev->device_id && c->ev == ev && c->ts_ms == ev->ts_ms && c->type == ev->type;
}

static uint64_t device_fingerprint(login_state *s, const rg_event *ev)
{
    if (!device_fingerprinted(s, ev)) {
        s->device_fingerprint = rg_fingerprint64(ev->device_id, strlen(ev->device_id));
        s->fingerprinted_device = ev->device_id;
        s->fingerprinted_event = (rg_record_cache){.ev = ev, .ts_ms = ev->ts_ms, .type = ev->type};
    }
    return s->device_fingerprint;
}

static rg_value login_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    login_state *s = state;
    const login_record *r = rg_record_cache_slice(&s->cache, &s->accounts, ev, ev->account, ev->account_len);
    if (use->spec == &login_names[L_NEW_DEVICE]) {
        if (!ev->device_id)
            return rg_unknown(RG_T_BOOL);
        if (!r || !r->has_login || is_last_device(r, ev->device_id, strlen(ev->device_id)))
            return rg_bool(false);
        return rg_bool(device_index(r, device_fingerprint(s, ev)) < 0);
    }
    if (use->spec == &login_names[L_PREV_LOGIN_COUNTRY]) {
        if (!r || !r->prev_login_country[0])
            return rg_unknown(RG_T_STRING);
        return rg_string(r->prev_login_country, 2);
    }
    return rg_unknown(use->spec->type);
}

/* Remember a device as the most recently seen one. -1 on OOM. */
static int remember_device(login_record *r, uint64_t device)
{
    uint64_t *d = devices_of(r);
    int at = device_index(r, device);
    if (at >= 0) {
        memmove(d + at, d + at + 1, (size_t)(r->n_devices - at - 1) * sizeof *d);
        d[r->n_devices - 1] = device;
        return 0;
    }
    uint16_t cap = r->devices_cap > DEVICES_INLINE ? r->devices_cap : DEVICES_INLINE;
    if (r->n_devices == cap && cap < DEVICES_MAX) {
        uint16_t grown = (uint16_t)(cap * 2 > DEVICES_MAX ? DEVICES_MAX : cap * 2);
        uint64_t *heap = malloc((size_t)grown * sizeof *heap);
        if (!heap)
            return -1;
        memcpy(heap, d, (size_t)r->n_devices * sizeof *heap);
        if (r->devices_cap > DEVICES_INLINE)
            free(r->devices.heap);
        r->devices.heap = heap;
        r->devices_cap = grown;
        d = heap;
        cap = grown;
    }
    if (r->n_devices == cap) {
        /* Full at DEVICES_MAX: forget the least recently seen device. */
        memmove(d, d + 1, (size_t)(r->n_devices - 1) * sizeof *d);
        r->n_devices--;
    }
    d[r->n_devices++] = device;
    return 0;
}

/* E's GeoIP record: through the context's memo when it is E's, else a
 * direct lookup (tests, or an engine that updates outside the context). */
static const rg_geo_result *event_geo(login_state *s, const rg_event *ev, struct rg_eval_ctx *ctx,
                                      rg_geo_result *buf)
{
    if (ctx && ctx->ev == ev)
        return rg_eval_geo(ctx);
    if (!s->geo || !ev->ip_family || rg_geo_lookup(s->geo, ev->ip_family, ev->ip_bin, buf) != 0 || !buf->found)
        return NULL;
    return buf;
}

static void login_update(void *state, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    login_state *s = state;
    if (ev->ts_ms > s->watermark_ms)
        s->watermark_ms = ev->ts_ms;
    bool is_login = ev->type == RG_EV_LOGIN;
    bool has_device = s->want_devices && ev->device_id;
    login_record *r = rg_record_cache_slice(&s->cache, &s->accounts, ev, ev->account, ev->account_len);
    rg_record_cache_reset(&s->cache);   /* the record may be created below */
    bool fingerprinted = has_device && device_fingerprinted(s, ev);
    s->fingerprinted_device = NULL;     /* E's alone */
    if (!r && !is_login && !has_device)
        return;   /* nothing to remember about this account yet */
    if (!r && !(r = rg_account_put(&s->accounts, ev->account, ev->account_len, NULL))) {
        s->dropped++;
        return;
    }
    size_t device_len = has_device ? strlen(ev->device_id) : 0;
    if (has_device && !is_last_device(r, ev->device_id, device_len)) {
        uint64_t fingerprint = fingerprinted ? s->device_fingerprint : rg_fingerprint64(ev->device_id, device_len);
        if (remember_device(r, fingerprint) != 0)
            s->dropped++;   /* devices unchanged: last_device still names their last */
        else
            note_last_device(r, ev->device_id, device_len);
    }
    if (!is_login)
        return;
    r->has_login = true;
    if (s->want_country) {
        rg_geo_result buf;
        const rg_geo_result *where = event_geo(s, ev, ctx, &buf);
        /* A login the database cannot place leaves the previous country:
         * "previous login country" means the last one we know. */
        if (where && where->country[0] && where->country[1]) {
            r->prev_login_country[0] = where->country[0];
            r->prev_login_country[1] = where->country[1];
        }
    }
}

/* Nothing here expires (facts kept for good); the cache goes because a
 * sweep of another family may move records (account_store.h). */
static void login_expire(void *state, int64_t watermark_ms)
{
    login_state *s = state;
    if (watermark_ms > s->watermark_ms)
        s->watermark_ms = watermark_ms;
    rg_record_cache_reset(&s->cache);
    s->fingerprinted_device = NULL;
}

static bool add_record_stats(const char *key, size_t keylen, void *value, void *arg)
{
    rg_detector_stats *out = arg;
    const login_record *r = value;
    if (r->devices_cap > DEVICES_INLINE)
        out->bytes += rg_heap_block_bytes(r->devices.heap, (size_t)r->devices_cap * sizeof(uint64_t));
    return true;
}

static void login_stats(const void *state, rg_detector_stats *out)
{
    const login_state *s = state;
    memset(out, 0, sizeof *out);
    out->entities = rg_account_count(&s->accounts);
    /* Shared records are counted by the engine; a private store here. */
    out->bytes = sizeof *s + (s->own_store ? rg_account_store_bytes(s->own_store) : 0);
    out->dropped = s->dropped;
    rg_account_foreach(&s->accounts, add_record_stats, out);
}

/* ---- checkpoint ---------------------------------------------------------
 * Format 2: watermark, dropped; per account in key order: key, has-login
 * flag, country (2 bytes, 0 0 when none), the device fingerprints oldest
 * first (their order is the eviction order). Every piece is kept
 * whichever names the file uses (a reload loads it too).
 * Format 1 (before facts were kept for good) also had a sweep counter and
 * a last touch per account, which are read and ignored, and its devices
 * were hashes of another function, which cannot be compared with today's
 * fingerprints: they are dropped, and the account's next login counts as
 * a first login (new_device false: a fact lost never raises an alert). */

#define LOGIN_STATE_VERSION 2
#define KEY_MAX 1024

static int login_save(const void *state, rg_strbuf *out)
{
    const login_state *s = state;
    rg_put_i64(out, s->watermark_ms);
    rg_put_u64(out, s->dropped);
    size_t n;
    rg_strmap_item *items = rg_account_sorted(&s->accounts, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        const login_record *r = items[k].value;
        rg_put_str(out, items[k].key, items[k].keylen);
        rg_put_u8(out, r->has_login);
        rg_put_u8(out, (uint8_t)r->prev_login_country[0]);
        rg_put_u8(out, (uint8_t)r->prev_login_country[1]);
        rg_put_u32(out, r->n_devices);
        const uint64_t *d = devices_of_c(r);
        for (uint16_t i = 0; i < r->n_devices; i++)
            rg_put_u64(out, d[i]);
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

/* One account of a format 1 or 2 blob; -1 with in->error set. */
static int load_account(login_state *s, uint32_t version, rg_reader *in)
{
    size_t keylen;
    const char *key = rg_get_str(in, KEY_MAX, &keylen, "account");
    if (version == 1)
        (void)rg_get_ts(in, "last touch");
    uint8_t has_login = rg_get_u8(in, "has login");
    char country[2] = {(char)rg_get_u8(in, "country"), (char)rg_get_u8(in, "country")};
    uint32_t n_devices = rg_get_count(in, 8, "device count");
    if (!rg_reader_ok(in))
        return -1;
    if (!key || has_login > 1 || n_devices > DEVICES_MAX || (!country[0]) != (!country[1])) {
        rg_reader_fail(in, "account", !key ? "empty key" : "bad record");
        return -1;
    }
    bool created;
    login_record *r = rg_account_put(&s->accounts, key, keylen, &created);
    if (!r || !created) {
        rg_reader_fail(in, "account", r ? "saved twice" : "out of memory");
        return -1;
    }
    r->has_login = version == 1 ? false : has_login;
    r->prev_login_country[0] = country[0];
    r->prev_login_country[1] = country[1];
    for (uint32_t i = 0; i < n_devices && rg_reader_ok(in); i++) {
        uint64_t device = rg_get_u64(in, "device");
        if (rg_reader_ok(in) && version != 1 && remember_device(r, device) != 0)
            rg_reader_fail(in, "device", "out of memory");
    }
    return rg_reader_ok(in) ? 0 : -1;
}

static int login_load(void *state, uint32_t version, rg_reader *in)
{
    login_state *s = state;
    if (version != LOGIN_STATE_VERSION && version != 1) {
        rg_reader_fail(in, "login", "unknown section version");
        return -1;
    }
    int64_t watermark_ms = rg_get_mark(in, "watermark");
    if (version == 1)
        (void)rg_get_u64(in, "sweep counter");
    uint64_t dropped = rg_get_u64(in, "dropped");
    uint32_t n = rg_get_count(in, version == 1 ? 4 + 8 + 3 + 4 : 4 + 3 + 4, "account count");
    for (uint32_t k = 0; k < n && rg_reader_ok(in); k++)
        if (load_account(s, version, in) != 0)
            break;
    if (!rg_reader_ok(in))
        return -1;
    if (rg_reader_left(in)) {
        rg_reader_fail(in, "login", "bytes after the last account");
        return -1;
    }
    s->watermark_ms = watermark_ms;
    s->dropped = (size_t)dropped;
    return 0;
}

/* Stage 2 (detector.h): an account's devices past the two held inline. */
static void login_prefetch(const void *state, const rg_event *ev, const rg_account_peeked *accounts)
{
    const login_state *s = state;
    const login_record *r = s->want_devices ? rg_account_peeked_slice(&s->accounts, accounts, false) : NULL;
    if (r && r->devices_cap > DEVICES_INLINE)
        __builtin_prefetch(r->devices.heap);
}

const rg_detector rg_detector_login = {
    .family = "login",
    .names = login_names,
    .n_names = L_COUNT,
    .create = login_create,
    .eval = login_eval,
    .update = login_update,
    .expire = login_expire,
    .prefetch_pointed = login_prefetch,
    .stats = login_stats,
    .destroy = login_destroy,
    .state_version = LOGIN_STATE_VERSION,
    .save = login_save,
    .load = login_load,
    .kept = RG_KEPT_ACCOUNT,
    .state = "per account: the device ids it used (8 B hashes, at most 64), the last placed login country "
             "(2 B) and the last device's id (up to 16 B), in a 40 B record slice; kept for good",
};
