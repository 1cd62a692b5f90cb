#!/usr/bin/env bash
# replay and a bad GeoIP database or a bad input (issue 12.10):
#  - --max-rejects N writes at most N rejects; the rest are counted
#    (rejected.total) and reported (rejects_not_written); a bad N is a
#    usage error (2);
#  - a database whose search tree points outside its data section is
#    refused at open: exit 2, the path and "inconsistent search tree";
#  - a database with a corrupt data record opens, and every lookup that
#    fails on it is counted in the summary (geoip_lookup_errors) and on
#    stderr, while the event is still decided (geo names unknown);
#  - an alert store that cannot be used (a directory, not SQLite, a newer
#    schema) is a configuration error (2) for replay --alerts and alerts
#    label alike (cli.md), a missing one for alerts label (replay creates
#    it); an unknown alert id is another failure (1).
# The test databases come from the geo_mmdb fixture (tests/data/geo).
set -euo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/replay_geoip_limits"
rm -rf "$work"; mkdir -p "$work"
flat="$RG_TEST_BUILD/geo/flat.mmdb"
[ -s "$flat" ] || { echo "missing $flat (the geo_mmdb fixture)"; exit 1; }
sample="$RG_SOURCE_DIR/samples/capture.jsonl.gz"
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- --max-rejects
"$RG_BIN" replay --quiet --geoip none --out /dev/null --rejects "$work/rejects" --max-rejects 5 \
  --summary "$work/summary" "$sample"
[ "$(wc -l < "$work/rejects")" -eq 5 ] || fail "--max-rejects 5 wrote $(wc -l < "$work/rejects") rejects"
total=$(jq .rejected.total "$work/summary")
[ "$total" -gt 5 ] || fail "the sample should have more than 5 rejects, has $total"
[ "$(jq .rejects_not_written "$work/summary")" -eq $((total - 5)) ] || fail "rejects_not_written: $(cat "$work/summary")"
"$RG_BIN" replay --quiet --geoip none --out /dev/null --rejects "$work/rejects" --max-rejects 0 \
  --summary "$work/summary" "$sample"
[ ! -s "$work/rejects" ] || fail "--max-rejects 0 wrote rejects"
[ "$(jq .rejects_not_written "$work/summary")" -eq "$total" ] || fail "--max-rejects 0: $(cat "$work/summary")"
"$RG_BIN" replay --quiet --geoip none --out /dev/null --rejects "$work/rejects" --summary "$work/summary" "$sample"
[ "$(wc -l < "$work/rejects")" -eq "$total" ] || fail "without --max-rejects every reject is written"
[ "$(jq .rejects_not_written "$work/summary")" -eq 0 ] || fail "rejects_not_written without a limit"
for bad in -1 x 1.5 ""; do
  set +e; "$RG_BIN" replay --quiet --max-rejects "$bad" "$sample" >/dev/null 2>"$work/err"; rc=$?; set -e
  [ "$rc" -eq 2 ] || fail "--max-rejects '$bad': exit $rc, expected 2"
  grep -q -- "--max-rejects" "$work/err" || fail "--max-rejects '$bad': $(cat "$work/err")"
done

# ---- corrupt copies of flat.mmdb: the record on the way to
# 2001:db8:1::1 (Tokyo) points past the data section ("tree"), or that
# network's data record loses its first key's type ("data").
python3 - "$flat" "$work" <<'PY'
import ipaddress, struct, sys
src, out = sys.argv[1], sys.argv[2]
b = bytearray(open(src, 'rb').read())
meta = b.rfind(b'\xab\xcd\xefMaxMind.com')
def meta_uint(key):
    k = key.encode()
    i = b.index(bytes([0x40 | len(k)]) + k, meta) + 1 + len(k)
    n = b[i] & 0x1f
    return int.from_bytes(b[i + 1:i + 1 + n], 'big')
node_count, record_size = meta_uint('node_count'), meta_uint('record_size')
assert record_size == 24, record_size
bits = int(ipaddress.ip_address('2001:db8:1::1'))
node = 0
for depth in range(128):
    side = (bits >> (127 - depth)) & 1
    at = node * 6 + side * 3
    rec = int.from_bytes(b[at:at + 3], 'big')
    if rec > node_count:
        break
    node = rec
