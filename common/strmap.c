#include "strmap.h"

#include <stdlib.h>
#include <string.h>

/* Allocator bookkeeping per malloc'd block, for rg_strmap_bytes estimates. */
#define MALLOC_OVERHEAD 16

struct slot {
    uint64_t hash; /* 0 means empty; real hashes are forced non-zero */
    unsigned char *entry;
};

struct rg_strmap {
    struct slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t count;
    size_t value_size;
    size_t value_size_aligned;
    size_t entry_bytes; /* sum of entry allocation sizes */
};

/* Entry layout: [value (padded to 8)][uint32: keylen | tag << 24][key][NUL].
 * The tag byte rides in the length word (keys are at most 16 MiB), so a
 * user of it (the account store's in-use bits) pays no padding. */
#define KEYLEN_BITS 24
#define KEYLEN_MASK ((UINT32_C(1) << KEYLEN_BITS) - 1)

static size_t entry_keylen(const rg_strmap *m, const unsigned char *e)
{
    uint32_t kl;
    memcpy(&kl, e + m->value_size_aligned, sizeof kl);
    return kl & KEYLEN_MASK;
}
static char *entry_key(const rg_strmap *m, unsigned char *e)
{
    return (char *)e + m->value_size_aligned + sizeof(uint32_t);
}

uint64_t rg_hash_bytes(const void *data, size_t len)
{
    /* 64-bit multiply-xorshift over 8-byte words (in the spirit of
     * wyhash/FNV): fast on short ids, and good enough spread for linear
     * probing. The seed is fixed so runs are reproducible. */
    const unsigned char *p = data;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xC2B2AE3D27D4EB4Full);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w * 0x87C37B91114253D5ull;
        h = (h << 31 | h >> 33) * 0x4CF5AD432745937Full;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    for (size_t i = 0; i < len; i++)
        w |= (uint64_t)p[i] << (8 * i);
    h ^= w * 0x87C37B91114253D5ull;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h ? h : 1;
}

rg_strmap *rg_strmap_new(size_t value_size)
{
    rg_strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->value_size = value_size;
    /* 8, not 16: values hold int64s and pointers at most, and every byte
     * of padding is paid once per entity. */
    m->value_size_aligned = (value_size + 7) & ~(size_t)7;
    return m;
}

void rg_strmap_free(rg_strmap *m, void (*free_value)(void *))
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].hash) {
            if (free_value)
                free_value(m->slots[i].entry);
            free(m->slots[i].entry);
        }
    }
    free(m->slots);
    free(m);
}

static struct slot *find(const rg_strmap *m, const char *key, size_t keylen, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct slot *s = &m->slots[i];
        if (!s->hash)
            return NULL;
        if (s->hash == h && entry_keylen(m, s->entry) == keylen &&
            memcmp(entry_key(m, s->entry), key, keylen) == 0)
            return s;
    }
}

void *rg_strmap_get(const rg_strmap *m, const char *key, size_t keylen)
{
    struct slot *s = find(m, key, keylen, rg_hash_bytes(key, keylen));
    return s ? s->entry : NULL;
}

static bool grow(rg_strmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].hash)
            continue;
        size_t j = m->slots[i].hash & (ncap - 1);
        while (ns[j].hash)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return true;
}

void *rg_strmap_put(rg_strmap *m, const char *key, size_t keylen, bool *created)
{
    uint64_t h = rg_hash_bytes(key, keylen);
    struct slot *s = find(m, key, keylen, h);
    if (created)
        *created = false;
    if (s)
        return s->entry;
    if (keylen > KEYLEN_MASK)
        return NULL;
    /* Keep the load factor under 3/4 so probe runs stay short. */
    if ((m->count + 1) * 4 > m->cap * 3 && !grow(m))
        return NULL;
    size_t esize = m->value_size_aligned + sizeof(uint32_t) + keylen + 1;
    unsigned char *e = calloc(1, esize);
    if (!e)
        return NULL;
    uint32_t kl = (uint32_t)keylen;
    memcpy(e + m->value_size_aligned, &kl, sizeof kl);
    memcpy(entry_key(m, e), key, keylen);
    size_t mask = m->cap - 1, i = h & mask;
    while (m->slots[i].hash)
        i = (i + 1) & mask;
    m->slots[i].hash = h;
    m->slots[i].entry = e;
    m->count++;
    m->entry_bytes += esize + MALLOC_OVERHEAD;
    if (created)
        *created = true;
    return e;
}

