/*
 * packets — red packets as the claims see them: `claim_delay`,
 * `packet_expired`, `packet_overclaimed`, `packet_reclaimed`
 * (detection.md instant_claims and forged_claim; events.md lifetimes).
 *
 * Owner: detectors.
 *
 * On a red_packet_claim E whose packet's send was seen earlier (by
 * arrival):
 *   claim_delay         E.ts - send ts (ms; negative if the claim's ts is
 *                       before the send's). Filterable: count() filters
 *                       use it for "instant" claims.
 *   packet_expired      E.ts - send ts > the kind's lifetime (normal and
 *                       lucky 24 h, group 72 h, timed 60 s;
 *                       rg_packet_lifetime_ms); a claim exactly at the end
 *                       of the lifetime is still in time.
 *   packet_overclaimed  the amounts of the claims on the packet folded in
 *                       so far, plus E's, exceed the send's amount.
 *   packet_reclaimed    E's account already has a claim on this packet.
 * All four are unknown on other event types and when the send was not
 * seen. Claims that arrive before their send are not remembered (the
 * names are unknown for them anyway); the totals count claims from the
 * send on.
 *
 * State per packet (one strmap record keyed by packet_id): send ts,
 * amount and kind; the claimed total only when packet_overclaimed is
 * used; the claimers, as 64-bit fingerprints of their account ids
 * (rg_fingerprint64; a collision is negligible at 2^-64 per pair; two
 * inline, then a heap array bounded by the claims the packet gets), only
 * when packet_reclaimed is used.
 * A packet is a fact about one event, its send (rules.md "State is
 * bounded"): kept for history_horizon of event time after the send's ts,
 * then unknown (whether or not a sweep has removed it yet), however many
 * claims came in between. A send already that old when it arrives is not
 * kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strmap.h"
#include "../rules/eval.h"
#include "detector.h"
#include "record_cache.h"
#include "sweep.h"
#include "window.h"

enum packet_name { P_CLAIM_DELAY, P_EXPIRED, P_OVERCLAIMED, P_RECLAIMED, P_COUNT };

static const rg_name_spec packet_names[P_COUNT] = {
    [P_CLAIM_DELAY] = {"claim_delay", RG_T_DURATION, {RG_ARG_NONE}, true,
                       "claim ts - the packet's send ts; unknown if the send was not seen"},
    [P_EXPIRED] = {"packet_expired", RG_T_BOOL, {RG_ARG_NONE}, false,
                   "the claim is after the packet's lifetime (normal/lucky 24h, group 72h, timed 60s after the "
                   "send); unknown if the send was not seen"},
    [P_OVERCLAIMED] = {"packet_overclaimed", RG_T_BOOL, {RG_ARG_NONE}, false,
                       "the claims on the packet, this one included, add up to more than its amount; unknown if "
                       "the send was not seen"},
    [P_RECLAIMED] = {"packet_reclaimed", RG_T_BOOL, {RG_ARG_NONE}, false,
                     "this account already claimed this packet; unknown if the send was not seen"},
};

#define CLAIMERS_INLINE 2

typedef struct packet_record {
    int64_t send_ts_ms;
    int64_t amount;              /* the send's total, minor units */
    int64_t claimed_total;       /* claims folded in so far (overclaimed only) */
    union {
        uint64_t *heap;
        uint64_t inline_hash[CLAIMERS_INLINE];
    } claimers;
    uint32_t n_claimers;
    uint32_t claimers_cap;       /* <= CLAIMERS_INLINE: inline */
    uint8_t kind;                /* rg_packet_kind */
} packet_record;

typedef struct packet_state {
    rg_record_cache cache;            /* the claimed packet of the event in hand */
    /* The claimer of the event in hand as eval found it for
     * packet_reclaimed (its fingerprint, and whether the packet has it),
     * for update to add without asking again: matched by the event as
     * the record cache is, and cleared with it (nothing changes a
     * packet's claimers between the two). .record unused. */
    rg_record_cache claimer_event;
    uint64_t claimer_fp;
    bool claimer_seen;
    rg_sweep_clock sweep_clock;       /* when the next sweep is due (sweep.h) */
    rg_strmap *packets;
    rg_account_store *accounts;       /* the engine's (may be NULL): E's account fingerprinted once */
    const rg_name_use *const *uses;   /* the family's uses (packets_eval answers them all at once) */
    size_t n_uses;
    uint8_t *use_names;               /* [n_uses]: each use's packet_name (P_COUNT: not this family's) */
    bool want_total, want_claimers;
    int64_t history_horizon_ms;
    int64_t watermark_ms;
    size_t dropped;
} packet_state;

