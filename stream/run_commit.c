/* run_commit — commits, checkpoints, rebalances; see run_commit.h. */
#include "run_commit.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "run_alerts.h"
#include "run_internal.h"
#include "run_produce.h"

static void note_committed(rg_stream *s, const rd_kafka_topic_partition_list_t *offsets)
{
    for (int i = 0; i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *p = &offsets->elems[i];
        if (p->err || p->offset < 0)
            continue;
        int slot = rg_merge_find_slot(&s->merge, p->partition);
        if (slot >= 0 && (size_t)slot < s->n_slots && p->offset > s->slots[slot].committed)
            s->slots[slot].committed = p->offset;
    }
}

void rg_run_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                      void *opaque)
{
    (void)rk;
    rg_stream *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err) {
        s->metrics.commit_errors++;
        if (rg_run_log_due(&s->last_commit_log_ms))
            rg_log(RG_LOG_WARN, "offset commit failed; retried at the next interval", "error", rd_kafka_err2str(err),
                   NULL);
        return;
    }
    s->metrics.commits++;
    note_committed(s, offsets);
}

/* Commit the frontier of every held partition (or of `only`, partition
 * numbers) that moved since the last acknowledged commit. */
/* How long an async commit may stay unanswered before another is sent. */
#define COMMIT_ANSWER_WAIT_MS 30000

void rg_run_commit_serve(rg_stream *s)
{
    rd_kafka_event_t *ev;
    while (s->commit_q && (ev = rd_kafka_queue_poll(s->commit_q, 0)) != NULL) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            s->commit_inflight = false;
            rd_kafka_topic_partition_list_t *offsets = rd_kafka_event_topic_partition_list(ev);
            rg_run_on_commit(s->consumer, rd_kafka_event_error(ev), offsets, s);
        }
        rd_kafka_event_destroy(ev);
    }
}

/* The frontier to commit for held slot i, or -1 when it has not moved
 * past the last acknowledged commit (or the slot is not in `only`). */
static int64_t commit_due(const rg_stream *s, size_t i, const rd_kafka_topic_partition_list_t *only)
{
    if (!s->merge.slots[i].active)
        return -1;
    if (only && !rd_kafka_topic_partition_list_find(only, s->cfg.events_topic, s->merge.slots[i].partition))
        return -1;
    int64_t f = rg_offset_track_frontier(&s->slots[i].track);
    return f < 0 || f <= s->slots[i].committed ? -1 : f;
}

/* Whether commits wait for checkpoint rows: only when a state is kept.
 * Without one a restart starts from Kafka's committed offsets with empty
 * state anyway. */
static bool rows_kept(const rg_stream *s) { return s->checkpoint && s->proc.state.save; }

/* Give every slot about to be committed a checkpoint row first.
 *
 * Why: at restart a partition with a row resumes there, and one without
 * resumes at Kafka's committed offset. A partition taken since the last
 * checkpoint (the first run over an empty DIR, a partition that moved in,
 * one the loaded checkpoint did not list) has no row, so once its offsets
 * were committed a kill -9 would restart it past events whose effects are
 * in no stored state: windows and facts built from them are lost, and
 * decisions go missing. Its row is where its consumption began: the
 * stored state reflects none of the events it has taken since (they came
 * after that state was written), so a restart evaluates them again
 * against it. One small transaction per newly held partition, without the
 * state (no pause, nothing serialised); the next checkpoint moves the row
 * on. A slot whose row cannot be written is not committed (logged, the
 * next commit tries again). */
