/* Tests for decisions/decision_id.c: the two parts of a decision id are
 * escaped ('%' -> %25, '/' -> %2F) and nothing else changes; parsing gives
 * the parts back and refuses what no decision id can be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "decisions/decision_id.h"

static void assert_id(const char *event_id, const char *subject, const char *want)
{
    rg_strbuf b = RG_STRBUF_INIT;
    rg_decision_id_put(&b, event_id, strlen(event_id), subject, strlen(subject));
    assert_true(rg_strbuf_ok(&b));
    assert_string_equal(b.data, want);
    rg_strbuf ev = RG_STRBUF_INIT, sub = RG_STRBUF_INIT;
    assert_true(rg_decision_id_parse(b.data, b.len, &ev, &sub));
    assert_string_equal(ev.data, event_id);
    assert_string_equal(sub.data, subject);
    rg_strbuf_free(&b);
    rg_strbuf_free(&ev);
    rg_strbuf_free(&sub);
}

static void test_put_and_parse(void **state)
{
    (void)state;
    assert_id("e-3", "u-1", "e-3/u-1");                 /* unchanged without % or / */
    assert_id("x/y", "z", "x%2Fy/z");
    assert_id("x", "y/z", "x/y%2Fz");                   /* the pair that collided */
    assert_id("50%off", "a%2Fb", "50%25off/a%252Fb");   /* escapes look-alikes again */
    assert_id("//", "%%", "%2F%2F/%25%25");
    assert_id("\xe7\xba\xa2/\xe5\x8c\x85", "u", "\xe7\xba\xa2%2F\xe5\x8c\x85/u");
}

static void test_parse_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {"x/y/z", "xyz", "/z", "x/", "x%2/z", "x%41/z", "x/z%", "x/z%2",
                                      "x%/z", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rg_strbuf ev = RG_STRBUF_INIT;
        assert_false(rg_decision_id_parse(bad[i], strlen(bad[i]), &ev, NULL));
        assert_int_equal(ev.len, 0);
        rg_strbuf_free(&ev);
    }
    /* Lower-case hex is read too. */
    rg_strbuf ev = RG_STRBUF_INIT;
    assert_true(rg_decision_id_parse("x%2fy/z", 7, &ev, NULL));
    assert_string_equal(ev.data, "x/y");
    rg_strbuf_free(&ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_and_parse),
        cmocka_unit_test(test_parse_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
