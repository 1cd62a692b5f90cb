/*
 * cmd_alerts — `riskgate alerts list|show|history|label|resolve|reopen|
 * assign|releases|precision|import` (cli.md "Alerts" and "Added in the
 * second round", docs/review.md). Readable aligned tables by default,
 * --json for scripts (the same writer as the review API, so the same keys
 * in the same order). The store is --db, else $RISKGATE_DB. The review
 * actions are in cmd_alerts_review.c, `show` in cmd_alerts_show.c.
 * Exit: 0 done, 1 failure (unknown ALERT_ID, database error), 2 usage or
 * configuration error (unopenable store), reason on stderr.
 */
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/strbuf.h"
#include "../common/timeutil.h"
#include "../store/alerts.h"
#include "alerts_cli.h"
#include "commands_review.h"

#define DEFAULT_LIMIT 50
#define RG_STR_(x) #x
#define RG_STR(x) RG_STR_(x)

static const char USAGE[] =
    "usage: riskgate alerts list      [--db DB] [--status open|resolved] [--rule ID] [--label fraud|legit|none]\n"
    "                                 [--action ACTION] [--assignee NAME|none] [--search TEXT] [--subject S]\n"
    "                                 [--entity ID] [--since TIME] [--until TIME] [--order newest|oldest]\n"
    "                                 [--sort time|subject|status] [--limit N] [--offset N] [--json]\n"
    "       riskgate alerts show      [--db DB] ALERT_ID [--json]\n"
    "       riskgate alerts history   [--db DB] ALERT_ID [--json]\n"
    "       riskgate alerts label     [--db DB] ALERT_ID... fraud|legit [--note TEXT] [--by NAME]\n"
    "       riskgate alerts resolve   [--db DB] ALERT_ID... [--by NAME]\n"
    "       riskgate alerts reopen    [--db DB] ALERT_ID... [--by NAME]\n"
    "       riskgate alerts assign    [--db DB] ALERT_ID... NAME|none [--by NAME]\n"
    "       riskgate alerts releases  [--db DB] [--limit N] [--json]\n"
    "       riskgate alerts precision [--db DB] [--json]\n"
    "       riskgate alerts import    [--db DB] DECISIONS.jsonl[.gz]...\n"
    "\n"
    "An alert is one stored decision; ALERT_ID is its decision_id (\"event_id/subject\", a '/'\n"
    "or '%' inside either part written %2F or %25). DB defaults to $RISKGATE_DB.\n"
    "  list       newest first, at most 50 (--limit N, 0: all), then how many more match;\n"
    "             filters combine; TIME is RFC 3339, a date (UTC), a duration back from now\n"
    "             (30m, 24h, 7d), today or yesterday; --search finds a subject or note\n"
    "             containing TEXT, or an alert or event id starting with it;\n"
    "             --entity an account, packet or event id: alerts that name it\n"
    "  show       the decision with its evidence, the event, the history, the subject's\n"
    "             other recent alerts\n"
    "  history    every change to the alert, oldest first, with who and when\n"
    "  label      mark alerts fraud or legit (again to change it)\n"
    "  resolve    close alerts; a frozen subject's alert resolved as legit queues a\n"
    "             release decision for the action topic\n"
    "  reopen     open resolved alerts again\n"
    "  assign     give alerts to NAME (none: to nobody)\n"
    "  releases   queued and delivered release decisions, newest first\n"
    "  precision  per rule: alerts, labelled, fraud, legit, precision = fraud / labelled\n"
    "  import     store decisions written by `replay --out` (one JSON object a line;\n"
    "             '-' is standard input); the store is created if missing\n"
    "Changes are recorded as --by, else $USER. Exit: 0 done, 1 failure (e.g. an unknown\n"
    "ALERT_ID; the other ids are still changed), 2 usage or configuration error.\n";

int rg_review_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "riskgate %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see riskgate %s --help)\n", cmd);
    return 2;
}