static void ensure_rows(rg_stream *s, const rd_kafka_topic_partition_list_t *only)
{
    if (!rows_kept(s))
        return;
    rg_checkpoint_offset *offs = NULL;
    size_t n = 0;
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        if (s->slots[i].has_row || s->slots[i].start_offset < 0 || commit_due(s, i, only) < 0)
            continue;
        if (!offs && !(offs = calloc(s->n_slots, sizeof *offs)))
            return;
        offs[n].partition = s->merge.slots[i].partition;
        offs[n].next_offset = s->slots[i].start_offset;
        n++;
    }
    if (!n)
        return;
    char err[512];
    if (rg_checkpoint_add_offsets(s->checkpoint, s->cfg.events_topic, offs, n, err, sizeof err) == 0) {
        for (size_t k = 0; k < n; k++) {
            int slot = rg_merge_find_slot(&s->merge, offs[k].partition);
            if (slot >= 0 && (size_t)slot < s->n_slots)
                s->slots[slot].has_row = true;
            char partition[16], offset[32];
            snprintf(partition, sizeof partition, "%d", (int)offs[k].partition);
            rg_run_fmt_i64(offset, sizeof offset, offs[k].next_offset);
            rg_log(RG_LOG_DEBUG, "checkpoint row for a newly held partition, before its first commit", "partition",
                   partition, "offset", offset, NULL);
        }
    } else {
        s->metrics.checkpoint_errors++;
        if (rg_run_log_due(&s->last_commit_log_ms))
            rg_log(RG_LOG_WARN, "checkpoint row not written; the partition's offsets are not committed until it is",
                   "error", err, NULL);
    }
    free(offs);
}

void rg_run_commit(rg_stream *s, bool sync, const rd_kafka_topic_partition_list_t *only)
{
    /* One async commit at a time. Each is a request queued on librdkafka's
     * group coordinator connection, and when the coordinator answers
     * NOT_COORDINATOR, librdkafka 2.0.2 drops that connection: every
     * request still queued fails with a transport error, and each such
     * failure marks the (new) coordinator dead again, dropping the
     * connection again. With a commit every interval piling up behind a
     * slow answer, that loop never ends and nothing is committed again
     * (docs/streaming.md, "Commits and the group coordinator"). With one
     * in flight, a coordinator change costs one retried request. The
     * frontier only grows, so the next commit carries everything a skipped
     * one would have. */
    if (!sync && s->commit_inflight && rg_run_mono_ms() - s->commit_sent_ms < COMMIT_ANSWER_WAIT_MS)
        return;
    ensure_rows(s, only);
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(8);
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        int64_t f = commit_due(s, i, only);
        if (f < 0 || (rows_kept(s) && !s->slots[i].has_row))
            continue;
        rd_kafka_topic_partition_list_add(list, s->cfg.events_topic, s->merge.slots[i].partition)->offset = f;
    }
    if (list->cnt && !sync) {
        /* The answer comes as an event on our own queue (commit_serve):
         * that is how this commit's answer is told from a sync one's. */
        if (rd_kafka_commit_queue(s->consumer, list, s->commit_q, NULL, NULL) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            s->commit_inflight = true;
            s->commit_sent_ms = rg_run_mono_ms();
        }
    } else if (list->cnt) {
        rd_kafka_resp_err_t err = rd_kafka_commit(s->consumer, list, 0);
        if (err) {
            s->metrics.commit_errors++;
            rg_log(RG_LOG_WARN, "offset commit failed", "error", rd_kafka_err2str(err), NULL);
        } else {
            s->metrics.commits++;
            note_committed(s, list);
        }
    }
    rd_kafka_topic_partition_list_destroy(list);
}

/* ---- checkpoints ---- */

int rg_run_write_checkpoint(rg_stream *s)
{
    rg_checkpoint_offset *offs = calloc(s->n_slots + s->n_resume + 1, sizeof *offs);
    if (!offs)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        if (!s->merge.slots[i].active)
            continue;
        /* At a quiescent point the frontier is one past the last event
         * evaluated; before the first event it is where consumption began.
         * A partition with neither (nothing fetched since it was assigned
         * at its committed offset) is left out: a restart then starts it
         * at its committed offset, which is where it stands. */
        int64_t f = rg_offset_track_frontier(&s->slots[i].track);
        if (f < 0)
            f = s->slots[i].start_offset;
        if (f < 0)
            continue;
        offs[n].partition = s->merge.slots[i].partition;
        offs[n].next_offset = f;
        n++;
    }
    size_t n_held = n;
    /* Partitions of the loaded checkpoint not assigned yet in this process
     * (before the first assignment, or held by another instance): the
     * state still reflects them exactly up to their offsets. */
    for (size_t i = 0; i < s->n_resume; i++)
        if (!s->resume[i].used) {
            offs[n].partition = s->resume[i].partition;
            offs[n].next_offset = s->resume[i].next_offset;
            n++;
        }
    char err[512];
    int64_t now_wall = rg_run_wall_us() / 1000;
    const char *ruleset = s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : NULL;
    int rc = rg_checkpoint_write(s->checkpoint, s->cfg.events_topic, offs, n, &s->proc.state, ruleset, now_wall, err,
                                 sizeof err);
    if (rc != 0) {
        free(offs);
        s->metrics.checkpoint_errors++;
        rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", err, NULL);
        return -1;
    }
    for (size_t k = 0; k < n_held; k++) {
        int slot = rg_merge_find_slot(&s->merge, offs[k].partition);
        if (slot >= 0 && (size_t)slot < s->n_slots)
            s->slots[slot].has_row = true;
    }
    free(offs);
    s->metrics.checkpoints++;
    s->metrics.last_checkpoint_ms = now_wall;
    return 0;
}

