/* rebalance — tasks created (restored) and given up with their partitions
 * (runtime.h; docs/scale-out.md, "Rebalances"). */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "runtime.h"
#include "snapshot.h"
#include "task.h"

/* How long a revoked task may take to see its outputs and its final
 * snapshot acknowledged before it is given up anyway (the next owner then
 * evaluates from its previous snapshot). */
#define REVOKE_WAIT_MS 10000

static bool cooperative(rd_kafka_t *rk) { return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0; }

static int find_task(const rg_stream *s, rg_task_kind kind, int32_t partition)
{
    for (size_t i = 0; i < s->tasks.n; i++) {
        const rg_task *t = s->tasks.slots[i];
        if (t && t->kind == kind && t->partition == partition)
            return (int)i;
    }
    return -1;
}

static int free_slot(rg_stream *s)
{
    for (size_t i = 0; i < s->tasks.n; i++)
        if (!s->tasks.slots[i])
            return (int)i;
    if (s->tasks.n >= RG_TICKET_OUTBOX_SLOT)
        return -1;
    rg_task **p = realloc(s->tasks.slots, (s->tasks.n + 1) * sizeof *p);
    if (!p)
        return -1;
    s->tasks.slots = p;
    s->tasks.slots[s->tasks.n] = NULL;
    return (int)s->tasks.n++;
}

/* Create the task of one assigned partition (not restored yet); NULL when
 * it is held already or the topic is not ours (or on failure: fatal). */
static rg_task *create(rg_stream *s, const rd_kafka_topic_partition_t *p)
{
    int kind = rg_topology_kind(&s->topo, p->topic);
    if (kind < 0 || find_task(s, (rg_task_kind)kind, p->partition) >= 0)
        return NULL;
    int slot = free_slot(s);
    char err[1024] = "";
    rg_task *t = slot >= 0 ? rg_task_new(s, (rg_task_kind)kind, p->partition, (unsigned)slot, ++s->tasks.next_gen,
                                         err, sizeof err)
                           : NULL;
    if (!t) {
        rg_log(RG_LOG_ERROR, "cannot create a task; stopping", "topic", p->topic, "error",
               slot < 0 ? "out of memory" : err, NULL);
        s->fatal = true;
        return NULL;
    }
    s->tasks.slots[slot] = t;   /* reserved; freed again if its restore fails */
    return t;
}

/* Create and restore the tasks of the assigned partitions, all state
 * partitions read at once (a rebalance must finish within the group's
 * rebalance timeout); set each partition's offset to where its task
 * resumes. */
static void take_all(rg_stream *s, rd_kafka_topic_partition_list_t *parts)
{
    rg_task **tasks = calloc((size_t)parts->cnt + 1, sizeof *tasks);
    rd_kafka_topic_partition_t **where = calloc((size_t)parts->cnt + 1, sizeof *where);
    rg_restore_result *res = calloc((size_t)parts->cnt + 1, sizeof *res);
    size_t n = 0;
    if (!tasks || !where || !res) {
        rg_log(RG_LOG_ERROR, "out of memory taking partitions; stopping", NULL);
        s->fatal = true;
    }
    for (int i = 0; i < parts->cnt && !s->fatal; i++) {
        rg_task *t = create(s, &parts->elems[i]);
        if (t) {
            tasks[n] = t;
            where[n++] = &parts->elems[i];
        }
    }
    char err[1024] = "";
    /* /readyz answers "not ready" while this thread restores; the next
     * publish (run.c) makes it ready again once the tasks are held. */
    if (n && !s->fatal)
        rg_metrics_set_ready(&s->metrics, false, "restoring assigned tasks");
    int64_t t0 = rg_run_mono_us();
    int rc = s->fatal || !n ? 0 : rg_snapshot_restore(s, tasks, n, res, err, sizeof err);
    double ms = (double)(rg_run_mono_us() - t0) / 1000.0;
    if (rc != 0) {
        /* Starting empty would change decisions without anyone knowing. */
        rg_log(RG_LOG_ERROR, "cannot restore tasks' state; stopping (nothing is committed past it)", "error", err,
               NULL);
        s->fatal = true;
    }
    double mb_all = 0;
    for (size_t i = 0; i < n; i++) {
        rg_task *t = tasks[i];
        if (s->fatal) {
            s->tasks.slots[t->slot] = NULL;
            rg_task_free(t);
            continue;
        }
        char mb_s[32], at[32];
        snprintf(mb_s, sizeof mb_s, "%.3f", res[i].mb);
        mb_all += res[i].mb;
        if (res[i].restored == 1 && res[i].resume >= 0) {
            where[i]->offset = res[i].resume;
            t->start_offset = res[i].resume;
            /* The group's committed offset may lag the snapshot (commits
             * refused, the assignment lost before one landed): commit the
             * snapshot's position, so lag reads true even if no record
             * arrives again. */
            rg_run_commit_later(s, rg_topology_topic(&s->topo, t->kind), t->partition, res[i].resume);
            rg_run_fmt_i64(at, sizeof at, res[i].resume);
            rg_log(RG_LOG_INFO, "task restored from its snapshot", "task", t->name, "position", at, "read_mb", mb_s,
                   NULL);
        } else {
            rg_log(RG_LOG_INFO, "task starts with empty state (no snapshot)", "task", t->name, NULL);
        }
        t->last_snapshot_ms = rg_run_mono_ms();
    }
    if (!s->fatal && n) {
        char ms_s[32], mb_s[32], cnt[24];
        snprintf(ms_s, sizeof ms_s, "%.1f", ms);
        snprintf(mb_s, sizeof mb_s, "%.3f", mb_all);
        snprintf(cnt, sizeof cnt, "%zu", n);
        rg_log(RG_LOG_INFO, "tasks restored", "tasks", cnt, "read_mb", mb_s, "restore_ms", ms_s, NULL);
        s->metrics.restores += n;
        s->metrics.restore_seconds += ms / 1000.0;
        s->metrics.restore_bytes += (uint64_t)(mb_all * 1e6);
    }
    free(tasks);
    free(where);
    free(res);
}

