/*
 * riskgate explain [--rules FILE]... [--geoip FILE] [--history CAPTURE]...
 *                  [--json] EVENT_JSON|-
 *
 * Why did (or didn't) a rule fire on this event (cli.md "Added in the
 * second round"). The --history captures are replayed first through the
 * same engine replay uses, to build state; then the one event is
 * evaluated, and for every enabled rule whose `on` lists its type we show
 * the condition, each name's value, each sub-expression's three-valued
 * result and the result (rules/explain.h), then the decision the event
 * gets. The engine's inspector (decisions/engine.h) hands us the very
 * evaluation context the rules used, so nothing is recomputed differently.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../common/timeutil.h"
#include "../decisions/engine.h"
#include "../ingest/capture.h"
#include "../ingest/event_parse.h"
#include "../replay/replay.h"
#include "../rules/explain.h"
#include "cli_common.h"
#include "commands.h"

#define PROG "riskgate explain"

static void usage(FILE *f)
{
    fputs("usage: riskgate explain [--rules FILE]... [--geoip FILE[,FILE]|none] [--history CAPTURE]...\n"
          "                        [--json] EVENT_JSON|-\n"
          "\n"
          "Evaluates one event (a JSON object as the argument, or - for one JSON line on\n"
          "standard input) and shows, for every enabled rule whose 'on' lists its type, the\n"
          "condition, each name's value, each sub-expression's result (true, false or\n"
          "unknown) and the rule's result; then the decision the event would get.\n"
          "\n"
          "  --rules FILE      rule file(s), read in order as one rule set (default: the bundled\n"
          "                    rules/default.yaml)\n"
          "  --geoip FILE      as for replay (default: the databases replay finds)\n"
          "  --history CAPTURE captures replayed first, in order, to build state (windows,\n"
          "                    registrations, devices, packets); repeat for several\n"
          "  --json            one JSON object: event, ruleset, history, rules, not_evaluated,\n"
          "                    decisions\n"
          "\n"
          "Exit status: 0 explained, 2 usage, rule file, GeoIP or event error, 1 other failure.\n",
          f);
}

/* The event text: the argument, or one line of standard input. */
static int read_event(const char *arg, rg_strbuf *buf)
{
    if (strcmp(arg, "-") != 0) {
        rg_strbuf_puts(buf, arg);
        return rg_strbuf_ok(buf) ? 0 : -1;
    }
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, stdin)) > 0 && buf->len <= RG_CAPTURE_MAX_LINE)
        rg_strbuf_append(buf, chunk, got);
    if (ferror(stdin) || !rg_strbuf_ok(buf)) {
        fprintf(stderr, "%s: cannot read the event from standard input\n", PROG);
        return -1;
    }
    if (buf->len > RG_CAPTURE_MAX_LINE) {
        fprintf(stderr, "%s: the event on standard input is longer than %d bytes\n", PROG, RG_CAPTURE_MAX_LINE);
        return -1;
    }
    while (buf->len && (buf->data[buf->len - 1] == '\n' || buf->data[buf->len - 1] == '\r'))
        buf->data[--buf->len] = '\0';
    if (buf->data && memchr(buf->data, '\n', buf->len)) {
        fprintf(stderr, "%s: standard input holds more than one line: give one event\n", PROG);
        return -1;
    }
    return 0;
}

typedef struct explain_run {
    bool json;
    bool inspected;
    rg_strbuf rules;       /* the rules part (text, or JSON members) */
    rg_strbuf decisions;   /* text lines, or JSON array items */
    size_t n_decisions;
} explain_run;

static void inspect(void *arg, struct rg_eval_ctx *ctx, const rg_event *ev)
{
    explain_run *x = arg;
    x->inspected = true;
    if (x->json)
        rg_explain_json_members(ctx, ev, &x->rules);
    else
        rg_explain_text(ctx, ev, &x->rules);
}

static int collect_decision(void *opaque, const rg_decision *d, void *ticket)
{
    explain_run *x = opaque;
    if (x->json) {
        rg_strbuf_puts(&x->decisions, x->n_decisions ? "," : "");
        rg_strbuf_append(&x->decisions, d->json, d->json_len - 1);   /* without the closing '}' */
        rg_strbuf_printf(&x->decisions, ",\"emitted\":%s}", d->emit ? "true" : "false");
    } else {
        rg_strbuf_printf(&x->decisions, "  %.*s\n", (int)d->json_len, d->json);
        if (!d->emit)
            rg_strbuf_puts(&x->decisions, "  (every hit is within its rule's cooldown: stored as an alert, no action "
                                          "emitted)\n");
    }
    x->n_decisions++;
    return rg_strbuf_ok(&x->decisions) ? 0 : -1;
}

