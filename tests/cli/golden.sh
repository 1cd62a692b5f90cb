#!/usr/bin/env bash
# Data-driven end-to-end cases (ctest cli_golden). A new case is a new folder
# tests/golden/<case>/, never new C:
#   events.jsonl            the capture (a few lines)
#   rules.yaml              optional; absent = the bundled rules/default.yaml
#   geoip                   optional; none (default), or one test database of
#                           tests/data/geo (flat, maxmind, flat-v4, flat-v6,
#                           other; built here), or a comma list of them, asked
#                           in that order (--geoip A,B)
#   expected.jsonl          the exact decisions replay must print, byte for byte
#   expected_rejects.jsonl  optional; the exact rejects (source is events.jsonl:N)
#   expected_summary.json   optional; a JSON object whose keys (recursively) must
#                           equal those of replay's --summary
#   README                  one line: what the case proves
# Expected files are written from the specs (detection.md, rules.md,
# events.md) and docs/, never copied from the program's output.
# Usage: golden.sh [CASE...]   (default: every case); env RG_BIN,
# RG_SOURCE_DIR, RG_TEST_BUILD as ctest sets them.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
golden="$RG_SOURCE_DIR/tests/golden"
geo="$RG_TEST_BUILD/golden-geo"
geo_names="flat maxmind flat-v4 flat-v6 other"
work="$RG_TEST_BUILD/golden"

mkdir -p "$RG_TEST_BUILD"
# Build the test databases unless they are newer than every script that writes them.
geosrc="$RG_SOURCE_DIR/tests/data/geo"
stale=0
for f in $geo_names; do
  [ -s "$geo/$f.mmdb" ] || { stale=1; continue; }
  for s in "$geosrc"/*.pl "$geosrc"/make-mmdb.sh; do [ "$s" -nt "$geo/$f.mmdb" ] && stale=1; done
done
if [ "$stale" -eq 1 ] && ! "$geosrc/make-mmdb.sh" "$geo" >"$RG_TEST_BUILD/golden-geo.log" 2>&1; then
  cat "$RG_TEST_BUILD/golden-geo.log"
  echo "golden: cannot build the GeoIP test databases into $geo"
  exit 1
fi
rm -rf "$work"; mkdir -p "$work"

if [ $# -gt 0 ]; then
  cases=(); for c in "$@"; do cases+=("$golden/$c"); done
else
  cases=("$golden"/*/)
fi

pass=0; fail=0; failed=()
bad() { fail=$((fail + 1)); failed+=("$1"); }

# 1. Run every case's replay, several at a time (each writes only into $work/<case>).
jobs_max="$(nproc 2>/dev/null || echo 4)"
run_case() { # dir name out
  local dir="$1" out="$3" rules db layout
  rules="$RG_SOURCE_DIR/rules/default.yaml"
  [ -f "$dir/rules.yaml" ] && rules="$dir/rules.yaml"
  db=none
  if [ -f "$dir/geoip" ]; then
    local spec name
    spec="$(tr -d ' \t\r\n' < "$dir/geoip")"
    if [ -n "$spec" ] && [ "$spec" != none ]; then
      db=""
      for name in ${spec//,/ }; do
        case " $geo_names " in
          *" $name "*) db="${db:+$db,}$geo/$name.mmdb" ;;
          *) echo "geoip file names '$name' (expected none or a list of: $geo_names)" >"$out/setup_error"; return ;;
        esac
      done
    fi
  fi
  # Run inside the case folder so rejects say events.jsonl:N whatever the checkout path.
  (cd "$dir" && "$RG_BIN" replay --quiet --rules "$rules" --geoip "$db" \
      --out "$out/decisions.jsonl" --rejects "$out/rejects.jsonl" --summary "$out/summary.json" \
      events.jsonl) >"$out/stdout" 2>"$out/stderr"
  echo $? >"$out/rc"
}
for dir in "${cases[@]}"; do
  dir="${dir%/}"; name="$(basename "$dir")"; out="$work/$name"; mkdir -p "$out"
  if [ ! -f "$dir/events.jsonl" ] || [ ! -f "$dir/expected.jsonl" ]; then
    echo "no events.jsonl or expected.jsonl in $dir" >"$out/setup_error"; continue
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
  run_case "$dir" "$name" "$out" &
done
wait

# 2. Compare, in case order. Cases on the bundled pack write its ruleset id
# as @DEFAULT_RULESET@, so a change to rules/default.yaml does not touch
# every expectation (check_rules.sh tests the id itself).
default_id="$("$RG_BIN" check-rules "$RG_SOURCE_DIR/rules/default.yaml" | sed -n 's/^ruleset id //p')"
[ -n "$default_id" ] || { echo "cannot read the default ruleset id"; exit 1; }
for dir in "${cases[@]}"; do
  dir="${dir%/}"; name="$(basename "$dir")"; out="$work/$name"
  if [ -f "$out/setup_error" ]; then
    echo "FAIL $name: $(cat "$out/setup_error")"; bad "$name"; continue
  fi
  rc="$(cat "$out/rc" 2>/dev/null || echo '?')"
  problems=()
  [ "$rc" = 0 ] || problems+=("replay exited $rc: $(head -c 2000 "$out/stderr")")
  sed "s/@DEFAULT_RULESET@/$default_id/g" "$dir/expected.jsonl" >"$out/expected.jsonl"
  if ! diff -u --label "$name/expected.jsonl" --label "replay decisions" \
        "$out/expected.jsonl" "$out/decisions.jsonl" >"$out/decisions.diff" 2>&1; then
    problems+=("decisions differ:"$'\n'"$(cat "$out/decisions.diff")")
  fi
  if [ -f "$dir/expected_rejects.jsonl" ] && \
     ! diff -u --label "$name/expected_rejects.jsonl" --label "replay rejects" \
        "$dir/expected_rejects.jsonl" "$out/rejects.jsonl" >"$out/rejects.diff" 2>&1; then
    problems+=("rejects differ:"$'\n'"$(cat "$out/rejects.diff")")
  fi
  if [ -f "$dir/expected_summary.json" ]; then
    # Every key of the expected object must have the same value in the summary.
    if ! jq -e -n --slurpfile e "$dir/expected_summary.json" --slurpfile a "$out/summary.json" '
          def sub(x; y): if (x|type) == "object"
                         then (y|type) == "object" and all(x|keys[]; . as $k | sub(x[$k]; y[$k]))
                         else x == y end;
          sub($e[0]; $a[0])' >/dev/null 2>&1; then
      problems+=("summary differs: expected (subset) $(tr -d '\n' < "$dir/expected_summary.json")"$'\n'"  got $(cat "$out/summary.json" 2>/dev/null)")
    fi
  fi
  if [ ${#problems[@]} -eq 0 ]; then
    pass=$((pass + 1))
  else
    bad "$name"
    echo "FAIL $name: $(head -n1 "$dir/README" 2>/dev/null)"
    for p in "${problems[@]}"; do printf '%s\n' "$p" | sed 's/^/  /'; done
    echo
  fi
done

[ ${#failed[@]} -eq 0 ] || echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
