/*
 * strmap — see strmap.h. Owner: common (the detectors engineer).
 *
 * Record layout, one fixed stride per map:
 *   [value (padded to 8)][uint32: keylen | tag << 24][key room]
 * The key room holds the key and its NUL when keylen < room, else a
 * pointer to a heap copy (room >= 12, so a pointer always fits). The tag
 * byte rides in the length word (keys are at most 16 MiB), so a user of
 * it (the account store's in-use bits) pays no padding. A free record's
 * length word holds the next free record's number + 1 (the free list).
 *
 * Records are numbered. Records 64 on are in chunks of 64 (record i in
 * chunk 3 + i / 64); the first 64 in chunks of 8, 8, 16 and 32, so that
 * a map of a few entries does not hold a 64-record chunk.
 * A table slot is {32-bit hash, record number + 1} (0: empty): 8 bytes,
 * where a {64-bit hash, pointer} slot was 16 and each record was its own
 * malloc block with a header.
 */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#define CHUNK_LOG2 6
#define CHUNK_RECORDS (UINT32_C(1) << CHUNK_LOG2)
#define MAX_RECORDS (UINT32_MAX - 1)

#include "strmap_memo.h"


struct rg_strmap {
    rg_strmap_head head;        /* first (strmap.h): the table and the record chunks */
    size_t count;
    size_t grow_at;             /* 3/4 of cap: the count at which put grows the table first */
    size_t value_size;
    uint32_t n_chunks, chunks_cap;
    uint32_t fresh;             /* records [0, fresh) have been handed out */
    uint32_t *free_list;        /* numbers of deleted records, the next to reuse last */
    uint32_t n_free, free_cap;
    uint32_t spare_head;        /* deleted records the list had no memory for: the first + 1, or 0;
                                 * each one's length word names the next */
    size_t spilled_bytes;       /* heap copies of long keys, at their real size (spill_bytes) */
    size_t fit_up_to;           /* rg_strmap_new_fitted: the first key's room is still to choose, up to this */
};

#define KEYLEN_BITS RG_STRMAP_KEYLEN_BITS
#define KEYLEN_MASK RG_STRMAP_KEYLEN_MASK

size_t rg_heap_block_bytes(const void *block, size_t requested)
{
    if (!block)
        return 0;
#if defined(__GLIBC__)
    (void)requested;
    return malloc_usable_size((void *)block) + sizeof(size_t);
#else
    return requested + 16;
#endif
}

/* Built with a sanitizer: malloc is the sanitizer's, not glibc's. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZER_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SANITIZER_MALLOC 1
#endif
#endif

/* What a heap copy of a long key of `requested` bytes costs: glibc's
 * chunk for that request (the size rounded up to 16 with its 8-byte
 * header, 32 at least: what rg_heap_block_bytes reads back from the
 * block, checked for every key length by test_strmap_slab against the
 * allocator the build has). Computed, not asked of the allocator:
 * malloc_usable_size read each freed key's header, a cache miss that
 * took 7.6% of a replay's samples with 36-byte event ids (docs/bench.md
 * "Thirteenth round"). */
static inline size_t spill_bytes(size_t requested)
{
#if defined(__GLIBC__) && defined(SANITIZER_MALLOC)
    /* A sanitizer's allocator: its malloc_usable_size is the request. */
    return requested + sizeof(size_t);
#elif defined(__GLIBC__) && SIZE_MAX > UINT32_MAX
    size_t chunk = (requested + sizeof(size_t) + 15) & ~(size_t)15;
    return chunk < 32 ? 32 : chunk;
#else
    return requested + 16;
#endif
}

/* The chunk holding record i, and i's place in it (strmap.h). */
static inline __attribute__((always_inline)) uint32_t chunk_of(uint32_t i, uint32_t *offset)
{
    return rg_strmap_chunk_of_(i, offset);
}

/* Records in chunk c. */
static uint32_t chunk_records(uint32_t c) { return c >= 4 ? CHUNK_RECORDS : c == 0 ? 8 : UINT32_C(4) << c; }

/* Inlined: every probe goes through it (a call cost a third of a lookup). */
static inline __attribute__((always_inline)) unsigned char *record_at(const rg_strmap *m, uint32_t i)
{
    return rg_strmap_record_at_(&m->head, i);
}

static inline uint32_t length_word(const rg_strmap *m, const unsigned char *e)
{
    uint32_t kl;
    memcpy(&kl, e + m->head.value_size_aligned, sizeof kl);
    return kl;
}

