#!/usr/bin/env bash
# The README's quick start is what a newcomer pastes, so it must be true:
# every `$ command` shown under "## Quick start" runs (in order, in a scratch
# directory that looks like the top of a clone) and prints the lines shown
# after it ("..." stands for lines or text left out; timings, tokens and the
# review page's port may differ); the rule file shown is the one used; the
# streaming block runs as written (on a free port instead of 9464), waits on
# conditions rather than fixed sleeps, and prints what the README says it
# prints. Also: the README's links into the
# tree resolve in a clone (no ../shared/ path).
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
src=$(cd "$RG_SOURCE_DIR" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/rg-readme.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/top/build"
ln -s "$RG_BIN" "$work/top/build/riskgate"
ln -s "$(dirname "$RG_BIN")/mock-cluster" "$work/top/build/mock-cluster"
ln -s "$src/samples" "$work/top/samples"
ln -s "$src/rules" "$work/top/rules"
# The streaming block's ports and files: its own, so parallel tests and
# other users of 9464 do not meet it.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

python3 - "$src/README.md" "$work" "$port" <<'PY'
import os, re, subprocess, sys

readme, work, port = sys.argv[1], sys.argv[2], sys.argv[3]
top = os.path.join(work, "top")
text = open(readme, encoding="utf-8").read()
fails = []

# Links into the tree resolve in a clone.
for target in re.findall(r"\]\(([^)#]+)\)", text):
    if "://" in target:
        continue
    if not os.path.exists(os.path.join(os.path.dirname(readme), target)):
        fails.append(f"README links to {target}, which a clone does not have")
if "../shared" in text:
    fails.append("README points outside the clone (../shared)")

qs = text[text.index("## Quick start"):text.index("\n## ", text.index("## Quick start") + 1)]
open(os.path.join(top, "mine.yaml"), "w").write(re.search(r"```yaml\n(.*?)```", qs, re.S).group(1))

# Indented blocks: runs of lines that are blank or start with four spaces.
blocks, cur = [], []
for line in qs.split("\n"):
    if line.startswith("    ") or (line.strip() == "" and cur):
        cur.append(line[4:])
    else:
        if cur:
            blocks.append(cur)
        cur = []
if cur:
    blocks.append(cur)

def pattern(line):
    """A shown output line as a regex over the real line."""
    p = line.strip().replace("...", "\x00")
    p = re.sub(r"in [0-9.]+ s \([0-9]+ events/s\)", "\x01", p)
    p = re.sub(r"[0-9a-f]{64}", "\x02", p).replace("8477", "\x03")
    p = re.escape(p)
    for mark, rx in (("\x00", ".*"), ("\x01", r"in [0-9.]+ s \([0-9]+ events/s\)"), ("\x02", "[0-9a-f]{64}"),
                     ("\x03", "[0-9]+")):
        p = p.replace(re.escape(mark), rx).replace(mark, rx)
    return re.compile(p)

def matches(shown, out):
    """Shown lines appear in the output in order; '...' alone skips lines."""
    lines = [l.strip() for l in out.split("\n")]
    at, skip = 0, False
    for want in shown:
        if want.strip() == "":
            continue
        if want.strip() == "...":
            skip = True
            continue
        pat = pattern(want)
        found = None
        for i in range(at, len(lines)):
            if pat.fullmatch(lines[i]):
                found = i
                break
            if not skip and lines[i] != "":
                break
        if found is None:
            return want.strip()
        at, skip = found + 1, False
    return None

def check(cmd, shown, *outs):
    """Shown lines match one of the outputs (stdout and stderr in either order)."""
    missing = None
    for out in outs:
        missing = matches(shown, out)
        if missing is None:
            return
    fails.append(f"`{cmd}` did not print: {missing}\n--- it printed:\n{outs[0][:3000]}")

env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1")
for b in blocks:
    if not any(l.startswith("$ ") for l in b):
        continue
    i = 0
    while i < len(b):
        if not b[i].startswith("$ "):
            i += 1
            continue
        cmd = b[i][2:]
        while cmd.endswith("\\"):
            i += 1
            cmd = cmd[:-1] + " " + b[i].strip()
        i += 1
        shown = []
        while i < len(b) and not b[i].startswith("$ "):
            shown.append(b[i])
            i += 1
        run = cmd
        timeout = 120
        if " serve " in cmd:
            # Runs until stopped: give it a free port, read its first lines.
            run = f"timeout -s TERM 3 {cmd} --listen 127.0.0.1:0"
        r = subprocess.run(["bash", "-c", run], cwd=top, env=env, capture_output=True, text=True, timeout=timeout)
        if r.returncode not in (0, 124) or (r.returncode == 124 and " serve " not in cmd):
            fails.append(f"`{cmd}` exited {r.returncode}: {r.stderr[:2000]}")
            continue
        check(cmd, shown, r.stdout + r.stderr, r.stderr + r.stdout)

# The mistake shown is the one the loader reports.
bad = re.search(r"A mistake is refused.*?`when: ([^`]*)`", qs, re.S).group(1)
good = open(os.path.join(top, "mine.yaml")).read()
line = [l for l in good.split("\n") if l.strip().startswith("when:")][0]
open(os.path.join(top, "mine.yaml"), "w").write(good.replace(line, line.split("when:")[0] + "when: " + bad))
r = subprocess.run(["build/riskgate", "check-rules", "rules/default.yaml", "mine.yaml"], cwd=top, env=env,
                   capture_output=True, text=True)
shown = [b for b in blocks if any(l.startswith("mine.yaml:") for l in b)][0]
if r.returncode != 2:
    fails.append(f"the mistake: exit {r.returncode}, expected 2")
check("check-rules with the mistake", [l for l in shown if l.strip()], r.stderr)
open(os.path.join(top, "mine.yaml"), "w").write(good)

# The streaming block, as written but for the port and the scratch files.
stream = [b for b in blocks if any("build/mock-cluster" in l for l in b)][0]
script = "\n".join(stream).replace("9464", port).replace("/tmp/rg-", os.path.join(work, "rg-"))
# The block waits on conditions, not fixed sleeps: a fixed 8 s after the
# last event was consumed read 21 of the 22 decisions on a loaded CI
# machine (2026-12-05). A block that sleeps a fixed time is refused.
if re.search(r"^\s*sleep\b", script, re.M):
    fails.append("the streaming block waits a fixed time; it must wait on a condition (metrics)")
after = qs[qs.index("prints `ready`"):]
shown = re.search(r"\n\n((?:    .*\n)+)", after).group(1).split("\n")
shown = ["ready"] + [l[4:] for l in shown if l.strip()]
r = subprocess.run(["bash", "-c", script], cwd=top, env=env, capture_output=True, text=True, timeout=300)
if r.returncode != 0:
    fails.append(f"the streaming block exited {r.returncode}: {r.stdout[-2000:]} {r.stderr[-2000:]}")
n_fails = len(fails)
check("the streaming block", shown, r.stdout)
# A calm run with one instance and no fault: no entity merge may take a
# source for gone (--max-wait-ms). Its probes once answered in ~1 s,
# behind the consumer's fetch long polls, a drained partition's MARKs
# then paused past the merge's silence threshold, and every merge held
# its last events 30 s instead of --max-idle-ms (2026-12-05).
try:
    run_log = open(os.path.join(work, "rg-run.log"), errors="replace").read().splitlines()
except OSError:
    run_log = None
gone = [l for l in run_log or [] if "may send older records (--max-wait-ms)" in l]
if gone:
    fails.append("an entity merge went on without a source after --max-wait-ms in a calm run:\n" + "\n".join(gone[:4]))
if len(fails) > n_fails:
    # What the run said besides the routine (merges that went on without
    # a source, late events, broker trouble): the next failure's why.
    said = [l for l in run_log if "level=info" not in l] if run_log is not None else ["(no rg-run.log)"]
    print("--- riskgate run's warnings and errors (last 20):\n" + "\n".join(said[-20:]))

for f in fails:
    print("FAIL:", f)
print(f"readme: {len(fails)} failures")
sys.exit(1 if fails else 0)
PY
