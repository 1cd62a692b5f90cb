/*
 * cmd_alerts — `riskgate alerts list|show|label|resolve|precision|import`
 * (cli.md "Alerts", docs/review.md). Readable aligned tables by default,
 * --json for scripts (the same writer as the review API, so the same keys
 * in the same order). Text from the store is printed with control
 * characters replaced, so an event field cannot drive the terminal.
 * Exit: 0 done, 1 failure (unknown ALERT_ID, database error), 2 usage or
 * configuration error (unopenable --db), reason on stderr.
 */
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/strbuf.h"
#include "../common/timeutil.h"
#include "../store/alerts.h"
#include "commands_review.h"

#define RECENT_ALERTS 10

typedef struct alerts_opts {
    const char *db;
    const char *note;
    const char *by;
    bool json;
    rg_alert_filter filter;
} alerts_opts;

static const char USAGE[] =
    "usage: riskgate alerts list      --db DB [--status open|resolved] [--rule ID] [--subject S]\n"
    "                                 [--since TIME] [--until TIME] [--limit N] [--offset N] [--json]\n"
    "       riskgate alerts show      --db DB ALERT_ID [--json]\n"
    "       riskgate alerts label     --db DB ALERT_ID fraud|legit [--note TEXT] [--by NAME]\n"
    "       riskgate alerts resolve   --db DB ALERT_ID [--by NAME]\n"
    "       riskgate alerts precision --db DB [--json]\n"
    "       riskgate alerts import    --db DB DECISIONS.jsonl[.gz]...\n"
    "\n"
    "An alert is one stored decision; ALERT_ID is its decision_id (\"event_id/subject\").\n"
    "  list       alerts oldest first (ts, then id); filters combine; TIME is RFC 3339\n"
    "  show       the decision with its evidence, the event, the subject's other recent alerts\n"
    "  label      mark an alert fraud or legit (again to change it); --by defaults to $USER\n"
    "  resolve    close an alert; a frozen subject's alert resolved as legit queues a\n"
    "             release decision for the action topic\n"
    "  precision  per rule: alerts, labelled, fraud, legit, precision = fraud / labelled\n"
    "  import     store decisions written by `replay --out` (one JSON object a line;\n"
    "             '-' is standard input); the store is created if missing\n"
    "Exit: 0 done, 1 failure (e.g. unknown ALERT_ID), 2 usage or configuration error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fputs("riskgate alerts: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(see riskgate alerts --help)\n", stderr);
    return 2;
}

/* Printable form of store text: control characters become '?'. */
static void put_clean(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

/* Width on a terminal: code points (UTF-8 continuation bytes don't count). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

static void put_cell(FILE *out, const char *s, size_t width, bool last)
{
    put_clean(out, s);
    if (last)
        return;
    for (size_t w = text_width(s); w < width + 2; w++)
        fputc(' ', out);
}

static void fmt_time(int64_t ms, char *buf, size_t size)
{
    if (!ms || !rg_format_utc_ms(ms, buf, size))
        snprintf(buf, size, "-");
}

/* Rule ids joined with ',' (the list's RULES column). */
static void join_rules(const rg_alert *a, rg_strbuf *out)
{
    for (size_t i = 0; i < a->n_hits; i++) {
        if (i)
            rg_strbuf_putc(out, ',');
        rg_strbuf_puts(out, a->hits[i].rule_id);
    }
}

enum { COL_TIME, COL_ID, COL_SUBJECT, COL_TYPE, COL_RULES, COL_ACTIONS, COL_STATUS, COL_LABEL, NCOLS };
static const char *const LIST_HEAD[NCOLS] = {"TIME (UTC)", "ALERT_ID", "SUBJECT", "TYPE",
                                             "RULES", "ACTIONS", "STATUS", "LABEL"};

/* The alert table, every line prefixed with `indent`. */
static void print_alert_table(FILE *out, const rg_alert *a, size_t n, const char *indent)
{
    size_t width[NCOLS];
    char **cells = calloc(n * NCOLS + 1, sizeof *cells);
    if (!cells)
        return;
    for (int c = 0; c < NCOLS; c++)
        width[c] = text_width(LIST_HEAD[c]);
    for (size_t i = 0; i < n; i++) {
        char ts[32];
        rg_strbuf rules = RG_STRBUF_INIT;
        fmt_time(a[i].ts_ms, ts, sizeof ts);
        join_rules(&a[i], &rules);
        const char *v[NCOLS] = {ts, a[i].decision_id, a[i].subject, a[i].event_type,
                                rules.data ? rules.data : "", *a[i].actions ? a[i].actions : "-",
                                a[i].status, a[i].label ? a[i].label : "-"};
        for (int c = 0; c < NCOLS; c++) {
            cells[i * NCOLS + c] = strdup(v[c]);
            size_t w = text_width(v[c]);
            if (w > width[c])
                width[c] = w;
        }
        rg_strbuf_free(&rules);
    }
    fputs(indent, out);
    for (int c = 0; c < NCOLS; c++)
        put_cell(out, LIST_HEAD[c], width[c], c == NCOLS - 1);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        fputs(indent, out);
        for (int c = 0; c < NCOLS; c++)
            put_cell(out, cells[i * NCOLS + c], width[c], c == NCOLS - 1);
        fputc('\n', out);
        for (int c = 0; c < NCOLS; c++)
            free(cells[i * NCOLS + c]);
    }
    free(cells);
}

