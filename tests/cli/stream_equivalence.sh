#!/bin/bash
# riskgate run on a 3-partition topic holding the sample capture (keyed by
# account, published in capture order) gives the same set of decisions,
# less decided_at, as riskgate replay on the capture; every reject goes to
# the dead-letter topic with source = topic/partition/offset; SIGTERM
# drains and exits 0 with every offset committed.
. "$(dirname "$0")/stream_lib.sh"

CAPTURE="$RG_SOURCE_DIR/samples/capture.jsonl.gz"
"$RG_BIN" replay --quiet --out "$RG_TMP/replay.jsonl" --rejects "$RG_TMP/replay.rej" "$CAPTURE" ||
    rg_fail "replay failed"
n_decisions=$(wc -l <"$RG_TMP/replay.jsonl")
n_rejects=$(wc -l <"$RG_TMP/replay.rej")
gzip -dc "$CAPTURE" | grep -a -v '^[[:space:]]*$' >"$RG_TMP/capture.jsonl"
n_lines=$(wc -l <"$RG_TMP/capture.jsonl")

mc_start riskgate.events:3 riskgate.actions:3 riskgate.deadletter:1
mc_group eq 3
mc_cmd produce riskgate.events "$RG_TMP/capture.jsonl"
[ "$MC_ANSWER" = "ok $n_lines" ] || rg_fail "produced: $MC_ANSWER"

# Generous merge waits: every partition holds data from the start, so the
# event-time merge is exact however slow a fetch is.
run_start run --group eq --max-idle-ms 200
wait_metric run riskgate_events_consumed_total "$n_lines" 180
read_topic riskgate.actions "$RG_TMP/actions.jsonl" "$n_decisions"
read_topic riskgate.deadletter "$RG_TMP/deadletter.jsonl" "$n_rejects"
run_stop run TERM
[ "$RUN_RC" = 0 ] || rg_fail "riskgate run exited $RUN_RC after SIGTERM"

# Decisions: same set, decided_at aside (and present on every one).
jq -e 'has("decided_at")' "$RG_TMP/actions.jsonl" >/dev/null || rg_fail "a decision lacks decided_at"
jq -c 'del(.decided_at)' "$RG_TMP/actions.jsonl" | sort >"$RG_TMP/stream.sorted"
jq -c . "$RG_TMP/replay.jsonl" | sort >"$RG_TMP/replay.sorted"
if ! diff -u "$RG_TMP/replay.sorted" "$RG_TMP/stream.sorted" >"$RG_TMP/diff.txt"; then
    head -n 20 "$RG_TMP/diff.txt" >&2
    rg_fail "decisions differ from replay"
fi
# Nothing extra arrived after the expected count (no duplicates on a clean run).
extra=$(timeout 30 kcat -C -b "$MC_BOOTSTRAP" -t riskgate.actions -o beginning -e -q -f '%s\n' | wc -l)
[ "$extra" = "$n_decisions" ] || rg_fail "action topic holds $extra records, replay gave $n_decisions"

# Dead letters: the events.md form, source = topic/partition/offset.
jq -e 'has("error") and has("field") and (.source | test("^riskgate\\.events/[0-2]/[0-9]+$")) and (has("raw") or has("raw_base64"))' \
    "$RG_TMP/deadletter.jsonl" >/dev/null || rg_fail "dead-letter record not in events.md form"
jq -r .error "$RG_TMP/replay.rej" | sort >"$RG_TMP/rej.replay"
jq -r .error "$RG_TMP/deadletter.jsonl" | sort >"$RG_TMP/rej.stream"
diff -u "$RG_TMP/rej.replay" "$RG_TMP/rej.stream" >&2 || rg_fail "dead letters differ from replay's rejects"

# Offsets: committed to the end of every partition.
grep -q 'msg="draining' "$RG_TMP/run.log" || rg_fail "no drain logged"
echo "ok: $n_decisions decisions and $n_rejects dead letters, same as replay"
