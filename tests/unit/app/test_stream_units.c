/* Unit tests for the streaming runner's pure parts: the commit frontier
 * (stream/offsets.c), the event-time merge with its idle wait
 * (stream/merge.c), checkpoints (stream/checkpoint.c), secret keys in logs
 * (stream/log.c) and the Prometheus rendering (stream/metrics.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/checkpoint.h"
#include "stream/log.h"
#include "stream/merge.h"
#include "stream/metrics.h"
#include "stream/offsets.h"

/* ---- offsets ---- */

static void test_frontier_waits_for_every_ack(void **state)
{
    (void)state;
    rg_offset_track t;
    rg_offset_track_init(&t, 0);
    assert_int_equal(rg_offset_track_frontier(&t), -1);

    uint64_t a = rg_offset_track_begin(&t, 10, 1000);   /* two decisions */
    rg_offset_track_add(&t, a);
    rg_offset_track_add(&t, a);
    rg_offset_track_end(&t, a);
    uint64_t b = rg_offset_track_begin(&t, 11, 1001);   /* no decision */
    rg_offset_track_end(&t, b);
    uint64_t c = rg_offset_track_begin(&t, 13, 1002);   /* one; offset 12 was a gap */
    rg_offset_track_add(&t, c);
    rg_offset_track_end(&t, c);

    /* b is complete but a is not: nothing may be committed yet. */
    assert_int_equal(rg_offset_track_frontier(&t), -1);
    /* The hand-off time rides with the event until its last ack. */
    rg_offset_track_set_taken(&t, a, 123456);
    assert_int_equal(rg_offset_track_taken_us(&t, a), 123456);
    assert_int_equal(rg_offset_track_taken_us(&t, b + 100), 0);
    assert_true(rg_offset_track_ack(&t, c, NULL));
    assert_int_equal(rg_offset_track_frontier(&t), -1);
    int64_t ts = 0;
    assert_true(rg_offset_track_ack(&t, a, &ts));
    assert_int_equal(ts, 1000);
    assert_int_equal(rg_offset_track_frontier(&t), -1);
    assert_true(rg_offset_track_ack(&t, a, NULL));
    /* a, b, c all done: commit 14 (next offset to read). */
    assert_int_equal(rg_offset_track_frontier(&t), 14);
    assert_int_equal(rg_offset_track_inflight(&t), 0);
    /* A report for an already-finished event is stale. */
    assert_false(rg_offset_track_ack(&t, a, NULL));
    rg_offset_track_free(&t);
}

static void test_open_event_holds_frontier(void **state)
{
    (void)state;
    rg_offset_track t;
    rg_offset_track_init(&t, 0);
    uint64_t a = rg_offset_track_begin(&t, 0, 0);
    rg_offset_track_add(&t, a);
    /* Delivered before processing finished (more records may follow). */
    assert_true(rg_offset_track_ack(&t, a, NULL));
    assert_int_equal(rg_offset_track_frontier(&t), -1);
    rg_offset_track_end(&t, a);
    assert_int_equal(rg_offset_track_frontier(&t), 1);
    rg_offset_track_free(&t);
}

static void test_ring_growth_and_reuse(void **state)
{
    (void)state;
    rg_offset_track t;
    rg_offset_track_init(&t, 0);
    uint64_t seqs[1000];
    for (int i = 0; i < 1000; i++) {
        seqs[i] = rg_offset_track_begin(&t, i, i);
        rg_offset_track_add(&t, seqs[i]);
        rg_offset_track_end(&t, seqs[i]);
    }
    for (int i = 999; i >= 1; i--)
        assert_true(rg_offset_track_ack(&t, seqs[i], NULL));
    assert_int_equal(rg_offset_track_frontier(&t), -1);
    assert_true(rg_offset_track_ack(&t, seqs[0], NULL));
    assert_int_equal(rg_offset_track_frontier(&t), 1000);

    /* Slot reuse: seqs continue, so a late report for the old partition
     * cannot acknowledge the new partition's event. */
    uint64_t next = rg_offset_track_next_seq(&t);
    uint64_t stale = rg_offset_track_begin(&t, 5000, 0);
    rg_offset_track_add(&t, stale);
    rg_offset_track_free(&t);   /* revoked before delivery */
    assert_true(rg_offset_track_next_seq(&t) > next);
    uint64_t fresh = rg_offset_track_begin(&t, 0, 0);
    rg_offset_track_add(&t, fresh);
    rg_offset_track_end(&t, fresh);
    assert_false(rg_offset_track_ack(&t, stale, NULL));
    assert_int_equal(rg_offset_track_frontier(&t), -1);
    assert_true(rg_offset_track_ack(&t, fresh, NULL));
    assert_int_equal(rg_offset_track_frontier(&t), 1);
    rg_offset_track_free(&t);
}