/* --json list: streamed, one alert at a time, so a million alerts do not
 * need a million in memory. */
typedef struct json_list_ctx {
    FILE *out;
    size_t n;
    rg_strbuf buf;
} json_list_ctx;

static int print_json_one(void *opaque, const rg_alert *a)
{
    json_list_ctx *c = opaque;
    rg_strbuf_reset(&c->buf);
    rg_strbuf_puts(&c->buf, c->n++ ? ",\n" : "\n");
    rg_alert_to_json(a, false, &c->buf);
    fwrite(c->buf.data, 1, c->buf.len, c->out);
    return 0;
}

static int do_list(rg_alert_store *s, alerts_opts *o)
{
    char err[512];
    int64_t total;
    if (o->json) {
        if (rg_alert_store_count(s, &o->filter, &total, err, sizeof err) < 0)
            goto fail;
        json_list_ctx c = {.out = stdout, .buf = RG_STRBUF_INIT};
        printf("{\"total\":%lld,\"alerts\":[", (long long)total);
        int rc = rg_alert_store_scan(s, &o->filter, print_json_one, &c, err, sizeof err);
        rg_strbuf_free(&c.buf);
        printf("%s]}\n", c.n ? "\n" : "");
        if (rc < 0)
            goto fail;
        return 0;
    }
    rg_alert *a;
    size_t n;
    if (rg_alert_store_list(s, &o->filter, &a, &n, err, sizeof err) < 0)
        goto fail;
    print_alert_table(stdout, a, n, "");
    rg_alerts_free(a, n);
    return 0;
fail:
    fprintf(stderr, "riskgate alerts list: %s\n", err);
    return 1;
}

/* The subject's other alerts, newest first: up to RECENT_ALERTS + 1 are
 * read (one may be `a` itself); *others gets shallow copies of at most
 * RECENT_ALERTS of them (owned by *all). */
static int recent_for_subject(rg_alert_store *s, const rg_alert *a, rg_alert **all, size_t *n_all,
                              rg_alert *others, size_t *n_others, char *err, size_t err_size)
{
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    f.subject = a->subject;
    f.newest_first = true;
    f.limit = RECENT_ALERTS + 1;
    *n_others = 0;
    if (rg_alert_store_list(s, &f, all, n_all, err, err_size) < 0)
        return -1;
    for (size_t i = 0; i < *n_all && *n_others < RECENT_ALERTS; i++)
        if (strcmp((*all)[i].decision_id, a->decision_id) != 0)
            others[(*n_others)++] = (*all)[i];
    return 0;
}

static void print_evidence(FILE *out, const char *evidence_json)
{
    json_t *ev = evidence_json ? json_loads(evidence_json, 0, NULL) : NULL;
    const char *key;
    json_t *v;
    size_t width = 0;
    json_object_foreach(ev, key, v) {
        if (text_width(key) > width)
            width = text_width(key);
    }
    json_object_foreach(ev, key, v) {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        fputs("      ", out);
        put_cell(out, key, width, false);
        put_clean(out, json_is_string(v) ? json_string_value(v) : text);
        fputc('\n', out);
        free(text);
    }
    json_decref(ev);
}

