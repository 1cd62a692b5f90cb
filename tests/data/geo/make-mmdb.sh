#!/bin/sh
# Builds the GeoIP test databases into OUTDIR (ctest fixture geo_mmdb):
#   flat.mmdb        npm @ip-location-db layout, IPv4 + IPv6
#   maxmind.mmdb     GeoLite2-City layout, IPv4 + IPv6, ::ffff:0:0/96 aliased
#   maxmind-v4.mmdb  GeoIP2-City layout, IPv4 only, float lat/lon, uint32 radius
#   flat-v4.mmdb, flat-v6.mmdb  the npm package's split: IPv4 rows in an
#                    IPv4 tree, IPv6 rows in an IPv6 tree
#   other.mmdb       GeoLite2-City layout, networks-other.pl (disagrees with
#                    networks.pl on two networks): several-database tests
#   odd-*.mmdb, no-layout.mmdb  unexpected types / not a city database
# The networks are listed in networks.pl and documented in README.md.
# Each file is written beside its final name and renamed, so a reader never
# sees half a database.
# Usage: make-mmdb.sh OUTDIR
set -eu
out="${1:?usage: make-mmdb.sh OUTDIR}"
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$out"
tmp="$(mktemp -d "$out/.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
perl "$here/write-flat.pl" "$tmp/flat.mmdb"
perl "$here/write-maxmind.pl" "$tmp/maxmind.mmdb"
perl "$here/write-maxmind.pl" --v4-float "$tmp/maxmind-v4.mmdb"
perl "$here/write-flat.pl" --only-ipv4 "$tmp/flat-v4.mmdb"
perl "$here/write-flat.pl" --only-ipv6 "$tmp/flat-v6.mmdb"
perl "$here/write-maxmind.pl" --networks "$here/networks-other.pl" "$tmp/other.mmdb"
perl "$here/write-odd.pl" "$tmp"
for f in "$tmp"/*.mmdb; do
  mv -f "$f" "$out/$(basename "$f")"
done
