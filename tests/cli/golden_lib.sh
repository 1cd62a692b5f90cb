#!/usr/bin/env bash
# golden_args DIR: the replay arguments of golden case DIR (tests/golden/,
# golden.sh explains the layout): its rule files (rules.list, else
# rules.yaml, else the bundled pack) and its GeoIP databases (the
# geo_mmdb fixture's, in $RG_TEST_BUILD/geo), into the array GOLDEN_ARGS.
# Returns 1 for a case whose rule set is refused (expected_errors.txt):
# nothing to replay. Sourced by the equivalence tests; run on its own
# (ctest cli_golden_lib) it checks that every case's files exist.
golden_args() {
  local dir=$1 line spec db geo=none
  GOLDEN_ARGS=()
  [ -f "$dir/expected_errors.txt" ] && return 1
  if [ -f "$dir/rules.list" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      line="${line%%#*}"; line=$(echo "$line" | tr -d ' \t\r')
      [ -n "$line" ] || continue
      [ "$line" = @default ] && GOLDEN_ARGS+=(--rules "$RG_SOURCE_DIR/rules/default.yaml") ||
        GOLDEN_ARGS+=(--rules "$dir/$line")
    done <"$dir/rules.list"
  elif [ -f "$dir/rules.yaml" ]; then
    GOLDEN_ARGS+=(--rules "$dir/rules.yaml")
  fi
  if [ -f "$dir/geoip" ]; then
    spec=$(tr -d ' \t\r\n' <"$dir/geoip")
    if [ -n "$spec" ] && [ "$spec" != none ]; then
      geo=""
      for db in ${spec//,/ }; do geo="${geo:+$geo,}$RG_TEST_BUILD/geo/$db.mmdb"; done
    fi
  fi
  GOLDEN_ARGS+=(--geoip "$geo")
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -u
  : "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
  bad=0; n=0
  for dir in "$RG_SOURCE_DIR"/tests/golden/*/; do
    golden_args "$dir" || continue
    n=$((n + 1))
    for ((i = 0; i < ${#GOLDEN_ARGS[@]}; i += 2)); do
      for f in ${GOLDEN_ARGS[i + 1]//,/ }; do
        [ "$f" = none ] || [ -f "$f" ] || { echo "FAIL $dir: ${GOLDEN_ARGS[i]} $f does not exist"; bad=1; }
      done
    done
  done
  [ "$n" -gt 10 ] || { echo "FAIL: only $n golden cases"; bad=1; }
  [ "$bad" = 0 ] && echo "ok: the arguments of $n golden cases name existing files"
  exit "$bad"
fi
