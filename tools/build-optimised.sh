#!/usr/bin/env bash
# tools/build-optimised.sh BUILD JOBS PGO GEOIP SAMPLE: the optimised build
# that `make build` leaves at BUILD/riskgate (docs/bench.md "Seventh
# round"); GEOIP and SAMPLE are the Makefile's (the pinned databases as a
# comma list, the bundled capture).
#
# With PGO=1 (the Makefile's default), in three steps:
#   1. BUILD-pgo/: the program alone, instrumented by GCC
#      (-fprofile-generate; CMake's RG_PGO=generate);
#   2. the training: that program replays the bundled sample (one worker
#      and two) and back-tests bench/sensitive.yaml against the default
#      pack on it, writing the profile to BUILD-pgo/profile/. Redone only
#      when the instrumented program changed;
#   3. BUILD/: everything, optimised with that profile and linked with
#      link-time optimisation (RG_PGO=use, RG_LTO=ON).
# The training reads the GeoIP databases when `make geoip` has fetched
# them (every file of GEOIP), so that the GeoIP paths are trained too;
# without them it trains without (the program is the same, its GeoIP
# code less tuned).
# PGO=0 builds BUILD/ at -O3 alone, as before this round: quicker while
# editing, the same output.
set -euo pipefail
usage="usage: build-optimised.sh BUILD JOBS PGO GEOIP SAMPLE"
build=${1:?$usage} jobs=${2:?$usage} pgo=${3:?$usage} geoip=${4:?$usage} sample=${5:?$usage}
top="$(cd "$(dirname "$0")/.." && pwd)"
cd "$top"

# The profile and link-time options are GCC's (Debian's cc); another
# compiler (CC=clang) builds at -O3 alone, and says so.
macros=$(${CC:-cc} -dM -E - </dev/null 2>/dev/null || true)
if [ "$pgo" != 0 ] && { ! grep -q '__GNUC__' <<<"$macros" || grep -q '__clang__' <<<"$macros"; }; then
  echo "build-optimised: ${CC:-cc} is not GCC: building without the profile and link-time optimisation" >&2
  pgo=0
fi

if [ "$pgo" = 0 ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRG_LTO=OFF -DRG_PGO= >/dev/null
  cmake --build "$build" -j"$jobs"
  exit 0
fi

gen="$build-pgo"
case "$gen" in /*) profile="$gen/profile" ;; *) profile="$top/$gen/profile" ;; esac
stamp="$gen/trained"
cmake -S . -B "$gen" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRG_LTO=ON -DRG_PGO=generate \
  -DRG_PGO_DIR="$profile" >/dev/null
cmake --build "$gen" -j"$jobs" --target riskgate

if [ ! -f "$stamp" ] || [ "$gen/riskgate" -nt "$stamp" ]; then
  echo "training the profile-guided build on the bundled sample"
  rm -rf "$profile" "$stamp"
  geo=$geoip
  IFS=, read -ra geo_files <<<"$geoip"
  for f in "${geo_files[@]}"; do [ -s "$f" ] || geo=none; done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rg-train.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  for w in 1 2; do
    "$gen/riskgate" replay --quiet --workers "$w" --rules rules/default.yaml --geoip "$geo" \
      --out "$tmp/decisions.jsonl" --rejects "$tmp/rejects.jsonl" "$sample"
  done
  "$gen/riskgate" backtest --no-progress --workers 1 --rules rules/default.yaml \
    --candidate bench/sensitive.yaml --geoip "$geo" "$sample" >"$tmp/backtest.txt" 2>"$tmp/backtest.err" ||
    { cat "$tmp/backtest.err" >&2; exit 1; }
  touch "$stamp"
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRG_LTO=ON -DRG_PGO=use \
  -DRG_PGO_DIR="$profile" >/dev/null

# GCC finds a profile by its object's path, and -Wno-missing-profile (for
# the files the training never enters) would hide a profile it cannot
# find: compile the line pass, the hottest file, once more (to assembly
# beside its object: the profile's name comes from that path) with that
# warning an error, so a lost profile stops the build instead.
python3 - "$build/compile_commands.json" <<'PY' ||
import json, os, shlex, subprocess, sys
entry = next(e for e in json.load(open(sys.argv[1])) if e["file"].endswith("/ingest/event_line.c"))
args = [a for a in shlex.split(entry["command"]) if a != "-Wno-missing-profile"] + ["-Werror=missing-profile"]
out = args.index("-o") + 1
args[out] = args[out][:-2] + ".s"
args[args.index("-c")] = "-S"
rc = subprocess.run(args, cwd=entry["directory"]).returncode
asm = os.path.join(entry["directory"], args[out])
if os.path.exists(asm):
    os.remove(asm)
sys.exit(rc)
PY
  { echo "build-optimised: no profile for ingest/event_line.c in $profile (rm -rf $gen and build again)" >&2; exit 1; }
cmake --build "$build" -j"$jobs"
