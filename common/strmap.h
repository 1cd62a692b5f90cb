/*
 * strmap — a hash map from byte-string keys to fixed-size value records.
 *
 * This is where per-entity state lives (accounts, counterparties, packets,
 * event ids), so it is built for many small records, and its own cost per
 * entry is kept to a few bytes:
 *   - records live in slabs (chunks of up to 64 records of one fixed stride:
 *     [value][key length and tag byte][key]), so a record costs no
 *     allocator header of its own; a deleted record's place is reused by
 *     the next insert;
 *   - the key is stored inline, NUL-terminated, when it is at most the
 *     map's inline key length (rg_strmap_new_sized; 19 bytes by default);
 *     a longer key costs one heap copy beside the record;
 *   - the table holds 8 bytes per slot, a 32-bit hash and a 32-bit record
 *     number (open addressing, linear probing, load <= 3/4,
 *     backward-shift deletion, so no tombstones accumulate on an endless
 *     stream).
 * Neither the slabs nor the table shrink: a map keeps the memory of its
 * peak entry count (a stream's live population is what it sizes for).
 * At most 2^32 - 2 entries.
 *
 * Value records never move once created (slabs are never reallocated),
 * so a pointer returned by get/put stays valid until that key is deleted
 * or the map is freed, across any number of other inserts.
 *
 * Keys are placed by rg_hash_bytes (common/hash.h): AES rounds or
 * SipHash under a key drawn per process, so ids from events cannot be
 * crafted to collide. Iteration order (foreach, sweep) therefore differs
 * from run to run: whatever reaches output or a checkpoint goes through
 * rg_strmap_sorted. Under SipHash each thread remembers the hashes of the
 * last short keys it hashed, for every map (strmap_memo.h): one event's
 * keys are looked up by several families in several maps. The AES rounds
 * cost less than a hit in that memo, so it is skipped with them.
 *
 * Not thread-safe: one map, one thread at a time (concurrent gets would
 * do, the memo being per thread, but nothing promises it).
 */
#ifndef RG_STRMAP_H
#define RG_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hash.h"

typedef struct rg_strmap rg_strmap;

/* New empty map whose values are `value_size` bytes (may be 0), keys of
 * up to RG_STRMAP_INLINE_KEY bytes inline. NULL on OOM. */
rg_strmap *rg_strmap_new(size_t value_size);
#define RG_STRMAP_INLINE_KEY 19
/* The same with keys of up to `inline_key` bytes stored inline (rounded
 * up so the record stays 8-byte aligned; at least 11). Pick it from the
 * ids the map holds: a shorter key wastes the rest of the room, a longer
 * one costs a heap copy (its length + 1, plus an allocator header). */
rg_strmap *rg_strmap_new_sized(size_t value_size, size_t inline_key);
/* The same for a map whose keys share one format it cannot know in
 * advance (event ids, packet ids: "e-0012983" on one platform, a 36-byte
 * UUID on another): the room is chosen at the first insert, for that
 * key's length (RG_STRMAP_INLINE_KEY at least, `up_to` at most). A key
 * longer than the room still costs a heap copy, as in any map. With
 * 36-byte ids in the default room every id was a malloc and a free, 22%
 * of a replay's samples (docs/bench.md "Thirteenth round"). */
rg_strmap *rg_strmap_new_fitted(size_t value_size, size_t up_to);
/* The room rg_strmap_new_fitted's maps of event ids and packet ids take
 * at most: a UUID with its dashes (36), a ULID (26), a snowflake (19). */
#define RG_STRMAP_FIT_ID 39

/* Free the map. `free_value`, when not NULL, is called on each value record
 * first (to release what the record points to; not the record itself).
 * NULL-safe. */
void rg_strmap_free(rg_strmap *m, void (*free_value)(void *value));

/* Value record for key, or NULL when absent. */
void *rg_strmap_get(const rg_strmap *m, const char *key, size_t keylen);

/* A hint that key will be looked up soon: stage 0 fetches its table slot
 * into the cache, stage 1 (once the slot is there) its record. Changes
 * nothing; any key, present or not. */
void rg_strmap_prefetch(const rg_strmap *m, const char *key, size_t keylen, int stage);

