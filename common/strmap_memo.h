/*
 * strmap_memo — the thread's memo of table hashes behind common/strmap.c
 * (hash32) and its key compare (same_key). Owner: common (the detectors
 * engineer). Static inline, for strmap.c alone: the hashes are looked up
 * on every probe, and a call cost a sizeable part of one. Include it
 * from nowhere else (the memo object below would be another one).
 */
#ifndef RG_STRMAP_MEMO_H
#define RG_STRMAP_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hash.h"
#include "same_bytes.h"

/* The memo of hash32 (below): the last short keys hashed and their
 * hashes, one per thread, shared by every map. Keys of up to 16 bytes
 * (every id the sample captures use) are held as two words, up to 32 as
 * four. */
#define MEMO_SLOTS 64
#define MEMO_LONG_SLOTS 16
#define MEMO_KEY_MAX 32

struct memo_short {
    uint64_t w[2];
    uint32_t len;   /* 0: empty (an empty key is never memoised) */
    uint32_t hash;
};

struct memo_long {
    uint64_t w[4];
    uint32_t len, hash;
};

struct hash_memo {
    struct memo_short s[MEMO_SLOTS];
    struct memo_long l[MEMO_LONG_SLOTS];
    uint32_t generation;   /* rg_hash_key_generation the hashes were made under */
};

static _Thread_local struct hash_memo memo;

/*
 * The hashes of the last short keys hashed, per thread (not per map: the
 * placement hash depends on the key and the process key alone, hash.h,
 * so every map places a key by the same hash). One event's keys are
 * hashed many times over: its account by the account store's prefetch
 * (twice: slot, then record), by the families' lookups; its event id by
 * dedupe's prefetch and check and by the complaints family's map; and the
 * keyed stages look up the names of shipped values
 * ("counterparty_senders/86400000") by key. SipHash-1-3 costs ~140
 * instructions on an 11-byte id; a memo hit ~25. With one memo per
 * thread, a key is hashed once for all maps, and the 64 slots hold the
 * keys of the few events replay reads ahead (rg_engine_prefetch). With
 * the AES table hash (hash.h; ~25 instructions, 1.9 ns on an 11-byte id
 * against SipHash's 8.5) a hit would cost more than the hash, so
 * strmap.c's table_hash goes straight to it and the memo serves the
 * SipHash fallback alone. A key
 * of up to 32 bytes is held as four words (overlapping loads, so the
 * words and the length determine the bytes), which is also how the memo
 * compares it: a hit is the same bytes, never an approximation. Longer
 * keys are always hashed. The memo is a cache of a pure function of the
 * key under the process key, which never changes while a map exists
 * (hash.h), so it cannot change a lookup's result; being per thread, it
 * is never shared between threads.
 */
static uint64_t load64(const char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t load32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Which memo slot: any mix of the words will do (the slot only decides
 * which earlier key is forgotten). */
static inline size_t memo_slot(uint64_t a, uint64_t b, size_t len, int bits)
{
    return (size_t)(((a ^ (b >> 7) ^ len) * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - bits));
}

static void memo_reset(struct hash_memo *mm)
{
    memset(mm, 0, sizeof *mm);   /* made under another key (tests set it) */
    mm->generation = rg_hash_key_generation;
}

/* 17..32 bytes: the first 16 and the last 16. */
static uint32_t hash32_long(const char *key, size_t keylen)
{
    struct hash_memo *mm = &memo;
    uint64_t w[4] = {load64(key), load64(key + 8), load64(key + keylen - 16), load64(key + keylen - 8)};
    struct memo_long *e = &mm->l[memo_slot(w[0] ^ w[3], w[1], keylen, 4)];
    if (mm->generation == rg_hash_key_generation && e->len == keylen && e->w[0] == w[0] && e->w[1] == w[1] &&
        e->w[2] == w[2] && e->w[3] == w[3])
        return e->hash;
    if (mm->generation != rg_hash_key_generation)
        memo_reset(mm);
    uint32_t h = (uint32_t)rg_hash_bytes(key, keylen);
    memcpy(e->w, w, sizeof w);
    e->len = (uint32_t)keylen;
    e->hash = h;
    return h;
}

/* Keyed per process (hash.h): ids an event names cannot be chosen to
 * collide. Through the thread's memo for keys of up to 32 bytes; for
 * the SipHash function only (strmap.c's table_hash calls the AES one
 * straight: it costs less than a memo hit). */
static inline uint32_t hash32(const char *key, size_t keylen)
{
    if (keylen - 1 >= 16) {   /* 0, or over 16 */
        if (keylen == 0 || keylen > MEMO_KEY_MAX)
            return (uint32_t)rg_hash_bytes(key, keylen);
        return hash32_long(key, keylen);
    }
    struct hash_memo *mm = &memo;
    uint64_t w[2];
    rg_hash_short_words(key, keylen, w);
    struct memo_short *e = &mm->s[memo_slot(w[0], w[1], keylen, 6)];
    if (e->len == keylen && e->w[0] == w[0] && e->w[1] == w[1] && mm->generation == rg_hash_key_generation)
        return e->hash;
    if (mm->generation != rg_hash_key_generation)
        memo_reset(mm);
    uint32_t h = (uint32_t)rg_hash_bytes(key, keylen);
    e->w[0] = w[0];
    e->w[1] = w[1];
    e->len = (uint32_t)keylen;
    e->hash = h;
    return h;
}

/* a[0..len) == b[0..len) (same_bytes.h). */
static inline bool same_key(const char *a, const char *b, size_t len) { return rg_same_bytes(a, b, len); }

#endif
