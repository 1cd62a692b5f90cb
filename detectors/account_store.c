/*
 * account_store — per-account records shared by the families; see
 * account_store.h. Owner: detectors.
 *
 * Record layout: [slice 0][slice 1]...[fingerprint], every slice 8-byte
 * aligned, the key's fingerprint (8 bytes) only when a family asked for
 * it (rg_account_store_keep_fingerprints); the
 * in-use bits are the map entry's tag byte (rg_strmap_tag), which costs
 * nothing. The bits, not "all zero", say whether a slice holds
 * something: a family's zeroed slice can be a real value (a timestamp 0).
 * A dormant record is [kept slice 0][kept slice 1]... with the same bits
 * (only kept ones set). An account is in one map at a time.
 */
#include "account_store.h"

#include <stdlib.h>
#include <string.h>

#include "../common/hash.h"
#include "../common/same_bytes.h"

/* An id of the event in hand (rg_account_focus): its active record, once
 * looked up (rg_account_focus_entry, account_store.h: the inline fast
 * paths read it). Matched by the key's address and length: within one
 * event the families pass the event's own fields, and the focus is
 * dropped before the next event (and before any sweep), so an address
 * never outlives the bytes it was set for. `used` follows every change
 * of the record's tag (set_used). */
typedef rg_account_focus_entry focus;

/* A sweep asked for while sweeps are deferred (rg_account_store_defer). */
typedef struct pending_sweep {
    const rg_account_slice *sl;
    bool (*keep)(void *slice, void *arg);
    void *arg;
} pending_sweep;

struct rg_account_store {
    rg_account_store_head head;     /* first (account_store.h): the active records and the focus */
    bool defer;                     /* sweeps wait for rg_account_store_run_sweeps */
    size_t n_pending;
    pending_sweep pending[RG_ACCOUNT_MAX_SLICES];
    size_t record_size;             /* slices, then the fingerprint if kept */
    bool keep_fingerprints;         /* active records end with their key's fingerprint */
    size_t fingerprint_at;          /* its offset in an active record */
    size_t kept_size;               /* kept slices only */
    size_t n_slices;
    uint8_t kept_bits;              /* the kept slices' bits */
    uint32_t kept_offset[RG_ACCOUNT_MAX_SLICES], offset[RG_ACCOUNT_MAX_SLICES], size[RG_ACCOUNT_MAX_SLICES];
    size_t in_use[RG_ACCOUNT_MAX_SLICES];   /* records whose slice holds something */
};

rg_account_store *rg_account_store_new(void) { return calloc(1, sizeof(rg_account_store)); }

void rg_account_store_free(rg_account_store *s)
{
    if (!s)
        return;
    rg_strmap_free(s->head.records, NULL);
    rg_strmap_free(s->head.dormant, NULL);
    free(s);
}

static int reserve(rg_account_store *s, size_t size, bool kept, rg_account_slice *out)
{
    if (s->head.records || s->n_slices == RG_ACCOUNT_MAX_SLICES || size > UINT32_MAX / 2)
        return -1;
    memset(out, 0, sizeof *out);
    out->store = s;
    out->focus = s->head.focus;
    out->offset = (uint32_t)s->record_size;
    out->size = (uint32_t)((size + 7) & ~(size_t)7);
    out->bit = (uint8_t)(1u << s->n_slices);
    out->kept = kept;
    if (kept) {
        out->kept_offset = (uint32_t)s->kept_size;
        s->kept_size += out->size;
        s->kept_bits |= out->bit;
    }
    s->offset[s->n_slices] = out->offset;
    s->kept_offset[s->n_slices] = out->kept_offset;
    s->size[s->n_slices] = out->size;
    s->record_size += out->size;
    s->n_slices++;
    return 0;
}

int rg_account_store_reserve(rg_account_store *s, size_t size, rg_account_slice *out)
{
    return reserve(s, size, false, out);
}

int rg_account_store_reserve_kept(rg_account_store *s, size_t size, rg_account_slice *out)
{
    return reserve(s, size, true, out);
}

