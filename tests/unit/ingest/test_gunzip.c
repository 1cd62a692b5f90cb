/*
 * gunzip (ISA-L's inflate) against zlib's gzread, which read captures
 * before it: the same bytes, and an error exactly where gzread gives
 * one, on plain text, empty and one-byte files, one member, members back
 * to back, an empty member, trailing garbage, a header with every
 * optional field, every truncation of two members, every one-byte
 * corruption of a member, and read sizes from 1 byte up.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/strbuf.h"
#include "ingest/gunzip.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/rg_gunzip_test_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return unlink(path);
}

static void write_bytes(const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* The whole stream through gunzip, `step` bytes a call: 0 and the bytes,
 * or -1 (an error). */
static int read_gunzip(size_t step, rg_strbuf *out)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    rg_gunzip *g = rg_gunzip_open(fd);
    assert_non_null(g);
    unsigned char *buf = malloc(step);
    assert_non_null(buf);
    int rc = 0;
    for (;;) {
        ssize_t n = rg_gunzip_read(g, buf, step);
        if (n < 0) {
            assert_true(rg_gunzip_error(g)[0] != '\0');
            assert_int_equal(rg_gunzip_read(g, buf, step), -1); /* an error stays */
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        assert_true((size_t)n <= step);
        rg_strbuf_append(out, (const char *)buf, (size_t)n);
    }
    free(buf);
    rg_gunzip_close(g);
    return rc;
}

/* The same through zlib, as capture.c read it (an error: gzread's -1,
 * or gzerror after the end). */
static int read_zlib(rg_strbuf *out)
{
    gzFile gz = gzopen(path, "rb");
    assert_non_null(gz);
    unsigned char buf[8192];
    int rc = 0, errnum;
    for (;;) {
        int n = gzread(gz, buf, sizeof buf);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) {
            (void)gzerror(gz, &errnum);
            rc = errnum == Z_OK ? 0 : -1;
            break;
        }
        rg_strbuf_append(out, (const char *)buf, (size_t)n);
    }
    gzclose(gz);
    return rc;
}

/* gunzip agrees with zlib on what is in the file now, at every read
 * size: same error or none, and on success the same bytes. Returns
 * zlib's rc. */
static int agree(void)
{
    rg_strbuf want = {0};
    int want_rc = read_zlib(&want);
    static const size_t steps[] = {1, 7, 4096, 1 << 20};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        rg_strbuf got = {0};
        int rc = read_gunzip(steps[i], &got);
        if (rc != want_rc)
            fail_msg("read size %zu: gunzip rc %d, zlib rc %d", steps[i], rc, want_rc);
        if (rc == 0) {
            assert_int_equal(got.len, want.len);
            assert_memory_equal(got.data ? got.data : "", want.data ? want.data : "", want.len);
        }
        rg_strbuf_free(&got);
    }
    rg_strbuf_free(&want);
    return want_rc;
}

/* One gzip member of data (zlib, level 6) appended to out. */
static void gzip_member(const void *data, size_t len, rg_strbuf *out)
{
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&zs, (uLong)len) + 64;
    unsigned char *buf = malloc(cap);
    assert_non_null(buf);
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = buf;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    rg_strbuf_append(out, (const char *)buf, zs.total_out);
    deflateEnd(&zs);
    free(buf);
}

/* Event-like lines, n of them: compressible, with long matches. */
static void some_lines(size_t n, rg_strbuf *out)
{
    for (size_t i = 0; i < n; i++)
        rg_strbuf_printf(out, "{\"event_id\":\"e-%07zu\",\"type\":\"transfer\",\"account\":\"a%zu\",\"amount\":%zu}\n", i,
                         (i * 7919) % 1000, (i * 104729) % 100000);
}

static void test_plain_and_tiny(void **state)
{
    (void)state;
    const char plain[] = "{\"a\":1}\nnot gzip at all\n";
    write_bytes(plain, sizeof plain - 1);
    assert_int_equal(agree(), 0);
    write_bytes("", 0);
    assert_int_equal(agree(), 0);
    write_bytes("\x1f", 1);   /* one byte of the magic: plain */
    assert_int_equal(agree(), 0);
    write_bytes("\x1f\x8b", 2); /* the magic alone: a truncated member */
    assert_int_equal(agree(), -1);
}

