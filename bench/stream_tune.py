#!/usr/bin/env python3
"""Helpers of bench/stream_tune.sh (docs/bench-stream.md).

  stream_tune.py hist METRICS_AFTER METRICS_BEFORE NAME
      p50 p99 count (ms) of Prometheus histogram NAME between two scrapes of
      riskgate's /metrics, interpolated within the bucket that holds the rank
      (as histogram_quantile does); "nan nan 0" if riskgate does not export it.

  stream_tune.py summary RESULTS [KEY,...]
      Median [min-max] per label of the key=value lines stream_tune.sh wrote.
"""
import collections
import math
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
    elif cmd == "summary" and len(sys.argv) in (3, 4):
        keys = (sys.argv[3] if len(sys.argv) == 4 else
                "floor_p50,floor_p99,e2e_p50,e2e_p99,in_p50,in_p99,ent_p50,ent_p99,dec_p50,dec_p99,own_p50,own_p99,"
                "out_p50,out_p99,rtt_p50,drift").split(",")
        summary(sys.argv[2], keys)
    else:
        sys.exit(__doc__)
