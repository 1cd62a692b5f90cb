/*
 * complaints — what a complaint (or recall request) refers to: `ref_age`
 * and `ref_counterparty` (detection.md complaint_fraud_1h,
 * complaint_late; rules.md subject `ref_counterparty`).
 *
 * Owner: detectors.
 *
 * On an event E with a `ref` (complaint, recall_request) naming a
 * transfer seen earlier (by arrival) by its event_id:
 *   ref_age           E.ts - the transfer's ts (ms);
 *   ref_counterparty  the transfer's counterparty (the subject a
 *                     complaint's freeze goes to).
 * Unknown when the ref names no transfer seen (a packet_id, a transfer
 * older than the history horizon, or one from before the stream), and on
 * other event types. The string borrows detector state: valid until the
 * detectors' update step, as value.h says.
 *
 * State: one strmap record per transfer, keyed by its event_id: ts, and
 * the counterparty only when ref_counterparty is used (inside the record
 * up to 23 bytes, the usual id; a heap copy beyond; its length in the
 * record's tag byte, rg_strmap_tag). A fact about one
 * event (rules.md "State is bounded"): kept for history_horizon of event
 * time after the transfer's ts, then unknown whether or not a sweep has
 * removed it yet; a complaint does not extend it (so ref_age, when known,
 * is under the horizon). Every transfer is kept that long, since any may
 * be complained about: this is the family whose memory follows transfer
 * volume, not account count (docs/state.md).
 *
 * Expiry: transfers arrive nearly in ts order, so they wait in a queue
 * by ts (common/ts_queue.h) and leave it from the oldest as the watermark
 * moves, each at O(1), at the update of the event that moves it past
 * them. Until issue 16's fourth round the whole map (105,848 records,
 * 10 MB on the month capture) was swept every ~100k events instead. When
 * a record goes never changes an answer: eval treats a transfer past the
 * horizon as absent either way, and every later event is judged at a
 * watermark at least the one it was forgotten at (rg_eval_judge_at).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strmap.h"
#include "../common/ts_queue.h"
#include "../rules/eval.h"
#include "detector.h"
#include "record_cache.h"
#include "sweep.h"   /* only to read the clock of older checkpoints */
#include "window.h"

enum ref_name { R_REF_AGE, R_REF_COUNTERPARTY, R_COUNT };

static const rg_name_spec ref_names[R_COUNT] = {
    [R_REF_AGE] = {"ref_age", RG_T_DURATION, {RG_ARG_NONE}, false,
                   "complaint (or recall) ts - the referenced transfer's ts; unknown if it was not seen"},
    [R_REF_COUNTERPARTY] = {"ref_counterparty", RG_T_STRING, {RG_ARG_NONE}, false,
                            "counterparty of the transfer a complaint (or recall) names; unknown if it was not "
                            "seen"},
};

#define COUNTERPARTY_INLINE 23

/* 32 bytes. The counterparty's length (events.md: 1..64 bytes; 0: not
 * kept) is the record's tag byte, not a field: with it the record was
 * 40 bytes, 8 more per transfer (docs/bench.md "Fifteenth round"). A
 * heap copy is also marked inside the record, by the inline room's last
 * byte (an inline copy's NUL is at or before it), for free_record, which
 * the map calls with the record alone. */
typedef struct transfer_record {
    int64_t ts_ms;
    union {
        char inline_id[COUNTERPARTY_INLINE + 1];   /* [COUNTERPARTY_INLINE] is 0 */
        struct {
            char *ptr;
            char unused[COUNTERPARTY_INLINE - sizeof(char *)];
            char is_heap;                          /* 1 */
        } heap;                                    /* when the length is over COUNTERPARTY_INLINE */
    } counterparty;                                /* NUL-terminated copy */
} transfer_record;
_Static_assert(sizeof(transfer_record) == 32, "a transfer's record is 32 bytes");

typedef struct ref_state {
    rg_record_cache cache;            /* the transfer the event in hand refers to */
    rg_strmap *transfers;      /* transfer event_id -> transfer_record */
    rg_ts_queue queue;         /* every transfer in the map, by its ts: expiry */
    bool want_counterparty;
    int64_t history_horizon_ms;
    int64_t watermark_ms;
    size_t dropped;
    size_t counterparty_bytes; /* heap copies, for stats */
} ref_state;

/* The heap a counterparty copy costs, as stats count it. */
static size_t copy_cost(size_t len)
{
    return len > COUNTERPARTY_INLINE ? ((len + 1 + 15) & ~(size_t)15) + RG_MALLOC_OVERHEAD : 0;
}