const char *rg_alerts_db_path(const char *db_flag)
{
    if (db_flag && *db_flag)
        return db_flag;
    const char *env = getenv("RISKGATE_DB");
    return env && *env ? env : NULL;
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
    bool exact;
    /* Counted up to the page's end plus RG_ALERT_COUNT_CAP ("more than N"):
     * a count of many among a million would cost more than the page. */
    int64_t cap = (int64_t)o->filter.offset + (int64_t)o->filter.limit + RG_ALERT_COUNT_CAP;
    if (rg_alert_store_count_upto(s, &o->filter, o->filter.limit ? cap : 0, &total, &exact, err, sizeof err) < 0)
        goto fail;
    if (o->json) {
        json_list_ctx c = {.out = stdout, .buf = RG_STRBUF_INIT};
        printf("{\"total\":%lld,\"total_exact\":%s,\"limit\":%zu,\"offset\":%zu,\"alerts\":[",
               (long long)total, exact ? "true" : "false", o->filter.limit, o->filter.offset);
        int rc = rg_alert_store_scan(s, &o->filter, print_json_one, &c, err, sizeof err);
        rg_strbuf_free(&c.buf);
        int64_t more = total - (int64_t)o->filter.offset - (int64_t)c.n;
        printf("%s],\"more\":%lld}\n", c.n ? "\n" : "", (long long)(more > 0 ? more : 0));
        if (rc < 0)
            goto fail;
        return 0;
    }
    rg_alert *a;
    size_t n;
    if (rg_alert_store_list(s, &o->filter, &a, &n, err, sizeof err) < 0)
        goto fail;
    if (n)
        rg_alerts_print_table(stdout, a, n, "");
    else
        printf("no alerts match\n");
    rg_alerts_free(a, n);
    int64_t more = total - (int64_t)o->filter.offset - (int64_t)n;
    if (more > 0 && exact)
        printf("... %lld more match (%lld in all): --limit N shows more (0: all), --offset N skips\n",
               (long long)more, (long long)total);
    else if (more > 0)
        printf("... more than %lld more match: --limit N shows more (0: all), --offset N skips\n",
               (long long)more);
    return 0;
fail:
    fprintf(stderr, "riskgate alerts list: %s\n", err);
    return 1;
}

const char *rg_alerts_analyst(const alerts_opts *o)
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
            w = rg_text_width(p[i].rule_id) > w ? rg_text_width(p[i].rule_id) : w;
        printf("%-*s  %8s  %8s  %8s  %8s  %9s\n", (int)w, "RULE", "ALERTS", "LABELLED", "FRAUD",
               "LEGIT", "PRECISION");
        for (size_t i = 0; i < n; i++) {
            char prec[16] = "-";
            if (p[i].labelled)
                snprintf(prec, sizeof prec, "%.2f", (double)p[i].fraud / (double)p[i].labelled);
            rg_put_cell(stdout, p[i].rule_id, w, false);
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

/* TIME: RFC 3339, a date (UTC midnight), "now", "today", "yesterday"
 * (UTC), or a duration back from now ("30m", "24h", "7d"). */
static int parse_time(const char *arg, int64_t *out)
{
    size_t len = strlen(arg);
    if (rg_parse_rfc3339(arg, len, out, NULL))
        return 0;
    unsigned y, m, d;
    char tail;
    if (len == 10 && sscanf(arg, "%4u-%2u-%2u%c", &y, &m, &d, &tail) == 3 && rg_valid_date(y, m, d)) {
        *out = rg_days_from_civil(y, m, d) * 86400000;
        return 0;
    }
    int64_t now = rg_alert_now_ms(), back;
    int64_t midnight = now - now % 86400000;
    if (strcmp(arg, "now") == 0)
        *out = now;
    else if (strcmp(arg, "today") == 0)
        *out = midnight;
    else if (strcmp(arg, "yesterday") == 0)
        *out = midnight - 86400000;
    else if (rg_parse_duration(arg, len, &back) && back <= now)
        *out = now - back;
    else
        return -1;
    return 0;
}

typedef enum which_action {
    A_LIST, A_SHOW, A_HISTORY, A_LABEL, A_RESOLVE, A_REOPEN, A_ASSIGN, A_RELEASES, A_PRECISION,
    A_IMPORT, N_ACTIONS
} which_action;

/* The subcommands: name, positional arguments (-1: one or more ids; -2:
 * ids then one more word; -3: one or more files), what the wrong count
 * says. Options that belong to some subcommands only are checked below. */
static const struct {
    const char *name;
    int positional;
    const char *needs;
} ACTIONS[N_ACTIONS] = {
    [A_LIST] = {"list", 0, "list takes no arguments"},
    [A_SHOW] = {"show", 1, "show needs exactly one ALERT_ID"},
    [A_HISTORY] = {"history", 1, "history needs exactly one ALERT_ID"},
    [A_LABEL] = {"label", -2, "label needs ALERT_ID... and fraud|legit"},
    [A_RESOLVE] = {"resolve", -1, "resolve needs at least one ALERT_ID"},
    [A_REOPEN] = {"reopen", -1, "reopen needs at least one ALERT_ID"},
    [A_ASSIGN] = {"assign", -2, "assign needs ALERT_ID... and NAME (none: unassign)"},
    [A_RELEASES] = {"releases", 0, "releases takes no arguments"},
    [A_PRECISION] = {"precision", 0, "precision takes no arguments"},
    [A_IMPORT] = {"import", -3, "import needs at least one decisions file"},
};

static bool one_of(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(v, *allowed) == 0)
            return true;
    return false;
}

