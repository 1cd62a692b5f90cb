/*
 * riskgate check-rules FILE — validate a rule file and say what it uses:
 * rules, signals, lists, windows and the state it will keep. Every error
 * is printed as FILE:LINE:COLUMN: message (rules.md "Loading").
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/strbuf.h"
#include "../rules/ruleset.h"
#include "cli_common.h"
#include "commands.h"

static void usage(FILE *f)
{
    fputs("usage: riskgate check-rules [FILE]\n"
          "\n"
          "Loads a rule file (default: the bundled rules/default.yaml) exactly as replay and\n"
          "run would. On success prints its ruleset id, settings, lists, signals, rules and\n"
          "the state each detector will keep, and exits 0. On refusal prints every error as\n"
          "FILE:LINE:COLUMN: message on stderr and exits 2.\n",
          f);
}

int rg_cmd_check_rules(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return RG_EXIT_OK;
        }
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    if (argc - optind > 1) {
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    const char *path = optind < argc ? argv[optind] : rg_cli_default_rules();
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(path, &errors);
    if (!rs) {
        fputs(errors ? errors : "refused\n", stderr);
        free(errors);
        return RG_EXIT_USAGE;
    }
    rg_strbuf out = RG_STRBUF_INIT;
    rg_ruleset_describe(rs, &out);
    fwrite(out.data, 1, out.len, stdout);
    rg_strbuf_free(&out);
    rg_ruleset_free(rs);
    return fflush(stdout) == 0 ? RG_EXIT_OK : RG_EXIT_FAILURE;
}
