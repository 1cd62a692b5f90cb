/* topology — topic names, partition counts, internal topics; see topology.h. */
#include "topology.h"

#include <stdio.h>
#include <string.h>

int rg_topology_names(rg_topology *t, const char *group, const char *events_topic, char *errstr, size_t errstr_size)
{
    memset(t, 0, sizeof *t);
    int n0 = snprintf(t->events, sizeof t->events, "%s", events_topic);
    int n1 = snprintf(t->entities, sizeof t->entities, "%s.entities", group);
    int n2 = snprintf(t->decide, sizeof t->decide, "%s.decide", group);
    int n3 = snprintf(t->state, sizeof t->state, "%s.state", group);
    /* Kafka's own limit on a topic name is 249 bytes. */
    if (n0 < 0 || n0 > 249 || n1 < 0 || n1 > 249 || n2 < 0 || n2 > 249 || n3 < 0 || n3 > 249) {
        snprintf(errstr, errstr_size, "topic names derived from --group and --events-topic are over 249 bytes");
        return -1;
    }
    return 0;
}

const char *rg_task_kind_name(rg_task_kind kind)
{
    return kind == RG_TASK_INGEST ? "ingest" : kind == RG_TASK_ENTITY ? "entity" : "decide";
}

int rg_topology_kind(const rg_topology *t, const char *topic)
{
    if (strcmp(topic, t->events) == 0)
        return RG_TASK_INGEST;
    if (strcmp(topic, t->entities) == 0)
        return RG_TASK_ENTITY;
    if (strcmp(topic, t->decide) == 0)
        return RG_TASK_DECIDE;
    return -1;
}

const char *rg_topology_topic(const rg_topology *t, rg_task_kind kind)
{
    return kind == RG_TASK_INGEST ? t->events : kind == RG_TASK_ENTITY ? t->entities : t->decide;
}

int32_t rg_topology_state_partition(const rg_topology *t, rg_task_kind kind, int32_t partition)
{
    return (int32_t)kind * t->partitions + partition;
}

/* Partition count of `name` in md; 0 when absent (or reported in error). */
static int32_t count_in(const rd_kafka_metadata_t *md, const char *name)
{
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, name) == 0)
            return md->topics[i].err ? 0 : md->topics[i].partition_cnt;
    return 0;
}

/* Create the internal topics that are missing (names[i] with counts[i]
 * partitions; compact[i]: cleanup.policy=compact). 0, or -1 with errstr. */
static int create_topics(rd_kafka_t *rk, const char *const *names, const int32_t *counts, const int *compact,
                         size_t n, int timeout_ms, char *errstr, size_t errstr_size)
{
    rd_kafka_NewTopic_t *nt[4] = {0};
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    char why[512];
    int rc = -1;
    rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, why, sizeof why);
    for (size_t i = 0; i < n; i++) {
        /* Replication: the cluster's default (-1). */
        nt[i] = rd_kafka_NewTopic_new(names[i], counts[i], -1, why, sizeof why);
        if (!nt[i]) {
            snprintf(errstr, errstr_size, "cannot describe topic %.200s: %.200s", names[i], why);
            goto done;
        }
        if (compact[i])
            rd_kafka_NewTopic_set_config(nt[i], "cleanup.policy", "compact");
    }
    rd_kafka_CreateTopics(rk, nt, n, opts, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
    if (!ev) {
        snprintf(errstr, errstr_size, "no answer to CreateTopics within %d ms", timeout_ms + 2000);
        goto done;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        goto done;
    }
    const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    rc = 0;
    for (size_t i = 0; i < cnt; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
        if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
            snprintf(errstr, errstr_size, "%s: %s", rd_kafka_topic_result_name(tr[i]),
                     rd_kafka_topic_result_error_string(tr[i]) ? rd_kafka_topic_result_error_string(tr[i])
                                                               : rd_kafka_err2str(e));
            rc = -1;
        }
    }
    rd_kafka_event_destroy(ev);
done:
    for (size_t i = 0; i < n; i++)
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    rd_kafka_AdminOptions_destroy(opts);
    rd_kafka_queue_destroy(q);
    return rc;
}

int rg_topology_ensure(rg_topology *t, rd_kafka_t *rk, int timeout_ms, char *errstr, size_t errstr_size)
{
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "cannot read the cluster's topics: %s", rd_kafka_err2str(err));
        return -1;
    }
    int32_t p = count_in(md, t->events);
    if (p <= 0) {
        rd_kafka_metadata_destroy(md);
        snprintf(errstr, errstr_size, "events topic %s not available", t->events);
        return -1;
    }
    t->partitions = p;
    const char *names[3] = {t->entities, t->decide, t->state};
    int32_t want[3] = {p, p, 3 * p};
    int compact[3] = {0, 0, 1};
    const char *missing[3];
    int32_t missing_counts[3];
    int missing_compact[3];
    size_t n_missing = 0;
    for (int i = 0; i < 3; i++) {
        int32_t have = count_in(md, names[i]);
        if (have == 0) {
            missing[n_missing] = names[i];
            missing_counts[n_missing] = want[i];
            missing_compact[n_missing] = compact[i];
            n_missing++;
        } else if ((i < 2 && have != want[i]) || (i == 2 && have < want[i])) {
            rd_kafka_metadata_destroy(md);
            snprintf(errstr, errstr_size,
                     "topic %s has %d partitions, but the events topic %s has %d: it needs %s%d (keys would map to "
                     "other tasks and their state would be lost; docs/scale-out.md, \"Sizing\")",
                     names[i], (int)have, t->events, (int)p, i < 2 ? "" : "at least ", (int)want[i]);
            return -2;
        }
    }
    rd_kafka_metadata_destroy(md);
    if (!n_missing)
        return 0;
    char why[512] = "";
    if (create_topics(rk, missing, missing_counts, missing_compact, n_missing, timeout_ms, why, sizeof why) == 0)
        return 0;
    size_t at = (size_t)snprintf(errstr, errstr_size, "cannot create the internal topics (%s); create them:", why);
    for (size_t i = 0; i < n_missing && at < errstr_size; i++)
        at += (size_t)snprintf(errstr + at, errstr_size - at,
                               " kafka-topics.sh --create --topic %s --partitions %d%s;", missing[i],
                               (int)missing_counts[i], missing_compact[i] ? " --config cleanup.policy=compact" : "");
    return -1;
}
