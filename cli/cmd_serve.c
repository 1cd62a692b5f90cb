/*
 * cmd_serve — `riskgate serve [--db DB] [--listen ADDR:PORT] [--token-file FILE] [--as NAME]`:
 * the review page and its API (serve/serve.h, docs/review.md) until
 * SIGINT or SIGTERM. Who may sign in: the store's users (`riskgate
 * users`), or while it has none the single token file, whose changes are
 * recorded as --as NAME (default: the user running serve). Prints where
 * it listens and where the token is, never a token. Exit: 0 stopped by a
 * signal, 2 usage or configuration error (bad flag, no such store,
 * unusable token file or address), 1 otherwise.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../geo/geo.h"
#include "../serve/serve.h"
#include "cli_common.h"
#include "../store/users.h"
#include "alerts_cli.h"
#include "commands_review.h"

static const char SERVE_USAGE[] =
    "usage: riskgate serve [--db DB] [--listen ADDR:PORT] [--token-file FILE] [--as NAME]\n"
    "                      [--geoip FILE|none] [--quiet]\n"
    "\n"
    "Serves the alert review page and its JSON API for the alert store DB\n"
    "(default $RISKGATE_DB).\n"
    "  --listen ADDR:PORT  where to listen (default " RG_SERVE_DEFAULT_LISTEN "; port 0: any free port)\n"
    "  --token-file FILE   the single token, created with mode 0600 when missing\n"
    "                      (default: DB.token next to the database)\n"
    "  --geoip FILE|none   GeoIP databases to place alerts' IPs on the page (default: the\n"
    "                      ones replay finds by default, when present)\n"
    "  --as NAME           whom the single token's changes are recorded as\n"
    "                      (default: $USER)\n"
    "  --quiet             no access log on stderr\n"
    "Every request but the page itself needs the header Authorization: Bearer TOKEN.\n"
    "The token says who is asking: one of the store's users (riskgate users add), or,\n"
    "while the store has none, the single token file, which acts as one lead.\n"
    "Stop with Ctrl-C or SIGTERM.\n";

/* How many users the store has (-1 when it cannot tell). */
static int64_t users_in(const char *db)
{
    char err[512];
    int64_t n = -1;
    rg_alert_store *s = rg_alert_store_open(db, RG_ALERTS_EXISTING, err, sizeof err);
    if (s && rg_users_count(s, &n, err, sizeof err) < 0)
        n = -1;
    rg_alert_store_close(s, NULL, 0);
    return n;
}

int rg_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},         {"listen", required_argument, NULL, 'l'},
        {"token-file", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"as", required_argument, NULL, 'a'},         {"geoip", required_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *listen = NULL, *token_file = NULL, *as = NULL, *geoip = NULL;
    bool quiet = false;
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'l': listen = optarg; break;
        case 't': token_file = optarg; break;
        case 'q': quiet = true; break;
        case 'a': as = optarg; break;
        case 'g': geoip = optarg; break;
        case 'h': fputs(SERVE_USAGE, stdout); return 0;
        case ':': return rg_review_usage_error("serve", "%s needs a value", argv[optind - 1]);
        default: return rg_review_usage_error("serve", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return rg_review_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    db = rg_alerts_db_path(db);
    if (!db)
        return rg_review_usage_error("serve", "%s", "--db DB is required (or set RISKGATE_DB)");
    if (!as) {
        alerts_opts o = {0};
        as = rg_alerts_analyst(&o);
    }
    if (!as || !rg_alert_name_valid(as))
        return rg_review_usage_error("serve", "--as: not a user name: '%s' (A-Z a-z 0-9 . _ @ -)", as ? as : "");

    char default_token[4096];
    if (!token_file) {
        snprintf(default_token, sizeof default_token, "%s.token", db);
        token_file = default_token;
    }
    char err[1024], token[RG_SERVE_TOKEN_HEX * 4 + 1];
    bool created = false;
    if (rg_serve_token_load(token_file, token, sizeof token, &created, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate serve: %s\n", err);
        return 2;
    }

    /* GeoIP only decorates the page: without the default databases the
     * page shows IPs unplaced; a database asked for by name must open. */
    rg_geo *geo = NULL;
    if (geoip) {
        bool ok;
        geo = rg_cli_open_geo("riskgate serve", geoip, &ok);
        if (!ok)
            return 2;
    } else {
        /* The default list ($RISKGATE_GEOIP or the search order of
         * cli_common.h), read as --geoip reads it: any number of files,
         * or none. */
        bool ok;
        geo = rg_cli_open_geo("riskgate serve", rg_cli_default_geoip(), &ok);
        if (!geo && !ok)
            fprintf(stderr, "riskgate serve: no usable GeoIP database in the default places (--geoip FILE):"
                            " the page shows IPs without their place\n");
    }

    /* Block the stop signals in every thread (MHD's inherits the mask),
     * then wait for one here: no handler runs inside the server. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &stop, &old);

    rg_serve_config cfg = {.db_path = db, .listen = listen, .token = token, .user_name = as,
                           .access_log = quiet ? NULL : stderr, .geo = geo};
    rg_server *srv = rg_serve_start(&cfg, err, sizeof err);
    memset(token, 0, sizeof token);
    if (!srv) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "riskgate serve: %s\n", err);
        rg_geo_close(geo);
        return 2;
    }
    const char *host = listen ? listen : RG_SERVE_DEFAULT_LISTEN;
    const char *colon = strrchr(host, ':');
    fprintf(stderr, "riskgate serve: review page at http://%.*s:%u/ (token in %s%s)\n",
            (int)(colon - host), host, (unsigned)rg_serve_port(srv), token_file,
            created ? ", created now" : "");
    int64_t users = users_in(db);
    if (users > 0)
        fprintf(stderr, "riskgate serve: %lld users in the store sign in with their own tokens"
                        " (riskgate users list); the token file is not accepted while there are users\n",
                (long long)users);
    else if (users == 0)
        fprintf(stderr, "riskgate serve: no users in the store: the token file signs in as %s (lead);"
                        " riskgate users add NAME gives each analyst a token of their own\n", as);
    fflush(stderr);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "riskgate serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    rg_serve_stop(srv);
    rg_geo_close(geo);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
