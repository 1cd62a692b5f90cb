/* stream/reload.h: a SIGHUP's rule files loaded on a thread of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../../stream/reload.h"

static const char *default_pack = RG_SOURCE_DIR "/rules/default.yaml";

/* Take, waiting up to 20 s for the loader. */
static int take_within(rg_reloader *r, rg_ruleset **rs, char **errors)
{
    for (int i = 0; i < 2000; i++) {
        if (rg_reloader_take(r, rs, errors))
            return 1;
        usleep(10000);
    }
    return 0;
}

static void test_loads_on_its_thread_and_hands_over(void **state)
{
    (void)state;
    const char *paths[] = {default_pack};
    rg_reloader r;
    rg_reloader_init(&r, paths, 1);
    rg_ruleset *rs = NULL;
    char *errors = NULL;
    assert_int_equal(rg_reloader_take(&r, &rs, &errors), 0);   /* nothing asked yet */
    assert_int_equal(rg_reloader_request(&r), 0);
    assert_true(r.running);
    assert_int_equal(take_within(&r, &rs, &errors), 1);
    assert_non_null(rs);
    assert_false(r.running);
    assert_int_equal(rg_reloader_take(&r, &rs, &errors), 0);   /* handed over once */
    rg_ruleset_free(rs);
    free(errors);
    rg_reloader_stop(&r);
}

/* A SIGHUP while a load runs loads again after it: the file may have
 * changed between the two signals. */
static void test_second_request_loads_again(void **state)
{
    (void)state;
    char path[] = "/tmp/rg-test-reload-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("version: 1\nrules:\n  - id: a\n    on: transfer\n    when: amount > 10\n    then:\n      - review: account\n"
          "    message: \"a\"\n",
          f);
    fclose(f);
    const char *paths[] = {path};
    rg_reloader r;
    rg_reloader_init(&r, paths, 1);
    assert_int_equal(rg_reloader_request(&r), 0);
    assert_int_equal(rg_reloader_request(&r), 0);   /* while the first may still run */
    rg_ruleset *first = NULL, *second = NULL;
    char *errors = NULL;
    assert_int_equal(take_within(&r, &first, &errors), 1);
    free(errors);
    errors = NULL;
    if (r.running || r.again) {
        assert_int_equal(take_within(&r, &second, &errors), 1);
        free(errors);
        errors = NULL;
        assert_non_null(second);
        rg_ruleset_free(second);
    }
    assert_non_null(first);
    rg_ruleset_free(first);
    /* A refused file: no rule set, the loader's report. */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("rules: [\n", f);
    fclose(f);
    assert_int_equal(rg_reloader_request(&r), 0);
    rg_ruleset *none = (rg_ruleset *)1;
    assert_int_equal(take_within(&r, &none, &errors), 1);
    assert_null(none);
    assert_non_null(errors);
    assert_non_null(strstr(errors, path));
    free(errors);
    rg_reloader_stop(&r);
    unlink(path);
}

/* Stopping waits for a load in progress and drops its result (no leak:
 * LeakSanitizer checks it in the test build). */
static void test_stop_while_loading(void **state)
{
    (void)state;
    const char *paths[] = {default_pack};
    rg_reloader r;
    rg_reloader_init(&r, paths, 1);
    assert_int_equal(rg_reloader_request(&r), 0);
    rg_reloader_stop(&r);
    assert_false(r.running);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_on_its_thread_and_hands_over),
        cmocka_unit_test(test_second_request_loads_again),
        cmocka_unit_test(test_stop_while_loading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
