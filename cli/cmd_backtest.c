/*
 * riskgate backtest — what would a candidate rule file have done on this
 * traffic, next to the current one (cli.md "Back-test"). One pass over the
 * capture; each file runs in its own engine with its own state.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../replay/backtest.h"
#include "cli_common.h"
#include "commands.h"
#include "labels.h"

static void usage(FILE *f)
{
    fputs("usage: riskgate backtest --rules OLD... --candidate NEW... [--geoip FILE[,FILE]|none]\n"
          "                         [--labels DB] [--report FILE] [--progress|--no-progress] [--workers N]\n"
          "                         CAPTURE...\n"
          "\n"
          "Replays the capture once under both rule files, side by side, and reports per rule\n"
          "the hits under each (equal to what `replay --summary` reports for each file alone),\n"
          "the subjects each rule gains and loses, the decisions added, removed and changed,\n"
          "and which customers would newly be frozen or asked for face verification.\n"
          "\n"
          "  --rules OLD       the rule file in force; repeat it for a rule set of several files\n"
          "                    (read in order, as replay --rules reads them)\n"
          "  --candidate NEW   the rule file to try; repeat it the same way\n"
          "  --geoip FILE      as for replay (default: the databases riskgate finds, as replay; a comma\n"
          "                    list or repeated --geoip for several; `none` for none)\n"
          "  --labels DB       an alert store with analyst labels: per-rule precision under\n"
          "                    each file, and fraud-labelled subjects the candidate would miss\n"
          "  --report FILE     the JSON report (default: none; the table goes to stdout)\n"
          "  --workers N       threads that evaluate (default: the machine's cores), as for replay:\n"
          "                    the same report as --workers 1\n",
          f);
}

int rg_cmd_backtest(int argc, char **argv)
{
    const char *geo_path = NULL, *labels_path = NULL, *report_path = NULL;
    rg_cli_rules old_files = {0}, new_files = {0};
    int progress = -1;
    long workers = rg_cli_default_workers();
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'},  {"candidate", required_argument, NULL, 'c'},
        {"geoip", required_argument, NULL, 'g'},  {"labels", required_argument, NULL, 'l'},
        {"report", required_argument, NULL, 'o'}, {"progress", no_argument, NULL, 'p'},
        {"no-progress", no_argument, NULL, 'P'},  {"help", no_argument, NULL, 'h'},
        {"workers", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:c:g:l:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
        case 'c':
            if (!rg_cli_rules_add(c == 'r' ? &old_files : &new_files, "riskgate backtest", optarg))
                return RG_EXIT_USAGE;
            break;
        case 'g':
            if (!(geo_path = rg_cli_geoip_append(geo_path, optarg))) {
                fprintf(stderr, "riskgate backtest: out of memory\n");
                return 1;
            }
            break;
        case 'l': labels_path = optarg; break;
        case 'o': report_path = optarg; break;
        case 'p': progress = 1; break;
        case 'P': progress = 0; break;
        case 'W':
            if (rg_cli_parse_workers("riskgate backtest", optarg, &workers) != 0)
                return RG_EXIT_USAGE;
            break;
        case 'h': usage(stdout); return RG_EXIT_OK;
        default: usage(stderr); return RG_EXIT_USAGE;
        }
    }
    if (!old_files.n || !new_files.n || optind >= argc) {
        fputs("riskgate backtest: --rules, --candidate and at least one CAPTURE are required\n", stderr);
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    if (!geo_path)
        geo_path = rg_cli_default_geoip();

    int rc = RG_EXIT_USAGE;
    rg_ruleset *old_rs = NULL, *new_rs = NULL;
    rg_geo *geo = NULL;
    rg_engine *old_e = NULL, *new_e = NULL;
    rg_backtest *bt = NULL;
    rg_strbuf text = RG_STRBUF_INIT;
    rg_replay_result res = {0};
    char err[512] = "";
    bool geo_ok;

    old_rs = rg_cli_load_rule_files("riskgate backtest", &old_files);
    new_rs = rg_cli_load_rule_files("riskgate backtest", &new_files);
    if (!old_rs || !new_rs)
        goto done;
    geo = rg_cli_open_geo("riskgate backtest", geo_path, &geo_ok);
    if (!geo_ok)
        goto done;
    old_e = rg_engine_new(old_rs, geo, err, sizeof err);
    if (old_e)
        new_e = rg_engine_new(new_rs, geo, err, sizeof err);
    bt = rg_backtest_new();
    if (!old_e || !new_e || !bt) {
        fprintf(stderr, "riskgate backtest: %s\n", err[0] ? err : "out of memory");
        goto done;
    }
    if (labels_path && rg_cli_load_labels(bt, labels_path, err, sizeof err) != 0) {
        fprintf(stderr, "riskgate backtest: --labels %s: %s\n", labels_path, err);
        goto done;
    }

    rg_replay_lane lanes[2] = {{.engine = old_e, .sink = rg_backtest_sink(bt, 0)},
                               {.engine = new_e, .sink = rg_backtest_sink(bt, 1)}};
    rg_replay_opts ro = {
        .captures = (const char *const *)argv + optind,
        .n_captures = (size_t)(argc - optind),
        .lanes = lanes,
        .n_lanes = 2,
        .progress = progress == -1 ? isatty(STDERR_FILENO) : progress,
        .workers = (int)workers,
        .geo = geo,
        .exit_after = true,
    };
    rc = RG_EXIT_FAILURE;
    if (rg_replay_run(&ro, &res, err, sizeof err) != 0) {
        fprintf(stderr, "riskgate backtest: %s\n", err);
        goto done;
    }
    if (report_path) {
        rg_backtest_report_json(bt, &res, &text);
        rg_strbuf_putc(&text, '\n');
        if (!rg_strbuf_ok(&text) ||
            rg_cli_write_file("riskgate backtest", report_path, "the report to", text.data, text.len) != 0)
            goto done;
        rg_strbuf_reset(&text);
    }
    if (!report_path || strcmp(report_path, "-") != 0) {
        rg_backtest_report_text(bt, &res, &text);
        fputs(text.data, stdout);
    }
    fprintf(stderr, "backtest: %llu events in %.2f s (%.0f events/s)\n", (unsigned long long)res.events_read,
            res.seconds, res.seconds > 0 ? (double)res.events_read / res.seconds : 0.0);
    rc = fflush(stdout) == 0 ? RG_EXIT_OK : RG_EXIT_FAILURE;
done:
    rg_replay_result_free(&res);
    rg_strbuf_free(&text);
    rg_backtest_free(bt);
    rg_engine_leave_to_exit(old_e);   /* the process exits next (engine.h) */
    rg_engine_leave_to_exit(new_e);
    rg_geo_close(geo);
    rg_ruleset_free(old_rs);
    rg_ruleset_free(new_rs);
    return rc;
}
