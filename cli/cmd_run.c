/*
 * riskgate run — consume riskgate.events, decide, produce decisions to
 * riskgate.actions and rejects to riskgate.deadletter (cli.md "Streaming";
 * docs/streaming.md). Signals only set flags here; the runner acts on them
 * between two events: SIGTERM/SIGINT drain and exit 0, SIGHUP reloads the
 * rule file.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../stream/log.h"
#include "../stream/run.h"
#include "cli_common.h"
#include "commands_stream.h"
#include "run_config.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

static void usage(FILE *f)
{
    fputs("usage: riskgate run --brokers HOST:PORT[,...] [--group ID] [--rules FILE]... [--geoip FILE[,FILE]|none]\n"
          "                    [--state DIR] [--alerts DB] [-X librdkafka.property=value]...\n"
          "                    [--events-topic T] [--actions-topic T] [--deadletter-topic T]\n"
          "                    [--metrics ADDR:PORT] [--max-wait-ms N] [--max-idle-ms N] [--mark-interval-ms N]\n"
          "                    [--checkpoint-interval-ms N] [--commit-interval-ms N] [--drain-timeout-ms N]\n"
          "                    [--log-level LEVEL]\n"
          "       riskgate run --config FILE [FLAGS]...\n"
          "\n"
          "Consumes events from Kafka, evaluates them with the rule files, and produces one\n"
          "decision per (event, subject) to the action topic (key = subject) and each rejected\n"
          "input to the dead-letter topic. Run as many instances in one group as the events\n"
          "topic has partitions: together they decide like one (docs/scale-out.md). Each\n"
          "instance holds tasks of three stages over the events topic and two internal topics,\n"
          "GROUP.entities and GROUP.decide (created with the events topic's partition count),\n"
          "and keeps each task's state in GROUP.state (compacted), so a partition moves with\n"
          "its state. At-least-once: duplicates share a decision_id and its body.\n"
          "\n"
          "  --config FILE           read flags from FILE: `key = value` lines, the keys being the\n"
          "                          flags below without --, librdkafka properties under\n"
          "                          [kafka]; flags given here override the file's\n"
          "  -b, --brokers LIST      bootstrap servers (required; -b and -G as in kcat)\n"
          "  -G, --group ID          consumer group and prefix of the internal topics (default\n"
          "                          riskgate)\n"
          "  -r, --rules FILE        rule file (default: the bundled rules/default.yaml); repeat\n"
          "                          it for several files read as one rule set; SIGHUP reloads\n"
          "                          them all, refused files keep the running rules\n"
          "  -g, --geoip FILE[,FILE] MaxMind DBs, asked in that order (default: as for replay,\n"
          "                          docs/install.md); `none` runs without, leaving geo names unknown\n"
          "  -s, --state DIR         also keep each task's newest snapshot here (a cache: Kafka's\n"
          "                          GROUP.state is the truth; a newer one here wins at restore)\n"
          "  --alerts DB             also store every decision as an alert in this SQLite file\n"
          "                          (as replay --alerts), and deliver the releases analysts\n"
          "                          queue there (riskgate alerts resolve) to the action topic\n"
          "  -X KEY=VALUE            librdkafka property, for every client; prefix consumer. or\n"
          "                          producer. for one (secret values are never printed); a\n"
          "                          secret's value may be file:PATH or env:NAME, so it is\n"
          "                          not in the command line (docs/operations.md, Secrets)\n"
          "  --events-topic T        input topic (default riskgate.events)\n"
          "  --actions-topic T       decisions topic (default riskgate.actions)\n"
          "  --deadletter-topic T    rejects topic (default riskgate.deadletter)\n"
          "  --metrics ADDR:PORT     Prometheus text endpoint on loopback (e.g. 127.0.0.1:9464),\n"
          "                          with /healthz and /readyz for probes\n"
          "  --max-wait-ms N         the entity stage waits for a source that may still send\n"
          "                          older events (data on the broker, leader down, an instance\n"
          "                          gone) at most this long, then goes on without it, logged\n"
          "                          and counted (default 30000)\n"
          "  --max-idle-ms N         ... and for drained, silent sources (a producer behind the\n"
          "                          others, the end of a backlog) at most this long together;\n"
          "                          in live traffic a silent source's position follows the wall\n"
          "                          clock and the wait is far shorter (default 5000)\n"
          "  --mark-interval-ms N    a silent ingest task reports its progress this often\n"
          "                          (default 20)\n"
          "  --checkpoint-interval-ms N  each task's snapshot interval (default 10000)\n"
          "  --commit-interval-ms N  commits of snapshot positions at most this often (default 500)\n"
          "  --drain-timeout-ms N    on SIGTERM/SIGINT, wait this long for deliveries and final\n"
          "                          snapshots (default 30000)\n"
          "  --log-level LEVEL       debug, info (default), warn, error\n"
          "  -h, --help              this text\n"
          "\n"
          "Logs are logfmt lines on stderr. Exit status: 0 after a clean SIGTERM/SIGINT drain,\n"
          "2 usage or configuration error, 1 other failure.\n",
          f);
}

static int parse_ms(const char *flag, const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || end == s || v < 0 || v > 86400000LL) {
        fprintf(stderr, "riskgate run: %s %s: expected milliseconds 0..86400000\n", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

int rg_cmd_run(int argc, char **argv)
{
    rg_stream_config cfg;
    rg_stream_config_init(&cfg);
    const char *geo_path = NULL;
    rg_cli_rules rules = {0};
    const char **props = NULL;
    size_t n_props = 0;
    int rc = RG_EXIT_USAGE;
    rg_ruleset *rs = NULL;
    rg_geo *geo = NULL;
    rg_stream *stream = NULL;

    enum { OPT_EVENTS = 256, OPT_ALERTS, OPT_ACTIONS, OPT_DEADLETTER, OPT_METRICS, OPT_IDLE, OPT_MAXWAIT, OPT_DRAIN,
           OPT_COMMIT, OPT_CKPT, OPT_LOG, OPT_MARK, OPT_CONFIG };
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"group", required_argument, NULL, 'G'},
        {"rules", required_argument, NULL, 'r'},
        {"geoip", required_argument, NULL, 'g'},
        {"state", required_argument, NULL, 's'},
        {"alerts", required_argument, NULL, OPT_ALERTS},
        {"events-topic", required_argument, NULL, OPT_EVENTS},
        {"actions-topic", required_argument, NULL, OPT_ACTIONS},
        {"deadletter-topic", required_argument, NULL, OPT_DEADLETTER},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"max-idle-ms", required_argument, NULL, OPT_IDLE},
        {"max-wait-ms", required_argument, NULL, OPT_MAXWAIT},
        {"mark-interval-ms", required_argument, NULL, OPT_MARK},
        {"drain-timeout-ms", required_argument, NULL, OPT_DRAIN},
        {"commit-interval-ms", required_argument, NULL, OPT_COMMIT},
        {"checkpoint-interval-ms", required_argument, NULL, OPT_CKPT},
        {"log-level", required_argument, NULL, OPT_LOG},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    static const char optstring[] = "b:G:r:g:s:X:h";
    /* --config FILE: the file's entries come first, as options (run_config.h). */
    rg_run_args args;
    if (rg_run_args_build(&args, argc, argv, opts, optstring) != 0) {
        rg_run_args_free(&args);
        return RG_EXIT_USAGE;
    }
    props = calloc((size_t)args.argc + 1, sizeof *props);
    if (!props) {
        fputs("riskgate run: out of memory\n", stderr);
        rg_run_args_free(&args);
        return RG_EXIT_FAILURE;
    }
    int c;
    bool rules_from_file = false;
    const char *origin = NULL;   /* of the option being read: FILE:LINE, or NULL */
    while ((c = getopt_long(args.argc, args.argv, optstring, opts, NULL)) != -1) {
        origin = rg_run_args_origin(&args);
        switch (c) {
        case 'b': cfg.brokers = optarg; break;
        case 'G': cfg.group = optarg; break;
        case 'r':
            /* The command line's --rules replace the file's. */
            if (rules_from_file && !origin) {
                rules.n = 0;
                rules_from_file = false;
            }
            if (!rg_cli_rules_add(&rules, "riskgate run", optarg))
                goto done;
            rules_from_file = origin != NULL;
            break;
        case OPT_CONFIG: break;   /* read by rg_run_args_build */
        case 'g': geo_path = optarg; break;
        case 's': cfg.state_dir = optarg; break;
        case 'X':
            if (!(props[n_props++] = rg_run_secret_prop(&args, optarg)))
                goto done;
            break;
        case OPT_ALERTS: cfg.alerts_path = optarg; break;
        case OPT_EVENTS: cfg.events_topic = optarg; break;
        case OPT_ACTIONS: cfg.actions_topic = optarg; break;
        case OPT_DEADLETTER: cfg.deadletter_topic = optarg; break;
        case OPT_METRICS: cfg.metrics_addr = optarg; break;
        case OPT_MAXWAIT:
            if (parse_ms("--max-wait-ms", optarg, &cfg.max_wait_ms) != 0)
                goto done;
            if (cfg.max_wait_ms == 0) {
                fprintf(stderr, "riskgate run: --max-wait-ms 0: expected milliseconds 1..86400000\n");
                goto done;
            }
            break;
        case OPT_MARK:
            if (parse_ms("--mark-interval-ms", optarg, &cfg.mark_interval_ms) != 0)
                goto done;
            if (cfg.mark_interval_ms == 0) {
                fprintf(stderr, "riskgate run: --mark-interval-ms 0: expected milliseconds 1..86400000\n");
                goto done;
            }
            break;
        case OPT_IDLE:
            if (parse_ms("--max-idle-ms", optarg, &cfg.max_idle_ms) != 0)
                goto done;
            break;
        case OPT_DRAIN:
            if (parse_ms("--drain-timeout-ms", optarg, &cfg.drain_timeout_ms) != 0)
                goto done;
            break;
        case OPT_COMMIT:
            if (parse_ms("--commit-interval-ms", optarg, &cfg.commit_interval_ms) != 0)
                goto done;
            break;
        case OPT_CKPT:
            if (parse_ms("--checkpoint-interval-ms", optarg, &cfg.checkpoint_interval_ms) != 0)
                goto done;
            break;
        case OPT_LOG: {
            rg_log_level lvl;
            if (rg_log_level_parse(optarg, &lvl) != 0) {
                fprintf(stderr, "riskgate run: --log-level %s: expected debug, info, warn or error\n", optarg);
                goto done;
            }
            rg_log_set_level(lvl);
            break;
        }
        case 'h':
            usage(stdout);
            rc = RG_EXIT_OK;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    origin = NULL;
    if (optind < args.argc) {
        fprintf(stderr, "riskgate run: unexpected argument %s\n", args.argv[optind]);
        usage(stderr);
        goto done;
    }
    if (!cfg.brokers) {
        fputs("riskgate run: --brokers is required (or `brokers = HOST:PORT` in the --config file)\n", stderr);
        usage(stderr);
        goto done;
    }
    cfg.kafka_props = props;
    cfg.n_kafka_props = n_props;
    if (!rules.n)
        rg_cli_rules_add(&rules, "riskgate run", rg_cli_default_rules());
    if (!geo_path)
        geo_path = rg_cli_default_geoip();
    cfg.rules_paths = rules.paths;
    cfg.n_rules_paths = rules.n;

    rs = rg_cli_load_rule_files("riskgate run", &rules);
    if (!rs)
        goto done;
    bool geo_ok;
    geo = rg_cli_open_geo("riskgate run", geo_path, &geo_ok);
    if (!geo_ok)
        goto done;
    char err[1024] = "";
    rg_stream_error serr;
    stream = rg_stream_new(&cfg, rs, geo, &serr, err, sizeof err);
    if (!stream) {
        fprintf(stderr, "riskgate run: %s\n", err);
        rc = serr == RG_STREAM_ERR_CONFIG ? RG_EXIT_USAGE : RG_EXIT_FAILURE;
        goto done;
    }
    rs = NULL;   /* the stream's now */

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int run_rc = rg_stream_run(stream, &stop_requested, &reload_requested);
    rc = run_rc == 0 ? RG_EXIT_OK : run_rc == -2 ? RG_EXIT_USAGE : RG_EXIT_FAILURE;
    rg_log(rc == RG_EXIT_OK ? RG_LOG_INFO : RG_LOG_ERROR, rc == RG_EXIT_OK ? "stopped cleanly" : "stopped with errors",
           NULL);

done:
    if (rc == RG_EXIT_USAGE && origin)
        fprintf(stderr, "riskgate run: (that value is from %s)\n", origin);
    rg_stream_free(stream);
    rg_geo_close(geo);
    rg_ruleset_free(rs);
    free(props);
    rg_run_args_free(&args);
    return rc;
}