void rg_account_store_keep_fingerprints(rg_account_store *s)
{
    if (s && !s->head.records)
        s->keep_fingerprints = true;
}

int rg_account_store_seal(rg_account_store *s)
{
    if (s->head.records)
        return 0;
    s->fingerprint_at = s->record_size;
    /* Account ids of one platform share a format: the first one sets
     * the room for the key inside the record (a UUID's heap copy was a
     * second cache miss on every lookup, in its key compare). */
    s->head.records = rg_strmap_new_fitted(s->record_size + (s->keep_fingerprints ? sizeof(uint64_t) : 0),
                                           RG_STRMAP_FIT_ID);
    /* Both lives: quiet accounts move to records of their kept slices. */
    if (s->head.records && s->kept_bits && s->kept_size < s->record_size &&
        !(s->head.dormant = rg_strmap_new_fitted(s->kept_size, RG_STRMAP_FIT_ID))) {
        rg_strmap_free(s->head.records, NULL);
        s->head.records = NULL;
    }
    return s->head.records ? 0 : -1;
}

static uint8_t in_use(const rg_strmap *m, const void *record) { return rg_strmap_tag(m, record); }

/* Set an active record's in-use bits, and the focus entries' copy. */
static void set_used(rg_account_store *s, void *record, uint8_t used)
{
    rg_strmap_set_tag(s->head.records, record, used);
    for (int i = 0; i < 2; i++)
        if (s->head.focus[i].record == record)
            s->head.focus[i].used = used;
}

/* Copy the kept slices of `used` between an active and a dormant record. */
static void copy_kept(const rg_account_store *s, uint8_t used, unsigned char *active, unsigned char *dormant,
                      bool to_dormant)
{
    for (size_t i = 0; i < s->n_slices; i++) {
        if (!(used & s->kept_bits & (1u << i)))
            continue;
        if (to_dormant)
            memcpy(dormant + s->kept_offset[i], active + s->offset[i], s->size[i]);
        else
            memcpy(active + s->offset[i], dormant + s->kept_offset[i], s->size[i]);
    }
}

/* The focus entry of key (by address), or NULL. */
static focus *focus_of(rg_account_store *s, const char *key, size_t keylen)
{
    /* The inline fast paths' match (account_store.h); the store's own
     * entries, so writable here. */
    return (focus *)rg_account_focused(s->head.focus, key, keylen);
}

/* The active record of f's key: the record its hint leads to when that
 * record's key is f's, else the full lookup. */
static void *lookup(const rg_account_store *s, const focus *f)
{
    void *record = f->hint ? rg_strmap_peek_hashed(s->head.records, f->hint) : NULL;
    if (record) {
        size_t keylen;
        const char *key = rg_strmap_key(s->head.records, record, &keylen);
        if (keylen == f->keylen && rg_same_bytes(key, f->key, keylen))
            return record;
    }
    return rg_strmap_get(s->head.records, f->key, f->keylen);
}

/* The active record of a focus entry, looked up once. */
static void *resolve(rg_account_store *s, focus *f)
{
    if (!f->resolved) {
        f->record = lookup(s, f);
        f->used = f->record ? in_use(s->head.records, f->record) : 0;
        f->resolved = true;
    }
    return f->record;
}

/* The active record of key, through the focus when key is one of the
 * event's ids. */
static void *active_record(rg_account_store *s, const char *key, size_t keylen)
{
    focus *f = focus_of(s, key, keylen);
    return f ? resolve(s, f) : rg_strmap_get(s->head.records, key, keylen);
}

static uint64_t kept_fingerprint(const rg_account_store *s, const void *record)
{
    uint64_t fp;
    memcpy(&fp, (const unsigned char *)record + s->fingerprint_at, sizeof fp);
    return fp;
}

