#!/usr/bin/env bash
# `riskgate run --config FILE` and secrets by reference (cli/run_config.h),
# the refusals that need no Kafka: every one exits 2 before connecting,
# names the file, line and column (or the key and the file or variable),
# and never prints a secret's value. The accepted forms, flags overriding
# the file and a secret read from a file or the environment reaching
# librdkafka, are checked against the mock cluster in stream_ops.sh.
set -uo pipefail
: "${RG_BIN:?}" "${RG_SOURCE_DIR:?}" "${RG_TEST_BUILD:?}"
work="$RG_TEST_BUILD/run_config"
rm -rf "$work"; mkdir -p "$work"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# refused WHAT TEXT ARGS... : exit 2, stderr holds TEXT.
refused() {
  local what="$1" text="$2"; shift 2
  timeout 20 "$RG_BIN" run "$@" >"$work/out" 2>"$work/err"
  local rc=$?
  [ "$rc" = 2 ] || bad "$what: exit $rc, expected 2 ($(head -c 300 "$work/err"))"
  grep -qF -- "$text" "$work/err" || bad "$what: stderr lacks '$text': $(head -c 500 "$work/err")"
}

cfg="$work/run.conf"
# Brokers nobody listens on: a refusal must come before any connection.
printf 'brokers = 127.0.0.1:1\n# a comment\n\ngroupe = typo\n' >"$cfg"
refused "unknown key" "$cfg:4:1: unknown key \"groupe\"" --config "$cfg"

printf 'brokers = 127.0.0.1:1\n[kafak]\nclient.id = x\n' >"$cfg"
refused "unknown section" "$cfg:3:1: unknown section [kafak]" --config "$cfg"

printf 'brokers = 127.0.0.1:1\n  max-wait-ms\n' >"$cfg"
refused "syntax" "$cfg:2:14: expected '=' after the key \"max-wait-ms\"" --config "$cfg"

# A flag's own check names the file's line the value came from.
printf 'brokers = 127.0.0.1:1\nmax-wait-ms = soon\n' >"$cfg"
refused "bad value" "(that value is from $cfg:2)" --config "$cfg"
grep -qF -- "--max-wait-ms" "$work/err" || bad "bad value: the flag is not named: $(cat "$work/err")"

# "help" and "config" are not keys of the file.
printf 'brokers = 127.0.0.1:1\nconfig = other.conf\n' >"$cfg"
refused "config in config" "$cfg:2:1: unknown key \"config\"" --config "$cfg"

refused "missing file" "--config $work/nope.conf: No such file or directory" --config "$work/nope.conf"
printf 'brokers = 127.0.0.1:1\n' >"$cfg"
refused "twice" "--config given twice" --config "$cfg" --config "$cfg"

# Without brokers anywhere: the message says where they may come from.
printf 'group = g\n' >"$cfg"
refused "no brokers" "brokers = HOST:PORT" --config "$cfg"

# Secrets by reference: the key and the file or variable are named, never
# a value.
printf 'brokers = 127.0.0.1:1\n[kafka]\nsasl.password = file:%s/no-such-secret\n' "$work" >"$cfg"
refused "secret file missing" "-X sasl.password: cannot read file:$work/no-such-secret" --config "$cfg"
: >"$work/empty-secret"
refused "secret file empty" "-X sasl.password: file:$work/empty-secret is empty" \
  --brokers 127.0.0.1:1 -X "sasl.password=file:$work/empty-secret"
(unset RG_TEST_UNSET_SECRET
 refused "secret env unset" "-X ssl.key.password: environment variable RG_TEST_UNSET_SECRET is not set" \
   --brokers 127.0.0.1:1 -X ssl.key.password=env:RG_TEST_UNSET_SECRET) || fail=1
# The environment's value reaches librdkafka: an integer property whose
# name looks secret, given a value librdkafka refuses, is refused without
# printing the value.
printf 'brokers = 127.0.0.1:1\n[kafka]\nsasl.kerberos.min.time.before.relogin = env:RG_TEST_RELOGIN\n' >"$cfg"
RG_TEST_RELOGIN=s3cr3t-not-a-number refused "secret refused by librdkafka" \
  "-X sasl.kerberos.min.time.before.relogin: refused by librdkafka (value not shown)" --config "$cfg"
grep -q "s3cr3t" "$work/err" && bad "a secret's value was printed: $(cat "$work/err")"
head -c 70000 /dev/zero | tr '\0' x >"$work/big-secret"
refused "secret file too large" "file:$work/big-secret larger than 65536 bytes" \
  --brokers 127.0.0.1:1 -X "sasl.password=file:$work/big-secret"
grep -q "xxxx" "$work/err" && bad "a secret file's contents were printed"

# --help names --config and the secret forms.
"$RG_BIN" run --help >"$work/help" || bad "run --help failed"
grep -q -- "--config FILE" "$work/help" || bad "run --help lacks --config"
grep -q "file:PATH or env:NAME" "$work/help" || bad "run --help lacks the secret forms"

# The example the package ships (/etc/riskgate/run.conf) is accepted as it
# stands: only `brokers` is missing (it is commented out).
refused "shipped example" "--brokers is required" --config "$RG_SOURCE_DIR/packaging/etc/run.conf"
grep -qE "unknown (key|section)|:[0-9]+:[0-9]+:" "$work/err" && bad "the shipped run.conf has an unknown key: $(cat "$work/err")"

[ "$fail" = 0 ] && echo "ok: run --config refusals"
exit "$fail"