/* The table hash every map places key by (the same in all maps of the
 * process; per process, hash.h: never save or print it). Inline for the
 * usual ids (hash.h rg_hash_aes_short: the calls cost more than the
 * hash); rg_strmap_hash_any for any key, which it gives the rest. */
uint32_t rg_strmap_hash_any(const char *key, size_t keylen);
static inline uint32_t rg_strmap_hash(const char *key, size_t keylen)
{
#ifdef RG_HASH_INLINE_AES
    if (rg_hash_aes && keylen - 1 < 16)
        return (uint32_t)rg_hash_aes_short(key, keylen);
#endif
    return rg_strmap_hash_any(key, keylen);
}
/* The start of every map, so that what runs on every event's ids inline
 * where it is asked (a call cost more than the work): a prefetch's stage
 * 0 (one slot's line, ~3 an event), a peek (~2.8 an event), and a
 * record's tag and key (the account store's in-use bits and its hinted
 * lookups). The table, the record chunks and the record layout as
 * strmap.c lays them out; strmap.c's own, read-only here (set_tag
 * writes a record's tag byte, never the head). */
struct rg_strmap_slot {
    uint32_t hash;
    uint32_t ref;   /* record number + 1; 0 means empty */
};
typedef struct rg_strmap_head {
    struct rg_strmap_slot *slots;
    size_t cap;                 /* slots: a power of two, or 0 */
    unsigned char **chunks;     /* records 64 on in chunks of 64 (record i in chunk 3 + i / 64), the
                                 * first 64 in chunks of 8, 8, 16 and 32 */
    size_t stride;              /* bytes per record, a multiple of 8 */
    size_t value_size_aligned;  /* where a record's length word (keylen | tag << 24) starts */
    size_t key_room;            /* bytes for the key (with its NUL) or a pointer */
} rg_strmap_head;

#define RG_STRMAP_KEYLEN_BITS 24
#define RG_STRMAP_KEYLEN_MASK ((UINT32_C(1) << RG_STRMAP_KEYLEN_BITS) - 1)

/* The length word of record e (strmap.c's layout). */
static inline uint32_t rg_strmap_length_word_(const rg_strmap_head *m, const void *e)
{
    uint32_t kl;
    memcpy(&kl, (const unsigned char *)e + m->value_size_aligned, sizeof kl);
    return kl;
}

/* The chunk holding record i, and i's place in it. */
static inline __attribute__((always_inline)) uint32_t rg_strmap_chunk_of_(uint32_t i, uint32_t *offset)
{
    if (i >= 64) {
        *offset = i & 63;
        return 3 + (i >> 6);
    }
    if (i < 8) {
        *offset = i;
        return 0;
    }
    uint32_t log2 = 31 - (uint32_t)__builtin_clz(i);   /* 3, 4 or 5 */
    *offset = i - (UINT32_C(1) << log2);
    return log2 - 2;
}

/* Record i (number, from 0). */
static inline __attribute__((always_inline)) unsigned char *rg_strmap_record_at_(const rg_strmap_head *m, uint32_t i)
{
    uint32_t offset, c = rg_strmap_chunk_of_(i, &offset);
    return m->chunks[c] + (size_t)offset * m->stride;
}

/* Stage 1 of rg_strmap_prefetch_hashed (m has a table). */
void rg_strmap_prefetch_record(const rg_strmap *m, uint32_t hash);

/* rg_strmap_prefetch of a key whose rg_strmap_hash is `hash`: a caller
 * that prefetches one key in several stages or maps hashes it once. A
 * wrong hash only fetches the wrong line. NULL m: nothing. */
static inline void rg_strmap_prefetch_hashed(const rg_strmap *m, uint32_t hash, int stage)
{
    const rg_strmap_head *head = (const rg_strmap_head *)(const void *)m;
    if (!m || !head->cap || stage > 1)
        return;
    if (stage == 0)
        __builtin_prefetch(&head->slots[hash & (head->cap - 1)]);
    else
        rg_strmap_prefetch_record(m, hash);
}
/* Read the slot a key whose rg_strmap_hash is `hash` starts its probe
 * at, and nothing else: for a caller that prefetched that slot a stage
 * before and reads the map two or more stages later. On this project's
 * VM (AMD EPYC) a line that was only prefetched is often gone from the
 * caches a few events on, while one that was read stays: dedupe's slot,
 * prefetched three events ahead, still missed to memory at its check on 8-25% of
 * the events (rdtsc around the load), and on under 1% once read a stage
 * later (docs/bench.md "Fifteenth round"). A read of a line not yet
 * arrived waits for it, where a prefetch would not: only for a line
 * asked for a stage before. NULL m: nothing. */
