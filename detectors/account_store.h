/*
 * account_store — one record per account shared by every detector family
 * that keeps per-account state (velocity, login, counterparty), so an
 * account present in three families pays for one map entry, not three.
 *
 * Owner: detectors. Each family reserves a slice (a fixed number of bytes
 * at a fixed offset) when it is created; the record is all the slices of
 * the families the loaded rule file uses; which slices hold something is
 * the map entry's tag byte (free). Families only in use get a slice, so the record
 * follows the rule file. A record exists while at least one slice holds
 * something: a family that empties its slice releases it, and the record
 * goes when no slice is left.
 *
 * Two lives of a slice (rules.md "State is bounded"):
 *   windowed  what a window or a horizon bounds (velocity timestamps, a
 *             counterparty's received transfers): empty again once the
 *             account is quiet;
 *   kept      facts about the account kept for good (its registration,
 *             devices, last login country): a few bytes it keeps while
 *             it is quiet, for a year if need be.
 * A record holds every slice, so a quiet account whose windowed slices
 * are empty would keep paying for all of them. Such a record is moved
 * ("demoted") to a second map, the dormant map, whose records hold only
 * the kept slices; any access to one of its kept slices moves it back
 * ("promoted") first. So an active account costs one record with every
 * slice, and a dormant one a record of its kept slices only. The dormant
 * map exists only when the layout has both lives (with kept slices alone
 * the record already is the kept slices).
 *
 * Life: new -> reserve / reserve_kept (each family's create) -> seal (by
 * whoever made the store: the engine, or a family that got no store in
 * its config and made a private one) -> get/put/release/sweep -> free.
 * The layout never changes after seal: a rule reload builds a new store
 * and moves the state into it through the families' save/load
 * (engine.c).
 *
 * Pointers: a slice handed out by get/put is zero-filled when first
 * claimed and stays at its address until it is released or a sweep runs
 * (strmap values never move; get and put may promote a dormant record,
 * which creates an active one but never moves one handed out before).
 * Only sweeps demote, so a family must not keep a slice pointer across
 * a sweep of any family: the families' caches are reset in expire(), and
 * sweeps run only there, between events (or, deferred by the engine,
 * right after its families' expire(): rg_account_store_defer). foreach and sorted may hand out
 * dormant records (their kept slices) for the visit only.
 * Releasing or sweeping never frees what a slice points to: the family
 * does that first. Not thread-safe (the engine's thread).
 */
#ifndef RG_ACCOUNT_STORE_H
#define RG_ACCOUNT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strmap.h"

typedef struct rg_account_store rg_account_store;

/* One id of the event in hand (rg_account_focus), as the store looked it
 * up: read by the inline fast paths below, written only by
 * account_store.c. Matched by the key's address and length. */
typedef struct rg_account_focus_entry {
    const char *key;       /* NULL: unused */
    size_t keylen;
    void *record;          /* the active record, NULL when it has none */
    uint64_t fingerprint;
    uint32_t hint;         /* rg_account_focus_hint's hash of the key, 0: none */
    bool resolved;         /* record is the map's answer */
    bool fingerprinted;    /* fingerprint is the key's */
    uint8_t used;          /* record's in-use bits, while resolved with a record */
} rg_account_focus_entry;

/* The start of every store: account_store.c's own, read and written
 * here by the per-event inline paths (the engine's focus and prefetch
 * stages: each call cost more than its few stores). */
typedef struct rg_account_store_head {
    rg_strmap *records;                  /* active records; NULL until sealed */
    rg_strmap *dormant;                  /* kept slices of quiet accounts; NULL without both lives */
    rg_account_focus_entry focus[2];     /* the event's account and counterparty */
} rg_account_store_head;

/* One family's part of every record. */
typedef struct rg_account_slice {
    rg_account_store *store;
    const rg_account_focus_entry *focus;   /* the store's two, for the inline fast paths */
    uint32_t offset;        /* in an active record */
    uint32_t size;          /* bytes, a multiple of 8 */
    uint32_t kept_offset;   /* kept slices: in a dormant record */
    uint8_t bit;            /* this slice's bit in the record's in-use byte */
    bool kept;              /* kept for good (reserve_kept) */
} rg_account_slice;