/* Give up the tasks in the n slots given: when clean, their outputs
 * acknowledged and final snapshots durable first (all in flight
 * together), then one commit of the positions they reflect. */
static void give_up(rg_stream *s, const size_t *slot, size_t n, bool clean, int64_t timeout_ms)
{
    rg_task **tasks = calloc(n ? n : 1, sizeof *tasks);
    bool *durable = calloc(n ? n : 1, sizeof *durable);
    if (tasks && durable && clean && !s->fatal) {
        for (size_t i = 0; i < n; i++)
            tasks[i] = s->tasks.slots[slot[i]];
        int64_t t0 = rg_run_mono_ms();
        size_t ok = rg_snapshot_final(s, tasks, n, durable, timeout_ms);
        int64_t t1 = rg_run_mono_ms();
        int crc = ok > 0 ? rg_run_commit(s, true) : 0;
        /* The drain is incomplete (rg_stream_run returns -1: exit 1) when
         * a final snapshot is not durable or its commit failed, except a
         * commit refused because the group moved on (several instances
         * stopping together): the next owner resumes at the snapshot's
         * own position. */
        rd_kafka_resp_err_t e = s->commits.last_sync_err;
        bool group_moved = e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS || e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION ||
                           e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID;
        if (s->draining) {
            s->metrics.snapshot_failures_at_drain += (n - ok) + (crc != 0 && !group_moved);
            /* Said every time, not rate-limited like the periodic commit's
             * failures (commit.c): this line is why a drain exits 1. */
            char cnt[24], dur[24], snap_ms[24], commit_ms[24];
            snprintf(cnt, sizeof cnt, "%zu", n);
            snprintf(dur, sizeof dur, "%zu", ok);
            rg_run_fmt_i64(snap_ms, sizeof snap_ms, t1 - t0);
            rg_run_fmt_i64(commit_ms, sizeof commit_ms, rg_run_mono_ms() - t1);
            const char *commit = crc == 0 ? (ok > 0 ? "ok" : "none") : rd_kafka_err2name(e);
            /* Nothing held: the revoke that closing the consumer brings. */
            if (n && crc != 0 && !group_moved)
                rg_log(RG_LOG_ERROR, "final offset commit failed; the drain is incomplete", "error",
                       rd_kafka_err2str(e), "tasks", cnt, "durable", dur, "snapshot_ms", snap_ms, "commit_ms",
                       commit_ms, NULL);
            else if (n)
                rg_log(RG_LOG_INFO, "final snapshots and commit", "tasks", cnt, "durable", dur, "snapshot_ms", snap_ms,
                       "commit", commit, "commit_ms", commit_ms, NULL);
        }
    }
    for (size_t i = 0; i < n; i++) {
        rg_task_free(s->tasks.slots[slot[i]]);
        s->tasks.slots[slot[i]] = NULL;
    }
    free(tasks);
    free(durable);
}

static void on_assign(rg_stream *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    s->ever_assigned = true;
    char list[512];
    size_t at = 0;
    list[0] = '\0';
    take_all(s, parts);
    for (int i = 0; i < parts->cnt && !s->fatal; i++) {
        int kind = rg_topology_kind(&s->topo, parts->elems[i].topic);
        if (at < sizeof list - 24 && kind >= 0)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s/%d", at ? "," : "",
                                   rg_task_kind_name((rg_task_kind)kind), (int)parts->elems[i].partition);
    }
    rg_log(RG_LOG_INFO, "partitions assigned", "tasks", list, NULL);
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

static void on_revoke(rg_stream *s, rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts)
{
    bool lost = rd_kafka_assignment_lost(rk);
    size_t *slots = calloc((size_t)parts->cnt + 1, sizeof *slots), held = 0;
    for (int i = 0; slots && i < parts->cnt; i++) {
        int kind = rg_topology_kind(&s->topo, parts->elems[i].topic);
        int slot = kind < 0 ? -1 : find_task(s, (rg_task_kind)kind, parts->elems[i].partition);
        if (slot >= 0)
            slots[held++] = (size_t)slot;
    }
    if (!slots) {
        rg_log(RG_LOG_ERROR, "out of memory giving up partitions; stopping", NULL);
        s->fatal = true;
    }
    give_up(s, slots, held, !lost, s->draining ? 1000 : REVOKE_WAIT_MS);
    free(slots);
    char n[16];
    snprintf(n, sizeof n, "%d", parts->cnt);
    rg_log(lost ? RG_LOG_WARN : RG_LOG_INFO,
           lost ? "partitions lost (no snapshot; the next owner evaluates from the last one)" : "partitions revoked",
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

void rg_run_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    rg_stream *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(s, rk, parts);
    else
        on_revoke(s, rk, parts);
}

void rg_run_release_all(rg_stream *s, int64_t timeout_ms)
{
    size_t *slots = calloc(s->tasks.n + 1, sizeof *slots), held = 0;
    for (size_t i = 0; slots && i < s->tasks.n; i++)
        if (s->tasks.slots[i])
            slots[held++] = i;
    give_up(s, slots ? slots : (size_t[1]){0}, held, true, timeout_ms > 1000 ? timeout_ms : 1000);
    free(slots);
}
