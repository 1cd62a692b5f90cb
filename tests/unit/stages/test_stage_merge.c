/* The entity stage's merge of its sources (stages/merge.h): order, sending
 * again, and how long each kind of empty source holds the merge back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../../stages/merge.h"

enum { IDLE_MS = 5000, WAIT_MS = 30000, MARK_MS = 20 };

static void push(rg_smerge *m, size_t src, int64_t offset, int64_t ts, int expect)
{
    char byte = (char)('a' + src);
    rg_smerge_item it = {.seq = offset * 4, .ts_ms = ts, .msg_ts_ms = 0, .input_offset = offset, .data = &byte,
                         .len = 1};
    assert_int_equal(rg_smerge_push(m, src, &it), expect);
}

/* PICK the head of the expected source and pop it. */
static void pick(rg_smerge *m, int64_t now, size_t want_src, int64_t want_ts)
{
    size_t src = SIZE_MAX;
    int64_t wait = -1;
    bool late = true;
    assert_int_equal(rg_smerge_next(m, now, &src, &wait, &late), RG_SMERGE_PICK);
    assert_int_equal(src, want_src);
    rg_smerge_item it = rg_smerge_pop(m, src);
    assert_int_equal(it.ts_ms, want_ts);
    free(it.data);
}

static rg_smerge_result next(rg_smerge *m, int64_t now)
{
    size_t src;
    int64_t wait;
    bool late;
    return rg_smerge_next(m, now, &src, &wait, &late);
}

/* The record src was waited for comes (offset, ts), then src moves past
 * other's head (other_ts): src's first, other's next, nothing late. */
static void comes_in_order(rg_smerge *m, int64_t now, size_t src, int64_t offset, int64_t ts, size_t other,
                           int64_t other_ts)
{
    push(m, src, offset, ts, 1);
    rg_smerge_progress(m, src, ts, false, now);
    pick(m, now, src, ts);
    rg_smerge_progress(m, src, other_ts + 1, false, now);
    pick(m, now, other, other_ts);
    assert_int_equal(m->late, 0);
}

static void test_lowest_ts_first_once_every_source_passed_it(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    push(&m, 0, 10, 2000, 1);
    /* Source 1 never heard from: nothing may pass. */
    assert_int_equal(next(&m, 0), RG_SMERGE_WAIT);
    push(&m, 1, 7, 1000, 1);
    rg_smerge_progress(&m, 1, 1000, false, 0);
    pick(&m, 0, 1, 1000);
    /* Source 1 is empty, not drained, at 1000: 2000 must wait for it. */
    assert_int_equal(next(&m, 1), RG_SMERGE_WAIT);
    rg_smerge_progress(&m, 1, 2500, false, 2);
    pick(&m, 2, 0, 2000);
    assert_int_equal(next(&m, 3), RG_SMERGE_IDLE);
    rg_smerge_free(&m);
}

static void test_sent_again_is_dropped(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 1, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(&m, 0, 0, false, 0);
    push(&m, 0, 5, 100, 1);
    push(&m, 0, 6, 200, 1);
    push(&m, 0, 6, 200, 0);   /* queued already */
    pick(&m, 0, 0, 100);
    push(&m, 0, 5, 100, 0);   /* evaluated already */
    assert_int_equal(m.resent, 2);
    rg_smerge_free(&m);
}

/* Two sources: 0 drained at 1000 and still reporting (idle), 1 with a
 * head an hour of event time later, which 0 holds back max_idle_ms; then
 * 0 is left behind and the head picked. The time of the pick. */
