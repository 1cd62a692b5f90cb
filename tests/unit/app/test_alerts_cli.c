/* Tests for `riskgate alerts` and `riskgate users` (cli/cmd_alerts.c,
 * cmd_alerts_review.c, cmd_users.c): the forms of cli.md (both rounds),
 * exit statuses, tables and --json, RISKGATE_DB, relative times. The
 * commands are compiled into this test (the CLI is not part of rg_app),
 * run in-process with stdout and stderr captured to files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>

#include "alerts_fixture.h"
#include "cli/alerts_text.c"
#include "cli/cmd_alerts.c"
#include "cli/cmd_alerts_review.c"
#include "cli/cmd_alerts_show.c"
#include "cli/cmd_users.c"

typedef struct ctx {
    char db[512];
    char out_path[600], err_path[600];
    char *out, *err;    /* what the last run printed */
} ctx;

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    rg_strbuf b = RG_STRBUF_INIT;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        rg_strbuf_append(&b, buf, n);
    fclose(f);
    rg_strbuf_putc(&b, '\0');
    return b.data;
}

/* Run `riskgate NAME ARGS...` and capture its output. */
static int run_v(ctx *c, int (*cmd)(int, char **), char *name, va_list ap)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = name;
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    argv[argc] = NULL;

    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fo = open(c->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int fe = open(c->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fo, 1);
    dup2(fe, 2);
    close(fo);
    close(fe);
    int rc = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    free(c->out);
    free(c->err);
    c->out = slurp(c->out_path);
    c->err = slurp(c->err_path);
    return rc;
}

/* `riskgate alerts ARGS...` (NULL-terminated). */
static int run(ctx *c, ...)
{
    va_list ap;
    va_start(ap, c);
    int rc = run_v(c, rg_cmd_alerts, "alerts", ap);
    va_end(ap);
    return rc;
}

/* `riskgate users ARGS...` (NULL-terminated). */
static int run_users(ctx *c, ...)
{
    va_list ap;
    va_start(ap, c);
    int rc = run_v(c, rg_cmd_users, "users", ap);
    va_end(ap);
    return rc;
}

