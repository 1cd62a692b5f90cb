/*
 * probe — asks the broker, off the engine thread, where a partition ends
 * (its high watermark), for the event-time merge (merge.h): "is this
 * silent partition really drained, and is its leader reachable?"
 *
 * Why a thread: rd_kafka_query_watermark_offsets is a blocking round trip
 * (ListOffsets to the partition's leader), and a leader that is down makes
 * it wait for its timeout. The engine thread must not wait for that, so it
 * files requests here and collects the answers on its next turn.
 *
 * A request carries the monotonic time it was filed; the answer reports
 * it back: a high watermark the broker gave after that time means
 * "nothing past it existed then". A failed query (leader down, timeout)
 * is reported as such. At most one request per partition is pending or
 * running; filing one again while it is is a no-op.
 *
 * Threading: request/collect/free on the engine thread; the prober's own
 * thread only queries. Ownership: the prober borrows a client handle
 * and the topic name; both must outlive it (free it before destroying
 * the client). Give it a client whose connections do not long-poll (run.c
 * gives the restorer): a broker answers one connection's requests in
 * order, so a query behind a consumer's fetch waits out fetch.wait.max.ms.
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

/* NULL on failure (out of memory, thread not started). timeout_ms bounds
 * each query. */
rg_probe *rg_probe_new(rd_kafka_t *client, const char *topic, int timeout_ms);
/* Stops the thread and frees, waiting for a running query to end (a
 * query to a partition whose leader is down can outlast its timeout by
 * minutes in librdkafka 2.0.2: ListOffsets waits for its reply). NULL-safe. */
void rg_probe_free(rg_probe *p);
/* The same, waiting at most wait_ms: true when freed; false when a query
 * still runs, and then the thread frees the prober once the query
 * returns, still using the client: the caller must not destroy the
 * client (run.c keeps it for the process's life). */
bool rg_probe_release(rg_probe *p, int wait_ms);

/* File a query for partition (no-op while one for it is pending). */
void rg_probe_request(rg_probe *p, int32_t partition, int64_t now_ms);
/* Whether a query for partition is pending or running. */
bool rg_probe_busy(rg_probe *p, int32_t partition);
/* Take one answer; false when none is ready. */
bool rg_probe_collect(rg_probe *p, rg_probe_answer *out);

#endif