#define RG_ACCOUNT_MAX_SLICES 8

rg_account_store *rg_account_store_new(void);    /* NULL on OOM */
void rg_account_store_free(rg_account_store *s); /* NULL-safe; slices' contents must be freed already */

/* A windowed slice of `size` bytes (8-byte aligned). -1 once sealed, or
 * when RG_ACCOUNT_MAX_SLICES are taken. */
int rg_account_store_reserve(rg_account_store *s, size_t size, rg_account_slice *out);
/* The same for a slice of facts kept for good: it follows its account
 * into the dormant map when the windowed slices are empty. */
int rg_account_store_reserve_kept(rg_account_store *s, size_t size, rg_account_slice *out);
/* Stage 1 of rg_account_prefetch for a caller that keeps what it found
 * for its next stage: the active record the hash leads to, its lines
 * fetched, or NULL (rg_strmap_prefetch_peek: a hint, not an answer);
 * NULL fetches the dormant record's lines instead. */
static inline const void *rg_account_prefetch_peek(const rg_account_store *s, uint32_t hash)
{
    const rg_account_store_head *h = (const rg_account_store_head *)(const void *)s;
    if (!s)
        return NULL;
    const void *active = rg_strmap_prefetch_peek(h->records, hash);
    if (!active)
        rg_strmap_prefetch_peek(h->dormant, hash);
    return active;
}
/* rg_strmap_prefetch_hashed of the record of a key whose table hash is
 * `hash` (rg_strmap_hash): stage 0 fetches its slot in the active map
 * and in the dormant one, stage 1 the active record, or the dormant one
 * when the active map has none (rg_account_prefetch_peek). An account
 * seen once every few days is dormant between its events: its first
 * access reads the dormant map (promote), and that lookup was a cold
 * miss on every such event (16% of a replay's samples with 200,000
 * accounts, docs/bench.md "Thirteenth round"). */
static inline void rg_account_prefetch(const rg_account_store *s, uint32_t hash, int stage)
{
    const rg_account_store_head *h = (const rg_account_store_head *)(const void *)s;
    if (!s)
        return;
    if (stage == 1) {
        (void)rg_account_prefetch_peek(s, hash);
        return;
    }
    rg_strmap_prefetch_hashed(h->records, hash, stage);
    rg_strmap_prefetch_hashed(h->dormant, hash, stage);
}
/* For the families' prefetch a stage after the records' (detector.h
 * prefetch_pointed): the active records with these table hashes (0: none
 * asked), NULL when absent. Hints (rg_strmap_peek_hashed): one may be
 * another account's record; read them only to fetch what they point to. */
typedef struct rg_account_peeked {
    const void *account, *counterparty;
    uint8_t account_used, counterparty_used;   /* their in-use bits (0 when absent) */
} rg_account_peeked;
void rg_account_peek_records(const rg_account_store *s, uint32_t account_hash, uint32_t counterparty_hash,
                             rg_account_peeked *out);
/* The same from records a caller peeked a stage before
 * (rg_account_prefetch_peek; NULL: none): their in-use bits read now.
 * The records may have been deleted or reused since: still hints
 * (records never move, so the bytes read are a record's), read only to
 * fetch what they point to. */
static inline void rg_account_peeked_from(const rg_account_store *s, const void *account, const void *counterparty,
                                          rg_account_peeked *out)
{
    const rg_strmap *m = ((const rg_account_store_head *)(const void *)s)->records;
    out->account = account;
    out->counterparty = counterparty;
    out->account_used = account ? rg_strmap_tag(m, account) : 0;
    out->counterparty_used = counterparty ? rg_strmap_tag(m, counterparty) : 0;
}
/* sl's slice of such a record when it holds something, else NULL. */
const void *rg_account_slice_in(const rg_account_slice *sl, const void *record);
/* The same for the records rg_account_peek_records found, by the in-use
 * bits it read with them: inline, for every family's stage 2. */