/* The counterparty's length (0: not kept): the record's tag. */
static size_t counterparty_len(const ref_state *s, const transfer_record *r)
{
    return rg_strmap_tag(s->transfers, r);
}

static const char *counterparty_of(const transfer_record *r)
{
    return r->counterparty.heap.is_heap ? r->counterparty.heap.ptr : r->counterparty.inline_id;
}

static void free_record(void *value)
{
    transfer_record *r = value;
    if (r->counterparty.heap.is_heap)
        free(r->counterparty.heap.ptr);
    r->counterparty.heap.is_heap = 0;
}

/* Delete transfer r (at place), and its counterparty copy's bytes from
 * the count. */
static void delete_transfer(ref_state *s, const transfer_record *r, rg_strmap_place place)
{
    s->counterparty_bytes -= copy_cost(counterparty_len(s, r));
    rg_strmap_del_placed(s->transfers, place, free_record);
}

static void complaints_destroy(void *state)
{
    ref_state *s = state;
    if (!s)
        return;
    /* Without a heap copy of a counterparty (counterparty_bytes counts
     * every one), no record needs free_record: the map is freed without
     * a walk of its records. */
    rg_strmap_free(s->transfers, s->counterparty_bytes ? free_record : NULL);
    rg_ts_queue_free(&s->queue);
    free(s);
}

static void configure(ref_state *s, const rg_detector_config *cfg)
{
    s->want_counterparty = false;
    for (size_t i = 0; i < cfg->n_uses; i++)
        if (cfg->uses[i]->spec == &ref_names[R_REF_COUNTERPARTY])
            s->want_counterparty = true;
    s->history_horizon_ms = cfg->history_horizon_ms > 0 ? cfg->history_horizon_ms : INT64_C(7) * 86400000;
}

static void *complaints_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    ref_state *s = calloc(1, sizeof *s);
    if (!s || !(s->transfers = rg_strmap_new_fitted(sizeof(transfer_record), RG_STRMAP_FIT_ID))) {
        snprintf(errstr, errstr_size, "complaints: out of memory");
        complaints_destroy(s);
        return NULL;
    }
    s->watermark_ms = INT64_MIN / 2;
    configure(s, cfg);
    return s;
}

/* Whether a transfer is still known at a watermark. */
static bool known(const ref_state *s, const transfer_record *r, int64_t watermark_ms)
{
    return r->ts_ms > rg_sat_sub(watermark_ms, s->history_horizon_ms);
}

/* How many queued transfers ahead an expiry fetches one to delete. */
#define FORGET_AHEAD 8

/* Forget the transfers queued before `before`, the oldest first (one at
 * least). Out of line: forget() below runs on every event and mostly
 * finds nothing to do, and this loop's frame cost it more than its own
 * test. An entry whose record has moved to a newer ts (an id reused
 * after the horizon, queued again) is only dropped. */
static __attribute__((noinline)) void forget_before(ref_state *s, int64_t before)
{
    for (rg_ts_entry top; rg_ts_queue_take_before(&s->queue, before, &top);) {
        /* The record and slot a later expiry deletes, fetched now: a
         * transfer's record is cold by then (a week old by default), and
         * its read held half of this loop's samples. */
        const rg_ts_entry *later = rg_ts_queue_fifo_at(&s->queue, FORGET_AHEAD);
        if (later) {
            __builtin_prefetch(rg_strmap_placed_record(s->transfers, later->place), 1);
            rg_strmap_prefetch_hashed(s->transfers, later->place.hash, 0);
        }
        const transfer_record *r = rg_strmap_placed_record(s->transfers, top.place);
        if (r->ts_ms == top.ts_ms)
            delete_transfer(s, r, top.place);
    }
    rg_ts_queue_shrink(&s->queue);
}

/* Forget every transfer past the horizon at s->watermark_ms (ts <=
 * watermark - horizon). */
static void forget(ref_state *s)
{
    int64_t horizon_start = rg_sat_sub(s->watermark_ms, s->history_horizon_ms);
    const rg_ts_entry *top = rg_ts_queue_oldest(&s->queue);
    if (!top || top->ts_ms > horizon_start)
        return;
    /* ts <= horizon_start is ts < horizon_start + 1: no overflow, the
     * horizon is positive, so horizon_start is below the watermark. */
    forget_before(s, horizon_start + 1);
}

/* Copy a counterparty of len bytes (1..255) into r, which holds none:
 * inline, or a heap copy marked as one; its length becomes r's tag.
 * False when out of memory (r then keeps none). */
