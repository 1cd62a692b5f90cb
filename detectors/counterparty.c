/*
 * counterparty — who receives a transfer: how new that account is
 * (`counterparty_age`) and how many distinct accounts have been paying it
 * (`counterparty_senders(W)`); detection.md new_recipient_large and
 * new_account_mule.
 *
 * Owner: detectors.
 *
 * counterparty_age (DURATION) on a transfer E: E.ts - the counterparty's
 * registration time, taken from E.counterparty_created_at when the ledger
 * enriched the event, else from an account_open of that account seen
 * earlier (by arrival); unknown otherwise, which a rule reads as "not
 * new". Unknown on other event types. Only the event's own
 * counterparty_created_at counts: one transfer's enrichment is not
 * remembered for the next (rules.md says "else an earlier account_open").
 *
 * counterparty_senders(W) (INT) on a transfer E: distinct accounts with a
 * transfer to E.counterparty in (E.ts - W, E.ts], E's sender included;
 * the same sender twice counts once. Unknown on other types.
 *
 * State, keyed by the counterparty account in two maps (nothing of the
 * sender is stored under the sender's own key):
 *   - registrations: the registration time, only when counterparty_age is
 *     used, from account_open: a fact about the account, kept for good
 *     (rules.md "State is bounded": `counterparty_age >= 30d` is known for
 *     an account opened a year ago), 8 bytes in a kept slice of the
 *     account's record (account_store.h), which follows a quiet account
 *     into the dormant map;
 *   - received: the transfers it received, only when counterparty_senders
 *     is used:
 *       raw     every received transfer (ts, sender hash), in ts order,
 *               kept while within the largest W of the file's
 *               counterparty_senders uses plus max_lateness of the
 *               watermark;
 *       index   for a counterparty with more than SMALL_MAX transfers in
 *               that span: each sender's latest ts as a sorted multiset
 *               (rg_window) and a sender -> latest ts table.
 *     Few transfers: distinct senders in (lo, E.ts] by scanning them.
 *     With the index and E in order (E.ts >= every ts held), distinct
 *     senders in (lo, E.ts] are those whose latest ts is > lo: one binary
 *     search plus one table probe, O(log n). A late E (older than a
 *     transfer already held) cannot use latest times, so it counts
 *     distinct senders over raw in (lo, E.ts] with a scratch set: O(k) in
 *     that window's transfers, exact, and rare by construction.
 *     Senders are 64-bit fingerprints of the account id (rg_fingerprint64): two
 *     accounts colliding would count once; at 2^-64 per pair that is
 *     negligible against any real counterparty's sender count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strmap.h"
#include "account_store.h"
#include "../rules/eval.h"
#include "detector.h"
#include "counterparty_internal.h"
#include "record_cache.h"
#include "sender_index.h"
#include "sweep.h"
#include "window.h"

enum cp_name { CP_AGE, CP_SENDERS, CP_COUNT };

static const rg_name_spec counterparty_names[CP_COUNT] = {
    [CP_AGE] = {"counterparty_age", RG_T_DURATION, {RG_ARG_NONE}, false,
                "E.ts - the counterparty's registration time (counterparty_created_at, else an earlier "
                "account_open); unknown when neither exists"},
    [CP_SENDERS] = {"counterparty_senders", RG_T_INT, {RG_ARG_DURATION}, false,
                    "distinct accounts that sent transfers to E's counterparty in (E.ts - W, E.ts], E included"},
};

static void index_free(cp_record *r)
{
    if (!r->raw_cap)
        return;   /* one transfer in the record: no index */
    rg_sender_index_free(r->u.heap.index);
    r->u.heap.index = NULL;
}

static void free_record(void *value)
{
    cp_record *r = value;
    index_free(r);
    if (r->raw_cap)
        free(r->u.heap.raw);
    memset(&r->u, 0, sizeof r->u);
    r->raw_n = r->raw_cap = r->raw_start = 0;
}

static bool free_record_visit(const char *key, size_t keylen, void *value, void *arg)
{
    free_record(value);
    return true;
}

static void counterparty_destroy(void *state)
{
    cp_state *s = state;
    if (!s)
        return;
    if (s->received.store)
        rg_account_foreach(&s->received, free_record_visit, NULL);
    rg_account_store_free(s->own_store);
    free(s->scratch);
    free(s);
}

