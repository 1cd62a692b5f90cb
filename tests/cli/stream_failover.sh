#!/bin/bash
# Fail-over (issue 18): state moves with its partitions, so an instance that
# dies loses no decision and changes none:
#   three_kill  three instances; one is killed with SIGKILL after the
#               fourth burst and not restarted (its partitions are restored
#               from their snapshots by the other two).
# The rolling restart is stream_rolling.sh.
# The scenarios, the capture and the comparison are stream_bursts.sh's.
exec bash "$(dirname "$0")/stream_bursts.sh" three_kill