static int setup(void **state)
{
    ctx *c = calloc(1, sizeof *c);
    fix_db_path(c->db, sizeof c->db, "alerts-cli");
    snprintf(c->out_path, sizeof c->out_path, "%s.out", c->db);
    snprintf(c->err_path, sizeof c->err_path, "%s.err", c->db);
    char err[512];
    rg_alert_store *s = rg_alert_store_open(c->db, RG_ALERTS_CREATE, err, sizeof err);
    if (!s || fix_fill(s) < 0)
        return -1;
    rg_alert_store_close(s, NULL, 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    ctx *c = *state;
    fix_db_remove(c->db);
    unlink(c->out_path);
    unlink(c->err_path);
    free(c->out);
    free(c->err);
    free(c);
    return 0;
}

static void test_usage_errors(void **state)
{
    ctx *c = *state;
    assert_int_equal(run(c, NULL), 2);
    assert_non_null(strstr(c->err, "usage: riskgate alerts list"));
    assert_int_equal(run(c, "--help", NULL), 0);
    assert_non_null(strstr(c->out, "riskgate alerts precision [--db DB] [--json]"));
    assert_int_equal(run(c, "show", "--help", NULL), 0);
    assert_int_equal(run(c, "frobnicate", "--db", c->db, NULL), 2);
    assert_non_null(strstr(c->err, "unknown action 'frobnicate'"));
    assert_int_equal(run(c, "list", NULL), 2);
    assert_non_null(strstr(c->err, "--db DB is required"));
    assert_int_equal(run(c, "list", "--db", c->db, "--bogus", NULL), 2);
    assert_non_null(strstr(c->err, "unknown option '--bogus'"));
    assert_int_equal(run(c, "list", "--db", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--status", "closed", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--since", "someday", NULL), 2);
    assert_non_null(strstr(c->err, "not a time: 'someday'"));
    assert_int_equal(run(c, "list", "--db", c->db, "--label", "maybe", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--action", "explode", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--order", "sideways", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--sort", "colour", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--assignee", "a b", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--search", "", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--by", "ana", NULL), 2);
    assert_int_equal(run(c, "show", "--db", c->db, "e-1/u-1", "--label", "fraud", NULL), 2);
    assert_non_null(strstr(c->err, "filters belong to list"));
    assert_int_equal(run(c, "history", "--db", c->db, NULL), 2);
    assert_int_equal(run(c, "label", "--db", c->db, "fraud", NULL), 2);
    assert_int_equal(run(c, "label", "--db", c->db, "e-1/u-1", "e-2/u-2", "maybe", NULL), 2);
    assert_int_equal(run(c, "assign", "--db", c->db, "e-1/u-1", "bad name", NULL), 2);
    assert_int_equal(run(c, "reopen", "--db", c->db, NULL), 2);
    assert_int_equal(run(c, "releases", "--db", c->db, "x", NULL), 2);
    assert_int_equal(run(c, "show", "--db", c->db, NULL), 2);
    assert_int_equal(run(c, "label", "--db", c->db, "e-1/u-1", "maybe", NULL), 2);
    assert_non_null(strstr(c->err, "fraud or legit"));
    assert_int_equal(run(c, "resolve", "--db", c->db, "e-1/u-1", "--note", "x", NULL), 2);
    /* A --db that does not exist is a configuration error, not a new file. */
    assert_int_equal(run(c, "list", "--db", "/nonexistent/dir/x.db", NULL), 2);
    assert_non_null(strstr(c->err, "no such alert store"));
}

static void test_list_table_and_json(void **state)
{
    ctx *c = *state;
    assert_int_equal(run(c, "list", "--db", c->db, "--order", "oldest", NULL), 0);
    /* Header plus five rows, oldest first, columns aligned. */
    char *l1 = strstr(c->out, "\n") + 1;
    assert_true(strncmp(c->out, "TIME (UTC)", 10) == 0);
    assert_true(strncmp(l1, "2026-11-22T14:37:45.123Z  e-1/u-1", 33) == 0);
    assert_null(strstr(c->out, "more match"));
    const char *hdr_subject = strstr(c->out, "SUBJECT");
    const char *row_subject = strstr(l1, "  u-1 ") + 2;
    assert_int_equal(hdr_subject - c->out, row_subject - l1);
    assert_non_null(strstr(c->out, "new_account_mule,large_transfer"));
    assert_non_null(strstr(c->out, "freeze face_verify"));

    assert_int_equal(run(c, "list", "--db", c->db, "--json", "--rule", "large_transfer", NULL), 0);
    json_t *j = json_loads(c->out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 3);
    json_t *alerts = json_object_get(j, "alerts");
    assert_int_equal(json_array_size(alerts), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 0), "id")), "e-5/u-1");
    assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 2), "id")), "e-1/u-1");
    json_decref(j);

    assert_int_equal(run(c, "list", "--db", c->db, "--json", "--status", "resolved", NULL), 0);
    assert_string_equal(c->out, "{\"total\":0,\"total_exact\":true,\"limit\":50,\"offset\":0,\"alerts\":[],\"more\":0}\n");

    /* cli.md, second round: newest first, at most N, and how many more. */
    assert_int_equal(run(c, "list", "--db", c->db, "--limit", "2", NULL), 0);
    l1 = strstr(c->out, "\n") + 1;
    assert_true(strncmp(l1, "2026-11-22T14:37:49.123Z  e-5/u-1", 33) == 0);
    assert_true(strncmp(strstr(l1, "\n") + 1, "2026-11-22T14:37:48.123Z  e-4/u-2", 33) == 0);
    assert_non_null(strstr(c->out, "\n... 3 more match (5 in all)"));
    assert_int_equal(run(c, "list", "--db", c->db, "--limit", "2", "--offset", "2", "--json", NULL), 0);
    j = json_loads(c->out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "more")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "alerts"), 0), "id")),
                        "e-3/u-1");
    json_decref(j);
    assert_int_equal(run(c, "list", "--db", c->db, "--search", "nothing", NULL), 0);
    assert_string_equal(c->out, "no alerts match\n");
}

