/*
 * hash — keyed hashes for everything an event can name (account, packet
 * and event ids, JSON keys), so that nobody who sends events can choose
 * ids that collide (hash flooding: a map whose keys all collide answers
 * in linear time). SipHash (Aumasson and Bernstein), as Redis does.
 *
 * Owner: common (the detectors engineer). Two functions, two purposes:
 *
 *   rg_hash_bytes    table placement, keyed with a random key drawn once
 *                    per process (getrandom): four AES rounds under keys
 *                    derived from it for keys of up to 32 bytes on a CPU
 *                    with AES-NI (as Go's maps and Rust's aHash), else
 *                    SipHash-1-3 (hash.c says why either is safe). So
 *                    placement, and with it any map's iteration order,
 *                    differs from run to run. Nothing may let that order
 *                    reach output: whatever is saved or printed is sorted
 *                    by key first (rg_strmap_sorted). Never store these
 *                    values.
 *   rg_fingerprint64 a stable 64-bit fingerprint of an id, for state that
 *                    keeps ids as fingerprints and saves them in
 *                    checkpoints (devices, senders, claimers): SipHash-2-4
 *                    under a fixed key, the same in every process and
 *                    release, never 0. SipHash is a PRF, so without the
 *                    key no one can aim at a given fingerprint; with it
 *                    (the key is in the source), a second id matching a
 *                    given one still costs ~2^64 tries, and two ids of
 *                    one's own choosing that collide ~2^32: such a pair
 *                    can only merge the sender's own ids. Where a
 *                    fingerprint places something in a table, it goes
 *                    through rg_hash_u64 first (keyed per process).
 *
 * Thread-safety: the process key is set before main (a constructor);
 * every function may then be called from any thread. rg_hash_set_key is
 * for tests and benchmarks only, before any map exists.
 */
#ifndef RG_HASH_H
#define RG_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Table hash of data[0..len) under the process key. */
uint64_t rg_hash_bytes(const void *data, size_t len);

/* Table hash of a 64-bit value (a fingerprint) under the process key. */
uint64_t rg_hash_u64(uint64_t value);

/* Stable fingerprint of an id (fixed key); never 0. */
uint64_t rg_fingerprint64(const void *data, size_t len);

/* SipHash-c-d of data under a 16-byte key (exposed for the test vectors). */
uint64_t rg_siphash(const unsigned char key[16], const void *data, size_t len, int c_rounds, int d_rounds);

/* Tests and benchmarks: replace the process key (no map may exist yet,
 * since every table's placement would change under it). */
void rg_hash_set_key(const unsigned char key[16]);

/* How many times the process key was set (1 after the constructor): a
 * cache of table hashes (strmap.c's memo) drops what it holds when this
 * changes. Read-only outside hash.c. */
extern uint32_t rg_hash_key_generation;

/* Whether rg_hash_bytes and rg_hash_u64 use the AES rounds (set before
 * main; read-only outside hash.c). strmap_memo.h skips its memo then. */
extern bool rg_hash_aes;

/* Tests and benchmarks: the table function, AES rounds (when the CPU has
 * them) or SipHash-1-3, with the same rules as rg_hash_set_key. */
void rg_hash_use_aes(bool on);

/* "aes-4" or "siphash-1-3": the table function in use. */
const char *rg_hash_table_function(void);

/* Where the process key came from: "getrandom", "/dev/urandom", or
 * "fallback" (clock, pid and addresses: not secret, only when the kernel
 * gave nothing), or "set" after rg_hash_set_key. */
const char *rg_hash_key_source(void);

#endif