static int64_t idle_source_left_behind(rg_smerge *m)
{
    assert_int_equal(rg_smerge_init(m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(m, 0, 1000, true, 0);
    rg_smerge_progress(m, 1, 0, false, 0);
    push(m, 1, 1, 3600000, 1);
    int64_t now = 0;
    for (; now < IDLE_MS; now += MARK_MS) {
        rg_smerge_progress(m, 0, 1000, true, now);   /* still marking, still drained */
        assert_int_equal(next(m, now), RG_SMERGE_WAIT);
    }
    rg_smerge_progress(m, 0, 1000, true, now);
    pick(m, now + 1, 1, 3600000);
    assert_true(m->sources[0].left_behind);
    return now + 1;
}

/* A drained source that keeps reporting is idle: it holds a later head
 * back at most max_idle_ms, then is left behind. */
static void test_idle_source_left_behind_after_max_idle(void **state)
{
    (void)state;
    rg_smerge m;
    idle_source_left_behind(&m);
    assert_int_equal(m.enforced, 1);
    assert_int_equal(m.enforced_wait, 0);
    rg_smerge_free(&m);
}

/* A drained source whose task stopped reporting (its instance died; a
 * new owner restores it after a session timeout and a rebalance) is not
 * known idle: it holds the merge back until max_wait_ms, and the records
 * it then sends are evaluated in order, not late. */
static void test_silent_source_held_for_max_wait(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(&m, 0, 1000, true, 0);   /* its last word: drained at 1000 */
    rg_smerge_progress(&m, 1, 0, false, 0);
    push(&m, 1, 1, 60000, 1);
    for (int64_t now = 0; now < 12000; now += 100) {
        rg_smerge_progress(&m, 1, 60000, true, now);
        assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
    }
    /* 12 s later the restored task sends what its partition held. */
    push(&m, 0, 3, 30000, 1);
    rg_smerge_progress(&m, 0, 30000, false, 12000);
    pick(&m, 12000, 0, 30000);
    rg_smerge_progress(&m, 0, 90000, true, 12001);
    pick(&m, 12001, 1, 60000);
    assert_int_equal(m.enforced, 0);
    assert_int_equal(m.late, 0);
    rg_smerge_free(&m);
}

/* A task whose own input is behind (catching up a backlog, one batch per
 * fetch on a loaded machine) reads reports seconds after they were sent:
 * a source that said "drained" then may have sent its next records since,
 * further on in that backlog. No bound runs out while the input is behind
 * (issue 18, rolling restarts: a drained source left behind after 5 s of
 * backlog reading, its next burst then evaluated late, a decision lost);
 * the bound counts from when the input is read to its end. */
static void test_no_bound_runs_out_while_input_behind(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 3, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_set_input_behind(&m, true);
    rg_smerge_progress(&m, 0, 1000, true, 0);    /* an old MARK: drained at 1000 */
    rg_smerge_progress(&m, 2, 0, false, 0);      /* not drained, progress 0 */
    push(&m, 1, 1, 60000, 1);
    for (int64_t now = 0; now < 40000; now += 100) {
        rg_smerge_progress(&m, 0, 1000, true, now);   /* still reading old MARKs */
        assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
    }
    /* The backlog brings source 0's next records and source 2's: in order,
     * nothing late. */
    push(&m, 0, 2, 30000, 1);
    push(&m, 2, 3, 40000, 1);
    rg_smerge_progress(&m, 0, 30000, false, 40000);
    rg_smerge_progress(&m, 2, 40000, false, 40000);
    pick(&m, 40000, 0, 30000);
    assert_int_equal(m.enforced, 0);
    /* Read to its end: now the bounds run, from then on. Source 0 still
     * reports drained at 30000 (idle): left behind after max_idle. */
    rg_smerge_set_input_behind(&m, false);
    for (int64_t now = 40000; now < 40000 + IDLE_MS; now += 100) {
        rg_smerge_progress(&m, 0, 30000, true, now);
        assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
    }
    pick(&m, 40000 + IDLE_MS, 2, 40000);
    assert_int_equal(m.enforced, 1);
    assert_int_equal(m.late, 0);
    rg_smerge_free(&m);
}

/* The clock is paused, not restarted: a moment behind (a fetch answered
 * between two turns of the runner's loop, every few ms while MARKs flow)
 * costs the bound that moment only, else an idle source that keeps
 * reporting could hold the merge back for ever. */
static void test_a_moment_behind_only_pauses_the_bound(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(&m, 0, 1000, true, 0);
    push(&m, 1, 1, 60000, 1);
    int64_t now = 0;
    for (; now < 2 * IDLE_MS; now += 5) {
        rg_smerge_set_input_behind(&m, now % 100 == 50);   /* behind for 5 ms in every 100 */
        rg_smerge_progress(&m, 0, 1000, true, now);
        if (next(&m, now) == RG_SMERGE_PICK)
            break;
    }
    /* 5000 ms of the clock running: about 5263 ms (5 of every 100 paused). */
    assert_true(now >= IDLE_MS + 200 && now <= IDLE_MS + 300);
    assert_int_equal(m.enforced, 1);
    rg_smerge_free(&m);
}

/* ... but not forever: past max_wait_ms it is left behind, counted. */
static void test_silent_source_left_behind_after_max_wait(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(&m, 0, 1000, true, 0);
    rg_smerge_progress(&m, 1, 0, false, 0);
    push(&m, 1, 1, 60000, 1);
    int64_t now = 0;
    rg_smerge_result r;
    while ((r = next(&m, now)) == RG_SMERGE_WAIT && now < 2 * WAIT_MS)
        now += 100;
    assert_int_equal(r, RG_SMERGE_PICK);
    assert_true(now >= WAIT_MS + RG_SMERGE_SILENT_MIN_MS - 100);
    assert_int_equal(m.enforced_wait, 1);
    pick(&m, now, 1, 60000);
    rg_smerge_free(&m);
}

/* A source restored from an older snapshot sends again what it sent
 * before (dropped) on its way to new records: it is alive, and is waited
 * for past max_wait_ms as long as the resends keep coming. */
static void test_resending_source_is_waited_for(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(&m, 0, 0, false, 0);
    rg_smerge_progress(&m, 1, 5000, false, 0);
    push(&m, 0, 1, 1000, 1);
    pick(&m, 0, 0, 1000);
    push(&m, 1, 1, 90000, 1);
    /* Source 0 (not drained, at 1000) holds 90000 back; it resends its
     * offset 1 every 10 s for 50 s, then sends offset 2. */
    int64_t now = 1;
    for (int k = 0; k < 5; k++) {
        for (int64_t end = now + 10000; now < end; now += 500)
            assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
        push(&m, 0, 1, 1000, 0);
    }
    comes_in_order(&m, now, 0, 2, 60000, 1, 90000);
    assert_int_equal(m.enforced, 0);
    rg_smerge_free(&m);
}

/* Idle sources share one spell of max_idle_ms (the tail of a backlog runs
 * dry partition after partition), but a source that becomes idle late in
 * a spell gets its own max_idle_ms from then: its word "drained" is new
 * and has not had its chance to be overtaken by its partition's next
 * records. Issue 18's rolling restart: an instance's ingest task,
 * silent while it moved (not idle: the max_wait bound), was restored on
 * the next instance and reported drained 5 s into a spell other idle
 * sources had begun; it was left behind at once, the next burst came to
 * its partition a moment later, and its red packet sends were evaluated
 * after the claims of another partition (instant_claims on ic-1 lost). */
static void test_late_idle_source_gets_its_own_max_idle(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 3, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_progress(&m, 0, 1000, true, 0);   /* idle, reporting */
    rg_smerge_progress(&m, 2, 1000, true, 0);   /* its last word before its instance stopped */
    push(&m, 1, 1, 60000, 1);
    rg_smerge_progress(&m, 1, 60000, false, 0);
    int64_t now = 0;
    for (; now < 6000; now += MARK_MS) {
        rg_smerge_progress(&m, 0, 1000, true, now);   /* source 2 silent */
        rg_smerge_progress(&m, 1, 60000, false, now);
        rg_smerge_result r = next(&m, now);
        assert_int_equal(r, RG_SMERGE_WAIT);   /* source 2 holds (max_wait), 0 left behind at 5000 */
    }
    assert_true(m.sources[0].left_behind);
    assert_false(m.sources[2].left_behind);
    /* Restored elsewhere, source 2 reports drained: 5 s of its own. */
    for (; now < 6000 + IDLE_MS - MARK_MS; now += MARK_MS) {
        rg_smerge_progress(&m, 1, 60000, false, now);
        rg_smerge_progress(&m, 2, 1000, true, now);
        assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
    }
    /* Its partition's next records come within them: in order. */
    comes_in_order(&m, now, 2, 7, 50000, 1, 60000);
    assert_int_equal(m.enforced, 1);
    rg_smerge_free(&m);
}

/* A source left behind as idle that then reports its partition not
 * drained (its next records are on the broker, not yet read: proof step
 * 2, docs/streaming.md) holds the merge back again, as any source with
 * data known: the next burst's records of another partition wait for
 * its own. Left behind for good until it sent a record, it let them go
 * first whenever its ingest task was slower to read the burst. */
static void test_left_idle_source_with_data_known_holds_again(void **state)
{
    (void)state;
    rg_smerge m;
    int64_t now = idle_source_left_behind(&m);   /* the tail of a burst, past the idle source */
    assert_int_equal(next(&m, now), RG_SMERGE_IDLE);
    /* The next burst: source 1's records first, while source 0 reports
     * that its partition holds records it has not read. */
    now += 500;
    rg_smerge_progress(&m, 0, 1500, false, now);
    push(&m, 1, 2, 7200000, 1);
    rg_smerge_progress(&m, 1, 7200000, false, now);
    for (int64_t end = now + 2000; now < end; now += MARK_MS) {
        rg_smerge_progress(&m, 0, 1500, false, now);
        assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
    }
    comes_in_order(&m, now, 0, 2, 7100000, 1, 7200000);
    rg_smerge_free(&m);
}

/* rg_smerge_holders (the runner's riskgate_task_merge_holder): the empty
 * sources that hold the lowest head back, and none once they passed it;
 * asking changes nothing. */
static void test_holders_name_the_sources_waited_for(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 4, IDLE_MS, WAIT_MS, MARK_MS), 0);
    size_t srcs[4] = {99, 99, 99, 99};
    assert_int_equal(rg_smerge_holders(&m, 0, srcs, 4), 0);   /* nothing queued */
    push(&m, 1, 10, 1000, 1);
    rg_smerge_progress(&m, 1, 1000, false, 0);
    rg_smerge_progress(&m, 2, 2000, false, 0);   /* past the head */
    rg_smerge_progress(&m, 3, 500, false, 0);    /* behind it */
    /* 0 never heard from, 3 behind the head; 2 passed it, 1 has data. */
    assert_int_equal(rg_smerge_holders(&m, 0, srcs, 4), 2);
    assert_int_equal(srcs[0], 0);
    assert_int_equal(srcs[1], 3);
    assert_int_equal(rg_smerge_holders(&m, 0, srcs, 1), 2);   /* the count, the first one listed */
    assert_int_equal(next(&m, 0), RG_SMERGE_WAIT);
    rg_smerge_progress(&m, 0, 1500, false, 1);
    rg_smerge_progress(&m, 3, 1500, false, 1);
    assert_int_equal(rg_smerge_holders(&m, 1, srcs, 4), 0);
    pick(&m, 1, 1, 1000);
    rg_smerge_free(&m);
}

