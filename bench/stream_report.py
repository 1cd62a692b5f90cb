#!/usr/bin/env python3
"""Reports of bench/run.sh stream (docs/bench-stream.md).

  stream_report.py check REPLAY_DECISIONS ACTIONS [REPLAY_REJECTS DEADLETTER]
      The action topic (one JSON decision a line, as `bench_stream dump`
      prints it) against `riskgate replay --out`: duplicates must carry the
      same body (decided_at aside), and the distinct decisions must be
      replay's, id for id and body for body. With the rejects: the
      dead-letter topic must name every source replay rejected (the
      capture's line number), duplicates allowed. Prints one line
      "check=ok ..." or "check=FAILED ..." and exits 1 on a difference.

  stream_report.py throughput ROWS
      ROWS: one key=value line per throughput run (bench/run.sh writes them).
      Prints every run, then the medians per instance count and the
      scaling they imply.

  stream_report.py restore ROWS
      ROWS: one key=value line per restore (tasks, MB read, state MB, ms).
"""
import collections
import json
import statistics
import sys


def load_decisions(path):
    """id -> body (without decided_at); the count of lines; ids seen with two bodies."""
    bodies, lines, conflicts = {}, 0, set()
    for raw in open(path, encoding="utf-8", errors="replace"):
        raw = raw.strip()
        if not raw:
            continue
        lines += 1
        d = json.loads(raw)
        d.pop("decided_at", None)
        body = json.dumps(d, sort_keys=True)
        i = d.get("decision_id")
        if i in bodies and bodies[i] != body:
            conflicts.add(i)
        bodies.setdefault(i, body)
    return bodies, lines, conflicts


def check(replay, actions, replay_rej=None, deadletter=None):
    want, _, _ = load_decisions(replay)
    got, lines, conflicts = load_decisions(actions)
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ = sorted(i for i in set(want) & set(got) if want[i] != got[i])
    ok = not (missing or extra or differ or conflicts)
    out = (f"decisions {len(got)} distinct ({lines - len(got)} duplicates), replay {len(want)}: "
           f"{len(missing)} missing, {len(extra)} not in replay, {len(differ)} different, "
           f"{len(conflicts)} ids with two bodies")
    if replay_rej and deadletter:
        def sources(path):
            s = set()
            for raw in open(path, encoding="utf-8", errors="replace"):
                raw = raw.strip()
                if raw:
                    s.add(str(json.loads(raw).get("source", "")).rsplit(":", 1)[-1].rsplit("/", 1)[-1])
            return s
        # replay's source is FILE:LINE; the dead-letter topic's names the
        # topic, partition and offset: compare the counts.
        want_r = len(sources(replay_rej))
        got_r = sum(1 for raw in open(deadletter, encoding="utf-8", errors="replace") if raw.strip())
        got_r_distinct = len({json.loads(raw).get("source") for raw in open(deadletter, encoding="utf-8",
                                                                                errors="replace") if raw.strip()})
        out += f"; rejects {got_r_distinct} distinct ({got_r - got_r_distinct} duplicates), replay {want_r}"
        ok = ok and got_r_distinct == want_r
    print(("check=ok " if ok else "check=FAILED ") + out)
    for what, ids in (("missing", missing), ("not in replay", extra), ("different", differ)):
        for i in ids[:3]:
            print(f"  {what}: {i}")
    return 0 if ok else 1


def rows_of(path):
    rows = []
    for line in open(path):
        d = dict(t.split("=", 1) for t in line.split() if "=" in t)
        if d:
            rows.append(d)
    return rows


def num(d, k):
    try:
        return float(d[k])
    except (KeyError, ValueError):
        return float("nan")


def med(values):
    v = [x for x in values if x == x]
    return statistics.median(v) if v else float("nan")


def rng(values):
    v = [x for x in values if x == x]
    return f"{min(v):,.0f}-{max(v):,.0f}" if v else "-"