static void test_show(void **state)
{
    ctx *c = *state;
    assert_int_equal(run(c, "show", "--db", c->db, "e-3/u-1", NULL), 0);
    assert_non_null(strstr(c->out, "alert      e-3/u-1"));
    assert_non_null(strstr(c->out, "recall_burst fired on e-3"));        /* the reason */
    assert_non_null(strstr(c->out, "amount  1000"));                     /* evidence */
    assert_non_null(strstr(c->out, "\"counterparty\": \"u-9\""));          /* the event */
    assert_non_null(strstr(c->out, "other recent alerts of u-1"));
    assert_non_null(strstr(c->out, "assignee   -\n"));
    assert_non_null(strstr(c->out, "party      u-9\n"));
    assert_non_null(strstr(c->out, "\nhistory\n  (no changes yet)\n"));
    assert_non_null(strstr(c->out, "e-5/u-1"));
    assert_non_null(strstr(c->out, "e-1/u-1"));

    assert_int_equal(run(c, "show", "--db", c->db, "e-3/u-1", "--json", NULL), 0);
    json_t *j = json_loads(c->out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "alert"), "id")), "e-3/u-1");
    json_t *others = json_object_get(j, "subject_alerts");
    assert_int_equal(json_array_size(others), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(others, 0), "id")), "e-5/u-1");
    json_decref(j);

    assert_int_equal(run(c, "show", "--db", c->db, "e-404/u-1", NULL), 1);
    assert_non_null(strstr(c->err, "no alert with id 'e-404/u-1'"));
    assert_string_equal(c->out, "");
}

static void test_label_resolve_release_precision(void **state)
{
    ctx *c = *state;
    assert_int_equal(run(c, "precision", "--db", c->db, NULL), 0);
    assert_non_null(strstr(c->out, "RULE                ALERTS  LABELLED     FRAUD     LEGIT  PRECISION\n"));
    assert_non_null(strstr(c->out, "\nlarge_transfer           3         0         0         0          -\n"));

    assert_int_equal(run(c, "label", "--db", c->db, "e-3/u-1", "legit", "--note", "customer called",
                         "--by", "ana", NULL), 0);
    assert_string_equal(c->out, "e-3/u-1: labelled legit by ana\n");
    assert_int_equal(run(c, "label", "--db", c->db, "e-1/u-1", "fraud", "--by", "ana", NULL), 0);
    assert_int_equal(run(c, "label", "--db", c->db, "e-404/u-1", "fraud", "--by", "ana", NULL), 1);
    assert_non_null(strstr(c->err, "no alert with id"));

    assert_int_equal(run(c, "resolve", "--db", c->db, "e-3/u-1", "--by", "bo", NULL), 0);
    assert_string_equal(c->out, "e-3/u-1: resolved by bo; release queued for the action topic"
                                " (legit, and the subject was frozen)\n");
    assert_int_equal(run(c, "resolve", "--db", c->db, "e-404/u-1", NULL), 1);

    assert_int_equal(run(c, "show", "--db", c->db, "e-3/u-1", NULL), 0);
    assert_non_null(strstr(c->out, "release    e-3/u-1/release queued"));
    assert_non_null(strstr(c->out, "note       customer called"));

    assert_int_equal(run(c, "precision", "--db", c->db, "--json", NULL), 0);
    json_t *j = json_loads(c->out, 0, NULL);
    assert_non_null(j);
    json_t *rules = json_object_get(j, "rules");
    json_t *lt = json_array_get(rules, 1);
    assert_string_equal(json_string_value(json_object_get(lt, "id")), "large_transfer");
    assert_int_equal(json_integer_value(json_object_get(lt, "labelled")), 1);
    assert_true(json_real_value(json_object_get(lt, "precision")) == 1.0);
    json_t *rb = json_array_get(rules, 3);
    assert_string_equal(json_string_value(json_object_get(rb, "id")), "recall_burst");
    assert_true(json_real_value(json_object_get(rb, "precision")) == 0.0);
    assert_true(json_is_real(json_object_get(rb, "precision")));
    json_decref(j);
}