static inline void rg_strmap_touch_slot(const rg_strmap *m, uint32_t hash)
{
    const rg_strmap_head *head = (const rg_strmap_head *)(const void *)m;
    if (m && head->cap)
        (void)*(const volatile uint32_t *)&head->slots[hash & (head->cap - 1)].ref;
}

/* The record of the first key in the table with this hash, or NULL: a
 * hint for a prefetch a stage later (its slot and record fetched by then),
 * not an answer. It may be another key's record (keys are not compared),
 * valid until the map next changes. */
static inline void *rg_strmap_peek_hashed(const rg_strmap *m, uint32_t hash)
{
    const rg_strmap_head *head = (const rg_strmap_head *)(const void *)m;
    if (!m || !head->cap)
        return NULL;
    size_t mask = head->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const struct rg_strmap_slot *s = &head->slots[i];
        if (!s->ref)
            return NULL;
        if (s->hash == hash)
            return rg_strmap_record_at_(head, s->ref - 1);
    }
}

/* Stage 1 of rg_strmap_prefetch_hashed for a caller that keeps what it
 * found: the record rg_strmap_peek_hashed gives (a hint: another key's
 * record may share the hash), its lines fetched from its first to its
 * key's, or NULL. */
static inline const void *rg_strmap_prefetch_peek(const rg_strmap *m, uint32_t hash)
{
    const unsigned char *e = rg_strmap_peek_hashed(m, hash);
    if (e) {
        uintptr_t key_line = (uintptr_t)e + ((const rg_strmap_head *)(const void *)m)->value_size_aligned;
        for (uintptr_t line = (uintptr_t)e & ~(uintptr_t)63; line <= key_line; line += 64)
            __builtin_prefetch((const void *)line);
    }
    return e;
}

/* Value record for key, created zero-filled when absent (*created = true).
 * NULL only on allocation failure. `created` may be NULL. */
void *rg_strmap_put(rg_strmap *m, const char *key, size_t keylen, bool *created);

/* Where a record sits: its table hash and its record number (+1), from
 * rg_strmap_put_placed, for a later rg_strmap_del_placed. A caller that
 * deletes records it reaches by other ways than their key (the
 * complaints family's expiry queue) then pays no hashing, and the
 * delete finds the record's slot by comparing slots alone, never reading
 * a record. Valid while the record lives (a record's number is reused
 * once it is deleted). Hashes are per process (hash.h): never save or
 * print a place. */
typedef struct rg_strmap_place {
    uint32_t hash;
    uint32_t ref;
} rg_strmap_place;

/* The record at `place` (its number, place.ref - 1), not looked up: the
 * one put_placed gave while it lives. Records never move, and their
 * memory stays the map's until it is freed, so once the record is
 * deleted this is still a record's memory (a freed one, or another
 * key's after reuse): the caller tells by what it stored in it (the
 * complaints family's queue compares the ts). place.ref must be one
 * put_placed gave. */
static inline void *rg_strmap_placed_record(const rg_strmap *m, rg_strmap_place place)
{
    return rg_strmap_record_at_((const rg_strmap_head *)(const void *)m, place.ref - 1);
}

/* put, also giving where the record sits (*place). */
void *rg_strmap_put_placed(rg_strmap *m, const char *key, size_t keylen, bool *created, rg_strmap_place *place);

/* get and put_placed of a key whose rg_strmap_hash is `hash` (exactly
 * that: a wrong hash places the key where no lookup finds it), for a
 * caller that looks the key up in several maps and hashes it once. */
void *rg_strmap_get_hashed(const rg_strmap *m, const char *key, size_t keylen, uint32_t hash);
void *rg_strmap_put_placed_hashed(rg_strmap *m, const char *key, size_t keylen, uint32_t hash, bool *created,
                                  rg_strmap_place *place);

/* Remove every entry (free_value as in rg_strmap_free), keeping the
 * table and the record chunks for the entries to come: O(table slots),
 * a memset, with no walk of the records unless they point somewhere
 * (free_value, or keys longer than the inline room). */