/* What to keep for these uses. -1 on a window that is not positive. */
static int configure(cp_state *s, const rg_detector_config *cfg)
{
    int64_t lateness_ms = cfg->max_lateness_ms > 0 ? cfg->max_lateness_ms : 0;
    s->want_age = s->want_senders = false;
    s->senders_keep_ms = 0;
    for (size_t i = 0; i < cfg->n_uses; i++) {
        const rg_name_use *use = cfg->uses[i];
        if (use->spec == &counterparty_names[CP_AGE]) {
            s->want_age = true;
        } else if (use->spec == &counterparty_names[CP_SENDERS]) {
            if (use->window_ms <= 0)
                return -1;
            s->want_senders = true;
            if (rg_sat_add(use->window_ms, lateness_ms) > s->senders_keep_ms)
                s->senders_keep_ms = rg_sat_add(use->window_ms, lateness_ms);
        }
    }
    return 0;
}

static void *counterparty_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    cp_state *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errstr, errstr_size, "counterparty: out of memory");
        return NULL;
    }
    s->watermark_ms = INT64_MIN / 2;
    s->sweep_clock = RG_SWEEP_CLOCK_INIT;
    if (configure(s, cfg) != 0) {
        snprintf(errstr, errstr_size, "counterparty_senders(): window must be a positive duration");
        counterparty_destroy(s);
        return NULL;
    }
    rg_account_store *store = cfg->accounts;
    if (s->want_senders)   /* the sender is fingerprinted at every transfer */
        rg_account_store_keep_fingerprints(store);
    if ((!store && !(store = s->own_store = rg_account_store_new())) ||
        (s->want_age && rg_account_store_reserve_kept(store, sizeof(registration), &s->registrations) != 0) ||
        (s->want_senders && rg_account_store_reserve(store, sizeof(cp_record), &s->received) != 0) ||
        (s->own_store && rg_account_store_seal(s->own_store) != 0)) {
        snprintf(errstr, errstr_size, "counterparty: out of memory");
        counterparty_destroy(s);
        return NULL;
    }
    return s;
}

void rg_cp_index_build(cp_record *r)
{
    if (!r->raw_cap)
        return;   /* one transfer at most: never indexed */
    r->u.heap.index = rg_sender_index_new();
    if (!r->u.heap.index)
        return;
    const transfer_in *base = cp_transfers_c(r);
    for (uint32_t i = 0; i < r->raw_n; i++) {
        if (rg_sender_index_add(r->u.heap.index, r->trimmed_ms, base[i].ts_ms, base[i].sender) != 0) {
            index_free(r);
            return;
        }
    }
}

/* ---- received transfers -------------------------------------------------- */

/* Room kept beyond n transfers: a quarter, so growth and compaction stay
 * amortised O(1) while the slack (16 B a transfer) stays small. */
static uint32_t raw_slack(uint32_t n) { return n / 4 + 1; }

/* Drop the received transfers <= cutoff_ms. An emptied buffer is given
 * back, unless it is small and `refill` says a transfer is about to go
 * in (freeing it would only make the insert allocate again). */
