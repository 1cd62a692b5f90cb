/* run_commit — commits, checkpoints, rebalances; see run_commit.h. */
#include "run_commit.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint_writer.h"
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

/* ---- checkpoints ----
 *
 * The engine thread never waits for SQLite. A checkpoint is taken in two
 * steps:
 *
 *  1. begin (every --checkpoint-interval-ms, without pausing): the state
 *     is serialised as it stands, and each held partition's row is one
 *     past its last event evaluated (events are evaluated synchronously,
 *     so the state reflects exactly the events below those rows). The
 *     records of some of those events may not be acknowledged yet; the
 *     checkpoint waits (ckpt_waiting) while processing goes on.
 *  2. once every partition's commit frontier has reached its row (every
 *     record of every event below it acknowledged: a restart there cannot
 *     lose a decision), the checkpoint goes to the writer thread
 *     (checkpoint_writer.h), which stores rows and state in one
 *     transaction. When it is durable the slots it covers have their row
 *     and an offset commit follows.
 *
 * Before, the runner stopped taking events until everything in flight was
 * acknowledged, then serialised and wrote (fsyncs included) on the engine
 * thread: 170-410 ms without a decision per checkpoint (docs/bench-stream.md,
 * F1). Now the engine thread pays only the serialisation.
 *
 * A waiting checkpoint is given up when a partition it lists is given up
 * (its row could not be trusted to be acknowledged) or when its records
 * are not all acknowledged within 5 s (a broker down); the next interval
 * takes a new one. The writer runs jobs in order, and the rows jobs of
 * ensure_rows go through it too, so the database sees one writer. */

/* How long a serialised checkpoint may wait for acknowledgements. */
#define CHECKPOINT_ACK_WAIT_MS 5000

static void handle_job(rg_stream *s, struct rg_ckpt_job *job)
{
    char rows[16];
    if (job->kind == RG_CKPT_ROWS) {
        for (size_t k = 0; k < job->n; k++) {
            int slot = rg_merge_find_slot(&s->merge, job->offsets[k].partition);
            if (slot < 0 || (size_t)slot >= s->n_slots || s->slots[slot].row_job != job->id)
                continue;   /* given up meanwhile */
            s->slots[slot].row_job = 0;
            s->slots[slot].has_row = job->rc == 0;
            if (job->rc == 0) {
                char partition[16], offset[32];
                snprintf(partition, sizeof partition, "%d", (int)job->offsets[k].partition);
                rg_run_fmt_i64(offset, sizeof offset, job->offsets[k].next_offset);
                rg_log(RG_LOG_DEBUG, "checkpoint row for a newly held partition, before its first commit",
                       "partition", partition, "offset", offset, NULL);
            }
        }
        if (job->rc != 0) {
            s->metrics.checkpoint_errors++;
            if (rg_run_log_due(&s->last_commit_log_ms))
                rg_log(RG_LOG_WARN,
                       "checkpoint row not written; the partition's offsets are not committed until it is", "error",
                       job->err, NULL);
        }
        rg_ckpt_job_free(job);
        return;
    }
    if (job->id == s->ckpt_full_id)
        s->ckpt_full_id = 0;
    if (job->rc != 0) {
        s->metrics.checkpoint_errors++;
        rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", job->err, NULL);
        rg_ckpt_job_free(job);
        return;
    }
    for (size_t k = 0; k < job->n; k++) {
        if (!job->epochs[k])
            continue;   /* a loaded checkpoint's row, not held */
        int slot = rg_merge_find_slot(&s->merge, job->offsets[k].partition);
        if (slot >= 0 && (size_t)slot < s->n_slots && s->slots[slot].epoch == job->epochs[k])
            s->slots[slot].has_row = true;
    }
    s->metrics.checkpoints++;
    s->metrics.last_checkpoint_ms = job->saved_at_ms;
    /* Commit at the next turn of the loop (not from here: this may run
     * inside a synchronous commit). */
    s->last_commit_ms = 0;
    char bytes[32], ser[32], wait[32], write[32];
    snprintf(rows, sizeof rows, "%zu", job->n);
    rg_run_fmt_i64(bytes, sizeof bytes, (int64_t)job->blob_len);
    snprintf(ser, sizeof ser, "%.1f", job->serialise_us / 1000.0);
    snprintf(wait, sizeof wait, "%.1f", (job->ready_us - job->begun_us) / 1000.0);
    snprintf(write, sizeof write, "%.1f", job->write_us / 1000.0);
    rg_log(RG_LOG_DEBUG, "checkpoint stored", "rows", rows, "state_bytes", bytes, "serialise_ms", ser,
           "ack_wait_ms", wait, "write_ms", write, NULL);
    rg_ckpt_job_free(job);
}

