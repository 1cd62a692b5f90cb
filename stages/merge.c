/* merge — the entity stage's merge of its sources; see merge.h. */
#include "merge.h"

#include "../common/saturate.h"

#include <stdlib.h>
#include <string.h>

int rg_smerge_init(rg_smerge *m, size_t n_sources, int64_t max_idle_ms, int64_t max_wait_ms,
                   int64_t mark_interval_ms)
{
    memset(m, 0, sizeof *m);
    m->sources = calloc(n_sources ? n_sources : 1, sizeof *m->sources);
    if (!m->sources)
        return -1;
    m->n = n_sources;
    for (size_t i = 0; i < n_sources; i++) {
        rg_smerge_source *s = &m->sources[i];
        s->last_seq = s->evaluated_seq = -1;
        s->progress_ms = INT64_MIN;
        s->heard_ms = -1;
        s->wait_since_ms = -1;
        s->idle_from_ms = -1;
    }
    m->max_idle_ms = max_idle_ms < 0 ? 0 : max_idle_ms;
    m->max_wait_ms = max_wait_ms > 0 ? max_wait_ms : 30000;
    m->mark_interval_ms = mark_interval_ms > 0 ? mark_interval_ms : 20;
    m->idle_since_ms = -1;
    m->clock_ms = -1;
    m->stream_time_ms = INT64_MIN;
    m->history_end = INT64_MIN;
    return 0;
}

void rg_smerge_free(rg_smerge *m)
{
    for (size_t i = 0; i < m->n; i++) {
        rg_smerge_source *s = &m->sources[i];
        for (size_t k = 0; k < s->count; k++)
            free(s->ring[(s->head + k) % s->cap].data);
        free(s->ring);
    }
    free(m->sources);
    memset(m, 0, sizeof *m);
}

static bool is_drained(const rg_smerge_source *s) { return s->drained && s->heard_ms >= 0; }

/* A drained source that still reports (its task marks every
 * mark_interval_ms while idle) is idle: holding for it is bounded by
 * max_idle_ms. One that stopped reporting is not known idle: its instance
 * may have died with events of its partition unread, and a new owner
 * restores it after the group notices (a session timeout, a rebalance);
 * it gets the bound of a source known to hold data, max_wait_ms
 * (docs/scale-out.md, "A source that falls silent"). */
static bool is_idle(const rg_smerge *m, const rg_smerge_source *s, int64_t now_ms)
{
    int64_t silent_after = m->mark_interval_ms * RG_SMERGE_SILENT_MARKS;
    if (silent_after < RG_SMERGE_SILENT_MIN_MS)
        silent_after = RG_SMERGE_SILENT_MIN_MS;
    return is_drained(s) && now_ms - s->heard_ms <= silent_after;
}

int rg_smerge_push(rg_smerge *m, size_t src, const rg_smerge_item *it)
{
    if (src >= m->n)
        return -1;
    rg_smerge_source *s = &m->sources[src];
    if (it->seq <= s->last_seq) {
        /* Dropped, but the source is alive: a task restored from an older
         * snapshot working through what it sent before, towards the
         * records the merge waits for. Its wait starts again. */
        m->resent++;
        s->wait_since_ms = -1;
        s->left_behind = false;
        return 0;
    }
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        rg_smerge_item *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t k = 0; k < s->count; k++)
            ring[k] = s->ring[(s->head + k) % s->cap];
        free(s->ring);
        s->ring = ring;
        s->cap = cap;
        s->head = 0;
    }
    rg_smerge_item copy = *it;
    copy.data = malloc(it->len ? it->len : 1);
    if (!copy.data)
        return -1;
    memcpy(copy.data, it->data, it->len);
    if (s->count == 0 && is_drained(s))
        m->idle_since_ms = -1;   /* a drained source's data came: holding for it was worth it */
    s->ring[(s->head + s->count) % s->cap] = copy;
    s->count++;
    s->last_seq = it->seq;
    s->wait_since_ms = -1;
    s->left_behind = false;
    return 1;
}

