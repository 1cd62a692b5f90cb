/* stages/record.h: what the internal topics carry decodes as it was
 * encoded, and hostile fields are refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../../stages/ingest.h"
#include "../../../stages/record.h"

/* A MARK carries no source offset (-1): it must decode (every entity and
 * decide task reads them to know its sources' progress). */
static void test_mark_roundtrip(void **state)
{
    (void)state;
    rg_strbuf b = RG_STRBUF_INIT;
    rg_ingest_mark(3, 1795000680000, true, &b);
    assert_true(rg_strbuf_ok(&b));
    rg_rec r;
    char err[256] = "";
    assert_int_equal(rg_rec_decode(b.data, b.len, &r, err, sizeof err), 0);
    assert_int_equal(r.kind, RG_REC_MARK);
    assert_int_equal(r.src_partition, 3);
    assert_int_equal(r.src_offset, -1);
    assert_int_equal(r.progress_ms, 1795000680000);
    assert_true(r.drained);
    rg_strbuf_free(&b);
}

static void test_source_offset_range(void **state)
{
    (void)state;
    const int64_t offsets[] = {0, 1, RG_REC_MAX_OFFSET, -2, RG_REC_MAX_OFFSET + 1, INT64_MAX, INT64_MIN};
    const int ok[] = {1, 1, 1, 0, 0, 0, 0};
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        rg_rec r = {.kind = RG_REC_ENTITY, .family = 'c', .src_partition = 0, .src_offset = offsets[i],
                    .ts_ms = 1, .msg_ts_ms = -1, .progress_ms = 1, .raw = "{}", .raw_len = 2};
        rg_strbuf b = RG_STRBUF_INIT;
        rg_rec_encode(&r, &b);
        rg_rec out;
        char err[256] = "";
        int rc = rg_rec_decode(b.data, b.len, &out, err, sizeof err);
        assert_int_equal(rc == 0, ok[i]);
        if (!ok[i])
            assert_non_null(strstr(err, "source offset"));
        else
            assert_int_equal(out.src_offset, offsets[i]);
        rg_strbuf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mark_roundtrip),
        cmocka_unit_test(test_source_offset_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
