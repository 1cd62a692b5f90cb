/*
 * riskgate replay — captured traffic through the engine, offline
 * (cli.md "Replay"). Decisions to --out (default stdout) as JSON Lines
 * without decided_at, byte-identical for the same capture, rule file and
 * GeoIP database.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../decisions/engine.h"
#include "../replay/replay.h"
#include "../sinks/fanout.h"
#include "../sinks/jsonl.h"
#include "../stages/pipeline.h"
#include "../store/alerts.h"
#include "cli_common.h"
#include "commands.h"

#define PROG "riskgate replay"

static void usage(FILE *f)
{
    fputs("usage: riskgate replay [--rules FILE]... [--geoip FILE[,FILE]|none] [--out FILE] [--rejects FILE]\n"
          "                       [--max-rejects N] [--summary FILE] [--alerts DB] [--progress|--no-progress] [--quiet]\n"
          "                       [--workers N] [--stages N [--stages-seed S]] CAPTURE...\n"
          "\n"
          "Replays captured events (JSON Lines, .gz, or kcat -C -J envelopes; - for stdin),\n"
          "several files in order as one stream, through the rule file, and writes one\n"
          "decision per (event, subject) a rule hit.\n"
          "\n"
          "  --rules FILE     rule file (default: the bundled rules/default.yaml); repeat it to read\n"
          "                   several files in order as one rule set (later files may override\n"
          "                   rules, append to lists and set settings: docs/rules-guide.md)\n"
          "  --geoip FILE     MaxMind DB for IP geolocation (default: a City database in\n"
          "                   /usr/share/GeoIP/ or /var/lib/GeoIP/, else the pinned IPv4 and IPv6\n"
          "                   pair riskgate ships; $RISKGATE_GEOIP overrides it: docs/install.md);\n"
          "                   several files as a comma list or repeated\n"
          "                   --geoip, asked in that order; `none` runs without (geo names unknown)\n"
          "  --out FILE       decisions as JSON Lines (default: standard output)\n"
          "  --rejects FILE   one line per rejected input line (events.md \"Bad input\")\n"
          "  --max-rejects N  write at most N of them to --rejects; the rest are counted, not\n"
          "                   written (a corrupted input cannot fill a disk); default: no limit\n"
          "  --summary FILE   counts as one JSON object (events, rejects per kind, hits per rule,\n"
          "                   actions, seconds, events/s)\n"
          "  --alerts DB      also store every decision as an alert in this SQLite file\n"
          "  --progress       progress line on stderr (default: when stderr is a terminal)\n"
          "  --quiet          no human summary on stderr\n"
          "  --workers N      threads that evaluate (default: the machine's cores, at most 64): the\n"
          "                   capture is cut into batches and the keyed stages of the streaming\n"
          "                   topology run as threads (docs/bench.md); the output is byte-identical\n"
          "                   to --workers 1, whatever the rule files (a cooldown on a counterparty\n"
          "                   is applied in capture order by the step that writes the output)\n"
          "  --stages N       evaluate through the streaming topology of `riskgate run`, in memory,\n"
          "                   with N partitions (docs/scale-out.md): the same decisions as without,\n"
          "                   in the order the tasks produce them; --stages-seed S interleaves the\n"
          "                   tasks at random (S > 0), as instances and the network would. Not\n"
          "                   with --summary or --alerts\n"
          "\n"
          "Exit status: 0 done (bad lines are counted, not fatal), 2 usage or configuration\n"
          "error, 1 other failure.\n",
          f);
}

/* --stages: the staged topology's decisions, every one (emitted or under
 * cooldown), to the same sinks the engine's go to. */
static int staged_decision(void *opaque, const rg_decision *d)
{
    return rg_sink_decision(opaque, d, NULL) < 0 ? -1 : 0;
}

/* The sinks of a replay: the decisions file (--out) and its rejects file
 * (--rejects, at most --max-rejects lines), and with --alerts the alert
 * store, behind one fan-out. One sink for both decisions and rejects: the
 * alert store declines rejects, the file writes them. */