void rg_smerge_progress(rg_smerge *m, size_t src, int64_t progress_ms, bool drained, int64_t now_ms)
{
    if (src >= m->n)
        return;
    rg_smerge_source *s = &m->sources[src];
    bool was_idle = is_idle(m, s, now_ms), was_drained = is_drained(s);
    if (progress_ms > s->progress_ms)
        s->progress_ms = progress_ms;
    s->drained = drained;
    s->heard_ms = now_ms;
    /* Idle from now on (merge.h): its word "drained" is new, or comes
     * again after a silence; its own bound counts from here. */
    if (!drained)
        s->idle_from_ms = -1;
    else if (!was_idle)
        s->idle_from_ms = now_ms;
    /* Left behind, then its partition is no longer drained: records are
     * on the broker that it has not read, and nobody knows how old they
     * are (docs/streaming.md, proof step 2): it holds the merge back
     * again, under the max_wait bound of a source with data known, from
     * its first hold (not reset here: a source flapping between the two
     * stays bounded). */
    if (was_drained && !drained && s->left_behind)
        s->left_behind = false;
}

void rg_smerge_set_history_end(rg_smerge *m, int64_t end) { m->history_end = end; }

void rg_smerge_report(rg_smerge *m, size_t src, int64_t progress_ms, bool drained, int64_t input_offset,
                      int64_t now_ms)
{
    /* "Drained and never had an event" stays what it is (merge.h). */
    bool history = input_offset < m->history_end && progress_ms != INT64_MIN;
    rg_smerge_progress(m, src, progress_ms, drained && !history, now_ms);
}

void rg_smerge_set_input_behind(rg_smerge *m, bool behind) { m->input_behind = behind; }

static const rg_smerge_item *head_of(const rg_smerge_source *s) { return &s->ring[s->head]; }

/* (ts, msg ts, source, seq) order. */
static bool before(const rg_smerge *m, size_t a, size_t b)
{
    const rg_smerge_item *x = head_of(&m->sources[a]), *y = head_of(&m->sources[b]);
    if (x->ts_ms != y->ts_ms)
        return x->ts_ms < y->ts_ms;
    if (x->msg_ts_ms != y->msg_ts_ms)
        return x->msg_ts_ms < y->msg_ts_ms;
    if (a != b)
        return a < b;
    return x->seq < y->seq;
}

/* Whether empty source s holds back a head at ts: 0 no, else how long
 * (wall ms) until a change could come without a record. */
static int64_t holds_back(const rg_smerge *m, const rg_smerge_source *s, int64_t ts, int64_t now)
{
    if (s->heard_ms < 0)
        return m->mark_interval_ms;   /* never heard from: wait for its first word */
    if (s->drained) {
        if (s->progress_ms == INT64_MIN)
            return 0;   /* drained and never had an event: nothing to wait for */
        int64_t since = now - s->heard_ms;
        if (since > m->mark_interval_ms)
            since = m->mark_interval_ms;
        /* Saturating: progress and ts come from records (hostile bytes). */
        int64_t position = rg_sat_add(s->progress_ms, since > 0 ? since : 0);
        if (position >= ts)
            return 0;
        int64_t until = rg_sat_sub(ts, position);
        return until < m->mark_interval_ms ? until : m->mark_interval_ms;
    }
    return ts < s->progress_ms ? 0 : m->mark_interval_ms;
}

/* The bounds' clock stands still while the input is behind (merge.h):
 * every spell begun moves forward by the time since the last call. A
 * pause, not a restart: a moment behind (a fetch answered between two
 * turns of the loop) costs the bound only that moment. */
static void pause_bounds(rg_smerge *m, int64_t now_ms)
{
    if (m->input_behind && m->clock_ms >= 0 && now_ms > m->clock_ms) {
        int64_t d = now_ms - m->clock_ms;
        if (m->idle_since_ms >= 0)
            m->idle_since_ms += d;
        for (size_t i = 0; i < m->n; i++) {
            rg_smerge_source *s = &m->sources[i];
            if (s->wait_since_ms >= 0)
                s->wait_since_ms += d;
            /* Set by a report between two calls: not past now. */
            if (s->idle_from_ms >= 0)
                s->idle_from_ms = s->idle_from_ms + d < now_ms ? s->idle_from_ms + d : now_ms;
        }
    }
    m->clock_ms = now_ms;
}

