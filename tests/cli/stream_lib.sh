#!/bin/bash
# Shared helpers for the streaming script tests (tests/cli/stream_*.sh):
# a mock Kafka cluster (tools/mock-cluster.c) driven through a FIFO, the
# riskgate runner in the background, its metrics. Sourced by the tests;
# run on its own (ctest cli_stream_lib) it checks that the mock cluster
# starts, creates topics, takes commands and stops with its owner.
#
# Everything binds 127.0.0.1, every wait is bounded, and every process a
# test starts is stopped by its PID on exit (the cluster also exits when the
# FIFO's writer -- this shell -- goes away).

set -u
: "${RG_SOURCE_DIR:?RG_SOURCE_DIR must point at the source tree}"
: "${RG_BIN:?RG_BIN must point at the riskgate binary}"

RG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rg-stream.XXXXXX")
RG_PIDS=()

rg_cleanup() {
    local pid
    for pid in "${RG_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${RG_PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    done
    exec 7>&- 2>/dev/null
    [ -n "${RG_KEEP_TMP:-}" ] || rm -rf "$RG_TMP"
}
trap rg_cleanup EXIT

rg_fail() {
    echo "FAIL: $*" >&2
    for f in "$RG_TMP"/*.log; do
        [ -f "$f" ] && { echo "--- $f (tail)" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

# The mock-cluster program: next to the riskgate binary when the build
# made it, else compiled here from tools/mock-cluster.c.
rg_mock_cluster_bin() {
    local cand
    for cand in "${RG_MOCK_CLUSTER:-}" "$(dirname "$RG_BIN")/mock-cluster" "$(dirname "$RG_BIN")/tools/mock-cluster"; do
        [ -n "$cand" ] && [ -x "$cand" ] && { echo "$cand"; return; }
    done
    cc -std=gnu11 -O1 -o "$RG_TMP/mock-cluster" "$RG_SOURCE_DIR/tools/mock-cluster.c" -lrdkafka ||
        rg_fail "cannot build tools/mock-cluster.c"
    echo "$RG_TMP/mock-cluster"
}

# mc_start TOPIC:PARTITIONS...  -> sets MC_BOOTSTRAP
mc_start() {
    local bin args=() t
    bin=$(rg_mock_cluster_bin)
    for t in "$@"; do args+=(--topic "$t"); done
    mkfifo "$RG_TMP/mc.in"
    "$bin" --brokers 3 "${args[@]}" --bootstrap-file "$RG_TMP/mc.boot" <"$RG_TMP/mc.in" >"$RG_TMP/mc.out" 2>"$RG_TMP/mc.log" &
    RG_PIDS+=($!)
    exec 7>"$RG_TMP/mc.in"
    for _ in $(seq 100); do [ -s "$RG_TMP/mc.boot" ] && break; sleep 0.1; done
    [ -s "$RG_TMP/mc.boot" ] || rg_fail "mock cluster did not start"
    MC_BOOTSTRAP=$(cat "$RG_TMP/mc.boot")
}

# mc_cmd COMMAND... : send one command, wait (bounded) for its answer line.
mc_cmd() {
    local before after
    before=$(wc -l <"$RG_TMP/mc.out")
    echo "$*" >&7
    for _ in $(seq 1200); do
        after=$(wc -l <"$RG_TMP/mc.out")
        [ "$after" -gt "$before" ] && break
        sleep 0.05
    done
    MC_ANSWER=$(tail -n 1 "$RG_TMP/mc.out")
    case "$MC_ANSWER" in ok*) ;; *) rg_fail "mock cluster: $* -> $MC_ANSWER" ;; esac
}

# mc_group GROUP PARTITIONS : the internal topics of `riskgate run --group
# GROUP` over an events topic of PARTITIONS partitions (docs/scale-out.md:
# GROUP.entities and GROUP.decide with as many, GROUP.state with three
# times as many). A real cluster gets them from the runner (CreateTopics);
# librdkafka 2.0's mock cluster does not implement that request.
mc_group() {
    mc_cmd topic "$1.entities" "$2"
    mc_cmd topic "$1.decide" "$2"
    mc_cmd topic "$1.state" "$(($2 * 3))"
}

# run_start NAME ARGS... : riskgate run in the background, log in NAME.log,
# metrics on a free loopback port (run_port NAME learns it).
declare -A RUN_PID
run_start() {
    local name=$1; shift
    "$RG_BIN" run --brokers "$MC_BOOTSTRAP" --metrics 127.0.0.1:0 "$@" >"$RG_TMP/$name.out" 2>"$RG_TMP/$name.log" &
    RUN_PID[$name]=$!
    RG_PIDS+=($!)
}

# run_port NAME: learn the metrics port from the log (sets RUN_PORT[NAME]).
declare -A RUN_PORT
run_port() {
    local port=""
    [ -n "${RUN_PORT[$1]:-}" ] && return 0
    for _ in $(seq 200); do
        port=$(sed -n 's/.*msg="metrics endpoint".* port=\([0-9]*\).*/\1/p' "$RG_TMP/$1.log" | tail -n 1)
        [ -n "$port" ] && break
        kill -0 "${RUN_PID[$1]}" 2>/dev/null || rg_fail "riskgate run ($1) exited early"
        sleep 0.05
    done
    [ -n "$port" ] || rg_fail "no metrics endpoint in $1.log"
    RUN_PORT[$1]=$port
}