/* ---- rebalancing ---- */

static bool cooperative(rd_kafka_t *rk) { return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0; }

/* Wait (serving delivery reports) until the given slots have nothing in
 * flight, at most timeout_ms. */
static void await_slots(rg_stream *s, const int *slots, int n, int64_t timeout_ms)
{
    int64_t deadline = rg_run_mono_ms() + timeout_ms;
    for (;;) {
        size_t inflight = 0;
        for (int i = 0; i < n; i++)
            if (slots[i] >= 0)
                inflight += rg_offset_track_inflight(&s->slots[slots[i]].track);
        if (inflight == 0 || rg_run_mono_ms() >= deadline) {
            if (inflight)
                rg_log(RG_LOG_WARN, "partitions revoked with records still unacknowledged; their offsets stay "
                                    "uncommitted and the new owner re-reads them",
                       NULL);
            return;
        }
        rd_kafka_poll(s->producer, 20);
        rg_run_retry_due(s, false);
        rg_run_alerts_write(s, true);
    }
}

static void on_revoke(rg_stream *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    bool lost = rd_kafka_assignment_lost(rk);
    int *slots = calloc((size_t)(parts->cnt ? parts->cnt : 1), sizeof *slots);
    for (int i = 0; i < parts->cnt; i++) {
        int slot = rg_merge_find_slot(&s->merge, parts->elems[i].partition);
        if (slots)
            slots[i] = slot;
        /* Fetched but not yet taken: the next owner reads them from the
         * committed offset. */
        if (slot >= 0)
            rg_merge_discard(&s->merge, (unsigned)slot, rg_run_drop_message);
    }
    if (!lost && slots) {
        /* "Commit what is done before partitions are revoked": let their
         * in-flight records be acknowledged, then commit synchronously. */
        await_slots(s, slots, parts->cnt, s->draining ? 1000 : 10000);
        rg_run_commit(s, true, parts);
    }
    for (int i = 0; slots && i < parts->cnt; i++) {
        if (slots[i] < 0 || (size_t)slots[i] >= s->n_slots)
            continue;
        rg_run_slot *ss = &s->slots[slots[i]];
        rg_merge_drop_slot(&s->merge, (unsigned)slots[i], rg_run_drop_message);
        rg_offset_track_free(&ss->track);   /* keeps the seq counter: stale reports are ignored */
        ss->committed = -1;
        ss->start_offset = -1;
        ss->paused = false;
        ss->has_row = false;
    }
    free(slots);
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    rg_log(lost ? RG_LOG_WARN : RG_LOG_INFO, lost ? "partitions lost (no commit)" : "partitions revoked",
           "count", n, NULL);
    s->metrics.rebalances++;
    if (cooperative(rk)) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e) {
            rg_log(RG_LOG_WARN, "incremental unassign failed", "error", rd_kafka_error_string(e), NULL);
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

/* Grow the slot bookkeeping to the merge's slot count (a new partition). */
static int slots_fit(rg_stream *s)
{
    if (s->n_slots >= s->merge.n_slots)
        return 0;
    rg_run_slot *p = realloc(s->slots, s->merge.n_slots * sizeof *p);
    if (!p)
        return -1;
    for (size_t i = s->n_slots; i < s->merge.n_slots; i++) {
        rg_offset_track_init(&p[i].track, 0);
        p[i].committed = -1;
        p[i].start_offset = -1;
        p[i].paused = false;
        p[i].has_row = false;
    }
    s->slots = p;
    s->n_slots = s->merge.n_slots;
    return 0;
}

/* The offset partition resumes at: the checkpoint's, when state was loaded
 * from it and this partition has not been resumed yet in this process.
 * The loaded state reflects that partition's events up to that offset
 * exactly; Kafka's committed offset may be ahead of it (commits run more
 * often than checkpoints), and events in between must be evaluated again
 * for state and position to agree. After the first assignment the engine's
 * state is live, so a partition that comes back later resumes at Kafka's
 * committed offset like any other (docs/streaming.md, "Checkpoints"). */
static bool resume_offset(rg_stream *s, int32_t partition, int64_t *next)
{
    for (size_t i = 0; i < s->n_resume; i++)
        if (s->resume[i].partition == partition && !s->resume[i].used) {
            s->resume[i].used = true;
            *next = s->resume[i].next_offset;
            return true;
        }
    return false;
}

/* One log line per resumed partition, with Kafka's committed offset beside
 * the checkpoint's (how much is evaluated again). */
static void log_resumed(rd_kafka_t *rk, const rd_kafka_topic_partition_list_t *parts,
                        rd_kafka_topic_partition_list_t *resumed)
{
    if (!resumed->cnt)
        return;
    bool known = rd_kafka_committed(rk, resumed, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int i = 0; i < resumed->cnt; i++) {
        const rd_kafka_topic_partition_t *r = &resumed->elems[i];
        const rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(parts, r->topic, r->partition);
        char partition[16], offset[32], committed[32];
        snprintf(partition, sizeof partition, "%d", (int)r->partition);
        rg_run_fmt_i64(offset, sizeof offset, p ? p->offset : -1);
        if (known && !r->err && r->offset >= 0)
            rg_run_fmt_i64(committed, sizeof committed, r->offset);
        else
            snprintf(committed, sizeof committed, "unknown");
        rg_log(RG_LOG_INFO, "partition resumes at the checkpoint's offset", "partition", partition, "offset", offset,
               "kafka_committed", committed, NULL);
    }
}

static void on_assign(rg_stream *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    s->ever_assigned = true;
    rd_kafka_topic_partition_list_t *resumed = rd_kafka_topic_partition_list_new(parts->cnt ? parts->cnt : 1);
    char list[512];
    size_t at = 0;
    list[0] = '\0';
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int slot = rg_merge_add_slot(&s->merge, p->partition);
        if (slot < 0 || slots_fit(s) != 0) {
            rg_log(RG_LOG_ERROR, "out of memory taking a partition; stopping", NULL);
            s->fatal = true;
            break;
        }
        rg_run_slot *ss = &s->slots[slot];
        rg_offset_track_free(&ss->track);
        ss->committed = -1;
        ss->start_offset = -1;
        ss->paused = false;
        ss->has_row = false;
        int64_t next;
        if (resume_offset(s, p->partition, &next)) {
            p->offset = next;
            ss->start_offset = next;
            ss->has_row = true;   /* the loaded checkpoint's row */
            rd_kafka_topic_partition_list_add(resumed, p->topic, p->partition);
        }
        if (at < sizeof list - 16)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%d", i ? "," : "", (int)p->partition);
    }
    rg_log(RG_LOG_INFO, "partitions assigned", "topic", s->cfg.events_topic, "partitions", list, NULL);
    log_resumed(rk, parts, resumed);
    rd_kafka_topic_partition_list_destroy(resumed);
    s->metrics.rebalances++;
    if (cooperative(rk)) {
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e) {
            rg_log(RG_LOG_WARN, "incremental assign failed", "error", rd_kafka_error_string(e), NULL);
            rd_kafka_error_destroy(e);
        }
    } else {
        rd_kafka_assign(rk, parts);
    }
}

void rg_run_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    rg_stream *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(s, rk, parts);
    else
        on_revoke(s, rk, parts);
}

