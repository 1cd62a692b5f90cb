#!/usr/bin/env bash
# riskgate check-rules (ctest cli_check_rules): valid files exit 0 and print
# their ruleset id (first 12 hex digits of SHA-256 of the bytes,
# docs/ruleset-id.md); a broken file exits 2 with every error as
# FILE:LINE:COLUMN: message on stderr (rules.md "Loading", rules-guide.md
# section 7); --help exits 0; an unknown flag exits 2.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/check_rules"
rm -rf "$work"; mkdir -p "$work"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

run() { # run ARGS... -> $rc, $work/out, $work/err
  "$RG_BIN" check-rules "$@" >"$work/out" 2>"$work/err"; rc=$?
}

# --- valid files: exit 0, the ruleset id on stdout
for f in "$RG_SOURCE_DIR/rules/default.yaml" \
         "$RG_SOURCE_DIR/tests/golden/second_pack/rules.yaml" \
         "$RG_SOURCE_DIR/tests/data/rules/candidate.yaml"; do
  id="$(sha256sum "$f" | cut -c1-12)"
  run "$f"
  [ "$rc" -eq 0 ] || fail "check-rules $f exited $rc: $(cat "$work/err")"
  grep -qx "ruleset id $id" "$work/out" || fail "check-rules $f: no line 'ruleset id $id' in: $(head -5 "$work/out")"
  [ ! -s "$work/err" ] || fail "check-rules $f wrote to stderr: $(cat "$work/err")"
done

# No FILE: the bundled default pack.
run
[ "$rc" -eq 0 ] || fail "check-rules without FILE exited $rc"
grep -qx "ruleset id $(sha256sum "$RG_SOURCE_DIR/rules/default.yaml" | cut -c1-12)" "$work/out" \
  || fail "check-rules without FILE does not load rules/default.yaml"

# --- a broken file: refused as a whole, every error with its position
cat >"$work/broken.yaml" <<'EOF'
version: 1
rules:
  - id: Big-Transfer
    on: transfre
    when: amount > 5000000
    then:
      - lock: account
    cooldown: 10 minutes
  - id: fine
    when: amount > 1
    then:
      - review: account
EOF
(cd "$work" && "$RG_BIN" check-rules broken.yaml >out 2>err); rc=$?
[ "$rc" -eq 2 ] || fail "broken file: exit $rc, expected 2"
[ ! -s "$work/out" ] || fail "broken file: something on stdout: $(cat "$work/out")"
for line in \
  "broken.yaml:3:9: bad rule id 'Big-Transfer': use lower-case letters, digits and _, at most 64" \
  "broken.yaml:4:9: unknown event type 'transfre' (one of: account_open, login, transfer, red_packet_send, red_packet_claim, recall_request, complaint)" \
  "broken.yaml:7:9: unknown action 'lock' (expected freeze, face_verify or review)" \
  "broken.yaml:8:15: bad duration '10 minutes' for cooldown (an integer and a unit: ms, s, m, h or d, e.g. 1h)"; do
  grep -qxF -- "$line" "$work/err" || fail "broken file: missing line: $line"$'\n'"stderr was:"$'\n'"$(cat "$work/err")"
done
# Every error line is FILE:LINE:COLUMN: ..., sorted by position.
grep -vqE '^broken\.yaml:[0-9]+:[0-9]+: ' "$work/err" && fail "broken file: a stderr line without FILE:LINE:COLUMN:"$'\n'"$(cat "$work/err")"
sed -E 's/^broken\.yaml:([0-9]+):([0-9]+):.*/\1 \2/' "$work/err" >"$work/pos"
sort -n -k1,1 -k2,2 -c "$work/pos" 2>/dev/null || fail "broken file: errors not sorted by position"

# An expression error: the column is that of the offending token.
printf 'version: 1\nrules:\n  - id: a\n    when: ammount > 5\n    then:\n      - review: account\n' >"$work/typo.yaml"
(cd "$work" && "$RG_BIN" check-rules typo.yaml >/dev/null 2>err2); rc=$?
[ "$rc" -eq 2 ] || fail "misspelt name: exit $rc, expected 2"
grep -qxF "typo.yaml:4:11: unknown name 'ammount'" "$work/err2" || fail "misspelt name: got $(cat "$work/err2")"

# A file that cannot be read.
(cd "$work" && "$RG_BIN" check-rules nosuch.yaml >/dev/null 2>err3); rc=$?
[ "$rc" -eq 2 ] || fail "missing file: exit $rc, expected 2"
grep -q '^nosuch.yaml:1:1: cannot read the rule file' "$work/err3" || fail "missing file: got $(cat "$work/err3")"

# --- several files: one rule set, one id over the bytes in order
cat >"$work/more.yaml" <<'EOF'
version: 1
settings:
  history_horizon: 10d
lists:
  recall_tools: {append: [com.x.grab]}