static void print_show(FILE *out, const rg_alert *a, const rg_alert *recent, size_t n_recent)
{
    char t1[32], t2[32];
    fmt_time(a->ts_ms, t1, sizeof t1);
    fputs("alert      ", out), put_clean(out, a->decision_id), fputc('\n', out);
    fputs("event      ", out), put_clean(out, a->event_id), fputc(' ', out);
    put_clean(out, a->event_type), fprintf(out, " at %s\n", t1);
    fputs("subject    ", out), put_clean(out, a->subject), fputc('\n', out);
    fputs("actions    ", out), put_clean(out, *a->actions ? a->actions : "-");
    fputs(a->suppressed ? " (suppressed by cooldown: nothing emitted)\n" : "\n", out);
    fputs("ruleset    ", out), put_clean(out, a->ruleset), fputc('\n', out);
    fputs("status     ", out), put_clean(out, a->status);
    if (a->resolved_ms) {
        fmt_time(a->resolved_ms, t2, sizeof t2);
        fputs(" by ", out), put_clean(out, a->resolved_by), fprintf(out, " at %s", t2);
    }
    fputs("\nlabel      ", out), put_clean(out, a->label);
    if (a->labelled_ms) {
        fmt_time(a->labelled_ms, t2, sizeof t2);
        fputs(" by ", out), put_clean(out, a->labelled_by), fprintf(out, " at %s", t2);
    }
    fputc('\n', out);
    if (a->note)
        fputs("note       ", out), put_clean(out, a->note), fputc('\n', out);
    if (a->release_json) {
        json_t *rel = json_loads(a->release_json, 0, NULL);
        fputs("release    ", out);
        put_clean(out, json_string_value(json_object_get(rel, "decision_id")));
        if (a->release_sent_ms) {
            fmt_time(a->release_sent_ms, t2, sizeof t2);
            fprintf(out, " sent to the action topic at %s\n", t2);
        } else {
            fputs(" queued (streaming delivers it to the action topic)\n", out);
        }
        json_decref(rel);
    }
    fputs("\nrules\n", out);
    for (size_t i = 0; i < a->n_hits; i++) {
        fputs("  ", out), put_clean(out, a->hits[i].rule_id);
        fputs(a->hits[i].suppressed ? " (suppressed)\n" : "\n", out);
        if (a->hits[i].reason)
            fputs("    ", out), put_clean(out, a->hits[i].reason), fputc('\n', out);
        print_evidence(out, a->hits[i].evidence_json);
    }
    fputs("\nevent\n", out);
    json_t *ev = a->event_json ? json_loads(a->event_json, 0, NULL) : NULL;
    char *pretty = ev ? json_dumps(ev, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (pretty) {
        for (char *line = strtok(pretty, "\n"); line; line = strtok(NULL, "\n"))
            fputs("  ", out), put_clean(out, line), fputc('\n', out);
    } else {
        fputs(a->event_json ? "  " : "  (not stored: the alert was imported from decisions)\n", out);
        if (a->event_json)
            put_clean(out, a->event_json), fputc('\n', out);
    }
    free(pretty);
    json_decref(ev);
    fprintf(out, "\nother recent alerts of ");
    put_clean(out, a->subject);
    fputc('\n', out);
    if (n_recent)
        print_alert_table(out, recent, n_recent, "  ");
    else
        fputs("  (none)\n", out);
}

static int do_show(rg_alert_store *s, alerts_opts *o, const char *id)
{
    char err[512];
    if (o->json) {
        rg_strbuf b = RG_STRBUF_INIT;
        int rc = rg_alert_store_show_json(s, id, RECENT_ALERTS, &b, err, sizeof err);
        if (rc > 0) {
            rg_strbuf_putc(&b, '\n');
            fwrite(b.data, 1, b.len, stdout);
        } else {
            fprintf(stderr, "riskgate alerts show: %s\n", err);
        }
        rg_strbuf_free(&b);
        return rc > 0 ? 0 : 1;
    }
    rg_alert a, *recent = NULL, others[RECENT_ALERTS];
    size_t n_recent = 0, n_others = 0;
    if (rg_alert_store_get(s, id, &a, err, sizeof err) <= 0) {
        fprintf(stderr, "riskgate alerts show: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (recent_for_subject(s, &a, &recent, &n_recent, others, &n_others, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts show: %s\n", err);
        rc = 1;
    } else {
        print_show(stdout, &a, others, n_others);
    }
    rg_alerts_free(recent, n_recent);
    rg_alert_clear(&a);
    return rc;
}

static const char *analyst_name(const alerts_opts *o)
{
    if (o->by && *o->by)
        return o->by;
    const char *user = getenv("USER");
    if (!user || !*user)
        user = getenv("LOGNAME");
    if (!user || !*user) {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : NULL;
    }
    return user && *user ? user : NULL;
}

static int do_label(rg_alert_store *s, alerts_opts *o, const char *id, const char *label)
{
    char err[512];
    const char *who = analyst_name(o);
    if (!who)
        return usage_error("%s", "cannot tell who you are: give --by NAME");
    int rc = rg_alert_store_label(s, id, label, o->note, who, err, sizeof err);
    if (rc <= 0) {
        fprintf(stderr, "riskgate alerts label: %s\n", err);
        return 1;
    }
    printf("%s: labelled %s by %s\n", id, label, who);
    return 0;
}

static int do_resolve(rg_alert_store *s, alerts_opts *o, const char *id)
{
    char err[512];
    const char *who = analyst_name(o);
    if (!who)
        return usage_error("%s", "cannot tell who you are: give --by NAME");
    bool queued = false;
    int rc = rg_alert_store_resolve(s, id, who, &queued, err, sizeof err);
    if (rc <= 0) {
        fprintf(stderr, "riskgate alerts resolve: %s\n", err);
        return 1;
    }
    printf("%s: resolved by %s\n", id, who);
    if (queued)
        printf("%s: release queued for the action topic (legit, and the subject was frozen)\n", id);
    return 0;
}

static int do_precision(rg_alert_store *s, alerts_opts *o)
{
    char err[512];
    rg_rule_precision *p;
    size_t n;
    if (rg_alert_store_precision(s, &p, &n, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts precision: %s\n", err);
        return 1;
    }
    if (o->json) {
        rg_strbuf b = RG_STRBUF_INIT;
        rg_precision_to_json(p, n, &b);
        rg_strbuf_putc(&b, '\n');
        fwrite(b.data, 1, b.len, stdout);
        rg_strbuf_free(&b);
    } else {
        size_t w = strlen("RULE");
        for (size_t i = 0; i < n; i++)
            w = text_width(p[i].rule_id) > w ? text_width(p[i].rule_id) : w;
        printf("%-*s  %8s  %8s  %8s  %8s  %9s\n", (int)w, "RULE", "ALERTS", "LABELLED", "FRAUD",
               "LEGIT", "PRECISION");
        for (size_t i = 0; i < n; i++) {
            char prec[16] = "-";
            if (p[i].labelled)
                snprintf(prec, sizeof prec, "%.2f", (double)p[i].fraud / (double)p[i].labelled);
            put_cell(stdout, p[i].rule_id, w, false);
            printf("%8lld  %8lld  %8lld  %8lld  %9s\n", (long long)p[i].alerts,
                   (long long)p[i].labelled, (long long)p[i].fraud, (long long)p[i].legit, prec);
        }
    }
    rg_rule_precision_free(p, n);
    return 0;
}

/* One decisions file into the store; bad lines are reported and counted. */
static int import_file(rg_alert_store *s, const char *path, long *added, long *present, long *bad)
{
    gzFile in = strcmp(path, "-") == 0 ? gzdopen(dup(STDIN_FILENO), "rb") : gzopen(path, "rb");
    if (!in) {
        fprintf(stderr, "riskgate alerts import: %s: cannot open\n", path);
        return -1;
    }
    rg_strbuf line = RG_STRBUF_INIT;
    char chunk[65536], err[512];
    long lineno = 0;
    int rc = 0;
    for (;;) {
        rg_strbuf_reset(&line);
        bool got = false;
        while (gzgets(in, chunk, sizeof chunk)) {
            got = true;
            size_t n = strlen(chunk);
            rg_strbuf_append(&line, chunk, n);
            if (n && chunk[n - 1] == '\n')
                break;
        }
        if (!got)
            break;
        lineno++;
        while (line.len && (line.data[line.len - 1] == '\n' || line.data[line.len - 1] == '\r'))
            line.data[--line.len] = '\0';
        if (!line.len)
            continue;
        int r = rg_alert_store_add_json(s, line.data, line.len, NULL, 0, err, sizeof err);
        if (r > 0)
            (*added)++;
        else if (r == 0)
            (*present)++;
        else {
            (*bad)++;
            fprintf(stderr, "%s:%ld: %s\n", path, lineno, err);
        }
    }
    int gzerr;
    const char *msg = gzerror(in, &gzerr);
    if (gzerr != Z_OK && gzerr != Z_STREAM_END) {
        fprintf(stderr, "riskgate alerts import: %s: %s\n", path, msg);
        rc = -1;
    }
    gzclose(in);
    rg_strbuf_free(&line);
    return rc;
}

static int do_import(rg_alert_store *s, int n_files, char **files)
{
    long added = 0, present = 0, bad = 0;
    int rc = 0;
    for (int i = 0; i < n_files && rc == 0; i++)
        rc = import_file(s, files[i], &added, &present, &bad);
    char err[512];
    if (rg_alert_store_flush(s, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts import: %s\n", err);
        return 1;
    }
    fprintf(stderr, "riskgate alerts import: %ld alerts added, %ld already stored, %ld bad lines\n",
            added, present, bad);
    return rc < 0 ? 1 : 0;
}

static int parse_count(const char *arg, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(arg, &end, 10);
    if (!*arg || *end || arg[0] == '-' || v > 1000000000ULL)
        return -1;
    *out = (size_t)v;
    return 0;
}

static int parse_time(const char *arg, int64_t *out)
{
    return rg_parse_rfc3339(arg, strlen(arg), out, NULL) ? 0 : -1;
}

int rg_cmd_alerts(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"db", required_argument, NULL, 'd'},      {"status", required_argument, NULL, 's'},
        {"rule", required_argument, NULL, 'r'},    {"subject", required_argument, NULL, 'S'},
        {"since", required_argument, NULL, 'a'},   {"until", required_argument, NULL, 'b'},
        {"limit", required_argument, NULL, 'l'},   {"offset", required_argument, NULL, 'o'},
        {"note", required_argument, NULL, 'n'},    {"by", required_argument, NULL, 'B'},
        {"json", no_argument, NULL, 'j'},          {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    static const char *const ACTIONS[] = {"list", "show", "label", "resolve", "precision", "import"};
    static const int N_ARGS[] = {0, 1, 2, 1, 0, -1}; /* positional arguments; -1: one or more */
    int which = -1;
    for (int i = 0; i < 6; i++)
        if (strcmp(action, ACTIONS[i]) == 0)
            which = i;
    if (which < 0)
        return usage_error("unknown action '%s'", action);

    alerts_opts o = {0};
    rg_alert_filter_init(&o.filter);
    optind = 0; /* GNU: full re-initialisation, so the command can run again */
    opterr = 0;
    int c;
    char **args = argv + 1;
    int nargs = argc - 1;
    while ((c = getopt_long(nargs, args, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'j': o.json = true; break;
        case 'n': o.note = optarg; break;
        case 'B': o.by = optarg; break;
        case 'r': o.filter.rule = optarg; break;
        case 'S': o.filter.subject = optarg; break;
        case 's':
            if (strcmp(optarg, "open") != 0 && strcmp(optarg, "resolved") != 0)
                return usage_error("--status must be open or resolved, not '%s'", optarg);
            o.filter.status = optarg;
            break;
        case 'a':
        case 'b':
            if (parse_time(optarg, c == 'a' ? &o.filter.since_ms : &o.filter.until_ms) < 0)
                return usage_error("not an RFC 3339 time: '%s'", optarg);
            break;
        case 'l':
        case 'o':
            if (parse_count(optarg, c == 'l' ? &o.filter.limit : &o.filter.offset) < 0)
                return usage_error("not a count: '%s'", optarg);
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        case ':': return usage_error("%s needs a value", args[optind - 1]);
        default: return usage_error("unknown option '%s'", args[optind - 1]);
        }
    }
    int npos = nargs - optind;
    char **pos = args + optind;
    if (!o.db)
        return usage_error("%s", "--db DB is required");
    if (N_ARGS[which] >= 0 && npos != N_ARGS[which])
        return usage_error(N_ARGS[which] == 0 ? "%s takes no arguments"
                           : N_ARGS[which] == 1 ? "%s needs exactly one ALERT_ID"
                                                : "%s needs ALERT_ID and fraud|legit",
                           action);
    if (N_ARGS[which] < 0 && npos < 1)
        return usage_error("%s needs at least one decisions file", action);
    if (which == 2 && strcmp(pos[1], "fraud") != 0 && strcmp(pos[1], "legit") != 0)
        return usage_error("the label must be fraud or legit, not '%s'", pos[1]);
    if ((o.note || o.by) && which != 2 && !(o.by && which == 3))
        return usage_error("%s", o.note ? "--note belongs to label" : "--by belongs to label and resolve");

    char err[512];
    rg_alert_store *s = rg_alert_store_open(o.db, which == 5 ? RG_ALERTS_CREATE : RG_ALERTS_EXISTING,
                                            err, sizeof err);
    if (!s) {
        fprintf(stderr, "riskgate alerts: %s\n", err);
        return 2;
    }
    int rc;
    switch (which) {
    case 0: rc = do_list(s, &o); break;
    case 1: rc = do_show(s, &o, pos[0]); break;
    case 2: rc = do_label(s, &o, pos[0], pos[1]); break;
    case 3: rc = do_resolve(s, &o, pos[0]); break;
    case 4: rc = do_precision(s, &o); break;
    default: rc = do_import(s, npos, pos); break;
    }
    if (rg_alert_store_close(s, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts: %s\n", err);
        rc = 1;
    }
    return rc;
}
