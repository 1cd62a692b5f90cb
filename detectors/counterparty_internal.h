/*
 * counterparty_internal — what counterparty.c and counterparty_state.c
 * (its checkpoint) share: the family's records and state. Owner:
 * detectors; nothing outside the family includes this.
 */
#ifndef RG_COUNTERPARTY_INTERNAL_H
#define RG_COUNTERPARTY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../common/binio.h"
#include "account_store.h"
#include "detector.h"
#include "record_cache.h"
#include "sender_index.h"
#include "sweep.h"

typedef struct transfer_in {
    int64_t ts_ms;
    uint64_t sender;
} transfer_in;

/* A registration: a fact about the account, kept for good (rules.md
 * "State is bounded"): a kept slice of 8 bytes. */
typedef struct registration {
    int64_t registered_ms;
} registration;

/* The transfers a counterparty received, within the senders window, in
 * ts order. Most counterparties hold one at a time: with raw_cap 0 it
 * lives in the record itself (u.one; raw_n 0 or 1, no index), so such a
 * counterparty costs no heap block and its transfers no malloc and free
 * (issue 16); a second one moves them to a heap array (u.heap). */
typedef struct cp_record {
    int64_t trimmed_ms;       /* received transfers <= this are gone */
    union {
        struct {
            transfer_in *raw;         /* raw[raw_start .. raw_start + raw_n) */
            rg_sender_index *index;   /* NULL while raw is small */
        } heap;                       /* raw_cap > 0 */
        transfer_in one;              /* raw_cap == 0 */
    } u;
    uint32_t raw_start, raw_n, raw_cap;
} cp_record;

/* The oldest of r's transfers held (raw_n of them from there). */
static inline transfer_in *cp_transfers(cp_record *r) { return r->raw_cap ? r->u.heap.raw + r->raw_start : &r->u.one; }
static inline const transfer_in *cp_transfers_c(const cp_record *r)
{
    return r->raw_cap ? r->u.heap.raw + r->raw_start : &r->u.one;
}
/* r's sender index, NULL when it has none. */
static inline rg_sender_index *cp_index(const cp_record *r) { return r->raw_cap ? r->u.heap.index : NULL; }

/* A counterparty with at most SMALL_MAX transfers in its window is
 * answered by scanning them (<= 136 comparisons of 8-byte hashes, well
 * under a microsecond): no index, whose table and ring cost ~500 bytes.
 * Past that it gets the index; back under SMALL_LOW it drops it (the gap
 * keeps a counterparty at the edge from flapping). */
#define SMALL_MAX 16
#define SMALL_LOW 8

typedef struct scratch_slot {
    uint64_t sender;
    uint32_t gen;
} scratch_slot;

typedef struct cp_state {
    rg_record_cache registration_cache;   /* E's counterparty in registrations */
    rg_record_cache received_cache;       /* E's counterparty in received */
    /* Slices of the shared account store, reserved only for the names
     * used (store NULL otherwise): */
    rg_account_slice registrations;   /* account -> registration (counterparty_age), kept for good */
    rg_account_slice received;        /* counterparty account -> cp_record (counterparty_senders) */
    rg_account_store *own_store;      /* a private store (no engine), else NULL */
    bool want_age, want_senders;
    int64_t senders_keep_ms;          /* largest W + max_lateness (saturated) */
    int64_t watermark_ms;
    size_t dropped;
    rg_sweep_clock sweep_clock;       /* when the received slice's next sweep is due (sweep.h) */
    /* Distinct-sender scratch set for late events: sized in update (never
     * on the eval path) to twice the largest raw array held. */
    scratch_slot *scratch;
    uint32_t scratch_cap, scratch_gen;
} cp_state;

/* Build r's sender index from its transfers (none on OOM: raw alone is
 * exact). */
void rg_cp_index_build(cp_record *r);
/* Size the late-event scratch set for a counterparty of raw_n transfers. */
void rg_cp_grow_scratch(cp_state *s, uint32_t raw_n);

#define RG_COUNTERPARTY_STATE_VERSION 3
int rg_counterparty_save(const void *state, rg_strbuf *out);
int rg_counterparty_load(void *state, uint32_t version, rg_reader *in);

#endif
