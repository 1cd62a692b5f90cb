/*
 * stream_kafka_checks.c — the invariant, the final check and the replay
 * reference (stream_kafka_checks.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strmap.h"
#include "decisions/engine.h"
#include "replay/replay.h"
#include "rules/ruleset.h"
#include "stream_kafka_checks.h"

/* ---- the invariant ---- */

static bool read_committed(harness *h)
{
    rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(3 * NPART);
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++)
            rd_kafka_topic_partition_list_add(c, h->topics[k], p);
    bool ok = rd_kafka_committed(h->checker, c, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; ok && i < c->cnt; i++) {
        if (c->elems[i].err) {
            ok = false;
            break;
        }
        h->committed[i / NPART][i % NPART] = c->elems[i].offset >= 0 ? c->elems[i].offset : -1;
    }
    rd_kafka_topic_partition_list_destroy(c);
    return ok;
}

/* The first decision of event ev that is not on the action topic. */
static const char *missing_decision(harness *h, const ev_rec *e)
{
    for (int d = 0; d < e->n_dids; d++)
        if (seen_count(h, e->dids[d]) == 0)
            return e->dids[d];
    return NULL;
}

const ev_rec *event_at(harness *h, int32_t partition, int64_t offset)
{
    char k[48];
    src_key(k, sizeof k, partition, offset);
    size_t *i = rg_strmap_get(h->by_src, k, strlen(k));
    if (!i)
        fail_msg("a record names event %d/%lld, which the test never produced", (int)partition, (long long)offset);
    return &h->ev[*i];
}

int check_invariant(harness *h)
{
    /* Positions first (committed offsets, then the state topic's end),
     * outputs after. */
    if (!read_committed(h) || !reader_catch_up(h, 5000))
        return -1;
    int64_t header_pos[3][NPART];
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++)
            header_pos[k][p] = -1;
    for (int sp = 0; sp < 3 * NPART; sp++)
        for (size_t i = 0; i < h->headers[sp].n; i++) {
            const header_seen *hs = &h->headers[sp].v[i];
            if (hs->offset < h->state_end[sp] && hs->resume > header_pos[hs->kind][hs->partition])
                header_pos[hs->kind][hs->partition] = hs->resume;
        }
    for (int k = 0; k < 3; k++)
        for (int p = 0; p < NPART; p++) {
            /* A position is committed only once its snapshot is durable. */
            if (h->committed[k][p] > header_pos[k][p])
                fail_msg("%s/%d is committed at %lld, past its newest snapshot (position %lld)", h->topics[k], p,
                         (long long)h->committed[k][p], (long long)header_pos[k][p]);
            h->pos[k][p] = header_pos[k][p];
        }
    /* ingest */
    int complete = 0;
    for (int p = 0; p < NPART; p++)
        if (h->pos[0][p] >= h->end_offset[p])
            complete++;
    for (size_t i = 0; i < h->n_ev; i++) {
        const ev_rec *e = &h->ev[i];
        if (e->offset < 0 || e->offset >= h->pos[0][e->partition] || e->kind == EV_RESENT)
            continue;
        if (e->kind == EV_REJECT && !has_src(h->dl_src, e->partition, e->offset))
            fail_msg("ingest/%d's position is %lld but the dead letter of offset %lld is not on %s", e->partition,
                     (long long)h->pos[0][e->partition], (long long)e->offset, DEADLETTER);
        if (e->kind != EV_REJECT && !has_src(h->event_src, e->partition, e->offset))
            fail_msg("ingest/%d's position is %lld but the EVENT record of offset %lld (e-%06d) is not on %s",
                     e->partition, (long long)h->pos[0][e->partition], (long long)e->offset, e->index, h->topics[2]);
        if (e->kind == EV_TRANSFER && !has_src(h->entity_src, e->partition, e->offset))
            fail_msg("ingest/%d's position is %lld but the ENTITY record of offset %lld (e-%06d) is not on %s",
                     e->partition, (long long)h->pos[0][e->partition], (long long)e->offset, e->index, h->topics[1]);
    }
    /* entity */
    for (int r = 0; r < NPART; r++)
        for (size_t i = 0; i < h->entity_recs[r].n; i++) {
            const rec_seen *rs = &h->entity_recs[r].v[i];
            if (rs->offset < h->pos[1][r] && !has_src(h->enrich_src, rs->src_partition, rs->src_offset))
                fail_msg("entity/%d's position is %lld but the ENRICH for its offset %lld (event %d/%lld) is not on %s",
                         r, (long long)h->pos[1][r], (long long)rs->offset, (int)rs->src_partition,
                         (long long)rs->src_offset, h->topics[2]);
        }
    /* decide */
    for (int d = 0; d < NPART; d++)
        for (size_t i = 0; i < h->event_recs[d].n; i++) {
            const rec_seen *rs = &h->event_recs[d].v[i];
            if (rs->offset >= h->pos[2][d])
                continue;
            const ev_rec *e = event_at(h, rs->src_partition, rs->src_offset);
            const char *id = missing_decision(h, e);
            if (id)
                fail_msg("decide/%d's position is %lld but decision %s (its offset %lld) is not on %s", d,
                         (long long)h->pos[2][d], id, (long long)rs->offset, ACTIONS);
        }
    h->checks++;
    return complete;
}