tree = bytearray(b); tree[at:at + 3] = b'\xff\xff\xff'
open(f'{out}/tree.mmdb', 'wb').write(tree)
data = bytearray(b)
off = node_count * 6 + 16 + (rec - node_count - 16)
assert data[off] >> 5 == 7, 'a map'   # map with its size in the low bits
data[off + 1:off + 3] = b'\x00\xf0'    # the first key: extended type 7 + 0xf0, no type
open(f'{out}/data.mmdb', 'wb').write(data)
PY

set +e; "$RG_BIN" replay --quiet --geoip "$work/tree.mmdb" --out /dev/null "$sample" 2>"$work/err"; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "a broken search tree: exit $rc, expected 2"
grep -q "$work/tree.mmdb: inconsistent search tree" "$work/err" || fail "message: $(cat "$work/err")"

cat > "$work/events.jsonl" <<'EOF'
{"event_id":"g-1","type":"login","ts":"2026-11-22T08:00:00Z","account":"u","ip":"2001:db8:1::1","device_id":"d-1"}
{"event_id":"g-2","type":"login","ts":"2026-11-22T08:01:00Z","account":"u","ip":"1.0.0.1","device_id":"d-1"}
{"event_id":"g-3","type":"login","ts":"2026-11-22T08:02:00Z","account":"u","ip":"2001:db8:1::9","device_id":"d-2"}
{"event_id":"g-4","type":"login","ts":"2026-11-22T08:03:00Z","account":"v","ip":"2001:db8:1::2","device_id":"d-3"}
EOF
"$RG_BIN" replay --geoip "$work/data.mmdb" --out "$work/decisions" --summary "$work/summary" "$work/events.jsonl" \
  2>"$work/err" || fail "a corrupt data record must not stop the replay: $(cat "$work/err")"
[ "$(jq .geoip_lookup_errors "$work/summary")" -eq 3 ] || fail "geoip_lookup_errors: $(cat "$work/summary")"
grep -q "3 GeoIP lookups failed on a database error" "$work/err" || fail "stderr: $(cat "$work/err")"
[ "$(jq .evaluated "$work/summary")" -eq 4 ] || fail "every event is still evaluated"
"$RG_BIN" replay --geoip "$flat" --out /dev/null --summary "$work/summary" "$work/events.jsonl" 2>"$work/err"
[ "$(jq .geoip_lookup_errors "$work/summary")" -eq 0 ] || fail "a sound database counts no error"
! grep -q "GeoIP lookups failed" "$work/err" || fail "stderr mentions errors for a sound database"

# ---- alert stores: the same exit status from both commands
"$RG_BIN" replay --quiet --geoip none --alerts "$work/good.db" --out "$work/dec" "$sample"
id=$(head -n 1 "$work/dec" | jq -r .decision_id)
"$RG_BIN" alerts label --db "$work/good.db" "$id" fraud --by t >/dev/null || fail "label on a good store"
set +e; "$RG_BIN" alerts label --db "$work/good.db" "no-such/alert" fraud --by t 2>/dev/null; rc=$?; set -e
[ "$rc" -eq 1 ] || fail "an unknown alert: exit $rc, expected 1"
mkdir "$work/dir.db"
echo "not a database at all, not even close" > "$work/text.db"
cp "$work/good.db" "$work/newer.db"; python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()" "$work/newer.db"
set +e; "$RG_BIN" alerts label --db "$work/missing.db" "$id" fraud --by t 2>/dev/null; rc=$?; set -e
[ "$rc" -eq 2 ] || fail "a missing store: alerts label exit $rc, expected 2 (replay --alerts creates one)"
for db in dir.db text.db newer.db; do
  set +e
  "$RG_BIN" alerts label --db "$work/$db" "$id" fraud --by t 2>/dev/null; label_rc=$?
  "$RG_BIN" replay --quiet --geoip none --alerts "$work/$db" --out /dev/null "$sample" 2>/dev/null; replay_rc=$?
  set -e
  [ "$label_rc" -eq 2 ] && [ "$replay_rc" -eq 2 ] || fail "$db: alerts label exit $label_rc, replay --alerts exit $replay_rc (both 2)"
done
echo "ok"
