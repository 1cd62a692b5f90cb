/*
 * sender_index — the distinct senders of one counterparty by their latest
 * transfer time, for counterparty_senders(W) in O(log n) (counterparty.c).
 *
 * Owner: detectors. Two structures kept in step:
 *   latest  each live sender's latest ts, as a sorted multiset
 *           (rg_window): "senders whose latest ts is > lo" is one count;
 *   table   sender hash -> its latest ts (open addressing, linear
 *           probing), to move a sender's entry when it sends again.
 * A sender whose latest ts is <= the caller's trim mark is dead: it is no
 * longer in `latest` and is skipped (and dropped at the next rebuild) in
 * the table. Senders are 64-bit fingerprints (rg_fingerprint64, never 0).
 * Not thread-safe. Allocation failure returns -1 and the caller drops the
 * index (it can always be rebuilt from the counterparty's transfers).
 */
#ifndef RG_SENDER_INDEX_H
#define RG_SENDER_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "window.h"

typedef struct rg_sender_slot {
    uint64_t sender;   /* 0: empty */
    int64_t latest_ms; /* dead when <= the trim mark */
} rg_sender_slot;

typedef struct rg_sender_index {
    rg_window latest;          /* each live sender's latest ts */
    int64_t latest_base_ms;    /* the base of latest's offsets (window.h) */
    rg_sender_slot *table;
    uint32_t table_cap;        /* power of two, or 0 */
    uint32_t table_used;       /* occupied slots, dead ones included */
} rg_sender_index;

/* Empty index; NULL on OOM. */
rg_sender_index *rg_sender_index_new(void);
void rg_sender_index_free(rg_sender_index *ix);   /* NULL-safe */

/* Fold in a transfer from `sender` at ts (ts > trimmed_ms). 0, or -1 on
 * OOM (the index is then inconsistent: free it). A transfer older than
 * the sender's latest leaves the index as it is. */
int rg_sender_index_add(rg_sender_index *ix, int64_t trimmed_ms, int64_t ts_ms, uint64_t sender);

/* Latest ts of a live sender, or INT64_MIN. */
int64_t rg_sender_index_latest(const rg_sender_index *ix, int64_t trimmed_ms, uint64_t sender);

/* Forget senders whose latest ts is <= cutoff_ms (the new trim mark). */
void rg_sender_index_trim(rg_sender_index *ix, int64_t cutoff_ms);

/* Heap bytes held, the struct itself included (allocator headers too). */
size_t rg_sender_index_bytes(const rg_sender_index *ix);

#endif
