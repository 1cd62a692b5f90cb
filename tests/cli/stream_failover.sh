#!/bin/bash
# Fail-over (issue 18): state moves with its partitions, so instances that
# die or restart lose no decision and change none:
#   three_kill  three instances; one is killed with SIGKILL after the
#               fourth burst and not restarted (its partitions are restored
#               from their snapshots by the other two);
#   rolling     a rolling restart: each of three instances in turn gets
#               SIGTERM and is started again.
# The scenarios, the capture and the comparison are stream_bursts.sh's.
exec bash "$(dirname "$0")/stream_bursts.sh" three_kill rolling