static void free_record(void *value)
{
    packet_record *r = value;
    if (r->claimers_cap > CLAIMERS_INLINE)
        free(r->claimers.heap);
    r->claimers_cap = 0;
    r->n_claimers = 0;
}

static void packets_destroy(void *state)
{
    packet_state *s = state;
    if (!s)
        return;
    rg_strmap_free(s->packets, free_record);
    free(s->use_names);
    free(s);
}

static void configure(packet_state *s, const rg_detector_config *cfg)
{
    s->want_total = s->want_claimers = false;
    for (size_t i = 0; i < cfg->n_uses; i++) {
        if (cfg->uses[i]->spec == &packet_names[P_OVERCLAIMED])
            s->want_total = true;
        else if (cfg->uses[i]->spec == &packet_names[P_RECLAIMED])
            s->want_claimers = true;
    }
    s->history_horizon_ms = cfg->history_horizon_ms > 0 ? cfg->history_horizon_ms : INT64_C(7) * 86400000;
}

static void *packets_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    packet_state *s = calloc(1, sizeof *s);
    if (!s || !(s->packets = rg_strmap_new_fitted(sizeof(packet_record), RG_STRMAP_FIT_ID)) ||
        !(s->use_names = malloc(cfg->n_uses ? cfg->n_uses : 1))) {
        snprintf(errstr, errstr_size, "packets: out of memory");
        packets_destroy(s);
        return NULL;
    }
    s->watermark_ms = INT64_MIN / 2;
    s->sweep_clock = RG_SWEEP_CLOCK_INIT;
    s->accounts = cfg->accounts;
    s->uses = cfg->uses;
    s->n_uses = cfg->n_uses;
    for (size_t i = 0; i < cfg->n_uses; i++) {
        size_t k = (size_t)(cfg->uses[i]->spec - packet_names);
        s->use_names[i] = (uint8_t)(k < P_COUNT ? k : P_COUNT);
    }
    configure(s, cfg);
    if (s->want_claimers)   /* the claimer is fingerprinted at every claim */
        rg_account_store_keep_fingerprints(s->accounts);
    return s;
}

static const uint64_t *claimers_of(const packet_record *r)
{
    return r->claimers_cap > CLAIMERS_INLINE ? r->claimers.heap : r->claimers.inline_hash;
}

static bool has_claimed(const packet_record *r, uint64_t account)
{
    const uint64_t *c = claimers_of(r);
    for (uint32_t i = 0; i < r->n_claimers; i++)
        if (c[i] == account)
            return true;
    return false;
}

/* Append a claimer the packet does not have. -1 on OOM. */
static int append_claimer(packet_record *r, uint64_t account)
{
    uint32_t cap = r->claimers_cap > CLAIMERS_INLINE ? r->claimers_cap : CLAIMERS_INLINE;
    if (r->n_claimers == cap) {
        uint32_t grown = cap * 2;
        if (grown <= cap)
            return -1;
        uint64_t *heap = malloc((size_t)grown * sizeof *heap);
        if (!heap)
            return -1;
        memcpy(heap, claimers_of(r), (size_t)r->n_claimers * sizeof *heap);
        if (r->claimers_cap > CLAIMERS_INLINE)
            free(r->claimers.heap);
        r->claimers.heap = heap;
        r->claimers_cap = grown;
    }
    uint64_t *c = r->claimers_cap > CLAIMERS_INLINE ? r->claimers.heap : r->claimers.inline_hash;
    c[r->n_claimers++] = account;
    return 0;
}

static int add_claimer(packet_record *r, uint64_t account)
{
    return has_claimed(r, account) ? 0 : append_claimer(r, account);
}

/* Whether the packet is still known at a watermark: its send within the
 * horizon. */