uint64_t rg_account_fingerprint(rg_account_store *s, const char *key, size_t keylen)
{
    focus *f = s ? focus_of(s, key, keylen) : NULL;
    if (!f)
        return rg_fingerprint64(key, keylen);
    if (!f->fingerprinted) {
        /* The record is the event's anyway (every family that asks
         * looks it up too): its copy, or made now. */
        void *record = !s->keep_fingerprints ? NULL : f->resolved ? f->record : resolve(s, f);
        f->fingerprint = record ? kept_fingerprint(s, record) : rg_fingerprint64(key, keylen);
        f->fingerprinted = true;
    }
    return f->fingerprint;
}

/* A new active record of key: its fingerprint, when records keep it (the
 * focus's if it made one already). */
static void record_made(rg_account_store *s, const char *key, size_t keylen, void *record)
{
    if (!s->keep_fingerprints)
        return;
    focus *f = focus_of(s, key, keylen);
    uint64_t fp = f && f->fingerprinted ? f->fingerprint : rg_fingerprint64(key, keylen);
    memcpy((unsigned char *)record + s->fingerprint_at, &fp, sizeof fp);
}

/* An active record was made for key, or (record NULL) the active record
 * `gone` was deleted: keep the focus true. Compared by bytes on a create,
 * since the account and the counterparty may be one id at two addresses. */
static void focus_created(rg_account_store *s, const char *key, size_t keylen, void *record)
{
    for (int i = 0; i < 2; i++) {
        focus *f = &s->head.focus[i];
        if (f->key && f->resolved && !f->record && f->keylen == keylen && memcmp(f->key, key, keylen) == 0) {
            f->record = record;
            f->used = in_use(s->head.records, record);
        }
    }
}

static void focus_deleted(rg_account_store *s, const void *gone)
{
    for (int i = 0; i < 2; i++)
        if (s->head.focus[i].record == gone) {
            s->head.focus[i].record = NULL;
            s->head.focus[i].used = 0;
        }
}

/* Move the dormant record of key (if any) into the fresh active record
 * `record` (just created, zero). */
static void take_dormant(rg_account_store *s, const char *key, size_t keylen, void *record)
{
    if (!s->head.dormant || !rg_strmap_count(s->head.dormant))
        return;
    unsigned char *d = rg_strmap_get(s->head.dormant, key, keylen);
    if (!d)
        return;
    uint8_t used = in_use(s->head.dormant, d);
    copy_kept(s, used, record, d, false);
    set_used(s, record, used);
    rg_strmap_del(s->head.dormant, key, keylen, NULL);
}

/* The active record `record` of key was just put (fresh: created, zero):
 * its fingerprint if new, the slices its dormant record kept, the focus. */
static void made_active(rg_account_store *s, const char *key, size_t keylen, void *record, bool fresh)
{
    if (fresh)
        record_made(s, key, keylen, record);
    take_dormant(s, key, keylen, record);
    focus_created(s, key, keylen, record);
}

/* The active record of an account whose dormant record holds the kept
 * slice `bit`: promoted. NULL when it has none, or on OOM (then it stays
 * dormant). */
static void *promote(rg_account_store *s, const char *key, size_t keylen, uint8_t bit)
{
    if (!s->head.dormant || !rg_strmap_count(s->head.dormant))
        return NULL;
    const unsigned char *d = rg_strmap_get(s->head.dormant, key, keylen);
    if (!d || !(in_use(s->head.dormant, d) & bit))
        return NULL;
    bool fresh = false;
    void *record = rg_strmap_put(s->head.records, key, keylen, &fresh);
    if (record)
        made_active(s, key, keylen, record, fresh);
    return record;
}

void rg_account_peek_records(const rg_account_store *s, uint32_t account_hash, uint32_t counterparty_hash,
                             rg_account_peeked *out)
{
    out->account = s && account_hash ? rg_strmap_peek_hashed(s->head.records, account_hash) : NULL;
    out->counterparty = s && counterparty_hash ? rg_strmap_peek_hashed(s->head.records, counterparty_hash) : NULL;
    out->account_used = out->account ? in_use(s->head.records, out->account) : 0;
    out->counterparty_used = out->counterparty ? in_use(s->head.records, out->counterparty) : 0;
}

