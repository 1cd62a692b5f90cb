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
 * Life: new -> reserve (each family's create) -> seal (by whoever made
 * the store: the engine, or a family that got no store in its config and
 * made a private one) -> get/put/release/sweep -> free. The layout never
 * changes after seal: a rule reload builds a new store and moves the
 * state into it through the families' save/load (engine.c).
 *
 * A slice handed out by get/put is zero-filled when first claimed and
 * stays at its address until it is released (strmap values never move).
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

/* One family's part of every record. */
typedef struct rg_account_slice {
    rg_account_store *store;
    uint32_t offset;
    uint32_t size;   /* bytes, a multiple of 8 */
    uint8_t bit;     /* this slice's bit in the record's in-use byte */
} rg_account_slice;

#define RG_ACCOUNT_MAX_SLICES 8

rg_account_store *rg_account_store_new(void);    /* NULL on OOM */
void rg_account_store_free(rg_account_store *s); /* NULL-safe; slices' contents must be freed already */

/* A slice of `size` bytes (8-byte aligned). -1 once sealed, or when
 * RG_ACCOUNT_MAX_SLICES are taken. */
int rg_account_store_reserve(rg_account_store *s, size_t size, rg_account_slice *out);
/* Fix the layout and create the map. 0, or -1 on OOM. */
int rg_account_store_seal(rg_account_store *s);

/* The account's slice, or NULL when the slice holds nothing. */
void *rg_account_get(const rg_account_slice *sl, const char *key, size_t keylen);
/* The account's slice, claimed (zero-filled, *created true) when it held
 * nothing. NULL on allocation failure. `created` may be NULL. */
void *rg_account_put(const rg_account_slice *sl, const char *key, size_t keylen, bool *created);
/* The family emptied the slice (and freed what it pointed to): it holds
 * nothing now; the record goes when no slice holds anything. */
void rg_account_release(const rg_account_slice *sl, const char *key, size_t keylen);

/* Visit the records whose slice holds something; keep(slice, arg) false
 * means "empty now" (contents freed by keep). Returns how many were
 * released. */
size_t rg_account_sweep(const rg_account_slice *sl, bool (*keep)(void *slice, void *arg), void *arg);
/* Visit the slices that hold something; stop when fn returns false. */
void rg_account_foreach(const rg_account_slice *sl,
                        bool (*fn)(const char *key, size_t keylen, void *slice, void *arg), void *arg);
/* The slices that hold something, by key order (rg_strmap_sorted; each
 * item's value is the slice). The caller frees; NULL on OOM. */
rg_strmap_item *rg_account_sorted(const rg_account_slice *sl, size_t *n);

size_t rg_account_count(const rg_account_slice *sl);      /* slices holding something */
size_t rg_account_records(const rg_account_store *s);      /* records (accounts) */
/* Map bytes: table, records, keys, allocator headers (not what slices
 * point to). */
size_t rg_account_store_bytes(const rg_account_store *s);

#endif
