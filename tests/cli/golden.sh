#!/usr/bin/env bash
# Data-driven end-to-end cases (ctest cli_golden). A new case is a new folder
# tests/golden/<case>/, never new C:
#   events.jsonl            the capture (a few lines)
#   rules.yaml              optional; absent = the bundled rules/default.yaml
#   rules.list              optional, wins over rules.yaml: several rule files
#                           read in order as one rule set (rules.md "Several
#                           files"), one per line, relative to the case;
#                           @default is the bundled pack
#   expected_errors.txt     optional; the rule set must be refused: replay exits
#                           2 and prints each of these lines (@DEFAULT@ stands
#                           for the bundled pack's path); expected.jsonl is empty
#   geoip                   optional; none (default), or one test database of
#                           tests/data/geo (flat, maxmind, flat-v4, flat-v6,
#                           other; built here), or a comma list of them, asked
#                           in that order (--geoip A,B)
#   expected.jsonl          the exact decisions replay must print, byte for byte
#   expected_rejects.jsonl  optional; the exact rejects (source is events.jsonl:N)
#   expected_summary.json   optional; a JSON object whose keys (recursively) must
#                           equal those of replay's --summary
#   expected_explain.json   optional; a JSON object whose keys (recursively, arrays
#                           element by element) must equal those of
#                           `riskgate explain --json` on the last event
#   README                  one line: what the case proves
# Expected files are written from the specs (detection.md, rules.md,
# events.md) and docs/, never copied from the program's output. In them
# @DEFAULT_RULESET@ is the bundled pack's ruleset id and @RULESET@ the id of
# the case's rule files, computed here as `cat FILES | sha256sum`.
#
# Every case also checks `riskgate explain` against replay: the last event,
# explained with every earlier line as --history, must get exactly the
# decisions replay wrote for it, and the rules explain shows as true must be
# exactly the rules of those decisions (cooldown-suppressed ones included).
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

# Every key of the expected JSON object has the same value in the actual
# one, recursively (arrays: the same length, element by element).
json_subset() { # expected actual
  jq -e -n --slurpfile e "$1" --slurpfile a "$2" '
    def sub(x; y): if (x|type) == "object"
                   then (y|type) == "object" and all(x|keys[]; . as $k | sub(x[$k]; y[$k]))
                   elif (x|type) == "array"
                   then (y|type) == "array" and (x|length) == (y|length)
                        and all(range(x|length); . as $i | sub(x[$i]; y[$i]))
                   else x == y end;
    sub($e[0]; $a[0])' >/dev/null 2>&1
}
bad() { fail=$((fail + 1)); failed+=("$1"); }