static void test_import_and_terminal_safety(void **state)
{
    ctx *c = *state;
    char path[600];
    snprintf(path, sizeof path, "%s.jsonl", c->db);
    FILE *f = fopen(path, "w");
    fix_decision d;
    fix_make(&d, "i-1", "u-\\u001b[31mred", FIX_T0 + 9000, "recall_burst", RG_ACT_BIT(RG_ACT_FREEZE));
    fprintf(f, "%s\n\nnot json\n", d.json);
    fix_make(&d, "e-1", "u-1", FIX_T0, "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY));
    fprintf(f, "%s\n", d.json); /* already stored */
    fclose(f);
    assert_int_equal(run(c, "import", "--db", c->db, path, NULL), 0);
    assert_non_null(strstr(c->err, ".jsonl:3: not JSON"));
    assert_non_null(strstr(c->err, "1 alerts added, 1 already stored, 1 bad lines"));
    assert_int_equal(run(c, "import", "--db", c->db, "/nonexistent.jsonl", NULL), 1);

    assert_int_equal(run(c, "list", "--db", c->db, "--rule", "recall_burst", NULL), 0);
    assert_null(strchr(c->out, '\033'));
    assert_non_null(strstr(c->out, "u-?[31mred"));
    unlink(path);
}

static void test_several_ids_history_releases(void **state)
{
    ctx *c = *state;
    /* RISKGATE_DB stands in for --db. */
    setenv("RISKGATE_DB", c->db, 1);
    assert_int_equal(run(c, "label", "e-2/u-2", "e-3/u-1", "e-404/u-1", "legit", "--note", "ring", "--by", "ana", NULL), 1);
    assert_string_equal(c->out, "e-2/u-2: labelled legit by ana\ne-3/u-1: labelled legit by ana\n");
    assert_non_null(strstr(c->err, "no alert with id 'e-404/u-1'"));
    assert_int_equal(run(c, "assign", "e-2/u-2", "e-3/u-1", "bo", "--by", "lea", NULL), 0);
    assert_string_equal(c->out, "e-2/u-2: assigned to bo by lea\ne-3/u-1: assigned to bo by lea\n");
    assert_int_equal(run(c, "resolve", "e-2/u-2", "e-3/u-1", "--by", "bo", NULL), 0);
    assert_non_null(strstr(c->out, "e-2/u-2: resolved by bo; release queued"));
    assert_int_equal(run(c, "resolve", "e-2/u-2", NULL), 0);
    assert_string_equal(c->out, "e-2/u-2: unchanged (already resolved)\n");
    assert_int_equal(run(c, "reopen", "e-2/u-2", "--by", "lea", NULL), 0);
    assert_string_equal(c->out, "e-2/u-2: reopened by lea\n");
    assert_int_equal(run(c, "assign", "e-2/u-2", "none", NULL), 0);
    assert_string_equal(c->out, "e-2/u-2: unassigned by tester\n");
    assert_int_equal(run(c, "label", "x/y/z", "fraud", NULL), 1);
    assert_non_null(strstr(c->err, "written %2F and %25"));

    assert_int_equal(run(c, "history", "e-2/u-2", NULL), 0);
    /* Oldest first, the WHO column as wide as its widest name. */
    const char *lines[] = {"  ana     label legit: \"ring\"\n", "  lea     assign bo\n", "  bo      resolve\n",
                           "  lea     reopen\n", "  tester  unassign\n"};
    assert_non_null(strstr(c->out, "TIME (UTC)                WHO     CHANGE\n"));
    const char *at = c->out;
    for (size_t i = 0; i < 5; i++) {
        const char *hit = strstr(at, lines[i]);
        if (!hit)
            fprintf(stderr, "missing %s in\n%s", lines[i], c->out);
        assert_non_null(hit);
        at = hit;
    }
    assert_int_equal(run(c, "history", "e-2/u-2", "--json", NULL), 0);
    json_t *j = json_loads(c->out, 0, NULL);
    assert_non_null(j);
    json_t *h = json_object_get(j, "history");
    assert_int_equal(json_array_size(h), 5);
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "note")), "ring");
    assert_string_equal(json_string_value(json_object_get(json_array_get(h, 4), "what")), "unassign");
    json_decref(j);
    assert_int_equal(run(c, "history", "e-404/u-1", NULL), 1);

    assert_int_equal(run(c, "list", "--label", "legit", "--status", "open", NULL), 0);
    assert_non_null(strstr(c->out, "e-2/u-2"));
    assert_null(strstr(c->out, "e-3/u-1"));
    assert_int_equal(run(c, "list", "--assignee", "bo", "--json", NULL), 0);
    assert_non_null(strstr(c->out, "\"total\":1,"));
    assert_int_equal(run(c, "list", "--search", "U-2", "--action", "freeze", "--json", NULL), 0);
    assert_non_null(strstr(c->out, "\"total\":1,"));

    assert_int_equal(run(c, "releases", NULL), 0);
    assert_true(strncmp(c->out, "QUEUED (UTC)", 12) == 0);
    assert_non_null(strstr(c->out, "e-3/u-1/release"));
    assert_non_null(strstr(c->out, "queued"));
    assert_int_equal(run(c, "releases", "--json", "--limit", "1", NULL), 0);
    j = json_loads(c->out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "total")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "releases")), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "releases"), 0), "state")),
                        "queued");
    json_decref(j);
    assert_int_equal(run(c, "show", "e-2/u-2", NULL), 0);
    assert_non_null(strstr(c->out, "\nhistory\n"));
    assert_non_null(strstr(c->out, "reopen"));
    unsetenv("RISKGATE_DB");
}