void rg_strmap_clear(rg_strmap *m, void (*free_value)(void *value));

/* Delete the record at `place` (from rg_strmap_put_placed, the record
 * still in the map); free_value as in rg_strmap_free. Returns whether it
 * was found there. */
bool rg_strmap_del_placed(rg_strmap *m, rg_strmap_place place, void (*free_value)(void *value));

/* The key of a value record returned by get/put/iteration (NUL-terminated).
 * Inline: the account store compares a hinted record's key on every
 * event. */
static inline const char *rg_strmap_key(const rg_strmap *m, const void *value, size_t *keylen)
{
    const rg_strmap_head *head = (const rg_strmap_head *)(const void *)m;
    size_t kl = rg_strmap_length_word_(head, value) & RG_STRMAP_KEYLEN_MASK;
    if (keylen)
        *keylen = kl;
    const char *room = (const char *)value + head->value_size_aligned + sizeof(uint32_t);
    if (kl < head->key_room)
        return room;
    const char *heap;
    memcpy(&heap, room, sizeof heap);
    return heap;
}

/* Delete key; `free_value` as in rg_strmap_free. Returns whether it existed. */
bool rg_strmap_del(rg_strmap *m, const char *key, size_t keylen, void (*free_value)(void *value));

/* Remove every entry for which keep(value, arg) returns false, calling
 * free_value on it first. keep sees each entry exactly once (it may count
 * or act; it must not put into or delete from m). Returns how many were
 * removed. */
size_t rg_strmap_sweep(rg_strmap *m, bool (*keep)(void *value, void *arg), void *arg,
                       void (*free_value)(void *value));

/* Visit every entry; stop early when fn returns false. The map must not be
 * modified during the visit (use rg_strmap_sweep to delete). NULL: none. */
void rg_strmap_foreach(const rg_strmap *m, bool (*fn)(const char *key, size_t keylen, void *value, void *arg),
                       void *arg);

size_t rg_strmap_count(const rg_strmap *m);

/* One byte of the caller's per entry, 0 when created, kept beside the
 * key's length at no extra cost (keys are limited to 16 MiB - 1 bytes:
 * put returns NULL for longer ones). `value` is a record of this map. */
static inline uint8_t rg_strmap_tag(const rg_strmap *m, const void *value)
{
    return (uint8_t)(rg_strmap_length_word_((const rg_strmap_head *)(const void *)m, value) >> RG_STRMAP_KEYLEN_BITS);
}
static inline void rg_strmap_set_tag(rg_strmap *m, void *value, uint8_t tag)
{
    const rg_strmap_head *head = (const rg_strmap_head *)(const void *)m;
    uint32_t kl = (rg_strmap_length_word_(head, value) & RG_STRMAP_KEYLEN_MASK) | (uint32_t)tag << RG_STRMAP_KEYLEN_BITS;
    memcpy((unsigned char *)value + head->value_size_aligned, &kl, sizeof kl);
}

/* Every entry, ordered by key bytes (shorter first on a common prefix):
 * for output that must not depend on the table's history, such as a
 * checkpoint that must save the same state to the same bytes. A malloc'd
 * array of *n items the caller frees; NULL on OOM. The map must not be
 * modified while the array is used. */
typedef struct rg_strmap_item {
    const char *key;
    size_t keylen;
    void *value;
} rg_strmap_item;
rg_strmap_item *rg_strmap_sorted(const rg_strmap *m, size_t *n);
/* The order rg_strmap_sorted gives (qsort's comparator of two
 * rg_strmap_item): by the key's bytes, a prefix first. */
int rg_strmap_item_cmp(const void *a, const void *b);

/* Bytes this map holds: table, slabs (free places included) and heap
 * copies of long keys, each allocation at its real size
 * (rg_heap_block_bytes), not counting what values point to. */
size_t rg_strmap_bytes(const rg_strmap *m);

/* What a live heap block of `requested` bytes really costs: with glibc,
 * malloc_usable_size plus its 8-byte chunk header (a 24-byte request is
 * a 32-byte chunk); elsewhere the request plus an estimated 16-byte
 * header. 0 for NULL. For the memory figures of docs/state.md. */
size_t rg_heap_block_bytes(const void *block, size_t requested);

#endif
