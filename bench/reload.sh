#!/bin/bash
# bench/reload.sh BUILD_DIR — a SIGHUP reload of a large rule file while
# `riskgate run` streams (issue 12.5). riskgate runs the default pack on
# the bundled sample; then the rule file becomes the default pack plus
# RG_BENCH_RULES (default 40,000) distinct rules and gets SIGHUP while the
# second half of the sample is produced. Prints how long the load took
# (on the loader thread: SIGHUP to "rules reloaded"), how long the loop
# itself paused to move every task's state to the new set (swap_ms), and
# how many events were consumed while the load ran (decisions go on).
set -uo pipefail   # not -e: stream_lib.sh's exit trap tolerates failed kills
build=$(cd "${1:-build}" && pwd)
export RG_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
export RG_BIN=$build/riskgate RG_TEST_DATA=$RG_SOURCE_DIR/tests/data RG_TEST_BUILD=$build/tests
. "$RG_SOURCE_DIR/tests/cli/stream_lib.sh"
n_rules=${RG_BENCH_RULES:-40000}

mc_start riskgate.events:3 riskgate.actions:3 riskgate.deadletter:1
mc_group rl 3
cp "$RG_SOURCE_DIR/rules/default.yaml" "$RG_TMP/rules.yaml"
gzip -dc "$RG_SOURCE_DIR/samples/capture.jsonl.gz" |
    jq -R -r 'fromjson? | select(type == "object" and (.account | type) == "string") | "\(.account)\t\(tojson)"' \
        >"$RG_TMP/keyed.tsv"
half=$(($(wc -l <"$RG_TMP/keyed.tsv") / 2))
head -n "$half" "$RG_TMP/keyed.tsv" >"$RG_TMP/part1.tsv"
tail -n +"$((half + 1))" "$RG_TMP/keyed.tsv" >"$RG_TMP/part2.tsv"
{
    cat "$RG_SOURCE_DIR/rules/default.yaml"
    for ((i = 0; i < n_rules; i++)); do
        printf '  - id: bench_reload_%d\n    on: transfer\n    when: amount > %d\n    then:\n      - review: account\n    message: "bench %d"\n' \
            "$i" "$((100000000 + i))" "$i"
    done
} >"$RG_TMP/big.yaml"
"$RG_BIN" check-rules "$RG_TMP/big.yaml" >/dev/null || rg_fail "the big rule file is refused"

run_start run --group rl --rules "$RG_TMP/rules.yaml"
timeout 60 kcat -P -b "$MC_BOOTSTRAP" -t riskgate.events -K $'\t' -z none <"$RG_TMP/part1.tsv" ||
    rg_fail "kcat could not produce"
wait_metric run riskgate_events_consumed_total "$half" 120
before=$(metric run riskgate_events_consumed_total)
cp "$RG_TMP/big.yaml" "$RG_TMP/rules.yaml"
kill -HUP "${RUN_PID[run]}"
timeout 60 kcat -P -b "$MC_BOOTSTRAP" -t riskgate.events -K $'\t' -z none <"$RG_TMP/part2.tsv" &
kcat_pid=$!
wait_metric run 'riskgate_rule_reloads_total{result="ok"}' 1 120
during=$(metric run riskgate_events_consumed_total)
wait "$kcat_pid"
run_stop run TERM
[ "$RUN_RC" = 0 ] || rg_fail "exit $RUN_RC after SIGTERM"
/usr/bin/python3 - "$RG_TMP/run.log" "$n_rules" "$before" "$during" <<'PY'
import re, sys, datetime
log, n, before, during = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def ts(line):
    return datetime.datetime.strptime(re.match(r"ts=(\S+)", line).group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
lines = open(log).read().splitlines()
start = next(l for l in lines if "SIGHUP: loading" in l)
done = next(l for l in lines if 'msg="rules reloaded"' in l)
swap = re.search(r"swap_ms=([0-9.]+)", done).group(1)
print(f"reload of the default pack + {n} rules while streaming:")
print(f"  load on the loader thread (SIGHUP -> rules reloaded): {(ts(done) - ts(start)).total_seconds() * 1000:.0f} ms")
print(f"  the loop's own pause (state moved to the new set):    {swap} ms")
print(f"  events consumed while the load ran:                    {during - before}")
PY
