#!/usr/bin/env bash
# gen-man.sh BIN OUTDIR VERSION — the man pages, generated from the
# program's own --help so they never disagree with it: riskgate.1 (the
# command table, environment, files) and riskgate-COMMAND.1 for every
# command `BIN --help` lists (its --help text, verbatim). Written gzipped
# (gzip -n: no timestamp, so a rebuild gives the same bytes). Called by
# the build (packaging/CMakeLists.txt, target `man`).
set -euo pipefail
bin=$1 out=$2 version=$3
mkdir -p "$out"
rm -f "$out"/*.1.gz

# troff-safe text: backslashes, hyphens (so options copy as ASCII), and
# lines that would start a request.
esc() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }

top_help=$("$bin" --help)
# "  NAME   summary" lines under "Commands:".
commands=$(printf '%s\n' "$top_help" | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }')
[ -n "$commands" ] || { echo "gen-man: no commands in '$bin --help'" >&2; exit 1; }
summary() { printf '%s\n' "$top_help" | awk -v c="$1" '$1 == c { $1 = ""; sub(/^ +/, ""); print; exit }'; }

see_also=$(for c in $commands; do printf 'riskgate\\-%s (1), ' "$c"; done)
see_also=${see_also%, }

{
  printf '.TH RISKGATE 1 "" "riskgate %s" "riskgate manual"\n' "$version"
  printf '.SH NAME\nriskgate \\- real\\-time fraud and risk decisions for payment events\n'
  printf '.SH SYNOPSIS\n.B riskgate\n.I COMMAND\n[\\fIOPTIONS\\fR] [\\fIARGS\\fR]\n.br\n.B riskgate \\-\\-version\n'
  printf '.SH DESCRIPTION\nriskgate reads transaction events (Kafka, or captured traffic), runs detectors and a YAML rule file over them, and emits decisions (freeze, face_verify, review, release), each with its reasons and evidence.\n'
  printf '.SH COMMANDS\n'
  for c in $commands; do
    printf '.TP\n.BR riskgate\\-%s (1)\n%s\n' "$c" "$(summary "$c" | esc)"
  done
  printf '.SH ENVIRONMENT\n'
  printf '.TP\n.B RISKGATE_RULES\nthe rule file used when no \\-\\-rules is given (default: the bundled rules/default.yaml)\n'
  printf '.TP\n.B RISKGATE_GEOIP\nthe \\-\\-geoip value used when none is given (one file or a comma list; none)\n'
  printf '.TP\n.B RISKGATE_DB\nthe alert store of alerts, users and serve when \\-\\-db is not given\n'
  printf '.SH FILES\n'
  printf '.TP\n.I PREFIX/share/riskgate/rules/default.yaml\nthe bundled rules\n'
  printf '.TP\n.I /usr/share/GeoIP/GeoLite2\\-City.mmdb, /var/lib/GeoIP/GeoLite2\\-City.mmdb\nMaxMind City databases, used first when present (GeoIP2\\-City.mmdb before GeoLite2\\-City.mmdb)\n'
  printf '.TP\n.I PREFIX/share/riskgate/geoip/\nthe pinned GeoLite2 City pair riskgate ships\n'
  printf '.TP\n.I /etc/riskgate/run.conf\nthe configuration of the riskgate\\-run service (riskgate run \\-\\-config)\n'
  printf '.SH EXIT STATUS\n0 done; 2 usage or configuration error (bad flag, rule file refused, GeoIP database unreadable), with the reason on stderr; 1 any other failure.\n'
  printf '.SH SEE ALSO\n%s; docs/install.md and docs/operations.md in PREFIX/share/doc/riskgate/\n' "$see_also"
} | gzip -9n >"$out/riskgate.1.gz"

for c in $commands; do
  help=$("$bin" "$c" --help)
  # The synopsis: the usage lines (up to the first blank line), "usage: " dropped.
  synopsis=$(printf '%s\n' "$help" | awk '/^$/ { exit } { sub(/^usage: /, ""); sub(/^       /, ""); print }')
  body=$(printf '%s\n' "$help" | awk 'f { print } /^$/ { f = 1 }')
  upper=$(printf '%s' "$c" | tr 'a-z-' 'A-Z-')
  {
    printf '.TH RISKGATE\\-%s 1 "" "riskgate %s" "riskgate manual"\n' "$(printf '%s' "$upper" | esc)" "$version"
    printf '.SH NAME\nriskgate\\-%s \\- %s\n' "$(printf '%s' "$c" | esc)" "$(summary "$c" | esc)"
    printf '.SH SYNOPSIS\n.nf\n%s\n.fi\n' "$(printf '%s\n' "$synopsis" | esc)"
    printf '.SH DESCRIPTION\n.nf\n%s\n.fi\n' "$(printf '%s\n' "$body" | esc)"
    printf '.SH SEE ALSO\nriskgate (1)\n'
  } | gzip -9n >"$out/riskgate-$c.1.gz"
done
