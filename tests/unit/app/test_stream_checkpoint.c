/*
 * Checkpoints taken while records are in flight (stream_kafka_harness.h).
 *
 * The runner serialises its state without pausing and stores it, on its
 * writer thread, only once every event below the stored rows has all its
 * records acknowledged (stream/run_commit.c, "checkpoints"). Checked
 * continuously from outside, with the action topic's broker slow (100 ms
 * round trip, so hundreds of records are in flight at any time) and a
 * checkpoint every 50 ms while events keep arriving: every checkpoint read
 * from checkpoint.db (rows and state in one read transaction) must have,
 * for each row, a state that reflects exactly the messages below it (the
 * fake state counts them: count == row, highest offset == row - 1), and
 * every decision of those events on the action topic; and a partition
 * with a committed offset must have a row. A kill -9 at that moment would
 * restart there: nothing lost, nothing counted twice.
 * Then a restart over the same directory loads the last checkpoint.
 */
#include <sqlite3.h>

#include "stream_kafka_harness.h"

typedef struct ckpt_check {
    char db_path[300];
    int produced_rounds;        /* rounds that produced more events */
    int next_event;
    int checks;                 /* distinct checkpoints read with at least one row */
    int behind;                 /* ... of which some row was behind the end produced by then */
    int64_t last_saved_at;
} ckpt_check;

/* Read rows and state in one read transaction. 0, or 1 when there is no
 * checkpoint (yet). */
static int read_checkpoint(const char *path, int64_t rows[8], int64_t count[8], int64_t max[8],
                           int64_t *saved_at)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 1;
    }
    sqlite3_busy_timeout(db, 5000);
    int result = 1;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    for (int p = 0; p < 8; p++)
        rows[p] = -1;
    if (sqlite3_prepare_v2(db, "SELECT partition, next_offset FROM offsets WHERE topic = '" EVENTS "'", -1, &st,
                           NULL) != SQLITE_OK)
        goto done;   /* no schema yet */
    while (sqlite3_step(st) == SQLITE_ROW) {
        int p = sqlite3_column_int(st, 0);
        assert_true(p >= 0 && p < 8);
        rows[p] = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT saved_at_ms, blob FROM state WHERE id = 1", -1, &st, NULL),
                     SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *saved_at = sqlite3_column_int64(st, 0);
        fake_proc fp;
        char err[128];
        assert_int_equal(fake_load(&fp, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), err,
                                   sizeof err),
                         0);
        memcpy(count, fp.state_count, sizeof fp.state_count);
        memcpy(max, fp.state_max, sizeof fp.state_max);
        result = 0;
    }
done:
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);
    return result;
}

/* Read the action topic up to its end as of now (the decisions
 * acknowledged so far; the dead-letter topic is not needed here). */
static void catch_up_actions(harness *h)
{
    /* One ListOffsets request for the three partitions (one broker leads
     * them all, and it is slow). */
    rd_kafka_topic_partition_list_t *end = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(end, ACTIONS, p)->offset = RD_KAFKA_OFFSET_END;
    if (rd_kafka_offsets_for_times(h->reader, end, 5000) != 0)
        fail_msg("cannot read the action topic's end offsets");
    int64_t hi[3];
    for (int p = 0; p < 3; p++)
        hi[p] = end->elems[p].offset;
    rd_kafka_topic_partition_list_destroy(end);
    int64_t deadline = now_ms() + 30000;
    for (;;) {
        reader_take(h, 10);
        rd_kafka_topic_partition_list_t *pos = rd_kafka_topic_partition_list_new(3);
        for (int p = 0; p < 3; p++)
            rd_kafka_topic_partition_list_add(pos, ACTIONS, p);
        rd_kafka_position(h->reader, pos);
        bool done = true;
        for (int p = 0; p < 3; p++)
            if (hi[p] > 0 && pos->elems[p].offset < hi[p])
                done = false;
        rd_kafka_topic_partition_list_destroy(pos);
        if (done)
            return;
        if (now_ms() > deadline)
            fail_msg("the action topic could not be read to its end");
    }
}

/* One checkpoint read and checked: its state reflects exactly the
 * messages below its rows, and every decision of those events is on the
 * action topic as of the moment it was read. */