static void set_length_word(const rg_strmap *m, unsigned char *e, uint32_t kl)
{
    memcpy(e + m->head.value_size_aligned, &kl, sizeof kl);
}

/* Fetch a record into the cache: its first line and, when the value is
 * longer than a line, the line of its length word and key too (the
 * account store's records are ~100 bytes: a lookup compares the key
 * first, so that line is the one it waits for). */
static inline __attribute__((always_inline)) void prefetch_record(const rg_strmap *m, const unsigned char *e,
                                                                   int for_write)
{
    const unsigned char *key_line = e + m->head.value_size_aligned;
    if (for_write) {
        __builtin_prefetch(e, 1);
        __builtin_prefetch(key_line, 1);
        return;
    }
    /* Every line from the record's first to its key's: the families'
     * slices of an account record lie on all of them. */
    for (uintptr_t line = (uintptr_t)e & ~(uintptr_t)63; line <= (uintptr_t)key_line; line += 64)
        __builtin_prefetch((const void *)line);
}

static inline size_t entry_keylen(const rg_strmap *m, const unsigned char *e) { return length_word(m, e) & KEYLEN_MASK; }

static inline bool key_spilled(const rg_strmap *m, size_t keylen) { return keylen >= m->head.key_room; }

static inline char *entry_key(const rg_strmap *m, unsigned char *e)
{
    unsigned char *room = e + m->head.value_size_aligned + sizeof(uint32_t);
    if (!key_spilled(m, entry_keylen(m, e)))
        return (char *)room;
    char *heap;
    memcpy(&heap, room, sizeof heap);
    return heap;
}

rg_strmap *rg_strmap_new(size_t value_size) { return rg_strmap_new_sized(value_size, RG_STRMAP_INLINE_KEY); }

/* The record layout for keys of up to inline_key bytes inline. */
static void set_key_room(rg_strmap *m, size_t inline_key)
{
    if (inline_key < 11)
        inline_key = 11;
    /* Room for the key and its NUL, so that the length word and the room
     * end on an 8-byte boundary: room = 4 (mod 8). */
    m->head.key_room = ((inline_key + 1 + 4 + 7) & ~(size_t)7) - 4;
    m->head.stride = m->head.value_size_aligned + sizeof(uint32_t) + m->head.key_room;
}

rg_strmap *rg_strmap_new_sized(size_t value_size, size_t inline_key)
{
    rg_strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->value_size = value_size;
    /* 8, not 16: values hold int64s and pointers at most, and every byte
     * of padding is paid once per entity. */
    m->head.value_size_aligned = (value_size + 7) & ~(size_t)7;
    set_key_room(m, inline_key);
    return m;
}

rg_strmap *rg_strmap_new_fitted(size_t value_size, size_t up_to)
{
    rg_strmap *m = rg_strmap_new(value_size);
    if (m && up_to > RG_STRMAP_INLINE_KEY)
        m->fit_up_to = up_to;
    return m;
}

static void free_key(rg_strmap *m, unsigned char *e)
{
    if (!key_spilled(m, entry_keylen(m, e)))
        return;
    char *heap = entry_key(m, e);
    m->spilled_bytes -= spill_bytes(entry_keylen(m, e) + 1);
    free(heap);
}

void rg_strmap_free(rg_strmap *m, void (*free_value)(void *))
{
    if (!m)
        return;
    /* Records point to nothing of the map's or the caller's: no walk
     * (dedupe's ids; a month's worth of them is a table of a million). */
    for (size_t i = 0; (free_value || m->spilled_bytes) && i < m->head.cap; i++) {
        if (!m->head.slots[i].ref)
            continue;
        unsigned char *e = record_at(m, m->head.slots[i].ref - 1);
        if (free_value)
            free_value(e);
        free_key(m, e);
    }
    for (uint32_t c = 0; c < m->n_chunks; c++)
        free(m->head.chunks[c]);
    free(m->head.chunks);
    free(m->head.slots);
    free(m->free_list);
    free(m);
}

/* The SipHash path (strmap_memo.h's hash32), out of line: inlined, its
 * registers made every caller save six of them even under AES, which
 * skips the memo (~17 instructions a hash, on ~5 hashes an event). */
static __attribute__((noinline)) uint32_t memo_hash(const char *key, size_t keylen) { return hash32(key, keylen); }

/* A key's table hash (the usual ids inline, strmap.h), else the AES
 * function by call, else through the memo: the one place the memo is
 * chosen or skipped. */
