#!/bin/bash
# riskgate run --alerts on a stateful capture (stream_lib.sh) under the
# default rules with a 1 h cooldown on every rule: the alert store holds the
# same alerts replay --alerts stores (every decision, cooldown-suppressed
# ones too, same hits, same decision JSON); the emitted ones are exactly the
# decisions on the action topic. An analyst labels a frozen alert legit and
# resolves it with `riskgate alerts` while run is running: the release
# arrives on the action topic (key = subject, with decided_at) and its
# outbox row is marked sent. A second run over the same topic (a new group:
# every event re-delivered) adds no alert and sends no release again.
. "$(dirname "$0")/stream_lib.sh"

stateful_capture "$RG_TMP/capture.jsonl"
n_lines=$(wc -l <"$RG_TMP/capture.jsonl")
RULES="$RG_TMP/rules.yaml"
sed 's/^\(    message: .*\)$/\1\n    cooldown: 1h/' "$RG_SOURCE_DIR/rules/default.yaml" >"$RULES"
"$RG_BIN" replay --quiet --rules "$RULES" --out "$RG_TMP/replay.jsonl" --alerts "$RG_TMP/replay.db" \
    "$RG_TMP/capture.jsonl" || rg_fail "replay failed"
n_decisions=$(wc -l <"$RG_TMP/replay.jsonl")

# One line per alert and per hit, without the columns that differ by
# nature (row ids, the time it was stored).
dump_alerts() {
    sqlite3 "$1" "SELECT decision_id, event_id, subject, event_type, ts_ms, actions, ruleset, suppressed,
                         decision_json, event_json FROM alerts ORDER BY decision_id;
                  SELECT a.decision_id, h.position, h.rule_id, h.suppressed FROM hits h
                         JOIN alerts a ON a.id = h.alert_id ORDER BY a.decision_id, h.position;"
}
n_alerts=$(sqlite3 "$RG_TMP/replay.db" "SELECT count(*) FROM alerts")
n_suppressed=$(sqlite3 "$RG_TMP/replay.db" "SELECT count(*) FROM alerts WHERE suppressed = 1")
[ "$n_suppressed" -gt 0 ] && [ "$n_decisions" -gt 0 ] ||
    rg_fail "the capture should give decisions and cooldown-suppressed ones ($n_alerts alerts, $n_decisions decisions)"

mc_start riskgate.events:3 riskgate.actions:3 riskgate.deadletter:1
mc_group alerts 3
mc_group alerts-again 3
mc_cmd produce riskgate.events "$RG_TMP/capture.jsonl"
[ "$MC_ANSWER" = "ok $n_lines" ] || rg_fail "produced: $MC_ANSWER"

run_start run --group alerts --max-idle-ms 200 --rules "$RULES" --alerts "$RG_TMP/run.db"
wait_metric run riskgate_events_consumed_total "$n_lines" 180
read_topic riskgate.actions "$RG_TMP/actions.jsonl" "$n_decisions"
# Written within about a second of being decided (the loop is idle now).
wait_metric run riskgate_alerts_stored_total "$n_alerts" 30
dump_alerts "$RG_TMP/replay.db" >"$RG_TMP/replay.alerts"
dump_alerts "$RG_TMP/run.db" >"$RG_TMP/run.alerts"
if ! diff -u "$RG_TMP/replay.alerts" "$RG_TMP/run.alerts" >"$RG_TMP/alerts.diff"; then
    head -n 20 "$RG_TMP/alerts.diff" >&2
    rg_fail "alerts stored by run differ from replay --alerts"
fi
# The emitted alerts are exactly the decisions produced, one each.
sqlite3 "$RG_TMP/run.db" "SELECT decision_id FROM alerts WHERE suppressed = 0" | LC_ALL=C sort >"$RG_TMP/alert.ids"
jq -r .decision_id "$RG_TMP/actions.jsonl" | LC_ALL=C sort >"$RG_TMP/action.ids"
diff -u "$RG_TMP/action.ids" "$RG_TMP/alert.ids" >&2 || rg_fail "emitted alerts differ from the decisions produced"

# An analyst releases a frozen subject while run is running.
id=$(sqlite3 "$RG_TMP/run.db" "SELECT decision_id FROM alerts WHERE suppressed = 0 AND actions LIKE '%freeze%' ORDER BY ts_ms LIMIT 1")
subject=$(sqlite3 "$RG_TMP/run.db" "SELECT subject FROM alerts WHERE decision_id = '$id'")
[ -n "$id" ] || rg_fail "no frozen alert in the sample"
"$RG_BIN" alerts label --db "$RG_TMP/run.db" --by tester "$id" legit >/dev/null || rg_fail "alerts label"
"$RG_BIN" alerts resolve --db "$RG_TMP/run.db" --by tester "$id" >/dev/null || rg_fail "alerts resolve"
release_id=$(sqlite3 "$RG_TMP/run.db" "SELECT decision_id FROM outbox")
[ -n "$release_id" ] || rg_fail "resolving $id legit queued no release"
wait_metric run riskgate_releases_delivered_total 1 30
timeout 60 kcat -C -b "$MC_BOOTSTRAP" -t riskgate.actions -o beginning -c $((n_decisions + 1)) -q -f '%k\t%s\n' \
    >"$RG_TMP/all.tsv" || rg_fail "reading the release back"
grep -F "\"decision_id\":\"$release_id\"" "$RG_TMP/all.tsv" >"$RG_TMP/release.tsv" || rg_fail "no release on the action topic"
[ "$(wc -l <"$RG_TMP/release.tsv")" = 1 ] || rg_fail "the release was produced more than once"
IFS=$'\t' read -r key value <"$RG_TMP/release.tsv"
[ "$key" = "$subject" ] || rg_fail "release key $key is not the subject $subject"
jq -e '.actions == ["release"] and (.decided_at | test("Z$"))' <<<"$value" >/dev/null || rg_fail "release record: $value"
# Marked only from the delivery report: by now it is.
for _ in $(seq 50); do
    sent=$(sqlite3 "$RG_TMP/run.db" "SELECT count(*) FROM outbox WHERE sent_ms IS NOT NULL")
    [ "$sent" = 1 ] && break
    sleep 0.1
done
[ "$sent" = 1 ] || rg_fail "the delivered release is not marked sent"
run_stop run TERM
[ "$RUN_RC" = 0 ] || rg_fail "riskgate run exited $RUN_RC after SIGTERM"

# Every event again (a new group reads from the start): no alert twice, no
# release again.
run_start again --group alerts-again --max-idle-ms 200 --rules "$RULES" --alerts "$RG_TMP/run.db"
wait_metric again riskgate_events_consumed_total "$n_lines" 180
wait_metric again riskgate_alerts_stored_total "$n_alerts" 30
sleep 2   # at least one more outbox read
run_stop again TERM
[ "$RUN_RC" = 0 ] || rg_fail "second run exited $RUN_RC"
[ "$(sqlite3 "$RG_TMP/run.db" "SELECT count(*) FROM alerts")" = "$n_alerts" ] || rg_fail "re-delivered decisions added alerts"
extra=$(timeout 30 kcat -C -b "$MC_BOOTSTRAP" -t riskgate.actions -o beginning -e -q -f '%s\n' | grep -c '/release"')
[ "$extra" = 1 ] || rg_fail "release produced $extra times"
echo "ok: $n_alerts alerts ($n_suppressed under cooldown) as replay stores them; release delivered and marked once"