static void test_relative_times(void **state)
{
    ctx *c = *state;
    char path[600], err[512];
    snprintf(path, sizeof path, "%s.recent", c->db);
    fix_db_remove(path);
    rg_alert_store *s = rg_alert_store_open(path, RG_ALERTS_CREATE, err, sizeof err);
    assert_non_null(s);
    int64_t now = rg_alert_now_ms();
    static const int64_t ago_h[] = {1, 3 * 24, 10 * 24};
    for (int i = 0; i < 3; i++) {
        fix_decision f;
        char ev[16];
        snprintf(ev, sizeof ev, "r-%d", i);
        fix_make(&f, ev, "u-1", now - ago_h[i] * 3600000, "large_transfer", RG_ACT_BIT(RG_ACT_FACE_VERIFY));
        assert_int_equal(rg_alert_store_add(s, &f.d, err, sizeof err), 1);
    }
    rg_alert_store_close(s, NULL, 0);
    static const struct { const char *since; const char *until; int64_t total; } cases[] = {
        {"2h", NULL, 1}, {"2d", NULL, 1}, {"7d", NULL, 2}, {"30d", NULL, 3}, {NULL, "2d", 2},
        {"yesterday", NULL, 1}, {"now", NULL, 0}, {"1970-01-01", NULL, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].since)
            assert_int_equal(run(c, "list", "--db", path, "--since", cases[i].since, "--json", NULL), 0);
        else
            assert_int_equal(run(c, "list", "--db", path, "--until", cases[i].until, "--json", NULL), 0);
        json_t *j = json_loads(c->out, 0, NULL);
        int64_t total = json_integer_value(json_object_get(j, "total"));
        json_decref(j);
        if (total != cases[i].total && !(strcmp(cases[i].since ? cases[i].since : "", "yesterday") == 0 && total == 2))
            fail_msg("--since %s --until %s: %lld alerts, want %lld", cases[i].since ? cases[i].since : "-",
                     cases[i].until ? cases[i].until : "-", (long long)total, (long long)cases[i].total);
    }
    fix_db_remove(path);
}