const void *rg_account_slice_in(const rg_account_slice *sl, const void *record)
{
    if (!record || !sl->store || !(in_use(sl->store->head.records, record) & sl->bit))
        return NULL;
    return (const char *)record + sl->offset;
}

/* sl's slice of an active record (NULL: none) whose in-use bits are
 * `used`, after promoting the id's dormant record for a kept slice. */
static void *slice_of(const rg_account_slice *sl, const char *key, size_t keylen, void *record, uint8_t used)
{
    rg_account_store *s = sl->store;
    if (!record && sl->kept && (record = promote(s, key, keylen, sl->bit)))
        used = in_use(s->head.records, record);
    if (!record || !(used & sl->bit))
        return NULL;
    return (char *)record + sl->offset;
}

void *rg_account_get_focused(const rg_account_slice *sl, const rg_account_focus_entry *f)
{
    rg_account_store *s = sl->store;
    focus *mine = (focus *)f;   /* one of the store's own entries (sl->focus is s->head.focus) */
    void *record = resolve(s, mine);
    return slice_of(sl, mine->key, mine->keylen, record, mine->used);
}

void *rg_account_get_of(const rg_account_slice *sl, const char *key, size_t keylen)
{
    rg_account_store *s = sl->store;
    focus *f = focus_of(s, key, keylen);
    if (f)
        return rg_account_get_focused(sl, f);
    void *record = rg_strmap_get(s->head.records, key, keylen);
    return slice_of(sl, key, keylen, record, record ? in_use(s->head.records, record) : 0);
}

void *rg_account_put(const rg_account_slice *sl, const char *key, size_t keylen, bool *created)
{
    rg_account_store *s = sl->store;
    if (created)
        *created = false;
    bool fresh = false;
    focus *f = focus_of(s, key, keylen);
    void *record = f && f->resolved && f->record ? f->record : rg_strmap_put(s->head.records, key, keylen, &fresh);
    if (!record)
        return NULL;
    if (fresh) {
        made_active(s, key, keylen, record, true);
    } else if (f && !f->resolved) {
        f->resolved = true;
        f->record = record;
        f->used = in_use(s->head.records, record);
    }
    uint8_t used = in_use(s->head.records, record);
    if (!(used & sl->bit)) {
        /* The slice is zero: a new record, or released (which zeroes it). */
        set_used(s, record, (uint8_t)(used | sl->bit));
        s->in_use[__builtin_ctz(sl->bit)]++;
        if (created)
            *created = true;
    }
    return (char *)record + sl->offset;
}

/* Mark a slice of a record of map m empty (zeroed, so a later put starts
 * from zero); returns the bits still in use. */
static uint8_t release_in(rg_account_store *s, rg_strmap *m, void *slice_at, const rg_account_slice *sl,
                          void *record)
{
    uint8_t used = in_use(m, record);
    memset(slice_at, 0, sl->size);
    if (used & sl->bit) {
        used &= (uint8_t)~sl->bit;
        if (m == s->head.records)
            set_used(s, record, used);
        else
            rg_strmap_set_tag(m, record, used);
        s->in_use[__builtin_ctz(sl->bit)]--;
    }
    return used;
}

void rg_account_release(const rg_account_slice *sl, const char *key, size_t keylen)
{
    rg_account_store *s = sl->store;
    void *record = active_record(s, key, keylen);
    if (record) {
        if (!release_in(s, s->head.records, (char *)record + sl->offset, sl, record)) {
            focus_deleted(s, record);
            rg_strmap_del(s->head.records, key, keylen, NULL);
        }
        return;
    }
    if (sl->kept && s->head.dormant && (record = rg_strmap_get(s->head.dormant, key, keylen)) &&
        !release_in(s, s->head.dormant, (char *)record + sl->kept_offset, sl, record))
        rg_strmap_del(s->head.dormant, key, keylen, NULL);
}