static void record_trim(cp_record *r, int64_t cutoff_ms, bool refill)
{
    /* A cutoff before any time a record can hold (a window longer than
     * all of time, saturated) trims nothing: say "none", the one mark so
     * low that a checkpoint accepts (binio.h). */
    if (cutoff_ms < -RG_SAVED_TS_LIMIT)
        cutoff_ms = INT64_MIN;
    if (cutoff_ms <= r->trimmed_ms)
        return;
    r->trimmed_ms = cutoff_ms;
    if (!r->raw_cap) {
        if (r->raw_n && r->u.one.ts_ms <= cutoff_ms)
            r->raw_n = 0;   /* the one in the record */
        return;
    }
    transfer_in *raw = r->u.heap.raw;
    while (r->raw_n && raw[r->raw_start].ts_ms <= cutoff_ms) {
        r->raw_start++;
        r->raw_n--;
    }
    if (!r->raw_n && refill && r->raw_cap <= 2 * raw_slack(0)) {
        r->raw_start = 0;   /* a small buffer, about to take a transfer */
    } else if (!r->raw_n) {
        index_free(r);
        free(raw);   /* a quiet counterparty holds no buffer */
        memset(&r->u, 0, sizeof r->u);
        r->raw_start = r->raw_cap = 0;
        return;
    } else if ((uint64_t)r->raw_cap > 2 * ((uint64_t)r->raw_n + raw_slack(r->raw_n))) {
        /* A burst gone: slide the live transfers down and give back
         * what is over twice their need (trimmed history at the front
         * alone is reused by raw_insert's slide). A counterparty paid
         * steadily then holds at most about twice its live transfers;
         * giving back at any excess made it shrink at every trim and
         * grow again at the next transfer: a realloc pair per transfer
         * (issue 16). Each compaction follows at least n/2 trims, so its
         * O(n) move costs O(1) per trimmed transfer. A failed realloc
         * keeps the bigger buffer. */
        memmove(raw, raw + r->raw_start, r->raw_n * sizeof *raw);
        r->raw_start = 0;
        uint32_t cap = r->raw_n + raw_slack(r->raw_n);
        transfer_in *shrunk = realloc(raw, (size_t)cap * sizeof *shrunk);
        if (shrunk) {
            r->u.heap.raw = shrunk;
            r->raw_cap = cap;
        }
    }
    if (r->u.heap.index && r->raw_n <= SMALL_LOW) {
        index_free(r);
    } else if (r->u.heap.index) {
        rg_sender_index_trim(r->u.heap.index, cutoff_ms);
    }
}

static int raw_insert(cp_record *r, int64_t ts_ms, uint64_t sender)
{
    if (!r->raw_cap && !r->raw_n) {
        r->u.one = (transfer_in){ts_ms, sender};   /* the first: in the record */
        r->raw_n = 1;
        return 0;
    }
    if (!r->raw_cap) {
        /* A second: both to a heap array of the size the first one's
         * growth would have reached (1, then 1 + a quarter + 1). */
        uint32_t cap = 1 + raw_slack(1);
        transfer_in *heap = malloc((size_t)cap * sizeof *heap);
        if (!heap)
            return -1;
        heap[0] = r->u.one;
        r->u.heap.raw = heap;
        r->u.heap.index = NULL;
        r->raw_start = 0;
        r->raw_cap = cap;
    } else if (r->raw_start + r->raw_n == r->raw_cap) {
        if (r->raw_start > 0 && r->raw_start >= raw_slack(r->raw_n)) {
            /* Enough of the array is trimmed history: slide down instead
             * of growing (O(n) once per n/4 + 1 transfers). */
            memmove(r->u.heap.raw, r->u.heap.raw + r->raw_start, r->raw_n * sizeof *r->u.heap.raw);
            r->raw_start = 0;
        } else {
            /* Most counterparties hold a handful of transfers and the
             * slack is paid per counterparty: grow by a quarter (+1), not
             * twice. A new buffer with the live transfers moved to its
             * front, not realloc: glibc's realloc takes the allocator's
             * slow paths (~220 instructions on these small blocks, most
             * counterparty updates grow one: issue 16), malloc and free
             * its per-thread cache. */
            uint32_t cap = r->raw_cap + raw_slack(r->raw_cap);
            if (cap <= r->raw_cap)
                return -1;
            transfer_in *grown = malloc((size_t)cap * sizeof *grown);
            if (!grown)
                return -1;
            if (r->raw_n)
                memcpy(grown, r->u.heap.raw + r->raw_start, r->raw_n * sizeof *grown);
            free(r->u.heap.raw);
            r->u.heap.raw = grown;
            r->raw_start = 0;
            r->raw_cap = cap;
        }
    }
    transfer_in *base = r->u.heap.raw + r->raw_start;
    uint32_t pos = r->raw_n;
    while (pos > 0 && base[pos - 1].ts_ms > ts_ms)
        pos--;   /* late transfers are rare and only slightly late */
    if (pos < r->raw_n)   /* in order (the usual case): nothing to shift, no call */
        memmove(base + pos + 1, base + pos, (r->raw_n - pos) * sizeof *base);
    base[pos].ts_ms = ts_ms;
    base[pos].sender = sender;
    r->raw_n++;
    return 0;
}