uint32_t rg_strmap_hash_any(const char *key, size_t keylen)
{
    return rg_hash_aes ? (uint32_t)rg_hash_bytes(key, keylen) : memo_hash(key, keylen);
}

static inline __attribute__((always_inline)) uint32_t table_hash(const char *key, size_t keylen)
{
    return rg_strmap_hash(key, keylen);
}

/* The slot of key, or NULL; then *empty is the empty slot where the
 * probe ended (where put places the key, unless the table grows first),
 * or SIZE_MAX without a table. When found, *record is its record: the
 * key compare had it in hand, and get and put return it (finding it
 * again from the slot was a second record_at). */
static inline __attribute__((always_inline)) struct rg_strmap_slot *find_at(const rg_strmap *m, const char *key,
                                                                  size_t keylen, uint32_t h, size_t *empty,
                                                                  unsigned char **record)
{
    *empty = SIZE_MAX;
    if (!m->head.cap)
        return NULL;
    size_t mask = m->head.cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct rg_strmap_slot *s = &m->head.slots[i];
        if (!s->ref) {
            *empty = i;
            return NULL;
        }
        if (s->hash != h)
            continue;
        unsigned char *e = record_at(m, s->ref - 1);
        if (entry_keylen(m, e) == keylen && same_key(entry_key(m, e), key, keylen)) {
            *record = e;
            return s;
        }
    }
}

static inline __attribute__((always_inline)) struct rg_strmap_slot *find(const rg_strmap *m, const char *key, size_t keylen,
                                                               uint32_t h, unsigned char **record)
{
    size_t empty;
    return find_at(m, key, keylen, h, &empty, record);
}

void *rg_strmap_get(const rg_strmap *m, const char *key, size_t keylen)
{
    unsigned char *e;
    return find(m, key, keylen, table_hash(key, keylen), &e) ? e : NULL;
}

void rg_strmap_prefetch(const rg_strmap *m, const char *key, size_t keylen, int stage)
{
    if (m && m->head.cap)
        rg_strmap_prefetch_hashed(m, table_hash(key, keylen), stage);
}

void rg_strmap_prefetch_record(const rg_strmap *m, uint32_t h)
{
    /* The slot came at stage 0; the record its hash leads to (the peek's
     * probe, strmap.h). */
    (void)rg_strmap_prefetch_peek(m, h);
}

static bool grow(rg_strmap *m)
{
    size_t ncap = m->head.cap ? m->head.cap * 2 : 64;
    if (ncap > (size_t)UINT32_MAX + 1)
        return false;
    struct rg_strmap_slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < m->head.cap; i++) {
        if (!m->head.slots[i].ref)
            continue;
        size_t j = m->head.slots[i].hash & (ncap - 1);
        while (ns[j].ref)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->head.slots[i];
    }
    free(m->head.slots);
    m->head.slots = ns;
    m->head.cap = ncap;
    m->grow_at = ncap / 4 * 3;   /* (count + 1) * 4 > cap * 3, cap a multiple of 64 */
    return true;
}

/* memset(e, 0, stride) without a call, 32 bytes a step (stride is a
 * multiple of 8 and at least 16, a few words: dedupe's records are 32
 * bytes, complaints' 64; the last step overlaps the one before when the
 * stride is not a multiple of 32). A loop of 16-byte stores cost ~25
 * instructions a put. */
static inline void zero_record(unsigned char *e, size_t stride)
{
    static const unsigned char zero[32];
    if (stride < 32) {
        memcpy(e, zero, 16);
        memcpy(e + stride - 16, zero, 16);
        return;
    }
    size_t at = 0;
    for (; at + sizeof zero <= stride; at += sizeof zero)
        memcpy(e + at, zero, sizeof zero);
    if (at < stride)
        memcpy(e + stride - sizeof zero, zero, sizeof zero);
}

/* Copy a key of keylen bytes into its room without a call for the usual
 * ids (4..16 bytes: two overlapping moves inside the key). */
static inline void copy_key(unsigned char *room, const char *key, size_t keylen)
{
    if (keylen >= 8 && keylen <= 16) {
        uint64_t a = load64(key), b = load64(key + keylen - 8);
        memcpy(room, &a, sizeof a);
        memcpy(room + keylen - 8, &b, sizeof b);
    } else if (keylen >= 4 && keylen < 8) {
        uint32_t a = load32(key), b = load32(key + keylen - 4);
        memcpy(room, &a, sizeof a);
        memcpy(room + keylen - 4, &b, sizeof b);
    } else {
        memcpy(room, key, keylen);
    }
}

