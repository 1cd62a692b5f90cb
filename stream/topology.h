/*
 * topology — the topics of one riskgate group (docs/scale-out.md, "The
 * topology", "Sizing"): names, partition counts, and making sure the
 * internal ones exist with counts that fit.
 *
 *   <events>            input, P partitions (whoever produces it made it)
 *   <group>.entities    P partitions, key = entity (c:/p:/t:)
 *   <group>.decide      P partitions, key = acting account
 *   <group>.state       3P partitions, compacted: task snapshots, one
 *                       partition per task (ingest k at k, entities r at
 *                       P + r, decide d at 2P + d)
 *
 * Missing internal topics are created with the Admin API (CreateTopics);
 * a cluster that refuses (no permission, a mock without the API) gets an
 * error naming the topics and the command to create them. Internal topics
 * whose partition counts differ from P are refused (exit 2): their keys
 * would map to other tasks and orphan the state.
 */
#ifndef RG_STREAM_TOPOLOGY_H
#define RG_STREAM_TOPOLOGY_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

typedef enum rg_task_kind { RG_TASK_INGEST = 0, RG_TASK_ENTITY = 1, RG_TASK_DECIDE = 2 } rg_task_kind;

#define RG_TOPIC_NAME_MAX 256

typedef struct rg_topology {
    char events[RG_TOPIC_NAME_MAX];
    char entities[RG_TOPIC_NAME_MAX];
    char decide[RG_TOPIC_NAME_MAX];
    char state[RG_TOPIC_NAME_MAX];
    int32_t partitions;         /* P: the events topic's */
} rg_topology;

/* Names for group and events topic (no I/O). -1 with errstr when a name
 * is too long. */
int rg_topology_names(rg_topology *t, const char *group, const char *events_topic, char *errstr, size_t errstr_size);

/* Learn P from the cluster (waits up to timeout_ms for the events topic
 * to exist), then check the internal topics, creating the missing ones.
 * 0; -2 with errstr when they exist but do not fit (configuration); -1
 * otherwise (unreachable cluster, creation refused). rk: any client. */
int rg_topology_ensure(rg_topology *t, rd_kafka_t *rk, int timeout_ms, char *errstr, size_t errstr_size);

/* Which stage a subscribed topic feeds; -1 for another topic. */
int rg_topology_kind(const rg_topology *t, const char *topic);
const char *rg_topology_topic(const rg_topology *t, rg_task_kind kind);
/* The <group>.state partition of a task. */
int32_t rg_topology_state_partition(const rg_topology *t, rg_task_kind kind, int32_t partition);
/* "ingest", "entity", "decide". */
const char *rg_task_kind_name(rg_task_kind kind);

#endif