static bool keep_counterparty(ref_state *s, transfer_record *r, const char *counterparty, size_t len)
{
    char *copy = r->counterparty.inline_id;
    if (len > COUNTERPARTY_INLINE) {
        if (!(copy = malloc(len + 1)))
            return false;
        r->counterparty.heap.ptr = copy;
        r->counterparty.heap.is_heap = 1;
    }
    memcpy(copy, counterparty, len);
    copy[len] = '\0';
    rg_strmap_set_tag(s->transfers, r, (uint8_t)len);
    s->counterparty_bytes += copy_cost(len);
    return true;
}

/* Queue a transfer just put into the map (place: where it sits); on
 * allocation failure it is given back (and counted): every record in the
 * map is in the queue, so none outlives its horizon. */
static bool queue_transfer(ref_state *s, transfer_record *r, rg_strmap_place place)
{
    if (rg_ts_queue_push(&s->queue, (rg_ts_entry){r->ts_ms, place}) == 0)
        return true;
    delete_transfer(s, r, place);
    s->dropped++;
    return false;
}

static bool has_ref(const rg_event *ev)
{
    return (ev->type == RG_EV_COMPLAINT || ev->type == RG_EV_RECALL_REQUEST) && ev->ref;
}

/* A transfer is stored under its event id, a complaint looks up its ref.
 * A transfer's id is new (dedupe keeps ids unique): its put reads slots,
 * not a record (keys are compared on a hash match only), so its slot is
 * fetched at stage 0 and read at stage 1, to stay in the cache until the
 * put (rg_strmap_touch_slot); a ref's record is read, and fetched at
 * stage 1. */
static void complaints_prefetch(const void *state, const rg_event *ev, const rg_event_hashes *h, int stage)
{
    const ref_state *s = state;
    if (ev->type == RG_EV_TRANSFER) {
        if (stage == 0)
            rg_strmap_prefetch_hashed(s->transfers, h->event_id, 0);
        else if (stage == 1)
            rg_strmap_touch_slot(s->transfers, h->event_id);
    } else if (ev->ref) {
        rg_strmap_prefetch_hashed(s->transfers, h->ref, stage);
    }
}

static rg_value complaints_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    ref_state *s = state;
    rg_type type = use->spec->type;
    if (!has_ref(ev))
        return rg_unknown(type);
    const transfer_record *r = rg_record_cache_get(&s->cache, s->transfers, ev, ev->ref, ev->ref_len);
    if (!r || !known(s, r, rg_eval_judge_at(ctx, s->watermark_ms)))
        return rg_unknown(type);   /* not seen, or past the horizon (swept or not) */
    switch (use->spec - ref_names) {
    case R_REF_AGE:
        return rg_int_typed(RG_T_DURATION, ev->ts_ms - r->ts_ms);   /* both event times */
    case R_REF_COUNTERPARTY:
    {
        size_t len = counterparty_len(s, r);
        return len ? rg_string(counterparty_of(r), len) : rg_unknown(type);
    }
    default:
        return rg_unknown(type);
    }
}

static void complaints_update(void *state, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    ref_state *s = state;
    s->watermark_ms = rg_eval_judge_at(ctx, s->watermark_ms);
    int64_t judged_at_ms = s->watermark_ms;   /* as eval judged E */
    if (ev->ts_ms > s->watermark_ms)
        s->watermark_ms = ev->ts_ms;
    rg_record_cache_reset(&s->cache);   /* E's alone; records may go or be created below */
    forget(s);
    if (ev->type != RG_EV_TRANSFER || ev->ts_ms <= rg_sat_sub(s->watermark_ms, s->history_horizon_ms))
        return;   /* no transfer, or one already past the horizon */
    bool created;
    rg_strmap_place place;
    transfer_record *r = rg_strmap_put_placed(s->transfers, ev->event_id, ev->event_id_len, &created, &place);
    if (!r) {
        s->dropped++;
        return;
    }
    if (!created && !known(s, r, judged_at_ms)) {
        s->counterparty_bytes -= copy_cost(counterparty_len(s, r));
        free_record(r);   /* an id reused after the horizon is a new transfer */
        memset(r, 0, sizeof *r);
        rg_strmap_set_tag(s->transfers, r, 0);
        created = true;
    }
    if (!created)
        return;   /* dedupe keeps ids unique; a reused id keeps its first transfer */
    r->ts_ms = ev->ts_ms;
    if (s->want_counterparty && ev->counterparty && ev->counterparty_len &&
        !keep_counterparty(s, r, ev->counterparty, ev->counterparty_len > UINT8_MAX ? UINT8_MAX : ev->counterparty_len))
        s->dropped++;   /* the transfer is kept, without its counterparty */
    queue_transfer(s, r, place);
}