static const rg_sink_ops collect_decision_ops = {.name = "explain collector", .decision = collect_decision};

static void put_json_str(rg_strbuf *out, const char *s, size_t len) { rg_strbuf_put_json_str(out, s ? s : "", s ? len : 0); }

static void write_json(const explain_run *x, const rg_event *ev, const rg_ruleset *rs, const rg_replay_result *hist,
                       size_t n_history, bool duplicate, rg_strbuf *out)
{
    char ts[40];
    rg_format_utc_ms(ev->ts_ms, ts, sizeof ts);
    rg_strbuf_puts(out, "{\"event\":{\"event_id\":");
    put_json_str(out, ev->event_id, ev->event_id_len);
    rg_strbuf_printf(out, ",\"type\":\"%s\",\"account\":", rg_event_type_name(ev->type));
    put_json_str(out, ev->account, ev->account_len);
    rg_strbuf_printf(out, ",\"ts\":\"%s\"},\"ruleset\":\"%s\",\"files\":[", ts, rg_ruleset_id(rs));
    for (size_t i = 0; i < rg_ruleset_file_count(rs); i++) {
        rg_strbuf_puts(out, i ? "," : "");
        put_json_str(out, rg_ruleset_file(rs, i), strlen(rg_ruleset_file(rs, i)));
    }
    rg_strbuf_printf(out, "],\"history\":{\"captures\":%zu,\"events_read\":%llu,\"accepted\":%llu,\"rejected\":%llu},",
                     n_history, (unsigned long long)hist->events_read, (unsigned long long)hist->accepted,
                     (unsigned long long)hist->rejected);
    rg_strbuf_printf(out, "\"duplicate\":%s,", duplicate ? "true" : "false");
    if (x->inspected)
        rg_strbuf_append(out, x->rules.data, x->rules.len);
    else
        rg_strbuf_puts(out, "\"rules\":[],\"not_evaluated\":[]");
    rg_strbuf_puts(out, ",\"decisions\":[");
    rg_strbuf_append(out, x->decisions.data ? x->decisions.data : "", x->decisions.len);
    rg_strbuf_puts(out, "]}\n");
}

static void write_text(const explain_run *x, const rg_event *ev, const rg_ruleset *rs, const rg_replay_result *hist,
                       size_t n_history, bool duplicate, rg_strbuf *out)
{
    char ts[40];
    rg_format_utc_ms(ev->ts_ms, ts, sizeof ts);
    rg_strbuf_printf(out, "event %.*s: %s by %.*s at %s\nruleset %s (%s)\n", (int)ev->event_id_len, ev->event_id,
                     rg_event_type_name(ev->type), (int)ev->account_len, ev->account, ts, rg_ruleset_id(rs),
                     rg_ruleset_path(rs));
    if (n_history)
        rg_strbuf_printf(out, "history: %llu events replayed from %zu capture%s (%llu rejected)\n",
                         (unsigned long long)hist->accepted, n_history, n_history == 1 ? "" : "s",
                         (unsigned long long)hist->rejected);
    else
        rg_strbuf_puts(out, "history: none (no --history: windows and per-account facts start empty)\n");
    rg_strbuf_putc(out, '\n');
    if (duplicate) {
        rg_strbuf_puts(out, "not evaluated: its event_id was already seen in the history within dedupe_horizon, "
                            "so the engine skips it as a duplicate\n");
        return;
    }
    rg_strbuf_append(out, x->rules.data ? x->rules.data : "", x->rules.len);
    if (x->n_decisions) {
        rg_strbuf_printf(out, "\ndecision%s:\n", x->n_decisions == 1 ? "" : "s");
        rg_strbuf_append(out, x->decisions.data, x->decisions.len);
    } else {
        rg_strbuf_puts(out, "\ndecision: none (no rule was true)\n");
    }
}

