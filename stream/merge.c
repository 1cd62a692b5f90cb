/* merge — per-partition buffers and the event-time merge; see merge.h. */
#include "merge.h"

#include <stdlib.h>
#include <string.h>

#include "offsets.h"

void rg_merge_init(rg_merge *m, int64_t max_idle_ms, int64_t max_wait_ms, rg_merge_prepare_fn prepare,
                   void *opaque)
{
    memset(m, 0, sizeof *m);
    m->max_idle_ms = max_idle_ms < 0 ? 0 : max_idle_ms;
    m->max_wait_ms = max_wait_ms > 0 ? max_wait_ms : 30000;
    m->stream_time_ms = INT64_MIN;
    m->prepare = prepare;
    m->prepare_opaque = opaque;
}

static void clear_slot(rg_merge_slot *s, void (*drop)(void *msg))
{
    for (size_t i = 0; i < s->count; i++) {
        rg_merge_item *it = &s->ring[(s->head + i) % s->cap];
        if (drop)
            drop(it->msg);
    }
    free(s->ring);
    memset(s, 0, sizeof *s);
    s->next_offset = -1;
    s->high_watermark = -1;
    s->last_ts_ms = INT64_MIN;
    s->last_take_ms = -1;
    s->drained_at_ms = -1;
    s->wait_since_ms = -1;
}

void rg_merge_free(rg_merge *m, void (*drop)(void *msg))
{
    for (size_t i = 0; i < m->n_slots; i++)
        clear_slot(&m->slots[i], drop);
    free(m->slots);
    m->slots = NULL;
    m->n_slots = 0;
}

int rg_merge_find_slot(const rg_merge *m, int32_t partition)
{
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->slots[i].active && m->slots[i].partition == partition)
            return (int)i;
    return -1;
}

int rg_merge_add_slot(rg_merge *m, int32_t partition)
{
    int found = rg_merge_find_slot(m, partition);
    if (found >= 0)
        return found;
    size_t i;
    for (i = 0; i < m->n_slots; i++)
        if (!m->slots[i].active)
            break;
    if (i == m->n_slots) {
        if (m->n_slots >= RG_OFFSET_SLOT_MAX)
            return -1;
        rg_merge_slot *slots = realloc(m->slots, (m->n_slots + 1) * sizeof *slots);
        if (!slots)
            return -1;
        m->slots = slots;
        memset(&m->slots[m->n_slots], 0, sizeof *m->slots);
        m->n_slots++;
    }
    rg_merge_slot *s = &m->slots[i];
    clear_slot(s, NULL);
    s->active = true;
    s->partition = partition;
    return (int)i;
}

void rg_merge_drop_slot(rg_merge *m, unsigned slot, void (*drop)(void *msg))
{
    if (slot < m->n_slots)
        clear_slot(&m->slots[slot], drop);
}

void rg_merge_discard(rg_merge *m, unsigned slot, void (*drop)(void *msg))
{
    if (slot >= m->n_slots)
        return;
    rg_merge_slot *s = &m->slots[slot];
    for (size_t i = 0; i < s->count; i++)
        if (drop)
            drop(s->ring[(s->head + i) % s->cap].msg);
    s->head = s->count = 0;
    s->head_prepared = false;
}

int rg_merge_push(rg_merge *m, unsigned slot, const rg_merge_item *item)
{
    rg_merge_slot *s = &m->slots[slot];
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        rg_merge_item *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t i = 0; i < s->count; i++)
            ring[i] = s->ring[(s->head + i) % s->cap];
        free(s->ring);
        s->ring = ring;
        s->cap = cap;
        s->head = 0;
    }
    s->ring[(s->head + s->count) % s->cap] = *item;
    s->count++;
    s->next_offset = item->offset + 1;
    s->last_take_ms = item->taken_us / 1000;
    s->wait_since_ms = -1;  /* it has data again: a later empty spell waits anew */
    s->left_behind = false;
    return 0;
}

void rg_merge_note_end(rg_merge *m, unsigned slot, int64_t at_ms, int64_t end_offset)
{
    if (slot >= m->n_slots || !m->slots[slot].active || end_offset < 0)
        return;
    rg_merge_slot *s = &m->slots[slot];
    if (end_offset > s->high_watermark)
        s->high_watermark = end_offset;
    if (s->next_offset < 0 && s->count == 0 && s->last_take_ms < 0)
        s->next_offset = end_offset;   /* nothing taken since assigned: the end is where it stands */
    if (end_offset <= s->next_offset && at_ms > s->drained_at_ms)
        s->drained_at_ms = at_ms;
}

void rg_merge_note_unreachable(rg_merge *m, unsigned slot)
{
    if (slot < m->n_slots)
        m->slots[slot].drained_at_ms = -1;
}

static const rg_merge_item *head_of(const rg_merge_slot *s) { return &s->ring[s->head]; }

/* (event?, ts, msg ts, slot) order: non-events first. */
static bool before(const rg_merge *m, unsigned a, unsigned b)
{
    const rg_merge_slot *sa = &m->slots[a], *sb = &m->slots[b];
    if (sa->head_is_event != sb->head_is_event)
        return !sa->head_is_event;
    if (sa->head_ts_ms != sb->head_ts_ms)
        return sa->head_ts_ms < sb->head_ts_ms;
    int64_t ma = head_of(sa)->msg_ts_ms, mb = head_of(sb)->msg_ts_ms;
    if (ma != mb)
        return ma < mb;
    return a < b;
}