/* How many inserts ahead take_record fetches a free record. */
#define FREE_AHEAD 4

/* Twice the room in the free list (4 bytes a free record: a map that
 * never deletes pays nothing). 0, or -1 on OOM: the delete then threads
 * its record through the spare list instead, nothing is lost. */
static __attribute__((noinline)) int grow_free_list(rg_strmap *m)
{
    uint64_t want = m->free_cap ? (uint64_t)m->free_cap * 2 : 64;
    if (want > MAX_RECORDS)
        want = MAX_RECORDS;
    uint32_t *fl = want > m->free_cap ? realloc(m->free_list, (size_t)want * sizeof *fl) : NULL;
    if (!fl)
        return -1;
    m->free_list = fl;
    m->free_cap = (uint32_t)want;
    return 0;
}

/* A zeroed record, its number in *number: a freed one, else the next
 * fresh one (a new chunk when the last is full). NULL on OOM. The
 * record, not only its number: put writes it next, and finding it again
 * from the number cost a second record_at. */
static unsigned char *take_record(rg_strmap *m, uint32_t *number)
{
    unsigned char *e;
    if (m->n_free) {
        uint32_t i = m->free_list[--m->n_free];
        e = record_at(m, i);
        /* Free records are scattered (a sweep frees them in table order):
         * the one FREE_AHEAD inserts from now is asked for now, so it is
         * there when its insert comes. A list threaded through the free
         * records themselves could name only the next one, and only
         * after this one's miss: the account store's demotions insert
         * back to back, and each waited for its record (7% of a replay's
         * samples with 200,000 accounts, docs/bench.md "Thirteenth
         * round"). */
        if (m->n_free >= FREE_AHEAD)
            prefetch_record(m, record_at(m, m->free_list[m->n_free - FREE_AHEAD]), 1);
        *number = i;
    } else if (m->spare_head) {
        uint32_t i = m->spare_head - 1;
        e = record_at(m, i);
        m->spare_head = length_word(m, e);
        *number = i;
    } else {
        if (m->fresh == MAX_RECORDS)
            return NULL;
        uint32_t offset, c = chunk_of(m->fresh, &offset);
        if (c == m->n_chunks) {
            if (m->n_chunks == m->chunks_cap) {
                uint32_t ncap = m->chunks_cap ? m->chunks_cap * 2 : 4;
                unsigned char **nc = realloc(m->head.chunks, (size_t)ncap * sizeof *nc);
                if (!nc)
                    return NULL;
                m->head.chunks = nc;
                m->chunks_cap = ncap;
            }
            /* malloc, not calloc: each record is zeroed as it is handed
             * out (below), in the line put writes next anyway, instead
             * of the whole chunk up front (4 KiB for complaints'
             * records, a memset that cost more than the records' own
             * zeroing). */
            unsigned char *chunk = malloc(chunk_records(m->n_chunks) * m->head.stride);
            if (!chunk)
                return NULL;
            m->head.chunks[m->n_chunks++] = chunk;
        }
        e = m->head.chunks[c] + (size_t)offset * m->head.stride;
        *number = m->fresh++;
    }
    zero_record(e, m->head.stride);
    return e;
}

void *rg_strmap_put(rg_strmap *m, const char *key, size_t keylen, bool *created)
{
    rg_strmap_place place;
    return rg_strmap_put_placed(m, key, keylen, created, &place);
}

void *rg_strmap_put_placed(rg_strmap *m, const char *key, size_t keylen, bool *created, rg_strmap_place *place)
{
    return rg_strmap_put_placed_hashed(m, key, keylen, table_hash(key, keylen), created, place);
}

void *rg_strmap_get_hashed(const rg_strmap *m, const char *key, size_t keylen, uint32_t h)
{
    unsigned char *e;
    return find(m, key, keylen, h, &e) ? e : NULL;
}

