/*
 * run_conf — the librdkafka configuration of the runner's two clients
 * (part of the runner; see run_internal.h): riskgate's defaults, the -X
 * pass-through routed to the right client, the properties the delivery
 * guarantee depends on (refused when -X tries to change them), and the
 * callbacks (errors, logs, rebalance, commits, delivery reports).
 *
 * Contract: a secret-looking -X value never appears in errstr, even in
 * librdkafka's own refusal message.
 */
#ifndef RG_STREAM_RUN_CONF_H
#define RG_STREAM_RUN_CONF_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "run.h"

/* A new configuration for kind "consumer" or "producer", opaque = s. The
 * caller owns it (rd_kafka_new takes it over). NULL with errstr when a
 * property is refused. */
rd_kafka_conf_t *rg_run_client_conf(rg_stream *s, const char *kind, char *errstr, size_t errstr_size);

#endif
