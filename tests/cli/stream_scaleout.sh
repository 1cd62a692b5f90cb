#!/bin/bash
# Scale-out (issue 18): several `riskgate run` instances in one group decide
# exactly as one `riskgate replay` while a capture arrives in bursts:
#   two   two instances from the start;
#   join  a second instance joins after the third burst, a third after
#         the sixth (cooperative rebalances while the backlog is read).
# The scenarios, the capture and the comparison are stream_bursts.sh's.
exec bash "$(dirname "$0")/stream_bursts.sh" two join