void *rg_strmap_put_placed_hashed(rg_strmap *m, const char *key, size_t keylen, uint32_t h, bool *created,
                                  rg_strmap_place *place)
{
    place->hash = h;
    size_t j;
    unsigned char *e;
    struct rg_strmap_slot *s = find_at(m, key, keylen, h, &j, &e);
    if (created)
        *created = false;
    if (s) {
        place->ref = s->ref;
        return e;
    }
    if (keylen > KEYLEN_MASK)
        return NULL;
    /* rg_strmap_new_fitted: the first key sets the room (no record has
     * been handed out, so no stride has been used yet). */
    if (m->fit_up_to) {
        if (keylen > RG_STRMAP_INLINE_KEY)
            set_key_room(m, keylen < m->fit_up_to ? keylen : m->fit_up_to);
        m->fit_up_to = 0;
    }
    /* Keep the load factor at most 3/4 so probe runs stay short. */
    if (m->count >= m->grow_at) {
        if (!grow(m))
            return NULL;
        j = SIZE_MAX;   /* the probe's empty slot was in the old table */
    }
    char *heap_key = NULL;
    if (key_spilled(m, keylen)) {
        if (!(heap_key = malloc(keylen + 1)))
            return NULL;
        memcpy(heap_key, key, keylen);
        heap_key[keylen] = 0;
    }
    uint32_t i;
    if (!(e = take_record(m, &i))) {
        free(heap_key);
        return NULL;
    }
    set_length_word(m, e, (uint32_t)keylen);
    unsigned char *room = e + m->head.value_size_aligned + sizeof(uint32_t);
    if (heap_key) {
        memcpy(room, &heap_key, sizeof heap_key);
        m->spilled_bytes += spill_bytes(keylen + 1);
    } else {
        copy_key(room, key, keylen);   /* the NUL is there: records start zeroed */
    }
    if (j == SIZE_MAX) {
        size_t mask = m->head.cap - 1;
        for (j = h & mask; m->head.slots[j].ref; j = (j + 1) & mask) {
        }
    }
    m->head.slots[j].hash = h;
    m->head.slots[j].ref = place->ref = i + 1;
    m->count++;
    if (created)
        *created = true;
    return e;
}

/* What a removed record points to: the caller's (free_value) and a
 * heap copy of its key. Out of line: dedupe's ids have neither, and
 * with these calls inside it remove_at saved and restored every
 * register it used on each delete. */
static __attribute__((noinline)) void release_record(rg_strmap *m, unsigned char *e, void (*free_value)(void *))
{
    if (free_value)
        free_value(e);
    free_key(m, e);
}

/* Remove the entry at slot index i and close the gap (backward shift), so
 * that lookups never need tombstones. Inlined into the deletes. */
static inline __attribute__((always_inline)) void remove_at(rg_strmap *m, size_t i, void (*free_value)(void *))
{
    uint32_t rec = m->head.slots[i].ref - 1;
    unsigned char *e = record_at(m, rec);
    if (free_value || key_spilled(m, entry_keylen(m, e)))
        release_record(m, e, free_value);
    /* The record goes to the free list (record_at(m, rec) is e still:
     * chunks never move). */
    if (m->n_free < m->free_cap || grow_free_list(m) == 0) {
        m->free_list[m->n_free++] = rec;
    } else {
        set_length_word(m, e, m->spare_head);
        m->spare_head = rec + 1;
    }
    size_t mask = m->head.cap - 1;
    struct rg_strmap_slot *slots = m->head.slots;
    size_t hole = i;
    for (size_t j = (i + 1) & mask; slots[j].ref; j = (j + 1) & mask) {
        /* Move j into the hole when its home is not in (hole, j]: when
         * the hole is at least as far back from j as its home is (both
         * distances around the ring, so a wrapped cluster needs no case
         * of its own). */
        if (((j - (slots[j].hash & mask)) & mask) >= ((j - hole) & mask)) {
            slots[hole] = slots[j];
            hole = j;
        }
    }
    slots[hole].hash = 0;
    slots[hole].ref = 0;
    m->count--;
}

bool rg_strmap_del(rg_strmap *m, const char *key, size_t keylen, void (*free_value)(void *))
{
    unsigned char *e;
    struct rg_strmap_slot *s = find(m, key, keylen, table_hash(key, keylen), &e);
    if (!s)
        return false;
    remove_at(m, (size_t)(s - m->head.slots), free_value);
    return true;
}

void rg_strmap_clear(rg_strmap *m, void (*free_value)(void *))
{
    if (!m || !m->count)
        return;
    /* Only records that point somewhere are visited (as in free). */
    for (size_t i = 0; (free_value || m->spilled_bytes) && i < m->head.cap; i++)
        if (m->head.slots[i].ref)
            release_record(m, record_at(m, m->head.slots[i].ref - 1), free_value);
    memset(m->head.slots, 0, m->head.cap * sizeof *m->head.slots);
    m->count = 0;
    m->fresh = 0;       /* records are handed out from the first again, */
    m->n_free = 0;      /* in the chunks the map keeps */
    m->spare_head = 0;
}

