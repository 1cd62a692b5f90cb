/* offsets — in-flight tracking and commit frontier; see offsets.h. */
#include "offsets.h"

#include <stdlib.h>
#include <string.h>

void rg_offset_track_init(rg_offset_track *t, uint64_t seq_floor)
{
    memset(t, 0, sizeof *t);
    t->base_seq = seq_floor;
    t->first_seq = seq_floor;
    t->frontier = -1;
    t->last_begun = -1;
}

void rg_offset_track_free(rg_offset_track *t)
{
    if (!t)
        return;
    uint64_t next = rg_offset_track_next_seq(t);
    free(t->ring);
    rg_offset_track_init(t, next);
}

uint64_t rg_offset_track_next_seq(const rg_offset_track *t) { return t->base_seq + t->count; }

static rg_offset_entry *entry_at(rg_offset_track *t, size_t i) { return &t->ring[(t->head + i) % t->cap]; }

static bool grow(rg_offset_track *t)
{
    size_t cap = t->cap ? t->cap * 2 : 64;
    rg_offset_entry *ring = malloc(cap * sizeof *ring);
    if (!ring)
        return false;
    for (size_t i = 0; i < t->count; i++)
        ring[i] = *entry_at(t, i);
    free(t->ring);
    t->ring = ring;
    t->cap = cap;
    t->head = 0;
    return true;
}

/* Pop completed entries off the front and move the frontier past them. */
static void advance(rg_offset_track *t)
{
    while (t->count) {
        rg_offset_entry *e = entry_at(t, 0);
        if (e->open || e->pending)
            break;
        t->frontier = e->offset + 1;
        t->head = (t->head + 1) % t->cap;
        t->count--;
        t->base_seq++;
    }
}

uint64_t rg_offset_track_begin(rg_offset_track *t, int64_t offset, int64_t msg_ts_ms)
{
    if (t->count == t->cap && !grow(t))
        return UINT64_MAX;
    rg_offset_entry *e = entry_at(t, t->count);
    e->offset = offset;
    e->msg_ts_ms = msg_ts_ms;
    e->taken_us = 0;
    e->pending = 0;
    e->open = true;
    t->count++;
    t->last_begun = offset;
    return t->base_seq + t->count - 1;
}

static rg_offset_entry *find(rg_offset_track *t, uint64_t seq)
{
    if (seq < t->base_seq || seq >= t->base_seq + t->count)
        return NULL;
    return entry_at(t, (size_t)(seq - t->base_seq));
}

void rg_offset_track_add(rg_offset_track *t, uint64_t seq)
{
    rg_offset_entry *e = find(t, seq);
    if (e)
        e->pending++;
}

void rg_offset_track_end(rg_offset_track *t, uint64_t seq)
{
    rg_offset_entry *e = find(t, seq);
    if (!e)
        return;
    e->open = false;
    advance(t);
}

bool rg_offset_track_ack(rg_offset_track *t, uint64_t seq, int64_t *msg_ts_ms)
{
    rg_offset_entry *e = find(t, seq);
    if (!e || e->pending == 0)
        return false;
    if (msg_ts_ms)
        *msg_ts_ms = e->msg_ts_ms;
    e->pending--;
    advance(t);
    return true;
}

uint64_t rg_offset_track_seq_from48(const rg_offset_track *t, uint64_t seq48)
{
    const uint64_t mask = (UINT64_C(1) << 48) - 1;
    uint64_t base = t->base_seq;
    uint64_t candidate = (base & ~mask) | seq48;
    /* The seq is at most 2^47 away from the base: pick the nearest
     * candidate across a 48-bit wrap. */
    if (candidate + (UINT64_C(1) << 47) < base)
        candidate += UINT64_C(1) << 48;
    else if (candidate > base + (UINT64_C(1) << 47) && candidate >= (UINT64_C(1) << 48))
        candidate -= UINT64_C(1) << 48;
    return candidate;
}

void rg_offset_track_set_taken(rg_offset_track *t, uint64_t seq, int64_t taken_us)
{
    rg_offset_entry *e = find(t, seq);
    if (e)
        e->taken_us = taken_us;
}

int64_t rg_offset_track_taken_us(rg_offset_track *t, uint64_t seq)
{
    rg_offset_entry *e = find(t, seq);
    return e ? e->taken_us : 0;
}
