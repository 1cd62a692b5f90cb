#!/usr/bin/env bash
# Regression (issue 12.3): decision ids escape '%' and '/' in each part
# (detection.md "Decisions"), so event x/y on account z and event x on
# account y/z are two alerts, x%2Fy/z and x/y%2Fz, from `replay --alerts`
# and from `alerts import`; each is shown, labelled and listed by its own
# id; an imported line whose id was not escaped is refused with the id it
# should have had.
set -euo pipefail
: "${RG_BIN:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/review_decision_ids"
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

cat >"$work/events.jsonl" <<'JSON'
{"event_id":"x/y","type":"transfer","ts":"2026-11-22T00:00:00Z","account":"z","counterparty":"u-b","amount":5000001}
{"event_id":"x","type":"transfer","ts":"2026-11-22T00:00:01Z","account":"y/z","counterparty":"u-b","amount":5000001}
{"event_id":"50%off","type":"transfer","ts":"2026-11-22T00:00:02Z","account":"a%2Fb","counterparty":"u-b","amount":5000001}
JSON

"$RG_BIN" replay --quiet --alerts "$work/a.db" --out "$work/decisions.jsonl" "$work/events.jsonl"
ids="$("$RG_BIN" alerts list --db "$work/a.db" --order oldest --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["total"]); [print(a["id"], a["event_id"], a["subject"]) for a in d["alerts"]]')"
expected='3
x%2Fy/z x/y z
x/y%2Fz x y/z
50%25off/a%252Fb 50%off a%2Fb'
[ "$ids" = "$expected" ] || fail "replay --alerts stored:
$ids
expected:
$expected"

# Each id opens its own alert; the unescaped form is no id at all.
# (captured first: grep -q closing the pipe early would fail the pipeline)
shown="$("$RG_BIN" alerts show --db "$work/a.db" 'x%2Fy/z')"
grep -q '^subject    z$' <<<"$shown" || fail "show x%2Fy/z: $shown"
shown="$("$RG_BIN" alerts show --db "$work/a.db" 'x/y%2Fz')"
grep -q '^subject    y/z$' <<<"$shown" || fail "show x/y%2Fz: $shown"
if "$RG_BIN" alerts show --db "$work/a.db" 'x/y/z' 2>"$work/err"; then fail "x/y/z should not exist"; fi
grep -q "written %2F and %25" "$work/err" || fail "no hint for a malformed id: $(cat "$work/err")"
"$RG_BIN" alerts label --db "$work/a.db" 'x/y%2Fz' fraud --by ana >/dev/null
[ "$("$RG_BIN" alerts list --db "$work/a.db" --label fraud --json | python3 -c 'import json,sys; print(" ".join(a["id"] for a in json.load(sys.stdin)["alerts"]))')" = 'x/y%2Fz' ] \
  || fail "labelling x/y%2Fz labelled something else"

# The same decisions imported into a fresh store: the same three alerts.
"$RG_BIN" alerts import --db "$work/b.db" "$work/decisions.jsonl" 2>"$work/import.err"
grep -q "3 alerts added, 0 already stored, 0 bad lines" "$work/import.err" || fail "import: $(cat "$work/import.err")"

# A decision whose id was not escaped is refused, not merged into another.
printf '%s\n' '{"decision_id":"x/y/z","event_id":"x/y","event_type":"transfer","subject":"z","actions":["face_verify"],"rules":[{"id":"large_transfer"}],"ts":"2026-11-22T00:00:00.000Z","ruleset":"r"}' >"$work/old.jsonl"
"$RG_BIN" alerts import --db "$work/c.db" "$work/old.jsonl" 2>"$work/old.err" || true
grep -q "old.jsonl:1: .*expected 'x%2Fy/z'" "$work/old.err" || fail "unescaped import id: $(cat "$work/old.err")"
grep -q "0 alerts added, 0 already stored, 1 bad lines" "$work/old.err" || fail "unescaped import counted: $(cat "$work/old.err")"
echo "ok: escaped decision ids through replay, show, label, list and import"
