/* run_config — run's configuration file and secret references; see run_config.h. */
#include "run_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/conf_file.h"
#include "../stream/log.h"

#define PROG "riskgate run"

static char *own(rg_run_args *a, char *s)
{
    if (!s)
        return NULL;
    if (a->n_owned == a->cap_owned) {
        size_t ncap = a->cap_owned ? a->cap_owned * 2 : 16;
        char **p = realloc(a->owned, ncap * sizeof *p);
        if (!p) {
            free(s);
            return NULL;
        }
        a->owned = p;
        a->cap_owned = ncap;
    }
    a->owned[a->n_owned++] = s;
    return s;
}

static char *own_printf(rg_run_args *a, const char *fmt, const char *x, const char *y)
{
    int n = snprintf(NULL, 0, fmt, x, y);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        snprintf(s, (size_t)n + 1, fmt, x, y);
    return own(a, s);
}

/* The long option `key` names, when it takes an argument and may be set
 * from a file. */
static const struct option *file_option(const struct option *opts, const char *key)
{
    if (strcmp(key, "config") == 0 || strcmp(key, "help") == 0)
        return NULL;
    for (const struct option *o = opts; o->name; o++)
        if (strcmp(o->name, key) == 0 && o->has_arg == required_argument)
            return o;
    return NULL;
}

/* The --config value of argv, by a silent first pass; NULL when absent. */
static int find_config(int argc, char **argv, const struct option *opts, const char *optstring, const char **path)
{
    int config_val = -1;
    for (int i = 0; opts[i].name; i++)
        if (strcmp(opts[i].name, "config") == 0 && !opts[i].flag)
            config_val = opts[i].val;
    *path = NULL;
    int saved_opterr = opterr, c, rc = 0;
    opterr = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        if (c == config_val) {
            if (*path) {
                fprintf(stderr, PROG ": --config given twice\n");
                rc = -1;
            }
            *path = optarg;
        }
    }
    opterr = saved_opterr;
    optind = 0;
    return rc;
}

int rg_run_args_build(rg_run_args *a, int argc, char **argv, const struct option *opts, const char *optstring)
{
    memset(a, 0, sizeof *a);
    const char *path;
    rg_conf *conf = NULL;
    int rc = -1;
    if (find_config(argc, argv, opts, optstring, &path) != 0)
        return -1;
    char err[1024];
    if (path && !(conf = rg_conf_load(path, err, sizeof err))) {
        fprintf(stderr, PROG ": --config %s\n", err);
        return -1;
    }
    size_t n_file = conf ? conf->n : 0;
    a->argv = calloc((size_t)argc + n_file + 1, sizeof *a->argv);
    a->origin = calloc((size_t)argc + n_file + 1, sizeof *a->origin);
    if (!a->argv || !a->origin)
        goto oom;
    a->argv[a->argc++] = argv[0];
    for (size_t i = 0; i < n_file; i++) {
        const rg_conf_entry *e = &conf->entries[i];
        char *arg;
        if (strcmp(e->section, "kafka") == 0) {
            arg = own_printf(a, "-X%s=%s", e->key, e->value);
        } else if (!*e->section) {
            if (!file_option(opts, e->key)) {
                fprintf(stderr,
                        PROG ": %s:%u:%u: unknown key \"%s\" (keys are riskgate run's flags without --; librdkafka "
                        "properties go in [kafka])\n",
                        path, e->line, e->column, e->key);
                goto done;
            }
            arg = own_printf(a, "--%s=%s", e->key, e->value);
        } else {
            fprintf(stderr, PROG ": %s:%u:%u: unknown section [%s] (only [kafka], for librdkafka properties)\n", path,
                    e->line, e->column, e->section);
            goto done;
        }
        char line[32];
        snprintf(line, sizeof line, "%u", e->line);
        char *origin = own_printf(a, "%s:%s", path, line);
        if (!arg || !origin)
            goto oom;
        a->origin[a->argc] = origin;
        a->argv[a->argc++] = arg;
    }
    a->n_from_file = a->argc - 1;
    for (int i = 1; i < argc; i++)
        a->argv[a->argc++] = argv[i];
    a->argv[a->argc] = NULL;
    optind = 0;
    rc = 0;
    goto done;
oom:
    fprintf(stderr, PROG ": out of memory\n");
done:
    rg_conf_free(conf);
    return rc;
}

const char *rg_run_args_origin(const rg_run_args *a)
{
    /* Every option from the file is one element (--key=value, -Xkey=value),
     * and they all precede the command line's, so getopt never moves them. */
    int at = optind - 1;
    return at >= 1 && at <= a->n_from_file ? a->origin[at] : NULL;
}

bool rg_run_args_from_file(const rg_run_args *a) { return rg_run_args_origin(a) != NULL; }

/* The contents of a secret file, trailing newlines removed; NULL printed. */
static char *read_secret_file(const char *key, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, PROG ": -X %s: cannot read file:%s: %s\n", key, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & S_IROTH))
        fprintf(stderr, PROG ": warning: -X %s: file:%s is readable by every user (chmod o-r)\n", key, path);
    char *buf = malloc(RG_RUN_SECRET_MAX + 1);
    size_t n = buf ? fread(buf, 1, RG_RUN_SECRET_MAX + 1, f) : 0;
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    const char *why = !buf ? "out of memory" : read_errno ? strerror(read_errno) : NULL;
    if (!why && n > RG_RUN_SECRET_MAX)
        why = "larger than 65536 bytes";
    while (!why && n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (!why && memchr(buf, '\0', n))
        why = "holds a NUL byte";
    if (!why && n == 0)
        why = "is empty";
    if (why) {
        fprintf(stderr, PROG ": -X %s: file:%s %s%s\n", key, path, read_errno || !buf ? ": " : "", why);
        if (buf) {
            explicit_bzero(buf, RG_RUN_SECRET_MAX + 1);
            free(buf);
        }
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

const char *rg_run_secret_prop(rg_run_args *a, const char *prop)
{
    const char *eq = strchr(prop, '=');
    if (!eq)
        return prop;   /* refused later, with the usual message */
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - prop), prop);
    const char *v = eq + 1;
    if (!rg_log_secret_key(key))
        return prop;
    char *secret = NULL;
    if (strncmp(v, "file:", 5) == 0) {
        if (!(secret = read_secret_file(key, v + 5)))
            return NULL;
    } else if (strncmp(v, "env:", 4) == 0) {
        const char *env = getenv(v + 4);
        if (!env || !*env) {
            fprintf(stderr, PROG ": -X %s: environment variable %s is %s\n", key, v + 4, env ? "empty" : "not set");
            return NULL;
        }
        secret = strdup(env);
    } else if (strncmp(v, "literal:", 8) == 0) {
        secret = strdup(v + 8);
    } else {
        return prop;
    }
    char *out = secret ? own_printf(a, "%s=%s", key, secret) : NULL;
    if (secret) {
        explicit_bzero(secret, strlen(secret));
        free(secret);
    }
    if (!out)
        fprintf(stderr, PROG ": out of memory\n");
    return out;
}

void rg_run_args_free(rg_run_args *a)
{
    for (size_t i = 0; i < a->n_owned; i++) {
        /* Secrets among them: wiped before the memory goes back. */
        explicit_bzero(a->owned[i], strlen(a->owned[i]));
        free(a->owned[i]);
    }
    free(a->owned);
    free(a->argv);
    free(a->origin);
    memset(a, 0, sizeof *a);
}
