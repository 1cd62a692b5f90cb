/*
 * riskgate names [--json] — every name a condition may use: event fields,
 * client signals, detector names and functions, with type, meaning, the
 * detector family that provides it and the state it costs (cli.md "Added
 * in the second round"). Printed from the tables the rule loader resolves
 * names with (rules/names.h), so it cannot drift from the code.
 */
#include <getopt.h>
#include <stdio.h>

#include "../common/strbuf.h"
#include "../rules/names.h"
#include "cli_common.h"
#include "commands.h"

static void usage(FILE *f)
{
    fputs("usage: riskgate names [--json]\n"
          "\n"
          "Lists every name a rule condition may use, grouped by the detector family that\n"
          "provides it: type, whether it may appear in a count() filter, how long its state\n"
          "is kept and what it costs, and its meaning; then the functions.\n"
          "\n"
          "  --json   one JSON object {\"names\":[{\"name\", \"usage\", \"kind\", \"type\", \"family\",\n"
          "           \"filterable\", \"meaning\", \"kept\", \"state\", \"evidence_key\"}...]}\n",
          f);
}

int rg_cmd_names(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'j') {
            json = true;
            continue;
        }
        if (c == 'h') {
            usage(stdout);
            return RG_EXIT_OK;
        }
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    if (optind < argc) {
        fprintf(stderr, "riskgate names: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    rg_strbuf out = RG_STRBUF_INIT;
    if (json)
        rg_names_write_json(&out);
    else
        rg_names_write_text(&out);
    int rc = rg_strbuf_ok(&out) && fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0
                 ? RG_EXIT_OK
                 : RG_EXIT_FAILURE;
    rg_strbuf_free(&out);
    return rc;
}