# metric NAME METRIC -> value (0 when absent); call run_port NAME first.
metric() {
    local v
    v=$(curl -s --max-time 5 "http://127.0.0.1:${RUN_PORT[$1]}/metrics" | awk -v m="$2" '$1 == m { print $2 }')
    echo "${v:-0}"
}

# wait_metric NAME METRIC VALUE [TIMEOUT_S] : until METRIC >= VALUE.
wait_metric() {
    local name=$1 m=$2 want=$3 timeout=${4:-120} v=0
    local deadline=$((SECONDS + timeout))
    run_port "$name"
    while [ $SECONDS -lt $deadline ]; do
        v=$(metric "$name" "$m")
        awk -v v="$v" -v w="$want" 'BEGIN { exit !(v + 0 >= w + 0) }' && return 0
        kill -0 "${RUN_PID[$name]}" 2>/dev/null || rg_fail "riskgate run ($name) exited while waiting for $m"
        sleep 0.2
    done
    rg_fail "$m stayed at $v (wanted $want) for ${timeout}s"
}

# run_stop NAME [SIGNAL] -> exit status in RUN_RC
run_stop() {
    local name=$1 sig=${2:-TERM} pid=${RUN_PID[$1]}
    kill -"$sig" "$pid"
    for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && rg_fail "riskgate run ($name) did not stop within 60 s"
    wait "$pid"
    RUN_RC=$?
}

# read_topic TOPIC OUTFILE COUNT : read COUNT records (values) with kcat.
read_topic() {
    timeout 120 kcat -C -b "$MC_BOOTSTRAP" -t "$1" -o beginning -c "$3" -q -f '%s\n' >"$2" 2>"$RG_TMP/kcat-read.log" ||
        rg_fail "reading $3 records from $1"
}

# stateful_capture OUT : a capture (JSON Lines, time-ordered, ~3,600
# events over 10 hours) whose decisions depend on state built up across
# the whole stream: 4 accounts making 60 payments each (hf_transfers_24h
# fires from the 51st), and 6 new accounts each receiving from 8 distinct
# senders, 4 early and 4 late (new_account_mule fires from the 5th), amid
# background transfers. A consumer that loses its state halfway misses
# those decisions. Deterministic (fixed seed).
stateful_capture() {
    python3 - "$1" <<'PY'
import json, random, sys
rnd = random.Random(7)
T0 = 1763596800000          # 2026-11-20T00:00:00Z
items = []                  # (position in [0, 1), event without ts/event_id)
for m in range(6):
    items.append((0.0, {"type": "account_open", "account": f"mule{m}", "region": "CN"}))
    for k in range(8):
        pos = (0.05 + 0.05 * k) if k < 4 else (0.60 + 0.07 * (k - 4))
        items.append((pos + m * 0.004, {"type": "transfer", "account": f"snd{m}-{k}", "counterparty": f"mule{m}",
                                         "amount": 20000 + k, "currency": "CNY"}))
for v in range(4):
    for k in range(60):
        items.append(((k + 0.5) / 60.0 + v * 0.001, {"type": "transfer", "account": f"fast{v}",
                                                     "counterparty": f"bg{rnd.randrange(300):03d}",
                                                     "amount": 5000 + k, "currency": "CNY"}))
for k in range(3300):
    a, b = rnd.randrange(300), rnd.randrange(300)
    items.append((rnd.random(), {"type": "transfer", "account": f"bg{a:03d}", "counterparty": f"bg{b:03d}",
                                 "amount": rnd.randrange(100, 500000), "currency": "CNY"}))
items.sort(key=lambda x: x[0])
with open(sys.argv[1], "w") as f:
    for i, (_, e) in enumerate(items):
        e = {"event_id": f"s-{i:05d}", **e, "ts": T0 + i * 10000}
        f.write(json.dumps(e, separators=(",", ":")) + "\n")
PY
}

# Self-check when run directly.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    mc_start t:2
    mc_cmd topic u 4
    mc_cmd down 2
    mc_cmd up 2
    printf '{"account":"a","x":1}\n{"account":"b","x":2}\n' >"$RG_TMP/two.jsonl"
    mc_cmd produce t "$RG_TMP/two.jsonl"
    [ "$MC_ANSWER" = "ok 2" ] || rg_fail "produce answered $MC_ANSWER"
    read_topic t "$RG_TMP/two.out" 2
    [ "$(sort "$RG_TMP/two.out" | head -n 1)" = '{"account":"a","x":1}' ] || rg_fail "read back"
    echo "ok: mock cluster at $MC_BOOTSTRAP"
fi
