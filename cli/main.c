/*
 * riskgate — one program, subcommands (cli.md). This file only dispatches;
 * each subcommand parses its own flags and returns its exit status.
 */
#include <stdio.h>
#include <string.h>

#include "../stream/metrics.h"
#include "cli_common.h"
#include "commands.h"
#include "commands_review.h"
#include "commands_stream.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"replay", rg_cmd_replay, "replay captured traffic through the rules, offline"},
    {"run", rg_cmd_run, "consume events from Kafka, decide, produce actions (streaming)"},
    {"backtest", rg_cmd_backtest, "compare a candidate rule file with the current one on a capture"},
    {"check-rules", rg_cmd_check_rules, "validate rule files and show what they use (--json for CI)"},
    {"names", rg_cmd_names, "list every name a rule condition may use, with type, meaning and state"},
    {"explain", rg_cmd_explain, "show how every rule evaluates on one event, and the decision"},
    {"alerts", rg_cmd_alerts, "list, search, label, assign, resolve alerts; history; precision"},
    {"serve", rg_cmd_serve, "the alert review page and its JSON API (loopback, token)"},
    {"users", rg_cmd_users, "the review page's analysts and leads, each with a token"},
    {NULL, NULL, NULL},
};

/* The first line is the contract ("riskgate VERSION"); then each library
 * as it reports itself at run time (what this binary really loaded), as
 * kcat -V does. riskgate_build_info exports the same (stream/metrics.h). */
static void version(void)
{
    rg_versions v;
    rg_metrics_versions(&v);
    printf("riskgate %s\n", v.riskgate);
    printf("librdkafka %s (builtin.features=%s)\n", v.librdkafka, v.librdkafka_features);
    printf("libmaxminddb %s\nSQLite %s\nlibmicrohttpd %s\nJansson %s\nLibYAML %s\nzlib %s\n", v.libmaxminddb,
           v.sqlite, v.libmicrohttpd, v.jansson, v.libyaml, v.zlib);
}

static void usage(FILE *f)
{
    fputs("usage: riskgate COMMAND [OPTIONS] [ARGS]\n\nCommands:\n", f);
    for (const struct command *c = commands; c->name; c++)
        fprintf(f, "  %-12s %s\n", c->name, c->summary);
    fputs("\n`riskgate COMMAND --help` describes each. `riskgate --version` prints the version and the libraries'.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return RG_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "version") == 0) {
        version();
        return RG_EXIT_OK;
    }
    for (const struct command *c = commands; c->name; c++) {
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    }
    fprintf(stderr, "riskgate: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return RG_EXIT_USAGE;
}
