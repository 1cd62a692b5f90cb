/*
 * sender_index — latest transfer time per sender of one counterparty; see
 * sender_index.h for the contract. Owner: detectors.
 */
#include "sender_index.h"

#include <stdbool.h>
#include <stdlib.h>

#include "../common/strmap.h"

rg_sender_index *rg_sender_index_new(void)
{
    rg_sender_index *ix = calloc(1, sizeof *ix);
    if (ix)
        rg_window_init(&ix->latest);
    return ix;
}

void rg_sender_index_free(rg_sender_index *ix)
{
    if (!ix)
        return;
    rg_window_free(&ix->latest);
    free(ix->table);
    free(ix);
}

/* A sender's home slot. Fingerprints are stable (they are saved), so
 * anyone who knows their key could make many with the same low bits:
 * placement goes through the per-process key (common/hash.h). */
static uint32_t home(uint64_t sender, uint32_t mask) { return (uint32_t)rg_hash_u64(sender) & mask; }

static rg_sender_slot *table_find(const rg_sender_index *ix, uint64_t sender)
{
    if (!ix->table_cap)
        return NULL;
    uint32_t mask = ix->table_cap - 1;
    for (uint32_t i = home(sender, mask);; i = (i + 1) & mask) {
        if (ix->table[i].sender == sender)
            return &ix->table[i];
        if (!ix->table[i].sender)
            return NULL;
    }
}

int64_t rg_sender_index_latest(const rg_sender_index *ix, int64_t trimmed_ms, uint64_t sender)
{
    const rg_sender_slot *slot = table_find(ix, sender);
    return slot && slot->latest_ms > trimmed_ms ? slot->latest_ms : INT64_MIN;
}

/* Rebuild the table without dead senders, with room to grow. */
static int table_rebuild(rg_sender_index *ix, int64_t trimmed_ms)
{
    /* Room for the live senders plus one under the 3/4 load that add()
     * keeps: the table is the index's biggest part, so no more slack
     * than doubling gives. */
    uint32_t live = rg_window_len(&ix->latest), cap = 16;
    while (cap * 3 < (live + 2) * 4)
        cap *= 2;
    rg_sender_slot *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (uint32_t i = 0; i < ix->table_cap; i++) {
        const rg_sender_slot *old = &ix->table[i];
        if (!old->sender || old->latest_ms <= trimmed_ms)
            continue;
        uint32_t j = home(old->sender, cap - 1);
        while (t[j].sender)
            j = (j + 1) & (cap - 1);
        t[j] = *old;
    }
    free(ix->table);
    ix->table = t;
    ix->table_cap = cap;
    ix->table_used = live;
    return 0;
}

static int insert_latest(rg_sender_index *ix, int64_t ts_ms)
{
    (void)rg_window_group_fit(&ix->latest, 1, &ix->latest_base_ms, ts_ms);
    return rg_window_insert(&ix->latest, ix->latest_base_ms, ts_ms);
}

int rg_sender_index_add(rg_sender_index *ix, int64_t trimmed_ms, int64_t ts_ms, uint64_t sender)
{
    rg_sender_slot *slot = table_find(ix, sender);
    if (slot) {
        bool live = slot->latest_ms > trimmed_ms;
        if (live && slot->latest_ms >= ts_ms)
            return 0;   /* a late transfer: the latest time stands */
        if (live)
            rg_window_remove(&ix->latest, ix->latest_base_ms, slot->latest_ms);
        if (insert_latest(ix, ts_ms) != 0)
            return -1;
        slot->latest_ms = ts_ms;
        return 0;
    }
    if ((ix->table_used + 1) * 4 > ix->table_cap * 3 && table_rebuild(ix, trimmed_ms) != 0)
        return -1;
    if (insert_latest(ix, ts_ms) != 0)
        return -1;
    uint32_t mask = ix->table_cap - 1, i = home(sender, mask);
    while (ix->table[i].sender)
        i = (i + 1) & mask;
    ix->table[i].sender = sender;
    ix->table[i].latest_ms = ts_ms;
    ix->table_used++;
    return 0;
}

void rg_sender_index_trim(rg_sender_index *ix, int64_t cutoff_ms)
{
    rg_window_trim(&ix->latest, ix->latest_base_ms, cutoff_ms);
    /* Many dead senders: rebuild so probes stay short and memory follows
     * the live count (failure only keeps the bigger table). */
    if (ix->table_used > 2 * rg_window_len(&ix->latest) + 8)
        (void)table_rebuild(ix, cutoff_ms);
}

size_t rg_sender_index_bytes(const rg_sender_index *ix)
{
    return rg_heap_block_bytes(ix, sizeof *ix) + rg_window_heap_bytes(&ix->latest) +
           rg_heap_block_bytes(ix->table, (size_t)ix->table_cap * sizeof *ix->table);
}
