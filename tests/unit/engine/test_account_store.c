/* Unit tests for detectors/account_store: one record per account shared by
 * the families, a slice each; the record lives while a slice is in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detectors/account_store.h"

#define KEY(s) (s), strlen(s)

typedef struct two {
    int64_t a, b;
} two;

static bool drop_odd(void *slice, void *arg)
{
    (*(int *)arg)++;
    return ((two *)slice)->a % 2 == 0;
}

static void test_slices_share_one_record(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    assert_non_null(s);
    rg_account_slice x, y;
    assert_int_equal(rg_account_store_reserve(s, sizeof(two), &x), 0);
    assert_int_equal(rg_account_store_reserve(s, 4, &y), 0);   /* padded to 8 */
    assert_int_equal(y.offset, sizeof(two));
    assert_int_equal(y.size, 8);
    assert_int_equal(rg_account_store_seal(s), 0);
    rg_account_slice late;
    assert_int_equal(rg_account_store_reserve(s, 8, &late), -1);   /* layout fixed */

    bool created;
    two *t = rg_account_put(&x, KEY("acct-1"), &created);
    assert_non_null(t);
    assert_true(created);
    t->a = 7;
    assert_null(rg_account_get(&y, KEY("acct-1")));   /* y's slice is not in use */
    assert_int_equal(rg_account_records(s), 1);
    int32_t *v = rg_account_put(&y, KEY("acct-1"), &created);
    assert_true(created);
    *v = 3;
    assert_int_equal(rg_account_records(s), 1);     /* the same record */
    assert_ptr_equal(rg_account_put(&x, KEY("acct-1"), &created), t);
    assert_false(created);
    assert_int_equal(rg_account_count(&x), 1);
    assert_int_equal(rg_account_count(&y), 1);

    /* Releasing one slice keeps the record for the other, zeroes the
     * slice, and a new claim starts from zero. */
    rg_account_release(&x, KEY("acct-1"));
    assert_null(rg_account_get(&x, KEY("acct-1")));
    assert_int_equal(*(int32_t *)rg_account_get(&y, KEY("acct-1")), 3);
    t = rg_account_put(&x, KEY("acct-1"), &created);
    assert_true(created);
    assert_int_equal(t->a, 0);
    rg_account_release(&x, KEY("acct-1"));
    rg_account_release(&y, KEY("acct-1"));
    assert_int_equal(rg_account_records(s), 0);   /* no slice left: gone */
    rg_account_store_free(s);
}

static void test_sweep_and_sorted(void **unused)
{
    rg_account_store *s = rg_account_store_new();
    rg_account_slice x, y;
    assert_int_equal(rg_account_store_reserve(s, sizeof(two), &x), 0);
    assert_int_equal(rg_account_store_reserve(s, sizeof(two), &y), 0);
    assert_int_equal(rg_account_store_seal(s), 0);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%03d", 99 - i);
        ((two *)rg_account_put(&x, KEY(key), NULL))->a = i;
        if (i < 10)
            ((two *)rg_account_put(&y, KEY(key), NULL))->a = i;
    }
    int visited = 0;
    /* Only x's records are visited; odd ones released, and their records
     * go unless y still uses them. */
    assert_int_equal(rg_account_sweep(&x, drop_odd, &visited), 50);
    assert_int_equal(visited, 100);
    assert_int_equal(rg_account_count(&x), 50);
    assert_int_equal(rg_account_records(s), 55);   /* 50 even + 5 odd kept by y */
    size_t n;
    rg_strmap_item *items = rg_account_sorted(&y, &n);
    assert_non_null(items);
    assert_int_equal(n, 10);
    for (size_t i = 1; i < n; i++)
        assert_true(strcmp(items[i - 1].key, items[i].key) < 0);
    assert_int_equal(((two *)items[0].value)->a, 9);   /* k090 was put at i = 9 */
    free(items);
    rg_account_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices_share_one_record),
        cmocka_unit_test(test_sweep_and_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
