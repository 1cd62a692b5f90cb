/*
 * Unit tests for common/exit_keep: outside AddressSanitizer, blocks are
 * kept (true) up to RG_EXIT_KEEP_MAX and refused past it, NULL never;
 * under it, nothing is kept, so the caller's free (and the leak check
 * after it) still runs. The kept blocks are never freed: this program
 * exits with them, as replay does.
 *
 * The sanitizer build keeps nothing, so `make test` also runs this test
 * from the optimised build. Owner: common (the detectors engineer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "common/exit_keep.h"

static void test_null_is_never_kept(void **state)
{
    (void)state;
    assert_false(rg_exit_keep(NULL));
}

static void test_kept_up_to_the_max(void **state)
{
    (void)state;
    size_t kept = 0, refused = 0;
    for (size_t i = 0; i < RG_EXIT_KEEP_MAX + 8; i++) {
        void *p = malloc(32);
        assert_non_null(p);
        if (rg_exit_keep(p)) {
            kept++;
        } else {
            refused++;
            free(p);   /* refused: the caller frees it */
        }
    }
    if (rg_exit_keep_frees()) {
        assert_int_equal(kept, 0);
        assert_int_equal(refused, RG_EXIT_KEEP_MAX + 8);
    } else {
        assert_int_equal(kept, RG_EXIT_KEEP_MAX);
        assert_int_equal(refused, 8);
    }
    /* Full stays full. */
    void *p = malloc(32);
    assert_non_null(p);
    bool again = rg_exit_keep(p);
    assert_false(again);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_is_never_kept),
        cmocka_unit_test(test_kept_up_to_the_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
