/*
 * cmd_serve — `riskgate serve --db DB [--listen ADDR:PORT] [--token-file FILE]`:
 * the review page and its API (serve/serve.h, docs/review.md) until
 * SIGINT or SIGTERM. Prints where it listens and where the token is, never
 * the token. Exit: 0 stopped by a signal, 2 usage or configuration error
 * (bad flag, no such store, unusable token file or address), 1 otherwise.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../serve/serve.h"
#include "commands_review.h"

static const char SERVE_USAGE[] =
    "usage: riskgate serve --db DB [--listen ADDR:PORT] [--token-file FILE] [--quiet]\n"
    "\n"
    "Serves the alert review page and its JSON API for the alert store DB.\n"
    "  --listen ADDR:PORT  where to listen (default " RG_SERVE_DEFAULT_LISTEN "; port 0: any free port)\n"
    "  --token-file FILE   the bearer token, created with mode 0600 when missing\n"
    "                      (default: DB.token next to the database)\n"
    "  --quiet             no access log on stderr\n"
    "Every request but the page itself needs the header Authorization: Bearer TOKEN;\n"
    "the page asks for the token. Stop with Ctrl-C or SIGTERM.\n";

static int serve_usage_error(const char *fmt, const char *arg)
{
    fputs("riskgate serve: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see riskgate serve --help)\n", stderr);
    return 2;
}

int rg_cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},         {"listen", required_argument, NULL, 'l'},
        {"token-file", required_argument, NULL, 't'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *listen = NULL, *token_file = NULL;
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
        case 'h': fputs(SERVE_USAGE, stdout); return 0;
        case ':': return serve_usage_error("%s needs a value", argv[optind - 1]);
        default: return serve_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return serve_usage_error("unexpected argument '%s'", argv[optind]);
    if (!db)
        return serve_usage_error("%s", "--db DB is required");

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

    /* Block the stop signals in every thread (MHD's inherits the mask),
     * then wait for one here: no handler runs inside the server. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, &stop, &old);

    rg_serve_config cfg = {.db_path = db, .listen = listen, .token = token,
                           .access_log = quiet ? NULL : stderr};
    rg_server *srv = rg_serve_start(&cfg, err, sizeof err);
    memset(token, 0, sizeof token);
    if (!srv) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        fprintf(stderr, "riskgate serve: %s\n", err);
        return 2;
    }
    const char *host = listen ? listen : RG_SERVE_DEFAULT_LISTEN;
    const char *colon = strrchr(host, ':');
    fprintf(stderr, "riskgate serve: review page at http://%.*s:%u/ (token in %s%s)\n",
            (int)(colon - host), host, (unsigned)rg_serve_port(srv), token_file,
            created ? ", created now" : "");
    fflush(stderr);

    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr, "riskgate serve: %s, stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    rg_serve_stop(srv);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}