/* One run of the restart the history rule is for (merge.h, "History"):
 * the task's backlog ends at offset 100 and holds source 1's last word
 * from the run before, "drained at 1000"; source 0's present owner sends
 * a record at ts 3600000; source 1's present owner (restored at an older
 * position) speaks only 3 x max_idle_ms later (a loaded machine), with a
 * record at 2000. max_idle_ms is the streaming test's 200 ms, under the
 * 1 s after which a source that stopped reporting is silent rather than
 * idle. history_end INT64_MIN is the rule switched off. Returns the late
 * records. */
static uint64_t restart_with_stale_drained(int64_t history_end)
{
    rg_smerge m;
    enum { SHORT_IDLE_MS = 200 };
    assert_int_equal(rg_smerge_init(&m, 2, SHORT_IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_set_history_end(&m, history_end);
    rg_smerge_report(&m, 1, 1000, true, 50, 0);
    push(&m, 0, 101, 3600000, 1);
    rg_smerge_report(&m, 0, 3600000, false, 101, 0);
    int64_t now = 0;
    bool picked = false;
    for (; now < 3 * SHORT_IDLE_MS && !picked; now += MARK_MS) {
        rg_smerge_report(&m, 0, 3600000, false, 101 + now, now);   /* source 0 keeps marking */
        if (next(&m, now) == RG_SMERGE_PICK) {
            pick(&m, now, 0, 3600000);
            picked = true;
        }
    }
    push(&m, 1, 102, 2000, 1);
    rg_smerge_report(&m, 1, 2000, false, 3 * SHORT_IDLE_MS, now);
    pick(&m, now, 1, 2000);   /* late if source 0's later record went first */
    if (!picked) {
        rg_smerge_report(&m, 1, 3600001, true, 3 * SHORT_IDLE_MS + 1, now);
        pick(&m, now, 0, 3600000);
        assert_int_equal(m.enforced, 0);
    }
    uint64_t late = m.late;
    rg_smerge_free(&m);
    return late;
}

/* A "drained" read from the backlog a task found when it was assigned is
 * history: the source is not idle on that word, and its present owner's
 * records, coming after max_idle_ms, are evaluated in order. Without the
 * rule the source is left behind and its record comes late (the failure
 * of tests/cli/stream_state.sh, 2026-12-05). */
static void test_drained_from_history_is_not_idle(void **state)
{
    (void)state;
    assert_int_equal(restart_with_stale_drained(100), 0);
    assert_int_equal(restart_with_stale_drained(INT64_MIN), 1);
}

/* A drained word from past the history end is the present's: the source
 * is idle on it (left behind after max_idle_ms, as before). And a source
 * that never had an event holds nothing, whichever side its word is. */
static void test_drained_past_history_is_idle(void **state)
{
    (void)state;
    rg_smerge m;
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_set_history_end(&m, 100);
    rg_smerge_report(&m, 1, 1000, true, 100, 0);
    push(&m, 0, 101, 3600000, 1);
    rg_smerge_report(&m, 0, 3600000, false, 101, 0);
    int64_t now = 0;
    for (; now < IDLE_MS; now += MARK_MS) {
        rg_smerge_report(&m, 1, 1000, true, 102 + now, now);   /* still marking, still drained */
        assert_int_equal(next(&m, now), RG_SMERGE_WAIT);
    }
    rg_smerge_report(&m, 1, 1000, true, 102 + now, now);
    pick(&m, now + 1, 0, 3600000);
    assert_true(m.sources[1].left_behind);
    rg_smerge_free(&m);

    /* "Drained, never had an event" holds nothing, from history too: its
     * source says it once and never again. */
    assert_int_equal(rg_smerge_init(&m, 2, IDLE_MS, WAIT_MS, MARK_MS), 0);
    rg_smerge_set_history_end(&m, 100);
    rg_smerge_report(&m, 1, INT64_MIN, true, 50, 0);
    push(&m, 0, 101, 3600000, 1);
    rg_smerge_report(&m, 0, 3600000, false, 101, 0);
    pick(&m, 0, 0, 3600000);
    assert_int_equal(m.enforced, 0);
    rg_smerge_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lowest_ts_first_once_every_source_passed_it),
        cmocka_unit_test(test_holders_name_the_sources_waited_for),
        cmocka_unit_test(test_sent_again_is_dropped),
        cmocka_unit_test(test_idle_source_left_behind_after_max_idle),
        cmocka_unit_test(test_silent_source_held_for_max_wait),
        cmocka_unit_test(test_no_bound_runs_out_while_input_behind),
        cmocka_unit_test(test_a_moment_behind_only_pauses_the_bound),
        cmocka_unit_test(test_silent_source_left_behind_after_max_wait),
        cmocka_unit_test(test_resending_source_is_waited_for),
        cmocka_unit_test(test_late_idle_source_gets_its_own_max_idle),
        cmocka_unit_test(test_left_idle_source_with_data_known_holds_again),
        cmocka_unit_test(test_drained_from_history_is_not_idle),
        cmocka_unit_test(test_drained_past_history_is_idle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
