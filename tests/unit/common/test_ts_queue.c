/*
 * Unit tests for common/ts_queue: entries leave in order of ts whatever
 * order they came in (in-order ones through the FIFO, late ones through
 * the heap), each exactly once, across the FIFO's blocks and the heap's
 * growth and shrinking; take_before hands out what oldest and pop do;
 * fifo_at reaches across blocks. Owner:
 * common (the detectors engineer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/ts_queue.h"

#define N 20000

static uint64_t rng = 0x243f6a8885a308d3ull;

static uint32_t next_random(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* Push N entries, mostly in ts order, every `late_every`-th up to an
 * hour behind; pop a few as the "watermark" moves. Every entry must come
 * out once, in non-decreasing ts. */
static void run(int late_every)
{
    static unsigned char seen[N];
    memset(seen, 0, sizeof seen);
    rg_ts_queue q = RG_TS_QUEUE_INIT;
    int64_t ts = 1000000, last_out = INT64_MIN;
    size_t out = 0;
    for (size_t i = 0; i < N; i++) {
        ts += next_random() % 1000;
        int64_t at = late_every && i % (size_t)late_every == 0 ? ts - (int64_t)(next_random() % 3600000) : ts;
        assert_int_equal(rg_ts_queue_push(&q, (rg_ts_entry){at, {(uint32_t)i, 0}}), 0);
        /* Forget what is older than an hour and a half behind. */
        for (const rg_ts_entry *top; (top = rg_ts_queue_oldest(&q)) && top->ts_ms < ts - 5400000;) {
            assert_true(top->ts_ms >= last_out);
            last_out = top->ts_ms;
            unsigned char *mark = &seen[top->place.hash];   /* the entry's own index */
            assert_int_equal(*mark, 0);
            *mark = 1;
            out++;
            rg_ts_queue_pop(&q);
        }
        rg_ts_queue_shrink(&q);
        assert_int_equal(rg_ts_queue_count(&q) + out, i + 1);
    }
    for (const rg_ts_entry *top; (top = rg_ts_queue_oldest(&q));) {
        assert_true(top->ts_ms >= last_out);
        last_out = top->ts_ms;
        assert_int_equal(seen[top->place.hash], 0);
        seen[top->place.hash] = 1;
        out++;
        rg_ts_queue_pop(&q);
    }
    assert_int_equal(out, N);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    /* Empty: each shrink halves what of the heap is over 1,024 entries;
     * the FIFO keeps its one (emptied) block and a spare. */
    for (int k = 0; k < 16; k++)
        rg_ts_queue_shrink(&q);
    assert_true(rg_ts_queue_bytes(&q) <= 1024 * sizeof(rg_ts_entry) + 2 * sizeof(rg_ts_block));
    rg_ts_queue_free(&q);
    assert_null(rg_ts_queue_oldest(&q));
}

static void test_in_order(void **unused) { run(0); }
static void test_some_late(void **unused) { run(7); }
static void test_mostly_late(void **unused) { run(1); }

/* take_before (oldest and pop in one) against oldest then pop: two
 * queues given the same entries, drained by the same watermark, one each
 * way, hand out the same entries in the same order (ties included: many
 * entries share a ts here) and hold the same count after every step. */
static void run_take_before(int late_every)
{
    rg_ts_queue a = RG_TS_QUEUE_INIT, b = RG_TS_QUEUE_INIT;
    int64_t ts = 1000000;
    for (size_t i = 0; i < N; i++) {
        ts += next_random() % 4 * 500;   /* ties are common */
        int64_t at = late_every && i % (size_t)late_every == 0 ? ts - (int64_t)(next_random() % 3600000) : ts;
        rg_ts_entry e = {at, {(uint32_t)i, (uint32_t)i + 1}};
        assert_int_equal(rg_ts_queue_push(&a, e), 0);
        assert_int_equal(rg_ts_queue_push(&b, e), 0);
        int64_t before = i + 1 == N ? INT64_MAX : ts - 1800000;
        for (;;) {
            const rg_ts_entry *top = rg_ts_queue_oldest(&a);
            bool due = top && top->ts_ms < before;
            rg_ts_entry taken;
            assert_int_equal(rg_ts_queue_take_before(&b, before, &taken), due);
            if (!due)
                break;
            assert_int_equal(taken.ts_ms, top->ts_ms);
            assert_int_equal(taken.place.hash, top->place.hash);
            assert_int_equal(taken.place.ref, top->place.ref);
            rg_ts_queue_pop(&a);
            assert_int_equal(rg_ts_queue_count(&a), rg_ts_queue_count(&b));
        }
        rg_ts_queue_shrink(&a);
        rg_ts_queue_shrink(&b);
    }
    assert_int_equal(rg_ts_queue_count(&b), 0);
    rg_ts_queue_free(&a);
    rg_ts_queue_free(&b);
}

/* fifo_at(k) is the k-th entry after the oldest, across blocks; a
 * drained queue gives its blocks back but one and the spare. */
static void test_fifo_at(void **unused)
{
    (void)unused;
    rg_ts_queue q = RG_TS_QUEUE_INIT;
    enum { M = 3 * RG_TS_BLOCK + 100, POPPED = RG_TS_BLOCK + 7 };
    for (size_t i = 0; i < M; i++)
        assert_int_equal(rg_ts_queue_push(&q, (rg_ts_entry){(int64_t)i, {0, 0}}), 0);
    assert_true(rg_ts_queue_bytes(&q) >= 4 * sizeof(rg_ts_block));
    for (size_t i = 0; i < POPPED; i++)
        rg_ts_queue_pop(&q);
    for (size_t k = 0; k < M - POPPED; k++) {
        const rg_ts_entry *e = rg_ts_queue_fifo_at(&q, k);
        assert_non_null(e);
        assert_int_equal(e->ts_ms, (int64_t)(POPPED + k));
    }
    assert_null(rg_ts_queue_fifo_at(&q, M - POPPED));
    while (rg_ts_queue_count(&q))
        rg_ts_queue_pop(&q);
    assert_int_equal(rg_ts_queue_bytes(&q), 2 * sizeof(rg_ts_block));
    /* Written again from the start of the block it kept. */
    assert_int_equal(rg_ts_queue_push(&q, (rg_ts_entry){5, {0, 0}}), 0);
    assert_int_equal(rg_ts_queue_oldest(&q)->ts_ms, 5);
    assert_int_equal(rg_ts_queue_bytes(&q), 2 * sizeof(rg_ts_block));
    rg_ts_queue_free(&q);
}

static void test_take_before_in_order(void **unused) { run_take_before(0); }
static void test_take_before_some_late(void **unused) { run_take_before(3); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_some_late),
        cmocka_unit_test(test_mostly_late),
        cmocka_unit_test(test_fifo_at),
        cmocka_unit_test(test_take_before_in_order),
        cmocka_unit_test(test_take_before_some_late),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