/* Collect the writer's finished jobs. */
static void collect_jobs(rg_stream *s)
{
    struct rg_ckpt_job *job;
    while (s->ckpt_writer && (job = rg_ckpt_writer_done(s->ckpt_writer)) != NULL)
        handle_job(s, job);
}

/* Wait for job `id` to finish (handling every job that finishes
 * meanwhile). */
static void await_job(rg_stream *s, uint64_t id)
{
    bool seen = false;
    while (!seen) {
        struct rg_ckpt_job *job = rg_ckpt_writer_wait(s->ckpt_writer);
        if (!job)
            return;
        seen = job->id == id;
        handle_job(s, job);
    }
}

/* Whether commits wait for checkpoint rows: only when a state is kept.
 * Without one a restart starts from Kafka's committed offsets with empty
 * state anyway. */
static bool rows_kept(const rg_stream *s) { return s->ckpt_writer && s->proc.state.save; }

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
 * after that state was serialised), so a restart evaluates them again
 * against it. One small transaction per newly held partition, on the
 * writer thread, without the state; the next checkpoint moves the row on.
 * Until the row is stored the slot is not committed; sync (a revoke, the
 * drain) waits for it. */
static void ensure_rows(rg_stream *s, bool sync, const rd_kafka_topic_partition_list_t *only)
{
    if (!rows_kept(s))
        return;
    collect_jobs(s);
    struct rg_ckpt_job *job = NULL;
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        rg_run_slot *ss = &s->slots[i];
        if (ss->has_row || ss->row_job || ss->start_offset < 0 || commit_due(s, i, only) < 0)
            continue;
        if (!job) {
            job = calloc(1, sizeof *job);
            if (!job || !(job->offsets = calloc(s->n_slots, sizeof *job->offsets))) {
                rg_ckpt_job_free(job);
                return;   /* not committed now; tried again at the next commit */
            }
            job->kind = RG_CKPT_ROWS;
        }
        job->offsets[job->n].partition = s->merge.slots[i].partition;
        job->offsets[job->n].next_offset = ss->start_offset;
        job->n++;
    }
    if (!job)
        return;
    uint64_t id = rg_ckpt_writer_submit(s->ckpt_writer, job);   /* job is the writer's now */
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        rg_run_slot *ss = &s->slots[i];
        if (!ss->has_row && !ss->row_job && ss->start_offset >= 0 && commit_due(s, i, only) >= 0)
            ss->row_job = id;
    }
    if (sync)
        await_job(s, id);
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
    ensure_rows(s, sync, only);
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

/* ---- checkpoints: begin, wait, hand over ---- */

/* Serialise a checkpoint of now (see "checkpoints" above): NULL on
 * failure (logged, counted). *need gets, per row, the frontier it waits
 * for (-1: none). */
