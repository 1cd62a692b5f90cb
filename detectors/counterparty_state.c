/*
 * counterparty_state — the counterparty family's checkpoint (save/load
 * hooks, detector.h; format in docs/state.md). Owner: detectors.
 */
#include <stdlib.h>
#include <string.h>

#include "counterparty_internal.h"

/* ---- checkpoint ---------------------------------------------------------
 * Format 3: watermark, sweep clock (events since the last sweep and the
 * base: sweep.h), dropped; registrations in key order
 * (key, registered); received records in key order (key, trim mark,
 * whether it had a sender index, its transfers (ts, sender fingerprint)
 * in ts order). The index is rebuilt from the transfers: it is a
 * function of them (each live sender's latest ts). Format 2 had no sweep base
 * (it is taken anew).
 * Format 1 (registrations expired after the history horizon) had two
 * sweep counters and a last touch per registration, read and ignored;
 * its senders were hashes of another function, which no fingerprint of
 * today's would ever equal: its received transfers are checked and
 * dropped, so counterparty_senders undercounts (never overcounts) for
 * one window after such a load. */

#define KEY_MAX 1024

/* A slice's records in key order; none when the slice is not reserved. */
static rg_strmap_item *sorted_slices(const rg_account_slice *sl, size_t *n)
{
    *n = 0;
    return sl->store ? rg_account_sorted(sl, n) : malloc(sizeof(rg_strmap_item));
}

int rg_counterparty_save(const void *state, rg_strbuf *out)
{
    const cp_state *s = state;
    rg_put_i64(out, s->watermark_ms);
    rg_sweep_clock_save(out, &s->sweep_clock);
    rg_put_u64(out, s->dropped);
    size_t n;
    rg_strmap_item *items = sorted_slices(&s->registrations, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        const registration *reg = items[k].value;
        rg_put_str(out, items[k].key, items[k].keylen);
        rg_put_i64(out, reg->registered_ms);
    }
    free(items);
    if (!(items = sorted_slices(&s->received, &n)))
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t k = 0; k < n; k++) {
        const cp_record *r = items[k].value;
        rg_put_str(out, items[k].key, items[k].keylen);
        rg_put_i64(out, r->trimmed_ms);
        rg_put_u8(out, cp_index(r) != NULL);
        rg_put_u32(out, r->raw_n);
        const transfer_in *held = cp_transfers_c(r);
        for (uint32_t i = 0; i < r->raw_n; i++) {
            rg_put_i64(out, held[i].ts_ms);
            rg_put_u64(out, held[i].sender);
        }
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

static void load_received(cp_state *s, uint32_t version, rg_reader *in)
{
    size_t keylen;
    const char *key = rg_get_str(in, KEY_MAX, &keylen, "counterparty");
    int64_t trimmed_ms = rg_get_mark(in, "trim mark");
    uint8_t had_index = rg_get_u8(in, "index flag");
    uint32_t n = rg_get_count(in, 16, "transfer count");
    if (!rg_reader_ok(in))
        return;
    if (!key || had_index > 1) {
        rg_reader_fail(in, "counterparty", !key ? "empty key" : "bad index flag");
        return;
    }
    if (!s->received.store || version == 1) {
        /* This file does not use counterparty_senders, or the senders are
         * not fingerprints: check and skip. */
        for (uint32_t i = 0; i < n && rg_reader_ok(in); i++) {
            (void)rg_get_ts(in, "transfer ts");
            (void)rg_get_u64(in, "sender");
        }
        return;
    }
    bool created;
    cp_record *r = rg_account_put(&s->received, key, keylen, &created);
    if (!r || !created) {
        rg_reader_fail(in, "counterparty", r ? "saved twice" : "out of memory");
        return;
    }
    r->trimmed_ms = trimmed_ms;
    if (n) {
        uint32_t cap = 2;
        while (cap < n)
            cap *= 2;
        if (!(r->u.heap.raw = malloc((size_t)cap * sizeof *r->u.heap.raw))) {
            rg_reader_fail(in, "transfers", "out of memory");
            return;
        }
        r->u.heap.index = NULL;
        r->raw_cap = cap;
    }
    for (uint32_t i = 0; i < n && rg_reader_ok(in); i++) {
        int64_t ts_ms = rg_get_ts(in, "transfer ts");
        uint64_t sender = rg_get_u64(in, "sender");
        if (!rg_reader_ok(in))
            return;
        if (ts_ms <= trimmed_ms || (i && ts_ms < r->u.heap.raw[i - 1].ts_ms) || !sender) {
            rg_reader_fail(in, "transfer", "out of order, trimmed or without sender");
            return;
        }
        r->u.heap.raw[i].ts_ms = ts_ms;
        r->u.heap.raw[i].sender = sender;
        r->raw_n = i + 1;
    }
    if (had_index && r->raw_n)
        rg_cp_index_build(r);   /* failure leaves none: raw alone is exact */
    if (r->raw_n > SMALL_MAX)
        rg_cp_grow_scratch(s, r->raw_n);
}

int rg_counterparty_load(void *state, uint32_t version, rg_reader *in)
{
    cp_state *s = state;
    if (version < 1 || version > RG_COUNTERPARTY_STATE_VERSION) {
        rg_reader_fail(in, "counterparty", "unknown section version");
        return -1;
    }
    int64_t watermark_ms = rg_get_mark(in, "watermark");
    rg_sweep_clock clock = rg_sweep_clock_load(in, version >= 3);
    if (version == 1)
        (void)rg_get_u64(in, "sweep counter");
    uint64_t dropped = rg_get_u64(in, "dropped");
    uint32_t n = rg_get_count(in, version == 1 ? 4 + 16 : 4 + 8, "registration count");
    for (uint32_t k = 0; k < n && rg_reader_ok(in); k++) {
        size_t keylen;
        const char *key = rg_get_str(in, KEY_MAX, &keylen, "registration");
        int64_t registered_ms = rg_get_ts(in, "registered");
        if (version == 1)
            (void)rg_get_ts(in, "last touch");
        if (!rg_reader_ok(in))
            break;
        if (key && !s->registrations.store)
            continue;   /* this file does not use counterparty_age */
        bool created;
        registration *reg = key ? rg_account_put(&s->registrations, key, keylen, &created) : NULL;
        if (!reg || !created) {
            rg_reader_fail(in, "registration", !key ? "empty key" : reg ? "saved twice" : "out of memory");
            break;
        }
        reg->registered_ms = registered_ms;
    }
    n = rg_get_count(in, 4 + 8 + 1 + 4, "counterparty count");
    for (uint32_t k = 0; k < n && rg_reader_ok(in); k++)
        load_received(s, version, in);
    if (!rg_reader_ok(in))
        return -1;
    if (rg_reader_left(in)) {
        rg_reader_fail(in, "counterparty", "bytes after the last record");
        return -1;
    }
    s->watermark_ms = watermark_ms;
    s->sweep_clock = clock;
    s->dropped = (size_t)dropped;
    return 0;
}