/* Whether everything produced is fully processed as far as the outputs
 * and positions read in the last check show: every events partition's
 * position at its end, every decision on the action topic, every
 * transfer's ENRICH on <group>.decide (the entity stage evaluated it:
 * transfers without a decision count too) and every <group>.decide
 * partition's position past its last EVENT or ENRICH record (the decide
 * stage evaluated it all; only MARKs may follow). */
static bool all_processed(harness *h, int complete)
{
    if (complete != NPART || h->n_seen_distinct != h->n_expected)
        return false;
    for (size_t i = 0; i < h->n_ev; i++)
        if (h->ev[i].kind == EV_TRANSFER && !has_src(h->enrich_src, h->ev[i].partition, h->ev[i].offset))
            return false;
    for (int d = 0; d < NPART; d++)
        if (h->pos[2][d] < h->data_end[2][d])
            return false;
    return true;
}

/* ---- replay: the reference ---- */

typedef struct replay_cmp {
    harness *h;
    int from;                   /* compare decisions of events i >= from */
    size_t compared;
    char problem[2048];
} replay_cmp;

static int replay_cmp_decision(void *opaque, const rg_decision *d, void *ticket)
{
    replay_cmp *c = opaque;
    int index = atoi(d->event_id + 2);
    if (index < c->from || c->problem[0])
        return 0;
    c->compared++;
    decision_seen *s = rg_strmap_get(c->h->expected, d->decision_id, strlen(d->decision_id));
    if (!s || !s->count)
        snprintf(c->problem, sizeof c->problem, "replay decided %s, which is not on the action topic",
                 d->decision_id);
    else if (s->body_len != d->json_len - 1 || memcmp(s->body, d->json, s->body_len) != 0)
        snprintf(c->problem, sizeof c->problem, "decision %s differs from replay's:\n  run:    %.*s\n  replay: %.*s",
                 d->decision_id, (int)s->body_len, s->body, (int)d->json_len, d->json);
    return 0;
}

void check_replay(harness *h, int from)
{
    fflush(h->capture);
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(h->rules_path, &errors);
    if (!rs)
        fail_msg("rules: %s", errors ? errors : "?");
    free(errors);
    char err[512];
    rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
    if (!e)
        fail_msg("engine: %s", err);
    replay_cmp c = {.h = h, .from = from};
    static const rg_sink_ops replay_cmp_ops = {.name = "replay comparison", .decision = replay_cmp_decision};
    rg_sink sink = {.ops = &replay_cmp_ops, .self = &c};
    rg_replay_lane lane = {.engine = e, .sink = &sink};
    const char *captures[] = {h->capture_path};
    rg_replay_opts o = {.captures = captures, .n_captures = 1, .lanes = &lane, .n_lanes = 1};
    rg_replay_result res;
    int rc = rg_replay_run(&o, &res, err, sizeof err);
    rg_engine_free(e);
    rg_ruleset_free(rs);
    assert_int_equal(rc, 0);
    if (c.problem[0])
        fail_msg("%s", c.problem);
    size_t want = 0;
    for (size_t i = 0; i < h->n_ev; i++)
        if (h->ev[i].index >= from && h->ev[i].kind != EV_RESENT)
            want += (size_t)h->ev[i].n_dids;
    assert_int_equal(c.compared, want);
}

