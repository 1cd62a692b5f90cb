#!/bin/bash
# riskgate run as an operator runs it (issue 13): configured from a --config
# file (brokers, group, metrics, librdkafka properties with secrets read
# from a file and the environment) with a command-line --rules overriding
# the file's; /healthz answers 200 throughout; /readyz answers 503 with the
# reason while the brokers are down at start, 200 once the partitions are
# assigned, 503 "all brokers down" when they go down again and 200 when
# they are back; /metrics exports riskgate_build_info with the librdkafka
# version, riskgate_ruleset_info naming the command line's rules,
# riskgate_ready, and riskgate_rules_last_reload_successful 0 after a
# refused SIGHUP; no secret is in /proc/PID/cmdline or the log; SIGTERM
# exits 0.
. "$(dirname "$0")/stream_lib.sh"

mc_start riskgate.events:2 riskgate.actions:2 riskgate.deadletter:1
mc_group ops 2

secret_file="$RG_TMP/relogin"
printf '60000\n' >"$secret_file"
chmod 600 "$secret_file"
export RG_OPS_KINIT="kinit-s3cr3t-7f3a9"
cp "$RG_SOURCE_DIR/rules/default.yaml" "$RG_TMP/rules.yaml"
echo "rules: [this is: not: valid" >"$RG_TMP/broken.yaml"
cfg="$RG_TMP/run.conf"
cat >"$cfg" <<EOF
# the operator's file
brokers = $MC_BOOTSTRAP
group = ops
rules = $RG_TMP/broken.yaml
geoip = none
metrics = 127.0.0.1:0
log-level = info

[kafka]
client.id = riskgate-ops
# An integer property whose name looks secret: the literal "file:..."
# would be refused, the file's 60000 is not.
sasl.kerberos.min.time.before.relogin = file:$secret_file
sasl.kerberos.kinit.cmd = env:RG_OPS_KINIT
EOF

# readyz NAME -> "STATUS BODY"
readyz() { curl -s --max-time 5 -w ' %{http_code}' "http://127.0.0.1:${RUN_PORT[$1]}/readyz" | tr '\n' ' '; }
# wait_ready NAME STATUS TEXT TIMEOUT_S
wait_ready() {
    local deadline=$((SECONDS + $4)) r=""
    while [ $SECONDS -lt $deadline ]; do
        r=$(readyz "$1")
        [[ "$r" == *"$3"*" $2" ]] && return 0
        kill -0 "${RUN_PID[$1]}" 2>/dev/null || rg_fail "riskgate run ($1) exited"
        sleep 0.2
    done
    rg_fail "/readyz stayed '$r', wanted $2 '$3' for $4 s"
}
healthz_ok() {
    [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:${RUN_PORT[$1]}/healthz")" = 200 ] ||
        rg_fail "/healthz did not answer 200 ($2)"
}

# Every broker down before the start: the runner waits for them.
for b in 1 2 3; do mc_cmd down "$b"; done
"$RG_BIN" run --config "$cfg" --rules "$RG_TMP/rules.yaml" >"$RG_TMP/ops.out" 2>"$RG_TMP/ops.log" &
RUN_PID[ops]=$!
RG_PIDS+=($!)
run_port ops
healthz_ok ops "brokers down at start"
r=$(readyz ops)
[[ "$r" == "not ready: "*" 503" ]] || rg_fail "/readyz with every broker down at start: '$r'"

for b in 1 2 3; do mc_cmd up "$b"; done
wait_ready ops 200 "ready" 120
healthz_ok ops "ready"
grep -q 'msg="partitions assigned"' "$RG_TMP/ops.log" || rg_fail "ready before the partitions were assigned"
grep -q 'msg="tasks restored"' "$RG_TMP/ops.log" || rg_fail "ready before the tasks were restored"
[ "$(metric ops riskgate_ready)" = 1 ] || rg_fail "riskgate_ready is not 1 while /readyz answers 200"

# The info metrics.
curl -s --max-time 5 "http://127.0.0.1:${RUN_PORT[ops]}/metrics" >"$RG_TMP/metrics.txt"
version=$("$RG_BIN" --version | head -n 1 | awk '{ print $2 }')
rdkafka=$(pkg-config --modversion rdkafka)
grep -qE "^riskgate_build_info\{version=\"$version\",librdkafka=\"$rdkafka\",libmaxminddb=\"[0-9.]+\",sqlite=\"[0-9.]+\",libmicrohttpd=\"[0-9.]+\"\} 1$" \
    "$RG_TMP/metrics.txt" || rg_fail "no riskgate_build_info: $(grep build_info "$RG_TMP/metrics.txt")"
want_id=$("$RG_BIN" check-rules --json "$RG_TMP/rules.yaml" | jq -r .ruleset)
grep -qx "riskgate_ruleset_info{ruleset=\"$want_id\"} 1" "$RG_TMP/metrics.txt" ||
    rg_fail "riskgate_ruleset_info does not name the command line's rules ($want_id): $(grep ruleset_info "$RG_TMP/metrics.txt")"
age=$(metric ops riskgate_checkpoint_age_seconds)
awk -v a="$age" 'BEGIN { exit !(a >= 0) }' || rg_fail "riskgate_checkpoint_age_seconds is $age"

# No secret on the command line or in the log.
tr '\0' ' ' <"/proc/${RUN_PID[ops]}/cmdline" >"$RG_TMP/cmdline"
grep -q -e "$RG_OPS_KINIT" -e 60000 "$RG_TMP/cmdline" && rg_fail "a secret is in the command line: $(cat "$RG_TMP/cmdline")"
grep -q "$RG_OPS_KINIT" "$RG_TMP/ops.log" && rg_fail "a secret is in the log"

# A refused reload: the gauge says so, the running rules stay.
echo "rules: [this is: not: valid" >"$RG_TMP/rules.yaml"
kill -HUP "${RUN_PID[ops]}"
wait_metric ops 'riskgate_rule_reloads_total{result="refused"}' 1 30
[ "$(metric ops riskgate_rules_last_reload_successful)" = 0 ] || rg_fail "riskgate_rules_last_reload_successful is not 0"
[ "$(metric ops "riskgate_ruleset_info{ruleset=\"$want_id\"}")" = 1 ] || rg_fail "the running rule set changed"

# Every broker down while running: not ready, with the reason; alive.
for b in 1 2 3; do mc_cmd down "$b"; done
wait_ready ops 503 "not ready: all brokers down" 120
healthz_ok ops "brokers down"
for b in 1 2 3; do mc_cmd up "$b"; done
wait_ready ops 200 "ready" 120

run_stop ops TERM
[ "$RUN_RC" = 0 ] || rg_fail "exit $RUN_RC after SIGTERM"
echo "ok: --config, /healthz, /readyz (brokers down at start and while running), build and ruleset info, refused reload"