rules:
  - id: large_transfer
    override: true
    on: transfer
    when: amount > 2000000
    then:
      - face_verify: account
EOF
both_id="$(cat "$RG_SOURCE_DIR/rules/default.yaml" "$work/more.yaml" | sha256sum | cut -c1-12)"
run "$RG_SOURCE_DIR/rules/default.yaml" "$work/more.yaml"
[ "$rc" -eq 0 ] || fail "two files: exit $rc: $(cat "$work/err")"
grep -qx "ruleset id $both_id" "$work/out" || fail "two files: the id is not sha256 of both files' bytes in order"
grep -q "^  large_transfer ($work/more.yaml:7)$" "$work/out" || fail "two files: large_transfer not from more.yaml"
grep -qx "  history_horizon 10d" "$work/out" || fail "two files: history_horizon of the later file not in force"
grep -qx "  recall_tools: 11 items" "$work/out" || fail "two files: append not counted"

# --- --json: the same, for CI
run --json "$RG_SOURCE_DIR/rules/default.yaml" "$work/more.yaml"
[ "$rc" -eq 0 ] || fail "--json: exit $rc"
jq -e --arg id "$both_id" '
    .ok == true and .ruleset == $id and (.files | length) == 2 and .errors == []
    and .settings.history_horizon_s == 864000 and (.lists.recall_tools | index("com.x.grab")) != null
    and ([.rules[].id] | length) == 13
    and (.rules[] | select(.id == "new_account_mule")
         | (.names | map(.key)) == ["counterparty_age_s", "counterparty_senders_24h"]
           and (.state[] | select(.name == "counterparty_senders(24h)") | .kept == "window" and .window_s == 86400))
    and (.rules[] | select(.id == "large_transfer") | .file | endswith("more.yaml"))
    and (.state[] | select(.family == "complaints") | .uses[0].kept == "history_horizon")
    and .horizons.longest_window_s == 86400 and .horizons.history_horizon_s == 864000' "$work/out" >/dev/null \
  || fail "--json: unexpected object: $(head -c 600 "$work/out")"