typedef struct sweep_arg {
    const pending_sweep *sweeps;   /* the sweeps of the walk, one per slice */
    size_t n;
    size_t released;
} sweep_arg;

/* An active record with only kept slices in use goes to the dormant map;
 * false when it went (the sweep then removes it from the active one). */
static bool stay_active(rg_account_store *s, void *record, uint8_t used)
{
    if (!s->head.dormant || !used || (used & ~s->kept_bits))
        return true;
    size_t keylen;
    const char *key = rg_strmap_key(s->head.records, record, &keylen);
    bool fresh;
    unsigned char *d = rg_strmap_put(s->head.dormant, key, keylen, &fresh);
    if (!d || !fresh)
        return true;   /* out of memory: it stays active, nothing lost */
    copy_kept(s, used, record, d, true);
    rg_strmap_set_tag(s->head.dormant, d, used);
    return false;
}

/* One walk over the active records serves every slice swept now: each
 * record's slices are judged in turn, then it is deleted (nothing left)
 * or demoted (only kept slices left) once. */
static bool keep_record(void *record, void *opaque)
{
    sweep_arg *a = opaque;
    rg_account_store *s = a->sweeps[0].sl->store;
    uint8_t used = in_use(s->head.records, record);
    for (size_t i = 0; i < a->n; i++) {
        const rg_account_slice *sl = a->sweeps[i].sl;
        if ((used & sl->bit) && !a->sweeps[i].keep((char *)record + sl->offset, a->sweeps[i].arg)) {
            a->released++;
            used = release_in(s, s->head.records, (char *)record + sl->offset, sl, record);
            if (!used)
                return false;
        }
    }
    return stay_active(s, record, used);
}

static bool keep_dormant(void *record, void *opaque)
{
    sweep_arg *a = opaque;
    const rg_account_slice *sl = a->sweeps[0].sl;
    rg_account_store *s = sl->store;
    if (!(in_use(s->head.dormant, record) & sl->bit) || a->sweeps[0].keep((char *)record + sl->kept_offset, a->sweeps[0].arg))
        return true;
    a->released++;
    return release_in(s, s->head.dormant, (char *)record + sl->kept_offset, sl, record) != 0;
}

/* Sweep these slices: the dormant records of each kept one first (those
 * demoted below were visited already), then one walk over the active
 * records for all. Returns how many slices were released. */
static size_t sweep_now(rg_account_store *s, const pending_sweep *sweeps, size_t n)
{
    rg_account_unfocus(s);   /* records are deleted and demoted below */
    size_t released = 0;
    for (size_t i = 0; i < n; i++) {
        if (sweeps[i].sl->kept && s->head.dormant) {
            sweep_arg d = {&sweeps[i], 1, 0};
            rg_strmap_sweep(s->head.dormant, keep_dormant, &d, NULL);
            released += d.released;
        }
    }
    sweep_arg a = {sweeps, n, 0};
    rg_strmap_sweep(s->head.records, keep_record, &a, NULL);
    return released + a.released;
}

size_t rg_account_sweep(const rg_account_slice *sl, bool (*keep)(void *slice, void *arg), void *arg)
{
    rg_account_store *s = sl->store;
    pending_sweep p = {sl, keep, arg};
    if (!s->defer)
        return sweep_now(s, &p, 1);
    for (size_t i = 0; i < s->n_pending; i++)
        if (s->pending[i].sl == sl) {
            s->pending[i] = p;   /* asked twice: once is enough */
            return 0;
        }
    if (s->n_pending < RG_ACCOUNT_MAX_SLICES)
        s->pending[s->n_pending++] = p;
    return 0;
}

void rg_account_store_defer(rg_account_store *s, bool defer) { s->defer = defer; }

void rg_account_store_run_sweeps(rg_account_store *s)
{
    size_t n = s->n_pending;
    s->n_pending = 0;
    if (n)
        (void)sweep_now(s, s->pending, n);
}

typedef struct visit_arg {
    const rg_account_slice *sl;
    const rg_strmap *m;
    uint32_t offset;
    bool (*fn)(const char *key, size_t keylen, void *slice, void *arg);
    void *arg;
    bool stopped;
} visit_arg;

