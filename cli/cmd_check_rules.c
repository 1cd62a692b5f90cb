/*
 * riskgate check-rules FILE... [--json] — validate rule files, read in
 * order as one rule set (rules.md "Several files"), and say what they use:
 * rules, signals, lists, windows and the state each detector will keep.
 * Every error is printed as FILE:LINE:COLUMN: message, in the file it is
 * in (rules.md "Loading"). --json gives the same for CI pipelines as one
 * JSON object on stdout, errors included, with the same exit status.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../rules/ruleset.h"
#include "cli_common.h"
#include "commands.h"

#define PROG "riskgate check-rules"

static void usage(FILE *f)
{
    fputs("usage: riskgate check-rules [--json] [FILE...]\n"
          "\n"
          "Loads rule files exactly as replay and run would: several files are read in the\n"
          "order given as one rule set (later files may add rules, replace one with\n"
          "'override: true', append to lists and set settings). Default: the bundled\n"
          "rules/default.yaml. On success prints the ruleset id, settings, lists, signals,\n"
          "rules and the state each detector will keep, and exits 0. On refusal prints every\n"
          "error as FILE:LINE:COLUMN: message on stderr and exits 2.\n"
          "\n"
          "  --json   one JSON object on stdout instead: {\"ok\":true, \"ruleset\", \"files\",\n"
          "           \"settings\", \"lists\", \"signals\", \"rules\" (each with the names and state it\n"
          "           uses), \"state\", \"horizons\", \"errors\":[]}, or on refusal {\"ok\":false,\n"
          "           \"files\", \"errors\":[{\"file\",\"line\",\"column\",\"message\"}]}; durations\n"
          "           in seconds. Exit status as without it.\n",
          f);
}

/* One "FILE:LINE:COLUMN: message" line as JSON. FILE is one of the names
 * given (a name may itself hold colons), the longest that fits. */
static void error_json(const char *line, size_t len, const char *const *files, size_t n, rg_strbuf *out)
{
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        size_t fl = strlen(files[i]);
        if (fl > best && fl < len && memcmp(line, files[i], fl) == 0 && line[fl] == ':')
            best = fl;
    }
    long ln = 0, col = 0;
    char *end = NULL;
    const char *msg = line;
    if (best) {
        ln = strtol(line + best + 1, &end, 10);
        if (end && *end == ':')
            col = strtol(end + 1, &end, 10);
        if (end && end[0] == ':' && end[1] == ' ')
            msg = end + 2;
    }
    rg_strbuf_puts(out, "{\"file\":");
    rg_strbuf_put_json_str(out, line, best);
    rg_strbuf_printf(out, ",\"line\":%ld,\"column\":%ld,\"message\":", ln, col);
    rg_strbuf_put_json_str(out, msg, len - (size_t)(msg - line));
    rg_strbuf_putc(out, '}');
}

static void refusal_json(const char *errors, const char *const *files, size_t n, rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"ok\":false,\"files\":[");
    for (size_t i = 0; i < n; i++) {
        rg_strbuf_puts(out, i ? "," : "");
        rg_strbuf_put_json_str(out, files[i], strlen(files[i]));
    }
    rg_strbuf_puts(out, "],\"errors\":[");
    bool first = true;
    for (const char *p = errors ? errors : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len) {
            rg_strbuf_puts(out, first ? "\n" : ",\n");
            error_json(p, len, files, n, out);
            first = false;
        }
        p += len + (nl ? 1 : 0);
    }
    rg_strbuf_puts(out, "]}\n");
}

int rg_cmd_check_rules(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return RG_EXIT_OK;
        }
        if (c == 'j') {
            json = true;
            continue;
        }
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    rg_cli_rules files = {0};
    for (int i = optind; i < argc; i++)
        if (!rg_cli_rules_add(&files, PROG, argv[i]))
            return RG_EXIT_USAGE;
    if (!files.n)
        rg_cli_rules_add(&files, PROG, rg_cli_default_rules());

    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_files(files.paths, files.n, &errors);
    rg_strbuf out = RG_STRBUF_INIT;
    int rc = RG_EXIT_OK;
    if (!rs) {
        rc = RG_EXIT_USAGE;
        if (!json) {
            fputs(errors ? errors : "refused\n", stderr);
            free(errors);
            return rc;
        }
        refusal_json(errors, files.paths, files.n, &out);
        free(errors);
    } else if (json) {
        rg_ruleset_describe_json(rs, &out);
    } else {
        rg_ruleset_describe(rs, &out);
    }
    if (!rg_strbuf_ok(&out)) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        rc = RG_EXIT_FAILURE;
    } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        rc = RG_EXIT_FAILURE;
    }
    rg_strbuf_free(&out);
    rg_ruleset_free(rs);
    return rc;
}