/* ---- eval ---------------------------------------------------------------- */

/* Distinct senders over raw in (lo, hi], plus `sender` (E's). */
static int64_t distinct_in_range(cp_state *s, const cp_record *r, int64_t lo_ms, int64_t hi_ms, uint64_t sender)
{
    const transfer_in *base = cp_transfers_c(r);
    uint32_t lo = 0, hi = r->raw_n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (base[mid].ts_ms <= lo_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t first = lo;
    hi = r->raw_n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (base[mid].ts_ms <= hi_ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t last = lo;   /* entries [first, last), then E's sender */
    uint32_t k = last - first + 1;
    uint32_t cap = 16;
    while (cap < 2 * k)
        cap *= 2;
    int64_t distinct = 0;
    if (k > SMALL_MAX && cap <= s->scratch_cap) {
        if (++s->scratch_gen == 0) {
            memset(s->scratch, 0, (size_t)s->scratch_cap * sizeof *s->scratch);
            s->scratch_gen = 1;
        }
        for (uint32_t i = first; i <= last; i++) {
            uint64_t who = i < last ? base[i].sender : sender;
            uint32_t j = (uint32_t)who & (cap - 1);
            while (s->scratch[j].gen == s->scratch_gen && s->scratch[j].sender != who)
                j = (j + 1) & (cap - 1);
            if (s->scratch[j].gen != s->scratch_gen) {
                s->scratch[j].gen = s->scratch_gen;
                s->scratch[j].sender = who;
                distinct++;
            }
        }
        return distinct;
    }
    /* Few entries (or no scratch after an allocation failure): compare
     * each with those before it; exact either way. */
    for (uint32_t i = first; i <= last; i++) {
        uint64_t who = i < last ? base[i].sender : sender;
        bool seen = false;
        for (uint32_t j = first; j < i && !seen; j++)
            seen = base[j].sender == who;
        distinct += !seen;
    }
    return distinct;
}

static rg_value counterparty_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    cp_state *s = state;
    if (ev->type != RG_EV_TRANSFER || !ev->counterparty)
        return rg_unknown(use->spec->type);
    if (use->spec == &counterparty_names[CP_AGE]) {
        if (ev->has_counterparty_created_at)
            return rg_int_typed(RG_T_DURATION, ev->ts_ms - ev->counterparty_created_at_ms);
        const registration *reg =
            rg_record_cache_slice(&s->registration_cache, &s->registrations, ev, ev->counterparty, ev->counterparty_len);
        if (reg)
            return rg_int_typed(RG_T_DURATION, rg_sat_sub(ev->ts_ms, reg->registered_ms));
        return rg_unknown(RG_T_DURATION);
    }
    if (use->spec != &counterparty_names[CP_SENDERS])
        return rg_unknown(use->spec->type);
    const cp_record *r =
        rg_record_cache_slice(&s->received_cache, &s->received, ev, ev->counterparty, ev->counterparty_len);
    if (!r || !r->raw_n)
        return rg_int_typed(RG_T_INT, 1);   /* E's sender alone */
    int64_t lo_ms = rg_sat_sub(ev->ts_ms, use->window_ms);
    /* Nothing at or below the trim cutoff of the watermark E is judged by
     * counts, trimmed yet or not (velocity_eval says why). */
    int64_t wm_ms = rg_eval_judge_at(ctx, s->watermark_ms);
    int64_t cutoff_ms = rg_sat_sub(wm_ms, s->senders_keep_ms);
    if (cutoff_ms > lo_ms)
        lo_ms = cutoff_ms;
    uint64_t sender = rg_account_slice_fingerprint(&s->received, ev->account, ev->account_len);
    int64_t newest_ms = cp_transfers_c(r)[r->raw_n - 1].ts_ms;
    const rg_sender_index *index = cp_index(r);
    if (index && ev->ts_ms >= newest_ms) {
        /* In order: every held ts is <= E.ts, so a sender is in the
         * window exactly when its latest ts is > lo. */
        int64_t senders = rg_window_count(&index->latest, index->latest_base_ms, lo_ms, ev->ts_ms);
        if (rg_sender_index_latest(index, r->trimmed_ms, sender) <= lo_ms)
            senders++;
        return rg_int_typed(RG_T_INT, senders);
    }
    return rg_int_typed(RG_T_INT, distinct_in_range(s, r, lo_ms, ev->ts_ms, sender));
}

/* ---- update / expire ---------------------------------------------------- */

void rg_cp_grow_scratch(cp_state *s, uint32_t raw_n)
{
    uint32_t want = 16;
    while (want < 2 * (raw_n + 1))
        want *= 2;
    if (want <= s->scratch_cap)
        return;
    scratch_slot *n = calloc(want, sizeof *n);
    if (!n)
        return;   /* the late path falls back to its quadratic scan */
    free(s->scratch);
    s->scratch = n;
    s->scratch_cap = want;
    s->scratch_gen = 0;
}

static void fold_counterparty(cp_state *s, const rg_event *ev);

static void counterparty_update(void *state, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    cp_state *s = state;
    rg_sweep_tick(&s->sweep_clock);
    s->watermark_ms = rg_eval_judge_at(ctx, s->watermark_ms);
    if (ev->ts_ms > s->watermark_ms)
        s->watermark_ms = ev->ts_ms;
    if (ev->type == RG_EV_TRANSFER || ev->type == RG_EV_ACCOUNT_OPEN) {
        fold_counterparty(s, ev);
        return;
    }
    /* Nothing else is kept: done here, without the fold's frame. */
    rg_record_cache_reset(&s->registration_cache);
    rg_record_cache_reset(&s->received_cache);
}

/* A transfer (its counterparty's received transfers) or an account's
 * opening (its registration) into the state. */
__attribute__((noinline)) static void fold_counterparty(cp_state *s, const rg_event *ev)
{
    bool is_transfer = ev->type == RG_EV_TRANSFER && ev->counterparty;
    cp_record *paid = is_transfer && s->want_senders
                          ? rg_record_cache_slice(&s->received_cache, &s->received, ev, ev->counterparty,
                                                ev->counterparty_len)
                          : NULL;
    /* Records are created and deleted below. */
    rg_record_cache_reset(&s->registration_cache);
    rg_record_cache_reset(&s->received_cache);
    if (ev->type == RG_EV_ACCOUNT_OPEN && s->want_age) {
        bool created;
        registration *reg = rg_account_put(&s->registrations, ev->account, ev->account_len, &created);
        if (!reg) {
            s->dropped++;
            return;
        }
        /* Two opens of one account: the first registration is the real one. */
        if (created || ev->ts_ms < reg->registered_ms)
            reg->registered_ms = ev->ts_ms;
        return;
    }
    if (!is_transfer || !s->want_senders)
        return;
    bool created = false;
    cp_record *r = paid ? paid : rg_account_put(&s->received, ev->counterparty, ev->counterparty_len, &created);
    if (!r) {
        s->dropped++;
        return;
    }
    if (created)
        r->trimmed_ms = INT64_MIN;
    int64_t cutoff_ms = rg_sat_sub(s->watermark_ms, s->senders_keep_ms);
    record_trim(r, cutoff_ms, ev->ts_ms > cutoff_ms);
    if (ev->ts_ms <= r->trimmed_ms) {
        if (!r->raw_n)
            rg_account_release(&s->received, ev->counterparty, ev->counterparty_len);
        return;   /* older than any window still answered exactly */
    }
    uint64_t sender = rg_account_slice_fingerprint(&s->received, ev->account, ev->account_len);
    if (raw_insert(r, ev->ts_ms, sender) != 0) {
        s->dropped++;
        return;
    }
    if (cp_index(r)) {
        if (rg_sender_index_add(r->u.heap.index, r->trimmed_ms, ev->ts_ms, sender) != 0) {
            s->dropped++;
            index_free(r);   /* raw alone stays exact, only slower */
        }
    } else if (r->raw_n > SMALL_MAX) {
        rg_cp_index_build(r);
    }
    if (r->raw_n > SMALL_MAX)
        rg_cp_grow_scratch(s, r->raw_n);
}

static bool keep_received(void *value, void *arg)
{
    cp_state *s = arg;
    cp_record *r = value;
    if (!s->want_senders)
        return false;
    record_trim(r, rg_sat_sub(s->watermark_ms, s->senders_keep_ms), false);
    if (r->raw_n > 0)
        return true;
    free_record(r);
    return false;
}

static void counterparty_expire(void *state, int64_t watermark_ms)
{
    cp_state *s = state;
    if (watermark_ms > s->watermark_ms)
        s->watermark_ms = watermark_ms;
    /* Registrations never expire; the caches go because a sweep (this
     * one or another family's) may move records (account_store.h). */
    rg_record_cache_reset(&s->registration_cache);
    rg_record_cache_reset(&s->received_cache);
    if (s->received.store && rg_sweep_due_every(&s->sweep_clock, rg_account_active_records(s->received.store),
                                                  RG_SWEEP_ACCOUNTS_EVERY))
        rg_account_sweep(&s->received, keep_received, s);
}

static bool add_record_stats(const char *key, size_t keylen, void *value, void *arg)
{
    rg_detector_stats *out = arg;
    const cp_record *r = value;
    if (r->raw_cap)
        out->bytes += rg_heap_block_bytes(r->u.heap.raw, (size_t)r->raw_cap * sizeof *r->u.heap.raw);
    out->window_entries += r->raw_n;
    out->window_bytes += (size_t)r->raw_n * sizeof(transfer_in);
    const rg_sender_index *index = cp_index(r);
    if (index) {
        out->bytes += rg_sender_index_bytes(index);
        out->window_entries += rg_window_len(&index->latest);
        out->window_bytes += rg_window_entry_bytes(&index->latest);
    }
    return true;
}

static void counterparty_stats(const void *state, rg_detector_stats *out)
{
    const cp_state *s = state;
    memset(out, 0, sizeof *out);
    out->entities = (s->registrations.store ? rg_account_count(&s->registrations) : 0) +
                    (s->received.store ? rg_account_count(&s->received) : 0);
    /* Shared records are counted by the engine; a private store here. */
    out->bytes = sizeof *s + (s->own_store ? rg_account_store_bytes(s->own_store) : 0) +
                 (size_t)s->scratch_cap * sizeof *s->scratch;
    out->dropped = s->dropped;
    if (s->received.store)
        rg_account_foreach(&s->received, add_record_stats, out);
}

/* Stage 2 (detector.h): the received transfers' ends a transfer trims
 * (the oldest) and appends to (the newest). */
static void counterparty_prefetch(const void *state, const rg_event *ev, const rg_account_peeked *accounts)
{
    const cp_state *s = state;
    if (ev->type != RG_EV_TRANSFER || !s->want_senders)
        return;
    const cp_record *r = rg_account_peeked_slice(&s->received, accounts, true);
    if (!r || !r->raw_cap)
        return;   /* none, or one in the record itself */
    __builtin_prefetch(&r->u.heap.raw[r->raw_start]);
    if (r->raw_n)
        __builtin_prefetch(&r->u.heap.raw[r->raw_start + r->raw_n - 1]);
}

/* Registrations are facts about an account, kept for good; received
 * transfers are window entries (rules.md "State is bounded"). */
static const rg_name_state counterparty_name_states[CP_COUNT] = {
    [CP_AGE] = {RG_KEPT_ACCOUNT, "per account opened: its registration time in a 16 B record slice; kept for good"},
    [CP_SENDERS] = {RG_KEPT_WINDOW, "per counterparty: a 40 B record slice, 16 B per transfer received in the "
                                    "longest W + max_lateness, and a sender index (~56 B + 24 B per sender) past "
                                    "16 transfers"},
};

const rg_detector rg_detector_counterparty = {
    .family = "counterparty",
    .names = counterparty_names,
    .n_names = CP_COUNT,
    .create = counterparty_create,
    .eval = counterparty_eval,
    .update = counterparty_update,
    .expire = counterparty_expire,
    .prefetch_pointed = counterparty_prefetch,
    .stats = counterparty_stats,
    .destroy = counterparty_destroy,
    .state_version = RG_COUNTERPARTY_STATE_VERSION,
    .save = rg_counterparty_save,
    .load = rg_counterparty_load,
    .kept = RG_KEPT_ACCOUNT,
    .state = "per account: see each name",
    .name_states = counterparty_name_states,
};
