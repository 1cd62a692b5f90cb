#!/bin/bash
# Rolling restart (issue 18): three instances in one group; after bursts 3,
# 5 and 7 one of them in turn gets SIGTERM (a clean drain: final
# snapshots, a commit) and is started again, while the bursts keep coming.
# Every partition moves at least once, some twice, mid-stream; the action
# topic must still equal replay's decisions and every SIGTERM exit 0.
# The scenario, the capture and the comparison are stream_bursts.sh's.
exec bash "$(dirname "$0")/stream_bursts.sh" rolling