static bool known(const packet_state *s, const packet_record *r, int64_t watermark_ms)
{
    return r->send_ts_ms > rg_sat_sub(watermark_ms, s->history_horizon_ms);
}

static void packets_prefetch(const void *state, const rg_event *ev, const rg_event_hashes *h, int stage)
{
    const packet_state *s = state;
    if (ev->packet_id)
        rg_strmap_prefetch_hashed(s->packets, h->packet_id, stage);
}

/* Every name's value for claim ev of the known packet r, into v (by
 * packet_name); packet_reclaimed only when a use of the family asks it,
 * or `asked` is it (its fingerprint is not free). */
static void claim_values(packet_state *s, const rg_event *ev, const packet_record *r, size_t asked,
                         rg_value v[P_COUNT])
{
    int64_t claim_delay_ms = ev->ts_ms - r->send_ts_ms;   /* both event times: no overflow */
    v[P_CLAIM_DELAY] = rg_int_typed(RG_T_DURATION, claim_delay_ms);
    v[P_EXPIRED] = rg_bool(claim_delay_ms > rg_packet_lifetime_ms((rg_packet_kind)r->kind));
    v[P_OVERCLAIMED] = rg_bool(rg_sat_add(r->claimed_total, ev->amount) > r->amount);
    v[P_RECLAIMED] = rg_unknown(RG_T_BOOL);
    if (s->want_claimers || asked == P_RECLAIMED) {
        s->claimer_fp = rg_account_fingerprint(s->accounts, ev->account, ev->account_len);
        s->claimer_seen = has_claimed(r, s->claimer_fp);
        s->claimer_event = (rg_record_cache){.ev = ev, .ts_ms = ev->ts_ms, .type = ev->type};
        v[P_RECLAIMED] = rg_bool(s->claimer_seen);
    }
}

/* A claim's names all come from one record, known or not, and a rule
 * pack that asks one of them asks the others on the same claim (the
 * count() filter claim_delay, then packet_expired, _overclaimed and
 * _reclaimed in forged_claim): the first ask answers every use of the
 * family into the context's memo (rg_eval_preset), so the others are
 * memo reads, not three more calls through the memo, the record cache
 * and the horizon test (issue 16). The values are the ones each ask
 * would compute: nothing they read changes before update(), and
 * packet_reclaimed's fingerprint is the focus's, made at this claim's
 * update anyway. Only when ctx is the event's and the use is this
 * state's own (a caller's stray use is answered alone); an unknown
 * answer (the send not seen, or past the horizon) is not preset, each
 * ask finds it again as before. */
static rg_value packets_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    packet_state *s = state;
    size_t which = (size_t)(use->spec - packet_names);
    if (ev->type != RG_EV_RED_PACKET_CLAIM || !ev->packet_id || which >= P_COUNT)
        return rg_unknown(use->spec->type);
    const packet_record *r = rg_record_cache_get(&s->cache, s->packets, ev, ev->packet_id, ev->packet_id_len);
    if (!r || !known(s, r, rg_eval_judge_at(ctx, s->watermark_ms)))
        return rg_unknown(use->spec->type);   /* not seen, or past the horizon (swept or not) */
    rg_value v[P_COUNT];
    claim_values(s, ev, r, which, v);
    if (ctx && ctx->ev == ev && use->detector_slot < s->n_uses && s->uses[use->detector_slot] == use) {
        for (size_t i = 0; i < s->n_uses; i++) {
            size_t k = s->use_names[i];   /* the use's name, found at create */
            if (k < P_COUNT && s->uses[i] != use)
                rg_eval_preset(ctx, s->uses[i], v[k]);
        }
    }
    return v[which];
}

static void fold_packet(packet_state *s, const rg_event *ev, int64_t judged_at_ms);

static void packets_update(void *state, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    packet_state *s = state;
    s->watermark_ms = rg_eval_judge_at(ctx, s->watermark_ms);
    rg_sweep_tick(&s->sweep_clock);
    int64_t judged_at_ms = s->watermark_ms;   /* as eval judged E */
    if (ev->ts_ms > s->watermark_ms)
        s->watermark_ms = ev->ts_ms;
    /* Most events name no packet: done here, without the fold's frame. */
    if (ev->packet_id) {
        fold_packet(s, ev, judged_at_ms);
        return;
    }
    rg_record_cache_reset(&s->cache);
    rg_record_cache_reset(&s->claimer_event);
}