int rg_cmd_explain(int argc, char **argv)
{
    const char *geo_path = NULL;
    const char *history[RG_RULES_MAX_FILES];
    size_t n_history = 0;
    bool json = false;
    rg_cli_rules rules = {0};
    static const struct option opts[] = {
        {"rules", required_argument, NULL, 'r'}, {"geoip", required_argument, NULL, 'g'},
        {"history", required_argument, NULL, 'H'}, {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "r:g:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (!rg_cli_rules_add(&rules, PROG, optarg))
                return RG_EXIT_USAGE;
            break;
        case 'g':
            if (!(geo_path = rg_cli_geoip_append(geo_path, optarg))) {
                fprintf(stderr, "%s: out of memory\n", PROG);
                return RG_EXIT_FAILURE;
            }
            break;
        case 'H':
            if (n_history == sizeof history / sizeof *history) {
                fprintf(stderr, "%s: more than %zu --history captures\n", PROG, sizeof history / sizeof *history);
                return RG_EXIT_USAGE;
            }
            history[n_history++] = optarg;
            break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return RG_EXIT_OK;
        default: usage(stderr); return RG_EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        fprintf(stderr, "%s: give one event: a JSON object, or - for one line on standard input\n", PROG);
        usage(stderr);
        return RG_EXIT_USAGE;
    }
    if (!geo_path)
        geo_path = rg_cli_default_geoip();

    int rc = RG_EXIT_USAGE;
    rg_ruleset *rs = NULL;
    rg_geo *geo = NULL;
    rg_engine *engine = NULL;
    rg_event_parser *parser = NULL;
    rg_strbuf text = RG_STRBUF_INIT, out = RG_STRBUF_INIT;
    explain_run x = {.json = json, .rules = RG_STRBUF_INIT, .decisions = RG_STRBUF_INIT};
    rg_replay_result hist;
    memset(&hist, 0, sizeof hist);
    char err[512] = "";
    bool geo_ok;

    if (read_event(argv[optind], &text) != 0)
        goto done;
    if (!(rs = rg_cli_load_rule_files(PROG, &rules)))
        goto done;
    geo = rg_cli_open_geo(PROG, geo_path, &geo_ok);
    if (!geo_ok)
        goto done;
    if (!(engine = rg_engine_new(rs, geo, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", PROG, err);
        goto done;
    }
    if (n_history) {
        rg_replay_lane lane = {.engine = engine};
        rg_replay_opts ro = {.captures = history, .n_captures = n_history, .lanes = &lane, .n_lanes = 1};
        if (rg_replay_run(&ro, &hist, err, sizeof err) != 0) {
            fprintf(stderr, "%s: --history: %s\n", PROG, err);
            rc = RG_EXIT_FAILURE;
            goto done;
        }
    }
    rg_event ev;
    rg_reject rej;
    rg_event_line info;
    if (!(parser = rg_event_parser_new())) {
        rc = RG_EXIT_FAILURE;
        goto done;
    }
    if (rg_event_parse_line(parser, text.data ? text.data : "", text.len, &ev, &rej, &info) != 0) {
        fprintf(stderr, "%s: the event is refused (%s): %s\n", PROG, rg_reject_kind_name(rej.kind), rej.error);
        goto done;
    }
    rg_engine_set_inspector(engine, inspect, &x);
    rg_sink sink = {.ops = &collect_decision_ops, .self = &x};
    rg_engine_result er = rg_engine_process(engine, &ev, info.event_raw, info.event_raw_len, &sink);
    rg_engine_set_inspector(engine, NULL, NULL);
    rc = RG_EXIT_FAILURE;
    if (er == RG_ENGINE_SINK_ERROR)
        goto done;
    if (json)
        write_json(&x, &ev, rs, &hist, n_history, er == RG_ENGINE_DUPLICATE, &out);
    else
        write_text(&x, &ev, rs, &hist, n_history, er == RG_ENGINE_DUPLICATE, &out);
    if (!rg_strbuf_ok(&out) || !rg_strbuf_ok(&x.rules)) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto done;
    }
    if (fwrite(out.data, 1, out.len, stdout) == out.len && fflush(stdout) == 0)
        rc = RG_EXIT_OK;

done:
    rg_strbuf_free(&text);
    rg_strbuf_free(&out);
    rg_strbuf_free(&x.rules);
    rg_strbuf_free(&x.decisions);
    rg_event_parser_free(parser);   /* after the event, whose strings it holds, is done with */
    rg_engine_free(engine);
    rg_geo_close(geo);
    rg_ruleset_free(rs);
    return rc;
}
