#!/usr/bin/env bash
# make demo: replay the bundled sample through the default rules and show
# what riskgate decided, then score it against the sample's known answers.
set -euo pipefail
bin="$1"; geoip="$2"; sample="$3"
top="$(cd "$(dirname "$0")/.." && pwd)"
out="$top/var/demo"
mkdir -p "$out"
echo "== riskgate replay $sample"
"$bin" replay --geoip "$geoip" --out "$out/decisions.jsonl" --rejects "$out/rejects.jsonl" \
  --summary "$out/summary.json" "$sample"
echo
echo "== decisions per rule (from $out/summary.json)"
python3 - "$out/summary.json" "$out/decisions.jsonl" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for rule, n in s["hits"].items():
    print(f"  {rule:24} {n:5}")
print("  actions: " + ", ".join(f"{k} {v}" for k, v in s["actions"].items()))
print()
print("== three of the decisions, as the ledger receives them")
decs = [json.loads(l) for l in open(sys.argv[2])]
seen = set()
for d in decs:
    rid = d["rules"][0]["id"]
    if rid in seen:
        continue
    seen.add(rid)
    print(f"  {d['decision_id']}: {' + '.join(d['actions'])} on {d['subject']}")
    for r in d["rules"]:
        print(f"      {r['id']}: {r['reason']}")
        print(f"      evidence {json.dumps(r['evidence'])}")
    if len(seen) == 3:
        break
PY
echo
echo "== score against samples/expect.json"
python3 "$top/samples/score.py" "$top/samples/expect.json" "$out/decisions.jsonl" "$out/rejects.jsonl"
echo
echo "files: $out/decisions.jsonl, $out/rejects.jsonl, $out/summary.json"
