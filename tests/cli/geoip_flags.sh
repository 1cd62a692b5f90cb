#!/usr/bin/env bash
# The --geoip forms of replay and backtest (ctest cli_geoip_flags): a comma
# list and a repeated flag are the same list; the npm-like split pair gives
# what the one combined file gives; a bad list or a missing file is refused
# with exit 2 and a message naming it, before anything is read.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
geo="$RG_TEST_BUILD/geo"            # built by the geo_mmdb fixture
case_dir="$RG_SOURCE_DIR/tests/golden/ip_geo_mismatch_far_flat"
work="$RG_TEST_BUILD/geoip_flags"
rm -rf "$work"; mkdir -p "$work"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

replay() { # out geoip-args...
  local out="$1"; shift
  "$RG_BIN" replay --quiet "$@" --out "$work/$out" "$case_dir/events.jsonl" 2>"$work/$out.err"
}

replay one.jsonl --geoip "$geo/flat.mmdb" || bad "replay with flat.mmdb failed: $(cat "$work/one.jsonl.err")"
[ "$(wc -l < "$work/one.jsonl")" = 3 ] || bad "flat.mmdb: expected 3 decisions, got $(wc -l < "$work/one.jsonl")"

replay list.jsonl --geoip "$geo/flat-v6.mmdb,$geo/flat-v4.mmdb" || bad "comma list refused: $(cat "$work/list.jsonl.err")"
replay repeated.jsonl --geoip "$geo/flat-v4.mmdb" --geoip "$geo/flat-v6.mmdb" ||
  bad "repeated --geoip refused: $(cat "$work/repeated.jsonl.err")"
cmp -s "$work/one.jsonl" "$work/list.jsonl" || bad "the split pair as a comma list differs from the combined file"
cmp -s "$work/one.jsonl" "$work/repeated.jsonl" || bad "the split pair as repeated --geoip differs from the combined file"

# With only the IPv4 file, the IPv6 IP is not found: its decision is gone.
replay v4.jsonl --geoip "$geo/flat-v4.mmdb" || bad "flat-v4 alone refused"
[ "$(wc -l < "$work/v4.jsonl")" = 2 ] || bad "flat-v4 alone: expected 2 decisions, got $(wc -l < "$work/v4.jsonl")"
grep -q '"g-3/' "$work/v4.jsonl" && bad "flat-v4 alone still placed the IPv6 IP"

# Refusals: exit 2, the message names what is wrong.
refused() { # what expected-text geoip-args...
  local what="$1" text="$2"; shift 2
  "$RG_BIN" replay --quiet "$@" --out "$work/refused.jsonl" "$case_dir/events.jsonl" 2>"$work/refused.err"
  local rc=$?
  [ "$rc" = 2 ] || bad "$what: exit $rc, expected 2"
  grep -qF -- "$text" "$work/refused.err" || bad "$what: stderr does not mention '$text': $(cat "$work/refused.err")"
}
refused "missing file in a list" "$geo/nope.mmdb" --geoip "$geo/flat-v4.mmdb,$geo/nope.mmdb"
refused "empty name in a list" "empty" --geoip "$geo/flat-v4.mmdb,"
refused "none inside a list" "none" --geoip "none,$geo/flat-v4.mmdb"

# backtest takes the same forms.
rules="$RG_SOURCE_DIR/rules/default.yaml"
"$RG_BIN" backtest --rules "$rules" --candidate "$rules" --geoip "$geo/flat-v6.mmdb" --geoip "$geo/flat-v4.mmdb" \
  --report "$work/bt.json" "$case_dir/events.jsonl" >"$work/bt.txt" 2>"$work/bt.err" || bad "backtest with repeated --geoip failed: $(cat "$work/bt.err")"
if [ -s "$work/bt.json" ]; then
  hits="$(jq -r '.rules[] | select(.id == "ip_geo_mismatch") | .old_hits' "$work/bt.json")"
  [ "$hits" = 3 ] || bad "backtest over the split pair: ip_geo_mismatch old_hits $hits, expected 3"
fi

# serve reads $RISKGATE_GEOIP as --geoip reads it: three files, or none,
# start without a word about GeoIP (it split at the first comma only and
# warned it had none).
"$RG_BIN" replay --quiet --geoip none --alerts "$work/serve.db" --out /dev/null "$case_dir/events.jsonl" 2>/dev/null ||
  bad "replay --alerts for the serve check failed"
for spec in "$geo/flat-v6.mmdb,$geo/flat-v4.mmdb,$geo/flat-v6.mmdb" none; do
  RISKGATE_GEOIP="$spec" timeout 3 "$RG_BIN" serve --db "$work/serve.db" --listen 127.0.0.1:0 2>"$work/serve.err"
  grep -q 'review page at' "$work/serve.err" || bad "serve with RISKGATE_GEOIP=$spec did not start: $(cat "$work/serve.err")"
  if grep -qE 'GeoIP database|without their place' "$work/serve.err"; then bad "serve with RISKGATE_GEOIP=$spec: $(cat "$work/serve.err")"; fi
done
RISKGATE_GEOIP="$geo/nope.mmdb" timeout 3 "$RG_BIN" serve --db "$work/serve.db" --listen 127.0.0.1:0 2>"$work/serve.err"
grep -q 'nope.mmdb' "$work/serve.err" && grep -q 'without their place' "$work/serve.err" ||
  bad "serve with a missing default database: $(cat "$work/serve.err")"

[ "$fail" = 0 ] && echo "geoip flags: ok"
exit "$fail"
