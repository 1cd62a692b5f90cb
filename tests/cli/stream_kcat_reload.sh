#!/bin/bash
# An outside client (the Debian kcat binary) produces events to the mock
# cluster's bootstrap address and reads riskgate's decisions; SIGHUP
# reloads the rule file (a good file is swapped in, a broken one is
# refused and the running rules stay); SIGTERM drains and exits 0.
. "$(dirname "$0")/stream_lib.sh"

mc_start riskgate.events:3 riskgate.actions:3 riskgate.deadletter:1
mc_group kcat 3
cp "$RG_SOURCE_DIR/rules/default.yaml" "$RG_TMP/rules.yaml"

# The capture's valid events, key = account, as kcat -K<TAB> input.
gzip -dc "$RG_SOURCE_DIR/samples/capture.jsonl.gz" | jq -R -r 'fromjson? | select(type == "object" and (.account | type) == "string") | "\(.account)\t\(tojson)"' \
    >"$RG_TMP/keyed.tsv"
head -n 4000 "$RG_TMP/keyed.tsv" >"$RG_TMP/part1.tsv"
tail -n +4001 "$RG_TMP/keyed.tsv" >"$RG_TMP/part2.tsv"
n1=$(wc -l <"$RG_TMP/part1.tsv")
n_all=$(wc -l <"$RG_TMP/keyed.tsv")

run_start run --group kcat --rules "$RG_TMP/rules.yaml"
timeout 60 kcat -P -b "$MC_BOOTSTRAP" -t riskgate.events -K $'\t' -z none <"$RG_TMP/part1.tsv" ||
    rg_fail "kcat could not produce"
wait_metric run riskgate_events_consumed_total "$n1" 120

# A good reload (same rules, one comment more: a new ruleset id).
echo "# reloaded" >>"$RG_TMP/rules.yaml"
kill -HUP "${RUN_PID[run]}"
wait_metric run 'riskgate_rule_reloads_total{result="ok"}' 1 30
# A broken file is refused; the process keeps running on the old rules.
echo "rules: [this is: not: valid" >"$RG_TMP/rules.yaml"
kill -HUP "${RUN_PID[run]}"
wait_metric run 'riskgate_rule_reloads_total{result="refused"}' 1 30
grep -q 'msg="rule file refused; the running rules stay"' "$RG_TMP/run.log" || rg_fail "refusal not logged"

timeout 60 kcat -P -b "$MC_BOOTSTRAP" -t riskgate.events -K $'\t' -z none <"$RG_TMP/part2.tsv" ||
    rg_fail "kcat could not produce"
wait_metric run riskgate_events_consumed_total "$n_all" 120
n_dec=$(metric run riskgate_decisions_total)
[ "$n_dec" -gt 0 ] || rg_fail "no decisions"
# kcat reads the decisions: keyed by subject, with decided_at.
timeout 60 kcat -C -b "$MC_BOOTSTRAP" -t riskgate.actions -o beginning -c "$n_dec" -q -f '%k\t%s\n' >"$RG_TMP/actions.tsv" ||
    rg_fail "kcat could not read $n_dec decisions"
while IFS=$'\t' read -r key value; do
    [ "$(jq -r .subject <<<"$value")" = "$key" ] || rg_fail "key $key is not the subject: $value"
    jq -e '.decided_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{12}Z$")' <<<"$value" >/dev/null ||
        rg_fail "no decided_at: $value"
done <"$RG_TMP/actions.tsv"

run_stop run TERM
[ "$RUN_RC" = 0 ] || rg_fail "exit $RUN_RC after SIGTERM"
echo "ok: $n_all events via kcat, $n_dec decisions read back, reload ok + refused"