static void fold_event(packet_state *s, const rg_event *ev, int64_t judged_at_ms);

/* A send or claim E into its packet's record; the caches of E go after. */
__attribute__((noinline)) static void fold_packet(packet_state *s, const rg_event *ev, int64_t judged_at_ms)
{
    fold_event(s, ev, judged_at_ms);
    rg_record_cache_reset(&s->cache);
    rg_record_cache_reset(&s->claimer_event);
}

static void fold_event(packet_state *s, const rg_event *ev, int64_t judged_at_ms)
{
    if (ev->type == RG_EV_RED_PACKET_SEND) {
        if (ev->ts_ms <= rg_sat_sub(s->watermark_ms, s->history_horizon_ms))
            return;   /* already past the horizon: nothing to keep */
        bool created;
        packet_record *r = rg_strmap_put(s->packets, ev->packet_id, ev->packet_id_len, &created);
        if (!r) {
            s->dropped++;
            return;
        }
        if (!created && !known(s, r, judged_at_ms)) {
            free_record(r);   /* a forgotten packet: this send starts it over */
            memset(r, 0, sizeof *r);
            created = true;
        }
        /* A packet id sent twice keeps its first send: its claims so far
         * were made against that one. */
        if (created) {
            r->send_ts_ms = ev->ts_ms;
            r->amount = ev->amount;
            r->kind = (uint8_t)ev->kind;
        }
        return;
    }
    if (ev->type != RG_EV_RED_PACKET_CLAIM)
        return;
    packet_record *r = rg_record_cache_get(&s->cache, s->packets, ev, ev->packet_id, ev->packet_id_len);
    if (!r || !known(s, r, judged_at_ms))
        return;
    if (s->want_total)
        r->claimed_total = rg_sat_add(r->claimed_total, ev->amount);   /* 10^7 claims of 10^12 would wrap */
    if (!s->want_claimers)
        return;
    const rg_record_cache *c = &s->claimer_event;
    int added = c->ev == ev && c->ts_ms == ev->ts_ms && c->type == ev->type
                    ? (s->claimer_seen ? 0 : append_claimer(r, s->claimer_fp))   /* as eval found it */
                    : add_claimer(r, rg_account_fingerprint(s->accounts, ev->account, ev->account_len));
    if (added != 0)
        s->dropped++;
}

static bool keep_record(void *value, void *arg)
{
    const packet_state *s = arg;
    return known(s, value, s->watermark_ms);
}

static void packets_expire(void *state, int64_t watermark_ms)
{
    packet_state *s = state;
    if (watermark_ms > s->watermark_ms)
        s->watermark_ms = watermark_ms;
    rg_record_cache_reset(&s->cache);
    rg_record_cache_reset(&s->claimer_event);
    if (rg_sweep_due(&s->sweep_clock, rg_strmap_count(s->packets)))
        rg_strmap_sweep(s->packets, keep_record, s, free_record);
}

static bool add_record_stats(const char *key, size_t keylen, void *value, void *arg)
{
    rg_detector_stats *out = arg;
    const packet_record *r = value;
    if (r->claimers_cap > CLAIMERS_INLINE)
        out->bytes += (size_t)r->claimers_cap * sizeof(uint64_t) + RG_MALLOC_OVERHEAD;
    return true;
}

static void packets_stats(const void *state, rg_detector_stats *out)
{
    const packet_state *s = state;
    memset(out, 0, sizeof *out);
    out->entities = rg_strmap_count(s->packets);
    out->bytes = sizeof *s + rg_strmap_bytes(s->packets);
    out->dropped = s->dropped;
    rg_strmap_foreach(s->packets, add_record_stats, out);
}

/* ---- checkpoint ---------------------------------------------------------
 * Format 3: watermark, sweep clock (events since the last sweep and the
 * base: sweep.h), dropped; per packet in key order: key, send ts, amount,
 * claimed total, kind, claimer fingerprints. Format 2 had no sweep base
 * (it is taken anew). Format 1 also had a last touch per packet (read
 * and ignored: a packet
 * now lasts from its send), and its claimers were hashes of another
 * function that today's fingerprints never equal: they are dropped, so
 * packet_reclaimed may miss a repeat claim on a packet sent before such
 * a load (it never fires wrongly). */