for f in "$RG_SOURCE_DIR"/tests/golden/*/rules.yaml "$RG_SOURCE_DIR"/tests/data/rules/*.yaml; do
  "$RG_BIN" check-rules --json "$f" >"$work/j.json" 2>/dev/null
  jq -e '(.ok == true and (.rules | type) == "array") or (.ok == false and (.errors | length) > 0)' "$work/j.json" \
    >/dev/null || fail "--json on $f: not one valid object: $(head -c 300 "$work/j.json")"
done
(cd "$work" && "$RG_BIN" check-rules --json broken.yaml >out 2>err); rc=$?
[ "$rc" -eq 2 ] || fail "--json on a broken file: exit $rc, expected 2"
jq -e '.ok == false and (.errors | length) >= 4
       and (.errors[] | select(.line == 4 and .column == 9)
            | .file == "broken.yaml" and (.message | startswith("unknown event type")))' "$work/out" >/dev/null \
  || fail "--json errors: $(cat "$work/out")"

# --- issue 12.4: durations above the maximum (36500d) refused, located
cat >"$work/durations.yaml" <<'EOF'
version: 1
settings:
  history_horizon: 106751991167d
  max_lateness: 36501d
  dedupe_horizon: 99999999999999999999999d
rules:
  - id: a
    when: amount > 1
    cooldown: 106751991167d
    then:
      - review: account
  - id: b
    when: count(106751991167d, type == login) > 1
    then:
      - review: account
  - id: c
    when: counterparty_senders(9999999999999d) > 1
    then:
      - review: account
  - id: d
    when: counterparty_age > 36501d
    then:
      - review: account
EOF
(cd "$work" && "$RG_BIN" check-rules durations.yaml >/dev/null 2>err4); rc=$?
[ "$rc" -eq 2 ] || fail "absurd durations: exit $rc, expected 2"
for pos in 3:20 4:17 5:19 9:15 13:17 17:32 21:30; do
  grep -q "^durations.yaml:$pos: duration '.*' .*longer than the maximum 36500d (100 years)$" "$work/err4" \
    || fail "absurd durations: nothing at $pos in: $(cat "$work/err4")"
done
(cd "$work" && "$RG_BIN" replay --quiet --geoip none --rules durations.yaml --out /dev/null /dev/null >/dev/null 2>err5); rc=$?
[ "$rc" -eq 2 ] || fail "replay with absurd durations: exit $rc, expected 2"
grep -q "^durations.yaml:9:15: duration '106751991167d' for cooldown" "$work/err5" || fail "replay: $(cat "$work/err5")"

# --- issue 12.1: a rule only true past history_horizon is refused
printf 'version: 1\nrules:\n  - id: late_refs\n    on: complaint\n    when: ref_age > 30d\n    then:\n      - review: ref_counterparty\n' \
  >"$work/horizon.yaml"
(cd "$work" && "$RG_BIN" check-rules horizon.yaml >/dev/null 2>err6); rc=$?
[ "$rc" -eq 2 ] || fail "ref_age > 30d with a 7d horizon: exit $rc, expected 2"
grep -q "^horizon.yaml:5:11: rule 'late_refs' can only be true past settings.history_horizon: 'ref_age > 30d'" "$work/err6" \
  || fail "horizon: got $(cat "$work/err6")"
printf 'version: 1\nsettings:\n  history_horizon: 31d\n' >"$work/longer.yaml"
(cd "$work" && "$RG_BIN" check-rules horizon.yaml longer.yaml >/dev/null 2>&1) || fail "a later file's 31d horizon: still refused"

# --- 40,000 distinct rules load (how fast: bench/run.sh rules); a 40,001st
# repeating an id is found and located.
python3 - "$work/many.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("version: 1\nrules:\n")
    for i in range(40000):
        f.write(f"  - id: r_{i}\n    on: transfer\n    when: amount > {i + 1}\n    then:\n      - review: account\n")
    f.write("  - id: r_39999\n    when: amount > 1\n    then:\n      - review: account\n")
PY
(cd "$work" && "$RG_BIN" check-rules many.yaml >/dev/null 2>err7); rc=$?
[ "$rc" -eq 2 ] || fail "40,001 rules with one duplicate: exit $rc, expected 2"
[ "$(cat "$work/err7")" = "many.yaml:200003:9: duplicate rule id 'r_39999' (first at line 199998)" ] \
  || fail "40,001 rules: got $(head -c 500 "$work/err7")"

# --- riskgate names: every name of rules.md, each usable in a rule
"$RG_BIN" names --json >"$work/names.json" || fail "names --json exited $?"
for n in type amount counterparty kind shares mode currency reason ip device_id region packet_id ref \
         client.automation client.hooked client.packages count counterparty_age counterparty_senders \
         geo_distance_km geo_accuracy_km ip_country new_device prev_login_country claim_delay packet_expired \
         packet_overclaimed packet_reclaimed clock_skew ref_age ref_counterparty abs any; do
  jq -e --arg n "$n" '.names[] | select(.name == $n) | (.type | length) > 0 and (.meaning | length) > 0
                      and (.family | length) > 0 and (.state | length) > 0 and (.kept | length) > 0' \
     "$work/names.json" >/dev/null || fail "names --json: no complete entry for '$n' (rules.md)"
done
jq -e '([.names[] | select(.name == "ref_age" or .name == "packet_expired") | .kept] == ["history_horizon", "history_horizon"])
       and (.names[] | select(.name == "counterparty_age") | .kept == "account" and .family == "counterparty")
       and (.names[] | select(.name == "count") | .usage == "count(W, FILTER)" and .evidence_key == "count_W")' \
   "$work/names.json" >/dev/null || fail "names --json: kept/usage wrong"
# Each listed name is one the loader resolves: a rule per name loads.
python3 - "$work/names.json" "$work/every_name.yaml" <<'PY'
import json, sys
names = json.load(open(sys.argv[1]))["names"]
cond = {"boolean": "{u}", "string": "{u} == account", "integer": "{u} > 1", "money": "{u} > 1",
        "duration": "{u} > 1s", "number": "{u} > 1", "string list": "any({u} in ['x'])"}
out = ["version: 1", "rules:"]
for i, n in enumerate(names):
    if n["kind"] == "function":
        u = {"abs": "abs(amount) > 1", "min": "min(amount, 2) > 1", "max": "max(amount, 2) > 1",
             "any": "any(client.packages in ['x'])"}[n["name"]]
    else:
        use = n["usage"].replace("(W, FILTER)", "(1h, type == login)").replace("(W)", "(1h)")
        u = cond[n["type"]].format(u=use)
    out += [f"  - id: r{i}", f"    when: \"{u}\"", "    then:", "      - review: account"]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
"$RG_BIN" check-rules "$work/every_name.yaml" >/dev/null 2>"$work/err8" \
  || fail "a rule using each name of names --json is refused: $(head -5 "$work/err8")"
"$RG_BIN" names >"$work/names.txt" || fail "names exited $?"
grep -q "^  counterparty_senders(W) *integer" "$work/names.txt" || fail "names: no counterparty_senders(W) line"
grep -q "state: per red packet" "$work/names.txt" || fail "names: no state text"

# --- usage
run --help
[ "$rc" -eq 0 ] || fail "--help exited $rc"
grep -q 'usage: riskgate check-rules' "$work/out" || fail "--help: no usage line on stdout"
run --no-such-flag "$RG_SOURCE_DIR/rules/default.yaml"
[ "$rc" -eq 2 ] || fail "unknown flag exited $rc, expected 2"
[ -s "$work/err" ] || fail "unknown flag: nothing on stderr"

if [ "$failures" -eq 0 ]; then echo "check-rules: all checks passed"; exit 0; fi
echo "check-rules: $failures check(s) failed"; exit 1
