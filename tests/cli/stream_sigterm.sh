#!/bin/bash
# SIGTERM before the first partition assignment drains and exits 0.
#
# librdkafka before 2.3.0 (Debian 12 ships 2.0.2) aborts in rd_kafka_destroy
# of a cooperative-sticky consumer that joined its group but never
# received an assignment (librdkafka issue #4312): `riskgate run` exited
# 134 after "stopped cleanly". stream/run.c keeps such a handle instead of
# destroying it. Cases, each on its own group:
#   1. SIGTERM as soon as the runner says it is running;
#   2. SIGTERM while the events topic does not exist (no group join);
#   3. SIGTERM after the group answered JoinGroup while every SyncGroup
#      fails (REBALANCE_IN_PROGRESS), so no assignment ever comes: the
#      case that aborted. Last, since the injected errors stay queued on
#      the cluster.
# Every wait is for a log line, bounded.
. "$(dirname "$0")/stream_lib.sh"

mc_start riskgate.events:3
mc_group immediate 3
mc_group nosync 3

# wait_log NAME PATTERN : until NAME.log has a line matching PATTERN (60 s).
wait_log() {
    local name=$1 pattern=$2
    for _ in $(seq 600); do
        grep -q -- "$pattern" "$RG_TMP/$name.log" && return 0
        kill -0 "${RUN_PID[$name]}" 2>/dev/null || rg_fail "riskgate run ($name) exited while waiting for: $pattern"
        sleep 0.1
    done
    rg_fail "riskgate run ($name): no log line matching '$pattern' within 60 s"
}

# stop_clean NAME : SIGTERM, exit 0, "stopped cleanly", no abort.
stop_clean() {
    local name=$1
    run_stop "$name" TERM
    [ "$RUN_RC" = 0 ] || rg_fail "$name: SIGTERM gave exit status $RUN_RC (134: librdkafka's assert in destroy)"
    grep -q 'msg="stopped cleanly"' "$RG_TMP/$name.log" || rg_fail "$name: no clean drain in the log"
    ! grep -q 'Assertion' "$RG_TMP/$name.log" || rg_fail "$name: an assertion failed"
}

# 1. At once.
run_start immediate --group immediate --geoip none
wait_log immediate 'msg=running'
stop_clean immediate

# 2. The events topic is missing: the consumer waits for it, never joins.
mc_cmd topic-error missing.events 3
run_start missing --group missing --geoip none --events-topic missing.events
wait_log missing 'events topic missing.events not available'
stop_clean missing

# 3. Joined, never assigned: SyncGroup keeps failing. librdkafka's cgrp
# debug lines show the JoinGroup answer and the failed SyncGroup.
mc_cmd errors SyncGroup 10000 27
run_start nosync --group nosync --geoip none -X consumer.debug=cgrp --log-level debug
wait_log nosync 'JoinGroup response: GenerationId'
wait_log nosync 'SyncGroup response: Broker: Group rebalance in progress'
grep -q 'msg="partitions assigned"' "$RG_TMP/nosync.log" && rg_fail "nosync: an assignment came; the case is not tested"
stop_clean nosync

echo "ok: SIGTERM before any assignment exits 0 (at once, events topic missing, joined but never synced)"
