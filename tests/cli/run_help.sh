#!/usr/bin/env bash
# `riskgate run --help` against what the program accepts and what
# docs/streaming.md documents, so that a flag added to one is not missing
# from another (the man page and bash completion are generated from the
# --help text: tools/gen-man.sh, packaging/bash-completion/riskgate):
#   - the long options of cli/cmd_run.c's getopt table, and the short options
#     that have no long form (-X), are each in the synopsis (--help apart), in
#     the flag list, and in docs/streaming.md's "Flags and defaults" table,
#     and those name no flag the table lacks; the short forms of long options
#     (-b, -G, -r, -g, -s, -h) are in the list and the table beside them;
#   - every flag the flag list names is accepted: FLAG VALUE --help exits 0,
#     where an unknown flag exits 2 with the usage on stderr;
#   - `riskgate --help` lists the run command.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/run_help"
rm -rf "$work"; mkdir -p "$work"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$RG_BIN" run --help >"$work/help" 2>"$work/help.err" || bad "run --help exited $?"
[ -s "$work/help.err" ] && bad "run --help wrote to stderr: $(head -c 300 "$work/help.err")"

# The flag sets, one flag a line, sorted: accepted (from the getopt table),
# synopsis, flag list, streaming.md table.
python3 - "$RG_SOURCE_DIR/cli/cmd_run.c" "$work/help" "$RG_SOURCE_DIR/docs/streaming.md" "$work" <<'EOF' ||
import re, sys
src, helpf, doc, out = sys.argv[1:]
code = open(src).read()
table = re.search(r'static const struct option opts\[\] = \{(.*?)\{NULL, 0, NULL, 0\}', code, re.S)
optstring = re.search(r'static const char optstring\[\] = "([^"]*)"', code)
if not table or not optstring:
    sys.exit("cli/cmd_run.c: no getopt table or optstring found")
longs = re.findall(r'\{"([a-z0-9-]+)", \w+, NULL, (\'.\'|\w+)\}', table.group(1))
aliased = {v.strip("'") for _, v in longs if v.startswith("'")}
accepted = {"--" + n for n, _ in longs}
accepted |= {"-" + c for c in optstring.group(1).replace(":", "") if c not in aliased}

help_text = open(helpf).read()
synopsis = help_text.split("\n\n", 1)[0]
listed = set()
for line in help_text.splitlines():
    if re.match(r"  -", line):
        first = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
        listed |= set(re.findall(r"(?<![\w-])--?[A-Za-z][a-z0-9-]*", first))
flag = r"(?<![\w-])--?[A-Za-z][a-z0-9-]*"
doc_text = open(doc).read()
section = doc_text.split("## Flags and defaults", 1)[1].split("\n## ", 1)[0]
documented = set()
for line in section.splitlines():
    if line.startswith("| `-"):
        documented |= set(re.findall(flag, line.split("|")[1]))

def write(name, flags):
    with open(f"{out}/{name}", "w") as f:
        f.write("".join(x + "\n" for x in sorted(flags)))

write("accepted", accepted)
write("aliases", {"-" + c for c in aliased})
write("synopsis", set(re.findall(flag, synopsis)))
write("listed", listed)
write("documented", documented)
EOF
    bad "could not read the flag sets"

[ "$(wc -l <"$work/accepted")" -ge 18 ] || bad "only $(wc -l <"$work/accepted") options read from cli/cmd_run.c"
# compare NAME EXPECTED-FILE ACTUAL-FILE: the same flags.
compare() {
  local missing extra
  missing=$(comm -23 "$2" "$3" | paste -sd' ')
  extra=$(comm -13 "$2" "$3" | paste -sd' ')
  [ -z "$missing" ] || bad "$1 lacks $missing"
  [ -z "$extra" ] || bad "$1 names $extra, which riskgate run does not accept"
}
grep -vx -- --help "$work/accepted" >"$work/accepted.nohelp"
compare "the --help synopsis" "$work/accepted.nohelp" "$work/synopsis"
# Short forms (-h for --help, -b for --brokers, ...): the list and the
# table write "-b, --brokers LIST".
[ "$(wc -l <"$work/aliases")" -ge 6 ] || bad "only $(wc -l <"$work/aliases") short forms read from cli/cmd_run.c"
sort -u "$work/accepted" "$work/aliases" >"$work/accepted.h"
compare "the --help flag list" "$work/accepted.h" "$work/listed"
compare "docs/streaming.md's flag table" "$work/accepted.h" "$work/documented"

# Every listed flag parses: FLAG VALUE --help stops at --help with exit 0.
: >"$work/empty.conf"
while read -r f; do
  case "$f" in
    -h|--help) args=("$f") ;;
    --config) args=("$f" "$work/empty.conf" --help) ;;
    --log-level) args=("$f" info --help) ;;
    -X) args=("$f" client.id=x --help) ;;
    *-ms) args=("$f" 5 --help) ;;
    *) args=("$f" x --help) ;;
  esac
  timeout 20 "$RG_BIN" run "${args[@]}" >"$work/out" 2>"$work/err"
  rc=$?
  [ "$rc" = 0 ] && grep -q '^usage: riskgate run' "$work/out" ||
    bad "run ${args[*]}: exit $rc, not the usage with 0 ($(head -c 300 "$work/err"))"
done <"$work/listed"
timeout 20 "$RG_BIN" run --no-such-flag 5 --help >"$work/out" 2>"$work/err"
rc=$?
[ "$rc" = 2 ] && grep -q '^usage: riskgate run' "$work/err" ||
  bad "run --no-such-flag: exit $rc, expected 2 with the usage on stderr"

"$RG_BIN" --help | grep '^  run  ' >/dev/null || bad "riskgate --help does not list run"

[ "$fail" = 0 ] && echo "run --help: $(wc -l <"$work/accepted") options, synopsis, list and docs/streaming.md agree"
exit "$fail"
