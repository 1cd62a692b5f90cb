#!/usr/bin/env bash
# Regression (issue 12.7): slow clients cannot hold the review server.
# 80 connections from the same address each send a request line and then
# one header line every 2 s, never finishing their headers; meanwhile GET /
# must answer within 3 s, every time, and the slow connections must be
# closed by the server once their 10 s for the headers are up
# (docs/review.md, "Limits"). Before the fix the daemon's 64 slots filled
# and GET / timed out for as long as the slow clients stayed.
set -euo pipefail
: "${RG_BIN:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/serve_slow_clients"
rm -rf "$work"; mkdir -p "$work"

printf '%s\n' '{"decision_id":"e-1/u-1","event_id":"e-1","event_type":"transfer","subject":"u-1","actions":["review"],"rules":[{"id":"r"}],"ts":"2026-11-22T00:00:00.000Z","ruleset":"x"}' >"$work/d.jsonl"
"$RG_BIN" alerts import --db "$work/a.db" "$work/d.jsonl" 2>/dev/null

"$RG_BIN" serve --db "$work/a.db" --listen 127.0.0.1:0 --quiet >"$work/serve.log" 2>&1 &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
port=""
for _ in $(seq 1 100); do
  port="$(sed -n 's|^riskgate serve: review page at http://[^:]*:\([0-9]*\)/.*|\1|p' "$work/serve.log")"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "serve did not start"; cat "$work/serve.log"; exit 1; }

python3 - "$port" <<'PY'
import socket, sys, threading, time
port = int(sys.argv[1])
SLOW, LINE_EVERY = 80, 2.0
slow, closed_at, stop = [], {}, threading.Event()
t0 = time.monotonic()
for i in range(SLOW):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    slow.append(s)

def trickle():
    n = 0
    while not stop.is_set() and len(closed_at) < SLOW:
        for i, s in enumerate(slow):
            if i in closed_at:
                continue
            try:
                s.sendall(b"X-Slow-%d: %d\r\n" % (n, i))
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        closed_at[i] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                s.setblocking(True)
            except OSError:
                closed_at.setdefault(i, time.monotonic() - t0)
        n += 1
        stop.wait(LINE_EVERY)

th = threading.Thread(target=trickle, daemon=True)
th.start()
time.sleep(0.5)

def get_page():
    start = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.settimeout(3)
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.split(b"\r\n", 1)[0], time.monotonic() - start

failures = 0
for attempt in range(4):   # over ~6 s, while the slow clients are open
    try:
        status, took = get_page()
        ok = status.startswith(b"HTTP/1.1 200") and took < 3
    except OSError as e:
        status, took, ok = repr(e).encode(), 3.0, False
    print("GET / with %d slow connections open: %s in %.3f s" % (SLOW - len(closed_at), status.decode(), took))
    failures += not ok
    time.sleep(1.5)

# The server closes them when their time for the headers is up.
deadline = time.monotonic() + 20
while len(closed_at) < SLOW and time.monotonic() < deadline:
    time.sleep(0.5)
stop.set()
print("slow connections closed by the server: %d of %d, after %.1f-%.1f s" % (
    len(closed_at), SLOW, min(closed_at.values(), default=0), max(closed_at.values(), default=0)))
if len(closed_at) < SLOW:
    failures += 1
if failures:
    sys.exit("FAIL: the page did not answer within 3 s every time, or slow connections stayed open")
PY