static void test_ticket_roundtrip(void **state)
{
    (void)state;
    rg_offset_track t;
    rg_offset_track_init(&t, (UINT64_C(1) << 48) - 2);   /* straddle the 48-bit wrap */
    uint64_t a = rg_offset_track_begin(&t, 1, 0);
    uint64_t b = rg_offset_track_begin(&t, 2, 0);
    uint64_t c = rg_offset_track_begin(&t, 3, 0);
    uint64_t seqs[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        unsigned slot;
        uint64_t s48;
        rg_offset_ticket_split(rg_offset_ticket(7, seqs[i]), &slot, &s48);
        assert_int_equal(slot, 7);
        assert_true(rg_offset_track_seq_from48(&t, s48) == seqs[i]);
    }
    rg_offset_track_free(&t);
}

/* ---- merge ---- */

/* Items carry their event ts in msg (an intptr); negative = a reject. */
static int fake_prepare(void *opaque, unsigned slot, const rg_merge_item *item, int64_t *ts_ms)
{
    (void)opaque;
    (void)slot;
    intptr_t v = (intptr_t)item->msg;
    if (v < 0)
        return 0;
    *ts_ms = v;
    return 1;
}

/* Append an item taken at monotonic ms taken_ms. */
static void push_at(rg_merge *m, int slot, int64_t offset, intptr_t ts, int64_t msg_ts, int64_t taken_ms)
{
    rg_merge_item it = {(void *)ts, offset, msg_ts, taken_ms * 1000};
    assert_int_equal(rg_merge_push(m, (unsigned)slot, &it), 0);
}

static void push(rg_merge *m, int slot, int64_t offset, intptr_t ts, int64_t msg_ts)
{
    push_at(m, slot, offset, ts, msg_ts, 0);
}

/* Pick the next item at now (must be a pick) and return its ts. */
static intptr_t pick(rg_merge *m, int64_t now, bool *late)
{
    unsigned slot;
    int64_t wait = -1;
    assert_int_equal(rg_merge_next(m, now, &slot, &wait, late), RG_MERGE_PICK);
    return (intptr_t)rg_merge_pop(m, slot).msg;
}

