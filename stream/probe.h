/*
 * probe — asks the broker, off the engine thread, where a partition ends
 * (its high watermark), for the event-time merge (merge.h): "is this
 * silent partition really drained, and is its leader reachable?"
 *
 * Why a thread: a watermark query is a blocking round trip (ListOffsets to
 * the partition's leader), and a leader that is down makes it wait for its
 * timeout. The engine thread must not wait for that, so it files requests
 * here and collects the answers on its next turn. Each partition is asked
 * alone (rg_kafka_list_offsets), so a leader that is down costs its own
 * partitions one timeout each and delays no other leader's answers.
 *
 * A request carries the monotonic time it was filed; the answer reports
 * it back: a high watermark the broker gave after that time means
 * "nothing past it existed then". A failed query (leader down, timeout)
 * is reported as such. At most one request per partition is pending or
 * running; filing one again while it is is a no-op.
 *
 * Threading: request/collect/free on the engine thread; the prober's own
 * thread only queries. Ownership: the prober borrows the consumer handle
 * and the topic name; both must outlive it (free it before destroying
 * the consumer).
 */
#ifndef RG_STREAM_PROBE_H
#define RG_STREAM_PROBE_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct rg_probe rg_probe;

typedef struct rg_probe_answer {
    int32_t partition;
    int64_t asked_ms;       /* monotonic ms the request was filed */
    bool ok;                /* false: the query failed (leader down, timeout) */
    int64_t high_watermark; /* when ok */
} rg_probe_answer;

/* Where each of n partitions of topic begins (RD_KAFKA_OFFSET_BEGINNING)
 * or ends (RD_KAFKA_OFFSET_END: the high watermark, or the last stable
 * offset under read_committed), by one ListOffsets per leader, waiting at
 * most timeout_ms in all: out[i] is partition parts[i]'s offset, -1 where
 * no answer came (its leader down, the deadline passed, an error). Returns
 * how many partitions were answered.
 *
 * Why not rd_kafka_query_watermark_offsets: in librdkafka 2.0.2 (Debian
 * 12) it waits for its ListOffsets replies without a deadline, and a
 * partition whose leader is down kept it waiting for minutes (measured on
 * the mock cluster: not back after 60 s with a 1 s timeout), while
 * rd_kafka_offsets_for_times stops at its timeout and safely drops a late
 * reply. */
int rg_kafka_list_offsets(rd_kafka_t *rk, const char *topic, const int32_t *parts, size_t n, int64_t which,
                          int timeout_ms, int64_t *out);

/* NULL on failure (out of memory, thread not started). timeout_ms bounds
 * each query. */
rg_probe *rg_probe_new(rd_kafka_t *consumer, const char *topic, int timeout_ms);
/* Stops the thread and frees, waiting for a running query to end (at most
 * its timeout). NULL-safe. */
void rg_probe_free(rg_probe *p);
/* The same, waiting at most wait_ms: true when freed; false when a query
 * still runs, and then the thread frees the prober once the query
 * returns, still using the consumer: the caller must not destroy the
 * consumer (run.c keeps it for the process's life). Queries are bounded
 * (rg_kafka_list_offsets), so this is a second guard, kept because the
 * query runs inside librdkafka, which we do not control. */
bool rg_probe_release(rg_probe *p, int wait_ms);

/* File a query for partition (no-op while one for it is pending). */
void rg_probe_request(rg_probe *p, int32_t partition, int64_t now_ms);
/* Whether a query for partition is pending or running. */
bool rg_probe_busy(rg_probe *p, int32_t partition);
/* Take one answer; false when none is ready. */
bool rg_probe_collect(rg_probe *p, rg_probe_answer *out);

#endif