static void complaints_expire(void *state, int64_t watermark_ms)
{
    ref_state *s = state;
    if (watermark_ms > s->watermark_ms)
        s->watermark_ms = watermark_ms;
    rg_record_cache_reset(&s->cache);
    forget(s);
}

static void complaints_stats(const void *state, rg_detector_stats *out)
{
    const ref_state *s = state;
    memset(out, 0, sizeof *out);
    out->entities = rg_strmap_count(s->transfers);
    out->bytes = sizeof *s + rg_strmap_bytes(s->transfers) + rg_ts_queue_bytes(&s->queue) + s->counterparty_bytes;
    out->dropped = s->dropped;
}

/* ---- checkpoint ---------------------------------------------------------
 * Format 4: watermark, dropped; per transfer in key order: event id, ts,
 * counterparty (empty: not kept). The queue is rebuilt from the ts.
 * Format 3 also had a sweep clock (events since the last sweep and the
 * base: sweep.h) after the watermark, format 2 the first of those two
 * numbers: read and ignored (there is no sweep since format 4).
 * Format 1 also had a last touch, read and ignored (a transfer now lasts
 * from its own ts). */

#define COMPLAINTS_STATE_VERSION 4
#define KEY_MAX 1024

static int complaints_save(const void *state, rg_strbuf *out)
{
    const ref_state *s = state;
    rg_put_i64(out, s->watermark_ms);
    rg_put_u64(out, s->dropped);
    size_t n;
    rg_strmap_item *items = rg_strmap_sorted(s->transfers, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        const transfer_record *r = items[k].value;
        rg_put_str(out, items[k].key, items[k].keylen);
        rg_put_i64(out, r->ts_ms);
        rg_put_str(out, counterparty_of(r), counterparty_len(s, r));
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

static int complaints_load(void *state, uint32_t version, rg_reader *in)
{
    ref_state *s = state;
    if (version < 1 || version > COMPLAINTS_STATE_VERSION) {
        rg_reader_fail(in, "complaints", "unknown section version");
        return -1;
    }
    int64_t watermark_ms = rg_get_mark(in, "watermark");
    if (version < 4)
        (void)rg_sweep_clock_load(in, version >= 3);
    uint64_t dropped = rg_get_u64(in, "dropped");
    uint32_t n = rg_get_count(in, 4 + (version == 1 ? 16 : 8) + 4, "transfer count");
    for (uint32_t k = 0; k < n && rg_reader_ok(in); k++) {
        size_t keylen, cplen;
        const char *key = rg_get_str(in, KEY_MAX, &keylen, "transfer");
        int64_t ts_ms = rg_get_ts(in, "ts");
        if (version == 1)
            (void)rg_get_ts(in, "last touch");
        const char *cp = rg_get_str(in, UINT8_MAX, &cplen, "counterparty");
        if (!rg_reader_ok(in))
            break;
        if (!key) {
            rg_reader_fail(in, "transfer", "empty key");
            break;
        }
        bool created;
        rg_strmap_place place;
        transfer_record *r = rg_strmap_put_placed(s->transfers, key, keylen, &created, &place);
        if (!r || !created) {
            rg_reader_fail(in, "transfer", r ? "saved twice" : "out of memory");
            break;
        }
        r->ts_ms = ts_ms;
        if (cplen && !keep_counterparty(s, r, cp, cplen)) {
            rg_reader_fail(in, "counterparty", "out of memory");
            break;
        }
        if (rg_ts_queue_push(&s->queue, (rg_ts_entry){ts_ms, place}) != 0) {
            rg_reader_fail(in, "transfer", "out of memory");
            break;
        }
    }
    if (!rg_reader_ok(in))
        return -1;
    if (rg_reader_left(in)) {
        rg_reader_fail(in, "complaints", "bytes after the last transfer");
        return -1;
    }
    s->watermark_ms = watermark_ms;
    s->dropped = (size_t)dropped;
    return 0;
}

const rg_detector rg_detector_complaints = {
    .family = "complaints",
    .names = ref_names,
    .n_names = R_COUNT,
    .create = complaints_create,
    .eval = complaints_eval,
    .prefetch = complaints_prefetch,
    .update = complaints_update,
    .expire = complaints_expire,
    .stats = complaints_stats,
    .destroy = complaints_destroy,
    .state_version = COMPLAINTS_STATE_VERSION,
    .save = complaints_save,
    .load = complaints_load,
    .kept = RG_KEPT_EVENT,
    .state = "per transfer: its ts and counterparty in a record and a queue entry, ~85-125 B in all; kept for "
             "history_horizon after the transfer",
};