static void test_members(void **state)
{
    (void)state;
    rg_strbuf text = {0}, gz = {0};
    some_lines(20000, &text); /* ~1.3 MB: several inputs and outputs */
    gzip_member(text.data, text.len, &gz);
    write_bytes(gz.data, gz.len);
    assert_int_equal(agree(), 0);

    /* two members back to back, then an empty one */
    gzip_member(text.data, 1000, &gz);
    gzip_member("", 0, &gz);
    write_bytes(gz.data, gz.len);
    assert_int_equal(agree(), 0);

    /* trailing garbage after a member: ignored; one byte of the magic
     * too */
    size_t at = gz.len;
    rg_strbuf_append(&gz, "garbage\n", 8);
    write_bytes(gz.data, gz.len);
    assert_int_equal(agree(), 0);
    gz.len = at;
    rg_strbuf_append(&gz, "\x1f", 1);
    write_bytes(gz.data, gz.len);
    assert_int_equal(agree(), 0);
    rg_strbuf_free(&text);
    rg_strbuf_free(&gz);
}

/* A member whose header has FEXTRA, FNAME, FCOMMENT and FHCRC set (raw
 * deflate between a hand-made header and trailer). */
static void test_header_fields(void **state)
{
    (void)state;
    rg_strbuf text = {0}, gz = {0};
    some_lines(300, &text);
    unsigned char head[64];
    size_t h = 0;
    const unsigned char fixed[10] = {0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 1, 2, 3, 4, 0, 3};
    memcpy(head, fixed, sizeof fixed);
    h = sizeof fixed;
    head[h++] = 5, head[h++] = 0; /* XLEN 5 */
    memcpy(head + h, "ab\0\x01x", 5), h += 5;
    memcpy(head + h, "name.jsonl", 11), h += 11;
    memcpy(head + h, "a comment", 10), h += 10;
    uLong hcrc = crc32(0, head, (uInt)h);
    head[h++] = (unsigned char)(hcrc & 0xff), head[h++] = (unsigned char)((hcrc >> 8) & 0xff);
    rg_strbuf_append(&gz, (const char *)head, h);
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    unsigned char *buf = malloc(text.len + 1024);
    assert_non_null(buf);
    zs.next_in = (Bytef *)text.data;
    zs.avail_in = (uInt)text.len;
    zs.next_out = buf;
    zs.avail_out = (uInt)(text.len + 1024);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    rg_strbuf_append(&gz, (const char *)buf, zs.total_out);
    deflateEnd(&zs);
    free(buf);
    uLong crc = crc32(0, (const Bytef *)text.data, (uInt)text.len);
    unsigned char trailer[8];
    for (int i = 0; i < 4; i++) {
        trailer[i] = (unsigned char)((crc >> (8 * i)) & 0xff);
        trailer[4 + i] = (unsigned char)((text.len >> (8 * i)) & 0xff);
    }
    rg_strbuf_append(&gz, (const char *)trailer, sizeof trailer);
    write_bytes(gz.data, gz.len);
    assert_int_equal(agree(), 0);
    /* a wrong header CRC */
    gz.data[h - 1] ^= 0x40;
    write_bytes(gz.data, gz.len);
    assert_int_equal(agree(), -1);
    rg_strbuf_free(&text);
    rg_strbuf_free(&gz);
}

/* Every prefix of two members: an error wherever zlib gives one (all
 * but the empty file, the lone first byte, the first member whole, with
 * the second's first byte as trailing garbage, and the whole). */
static void test_every_truncation(void **state)
{
    (void)state;
    rg_strbuf text = {0}, gz = {0};
    some_lines(40, &text);
    gzip_member(text.data, text.len / 2, &gz);
    gzip_member(text.data + text.len / 2, text.len - text.len / 2, &gz);
    size_t errors = 0;
    for (size_t cut = 0; cut <= gz.len; cut++) {
        write_bytes(gz.data, cut);
        errors += agree() != 0;
    }
    assert_int_equal(errors, gz.len + 1 - 5);
    rg_strbuf_free(&text);
    rg_strbuf_free(&gz);
}

/* Every byte of a member flipped in turn: the same outcome as zlib. */
static void test_every_corruption(void **state)
{
    (void)state;
    rg_strbuf text = {0}, gz = {0};
    some_lines(40, &text);
    gzip_member(text.data, text.len, &gz);
    size_t errors = 0;
    for (size_t i = 0; i < gz.len; i++) {
        gz.data[i] ^= 0xa5;
        write_bytes(gz.data, gz.len);
        errors += agree() != 0;
        gz.data[i] ^= 0xa5;
    }
    assert_true(errors > gz.len / 2); /* the test flips what matters */
    rg_strbuf_free(&text);
    rg_strbuf_free(&gz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_tiny),   cmocka_unit_test(test_members),
        cmocka_unit_test(test_header_fields),    cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_every_corruption),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
