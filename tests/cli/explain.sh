#!/usr/bin/env bash
# riskgate explain (ctest cli_explain), cli.md "Added in the second round":
# one event (argument or - on stdin), --history captures replayed first;
# per enabled rule whose `on` matches: the condition, each name's value,
# each sub-expression's result and the rule's result; then the decision.
# golden.sh also checks explain against replay on every golden case.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/explain"; rm -rf "$work"; mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A mule planted in history: a counterparty opened 1h before four senders
# paid it; the fifth transfer is the event to explain.
cat >"$work/history.jsonl" <<'EOF'
{"event_id":"o-1","type":"account_open","ts":"2026-11-21T23:00:00.000Z","account":"u-m"}
{"event_id":"m-1","type":"transfer","ts":"2026-11-22T00:00:00.000Z","account":"s-1","counterparty":"u-m","amount":1000}
{"event_id":"m-2","type":"transfer","ts":"2026-11-22T00:30:00.000Z","account":"s-2","counterparty":"u-m","amount":1000}
{"event_id":"m-3","type":"transfer","ts":"2026-11-22T01:00:00.000Z","account":"s-3","counterparty":"u-m","amount":1000}
{"event_id":"m-4","type":"transfer","ts":"2026-11-22T01:30:00.000Z","account":"s-4","counterparty":"u-m","amount":1000}
EOF
ev='{"event_id":"m-5","type":"transfer","ts":"2026-11-22T02:00:00.000Z","account":"s-5","counterparty":"u-m","amount":1000}'

"$RG_BIN" explain --geoip none --history "$work/history.jsonl" "$ev" >"$work/text" 2>"$work/err"; rc=$?
[ "$rc" -eq 0 ] || fail "explain exited $rc: $(cat "$work/err")"
for line in \
  "history: 5 events replayed from 1 capture (0 rejected)" \
  "  when: counterparty_age < 72h and counterparty_senders_24h >= 5" \
  "    counterparty_age = 3h (10800 s)" \
  "    counterparty_senders_24h = 5   [signal: counterparty_senders(24h)]" \
  "    true     counterparty_age < 72h and counterparty_senders_24h >= 5" \
  "    true       counterparty_senders_24h >= 5" \
  "    false      amount >= 100000" \
  "    unknown  geo_distance_km > 500 + geo_accuracy_km" \
  "    =          500 + geo_accuracy_km  -> unknown" \
  "  complaint_late: its 'on' does not list this type" \
  "decision:"; do
  grep -qxF -- "$line" "$work/text" || fail "text: no line '$line' in:"$'\n'"$(cat "$work/text")"
done
grep -qx "rule new_account_mule (.*default.yaml:[0-9]*): true" "$work/text" || fail "text: new_account_mule not true"
grep -qx "rule new_recipient_large (.*): false" "$work/text" || fail "text: new_recipient_large not false"
grep -q '^  {"decision_id":"m-5/u-m",.*"actions":\["freeze"\],"rules":\[{"id":"new_account_mule"' "$work/text" \
  || fail "text: the freeze of u-m is not shown"

# The same as JSON, and from standard input.
printf '%s\n' "$ev" | "$RG_BIN" explain --json --geoip none --history "$work/history.jsonl" - >"$work/json" 2>"$work/err"
rc=$?
[ "$rc" -eq 0 ] || fail "explain --json - exited $rc: $(cat "$work/err")"
jq -e '.event.event_id == "m-5" and .duplicate == false and .history.accepted == 5
       and (.rules[] | select(.id == "new_account_mule")
            | .result == "true" and .names == {"counterparty_age_s": 10800, "counterparty_senders_24h": 5}
              and .values[1].signal == "counterparty_senders(24h)"
              and (.steps | map(.result)) == ["true", "true", "true"])
       and (.rules[] | select(.id == "ip_geo_mismatch") | .result == "unknown"
            and (.steps[1] | .expr == "500 + geo_accuracy_km" and .value == null))
       and ([.not_evaluated[].id] | index("complaint_late")) != null
       and (.decisions | length) == 1 and .decisions[0].subject == "u-m" and .decisions[0].emitted == true' \
   "$work/json" >/dev/null || fail "--json: unexpected: $(cat "$work/json")"