/* ---- the waits and the final check ---- */

void await_all(harness *h, int64_t timeout_ms, void (*during)(harness *, int round, void *), void *arg)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (int round = 0;; round++) {
        if (during)
            during(h, round, arg);
        int complete = check_invariant(h);
        if (getenv("RG_TEST_VERBOSE"))
            fprintf(stderr, "round %d t=%lld complete=%d seen=%zu/%zu checks=%d\n", round, (long long)now_ms(),
                    complete, h->n_seen_distinct, h->n_expected, h->checks);
        if (all_processed(h, complete) && !h->hold_completion)
            return;
        if (now_ms() > deadline)
            fail_msg("timed out: %zu/%zu decisions seen, %d/%d events partitions committed to the end "
                     "(positions %lld %lld %lld, ends %lld %lld %lld)",
                     h->n_seen_distinct, h->n_expected, complete, NPART, (long long)h->pos[0][0],
                     (long long)h->pos[0][1], (long long)h->pos[0][2], (long long)h->end_offset[0],
                     (long long)h->end_offset[1], (long long)h->end_offset[2]);
        sleep_ms(50);
    }
}

void await_committed(harness *h, int64_t timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int at_end = 0;
        if (check_invariant(h) >= 0)
            for (int p = 0; p < NPART; p++)
                at_end += h->committed[0][p] >= h->end_offset[p];
        if (at_end == NPART)
            return;
        if (now_ms() > deadline)
            fail_msg("timed out: %d/%d events partitions committed to their end (committed %lld %lld %lld, ends "
                     "%lld %lld %lld)",
                     at_end, NPART, (long long)h->committed[0][0], (long long)h->committed[0][1],
                     (long long)h->committed[0][2], (long long)h->end_offset[0], (long long)h->end_offset[1],
                     (long long)h->end_offset[2]);
        sleep_ms(100);
    }
}

/* The mock keeps about 5 MB per partition and drops the oldest records
 * beyond (it never compacts): a test that writes more would read a
 * partial history. Every partition must still start at offset 0. */
static void check_nothing_trimmed(harness *h)
{
    rd_kafka_topic_partition_list_t *l = output_partitions(h);
    for (int p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(l, EVENTS, p);
    for (int p = 0; p < 3 * NPART; p++)
        rd_kafka_topic_partition_list_add(l, h->state_topic, p);
    for (int i = 0; i < l->cnt; i++) {
        int64_t lo = -1, hi = -1;
        assert_int_equal(
            rd_kafka_query_watermark_offsets(h->reader, l->elems[i].topic, l->elems[i].partition, &lo, &hi, 5000), 0);
        if (lo != 0)
            fail_msg("the mock dropped the start of %s/%d (it begins at %lld of %lld): the test writes more than its "
                     "5 MB partition tail",
                     l->elems[i].topic, (int)l->elems[i].partition, (long long)lo, (long long)hi);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

void final_check(harness *h)
{
    int complete = -1;
    for (int i = 0; i < 20 && complete < 0; i++)
        complete = check_invariant(h);
    assert_int_equal(complete, NPART);
    check_nothing_trimmed(h);
    assert_int_equal(h->n_seen_distinct, h->n_expected);
    for (int p = 0; p < NPART; p++) {
        if (h->committed[0][p] != h->end_offset[p])
            fail_msg("%s/%d committed at %lld, its end is %lld", EVENTS, p, (long long)h->committed[0][p],
                     (long long)h->end_offset[p]);
        for (int k = 1; k < 3; k++)
            if (h->committed[k][p] < h->data_end[k][p])
                fail_msg("%s/%d committed at %lld after the drain, its last record that is not a MARK is at %lld",
                         h->topics[k], p, (long long)h->committed[k][p], (long long)h->data_end[k][p] - 1);
    }
}
