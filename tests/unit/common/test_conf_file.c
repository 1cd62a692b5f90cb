/* Unit tests for common/conf_file.h: the grammar (sections, quoting,
 * comments, blanks, CRLF), positions of entries, and every refusal with
 * its NAME:LINE:COLUMN and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf_file.h"

static rg_conf *parse(const char *text, char *err, size_t n)
{
    return rg_conf_parse("t.conf", text, strlen(text), err, n);
}

static void test_grammar(void **state)
{
    (void)state;
    char err[256] = "";
    rg_conf *c = parse("# comment\n"
                       "; also a comment\n"
                       "\n"
                       "brokers = a:9092,b:9092\n"
                       "  rules=one.yaml   \r\n"
                       "rules = \"two words.yaml \"\n"
                       "empty =\n"
                       "[kafka]\n"
                       "sasl.password = p#1=2 ;x\n"
                       "\t[consumer.extra]\t\n"
                       "fetch.wait.max.ms = 10",
                       err, sizeof err);
    assert_non_null(c);
    assert_int_equal(c->n, 6);
    const struct {
        const char *section, *key, *value;
        unsigned line, column, value_column;
    } want[] = {
        {"", "brokers", "a:9092,b:9092", 4, 1, 11},
        {"", "rules", "one.yaml", 5, 3, 9},
        /* Quoted: blanks inside kept, the quotes dropped. */
        {"", "rules", "two words.yaml ", 6, 1, 10},
        {"", "empty", "", 7, 1, 8},
        /* '#', ';' and '=' inside a value are the value's. */
        {"kafka", "sasl.password", "p#1=2 ;x", 9, 1, 17},
        {"consumer.extra", "fetch.wait.max.ms", "10", 11, 1, 21},
    };
    for (size_t i = 0; i < c->n; i++) {
        assert_string_equal(c->entries[i].section, want[i].section);
        assert_string_equal(c->entries[i].key, want[i].key);
        assert_string_equal(c->entries[i].value, want[i].value);
        assert_int_equal(c->entries[i].line, want[i].line);
        assert_int_equal(c->entries[i].column, want[i].column);
        assert_int_equal(c->entries[i].value_column, want[i].value_column);
    }
    rg_conf_free(c);

    /* Empty text and comments only: no entry, not a refusal. */
    c = rg_conf_parse("t.conf", "", 0, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(c->n, 0);
    rg_conf_free(c);
    rg_conf_free(NULL);
}

static void refused(const char *text, const char *want)
{
    char err[256] = "";
    rg_conf *c = parse(text, err, sizeof err);
    if (c || strcmp(err, want) != 0)
        fail_msg("%s: got \"%s\", expected \"%s\"", text, c ? "(accepted)" : err, want);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("a = 1\nno equals\n", "t.conf:2:4: expected '=' after the key \"no\"");
    refused("a = 1\n  = 2\n", "t.conf:2:3: expected key = value (a key is letters, digits, '_', '.', '-')");
    refused("k$ = 1\n", "t.conf:1:2: expected '=' after the key \"k\"");
    refused("[kafka\n", "t.conf:1:1: expected [section] (letters, digits, '_', '.', '-')");
    refused("  [] \n", "t.conf:1:3: expected [section] (letters, digits, '_', '.', '-')");
    refused("[a] x\n", "t.conf:1:1: expected [section] (letters, digits, '_', '.', '-')");
    refused("a = \"open\n", "t.conf:1:5: unterminated quoted value");
    refused("a = \"\n", "t.conf:1:5: unterminated quoted value");
    refused("a = 1\nb = x\001y\n", "t.conf:2:6: control character 0x01");
    refused("a = 1\x7f\n", "t.conf:1:6: control character 0x7f");
    /* A NUL is a control character too (len counts past it). */
    char err[256] = "";
    assert_null(rg_conf_parse("t.conf", "a = b\0c\n", 8, err, sizeof err));
    assert_string_equal(err, "t.conf:1:6: control character 0x00");
}

static void test_limits(void **state)
{
    (void)state;
    char err[256] = "";
    /* A line of exactly the limit is accepted; one byte more is refused. */
    size_t n = RG_CONF_MAX_LINE;
    char *line = malloc(n + 2);
    assert_non_null(line);
    memcpy(line, "k = ", 4);
    memset(line + 4, 'v', n - 4);
    line[n] = '\n';
    rg_conf *c = rg_conf_parse("t.conf", line, n + 1, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(strlen(c->entries[0].value), n - 4);
    rg_conf_free(c);
    line[n] = 'v';
    line[n + 1] = '\n';
    assert_null(rg_conf_parse("t.conf", line, n + 2, err, sizeof err));
    assert_string_equal(err, "t.conf:1:1: line longer than 8192 bytes");
    free(line);

    /* RG_CONF_MAX_ENTRIES entries, then one more. */
    size_t cap = (RG_CONF_MAX_ENTRIES + 1) * 8 + 1;
    char *many = malloc(cap);
    assert_non_null(many);
    size_t at = 0;
    for (int i = 0; i < RG_CONF_MAX_ENTRIES; i++)
        at += (size_t)snprintf(many + at, cap - at, "k = %d\n", i % 10);
    c = rg_conf_parse("t.conf", many, at, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(c->n, RG_CONF_MAX_ENTRIES);
    rg_conf_free(c);
    at += (size_t)snprintf(many + at, cap - at, "k = x\n");
    assert_null(rg_conf_parse("t.conf", many, at, err, sizeof err));
    assert_string_equal(err, "t.conf:1025:1: more than 1024 entries");
    free(many);

    /* The whole file: refused before any line is read. */
    char *big = calloc(RG_CONF_MAX_BYTES + 1, 1);
    assert_non_null(big);
    assert_null(rg_conf_parse("t.conf", big, RG_CONF_MAX_BYTES + 1, err, sizeof err));
    assert_string_equal(err, "t.conf:1:1: file larger than 1048576 bytes");
    free(big);
}

static void test_load(void **state)
{
    (void)state;
    char path[] = "/tmp/rg_conf_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "[kafka]\nclient.id = x\n";
    assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char err[512] = "";
    rg_conf *c = rg_conf_load(path, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(c->n, 1);
    assert_string_equal(c->entries[0].section, "kafka");
    rg_conf_free(c);
    unlink(path);
    /* A missing file: its path and the reason. */
    assert_null(rg_conf_load(path, err, sizeof err));
    char want[600];
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grammar),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