static bool visit_record(const char *key, size_t keylen, void *record, void *opaque)
{
    visit_arg *a = opaque;
    if (!(in_use(a->m, record) & a->sl->bit))
        return true;
    if (!a->fn(key, keylen, (char *)record + a->offset, a->arg))
        a->stopped = true;
    return !a->stopped;
}

void rg_account_foreach(const rg_account_slice *sl,
                        bool (*fn)(const char *key, size_t keylen, void *slice, void *arg), void *arg)
{
    rg_account_store *s = sl->store;
    if (!s->head.records)
        return;   /* never sealed (creation failed): nothing to visit */
    visit_arg a = {sl, s->head.records, sl->offset, fn, arg, false};
    rg_strmap_foreach(s->head.records, visit_record, &a);
    if (!a.stopped && sl->kept && s->head.dormant) {
        a.m = s->head.dormant;
        a.offset = sl->kept_offset;
        rg_strmap_foreach(s->head.dormant, visit_record, &a);
    }
}

/* The items of map m whose slice is in use, moved to the front, their
 * values pointing at the slice; returns how many. */
static size_t keep_items(const rg_strmap *m, const rg_account_slice *sl, uint32_t offset, rg_strmap_item *items,
                         size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(in_use(m, items[i].value) & sl->bit))
            continue;
        items[kept] = items[i];
        items[kept].value = (char *)items[i].value + offset;
        kept++;
    }
    return kept;
}

static int item_cmp(const rg_strmap_item *a, const rg_strmap_item *b)
{
    int r = memcmp(a->key, b->key, a->keylen < b->keylen ? a->keylen : b->keylen);
    return r ? r : (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

rg_strmap_item *rg_account_sorted(const rg_account_slice *sl, size_t *n)
{
    rg_account_store *s = sl->store;
    size_t n_active, n_dormant = 0;
    *n = 0;
    rg_strmap_item *active = rg_strmap_sorted(s->head.records, &n_active);
    if (!active)
        return NULL;
    n_active = keep_items(s->head.records, sl, sl->offset, active, n_active);
    if (!sl->kept || !s->head.dormant || !rg_strmap_count(s->head.dormant)) {
        *n = n_active;
        return active;
    }
    rg_strmap_item *dormant = rg_strmap_sorted(s->head.dormant, &n_dormant);
    rg_strmap_item *all = dormant ? malloc((n_active + n_dormant + 1) * sizeof *all) : NULL;
    if (!all) {
        free(active);
        free(dormant);
        return NULL;
    }
    n_dormant = keep_items(s->head.dormant, sl, sl->kept_offset, dormant, n_dormant);
    /* Both sorted, no key in both: merge. */
    size_t i = 0, j = 0;
    while (i < n_active || j < n_dormant)
        all[(*n)++] = j == n_dormant || (i < n_active && item_cmp(&active[i], &dormant[j]) < 0) ? active[i++]
                                                                                              : dormant[j++];
    free(active);
    free(dormant);
    return all;
}

size_t rg_account_count(const rg_account_slice *sl) { return sl->store->in_use[__builtin_ctz(sl->bit)]; }

size_t rg_account_active_records(const rg_account_store *s) { return s->head.records ? rg_strmap_count(s->head.records) : 0; }

size_t rg_account_dormant_records(const rg_account_store *s) { return s->head.dormant ? rg_strmap_count(s->head.dormant) : 0; }

size_t rg_account_records(const rg_account_store *s)
{
    return rg_account_active_records(s) + rg_account_dormant_records(s);
}

size_t rg_account_dormant_bytes(const rg_account_store *s) { return s->head.dormant ? rg_strmap_bytes(s->head.dormant) : 0; }

size_t rg_account_store_bytes(const rg_account_store *s)
{
    return sizeof *s + (s->head.records ? rg_strmap_bytes(s->head.records) : 0) + rg_account_dormant_bytes(s);
}