static int open_sinks(rg_sink *out, FILE *decisions, FILE *rejects, bool max_rejects_set,
                      unsigned long long max_rejects, const char *alerts_path, char *err, size_t err_size)
{
    rg_sink children[2] = {{0}};
    rg_jsonl_sink_conf files = {.decisions = decisions, .rejects = rejects, .max_rejects_set = max_rejects_set,
                                .max_rejects = max_rejects};
    if (rg_jsonl_sink_open(&children[0], &files, err, err_size) != 0)
        return -1;
    if (alerts_path) {
        rg_alert_store *store = rg_alert_store_open(alerts_path, RG_ALERTS_CREATE, err, err_size);
        if (!store || rg_alert_sink_open(&children[1], &(rg_alert_sink_conf){.store = store, .owns_store = true},
                                         err, err_size) != 0) {
            rg_sink_close(&children[0], NULL, 0);
            return -1;
        }
    }
    return rg_fanout_sink_open(out, children, 2, err, err_size);
}

int rg_cmd_replay(int argc, char **argv)
{
    const char *geo_path = NULL, *out_path = NULL, *rejects_path = NULL, *summary_path = NULL,
               *alerts_path = NULL;
    rg_cli_rules rules = {0};
    int progress = -1, quiet = 0;
    bool max_rejects_set = false;
    unsigned long long max_rejects = 0;
    long stages = 0, workers = rg_cli_default_workers();
    unsigned long long stages_seed = 0;
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'},   {"geoip", required_argument, NULL, 'g'},
        {"out", required_argument, NULL, 'o'},     {"rejects", required_argument, NULL, 'j'},
        {"summary", required_argument, NULL, 's'}, {"alerts", required_argument, NULL, 'a'},
        {"progress", no_argument, NULL, 'p'},      {"no-progress", no_argument, NULL, 'P'},
        {"quiet", no_argument, NULL, 'q'},         {"help", no_argument, NULL, 'h'},
        {"max-rejects", required_argument, NULL, 'M'},
        {"stages", required_argument, NULL, 'S'},  {"stages-seed", required_argument, NULL, 'E'},
        {"workers", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:g:o:j:s:a:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (!rg_cli_rules_add(&rules, PROG, optarg))
                return RG_EXIT_USAGE;
            break;
        case 'g':
            if (!(geo_path = rg_cli_geoip_append(geo_path, optarg))) {
                fprintf(stderr, "riskgate replay: out of memory\n");
                return 1;
            }
            break;
        case 'o': out_path = optarg; break;
        case 'j': rejects_path = optarg; break;
        case 's': summary_path = optarg; break;
        case 'a': alerts_path = optarg; break;
        case 'p': progress = 1; break;
        case 'P': progress = 0; break;
        case 'q': quiet = 1; break;
        case 'M': {
            char *end;
            errno = 0;
            max_rejects = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || errno) {
                fprintf(stderr, "riskgate replay: --max-rejects needs a count (0 or more), not '%s'\n", optarg);
                return RG_EXIT_USAGE;
            }
            max_rejects_set = true;
            break;
        }
        case 'S': {
            char *end;
            stages = strtol(optarg, &end, 10);
            if (!*optarg || *end || stages < 1 || stages > 64) {
                fprintf(stderr, "riskgate replay: --stages needs a partition count 1..64, not '%s'\n", optarg);
                return RG_EXIT_USAGE;
            }
            break;
        }
        case 'W':
            if (rg_cli_parse_workers(PROG, optarg, &workers) != 0)
                return RG_EXIT_USAGE;
            break;
        case 'E': {
            char *end;
            errno = 0;
            stages_seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-' || errno) {
                fprintf(stderr, "riskgate replay: --stages-seed needs a number, not '%s'\n", optarg);
                return RG_EXIT_USAGE;
            }
            break;
        }
        case 'h': usage(stdout); return RG_EXIT_OK;
        default: usage(stderr); return RG_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("riskgate replay: no CAPTURE given (use - for standard input)\n", stderr);
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    if (stages && (summary_path || alerts_path)) {
        fputs("riskgate replay: --stages does not go with --summary or --alerts\n", stderr);
        return RG_EXIT_USAGE;
    }
    if (!geo_path)
        geo_path = rg_cli_default_geoip();

    int rc = RG_EXIT_FAILURE;
    rg_ruleset *rs = NULL;
    rg_geo *geo = NULL;
    rg_engine *engine = NULL;
    FILE *out = NULL, *rejects = NULL;
    rg_sink sinks = {0};
    rg_pipeline *pipeline = NULL;
    bool geo_ok;

    rs = rg_cli_load_rule_files(PROG, &rules);
    if (!rs) {
        rc = RG_EXIT_USAGE;
        goto done;
    }
    geo = rg_cli_open_geo("riskgate replay", geo_path, &geo_ok);
    if (!geo_ok) {
        rc = RG_EXIT_USAGE;
        goto done;
    }
    char err[512] = "";
    engine = rg_engine_new(rs, geo, err, sizeof err);
    if (!engine) {
        fprintf(stderr, "riskgate replay: %s\n", err);
        rc = RG_EXIT_USAGE;
        goto done;
    }
    out = rg_cli_open_out(PROG, out_path, "decisions to");
    if (!out)
        goto done;
    if (rejects_path && !(rejects = rg_cli_open_out(PROG, rejects_path, "rejects to")))
        goto done;
    if (open_sinks(&sinks, out, rejects, max_rejects_set, max_rejects, alerts_path, err, sizeof err) != 0) {
        fprintf(stderr, "riskgate replay: %s\n", err);
        rc = RG_EXIT_USAGE;
        goto done;
    }

    rg_stage_out staged_out = {.opaque = &sinks, .decision = staged_decision};
    if (stages && !(pipeline = rg_pipeline_new(rs, geo, (int)stages, stages_seed, &staged_out, err, sizeof err))) {
        fprintf(stderr, "riskgate replay: %s\n", err);
        goto done;
    }
    rg_replay_lane lane = {.engine = engine, .sink = &sinks};
    rg_replay_opts ro = {
        .captures = (const char *const *)argv + optind,
        .n_captures = (size_t)(argc - optind),
        .lanes = &lane,
        .n_lanes = 1,
        .rejects = rejects ? &sinks : NULL,
        .progress = progress == -1 ? isatty(STDERR_FILENO) : progress,
        .pipeline = pipeline,
        .workers = (int)workers,
        .geo = geo,
        .exit_after = true,
    };
    rg_replay_result res;
    int run_rc = rg_replay_run(&ro, &res, err, sizeof err);
    res.geoip_lookup_errors = rg_geo_lookup_errors(geo);
    if (rg_sink_close(&sinks, err, sizeof err) != 0)
        run_rc = -1;
    if (run_rc != 0)
        fprintf(stderr, "riskgate replay: %s\n", err);

    rg_strbuf text = RG_STRBUF_INIT;
    if (summary_path) {
        rg_replay_summary_json(&res, &text);
        rg_strbuf_putc(&text, '\n');
        if (!rg_strbuf_ok(&text) || rg_cli_write_file(PROG, summary_path, "summary to", text.data, text.len) != 0)
            run_rc = -1;
        rg_strbuf_reset(&text);
    }
    if (!quiet && pipeline) {
        rg_pipeline_stats ps;
        rg_pipeline_get_stats(pipeline, &ps);
        fprintf(stderr,
                "replay --stages %ld: %llu events evaluated, %llu duplicates, %llu rejected; %llu records to the "
                "entity stage, %llu to decide, %llu marks; %llu late at the entity stage\n",
                stages, (unsigned long long)ps.events, (unsigned long long)ps.duplicates,
                (unsigned long long)res.rejected, (unsigned long long)ps.records_entities,
                (unsigned long long)ps.records_decide, (unsigned long long)ps.marks, (unsigned long long)ps.late);
    } else if (!quiet) {
        rg_replay_summary_text(&res, &text);
        fputs(text.data, stderr);
    }
    rg_strbuf_free(&text);
    rg_replay_result_free(&res);
    rc = run_rc == 0 ? RG_EXIT_OK : RG_EXIT_FAILURE;

done:
    rg_sink_close(&sinks, NULL, 0);   /* a failure before the run; closed (and reported) above otherwise */
    if (rg_cli_close_out(PROG, rejects, rejects_path) != 0)
        rc = RG_EXIT_FAILURE;
    if (out && rg_cli_close_out(PROG, out, out_path) != 0)
        rc = RG_EXIT_FAILURE;
    rg_pipeline_free(pipeline);
    rg_engine_leave_to_exit(engine);   /* the process exits next: its state is not walked to be freed */
    rg_geo_close(geo);
    rg_ruleset_free(rs);
    return rc;
}
