#!/usr/bin/env bash
# run-fuzz.sh BUILD_DIR SECONDS — run every libFuzzer target of BUILD_DIR/fuzz
# for SECONDS each (what `make fuzz` calls).
#
# Each target starts from a copy of its seed corpus (fuzz/corpus/NAME for
# fuzz_NAME), so the seeds in git stay small and hand-picked; new crashers
# land in fuzz/artifacts/ (add them to fuzz/corpus/NAME once fixed, so
# ctest replays them). Prints, per target, runs, execs/s and coverage
# (cov: edges, ft: features) from libFuzzer's final stats line.
# Exit status: 1 when any target found a crash, leak or timeout.
set -u
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS}
top=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$top/fuzz/artifacts
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

status=0
found=0
for bin in "$build"/fuzz/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  found=1
  name=$(basename "$bin")
  corpus=$top/fuzz/corpus/${name#fuzz_}
  mkdir -p "$work/$name"
  [ -d "$corpus" ] && cp -R "$corpus/." "$work/$name/"
  log=$work/$name.log
  echo "== $name: ${seconds}s from $(ls "$work/$name" | wc -l) seeds"
  "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
         -artifact_prefix="$artifacts/$name-" "$work/$name" >"$log" 2>&1
  rc=$?
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
  runs=$(grep -E '^stat::number_of_executed_units:' "$log" | awk '{print $2}')
  speed=$(grep -E '^stat::average_exec_per_sec:' "$log" | awk '{print $2}')
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | awk '{print $2}')
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | awk '{print $2}')
  corp=$(echo "$last" | grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' | awk '{print $2}')
  printf '%s: execs %s, execs/s %s, cov: %s ft: %s, corpus %s\n' "$name" "${runs:-?}" "${speed:-?}" \
         "${cov:-?}" "${ft:-?}" "${corp:-?}"
  if [ $rc -ne 0 ]; then
    status=1
    echo "$name: FAILED (exit $rc); see below and $artifacts/" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 20 >&2
  fi
done
[ $found -eq 1 ] || { echo "run-fuzz.sh: no fuzz_* targets in $build/fuzz (configure with -DRG_FUZZ=ON)" >&2; exit 1; }
exit $status
