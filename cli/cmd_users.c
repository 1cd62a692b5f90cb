/*
 * cmd_users — `riskgate users add|list|remove` (docs/review.md,
 * "Per-analyst access"): who may use the review server, as what role.
 *
 *   riskgate users add    [--db DB] NAME [--role analyst|lead] [--token-file FILE]
 *   riskgate users list   [--db DB] [--json]
 *   riskgate users remove [--db DB] NAME
 *
 * `add` makes the user's token and hands it out once: alone on standard
 * output (so `TOKEN=$(riskgate users add ...)` works), or into a new
 * 0600 file with --token-file; the store keeps only a keyed hash
 * (store/users.h). Nothing else ever prints a token.
 * Exit: 0 done, 1 failure (the name exists / does not, database error),
 * 2 usage or configuration error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/strbuf.h"
#include "../serve/serve.h"
#include "../store/users.h"
#include "alerts_cli.h"
#include "commands_review.h"

static const char USERS_USAGE[] =
    "usage: riskgate users add    [--db DB] NAME [--role analyst|lead] [--token-file FILE]\n"
    "       riskgate users add    [--db DB] --name NAME [--role analyst|lead] [--token-file FILE]\n"
    "       riskgate users list   [--db DB] [--json]\n"
    "       riskgate users remove [--db DB] NAME\n"
    "\n"
    "Who may use `riskgate serve` on the alert store DB (default $RISKGATE_DB), and how:\n"
    "an analyst labels, resolves, and assigns alerts to themselves; a lead also reopens\n"
    "and reassigns. Every change is recorded under the name the token belongs to.\n"
    "  add     a user with a new token (role analyst unless --role lead, or NAME lead);\n"
    "          the store is created when missing; the token is\n"
    "          printed once on standard output, or written to FILE (mode 0600, new file);\n"
    "          the store keeps only a hash of it\n"
    "  list    names, roles, when added\n"
    "  remove  the user's token stops working at once; their name stays in the history\n"
    "While the store has no users, `serve` takes its single token file instead.\n"
    "NAME: 1-64 characters of A-Z a-z 0-9 . _ @ -.\n";

static int users_add(rg_alert_store *s, const char *name, rg_role role, const char *token_file)
{
    char err[512], token[RG_USER_TOKEN_HEX + 1];
    int rc = rg_users_add(s, name, role, token, err, sizeof err);
    if (rc <= 0) {
        fprintf(stderr, "riskgate users add: %s\n", err);
        return 1;
    }
    if (token_file) {
        char werr[1024];
        if (rg_serve_token_write(token_file, token, werr, sizeof werr) < 0) {
            fprintf(stderr, "riskgate users: %s\n", werr);
            memset(token, 0, sizeof token);
            rg_users_remove(s, name, err, sizeof err);
            fprintf(stderr, "riskgate users add: %s not added\n", name);
            return 1;
        }
        fprintf(stderr, "riskgate users: added %s (%s); token in %s\n", name, rg_role_name(role), token_file);
    } else {
        fprintf(stderr, "riskgate users: added %s (%s); the token follows, shown this once"
                        " (the store keeps only a hash)\n", name, rg_role_name(role));
        printf("%s\n", token);
    }
    memset(token, 0, sizeof token);
    return 0;
}

static int users_list(rg_alert_store *s, bool json)
{
    char err[512];
    rg_user *u;
    size_t n;
    if (rg_users_list(s, &u, &n, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate users list: %s\n", err);
        return 1;
    }
    if (json) {
        rg_strbuf b = RG_STRBUF_INIT;
        rg_strbuf_puts(&b, "{\"users\":[");
        for (size_t i = 0; i < n; i++) {
            rg_strbuf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
            rg_strbuf_put_json_str(&b, u[i].name, strlen(u[i].name));
            rg_strbuf_printf(&b, ",\"role\":\"%s\",\"added_at\":\"", rg_role_name(u[i].role));
            rg_strbuf_put_utc_ms(&b, u[i].created_ms);
            rg_strbuf_puts(&b, "\"}");
        }
        rg_strbuf_puts(&b, "]}\n");
        fwrite(b.data, 1, b.len, stdout);
        rg_strbuf_free(&b);
    } else if (n == 0) {
        printf("no users: `riskgate serve` takes its token file (riskgate users add NAME to add one)\n");
    } else {
        size_t w = strlen("NAME");
        for (size_t i = 0; i < n; i++)
            w = strlen(u[i].name) > w ? strlen(u[i].name) : w;
        printf("%-*s  %-7s  %s\n", (int)w, "NAME", "ROLE", "ADDED (UTC)");
        for (size_t i = 0; i < n; i++) {
            char t[32];
            rg_fmt_time(u[i].created_ms, t, sizeof t);
            printf("%-*s  %-7s  %s\n", (int)w, u[i].name, rg_role_name(u[i].role), t);
        }
    }
    free(u);
    return 0;
}

int rg_cmd_users(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},         {"role", required_argument, NULL, 'r'},
        {"token-file", required_argument, NULL, 't'}, {"json", no_argument, NULL, 'j'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USERS_USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    bool add = strcmp(action, "add") == 0, list = strcmp(action, "list") == 0,
         remove = strcmp(action, "remove") == 0;
    if (!add && !list && !remove)
        return rg_review_usage_error("users", "unknown action '%s' (add, list or remove)", action);
    const char *db = NULL, *role_name = NULL, *token_file = NULL, *name = NULL;
    bool json = false;
    optind = 0;
    opterr = 0;
    int c;
    char **args = argv + 1;
    int nargs = argc - 1;
    while ((c = getopt_long(nargs, args, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': role_name = optarg; break;
        case 't': token_file = optarg; break;
        case 'j': json = true; break;
        case 'n': name = optarg; break;
        case 'h': fputs(USERS_USAGE, stdout); return 0;
        case ':': return rg_review_usage_error("users", "%s needs a value", args[optind - 1]);
        default: return rg_review_usage_error("users", "unknown option '%s'", args[optind - 1]);
        }
    }
    int npos = nargs - optind;
    char **pos = args + optind;
    /* --name NAME reads as well as the NAME argument. */
    char *named[3];
    if (name && npos < 2) {
        named[0] = (char *)name;
        for (int i = 0; i < npos; i++)
            named[i + 1] = pos[i];
        pos = named;
        npos++;
    }
    /* `users add NAME lead` reads as well as `--role lead`. */
    if (add && npos == 2 && !role_name) {
        role_name = pos[1];
        npos = 1;
    }
    db = rg_alerts_db_path(db);
    if (!db)
        return rg_review_usage_error("users", "%s", "--db DB is required (or set RISKGATE_DB)");
    if (list && npos != 0)
        return rg_review_usage_error("users", "%s", "list takes no arguments");
    if (!list && npos != 1)
        return rg_review_usage_error("users", "%s needs exactly one NAME", action);
    if ((role_name || token_file) && !add)
        return rg_review_usage_error("users", "%s", "--role and --token-file belong to add");
    if (json && !list)
        return rg_review_usage_error("users", "%s", "--json belongs to list");
    int role = role_name ? rg_role_from_name(role_name) : RG_ROLE_ANALYST;
    if (role < 0)
        return rg_review_usage_error("users", "the role must be analyst or lead, not '%s'", role_name);
    if (add && !rg_alert_name_valid(pos[0]))
        return rg_review_usage_error("users", "not a user name: '%s' (1-64 of A-Z a-z 0-9 . _ @ -, not none)", pos[0]);

    char err[512];
    /* Users may be added before the first alert: add creates the store. */
    rg_alert_store *s = rg_alert_store_open(db, add ? RG_ALERTS_CREATE : RG_ALERTS_EXISTING, err, sizeof err);
    if (!s) {
        fprintf(stderr, "riskgate users: %s\n", err);
        return 2;
    }
    int rc;
    if (add) {
        rc = users_add(s, pos[0], (rg_role)role, token_file);
    } else if (list) {
        rc = users_list(s, json);
    } else {
        rc = rg_users_remove(s, pos[0], err, sizeof err);
        if (rc <= 0)
            fprintf(stderr, "riskgate users remove: %s\n", err);
        else
            fprintf(stderr, "riskgate users: removed %s; their token no longer works\n", pos[0]);
        rc = rc > 0 ? 0 : 1;
    }
    if (rg_alert_store_close(s, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate users: %s\n", err);
        rc = 1;
    }
    return rc;
}
