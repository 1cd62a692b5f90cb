#!/usr/bin/env bash
# Installs every Debian package riskgate needs to build, test and demo.
# Idempotent: does nothing when everything is present. Needs root (or sudo)
# and a reachable Debian mirror; never prompts.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config
  librdkafka-dev libmaxminddb-dev libsqlite3-dev sqlite3 libjansson-dev
  libcmocka-dev libyaml-dev zlib1g-dev libisal-dev libmicrohttpd-dev
  kcat clang libclang-rt-14-dev llvm
  libsimdjson-dev libmaxmind-db-writer-perl jq python3 python3-maxminddb nodejs npm ca-certificates curl
)
# Extra groups, asked for by name: `install-deps.sh browser ops`.
BROWSER_PKGS=(chromium chromium-driver fonts-dejavu-core)
# The operations tests (tests/cli/install_*.sh, package_deb.sh, deploy_*.sh):
# promtool (Debian's prometheus package ships it; its service does not start
# where policy-rc.d forbids it, and is not needed), systemd-analyze for the
# units, dpkg-shlibdeps/dpkg-deb for the package, strace to prove an
# installed tree reads nothing of the clone, man and groff for the man pages.
OPS_PKGS=(prometheus systemd dpkg-dev strace man-db groff-base)
# The benchmarks' instruction counts (bench/run.sh instr): callgrind.
BENCH_PKGS=(valgrind)

want=("${PKGS[@]}")
for g in "$@"; do
  case "$g" in
    browser) want+=("${BROWSER_PKGS[@]}") ;;
    ops) want+=("${OPS_PKGS[@]}") ;;
    bench) want+=("${BENCH_PKGS[@]}") ;;
    *) echo "install-deps: unknown group '$g'" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    # nodejs/npm may come from elsewhere (nvm, a distro image): accept the command.
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 && continue ;;
      npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