static inline const void *rg_account_peeked_slice(const rg_account_slice *sl, const rg_account_peeked *p,
                                                  bool counterparty)
{
    const void *record = counterparty ? p->counterparty : p->account;
    uint8_t used = counterparty ? p->counterparty_used : p->account_used;
    return record && (used & sl->bit) ? (const char *)record + sl->offset : NULL;
}
/* Fix the layout and create the map. 0, or -1 on OOM. */
int rg_account_store_seal(rg_account_store *s);

/* The event in hand names these ids (the counterparty may be NULL):
 * until rg_account_unfocus, get/put/release of exactly these addresses
 * and lengths look the record up once for every family (issue 16: one
 * lookup per entity per event, the record reused by every family). The
 * bytes must not change until the unfocus (the engine focuses after
 * dedupe and unfocuses after the families' update, before any expire;
 * a sweep unfocuses itself). */
static inline void rg_account_focus(rg_account_store *s, const char *account, size_t account_len,
                                    const char *counterparty, size_t counterparty_len)
{
    rg_account_store_head *h = (rg_account_store_head *)(void *)s;
    h->focus[0] = (rg_account_focus_entry){.key = account, .keylen = account_len};
    h->focus[1] = (rg_account_focus_entry){.key = counterparty, .keylen = counterparty_len};
}
static inline void rg_account_unfocus(rg_account_store *s)
{
    /* A NULL key is an unused entry (no key matches it: focus_of,
     * focus_created); rg_account_focus sets every field anew. The record
     * goes too, so no later set_used or focus_deleted meets a stale one. */
    rg_account_store_head *h = (rg_account_store_head *)(void *)s;
    h->focus[0].key = h->focus[1].key = NULL;
    h->focus[0].record = h->focus[1].record = NULL;
}
/* Hints for the focus just set: the table hashes (rg_strmap_hash) the
 * caller believes the account's and the counterparty's keys have (0: no
 * hint). The record's lookup then takes the record that hash leads to
 * when that record's key is the id's bytes (keys are unique in a map, so
 * it is the answer whatever the hint was); anything else (a stale or
 * wrong hint, no record there) falls back to the full lookup. A hint
 * changes what a lookup costs, never what it finds. */
static inline void rg_account_focus_hint(rg_account_store *s, uint32_t account_hash, uint32_t counterparty_hash)
{
    rg_account_store_head *h = (rg_account_store_head *)(void *)s;
    h->focus[0].hint = account_hash;
    h->focus[1].hint = counterparty_hash;
}
/* rg_fingerprint64(key, keylen), made once per event for a focused id
 * (matched by address and length, as get/put match them) however many
 * families ask: counterparty and packets fingerprint the acting account
 * in eval and again in update. With rg_account_store_keep_fingerprints,
 * a focused id that has an active record reads it from there (made once
 * per record instead of once per event). Any other key, or s NULL: made
 * now. */
uint64_t rg_account_fingerprint(rg_account_store *s, const char *key, size_t keylen);
/* A family that fingerprints the acting account (counterparty senders,
 * packet claimers) asks, before the seal, that every active record keep
 * its key's fingerprint: 8 bytes per active record (dormant records keep
 * none; a promoted one makes it again) for ~150 instructions an event.
 * No effect on a sealed store or NULL. */
void rg_account_store_keep_fingerprints(rg_account_store *s);

/* The account's slice, or NULL when the slice holds nothing. A kept
 * slice of a dormant account promotes it (an allocation: NULL when that
 * fails, the fact stays where it was). */
void *rg_account_get_of(const rg_account_slice *sl, const char *key, size_t keylen);
/* rg_account_get_of for the id of focus entry f (one of sl's). */
void *rg_account_get_focused(const rg_account_slice *sl, const rg_account_focus_entry *f);
/* The account's slice, claimed (zero-filled, *created true) when it held
 * nothing; a dormant account is promoted first. NULL on allocation
 * failure. `created` may be NULL. */