static void test_users_command(void **state)
{
    ctx *c = *state;
    assert_int_equal(run_users(c, NULL), 2);
    assert_int_equal(run_users(c, "--help", NULL), 0);
    assert_non_null(strstr(c->out, "riskgate users add"));
    assert_int_equal(run_users(c, "add", "--db", c->db, NULL), 2);
    assert_int_equal(run_users(c, "add", "--db", c->db, "a b", NULL), 2);
    assert_int_equal(run_users(c, "add", "--db", c->db, "ana", "--role", "admin", NULL), 2);
    assert_int_equal(run_users(c, "grant", "--db", c->db, "ana", NULL), 2);
    assert_int_equal(run_users(c, "list", "--db", c->db, NULL), 0);
    assert_non_null(strstr(c->out, "no users"));

    /* The token: alone on stdout, once; the message on stderr. */
    assert_int_equal(run_users(c, "add", "--db", c->db, "ana", NULL), 0);
    assert_int_equal(strlen(c->out), RG_USER_TOKEN_HEX + 1);
    char token[RG_USER_TOKEN_HEX + 1];
    snprintf(token, sizeof token, "%.64s", c->out);
    assert_non_null(strstr(c->err, "added ana (analyst)"));
    assert_null(strstr(c->err, token));
    assert_int_equal(run_users(c, "add", "--db", c->db, "ana", NULL), 1);
    assert_non_null(strstr(c->err, "already a user 'ana'"));

    char file[600];
    snprintf(file, sizeof file, "%s.lea.token", c->db);
    unlink(file);
    assert_int_equal(run_users(c, "add", "--db", c->db, "lea", "lead", "--token-file", file, NULL), 0);
    assert_string_equal(c->out, "");
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* An existing file is never overwritten, and then nobody is added. */
    assert_int_equal(run_users(c, "add", "--db", c->db, "max", "--token-file", file, NULL), 1);

    assert_int_equal(run_users(c, "list", "--db", c->db, NULL), 0);
    assert_non_null(strstr(c->out, "NAME  ROLE     ADDED (UTC)\nana   analyst  "));
    assert_non_null(strstr(c->out, "\nlea   lead     "));
    assert_null(strstr(c->out, "max"));
    assert_null(strstr(c->out, token));
    assert_int_equal(run_users(c, "list", "--db", c->db, "--json", NULL), 0);
    assert_non_null(strstr(c->out, "{\"users\":[{\"name\":\"ana\",\"role\":\"analyst\",\"added_at\":"));

    char err[512];
    rg_alert_store *s = rg_alert_store_open(c->db, RG_ALERTS_EXISTING, err, sizeof err);
    rg_user u;
    assert_int_equal(rg_users_authenticate(s, token, &u, err, sizeof err), 1);
    assert_string_equal(u.name, "ana");
    rg_alert_store_close(s, NULL, 0);
    assert_int_equal(run_users(c, "remove", "--db", c->db, "ana", NULL), 0);
    assert_int_equal(run_users(c, "remove", "--db", c->db, "ana", NULL), 1);
    s = rg_alert_store_open(c->db, RG_ALERTS_EXISTING, err, sizeof err);
    assert_int_equal(rg_users_authenticate(s, token, &u, err, sizeof err), 0);
    rg_alert_store_close(s, NULL, 0);
    unlink(file);
}

int main(void)
{
    setenv("USER", "tester", 1);
    unsetenv("RISKGATE_DB");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_table_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_resolve_release_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_and_terminal_safety, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_ids_history_releases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_relative_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_users_command, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
