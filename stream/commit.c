/* commit — input positions committed to the group coordinator: a task's
 * position once a snapshot of it is durable (snapshot.h), so Kafka's
 * committed offsets never pass the state that covers them. Owned by the
 * loop's thread (run.c); rg_commits lives in rg_stream (runtime.h). */
#include <stdio.h>

#include "log.h"
#include "runtime.h"

/* A task's input position is committed once a snapshot of it is durable
 * (snapshot.h): Kafka's committed offsets never pass the state that
 * covers them. At most one async commit is in flight: with commits sent
 * regardless, librdkafka 2.0.2 could stop committing for good after a
 * NOT_COORDINATOR answer (docs/streaming.md, "Commits and the group
 * coordinator"). */

/* How long an async commit may stay unanswered before another is sent. */
#define COMMIT_ANSWER_WAIT_MS 30000
/* How long a sync commit is sent again while the coordinator moves. */
#define COMMIT_SYNC_WAIT_MS 5000

void rg_run_commit_later(rg_stream *s, const char *topic, int32_t partition, int64_t offset)
{
    rd_kafka_topic_partition_t *p = rd_kafka_topic_partition_list_find(s->commits.due, topic, partition);
    if (!p)
        p = rd_kafka_topic_partition_list_add(s->commits.due, topic, partition);
    if (p && offset > p->offset)
        p->offset = offset;
}

static void committed(rg_stream *s, rd_kafka_resp_err_t err)
{
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    if (err) {
        s->metrics.commit_errors++;
        if (rg_run_log_due(&s->last_commit_log_ms))
            rg_log(RG_LOG_WARN, "offset commit failed; sent again with the next commit", "error", rd_kafka_err2str(err),
                   NULL);
        return;
    }
    s->metrics.commits++;
}

void rg_run_commit_serve(rg_stream *s)
{
    rd_kafka_event_t *ev;
    while (s->c.commit_q && (ev = rd_kafka_queue_poll(s->c.commit_q, 0)) != NULL) {
        if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
            s->commits.inflight = false;
            rd_kafka_resp_err_t err = rd_kafka_event_error(ev);
            committed(s, err);
            /* Failed: its positions are due again, not left until the
             * next snapshot (an idle partition may never have one). */
            const rd_kafka_topic_partition_list_t *sent = rd_kafka_event_topic_partition_list(ev);
            for (int i = 0; sent && i < sent->cnt; i++)
                if ((err || sent->elems[i].err) && sent->elems[i].offset >= 0)
                    rg_run_commit_later(s, sent->elems[i].topic, sent->elems[i].partition, sent->elems[i].offset);
        }
        rd_kafka_event_destroy(ev);
    }
}

/* Errors after which a sync commit is sent again (the coordinator moves
 * or answers late); others (the partition moved on) are final. */
static bool commit_retriable(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__WAIT_COORD || e == RD_KAFKA_RESP_ERR_NOT_COORDINATOR ||
           e == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE || e == RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
           e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
           e == RD_KAFKA_RESP_ERR__TRANSPORT;
}

int rg_run_commit(rg_stream *s, bool sync)
{
    rg_commits *c = &s->commits;
    if (!c->due->cnt || (!sync && s->group_rebalancing))
        return 0;   /* a periodic commit waits out a rebalance (conf.c, on_stats) */
    /* Only partitions still held: a commit for one given up would be
     * refused (or move another owner's position). */
    rd_kafka_topic_partition_list_t *held = NULL;
    rd_kafka_resp_err_t aerr = rd_kafka_assignment(s->c.consumer, &held);
    if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR || !held) {
        if (held)
            rd_kafka_topic_partition_list_destroy(held);
        if (sync)   /* give_up reads it: not the previous commit's answer */
            c->last_sync_err = aerr ? aerr : RD_KAFKA_RESP_ERR__STATE;
        return -1;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(c->due->cnt);
    for (int i = 0; i < c->due->cnt; i++) {
        rd_kafka_topic_partition_t *p = &c->due->elems[i];
        if (rd_kafka_topic_partition_list_find(held, p->topic, p->partition))
            rd_kafka_topic_partition_list_add(list, p->topic, p->partition)->offset = p->offset;
    }
    rd_kafka_topic_partition_list_destroy(held);
    int rc = 0;
    if (sync) {
        /* A task given up (a drain, a revoke) commits now or never: sent
         * again while the coordinator is being found (each answer comes
         * at once), for a bounded time; kept due when it still fails. */
        rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
        int64_t until = rg_run_mono_ms() + COMMIT_SYNC_WAIT_MS;
        /* An async commit still unanswered (librdkafka sends it again
         * across coordinator changes) could land after this one and move
         * the positions back: its answer first. */
        while (c->inflight && rg_run_mono_ms() < until) {
            rg_run_commit_serve(s);
            if (c->inflight)
                rd_kafka_poll(s->c.producer, 20);
        }
        while (list->cnt && (e = rd_kafka_commit(s->c.consumer, list, 0)) != RD_KAFKA_RESP_ERR_NO_ERROR &&
               commit_retriable(e) && rg_run_mono_ms() < until)
            rd_kafka_poll(s->c.producer, 100);
        if (list->cnt)
            committed(s, e);
        c->last_sync_err = e;
        if (e && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
            rc = -1;
        } else {
            rd_kafka_topic_partition_list_destroy(c->due);
            c->due = rd_kafka_topic_partition_list_new(8);
        }
    } else if (list->cnt && (!c->inflight || rg_run_mono_ms() - c->sent_ms > COMMIT_ANSWER_WAIT_MS)) {
        if (rd_kafka_commit_queue(s->c.consumer, list, s->c.commit_q, NULL, NULL) == RD_KAFKA_RESP_ERR_NO_ERROR) {
            c->inflight = true;
            c->sent_ms = rg_run_mono_ms();
            rd_kafka_topic_partition_list_destroy(c->due);
            c->due = rd_kafka_topic_partition_list_new(8);
        }
    } else if (!list->cnt) {
        rd_kafka_topic_partition_list_destroy(c->due);
        c->due = rd_kafka_topic_partition_list_new(8);
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rc;
}
