/*
 * run_config — `riskgate run --config FILE`, and secrets passed by
 * reference rather than on the command line (docs/operations.md, "The
 * configuration file" and "Secrets").
 *
 * The file's top-level keys are run's long flags without "--" (`brokers =
 * ...`, `rules = ...` repeated for several files); its [kafka] section holds
 * librdkafka properties, each as one `-X key=value` (`consumer.` and
 * `producer.` prefixes as for -X). The file becomes options placed before
 * the command line's, so one getopt pass reads both and a flag given on the
 * command line overrides the file's value (for --rules: the command line's
 * files replace the file's; -X properties add, a later one winning for the
 * same key).
 *
 * Secrets: the value of a secret property (rg_log_secret_key: sasl.password,
 * ssl.key.password, ...), from the file or from -X, may be
 *   file:PATH     the file's contents, trailing newlines removed (at most
 *                 RG_RUN_SECRET_MAX bytes; e.g. a systemd credential)
 *   env:NAME      the environment variable NAME
 *   literal:TEXT  TEXT itself (for a secret that starts with "file:")
 * so no secret needs to appear in argv, where /proc/PID/cmdline shows it.
 * No message ever prints a secret's value.
 *
 * Only cli/ code: prints its errors (prefixed "riskgate run: ") and never
 * exits. Not thread-safe (argument time).
 */
#ifndef RG_CLI_RUN_CONFIG_H
#define RG_CLI_RUN_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#define RG_RUN_SECRET_MAX 65536

typedef struct rg_run_args {
    int argc;
    char **argv;         /* argv[0], the file's entries as options, then the command line's */
    int n_from_file;     /* argv[1 .. n_from_file] came from the file */
    char **origin;       /* "FILE:LINE" of each argv index from the file (NULL: the command line) */
    char **owned;        /* strings to free (secrets are wiped first) */
    size_t n_owned, cap_owned;
} rg_run_args;

/*
 * Build the argument vector of `riskgate run`: find --config in argv (a
 * first getopt pass over `opts`/`optstring`, silent about other errors),
 * load the file and put its entries first. Without --config the vector is
 * argv's. Keys are checked against `opts` (options with an argument,
 * "config" and "help" apart): an unknown key or section is refused as
 * "FILE:LINE:COLUMN: ...". Leaves optind = 0 (getopt starts afresh).
 * 0 done; -1 refused (printed).
 */
int rg_run_args_build(rg_run_args *a, int argc, char **argv, const struct option *opts, const char *optstring);

/* Where the option getopt has just returned came from: "FILE:LINE", or
 * NULL for the command line (call right after getopt_long). */
const char *rg_run_args_origin(const rg_run_args *a);

/* True when that option came from the file. */
bool rg_run_args_from_file(const rg_run_args *a);

/*
 * One -X "key=value": when the key is secret and the value is file:,
 * env: or literal:, the property with the value resolved (a string owned
 * by `a`, wiped at rg_run_args_free); otherwise `prop` itself. NULL when
 * the reference cannot be resolved (printed, naming the key and the file
 * or variable, never a value).
 */
const char *rg_run_secret_prop(rg_run_args *a, const char *prop);

void rg_run_args_free(rg_run_args *a);

#endif