static struct rg_ckpt_job *checkpoint_begin(rg_stream *s, int64_t **need_out)
{
    size_t cap = s->n_slots + s->n_resume + 1;
    struct rg_ckpt_job *job = calloc(1, sizeof *job);
    int64_t *need = calloc(cap, sizeof *need);
    if (!job || !need || !(job->offsets = calloc(cap, sizeof *job->offsets)) ||
        !(job->epochs = calloc(cap, sizeof *job->epochs))) {
        rg_ckpt_job_free(job);
        free(need);
        s->metrics.checkpoint_errors++;
        rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", "out of memory", NULL);
        return NULL;
    }
    job->kind = RG_CKPT_FULL;
    size_t n = 0;
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        if (!s->merge.slots[i].active)
            continue;
        /* One past the last event evaluated; before the first event,
         * where consumption began. A partition with neither (nothing
         * fetched since it was assigned at its committed offset) is left
         * out: a restart then starts it at its committed offset, which is
         * where it stands. */
        const rg_run_slot *ss = &s->slots[i];
        int64_t last = ss->track.last_begun;
        int64_t next = last >= 0 ? last + 1 : ss->start_offset;
        if (next < 0)
            continue;
        job->offsets[n].partition = s->merge.slots[i].partition;
        job->offsets[n].next_offset = next;
        job->epochs[n] = ss->epoch;
        need[n] = last >= 0 ? next : -1;
        n++;
    }
    /* Partitions of the loaded checkpoint not assigned yet in this process
     * (before the first assignment, or held by another instance): the
     * state still reflects them exactly up to their offsets. */
    for (size_t i = 0; i < s->n_resume; i++)
        if (!s->resume[i].used) {
            job->offsets[n].partition = s->resume[i].partition;
            job->offsets[n].next_offset = s->resume[i].next_offset;
            job->epochs[n] = 0;
            need[n] = -1;
            n++;
        }
    job->n = n;
    job->saved_at_ms = rg_run_wall_us() / 1000;
    job->begun_us = rg_run_mono_us();
    const char *ruleset = s->proc.ruleset_id ? s->proc.ruleset_id(s->proc.opaque) : NULL;
    if (ruleset && !(job->ruleset = strdup(ruleset))) {
        rg_ckpt_job_free(job);
        free(need);
        s->metrics.checkpoint_errors++;
        rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", "out of memory", NULL);
        return NULL;
    }
    if (s->proc.state.save) {
        char err[512];
        if (rg_checkpoint_serialise(s->checkpoint, &s->proc.state, &job->blob, err, sizeof err) != 0) {
            rg_ckpt_job_free(job);
            free(need);
            s->metrics.checkpoint_errors++;
            rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", err, NULL);
            return NULL;
        }
        job->with_state = true;
        job->blob_len = job->blob.len;
    }
    job->serialise_us = rg_run_mono_us() - job->begun_us;
    *need_out = need;
    return job;
}

/* 1: every row of the waiting checkpoint is acknowledged; 0: not yet;
 * -1: a partition it lists was given up (or taken again) since. */
static int checkpoint_ready(const rg_stream *s)
{
    const struct rg_ckpt_job *job = s->ckpt_waiting;
    for (size_t k = 0; k < job->n; k++) {
        if (!job->epochs[k])
            continue;
        int slot = rg_merge_find_slot(&s->merge, job->offsets[k].partition);
        if (slot < 0 || (size_t)slot >= s->n_slots || s->slots[slot].epoch != job->epochs[k])
            return -1;
        if (s->ckpt_need[k] >= 0 && rg_offset_track_frontier(&s->slots[slot].track) < s->ckpt_need[k])
            return 0;
    }
    return 1;
}

static void checkpoint_drop(rg_stream *s)
{
    rg_ckpt_job_free(s->ckpt_waiting);
    free(s->ckpt_need);
    s->ckpt_waiting = NULL;
    s->ckpt_need = NULL;
}

/* Hand the waiting checkpoint to the writer. Partitions held now that it
 * does not list (assigned, or first fetched, after it was serialised) get
 * their row at where their consumption began: the state reflects none of
 * their events, and the full write replaces every row, so without this it
 * would delete a row added for them meanwhile (ensure_rows) whose
 * partition may already be committed. */