const char *rg_strmap_key(const rg_strmap *m, const void *value, size_t *keylen)
{
    const unsigned char *e = value;
    if (keylen)
        *keylen = entry_keylen(m, e);
    return entry_key(m, (unsigned char *)e);
}

/* Remove the entry at slot index i and close the gap (backward shift), so
 * that lookups never need tombstones. */
static void remove_at(rg_strmap *m, size_t i, void (*free_value)(void *))
{
    unsigned char *e = m->slots[i].entry;
    m->entry_bytes -= m->value_size_aligned + sizeof(uint32_t) + entry_keylen(m, e) + 1 + MALLOC_OVERHEAD;
    if (free_value)
        free_value(e);
    free(e);
    size_t mask = m->cap - 1;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].hash; j = (j + 1) & mask) {
        size_t home = m->slots[j].hash & mask;
        /* Move j into the hole when its home is not in (hole, j]. */
        bool between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].hash = 0;
    m->slots[hole].entry = NULL;
    m->count--;
}

bool rg_strmap_del(rg_strmap *m, const char *key, size_t keylen, void (*free_value)(void *))
{
    struct slot *s = find(m, key, keylen, rg_hash_bytes(key, keylen));
    if (!s)
        return false;
    remove_at(m, (size_t)(s - m->slots), free_value);
    return true;
}

size_t rg_strmap_sweep(rg_strmap *m, bool (*keep)(void *, void *), void *arg,
                       void (*free_value)(void *))
{
    size_t removed = 0;
    /* Backward-shift deletion can move a not-yet-visited entry into the
     * current slot, so re-examine a slot after removing from it. An entry
     * shifted from past the wrap point to before it may be seen twice,
     * which is harmless: keep() is a pure predicate. */
    for (size_t i = 0; i < m->cap;) {
        if (m->slots[i].hash && !keep(m->slots[i].entry, arg)) {
            remove_at(m, i, free_value);
            removed++;
            continue;
        }
        i++;
    }
    return removed;
}

void rg_strmap_foreach(const rg_strmap *m, bool (*fn)(const char *, size_t, void *, void *), void *arg)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].hash)
            continue;
        unsigned char *e = m->slots[i].entry;
        if (!fn(entry_key(m, e), entry_keylen(m, e), e, arg))
            return;
    }
}

size_t rg_strmap_count(const rg_strmap *m) { return m->count; }

size_t rg_strmap_bytes(const rg_strmap *m)
{
    return sizeof *m + m->cap * sizeof(struct slot) + (m->cap ? MALLOC_OVERHEAD : 0) + m->entry_bytes;
}

static int entry_cmp(const void *pa, const void *pb)
{
    const rg_strmap_item *a = pa, *b = pb;
    int r = memcmp(a->key, b->key, a->keylen < b->keylen ? a->keylen : b->keylen);
    return r ? r : (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

rg_strmap_item *rg_strmap_sorted(const rg_strmap *m, size_t *n)
{
    rg_strmap_item *items = malloc((m->count ? m->count : 1) * sizeof *items);
    *n = 0;
    if (!items)
        return NULL;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].hash)
            continue;
        unsigned char *e = m->slots[i].entry;
        items[*n].key = entry_key(m, e);
        items[*n].keylen = entry_keylen(m, e);
        items[*n].value = e;
        (*n)++;
    }
    qsort(items, *n, sizeof *items, entry_cmp);
    return items;
}

uint8_t rg_strmap_tag(const rg_strmap *m, const void *value)
{
    uint32_t kl;
    memcpy(&kl, (const unsigned char *)value + m->value_size_aligned, sizeof kl);
    return (uint8_t)(kl >> KEYLEN_BITS);
}

void rg_strmap_set_tag(rg_strmap *m, void *value, uint8_t tag)
{
    unsigned char *at = (unsigned char *)value + m->value_size_aligned;
    uint32_t kl;
    memcpy(&kl, at, sizeof kl);
    kl = (kl & KEYLEN_MASK) | (uint32_t)tag << KEYLEN_BITS;
    memcpy(at, &kl, sizeof kl);
}