static void test_merge_picks_lowest_ts(void **state)
{
    (void)state;
    rg_merge m;
    rg_merge_init(&m, 5000, 30000, fake_prepare, NULL);
    int p0 = rg_merge_add_slot(&m, 0), p1 = rg_merge_add_slot(&m, 1), p2 = rg_merge_add_slot(&m, 2);
    push(&m, p0, 0, 100, 1);
    push(&m, p0, 1, 400, 4);
    push(&m, p0, 2, 700, 7);
    push(&m, p1, 0, 200, 2);
    push(&m, p1, 1, 500, 5);
    push(&m, p2, 0, 300, 3);
    push(&m, p2, 1, 600, 6);
    bool late;
    intptr_t want[] = {100, 200, 300, 400, 500};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pick(&m, 0, &late), want[i]);
        assert_false(late);
    }
    /* p1 is empty now and nothing says it is drained: its position stays
     * at 500, so 600 waits for it (data may be on its way). */
    unsigned slot;
    int64_t wait;
    assert_int_equal(rg_merge_next(&m, 0, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, RG_MERGE_POLL_MS);
    assert_true(m.slots[p1].probe_wanted);
    m.slots[p1].probe_wanted = false;
    /* The broker says p1 ends where it was read (drained at 0): its
     * position is 500 + the wall time it has been silent since its last
     * message was taken (at 0). */
    rg_merge_note_end(&m, (unsigned)p1, 0, 2);
    assert_int_equal(rg_merge_next(&m, 99, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, 1);
    assert_int_equal(pick(&m, 100, &late), 600);
    /* p2 ran dry too and is drained: 700 waits until both have been
     * silent 200 ms. */
    rg_merge_note_end(&m, (unsigned)p2, 100, 2);
    assert_int_equal(rg_merge_next(&m, 150, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, 50);
    assert_int_equal(pick(&m, 200, &late), 700);
    assert_int_equal(rg_merge_next(&m, 200, &slot, &wait, &late), RG_MERGE_IDLE);
    assert_int_equal(m.enforced, 0);
    rg_merge_free(&m, NULL);
}

/* A backlog (event time far ahead of wall time): a drained partition's
 * position advances only as fast as the wall clock, so the merge waits for
 * its next events instead of running hours ahead; known data, a failed
 * probe (leader down) or nothing heard freeze it; the bound leaves it
 * behind, and its events come late, flagged. */
static void test_merge_bounded_in_event_time(void **state)
{
    (void)state;
    const int64_t hour = 3600000;
    rg_merge m;
    rg_merge_init(&m, 5000, 30000, fake_prepare, NULL);
    int p0 = rg_merge_add_slot(&m, 0), p1 = rg_merge_add_slot(&m, 1);
    push_at(&m, p0, 0, 10 * hour, 1, 1000);
    push_at(&m, p1, 0, 10 * hour + 1, 2, 1000);
    push_at(&m, p1, 1, 12 * hour, 3, 1000);   /* two hours later in event time */
    bool late;
    unsigned slot;
    int64_t wait;
    assert_int_equal(pick(&m, 1000, &late), 10 * hour);
    /* p0 is empty and not known drained: even 1 ms later waits for it. */
    assert_int_equal(rg_merge_next(&m, 1000, &slot, &wait, &late), RG_MERGE_WAIT);
    rg_merge_note_end(&m, (unsigned)p0, 1001, 1);               /* p0 drained */
    assert_int_equal(pick(&m, 1001, &late), 10 * hour + 1);
    /* 12h waits: p0 can only have reached 10h + its silence. */
    assert_int_equal(rg_merge_next(&m, 1500, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, RG_MERGE_REPROBE_MS);
    /* Drained longer ago than the reprobe interval: ask again. */
    assert_true(m.slots[p0].probe_wanted);
    m.slots[p0].probe_wanted = false;
    /* The probe fails (leader down): position frozen, still waiting. */
    rg_merge_note_unreachable(&m, (unsigned)p0);
    assert_int_equal(rg_merge_next(&m, 1600, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, RG_MERGE_POLL_MS);
    assert_true(m.slots[p0].probe_wanted);   /* keep asking */
    m.slots[p0].probe_wanted = false;
    /* Data of p0 arrives (its leader is back): 11h goes first. */
    push_at(&m, p0, 1, 11 * hour, 4, 2000);
    assert_int_equal(pick(&m, 2000, &late), 11 * hour);
    assert_false(late);
    /* Known data on the broker freezes p0 however long it is silent. */
    m.slots[p0].high_watermark = 5;
    rg_merge_note_end(&m, (unsigned)p0, 2001, 5);
    assert_int_equal(rg_merge_next(&m, 20000, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_false(m.slots[p0].probe_wanted);   /* nothing to ask: it is on its way */
    /* The bound: 30 s after p0 began holding the merge back (at 20000). */
    assert_int_equal(rg_merge_next(&m, 49999, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, 1);
    assert_int_equal(pick(&m, 50000, &late), 12 * hour);
    assert_int_equal(m.enforced, 1);
    assert_int_equal(m.enforced_wait, 1);   /* not drained: the long bound */
    assert_true(m.slots[p0].just_left_behind);
    assert_false(m.slots[p0].left_while_drained);
    assert_true(m.slots[p0].left_behind);
    /* Its event arrives at last: late, picked at once, never dropped. */
    push_at(&m, p0, 2, 11 * hour + 5, 5, 50001);
    assert_false(m.slots[p0].left_behind);   /* it has data again: a later spell waits anew */
    assert_int_equal(pick(&m, 50001, &late), 11 * hour + 5);
    assert_true(late);
    assert_int_equal(m.late, 1);
    rg_merge_free(&m, NULL);
}

/* Nothing heard from a partition since it was assigned: wait for its first
 * fetch; a fetch that reached its end at once (empty) lets the merge go. A
 * head older than a silent partition's last event never waits for it. */
static void test_merge_start_and_older_heads(void **state)
{
    (void)state;
    rg_merge m;
    rg_merge_init(&m, 5000, 30000, fake_prepare, NULL);
    int p0 = rg_merge_add_slot(&m, 0), p1 = rg_merge_add_slot(&m, 1);
    push_at(&m, p0, 0, 1000, 1, 0);
    unsigned slot;
    int64_t wait;
    bool late;
    assert_int_equal(rg_merge_next(&m, 0, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_false(m.slots[p1].probe_wanted);   /* the first fetch answers it */
    rg_merge_note_end(&m, (unsigned)p1, 5, 0);   /* PARTITION_EOF at offset 0: empty */
    assert_int_equal(pick(&m, 5, &late), 1000);
    /* p1 gets an event far ahead in event time. p0 is silent and not
     * known drained: 5000 waits; once p0 is drained, until its silence
     * covers the gap; p0's next event (2000) arrives first and goes first. */
    push_at(&m, p1, 0, 5000, 2, 10);
    assert_int_equal(rg_merge_next(&m, 10, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_true(m.slots[p0].probe_wanted);
    m.slots[p0].probe_wanted = false;
    rg_merge_note_end(&m, (unsigned)p0, 10, 1);
    assert_int_equal(rg_merge_next(&m, 10, &slot, &wait, &late), RG_MERGE_WAIT);   /* 1000 + 10 < 5000 */
    push_at(&m, p0, 1, 2000, 3, 20);
    assert_int_equal(pick(&m, 20, &late), 2000);
    rg_merge_note_end(&m, (unsigned)p0, 30, 2);
    assert_int_equal(rg_merge_next(&m, 3019, &slot, &wait, &late), RG_MERGE_WAIT);  /* 2000 + 2999 */
    assert_int_equal(pick(&m, 3020, &late), 5000);
    assert_false(late);
    /* p1 is silent now, not known drained, its position frozen at 5000: an
     * older head (p0's 3000, late since 5000 was picked) does not wait. */
    push_at(&m, p0, 2, 3000, 4, 3030);
    assert_int_equal(pick(&m, 3030, &late), 3000);
    assert_true(late);
    rg_merge_free(&m, NULL);
}

/* A drained, silent partition holds the merge back at most max_idle_ms
 * (the end of a backlog: nothing more will come to cover the gap). */
static void test_merge_idle_bound(void **state)
{
    (void)state;
    rg_merge m;
    rg_merge_init(&m, 50, 30000, fake_prepare, NULL);
    int p0 = rg_merge_add_slot(&m, 0), p1 = rg_merge_add_slot(&m, 1);
    push_at(&m, p0, 0, 100, 1, 0);
    push_at(&m, p1, 0, 100000, 2, 0);
    bool late;
    unsigned slot;
    int64_t wait;
    assert_int_equal(pick(&m, 0, &late), 100);
    rg_merge_note_end(&m, (unsigned)p0, 0, 1);
    assert_int_equal(rg_merge_next(&m, 10, &slot, &wait, &late), RG_MERGE_WAIT);   /* holding since 10 */
    assert_int_equal(wait, 50);
    assert_int_equal(rg_merge_next(&m, 59, &slot, &wait, &late), RG_MERGE_WAIT);
    assert_int_equal(wait, 1);
    assert_int_equal(pick(&m, 60, &late), 100000);
    assert_true(m.slots[p0].just_left_behind && m.slots[p0].left_while_drained);
    assert_int_equal(m.enforced, 1);
    assert_int_equal(m.enforced_wait, 0);
    rg_merge_free(&m, NULL);
}

static void test_merge_rejects_and_ties(void **state)
{
    (void)state;
    rg_merge m;
    rg_merge_init(&m, 5000, 0, fake_prepare, NULL);
    int p0 = rg_merge_add_slot(&m, 0), p1 = rg_merge_add_slot(&m, 1);
    push(&m, p0, 0, 100, 20);
    push(&m, p1, 0, 100, 10);   /* same ts, published first */
    push(&m, p1, 1, -1, 30);    /* a reject behind it */
    unsigned slot;
    int64_t wait;
    bool late;
    assert_int_equal(rg_merge_next(&m, 0, &slot, &wait, &late), RG_MERGE_PICK);
    assert_int_equal(slot, (unsigned)p1);   /* tie broken by message timestamp */
    rg_merge_pop(&m, slot);
    assert_int_equal(rg_merge_next(&m, 0, &slot, &wait, &late), RG_MERGE_PICK);
    assert_int_equal(slot, (unsigned)p1);   /* the reject goes first: it touches no state */
    assert_int_equal(rg_merge_pop(&m, slot).offset, 1);
    /* p1 is empty at its last ts 100, not known drained: p0's 100 waits... */
    assert_int_equal(rg_merge_next(&m, 0, &slot, &wait, &late), RG_MERGE_WAIT);
    /* ...until the broker says p1 is drained. */
    rg_merge_note_end(&m, (unsigned)p1, 0, 2);
    assert_int_equal(rg_merge_next(&m, 0, &slot, &wait, &late), RG_MERGE_PICK);
    assert_int_equal(slot, (unsigned)p0);
    rg_merge_pop(&m, slot);
    /* Revocation hands buffered messages back. */
    push(&m, p0, 1, 200, 40);
    rg_merge_drop_slot(&m, (unsigned)p0, NULL);
    assert_int_equal(rg_merge_find_slot(&m, 0), -1);
    assert_int_equal(rg_merge_buffered(&m), 0);
    rg_merge_free(&m, NULL);
}

/* ---- checkpoint ---- */

static char state_dir[256];

static int codec_save(void *opaque, rg_strbuf *out, char *errstr, size_t n)
{
    const char *text = opaque;
    if (!text) {
        snprintf(errstr, n, "cannot serialise");
        return -1;
    }
    rg_strbuf_puts(out, text);
    return 0;
}

static char loaded[64];

static int codec_load(void *opaque, const void *bytes, size_t len, char *errstr, size_t n)
{
    (void)opaque;
    snprintf(loaded, sizeof loaded, "%.*s", (int)len, (const char *)bytes);
    return 0;
}

static void test_checkpoint_one_transaction(void **state)
{
    (void)state;
    snprintf(state_dir, sizeof state_dir, "/tmp/rg-stream-ckpt-%d", (int)getpid());
    char err[512];
    rg_checkpoint *cp = rg_checkpoint_open(state_dir, err, sizeof err);
    assert_non_null(cp);
    rg_state_codec codec = {(void *)"state-v1", codec_save, codec_load};
    rg_checkpoint_offset offs[] = {{0, 10}, {2, 30}};
    assert_int_equal(rg_checkpoint_write(cp, "ev", offs, 2, &codec, "abc", 1000, err, sizeof err), 0);
    int64_t next = -1;
    assert_int_equal(rg_checkpoint_get_offset(cp, "ev", 2, &next, err, sizeof err), 0);
    assert_int_equal(next, 30);
    assert_int_equal(rg_checkpoint_get_offset(cp, "ev", 1, &next, err, sizeof err), 1);

    /* Serialising fails: neither the offsets nor the state change. */
    rg_state_codec broken = {NULL, codec_save, codec_load};
    rg_checkpoint_offset later[] = {{0, 99}};
    assert_int_equal(rg_checkpoint_write(cp, "ev", later, 1, &broken, "abc", 2000, err, sizeof err), -1);
    assert_int_equal(rg_checkpoint_get_offset(cp, "ev", 0, &next, err, sizeof err), 0);
    assert_int_equal(next, 10);
    rg_checkpoint_close(cp);

    /* Reopen (a restart): state and offsets as last written together. */
    cp = rg_checkpoint_open(state_dir, err, sizeof err);
    assert_non_null(cp);
    int64_t saved_at = 0;
    assert_int_equal(rg_checkpoint_load_state(cp, &codec, &saved_at, err, sizeof err), 1);
    assert_string_equal(loaded, "state-v1");
    assert_int_equal(saved_at, 1000);
    /* Offsets only (no codec yet): state row untouched, offsets move. */
    rg_state_codec none = {0};
    assert_int_equal(rg_checkpoint_write(cp, "ev", later, 1, &none, NULL, 3000, err, sizeof err), 0);
    assert_int_equal(rg_checkpoint_get_offset(cp, "ev", 0, &next, err, sizeof err), 0);
    assert_int_equal(next, 99);
    /* The listed partitions are exactly the last write's: partition 2,
     * no longer listed, has no row (a restart must not seek it back). */
    assert_int_equal(rg_checkpoint_get_offset(cp, "ev", 2, &next, err, sizeof err), 1);
    rg_checkpoint_offset *all = NULL;
    size_t n_all = 0;
    assert_int_equal(rg_checkpoint_list_offsets(cp, "ev", &all, &n_all, err, sizeof err), 0);
    assert_int_equal(n_all, 1);
    assert_int_equal(all[0].partition, 0);
    assert_int_equal(all[0].next_offset, 99);
    free(all);
    assert_int_equal(rg_checkpoint_list_offsets(cp, "other", &all, &n_all, err, sizeof err), 0);
    assert_int_equal(n_all, 0);
    assert_int_equal(rg_checkpoint_load_state(cp, &none, NULL, err, sizeof err), 0);
    rg_checkpoint_close(cp);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
    assert_int_equal(system(cmd), 0);
}

/* A row for a newly held partition (before its first commit): added next
 * to the stored state and the other rows, an existing row kept. */
static void test_checkpoint_add_offsets(void **state)
{
    (void)state;
    snprintf(state_dir, sizeof state_dir, "/tmp/rg-stream-ckpt-add-%d", (int)getpid());
    char err[512];
    rg_checkpoint *cp = rg_checkpoint_open(state_dir, err, sizeof err);
    assert_non_null(cp);
    rg_state_codec codec = {(void *)"state-v1", codec_save, codec_load};
    rg_checkpoint_offset offs[] = {{0, 10}};
    assert_int_equal(rg_checkpoint_write(cp, "ev", offs, 1, &codec, "abc", 1000, err, sizeof err), 0);
    rg_checkpoint_offset added[] = {{0, 50}, {1, 7}};
    assert_int_equal(rg_checkpoint_add_offsets(cp, "ev", added, 2, err, sizeof err), 0);
    rg_checkpoint_close(cp);

    cp = rg_checkpoint_open(state_dir, err, sizeof err);
    assert_non_null(cp);
    rg_checkpoint_offset *all = NULL;
    size_t n_all = 0;
    assert_int_equal(rg_checkpoint_list_offsets(cp, "ev", &all, &n_all, err, sizeof err), 0);
    assert_int_equal(n_all, 2);
    assert_int_equal(all[0].partition, 0);
    assert_int_equal(all[0].next_offset, 10);   /* the state reflects partition 0 up to 10: kept */
    assert_int_equal(all[1].partition, 1);
    assert_int_equal(all[1].next_offset, 7);
    free(all);
    loaded[0] = '\0';
    assert_int_equal(rg_checkpoint_load_state(cp, &codec, NULL, err, sizeof err), 1);
    assert_string_equal(loaded, "state-v1");
    /* The next full write replaces the rows with exactly its own. */
    rg_checkpoint_offset next[] = {{1, 9}};
    assert_int_equal(rg_checkpoint_write(cp, "ev", next, 1, &codec, "abc", 2000, err, sizeof err), 0);
    assert_int_equal(rg_checkpoint_list_offsets(cp, "ev", &all, &n_all, err, sizeof err), 0);
    assert_int_equal(n_all, 1);
    assert_int_equal(all[0].next_offset, 9);
    free(all);
    rg_checkpoint_close(cp);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", state_dir);
    assert_int_equal(system(cmd), 0);
}

static void test_checkpoint_unwritable_dir(void **state)
{
    (void)state;
    char err[512];
    rg_checkpoint *cp = rg_checkpoint_open("/proc/riskgate-no-such-dir/x", err, sizeof err);
    assert_null(cp);
    assert_non_null(strstr(err, "riskgate-no-such-dir"));
}

/* ---- log, metrics ---- */

static void test_secret_keys(void **state)
{
    (void)state;
    assert_true(rg_log_secret_key("sasl.password"));
    assert_true(rg_log_secret_key("sasl.oauthbearer.client.secret"));
    assert_true(rg_log_secret_key("ssl.key.password"));
    assert_true(rg_log_secret_key("SSL.KEYSTORE.PASSWORD"));
    assert_true(rg_log_secret_key("sasl.username"));
    assert_false(rg_log_secret_key("bootstrap.servers"));
    assert_false(rg_log_secret_key("linger.ms"));
}

static void test_log_line_is_one_logfmt_line(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rg_log_set_stream(f);
    rg_log(RG_LOG_WARN, "delivery failed", "topic", "riskgate.actions", "error", "Local: \"Broker\"\nis down", NULL);
    rg_log(RG_LOG_DEBUG, "dropped below the level", NULL);
    rg_log_set_stream(NULL);
    fclose(f);
    assert_non_null(strstr(buf, " level=warn msg=\"delivery failed\" topic=riskgate.actions "
                                "error=\"Local: \\\"Broker\\\"\\nis down\"\n"));
    assert_int_equal(strchr(buf, '\n') - buf + 1, (long)len);   /* exactly one line */
    free(buf);
}

static void test_metrics_text(void **state)
{
    (void)state;
    rg_metrics m;
    assert_int_equal(rg_metrics_init(&m), 0);
    m.events_consumed = 7;
    rg_metrics_reject(&m, "invalid_json");
    rg_metrics_reject(&m, "invalid_json");
    const char *acts[] = {"freeze", "face_verify"};
    const char *rules[] = {"new_account_mule"};
    rg_metrics_decision(&m, acts, 2, rules, 1);
    rg_metrics_latency(&m, 0.0015);
    rg_metrics_latency(&m, 20);
    rg_metrics_stage(&m.decision_produce, 0.0002);   /* 0.2 ms: in the 0.25 ms bucket */
    rg_metrics_stage(&m.decision_produce, 0.0001);   /* on a bound: that bucket (le) */
    rg_metrics_stage(&m.decision_ack, 30);
    rg_partition_lag lag = {3, 42, 100};
    rg_metrics_set_lags(&m, &lag, 1);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_metrics_render(&m, 0, &b);
    assert_non_null(strstr(b.data, "riskgate_events_consumed_total 7\n"));
    assert_non_null(strstr(b.data, "riskgate_events_rejected_total{kind=\"invalid_json\"} 2\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_actions_total{action=\"freeze\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_rule_hits_total{rule=\"new_account_mule\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_consumer_lag{partition=\"3\"} 42\n"));
    assert_non_null(strstr(b.data, "riskgate_event_decision_latency_seconds_bucket{le=\"0.002\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_event_decision_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(b.data, "riskgate_event_decision_latency_seconds_count 2\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_produce_seconds_bucket{le=\"0.0001\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_produce_seconds_bucket{le=\"0.00025\"} 2\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_produce_seconds_count 2\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_ack_seconds_bucket{le=\"10\"} 0\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_ack_seconds_bucket{le=\"+Inf\"} 1\n"));
    rg_strbuf_free(&b);

    char err[256];
    assert_int_equal(rg_metrics_serve(&m, "0.0.0.0:0", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "loopback"));
    unsigned port = 0;
    assert_int_equal(rg_metrics_serve(&m, "127.0.0.1:0", &port, err, sizeof err), 0);
    assert_true(port > 0);
    rg_metrics_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frontier_waits_for_every_ack),
        cmocka_unit_test(test_open_event_holds_frontier),
        cmocka_unit_test(test_ring_growth_and_reuse),
        cmocka_unit_test(test_ticket_roundtrip),
        cmocka_unit_test(test_merge_picks_lowest_ts),
        cmocka_unit_test(test_merge_bounded_in_event_time),
        cmocka_unit_test(test_merge_start_and_older_heads),
        cmocka_unit_test(test_merge_idle_bound),
        cmocka_unit_test(test_merge_rejects_and_ties),
        cmocka_unit_test(test_checkpoint_one_transaction),
        cmocka_unit_test(test_checkpoint_add_offsets),
        cmocka_unit_test(test_checkpoint_unwritable_dir),
        cmocka_unit_test(test_secret_keys),
        cmocka_unit_test(test_log_line_is_one_logfmt_line),
        cmocka_unit_test(test_metrics_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