#define PACKETS_STATE_VERSION 3
#define KEY_MAX 1024

static int packets_save(const void *state, rg_strbuf *out)
{
    const packet_state *s = state;
    rg_put_i64(out, s->watermark_ms);
    rg_sweep_clock_save(out, &s->sweep_clock);
    rg_put_u64(out, s->dropped);
    size_t n;
    rg_strmap_item *items = rg_strmap_sorted(s->packets, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        const packet_record *r = items[k].value;
        rg_put_str(out, items[k].key, items[k].keylen);
        rg_put_i64(out, r->send_ts_ms);
        rg_put_i64(out, r->amount);
        rg_put_i64(out, r->claimed_total);
        rg_put_u8(out, r->kind);
        rg_put_u32(out, r->n_claimers);
        const uint64_t *c = claimers_of(r);
        for (uint32_t i = 0; i < r->n_claimers; i++)
            rg_put_u64(out, c[i]);
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

static int packets_load(void *state, uint32_t version, rg_reader *in)
{
    packet_state *s = state;
    if (version < 1 || version > PACKETS_STATE_VERSION) {
        rg_reader_fail(in, "packets", "unknown section version");
        return -1;
    }
    int64_t watermark_ms = rg_get_mark(in, "watermark");
    rg_sweep_clock clock = rg_sweep_clock_load(in, version >= 3);
    uint64_t dropped = rg_get_u64(in, "dropped");
    uint32_t n = rg_get_count(in, 4 + (version == 1 ? 4 : 3) * 8 + 1 + 4, "packet count");
    for (uint32_t k = 0; k < n && rg_reader_ok(in); k++) {
        size_t keylen;
        const char *key = rg_get_str(in, KEY_MAX, &keylen, "packet");
        packet_record rec = {0};
        rec.send_ts_ms = rg_get_ts(in, "send ts");
        rec.amount = rg_get_ts(in, "amount");
        rec.claimed_total = rg_get_ts(in, "claimed total");
        if (version == 1)
            (void)rg_get_ts(in, "last touch");
        rec.kind = rg_get_u8(in, "kind");
        uint32_t n_claimers = rg_get_count(in, 8, "claimer count");
        if (!rg_reader_ok(in))
            break;
        if (!key || rec.kind > RG_PACKET_TIMED) {
            rg_reader_fail(in, "packet", !key ? "empty key" : "unknown kind");
            break;
        }
        bool created;
        packet_record *r = rg_strmap_put(s->packets, key, keylen, &created);
        if (!r || !created) {
            rg_reader_fail(in, "packet", r ? "saved twice" : "out of memory");
            break;
        }
        *r = rec;
        for (uint32_t i = 0; i < n_claimers && rg_reader_ok(in); i++) {
            uint64_t claimer = rg_get_u64(in, "claimer");
            if (rg_reader_ok(in) && version != 1 && add_claimer(r, claimer) != 0)
                rg_reader_fail(in, "claimer", "out of memory");
        }
    }
    if (!rg_reader_ok(in))
        return -1;
    if (rg_reader_left(in)) {
        rg_reader_fail(in, "packets", "bytes after the last packet");
        return -1;
    }
    s->watermark_ms = watermark_ms;
    s->sweep_clock = clock;
    s->dropped = (size_t)dropped;
    return 0;
}

const rg_detector rg_detector_packets = {
    .family = "packets",
    .names = packet_names,
    .n_names = P_COUNT,
    .create = packets_create,
    .eval = packets_eval,
    .prefetch = packets_prefetch,
    .update = packets_update,
    .expire = packets_expire,
    .stats = packets_stats,
    .destroy = packets_destroy,
    .state_version = PACKETS_STATE_VERSION,
    .save = packets_save,
    .load = packets_load,
    .kept = RG_KEPT_EVENT,
    .state = "per red packet: its send (ts, amount, kind) and claims in a ~110-140 B record, 8 B per claimer "
             "beyond 2; kept for history_horizon after the send",
};