# Without history the counterparty's registration is unknown and it has
# one sender: `unknown and false` is false; nothing fires.
"$RG_BIN" explain --geoip none "$ev" >"$work/nohist" 2>&1 || fail "explain without history exited $?"
grep -qx "rule new_account_mule (.*): false" "$work/nohist" || fail "no history: new_account_mule not false"
grep -qxF "    counterparty_age = unknown" "$work/nohist" || fail "no history: counterparty_age not unknown"
grep -qxF "    unknown    counterparty_age < 72h" "$work/nohist" || fail "no history: comparison not unknown"
grep -qx "decision: none (no rule was true)" "$work/nohist" || fail "no history: a decision was shown"

# The event already in the history (within dedupe_horizon): skipped as the engine would.
"$RG_BIN" explain --json --geoip none --history "$work/history.jsonl" \
  '{"event_id":"m-4","type":"transfer","ts":"2026-11-22T01:31:00.000Z","account":"s-4","counterparty":"u-m","amount":1}' \
  >"$work/dup" || fail "explain of a duplicate exited $?"
jq -e '.duplicate == true and .rules == [] and .decisions == []' "$work/dup" >/dev/null || fail "duplicate: $(cat "$work/dup")"

# Disabled rules and other rule files.
printf 'version: 1\nrules:\n  - id: off\n    when: amount > 0\n    enabled: false\n    then: [review: account]\n  - id: on_it\n    when: amount > 0 and not (amount > 500)\n    then: [review: account]\n' \
  >"$work/r.yaml"
"$RG_BIN" explain --json --geoip none --rules "$work/r.yaml" "$ev" >"$work/r.json" || fail "explain --rules exited $?"
jq -e '(.not_evaluated == [{"id": "off", "why": "disabled"}])
       and (.rules[0] | .id == "on_it" and .result == "false" and .names == {"amount": 1000}
            and (.steps | map([.expr, .result])) == [["amount > 0 and not (amount > 500)", "false"],
                 ["amount > 0", "true"], ["not (amount > 500)", "false"], ["amount > 500", "true"]])' \
   "$work/r.json" >/dev/null || fail "--rules: $(cat "$work/r.json")"

# Errors: a refused event, two lines on stdin, no event, a bad rule file.
"$RG_BIN" explain --geoip none '{"event_id":"x","type":"transfer"}' >/dev/null 2>"$work/e1"; rc=$?
[ "$rc" -eq 2 ] || fail "refused event: exit $rc, expected 2"
grep -q "^riskgate explain: the event is refused (missing_field): " "$work/e1" || fail "refused event: $(cat "$work/e1")"
printf '%s\n%s\n' "$ev" "$ev" | "$RG_BIN" explain --geoip none - >/dev/null 2>"$work/e2"; rc=$?
[ "$rc" -eq 2 ] || fail "two events on stdin: exit $rc, expected 2"
"$RG_BIN" explain --geoip none >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "no event: exit $rc, expected 2"
printf 'version: 1\nrules:\n  - id: x\n    when: nosuch\n    then: [review: account]\n' >"$work/bad.yaml"
"$RG_BIN" explain --geoip none --rules "$work/bad.yaml" "$ev" >/dev/null 2>"$work/e3"; rc=$?
[ "$rc" -eq 2 ] || fail "bad rule file: exit $rc, expected 2"
grep -q "bad.yaml:4:11: unknown name 'nosuch'" "$work/e3" || fail "bad rule file: $(cat "$work/e3")"
"$RG_BIN" explain --help | grep '^usage: riskgate explain' >/dev/null || fail "--help"

if [ "$failures" -eq 0 ]; then echo "explain: all checks passed"; exit 0; fi
echo "explain: $failures check(s) failed"; exit 1