/* A filter text: non-empty, bounded, printable. */
static int check_text(const char *flag, const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max) {
        fprintf(stderr, "riskgate alerts: %s must be 1 to %zu bytes\n(see riskgate alerts --help)\n", flag, max);
        return -1;
    }
    return 0;
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
        {"label", required_argument, NULL, 'L'},   {"action", required_argument, NULL, 'A'},
        {"assignee", required_argument, NULL, 'W'}, {"search", required_argument, NULL, 'q'},
        {"entity", required_argument, NULL, 'e'},  {"order", required_argument, NULL, 'O'},
        {"sort", required_argument, NULL, 'T'},    {NULL, 0, NULL, 0},
    };
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *action = argv[1];
    int which = -1;
    for (int i = 0; i < N_ACTIONS; i++)
        if (strcmp(action, ACTIONS[i].name) == 0)
            which = i;
    if (which < 0)
        return rg_alerts_usage_error("unknown action '%s'", action);

    alerts_opts o = {0};
    rg_alert_filter_init(&o.filter);
    /* cli.md, second round: newest first, 50 unless told otherwise. */
    o.filter.newest_first = true;
    o.filter.limit = DEFAULT_LIMIT;
    bool filtered = false;
    optind = 0; /* GNU: full re-initialisation, so the command can run again */
    opterr = 0;
    int c;
    char **args = argv + 1;
    int nargs = argc - 1;
    static const char *const STATUSES[] = {"open", "resolved", NULL};
    static const char *const LABELS[] = {"fraud", "legit", "none", NULL};
    static const char *const ACTS[] = {"freeze", "face_verify", "review", "release", NULL};
    while ((c = getopt_long(nargs, args, ":h", longopts, NULL)) != -1) {
        /* List-only options (--limit also serves releases). */
        filtered |= c > 0 && strchr("srSabLAWqeOTo", c) != NULL;
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'j': o.json = true; break;
        case 'n': o.note = optarg; break;
        case 'B': o.by = optarg; break;
        case 'r': o.filter.rule = optarg; break;
        case 'S': o.filter.subject = optarg; break;
        case 's':
            if (!one_of(optarg, STATUSES))
                return rg_alerts_usage_error("--status must be open or resolved, not '%s'", optarg);
            o.filter.status = optarg;
            break;
        case 'L':
            if (!one_of(optarg, LABELS))
                return rg_alerts_usage_error("--label must be fraud, legit or none, not '%s'", optarg);
            o.filter.label = optarg;
            break;
        case 'A':
            if (!one_of(optarg, ACTS))
                return rg_alerts_usage_error("--action must be freeze, face_verify, review or release, not '%s'", optarg);
            o.filter.action = optarg;
            break;
        case 'W':
            if (strcmp(optarg, "none") != 0 && !rg_alert_name_valid(optarg))
                return rg_alerts_usage_error("--assignee: not a name: '%s'", optarg);
            o.filter.assignee = optarg;
            break;
        case 'q':
            if (check_text("--search", optarg, RG_ALERT_SEARCH_MAX) < 0)
                return 2;
            o.filter.search = optarg;
            break;
        case 'e':
            if (check_text("--entity", optarg, 512) < 0)
                return 2;
            o.filter.entity = optarg;
            break;
        case 'O':
            if (strcmp(optarg, "newest") != 0 && strcmp(optarg, "oldest") != 0)
                return rg_alerts_usage_error("--order must be newest or oldest, not '%s'", optarg);
            o.filter.newest_first = strcmp(optarg, "newest") == 0;
            break;
        case 'T':
            if (strcmp(optarg, "time") == 0)
                o.filter.sort = RG_SORT_TIME;
            else if (strcmp(optarg, "subject") == 0)
                o.filter.sort = RG_SORT_SUBJECT;
            else if (strcmp(optarg, "status") == 0)
                o.filter.sort = RG_SORT_STATUS;
            else
                return rg_alerts_usage_error("--sort must be time, subject or status, not '%s'", optarg);
            break;
        case 'a':
        case 'b':
            if (parse_time(optarg, c == 'a' ? &o.filter.since_ms : &o.filter.until_ms) < 0)
                return rg_alerts_usage_error("not a time: '%s' (RFC 3339, YYYY-MM-DD, 24h, 7d, today, yesterday)", optarg);
            break;
        case 'l':
        case 'o':
            if (parse_count(optarg, c == 'l' ? &o.filter.limit : &o.filter.offset) < 0)
                return rg_alerts_usage_error("not a count: '%s'", optarg);
            o.limit_given |= c == 'l';
            break;
        case 'h': fputs(USAGE, stdout); return 0;
        case ':': return rg_alerts_usage_error("%s needs a value", args[optind - 1]);
        default: return rg_alerts_usage_error("unknown option '%s'", args[optind - 1]);
        }
    }
    int npos = nargs - optind;
    char **pos = args + optind;
    o.db = rg_alerts_db_path(o.db);
    if (!o.db)
        return rg_alerts_usage_error("%s", "--db DB is required (or set RISKGATE_DB)");
    int want = ACTIONS[which].positional;
    if ((want >= 0 && npos != want) || (want == -1 && npos < 1) || (want == -2 && npos < 2) ||
        (want == -3 && npos < 1))
        return rg_alerts_usage_error("%s", ACTIONS[which].needs);
    if (which == A_LABEL && strcmp(pos[npos - 1], "fraud") != 0 && strcmp(pos[npos - 1], "legit") != 0)
        return rg_alerts_usage_error("the label must be fraud or legit, not '%s'", pos[npos - 1]);
    if (which == A_ASSIGN && strcmp(pos[npos - 1], "none") != 0 && !rg_alert_name_valid(pos[npos - 1]))
        return rg_alerts_usage_error("not a name to assign to: '%s' (A-Z a-z 0-9 . _ @ -, or none)",
                                     pos[npos - 1]);
    if (o.note && which != A_LABEL)
        return rg_alerts_usage_error("%s", "--note belongs to label");
    if (o.by && (which < A_LABEL || which > A_ASSIGN))
        return rg_alerts_usage_error("%s", "--by belongs to label, resolve, reopen and assign");
    if (filtered && which != A_LIST)
        return rg_alerts_usage_error("%s", "filters belong to list");
    if (which == A_RELEASES && !o.limit_given)
        o.filter.limit = DEFAULT_LIMIT;
    if ((which == A_LABEL || which == A_RESOLVE || which == A_REOPEN || which == A_ASSIGN) &&
        !rg_alerts_analyst(&o))
        return rg_alerts_usage_error("%s", "cannot tell who you are: give --by NAME");
    int n_ids = npos - (want == -2 ? 1 : 0);
    if ((which == A_LABEL || which == A_RESOLVE || which == A_REOPEN || which == A_ASSIGN) &&
        n_ids > RG_REVIEW_MAX_IDS)
        return rg_alerts_usage_error("at most %s ALERT_IDs at once", RG_STR(RG_REVIEW_MAX_IDS));

    char err[512];
    rg_alert_store *s = rg_alert_store_open(o.db, which == A_IMPORT ? RG_ALERTS_CREATE : RG_ALERTS_EXISTING,
                                            err, sizeof err);
    if (!s) {
        fprintf(stderr, "riskgate alerts: %s\n", err);
        return 2;
    }
    int rc;
    switch ((which_action)which) {
    case A_LIST: rc = do_list(s, &o); break;
    case A_SHOW: rc = rg_alerts_do_show(s, &o, pos[0]); break;
    case A_HISTORY: rc = rg_alerts_do_history(s, &o, pos[0]); break;
    case A_LABEL: rc = rg_alerts_do_review(s, &o, RG_REVIEW_LABEL, pos, n_ids, pos[npos - 1]); break;
    case A_RESOLVE: rc = rg_alerts_do_review(s, &o, RG_REVIEW_RESOLVE, pos, n_ids, NULL); break;
    case A_REOPEN: rc = rg_alerts_do_review(s, &o, RG_REVIEW_REOPEN, pos, n_ids, NULL); break;
    case A_ASSIGN: rc = rg_alerts_do_review(s, &o, RG_REVIEW_ASSIGN, pos, n_ids, pos[npos - 1]); break;
    case A_RELEASES: rc = rg_alerts_do_releases(s, &o); break;
    case A_PRECISION: rc = do_precision(s, &o); break;
    default: rc = do_import(s, npos, pos); break;
    }
    if (rg_alert_store_close(s, err, sizeof err) < 0) {
        fprintf(stderr, "riskgate alerts: %s\n", err);
        rc = 1;
    }
    return rc;
}
