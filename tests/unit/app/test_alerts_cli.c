/* Tests for `riskgate alerts` (cli/cmd_alerts.c): the forms of cli.md,
 * exit statuses, tables and --json. The command is compiled into this
 * test (the CLI is not part of rg_app), run in-process with stdout and
 * stderr captured to files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <jansson.h>

#include "alerts_fixture.h"
#include "cli/cmd_alerts.c"

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

/* Run `riskgate alerts ARGS...` (NULL-terminated) and capture its output. */
static int run(ctx *c, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "alerts";
    va_list ap;
    va_start(ap, c);
    for (char *a; (a = va_arg(ap, char *)) != NULL && argc < 31;)
        argv[argc++] = a;
    va_end(ap);
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
    int rc = rg_cmd_alerts(argc, argv);
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
    assert_non_null(strstr(c->out, "riskgate alerts precision --db DB [--json]"));
    assert_int_equal(run(c, "show", "--help", NULL), 0);
    assert_int_equal(run(c, "frobnicate", "--db", c->db, NULL), 2);
    assert_non_null(strstr(c->err, "unknown action 'frobnicate'"));
    assert_int_equal(run(c, "list", NULL), 2);
    assert_non_null(strstr(c->err, "--db DB is required"));
    assert_int_equal(run(c, "list", "--db", c->db, "--bogus", NULL), 2);
    assert_non_null(strstr(c->err, "unknown option '--bogus'"));
    assert_int_equal(run(c, "list", "--db", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--status", "closed", NULL), 2);
    assert_int_equal(run(c, "list", "--db", c->db, "--since", "yesterday", NULL), 2);
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
    assert_int_equal(run(c, "list", "--db", c->db, NULL), 0);
    /* Header plus five rows, oldest first, columns aligned. */
    char *l1 = strstr(c->out, "\n") + 1;
    assert_true(strncmp(c->out, "TIME (UTC)", 10) == 0);
    assert_true(strncmp(l1, "2026-11-22T14:37:45.123Z  e-1/u-1", 33) == 0);
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
    assert_string_equal(json_string_value(json_object_get(json_array_get(alerts, 2), "id")), "e-5/u-1");
    json_decref(j);

    assert_int_equal(run(c, "list", "--db", c->db, "--json", "--status", "resolved", NULL), 0);
    assert_string_equal(c->out, "{\"total\":0,\"alerts\":[]}\n");
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
    assert_non_null(strstr(c->out, "e-3/u-1: resolved by bo\n"));
    assert_non_null(strstr(c->out, "release queued"));
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

int main(void)
{
    setenv("USER", "tester", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_usage_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_table_and_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_resolve_release_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_and_terminal_safety, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