/* How far ahead a sweep prefetches records, in slots (at the table's
 * load, a half to three quarters of them records): far enough for a
 * record to arrive from memory while the ones before it are visited. A
 * packet's visit is ~60 instructions, so at 8 its record was still on its
 * way (its read held 37% of the packets sweep's samples). */
#define SWEEP_AHEAD 32

bool rg_strmap_del_placed(rg_strmap *m, rg_strmap_place place, void (*free_value)(void *))
{
    if (!m->head.cap)
        return false;
    /* The slot holds exactly {hash, ref}: slots alone are compared, no
     * record is read on the way. */
    size_t mask = m->head.cap - 1;
    for (size_t i = place.hash & mask; m->head.slots[i].ref; i = (i + 1) & mask) {
        if (m->head.slots[i].ref == place.ref && m->head.slots[i].hash == place.hash) {
            remove_at(m, i, free_value);
            return true;
        }
    }
    return false;
}

size_t rg_strmap_sweep(rg_strmap *m, bool (*keep)(void *, void *), void *arg,
                       void (*free_value)(void *))
{
    size_t removed = 0;
    if (!m->head.cap)
        return 0;
    /* Each entry is visited exactly once (keep() may have effects: the
     * account store counts, demotes and releases in it). Backward-shift
     * deletion moves entries of the current cluster back into the hole,
     * so a slot is examined again after a removal; and the walk starts
     * just past an empty slot, so no cluster wraps past the walk's start.
     * Started at slot 0 instead, an entry of a cluster that wraps the
     * table's end could be seen twice: once in the wrapped part, then
     * again after a removal shifted it back across the end. */
    size_t mask = m->head.cap - 1, start = 0;
    while (start < m->head.cap && m->head.slots[start].ref)
        start++;   /* the table always has an empty slot (load < 1) */
    for (size_t seen = 0, i = (start + 1) & mask; seen < m->head.cap;) {
        /* The table is read in order, the records it points to are not:
         * ask for a record a few slots ahead while this one is visited. */
        size_t ahead = (i + SWEEP_AHEAD) & mask;
        if (m->head.slots[ahead].ref)
            prefetch_record(m, record_at(m, m->head.slots[ahead].ref - 1), 0);   /* every line keep() may read */
        if (m->head.slots[i].ref && !keep(record_at(m, m->head.slots[i].ref - 1), arg)) {
            remove_at(m, i, free_value);
            removed++;
            continue;
        }
        i = (i + 1) & mask;
        seen++;
    }
    return removed;
}

void rg_strmap_foreach(const rg_strmap *m, bool (*fn)(const char *, size_t, void *, void *), void *arg)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->head.cap; i++) {
        if (!m->head.slots[i].ref)
            continue;
        unsigned char *e = record_at(m, m->head.slots[i].ref - 1);
        if (!fn(entry_key(m, e), entry_keylen(m, e), e, arg))
            return;
    }
}

size_t rg_strmap_count(const rg_strmap *m) { return m->count; }

size_t rg_strmap_bytes(const rg_strmap *m)
{
    size_t bytes = rg_heap_block_bytes(m, sizeof *m) + rg_heap_block_bytes(m->head.slots, m->head.cap * sizeof(struct rg_strmap_slot)) +
                   rg_heap_block_bytes(m->head.chunks, m->chunks_cap * sizeof *m->head.chunks) + m->spilled_bytes +
                   rg_heap_block_bytes(m->free_list, (size_t)m->free_cap * sizeof *m->free_list);
    for (uint32_t c = 0; c < m->n_chunks; c++)
        bytes += rg_heap_block_bytes(m->head.chunks[c], chunk_records(c) * m->head.stride);
    return bytes;
}

int rg_strmap_item_cmp(const void *pa, const void *pb)
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
    for (size_t i = 0; i < m->head.cap; i++) {
        if (!m->head.slots[i].ref)
            continue;
        unsigned char *e = record_at(m, m->head.slots[i].ref - 1);
        items[*n].key = entry_key(m, e);
        items[*n].keylen = entry_keylen(m, e);
        items[*n].value = e;
        (*n)++;
    }
    qsort(items, *n, sizeof *items, rg_strmap_item_cmp);
    return items;
}
