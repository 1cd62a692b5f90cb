#!/bin/bash
# tools/mock-cluster says what it keeps (issue 13): librdkafka's mock keeps
# only the newest ~5 MiB of each partition. A 7.7 MB capture produced into
# one partition loses its start, and `produce` says so ("ok N dropped D:
# ..."), as does `offsets` (the partition's low offset is D); the same
# capture over four partitions keeps everything ("ok N", every low offset
# 0). `offsets` of a missing topic is an error and does not create it.
. "$(dirname "$0")/stream_lib.sh"

mc_start one:1 four:4
grep -q "keeps only its newest 5 MiB" "$RG_TMP/mc.log" || rg_fail "mock-cluster does not say what it keeps at start"
python3 - "$RG_TMP/big.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(36000):
        f.write(json.dumps({"event_id": f"e{i:06d}", "account": f"a{i % 500}", "pad": "x" * 160}) + "\n")
PY
mc_cmd produce one "$RG_TMP/big.jsonl"
[[ "$MC_ANSWER" =~ ^ok\ 36000\ dropped\ ([0-9]+):\ .*5\ MiB ]] || rg_fail "produce into one partition: '$MC_ANSWER'"
dropped=${BASH_REMATCH[1]}
[ "$dropped" -gt 0 ] || rg_fail "nothing dropped"
grep -q "warning: one lost its $dropped oldest messages" "$RG_TMP/mc.log" || rg_fail "no warning on stderr"
mc_cmd offsets one
[ "$MC_ANSWER" = "ok 0:$dropped-36000" ] || rg_fail "offsets one: '$MC_ANSWER', expected 0:$dropped-36000"

mc_cmd produce four "$RG_TMP/big.jsonl"
[ "$MC_ANSWER" = "ok 36000" ] || rg_fail "produce into four partitions: '$MC_ANSWER'"
mc_cmd offsets four
[[ "$MC_ANSWER" =~ ^ok\ 0:0-[0-9]+\ 1:0-[0-9]+\ 2:0-[0-9]+\ 3:0-[0-9]+$ ]] || rg_fail "offsets four: '$MC_ANSWER'"

before=$(wc -l <"$RG_TMP/mc.out")
echo "offsets nope" >&7
for _ in $(seq 200); do [ "$(wc -l <"$RG_TMP/mc.out")" -gt "$before" ] && break; sleep 0.05; done
[ "$(tail -n 1 "$RG_TMP/mc.out")" = "error: nope: Local: Unknown topic" ] || rg_fail "offsets nope: $(tail -n 1 "$RG_TMP/mc.out")"
mc_cmd offsets four   # still answering; and "nope" was not created:
before=$(wc -l <"$RG_TMP/mc.out")
echo "offsets nope" >&7
for _ in $(seq 200); do [ "$(wc -l <"$RG_TMP/mc.out")" -gt "$before" ] && break; sleep 0.05; done
[[ "$(tail -n 1 "$RG_TMP/mc.out")" == error:* ]] || rg_fail "asking about 'nope' created it"
echo "ok: one partition dropped $dropped of 36000 and said so; four partitions kept all"
