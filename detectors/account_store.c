/*
 * account_store — per-account records shared by the families; see
 * account_store.h. Owner: detectors.
 *
 * Record layout: [slice 0][slice 1]..., every slice 8-byte aligned; the
 * in-use bits are the map entry's tag byte (rg_strmap_tag), which costs
 * nothing. The bits, not "all zero", say whether a slice holds
 * something: a family's zeroed slice can be a real value (a timestamp 0).
 */
#include "account_store.h"

#include <stdlib.h>
#include <string.h>

struct rg_account_store {
    rg_strmap *records;             /* NULL until sealed */
    size_t record_size;             /* slices, before the in-use byte */
    size_t n_slices;
    size_t in_use[RG_ACCOUNT_MAX_SLICES];   /* records whose slice holds something */
};

rg_account_store *rg_account_store_new(void) { return calloc(1, sizeof(rg_account_store)); }

void rg_account_store_free(rg_account_store *s)
{
    if (!s)
        return;
    rg_strmap_free(s->records, NULL);
    free(s);
}

int rg_account_store_reserve(rg_account_store *s, size_t size, rg_account_slice *out)
{
    if (s->records || s->n_slices == RG_ACCOUNT_MAX_SLICES || size > UINT32_MAX / 2)
        return -1;
    out->store = s;
    out->offset = (uint32_t)s->record_size;
    out->size = (uint32_t)((size + 7) & ~(size_t)7);
    out->bit = (uint8_t)(1u << s->n_slices);
    s->record_size += out->size;
    s->n_slices++;
    return 0;
}

int rg_account_store_seal(rg_account_store *s)
{
    if (!s->records)
        s->records = rg_strmap_new(s->record_size);
    return s->records ? 0 : -1;
}

static uint8_t in_use(const rg_account_store *s, const void *record) { return rg_strmap_tag(s->records, record); }

void *rg_account_get(const rg_account_slice *sl, const char *key, size_t keylen)
{
    rg_account_store *s = sl->store;
    void *record = rg_strmap_get(s->records, key, keylen);
    if (!record || !(in_use(s, record) & sl->bit))
        return NULL;
    return (char *)record + sl->offset;
}

void *rg_account_put(const rg_account_slice *sl, const char *key, size_t keylen, bool *created)
{
    rg_account_store *s = sl->store;
    if (created)
        *created = false;
    void *record = rg_strmap_put(s->records, key, keylen, NULL);
    if (!record)
        return NULL;
    uint8_t used = in_use(s, record);
    if (!(used & sl->bit)) {
        /* The slice is zero: a new record, or released (which zeroes it). */
        rg_strmap_set_tag(s->records, record, (uint8_t)(used | sl->bit));
        s->in_use[__builtin_ctz(sl->bit)]++;
        if (created)
            *created = true;
    }
    return (char *)record + sl->offset;
}

/* Mark the slice empty (zeroed, so a later put starts from zero); true
 * when the record still has another slice in use. */
static bool release_slice(const rg_account_slice *sl, void *record)
{
    rg_account_store *s = sl->store;
    uint8_t used = in_use(s, record);
    memset((char *)record + sl->offset, 0, sl->size);
    if (used & sl->bit) {
        used &= (uint8_t)~sl->bit;
        rg_strmap_set_tag(s->records, record, used);
        s->in_use[__builtin_ctz(sl->bit)]--;
    }
    return used != 0;
}

void rg_account_release(const rg_account_slice *sl, const char *key, size_t keylen)
{
    rg_account_store *s = sl->store;
    void *record = rg_strmap_get(s->records, key, keylen);
    if (record && !release_slice(sl, record))
        rg_strmap_del(s->records, key, keylen, NULL);
}

typedef struct sweep_arg {
    const rg_account_slice *sl;
    bool (*keep)(void *slice, void *arg);
    void *arg;
    size_t released;
} sweep_arg;

static bool keep_record(void *record, void *opaque)
{
    sweep_arg *a = opaque;
    const rg_account_slice *sl = a->sl;
    if (!(in_use(sl->store, record) & sl->bit))
        return true;   /* another family's record */
    if (a->keep((char *)record + sl->offset, a->arg))
        return true;
    a->released++;
    return release_slice(sl, record);
}

size_t rg_account_sweep(const rg_account_slice *sl, bool (*keep)(void *slice, void *arg), void *arg)
{
    sweep_arg a = {sl, keep, arg, 0};
    rg_strmap_sweep(sl->store->records, keep_record, &a, NULL);
    return a.released;
}

typedef struct visit_arg {
    const rg_account_slice *sl;
    bool (*fn)(const char *key, size_t keylen, void *slice, void *arg);
    void *arg;
} visit_arg;

static bool visit_record(const char *key, size_t keylen, void *record, void *opaque)
{
    visit_arg *a = opaque;
    if (!(in_use(a->sl->store, record) & a->sl->bit))
        return true;
    return a->fn(key, keylen, (char *)record + a->sl->offset, a->arg);
}

void rg_account_foreach(const rg_account_slice *sl,
                        bool (*fn)(const char *key, size_t keylen, void *slice, void *arg), void *arg)
{
    visit_arg a = {sl, fn, arg};
    rg_strmap_foreach(sl->store->records, visit_record, &a);
}

rg_strmap_item *rg_account_sorted(const rg_account_slice *sl, size_t *n)
{
    size_t all;
    rg_strmap_item *items = rg_strmap_sorted(sl->store->records, &all);
    *n = 0;
    if (!items)
        return NULL;
    for (size_t i = 0; i < all; i++) {
        if (!(in_use(sl->store, items[i].value) & sl->bit))
            continue;
        items[*n] = items[i];
        items[*n].value = (char *)items[i].value + sl->offset;
        (*n)++;
    }
    return items;
}

size_t rg_account_count(const rg_account_slice *sl) { return sl->store->in_use[__builtin_ctz(sl->bit)]; }

size_t rg_account_records(const rg_account_store *s) { return s->records ? rg_strmap_count(s->records) : 0; }

size_t rg_account_store_bytes(const rg_account_store *s)
{
    return sizeof *s + (s->records ? rg_strmap_bytes(s->records) : 0);
}
