/*
 * bench_stream — the separate processes around `riskgate run` for the
 * streaming benchmark (bench/run.sh BUILD stream; docs/bench-stream.md).
 * One program, four roles, each run as its own process:
 *
 *   bench_stream produce --brokers B --topic T [--partitions N]
 *                        [--rate EV_PER_S --phases NAME:SECONDS,... --sendlog FILE]
 *                        [--linger-ms MS] [--pace-us US] [--count N] [--idle-partition P]
 *                        [--sparse-per-s S] [-X property=value]... CAPTURE
 *       Publishes the capture's lines (JSON Lines, unchanged; a line over
 *       1,000,000 bytes, Kafka's default message.max.bytes, is skipped) to
 *       T, key = the line's "account", partition = librdkafka's default
 *       (consistent_random) partitioner over N (default: T's partitions).
 *       Without --rate: preload, as fast as the cluster takes them (--count
 *       lines, default all), then prints the rate. With --rate (linger.ms
 *       --linger-ms, default 1): paced at that many events/s through
 *       the phases in order (waking every --pace-us, default 200, or when
 *       the next event is due if later, and sending what is due), taking lines in capture order; before each
 *       produce() it writes the send time (CLOCK_REALTIME, us) of that
 *       line into the --sendlog file. Phase kinds:
 *         busy   every partition gets its events;
 *         idle   partition P (--idle-partition, default N-1) gets none:
 *                its events go to P+1 (an account stays in one partition);
 *         sparse as idle, but S events per second (--sparse-per-s,
 *                default 1) still go to P.
 *       A phase is named after its kind (busy, idle, sparse, busy-tail...).
 *       The Kafka message timestamp is librdkafka's create time. With
 *       --live-ts, each line's "ts" and "client_ts" become the send time
 *       (epoch ms): live traffic, whose event time follows the wall clock
 *       (without it the capture's 4 days pass in 25 s of wall time, a
 *       backlog as far as the event-time merge is concerned).
 *
 *   bench_stream latency --brokers B --topic T --capture CAPTURE --sendlog FILE [-X property=value]...
 *                        [--warmup-ms W] [--timeout-s S] [--series FILE] [--stages-topic GROUP.decide]
 *       Creates FILE (one send-time slot per capture line), prints "ready",
 *       then reads T (the action topic) from the beginning, without a
 *       group. For each decision it looks up its "event_id" in the capture
 *       and takes the latest send time the producer wrote for a line with
 *       that id: latency = receipt here - send there (both CLOCK_REALTIME
 *       on this machine), i.e. producer -> broker -> riskgate (fetch,
 *       merge, engine, produce, ack) -> broker -> this consumer. Events
 *       sent in the first W ms of a phase (default 1000) are not counted
 *       in its percentiles (their maximum is printed apart: the cost of
 *       the phase change itself, e.g. a partition going quiet).
 *       Stops when the producer has finished and nothing arrived for 2 s.
 *       Prints one line per phase: decisions and p50/p90/p99/p99.9/max,
 *       and p50/p99 of the part up to the decision's "decided_at" (riskgate's
 *       clock when it wrote the decision; ms, truncated, so up to 1 ms low);
 *       drift_ms = median of the phase's last second - median of its first
 *       counted second (a path that cannot keep up shows as a large drift);
 *       --series writes every sample (phase, ms into the phase when sent,
 *       latency ms, capture line, send and receipt time in us) for a plot.
 *       --stages-topic also reads riskgate's GROUP.decide from the
 *       beginning: the Kafka timestamp (CreateTime: riskgate's clock at
 *       produce(), whole ms) of each event's EVENT record (the ingest task)
 *       and ENRICH record (the entity task) splits each decision's latency
 *       into hops (split_add below); and prints the median over one-second
 *       windows of this consumer's broker round trips (fetch_rtt).
 *
 *   bench_stream watch --brokers B --group G --topic T [--topic T2]... [--timeout-s S]
 *                      [--pid PID]... [--cpu N]
 *       Takes the high watermarks of T (the events to process), then polls
 *       group G's committed offsets every 10 ms until they reach them; then
 *       the same for T2 with its high watermarks as they are at that
 *       moment, and so on. riskgate commits a task's input offset once a
 *       snapshot covering it is durable, and a snapshot only once every
 *       record the input produced (records to the next stage, decisions)
 *       was acknowledged; so with the events topic, GROUP.entities and
 *       GROUP.decide in that order, "all committed" is "every event
 *       evaluated by every stage and every decision delivered: lag 0"
 *       (later records on the internal topics are progress marks of idle
 *       tasks, which never stop). Prints when the first commit came, when
 *       10 %, 90 % and 100 % of the first topic were committed, the steady
 *       rate between 10 % and 90 %, and when each topic was done; with
 *       --pid, the CPU seconds each process used over that steady part;
 *       with --cpu, how busy core N was in all.
 *
 *   bench_stream dump --brokers B --topic T
 *       Prints every message of T (the values, one a line), from the
 *       beginning to the high watermarks it had when it began.
 *
 * The event stream is the capture byte for byte (no id rewriting, so
 * complaint -> transfer references and duplicates behave as in replay);
 * the send times travel beside it in the shared FILE instead.
 *
 * This file holds main, which picks the role; each role is in its own
 * file (bench_stream_produce.c, bench_stream_latency.c, and
 * bench_stream_watch.c for watch and dump), what they share in
 * bench_stream_common.c, declared in bench_stream.h.
 */
#include "bench_stream.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (argc >= 2 && strcmp(argv[1], "produce") == 0)
        return cmd_produce(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "latency") == 0)
        return cmd_latency(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "watch") == 0)
        return cmd_watch(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "dump") == 0)
        return cmd_dump(argc - 1, argv + 1);
    fprintf(stderr, "usage: bench_stream produce|latency|watch|dump ... (see the comment at the top of bench_stream.c)\n");
    return 2;
}