def throughput(path):
    rows = rows_of(path)
    for r in rows:
        n, ev = int(r["n"]), num(r, "events")
        t0 = num(r, "assign_us")
        cpus = [float(x) for x in r.get("cpu_s", "").split(",") if x]
        r["wall"] = (num(r, "decide_done_us") - t0) / 1e6
        r["rate"] = ev / r["wall"]
        r["ingest"] = (num(r, "events_done_us") - t0) / 1e6
        r["entity"] = (num(r, "entities_done_us") - t0) / 1e6
        r["cpu"] = sum(cpus)
        r["us_ev"] = r["cpu"] * 1e6 / ev
        r["busiest"] = max(cpus) if cpus else float("nan")
        # If each instance had a core of its own and was CPU-bound, the run
        # would last as long as its busiest instance's CPU time.
        r["cpu_bound_rate"] = ev / r["busiest"]
        r["busy_pct"] = 100 * r["cpu"] / n / r["wall"]
        r["mock_us_ev"] = num(r, "mock_cpu_s") * 1e6 / ev
    print(f"  {'run':10s} {'load':>5s} {'busy':>4s} {'to lag 0':>9s} {'events/s':>9s} {'ingest':>7s} {'entity':>7s} "
          f"{'CPU us/ev':>9s} {'busiest':>8s} {'inst busy':>9s} {'mock us/ev':>10s}  check")
    for r in rows:
        print(f"  N={r['n']:<2s} #{r['rep']:<4s} {r.get('load', '-'):>5s} {r.get('busy', '-'):>4s} {r['wall']:>8.1f}s {r['rate']:>9,.0f} "
              f"{r['ingest']:>6.1f}s {r['entity']:>6.1f}s {r['us_ev']:>9.1f} {r['busiest']:>7.1f}s "
              f"{r['busy_pct']:>8.0f}% {r['mock_us_ev']:>10.1f}  {r.get('check', '-')}")
    by_n = collections.OrderedDict()
    for r in sorted(rows, key=lambda r: int(r["n"])):
        by_n.setdefault(int(r["n"]), []).append(r)
    if not by_n:
        return
    base = by_n.get(1)
    base_rate = med(r["rate"] for r in base) if base else float("nan")
    base_cpu_bound = med(r["cpu_bound_rate"] for r in base) if base else float("nan")
    print("  medians per instance count (range over runs):")
    print(f"  {'N':>3s} {'runs':>4s} {'events/s to lag 0':>22s} {'x N=1':>6s} {'CPU us/event':>13s} "
          f"{'CPU-bound events/s':>19s} {'x N=1':>6s} {'target 0.8N':>11s}")
    for n, rs in by_n.items():
        rate = med(r["rate"] for r in rs)
        cb = med(r["cpu_bound_rate"] for r in rs)
        print(f"  {n:>3d} {len(rs):>4d} {rate:>9,.0f} ({rng(r['rate'] for r in rs):>11s}) "
              f"{rate / base_rate:>6.2f} {med(r['us_ev'] for r in rs):>13.1f} {cb:>19,.0f} {cb / base_cpu_bound:>6.2f} "
              f"{0.8 * n:>11.1f}")


def restore(path):
    rows = rows_of(path)
    if not rows:
        print("  (no restore measured)")
        return
    print(f"  {'rebalance':28s} {'tasks':>5s} {'state MB':>8s} {'read MB':>8s} {'ms':>8s} {'MB/s read':>9s} "
          f"{'ms per state MB':>15s}")
    for r in rows:
        mb, rd, ms = num(r, "state_mb"), num(r, "read_mb"), num(r, "restore_ms")
        print(f"  {r['what'].replace('_', ' '):28s} {r['tasks']:>5s} {mb:>8.2f} {rd:>8.2f} {ms:>8.1f} {rd / ms * 1e3:>9.1f} "
              f"{ms / mb if mb > 0 else float('nan'):>15.1f}")
    groups = collections.OrderedDict()
    for r in rows:
        groups.setdefault(r["what"], []).append(r)
    if any(len(g) > 1 for g in groups.values()):
        print("  medians:")
        for what, g in groups.items():
            rd = med(num(r, "read_mb") for r in g)
            ms = med(num(r, "restore_ms") for r in g)
            mb = med(num(r, "state_mb") for r in g)
            print(f"  {what.replace('_', ' '):28s} {len(g):>5d} {mb:>8.2f} {rd:>8.2f} {ms:>8.1f} "
                  f"{med(num(r, 'read_mb') / num(r, 'restore_ms') * 1e3 for r in g):>9.1f} "
                  f"{med(num(r, 'restore_ms') / num(r, 'state_mb') for r in g):>15.1f}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "check" and len(sys.argv) in (4, 6):
        sys.exit(check(*sys.argv[2:]))
    elif cmd == "throughput" and len(sys.argv) == 3:
        throughput(sys.argv[2])
    elif cmd == "restore" and len(sys.argv) == 3:
        restore(sys.argv[2])
    else:
        sys.exit(__doc__)