# 1. Run every case's replay, several at a time (each writes only into $work/<case>).
jobs_max="$(nproc 2>/dev/null || echo 4)"
# The case's rule files, one per line, as paths run_case passes (relative
# to the case folder, or the bundled pack's absolute path).
rule_files() { # dir
  local dir="$1" line
  if [ -f "$dir/rules.list" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      line="${line%%#*}"; line="$(echo "$line" | tr -d ' \t\r')"
      [ -n "$line" ] || continue
      if [ "$line" = @default ]; then echo "$RG_SOURCE_DIR/rules/default.yaml"; else echo "$line"; fi
    done <"$dir/rules.list"
  elif [ -f "$dir/rules.yaml" ]; then
    echo rules.yaml
  else
    echo "$RG_SOURCE_DIR/rules/default.yaml"
  fi
}

run_case() { # dir name out
  local dir="$1" out="$3" db layout f
  local rules=()
  while IFS= read -r f; do rules+=(--rules "$f"); done < <(rule_files "$dir")
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
  (cd "$dir" && "$RG_BIN" replay --quiet "${rules[@]}" --geoip "$db" \
      --out "$out/decisions.jsonl" --rejects "$out/rejects.jsonl" --summary "$out/summary.json" \
      events.jsonl) >"$out/stdout" 2>"$out/stderr"
  echo $? >"$out/rc"
  # explain: the last event after every earlier line as history.
  local n last
  n="$(grep -c . "$dir/events.jsonl")"
  [ "$n" -ge 1 ] || return
  last="$(grep -n . "$dir/events.jsonl" | tail -n 1 | cut -d: -f1)"
  echo "$last" >"$out/last_line"
  head -n "$((last - 1))" "$dir/events.jsonl" >"$out/history.jsonl"
  sed -n "${last}p" "$dir/events.jsonl" >"$out/last.json"
  local hist=(); [ "$last" -gt 1 ] && hist=(--history "$out/history.jsonl")
  # Replay of the history alone: what replay wrote beyond it is the last event's.
  (cd "$dir" && "$RG_BIN" replay --quiet "${rules[@]}" --geoip "$db" --out "$out/history_decisions.jsonl" \
      "$out/history.jsonl") >/dev/null 2>&1
  (cd "$dir" && "$RG_BIN" explain --json "${rules[@]}" --geoip "$db" "${hist[@]}" - <"$out/last.json") \
      >"$out/explain.json" 2>"$out/explain.stderr"
  echo $? >"$out/explain_rc"
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
  case_id="$(cd "$dir" && rule_files "$dir" | tr '\n' '\0' | xargs -0 cat | sha256sum | cut -c1-12)"
  if [ -f "$dir/expected_errors.txt" ]; then
    [ "$rc" = 2 ] || problems+=("replay exited $rc, expected 2 (the rule set must be refused)")
    sed "s|$RG_SOURCE_DIR/rules/default.yaml|@DEFAULT@|g" "$out/stderr" >"$out/stderr.rel"
    while IFS= read -r line || [ -n "$line" ]; do
      [ -n "$line" ] || continue
      grep -qxF -- "$line" "$out/stderr.rel" || problems+=("missing error line: $line"$'\n'"stderr was:"$'\n'"$(cat "$out/stderr.rel")")
    done <"$dir/expected_errors.txt"
  else
    [ "$rc" = 0 ] || problems+=("replay exited $rc: $(head -c 2000 "$out/stderr")")
  fi
  sed -e "s/@DEFAULT_RULESET@/$default_id/g" -e "s/@RULESET@/$case_id/g" "$dir/expected.jsonl" >"$out/expected.jsonl"
  [ -f "$dir/expected_errors.txt" ] && [ ! -e "$out/decisions.jsonl" ] && : >"$out/decisions.jsonl"   # refused before writing
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
    sed -e "s/@DEFAULT_RULESET@/$default_id/g" -e "s/@RULESET@/$case_id/g" "$dir/expected_summary.json" \
        >"$out/expected_summary.json"
    if ! json_subset "$out/expected_summary.json" "$out/summary.json"; then
      problems+=("summary differs: expected (subset) $(tr -d '\n' < "$dir/expected_summary.json")"$'\n'"  got $(cat "$out/summary.json" 2>/dev/null)")
    fi
  fi
  # explain agrees with replay on the last event (cases whose rule set loads).
  if [ ! -f "$dir/expected_errors.txt" ] && [ -f "$out/last_line" ]; then
    erc="$(cat "$out/explain_rc")"
    if grep -q "\"source\":\"events.jsonl:$(cat "$out/last_line")\"" "$out/rejects.jsonl" 2>/dev/null; then
      [ "$erc" = 2 ] || problems+=("explain of a rejected last event exited $erc, expected 2")
    elif [ "$erc" != 0 ]; then
      problems+=("explain exited $erc: $(head -c 2000 "$out/explain.stderr")")
    else
      tail -n "+$(($(wc -l <"$out/history_decisions.jsonl") + 1))" "$out/decisions.jsonl" | jq -c . \
          >"$out/replay_last.jsonl"
      jq -c '.decisions[] | select(.emitted) | del(.emitted)' "$out/explain.json" >"$out/explain_last.jsonl"
      if ! diff -u --label "replay decisions for the last event" --label "explain decisions" \
            "$out/replay_last.jsonl" "$out/explain_last.jsonl" >"$out/explain.diff" 2>&1; then
        problems+=("explain's decision differs from replay's:"$'\n'"$(cat "$out/explain.diff")")
      fi
      t="$(jq -r '[.rules[] | select(.result == "true") | .id] | sort | join(",")' "$out/explain.json")"
      h="$(jq -r '[.decisions[].rules[].id] | unique | join(",")' "$out/explain.json")"
      [ "$t" = "$h" ] || problems+=("explain: rules true [$t] are not the rules of its decisions [$h]")
    fi
    if [ -f "$dir/expected_explain.json" ]; then
      sed -e "s/@DEFAULT_RULESET@/$default_id/g" -e "s/@RULESET@/$case_id/g" "$dir/expected_explain.json" \
          >"$out/expected_explain.json"
      if ! json_subset "$out/expected_explain.json" "$out/explain.json"; then
        problems+=("explain differs: expected (subset) $(tr -d '\n' < "$dir/expected_explain.json")"$'\n'"  got $(cat "$out/explain.json")")
      fi
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