static void checkpoint_submit(rg_stream *s)
{
    struct rg_ckpt_job *job = s->ckpt_waiting;
    for (size_t i = 0; i < s->n_slots && i < s->merge.n_slots; i++) {
        if (!s->merge.slots[i].active || s->slots[i].start_offset < 0)
            continue;
        int32_t partition = s->merge.slots[i].partition;
        bool listed = false;
        for (size_t k = 0; k < job->n && !listed; k++)
            listed = job->offsets[k].partition == partition;
        if (listed)
            continue;
        /* begin sized the arrays for every slot and resume row; a slot
         * assigned since may be beyond that: grow. */
        rg_checkpoint_offset *o = realloc(job->offsets, (job->n + 1) * sizeof *o);
        if (o)
            job->offsets = o;
        uint32_t *e = realloc(job->epochs, (job->n + 1) * sizeof *e);
        if (e)
            job->epochs = e;
        if (!o || !e) {
            checkpoint_drop(s);
            s->metrics.checkpoint_errors++;
            rg_log(RG_LOG_WARN, "checkpoint failed; the previous one stays", "error", "out of memory", NULL);
            return;
        }
        job->offsets[job->n].partition = partition;
        job->offsets[job->n].next_offset = s->slots[i].start_offset;
        job->epochs[job->n] = s->slots[i].epoch;
        job->n++;
    }
    s->ckpt_waiting = NULL;
    free(s->ckpt_need);
    s->ckpt_need = NULL;
    s->ckpt_full_id = rg_ckpt_writer_submit(s->ckpt_writer, job);
}

void rg_run_checkpoint_serve(rg_stream *s, int64_t now)
{
    if (!s->ckpt_writer)
        return;
    collect_jobs(s);
    if (!s->ckpt_waiting && !s->ckpt_full_id && now - s->last_checkpoint_ms >= s->cfg.checkpoint_interval_ms) {
        s->last_checkpoint_ms = now;
        s->ckpt_waiting = checkpoint_begin(s, &s->ckpt_need);
        s->ckpt_waiting_since_ms = now;
    }
    if (!s->ckpt_waiting)
        return;
    int ready = checkpoint_ready(s);
    if (ready == 1) {
        checkpoint_submit(s);
    } else if (ready < 0) {
        rg_log(RG_LOG_DEBUG, "checkpoint given up: a partition it lists was given up before its records were "
                             "acknowledged; the next interval takes another",
               NULL);
        checkpoint_drop(s);
    } else if (now - s->ckpt_waiting_since_ms > CHECKPOINT_ACK_WAIT_MS) {
        rg_log(RG_LOG_WARN, "checkpoint postponed: records still unacknowledged after 5 s", NULL);
        checkpoint_drop(s);
    }
}

int rg_run_checkpoint_final(rg_stream *s)
{
    if (!s->ckpt_writer)
        return 0;
    checkpoint_drop(s);
    /* Everything queued first (in order), then this one. */
    struct rg_ckpt_job *job;
    while ((job = rg_ckpt_writer_wait(s->ckpt_writer)) != NULL)
        handle_job(s, job);
    uint64_t before = s->metrics.checkpoints;
    s->ckpt_waiting = checkpoint_begin(s, &s->ckpt_need);
    if (!s->ckpt_waiting)
        return -1;
    if (checkpoint_ready(s) != 1) {
        checkpoint_drop(s);   /* records unacknowledged: the previous checkpoint stays */
        return -1;
    }
    checkpoint_submit(s);
    await_job(s, s->ckpt_full_id);
    return s->metrics.checkpoints > before ? 0 : -1;
}

int rg_run_checkpoint_start(rg_stream *s, char *errstr, size_t errstr_size)
{
    s->ckpt_writer = rg_ckpt_writer_start(s->checkpoint, s->cfg.events_topic, errstr, errstr_size);
    return s->ckpt_writer ? 0 : -1;
}

