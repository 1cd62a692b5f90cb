#!/usr/bin/env python3
"""Helpers of bench/stream_tune.sh (docs/bench-stream.md, "Where the milliseconds go").

  stream_tune.py hist METRICS_AFTER METRICS_BEFORE NAME
      p50 p99 count (ms) of Prometheus histogram NAME between two scrapes of
      riskgate's /metrics, interpolated within the bucket that holds the rank
      (as histogram_quantile does); "nan nan 0" if riskgate does not export it.

  stream_tune.py split CAPTURE SERIES TRACE [WARMUP_MS]
      Per-decision split of the end-to-end latency. SERIES is what
      `bench_stream latency --series` wrote (phase, ms into the phase, latency,
      capture line, send us, receipt us); TRACE is what a riskgate built with
      bench/stream_trace.patch writes to $RG_EXP_TRACE: "P <hand-off us>
      <produce() us> <event_id>" per decision and "A <ack served us> <librdkafka
      produce->ack us> <event_id>" per acknowledgement, all CLOCK_REALTIME on
      this machine, as the send and receipt times are. Prints p50/p99 (ms) of
        in   send -> riskgate's consumer hands the event over
        rg   hand-off -> produce() of the decision (merge wait, parse, rules)
        out  produce() -> the benchmark's consumer reads the decision
        ack  hand-off -> the decision's delivery report is served
      and the mean of each part over the slowest 1% by end-to-end latency.

  stream_tune.py summary RESULTS [KEY,...]
      Median [min-max] per label of the key=value lines stream_tune.sh wrote.
"""
import collections
import math
import re
import statistics
import sys


def hist(after, before, name):
    def load(path):
        b = {}
        try:
            for line in open(path):
                if line.startswith(name + '_bucket{le="'):
                    le = line.split('"')[1]
                    b[math.inf if le == "+Inf" else float(le)] = float(line.split()[-1])
        except FileNotFoundError:
            pass
        return b
    a, b = load(after), load(before)
    if not a:
        print("nan nan 0")
        return
    bounds = sorted(a)
    cum = [a[x] - b.get(x, 0) for x in bounds]

    def q(p):
        if cum[-1] <= 0:
            return math.nan
        rank, lo, prev = p * cum[-1], 0.0, 0.0
        for x, c in zip(bounds, cum):
            if c >= rank:
                return lo * 1e3 if x == math.inf else (lo + (x - lo) * (rank - prev) / max(c - prev, 1e-9)) * 1e3
            lo, prev = x, c
        return math.nan
    print(f"{q(0.5):.2f} {q(0.99):.2f} {int(cum[-1])}")


def pct(values, q):
    v = sorted(x for x in values if x == x)
    if not v:
        return math.nan
    k = min(len(v), max(1, math.ceil(q * len(v))))
    return v[k - 1]


def split(capture, series, trace, warmup_ms=1000.0):
    pat = re.compile(rb'"event_id"\s*:\s*"([^"]*)"')
    ids = []
    for line in open(capture, "rb"):
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        m = pat.search(line)
        ids.append(m.group(1).decode() if m else "")
    produced, acked = {}, {}
    for line in open(trace):
        f = line.split()
        if len(f) < 4:
            continue
        target = produced if f[0] == "P" else acked if f[0] == "A" else None
        if target is not None and f[3] not in target:
            target[f[3]] = (int(f[1]), int(f[2]))
    rows = []
    for line in open(series):
        f = line.split()
        if len(f) < 6 or float(f[1]) < warmup_ms:
            continue
        n, sent, recv = int(f[3]), int(f[4]), int(f[5])
        p = produced.get(ids[n]) if n < len(ids) else None
        if not p:
            continue
        taken, prod = p
        a = acked.get(ids[n])
        rows.append({"e2e": (recv - sent) / 1e3, "in": (taken - sent) / 1e3, "rg": (prod - taken) / 1e3,
                     "out": (recv - prod) / 1e3, "ack": (a[0] - taken) / 1e3 if a else math.nan})
    out = [f"split_n={len(rows)}"]
    for k in ("in", "rg", "out", "ack"):
        v = [r[k] for r in rows]
        out.append(f"{k}_p50={pct(v, .5):.2f} {k}_p99={pct(v, .99):.2f}")
    rows.sort(key=lambda r: r["e2e"])
    tail = rows[-max(1, len(rows) // 100):] if rows else []
    if tail:
        out.append("tail_" + "_".join(f"{k}={sum(r[k] for r in tail) / len(tail):.1f}" for k in ("e2e", "in", "rg", "out")))
    print(" ".join(out))


def summary(path, keys):
    groups = collections.OrderedDict()
    for line in open(path):
        d = dict(t.split("=", 1) for t in line.split() if "=" in t)
        groups.setdefault(d.get("label"), []).append(d)
    print(f"{'label':24s} n " + " ".join(f"{k:>17s}" for k in keys))
    for label, rows in groups.items():
        cells = []
        for k in keys:
            v = []
            for r in rows:
                try:
                    x = float(r[k])
                except (KeyError, ValueError):
                    continue
                if x == x:
                    v.append(x)
            cells.append(f"{statistics.median(v):.1f} [{min(v):.1f}-{max(v):.1f}]" if v else "-")
        print(f"{label:24s} {len(rows)} " + " ".join(f"{c:>17s}" for c in cells))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "hist" and len(sys.argv) == 5:
        hist(*sys.argv[2:5])
    elif cmd == "split" and len(sys.argv) in (5, 6):
        split(*sys.argv[2:5], *(float(x) for x in sys.argv[5:6]))
    elif cmd == "summary" and len(sys.argv) in (3, 4):
        keys = (sys.argv[3] if len(sys.argv) == 4 else
                "floor_p50,floor_p99,e2e_p50,e2e_p99,in_p50,in_p99,rg_p50,rg_p99,out_p50,out_p99,drift").split(",")
        summary(sys.argv[2], keys)
    else:
        sys.exit(__doc__)