void *rg_account_put(const rg_account_slice *sl, const char *key, size_t keylen, bool *created);
/* The family emptied the slice (and freed what it pointed to): it holds
 * nothing now; the record goes when no slice holds anything. */
void rg_account_release(const rg_account_slice *sl, const char *key, size_t keylen);

/* Visit the records whose slice holds something (a kept slice: active
 * and dormant ones); keep(slice, arg) false means "empty now" (contents
 * freed by keep). Returns how many were released. The sweep also demotes
 * every active record it passes whose windowed slices are all empty.
 * While sweeps are deferred, it only notes the request (and returns 0):
 * keep then runs in rg_account_store_run_sweeps, with arg as it is then. */
size_t rg_account_sweep(const rg_account_slice *sl, bool (*keep)(void *slice, void *arg), void *arg);
/* Defer sweeps (the engine, around its families' expire()): the families
 * that sweep at one expiry then share one walk over the active records
 * instead of one walk each. A slice's keep must then depend only on its
 * own slice and arg (no family reads another's slice while sweeping). */
void rg_account_store_defer(rg_account_store *s, bool defer);
/* Run the sweeps noted since (one walk for all). */
void rg_account_store_run_sweeps(rg_account_store *s);
/* Visit the slices that hold something; stop when fn returns false. */
void rg_account_foreach(const rg_account_slice *sl,
                        bool (*fn)(const char *key, size_t keylen, void *slice, void *arg), void *arg);
/* The slices that hold something, by key order (rg_strmap_sorted; each
 * item's value is the slice). The caller frees; NULL on OOM. */
rg_strmap_item *rg_account_sorted(const rg_account_slice *sl, size_t *n);

size_t rg_account_count(const rg_account_slice *sl);      /* slices holding something */
size_t rg_account_records(const rg_account_store *s);      /* records (accounts), active and dormant */
size_t rg_account_active_records(const rg_account_store *s);   /* active records: what a sweep visits */
/* Map bytes, both maps: table, records, keys, allocator headers (not what
 * slices point to). */
size_t rg_account_store_bytes(const rg_account_store *s);
/* The dormant map alone: its records and bytes (0 without one). */
size_t rg_account_dormant_records(const rg_account_store *s);
size_t rg_account_dormant_bytes(const rg_account_store *s);

/* The focus entry of the event in hand that key (by address and length)
 * names, else NULL (an unused entry, key NULL, holds no answer). */
static inline const rg_account_focus_entry *rg_account_focused(const rg_account_focus_entry *f, const char *key,
                                                               size_t keylen)
{
    if (!key)
        return NULL;   /* an unused entry's key is NULL too */
    if (f[0].key == key && f[0].keylen == keylen)
        return &f[0];
    if (f[1].key == key && f[1].keylen == keylen)
        return &f[1];
    return NULL;
}

/* rg_account_get and rg_account_slice_fingerprint: the answer a focus entry
 * already holds is read here (every family after the first asks for the
 * record of an id the first one looked up, issue 16); anything else
 * (the first lookup, a dormant account's kept slice, another key) is
 * the _of function's. Same answers either way (test_account_store). */
static inline void *rg_account_get(const rg_account_slice *sl, const char *key, size_t keylen)
{
    const rg_account_focus_entry *f = rg_account_focused(sl->focus, key, keylen);
    if (!f)
        return rg_account_get_of(sl, key, keylen);
    if (!f->resolved || (!f->record && sl->kept))
        return rg_account_get_focused(sl, f);
    return f->record && (f->used & sl->bit) ? (char *)f->record + sl->offset : NULL;
}

/* rg_account_fingerprint(sl->store, key, keylen), through the focus. */
static inline uint64_t rg_account_slice_fingerprint(const rg_account_slice *sl, const char *key, size_t keylen)
{
    const rg_account_focus_entry *f = rg_account_focused(sl->focus, key, keylen);
    return f && f->fingerprinted ? f->fingerprint : rg_account_fingerprint(sl->store, key, keylen);
}

#endif