void rg_run_checkpoint_stop(rg_stream *s)
{
    checkpoint_drop(s);
    rg_ckpt_writer_stop(s->ckpt_writer);
    s->ckpt_writer = NULL;
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

/* Remember where this process left a partition it evaluated (see
 * rg_stream.left). */
static void note_left(rg_stream *s, int32_t partition, int64_t next_offset)
{
    if (next_offset < 0)
        return;
    for (size_t i = 0; i < s->n_left; i++)
        if (s->left[i].partition == partition) {
            s->left[i].next_offset = next_offset;
            return;
        }
    rg_run_resume *l = realloc(s->left, (s->n_left + 1) * sizeof *l);
    if (!l)
        return;   /* it would resume at Kafka's commit: duplicates are then skipped by dedupe */
    s->left = l;
    s->left[s->n_left++] = (rg_run_resume){.partition = partition, .next_offset = next_offset};
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
        /* Where it left it: the first event not complete (its records
         * may still be in flight in the producer, which delivers them
         * anyway; evaluated again, dedupe skips it), else one past the
         * last evaluated. */
        const rg_offset_track *t = &ss->track;
        note_left(s, s->merge.slots[slots[i]].partition,
                  t->count ? t->ring[t->head].offset : t->last_begun >= 0 ? t->last_begun + 1 : -1);
        rg_merge_drop_slot(&s->merge, (unsigned)slots[i], rg_run_drop_message);
        rg_offset_track_free(&ss->track);   /* keeps the seq counter: stale reports are ignored */
        ss->committed = -1;
        ss->start_offset = -1;
        ss->paused = false;
        ss->has_row = false;
        ss->row_job = 0;
        ss->epoch = 0;
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
        p[i].row_job = 0;
        p[i].epoch = 0;
        p[i].probe_after_ms = 0;
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

/* A partition this process gave up earlier resumes where it left it,
 * unless Kafka's committed offset is further (rg_stream.left). */
static bool left_offset(rg_stream *s, rd_kafka_t *rk, const rd_kafka_topic_partition_t *p, int64_t *next)
{
    for (size_t i = 0; i < s->n_left; i++) {
        if (s->left[i].partition != p->partition)
            continue;
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
        int64_t committed = -1;
        if (rd_kafka_committed(rk, l, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR && !l->elems[0].err)
            committed = l->elems[0].offset;
        rd_kafka_topic_partition_list_destroy(l);
        if (committed >= s->left[i].next_offset)
            return false;   /* another instance went on meanwhile */
        *next = s->left[i].next_offset;
        char partition[16], offset[32], kafka[32];
        snprintf(partition, sizeof partition, "%d", (int)p->partition);
        rg_run_fmt_i64(offset, sizeof offset, *next);
        rg_run_fmt_i64(kafka, sizeof kafka, committed);
        rg_log(RG_LOG_INFO, "partition back: resumes where this process left it (its events are in the state)",
               "partition", partition, "offset", offset, "kafka_committed", kafka, NULL);
        return true;
    }
    return false;
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
        ss->row_job = 0;
        ss->epoch = ++s->assign_epoch ? s->assign_epoch : ++s->assign_epoch;   /* never 0: "not held" */
        ss->probe_after_ms = 0;
        int64_t next;
        if (resume_offset(s, p->partition, &next)) {
            p->offset = next;
            ss->start_offset = next;
            ss->has_row = true;   /* the loaded checkpoint's row */
            rd_kafka_topic_partition_list_add(resumed, p->topic, p->partition);
        } else if (left_offset(s, rk, p, &next)) {
            /* Everything before next is in the state and done: commit it
             * as the frontier even if nothing new arrives. */
            p->offset = next;
            ss->start_offset = next;
            ss->track.frontier = next;
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