static void check_once(harness *h, ckpt_check *c)
{
    /* Kafka's committed offsets first: a partition committed then must
     * have a row now (rows are stored before the first commit, and a
     * full checkpoint never drops a held partition's row). */
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_new(3);
    for (int p = 0; p < 3; p++)
        rd_kafka_topic_partition_list_add(committed, EVENTS, p);
    bool known = rd_kafka_committed(h->checker, committed, 2000) == 0;
    int64_t rows[8], count[8], max[8], saved_at = 0;
    int rc = read_checkpoint(c->db_path, rows, count, max, &saved_at);
    for (int p = 0; known && p < 3; p++)
        if (!committed->elems[p].err && committed->elems[p].offset > 0 && (rc != 0 || rows[p] < 0))
            fail_msg("partition %d is committed at %lld but the checkpoint has no row for it", p,
                     (long long)committed->elems[p].offset);
    rd_kafka_topic_partition_list_destroy(committed);
    if (rc != 0 || saved_at == c->last_saved_at)
        return;   /* none yet, or checked already */
    /* Right away: a checkpoint stored before its decisions were
     * acknowledged would show here (the broker takes 100 ms more). */
    catch_up_actions(h);
    bool any = false, behind = false;
    for (int p = 0; p < 3; p++) {
        if (rows[p] < 0)
            continue;
        any = true;
        if (count[p] != rows[p] || (rows[p] > 0 && max[p] != rows[p] - 1))
            fail_msg("partition %d: the checkpoint's row is %lld but its state reflects %lld messages (highest "
                     "offset %lld)",
                     p, (long long)rows[p], (long long)count[p], (long long)max[p]);
        if (rows[p] < h->end_offset[p])
            behind = true;
        for (size_t i = 0; i < h->n_produced; i++) {
            if (h->produced[i].partition != p || h->produced[i].offset < 0 || h->produced[i].offset >= rows[p])
                continue;
            char ids[128];
            const char *id = undelivered_decision(h, i, ids, sizeof ids);
            if (id)
                fail_msg("partition %d: checkpoint row %lld but decision %s (offset %lld) is not on the "
                         "action topic",
                         p, (long long)rows[p], id, (long long)h->produced[i].offset);
        }
    }
    if (any) {
        c->checks++;
        if (behind)
            c->behind++;
    }
    c->last_saved_at = saved_at;
}

/* n events as produce_workload makes them (a reject every 40th), over
 * the first `parts` partitions only. */
static void produce_on(harness *h, int first, int n, int parts) { produce_workload_on(h, first, n, 40, parts); }

/* Once per round: more events during the first rounds, then the
 * checkpoints read every 20 ms for a while (they come every 50 ms). */
static void check_checkpoint(harness *h, int round, void *arg)
{
    ckpt_check *c = arg;
    if (round < c->produced_rounds) {
        /* Partition 2 gets its first events only in round 3: it is first
         * fetched, and gets its row, while a checkpoint serialised before
         * may still wait for acknowledgements; when that one is stored it
         * must not drop partition 2's row. */
        produce_on(h, c->next_event, 300, round <= 3 ? 2 : 3);
        c->next_event += 300;
        if (round == 3) {
            /* ... and a moment later (checkpoints now wait for the
             * acknowledgements of the batch above), its first event alone:
             * no decision, so it completes at once and is committed at
             * the next commit, after its row is added. */
            sleep_ms(30);
            produce_event(h, 2, 1700000000000LL + (int64_t)c->next_event * 10, "e-p2-first", "",
                          1700000000000LL + c->next_event);
            produced_flush(h);
        }
    } else {
        h->hold_completion = false;
    }
    for (int i = 0; i < 10; i++) {
        check_once(h, c);
        sleep_ms(20);
    }
}

static void test_checkpoints_in_flight(void **state)
{
    (void)state;
    char dir[256];
    snprintf(dir, sizeof dir, "/tmp/rg-stream-ckpt-flight-%d", (int)getpid());
    harness h;
    harness_up(&h, "g-ckpt", true, true);
    /* Broker 3 leads the action topic: every request takes 100 ms more. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, 3, 100), 0);
    reader_start(&h);
    ckpt_check c = {.produced_rounds = 12};
    snprintf(c.db_path, sizeof c.db_path, "%s/checkpoint.db", dir);
    runner r;
    runner_opts opts = {.state_dir = dir, .checkpoint_interval_ms = 50};
    runner_start_opts(&r, &h, NULL, 0, 50, &opts);
    produce_on(&h, 0, 300, 2);
    c.next_event = 300;
    h.hold_completion = true;
    await_all(&h, 120000, check_checkpoint, &c);
    assert_int_equal(runner_stop(&r), 0);
    /* The drain's checkpoint covers everything. */
    int64_t rows[8], count[8], max[8], saved_at = 0;
    assert_int_equal(read_checkpoint(c.db_path, rows, count, max, &saved_at), 0);
    for (int p = 0; p < 3; p++) {
        assert_int_equal(rows[p], h.end_offset[p]);
        assert_int_equal(count[p], h.end_offset[p]);
    }
    if (getenv("RG_TEST_VERBOSE"))
        fprintf(stderr, "checkpoints checked %d, %d of them behind the produced end\n", c.checks, c.behind);
    /* The check saw checkpoints taken mid-stream, not only the last one. */
    assert_true(c.checks >= 3);
    assert_true(c.behind >= 1);

    /* A restart over the directory loads that state and has nothing to
     * evaluate again. */
    assert_int_equal(rd_kafka_mock_broker_set_rtt(h.mc, 3, 0), 0);
    runner_start_opts(&r, &h, NULL, 0, 50, &opts);
    for (int p = 0; p < 3; p++)
        assert_int_equal(r.fp.state_count[p], h.end_offset[p]);
    assert_int_equal(runner_stop(&r), 0);
    assert_int_equal(r.counts.events, 0);
    harness_down(&h);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    harness_main_setup();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoints_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