rg_smerge_result rg_smerge_next(rg_smerge *m, int64_t now_ms, size_t *src, int64_t *wait_ms, bool *late)
{
    pause_bounds(m, now_ms);
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m->n; i++)
        if (m->sources[i].count && (best == SIZE_MAX || before(m, i, best)))
            best = i;
    if (best == SIZE_MAX) {
        for (size_t i = 0; i < m->n; i++)
            m->sources[i].wait_since_ms = -1;
        m->idle_since_ms = -1;
        return RG_SMERGE_IDLE;
    }
    int64_t ts = head_of(&m->sources[best])->ts_ms, wait = INT64_MAX;
    bool waiting = false;
    for (size_t i = 0; i < m->n; i++) {
        rg_smerge_source *s = &m->sources[i];
        if (s->count || s->left_behind)
            continue;
        int64_t w = holds_back(m, s, ts, now_ms);
        if (w == 0)
            continue;
        bool drained = is_idle(m, s, now_ms);
        int64_t *since = drained ? &m->idle_since_ms : &s->wait_since_ms;
        if (*since < 0)
            *since = now_ms;
        /* Idle sources share one spell, but each has at least max_idle
         * from when it became idle (merge.h). */
        int64_t from = drained && s->idle_from_ms > *since ? s->idle_from_ms : *since;
        int64_t left = from + (drained ? m->max_idle_ms : m->max_wait_ms) - now_ms;
        if (left <= 0) {
            s->left_behind = s->just_left_behind = true;
            s->left_while_drained = drained;
            m->enforced++;
            if (!drained)
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
        return RG_SMERGE_WAIT;
    }
    *src = best;
    *late = ts < m->stream_time_ms;
    if (*late)
        m->late++;
    else
        m->stream_time_ms = ts;
    return RG_SMERGE_PICK;
}

size_t rg_smerge_holders(const rg_smerge *m, int64_t now_ms, size_t *srcs, size_t max)
{
    size_t best = SIZE_MAX, n = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->sources[i].count && (best == SIZE_MAX || before(m, i, best)))
            best = i;
    if (best == SIZE_MAX)
        return 0;
    int64_t ts = head_of(&m->sources[best])->ts_ms;
    for (size_t i = 0; i < m->n; i++) {
        const rg_smerge_source *s = &m->sources[i];
        if (s->count || s->left_behind || holds_back(m, s, ts, now_ms) == 0)
            continue;
        if (n < max)
            srcs[n] = i;
        n++;
    }
    return n;
}

rg_smerge_item rg_smerge_pop(rg_smerge *m, size_t src)
{
    rg_smerge_source *s = &m->sources[src];
    rg_smerge_item it = s->ring[s->head];
    s->head = (s->head + 1) % s->cap;
    s->count--;
    s->evaluated_seq = it.seq;
    return it;
}

int64_t rg_smerge_min_input_offset(const rg_smerge *m)
{
    int64_t min = INT64_MAX;
    for (size_t i = 0; i < m->n; i++) {
        const rg_smerge_source *s = &m->sources[i];
        for (size_t k = 0; k < s->count; k++) {
            int64_t o = s->ring[(s->head + k) % s->cap].input_offset;
            if (o < min)
                min = o;
        }
    }
    return min;
}

size_t rg_smerge_queued(const rg_smerge *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n; i++)
        n += m->sources[i].count;
    return n;
}

void rg_smerge_save(const rg_smerge *m, rg_strbuf *out)
{
    rg_put_u32(out, (uint32_t)m->n);
    rg_put_i64(out, m->stream_time_ms);
    for (size_t i = 0; i < m->n; i++) {
        const rg_smerge_source *s = &m->sources[i];
        rg_put_i64(out, s->evaluated_seq);
        rg_put_i64(out, s->progress_ms);
        rg_put_u8(out, s->drained);
    }
}

int rg_smerge_load(rg_smerge *m, rg_reader *in)
{
    uint32_t n = rg_get_u32(in, "source count");
    int64_t stream_time = rg_get_i64(in, "stream time");
    if (rg_reader_ok(in) && n != m->n)
        rg_reader_fail(in, "source count", "differs from the events topic's partition count");
    for (uint32_t i = 0; i < n && rg_reader_ok(in); i++) {
        int64_t seq = rg_get_i64(in, "evaluated sequence");
        int64_t progress = rg_get_i64(in, "progress");
        uint8_t drained = rg_get_u8(in, "drained");
        if (!rg_reader_ok(in))
            break;
        rg_smerge_source *s = &m->sources[i];
        s->evaluated_seq = s->last_seq = seq < -1 ? -1 : seq;
        s->progress_ms = progress;
        s->drained = drained != 0;
        s->heard_ms = -1;   /* heard again once its task reports */
    }
    if (!rg_reader_ok(in))
        return -1;
    m->stream_time_ms = stream_time;
    return 0;
}
