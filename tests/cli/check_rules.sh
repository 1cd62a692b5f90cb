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

# --- usage
run --help
[ "$rc" -eq 0 ] || fail "--help exited $rc"
grep -q 'usage: riskgate check-rules' "$work/out" || fail "--help: no usage line on stdout"
run --no-such-flag "$RG_SOURCE_DIR/rules/default.yaml"
[ "$rc" -eq 2 ] || fail "unknown flag exited $rc, expected 2"
[ -s "$work/err" ] || fail "unknown flag: nothing on stderr"

if [ "$failures" -eq 0 ]; then echo "check-rules: all checks passed"; exit 0; fi
echo "check-rules: $failures check(s) failed"; exit 1
