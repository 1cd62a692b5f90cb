#!/usr/bin/env bash
# deploy/: the Grafana dashboard is valid JSON a Grafana can import (unique
# panel ids, every panel with a query on the data source variable, panels
# that do not overlap); the Prometheus rules pass `promtool check rules`,
# every alert fires and stays silent where riskgate-alerts.test.yml says
# (`promtool test rules`), and every alert has such a test; the scrape
# example passes `promtool check config`. Every riskgate_* metric the
# dashboard or the rules use is one stream/metrics.c exports, so a renamed
# metric cannot leave a silent panel or an alert that never fires.
set -uo pipefail
: "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
deploy="$RG_SOURCE_DIR/deploy"
work="$RG_TEST_BUILD/deploy_files"
rm -rf "$work"; mkdir -p "$work"
fail=0
bad() { echo "FAIL: $*"; fail=1; }
command -v promtool >/dev/null || { echo "FAIL: promtool missing (tools/install-deps.sh ops installs prometheus)"; exit 1; }

dash="$deploy/grafana/riskgate.json"
jq -e . "$dash" >/dev/null || bad "$dash is not valid JSON"
jq -e '.uid and .title and (.templating.list | map(.name) | index("datasource"))' "$dash" >/dev/null ||
  bad "dashboard lacks uid, title or the datasource variable"
# Panels (rows apart): unique ids, a datasource that is the variable, at
# least one target, every target with an expr.
jq -e '[.panels[].id] | length == (unique | length)' "$dash" >/dev/null || bad "duplicate panel ids"
jq -r '.panels[] | select(.type != "row") |
       select((.datasource.uid != "${datasource}") or ((.targets // []) | length == 0)
              or ((.targets // []) | any(.expr == null or .expr == "")))
       | .title' "$dash" >"$work/bad-panels"
[ -s "$work/bad-panels" ] && bad "panels without a query on \${datasource}: $(tr '\n' ',' <"$work/bad-panels")"
# No two panels overlap on the 24-column grid; none goes past it.
python3 - "$dash" <<'PY' || fail=1
import json, sys
d = json.load(open(sys.argv[1]))
cells = {}
ok = True
for p in d["panels"]:
    g = p["gridPos"]
    if g["x"] < 0 or g["x"] + g["w"] > 24:
        print(f"FAIL: panel {p['title']!r} goes past the grid"); ok = False
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            if (x, y) in cells:
                print(f"FAIL: panels {cells[(x, y)]!r} and {p['title']!r} overlap"); ok = False
            cells[(x, y)] = p["title"]
sys.exit(0 if ok else 1)
PY

# The metrics riskgate exports: every riskgate_* name in stream/metrics.c.
grep -o 'riskgate_[a-z_]*' "$RG_SOURCE_DIR/stream/metrics.c" | sort -u >"$work/exported"
[ "$(wc -l <"$work/exported")" -gt 30 ] || bad "too few metric names found in stream/metrics.c"
{
  jq -r '.. | .expr? // empty, .query?.query? // empty' "$dash"
  grep -E '^\s*expr:' "$deploy/prometheus/riskgate-alerts.yml"
} | grep -oE '(^|[^:a-z_])riskgate_[a-z_]+' | sed -E 's/^[^r]//' | sort -u >"$work/used"
comm -23 "$work/used" "$work/exported" >"$work/unknown"
[ -s "$work/unknown" ] && bad "deploy/ uses metrics riskgate does not export: $(tr '\n' ' ' <"$work/unknown")"
grep -qx riskgate_consumer_lag "$work/used" || bad "nothing in deploy/ watches riskgate_consumer_lag"

# Prometheus: rules, their unit tests, the scrape example.
(cd "$deploy/prometheus" && promtool check rules riskgate-alerts.yml) >"$work/check.log" 2>&1 ||
  bad "promtool check rules: $(cat "$work/check.log")"
(cd "$deploy/prometheus" && promtool test rules riskgate-alerts.test.yml) >"$work/test.log" 2>&1 ||
  bad "promtool test rules: $(cat "$work/test.log")"
(cd "$deploy/prometheus" && promtool check config prometheus-scrape.yml) >"$work/config.log" 2>&1 ||
  bad "promtool check config: $(cat "$work/config.log")"
# Every alert is tested, firing at least once.
grep -E '^\s*- alert:' "$deploy/prometheus/riskgate-alerts.yml" | awk '{ print $3 }' | sort -u >"$work/alerts"
for a in $(cat "$work/alerts"); do
  awk -v a="$a" '$1 == "alertname:" && $2 == a { want = 1; next }
                 want && /exp_alerts: *\[\]/ { want = 0 }
                 want && /exp_labels:/ { found = 1 }
                 END { exit !found }' "$deploy/prometheus/riskgate-alerts.test.yml" ||
    bad "alert $a has no firing test in riskgate-alerts.test.yml"
done
for a in RiskgateConsumerLagGrowing RiskgateDecisionsStopped RiskgateDeadLetterRate RiskgateCheckpointStale \
         RiskgateRuleReloadFailed; do
  grep -qx "$a" "$work/alerts" || bad "the alert $a (issue 13) is missing"
done

[ "$fail" = 0 ] && echo "ok: dashboard ($(jq '[.panels[] | select(.type != "row")] | length' "$dash") panels), $(wc -l <"$work/alerts") alerts tested, $(wc -l <"$work/used") metrics used, all exported"
exit "$fail"