/* Whether the broker is known to hold more of s than was taken. */
static bool data_known(const rg_merge_slot *s)
{
    return s->high_watermark >= 0 && s->next_offset >= 0 && s->high_watermark > s->next_offset;
}

/* Whether the broker confirmed that nothing follows what s gave. */
static bool drained(const rg_merge_slot *s)
{
    return s->drained_at_ms >= 0 && s->drained_at_ms >= s->last_take_ms && !data_known(s);
}

/* Whether empty slot s holds back a head at event time ts at wall time
 * now: 0 when it does not, else how long (wall ms) nothing can change
 * short of a fetch or a probe answer. Marks s->probe_wanted when a word
 * from the broker would help. */
static int64_t holds_back(rg_merge_slot *s, int64_t ts, int64_t now)
{
    bool is_drained = drained(s);
    if (s->last_ts_ms == INT64_MIN && s->last_take_ms < 0) {
        /* Nothing heard since it was assigned: drained means it is empty
         * (a fetch reached its end at once); else wait for the first
         * fetch, as KIP-695 does: data on its way would surely be
         * reordered. */
        return is_drained ? 0 : RG_MERGE_POLL_MS;
    }
    if (is_drained) {
        int64_t silent = now - s->last_take_ms;
        int64_t position = s->last_ts_ms == INT64_MIN ? INT64_MIN : s->last_ts_ms + (silent > 0 ? silent : 0);
        if (s->last_ts_ms == INT64_MIN || position >= ts)
            return 0;   /* (only rejects came from it: no position to keep) */
        if (now - s->drained_at_ms >= RG_MERGE_REPROBE_MS)
            s->probe_wanted = true;
        int64_t until = ts - position;
        return until < RG_MERGE_REPROBE_MS ? until : RG_MERGE_REPROBE_MS;
    }
    /* Not known drained: its position stays at its last ts. Its next
     * event is normally later than that, so an older head need not wait. */
    if (s->last_ts_ms != INT64_MIN && ts < s->last_ts_ms)
        return 0;
    if (!data_known(s))
        s->probe_wanted = true;   /* nothing on its way that we know of: ask */
    return RG_MERGE_POLL_MS;
}

rg_merge_result rg_merge_next(rg_merge *m, int64_t now_ms, unsigned *slot, int64_t *wait_ms, bool *late)
{
    bool any = false, waiting = false;
    int64_t wait = INT64_MAX;
    int best = -1;

    for (size_t i = 0; i < m->n_slots; i++) {
        rg_merge_slot *s = &m->slots[i];
        if (!s->active || s->count == 0)
            continue;
        any = true;
        if (!s->head_prepared) {
            int64_t ts = 0;
            s->head_is_event = m->prepare(m->prepare_opaque, (unsigned)i, head_of(s), &ts) == 1;
            s->head_ts_ms = s->head_is_event ? ts : INT64_MIN;
            s->head_prepared = true;
        }
        if (best < 0 || before(m, (unsigned)i, (unsigned)best))
            best = (int)i;
    }
    if (!any) {
        for (size_t i = 0; i < m->n_slots; i++)
            m->slots[i].wait_since_ms = -1;
        return RG_MERGE_IDLE;
    }

    /* A reject at a head touches no state: take it without waiting. */
    if (!m->slots[best].head_is_event) {
        *slot = (unsigned)best;
        *late = false;
        return RG_MERGE_PICK;
    }

    int64_t ts = m->slots[best].head_ts_ms;
    for (size_t i = 0; i < m->n_slots; i++) {
        rg_merge_slot *s = &m->slots[i];
        if (!s->active || s->count != 0 || s->left_behind)
            continue;
        int64_t w = holds_back(s, ts, now_ms);
        if (w == 0) {
            s->wait_since_ms = -1;
            continue;
        }
        if (s->wait_since_ms < 0)
            s->wait_since_ms = now_ms;
        bool is_drained = drained(s);
        int64_t left = s->wait_since_ms + (is_drained ? m->max_idle_ms : m->max_wait_ms) - now_ms;
        if (left <= 0) {
            /* The bound: go on without it until it has data again. */
            s->left_behind = s->just_left_behind = true;
            s->left_while_drained = is_drained;
            s->wait_since_ms = -1;
            m->enforced++;
            if (!is_drained)
                m->enforced_wait++;
            continue;
        }
        waiting = true;
        if (w > left)
            w = left;
        if (w < wait)
            wait = w;
    }
    if (waiting) {
        *wait_ms = wait;
        return RG_MERGE_WAIT;
    }
    *slot = (unsigned)best;
    rg_merge_slot *s = &m->slots[best];
    *late = s->head_ts_ms < m->stream_time_ms;
    if (*late)
        m->late++;
    else
        m->stream_time_ms = s->head_ts_ms;
    return RG_MERGE_PICK;
}

rg_merge_item rg_merge_pop(rg_merge *m, unsigned slot)
{
    rg_merge_slot *s = &m->slots[slot];
    rg_merge_item it = s->ring[s->head];
    if (s->head_prepared && s->head_is_event && s->head_ts_ms > s->last_ts_ms)
        s->last_ts_ms = s->head_ts_ms;
    s->head = (s->head + 1) % s->cap;
    s->count--;
    s->head_prepared = false;
    return it;
}

size_t rg_merge_buffered(const rg_merge *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_slots; i++)
        if (m->slots[i].active)
            n += m->slots[i].count;
    return n;
}
