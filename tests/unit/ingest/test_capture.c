/*
 * Capture reading on temporary files: plain, gzip, concatenated gzip
 * members, kcat -J envelopes (same events, same fields), an over-long line
 * followed by a good one, CRLF, blank lines, a last line without newline,
 * several files as one stream, a missing file, corrupt and truncated gzip.
 * Every read is done twice, the second time as replay --workers does it
 * (rg_capture_next_line, rg_capture_parse, rg_event_copy): same items.
 */
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
#include "ingest/capture.h"
#include "ingest/event_parse.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rg_capture_test_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *path_of(const char *name)
{
    static char paths[8][300];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 300, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void write_gz(const char *path, const char *mode, const void *data, size_t len)
{
    gzFile gz = gzopen(path, mode);
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, data, (unsigned)len), (int)len);
    assert_int_equal(gzclose(gz), Z_OK);
}

#define EV1 "{\"event_id\":\"e-1\",\"type\":\"transfer\",\"ts\":\"2026-11-22T00:00:00.5Z\",\"account\":\"u-1\",\"counterparty\":\"u-2\",\"amount\":250000,\"ip\":\"1.2.3.4\"}"
#define EV2 "{\"event_id\":\"e-2\",\"type\":\"red_packet_claim\",\"ts\":1795305600000,\"account\":\"u-8\",\"packet_id\":\"p-5\",\"amount\":900,\"client\":{\"packages\":[\"x.y\"]}}"
#define EV3 "{\"event_id\":\"e-3\",\"type\":\"login\",\"ts\":\"2026-11-22T08:00:00+08:00\",\"account\":\"u-\xe4\xb8\xad\",\"location\":{\"lat\":1.5,\"lon\":-2}}"

static const char plain[] = EV1 "\n\n" EV2 "\r\n   \r\n" EV3;

/* One line per item: "E <fields>" or "R <kind> <field> <source>". */
static void describe(rg_capture_status st, const rg_capture_item *it, rg_strbuf *out)
{
    if (st == RG_CAPTURE_EVENT) {
        const rg_event *e = &it->event;
        rg_strbuf_printf(out, "E %s %s %lld %s %lld %s %s %d %zu %g %g|", e->event_id,
                         rg_event_type_name(e->type), (long long)e->ts_ms, e->account,
                         (long long)e->amount, e->counterparty ? e->counterparty : "-",
                         e->packet_id ? e->packet_id : "-", e->ip_family, e->n_client_packages,
                         e->lat, e->lon);
    } else {
        rg_strbuf_printf(out, "R %s %s %s|", rg_reject_kind_name(it->reject.kind),
                         it->reject.field ? it->reject.field : "-", it->source);
    }
}

static const char *or_dash(const char *s) { return s ? s : "-"; }

/* Every field of an event (describe's and the rest), to compare an event
 * with its deep copy (rg_event_copy). */
static void describe_full(const rg_event *e, rg_strbuf *out)
{
    rg_strbuf_printf(out, "%s/%zu %s/%zu ip=%s dev=%s reg=%s cur=%s tgt=%s cp=%s/%zu pk=%s/%zu ref=%s/%zu",
                     e->event_id, e->event_id_len, e->account, e->account_len, or_dash(e->ip), or_dash(e->device_id),
                     or_dash(e->region), or_dash(e->currency), or_dash(e->target), or_dash(e->counterparty),
                     e->counterparty_len, or_dash(e->packet_id), e->packet_id_len, or_dash(e->ref), e->ref_len);
    rg_strbuf_printf(out, " pkgs=%d/%zu", e->has_client_packages, e->n_client_packages);
    for (size_t i = 0; i < e->n_client_packages; i++)
        rg_strbuf_printf(out, ",%s", or_dash(e->client_packages[i]));
    rg_strbuf_printf(out, " t=%d ts=%lld amt=%lld fam=%d auto=%d hook=%d sh=%lld kind=%d mode=%d reason=%d|", e->type,
                     (long long)e->ts_ms, (long long)e->amount, e->ip_family, e->client_automation,
                     e->client_hooked, (long long)e->shares, e->kind, e->mode, e->reason);
}

/* An event's source and raw bytes: rg_capture_next_line's usual-line
 * path must give what next_line gives. */
static void describe_origin(const rg_capture_item *it, rg_strbuf *out)
{
    rg_strbuf_printf(out, "@%s %zu %.*s|", it->source, it->raw_len, (int)it->raw_len, it->raw);
}

/* The same stream read as replay --workers reads it: lines from
 * rg_capture_next_line, parsed with a parser of the caller's, each event
 * deep-copied (rg_event_copy) and described only after the parser has
 * moved on to another line, so a copy that still pointed into the
 * parser's storage would show. Rejects and the error as in read_all. */
static void read_all_by_lines(const char *const *paths, size_t n, rg_strbuf *out, rg_strbuf *full,
                              uint64_t *envelopes, rg_capture_stats *stats)
{
    rg_capture *c = rg_capture_new(paths, n);
    rg_event_parser *p = rg_event_parser_new();
    assert_non_null(c);
    assert_non_null(p);
    rg_capture_item it;
    char err[512];
    rg_capture_status st;
    *envelopes = 0;
    while ((st = rg_capture_next_line(c, &it, err, sizeof err)) != RG_CAPTURE_END) {
        if (st == RG_CAPTURE_ERROR) {
            rg_strbuf_printf(out, "X %s|", err);
            break;
        }
        const char *line = it.raw;
        size_t line_len = it.raw_len;
        if (st == RG_CAPTURE_EVENT) {
            bool envelope, accepted;
            rg_capture_parse(p, it.raw, it.raw_len, &it, &envelope, &accepted);
            *envelopes += envelope;
            st = accepted ? RG_CAPTURE_EVENT : RG_CAPTURE_REJECT;
        }
        if (st == RG_CAPTURE_EVENT) {
            size_t need = rg_event_copy_size(&it.event);
            void *buf = malloc(need ? need : 1);
            assert_non_null(buf);
            rg_event copy;
            rg_event_copy(&copy, &it.event, buf);
            /* The same copy as replay --workers makes it, the strings the
             * line pass left in the parser's text moved as one block. */
            rg_event_block block = it.raw == line ? rg_event_parser_text(p, line_len) : (rg_event_block){0};
            void *buf_in = malloc(rg_event_copy_size_in(&it.event, &block) + 1);
            assert_non_null(buf_in);
            rg_event copy_in;
            rg_event_copy_in(&copy_in, &it.event, &block, buf_in);
            /* Scribble over the parser's storage with another event. */
            rg_event junk;
            rg_reject rej;
            assert_int_equal(rg_event_parse(p, EV2, strlen(EV2), &junk, &rej), 0);
            it.event = copy;
            describe(st, &it, out);
            describe_full(&copy, full);
            describe_origin(&it, full);
            rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT;
            describe_full(&copy, &a);
            describe_full(&copy_in, &b);
            assert_string_equal(a.data, b.data);
            rg_strbuf_free(&a);
            rg_strbuf_free(&b);
            free(buf_in);
            free(buf);
        } else {
            describe(st, &it, out);
        }
    }
    *stats = *rg_capture_get_stats(c);
    rg_event_parser_free(p);
    rg_capture_free(c);
}

/* Read everything; the error (if any) is appended as "X <message>". Also
 * reads it line by line (read_all_by_lines) and checks both agree. */
static void read_all(const char *const *paths, size_t n, rg_strbuf *out, rg_capture_stats *stats)
{
    rg_capture *c = rg_capture_new(paths, n);
    assert_non_null(c);
    rg_capture_item it;
    char err[512];
    rg_capture_status st;
    size_t start = out->len;
    rg_strbuf full = RG_STRBUF_INIT, lines = RG_STRBUF_INIT, lines_full = RG_STRBUF_INIT;
    while ((st = rg_capture_next(c, &it, err, sizeof err)) != RG_CAPTURE_END) {
        if (st == RG_CAPTURE_ERROR) {
            rg_strbuf_printf(out, "X %s|", err);
            assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_ERROR);
            break;
        }
        describe(st, &it, out);
        if (st == RG_CAPTURE_EVENT) {
            describe_full(&it.event, &full);
            describe_origin(&it, &full);
        }
    }
    uint64_t envelopes;
    rg_capture_stats by_lines;
    read_all_by_lines(paths, n, &lines, &lines_full, &envelopes, &by_lines);
    const rg_capture_stats *whole = rg_capture_get_stats(c);
    assert_int_equal(by_lines.lines, whole->lines);
    assert_int_equal(by_lines.blank_lines, whole->blank_lines);
    assert_int_equal(by_lines.bytes, whole->bytes);
    assert_int_equal(out->len - start, lines.len);
    assert_memory_equal(out->data + start, lines.data, lines.len);
    assert_int_equal(full.len, lines_full.len);
    assert_memory_equal(full.data, lines_full.data, full.len);
    assert_int_equal(envelopes, rg_capture_get_stats(c)->envelopes);
    if (stats)
        *stats = *rg_capture_get_stats(c);
    rg_strbuf_free(&full);
    rg_strbuf_free(&lines);
    rg_strbuf_free(&lines_full);
    rg_capture_free(c);
}

static void test_plain_gz_concat_same(void **state)
{
    (void)state;
    const char *p = path_of("plain.jsonl"), *g = path_of("c.jsonl.gz"), *cc = path_of("cat.gz");
    write_file(p, plain, sizeof plain - 1);
    write_gz(g, "wb", plain, sizeof plain - 1);
    /* two gzip members back to back: what `cat a.gz b.gz` gives */
    size_t half = strlen(EV1 "\n\n");
    write_gz(cc, "wb", plain, half);
    write_gz(cc, "ab", plain + half, sizeof plain - 1 - half);

    rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT, c = RG_STRBUF_INIT;
    rg_capture_stats st;
    read_all(&p, 1, &a, &st);
    assert_int_equal(st.lines, 5);
    assert_int_equal(st.blank_lines, 2);
    assert_int_equal(st.bytes, sizeof plain - 1);
    assert_non_null(strstr(a.data, "E e-1 transfer 1795305600500 u-1 250000 u-2 - 2 0"));
    assert_non_null(strstr(a.data, "E e-2 red_packet_claim 1795305600000 u-8 900 - p-5 0 1"));
    assert_non_null(strstr(a.data, "E e-3 login 1795305600000 u-\xe4\xb8\xad 0 - - 0 0 1.5 -2|"));
    read_all(&g, 1, &b, NULL);
    read_all(&cc, 1, &c, NULL);
    assert_string_equal(a.data, b.data);
    assert_string_equal(a.data, c.data);
    rg_strbuf_free(&a);
    rg_strbuf_free(&b);
    rg_strbuf_free(&c);
}

static void test_envelopes(void **state)
{
    (void)state;
    rg_strbuf env = RG_STRBUF_INIT;
    const char *evs[] = {EV1, EV2, EV3};
    for (int i = 0; i < 3; i++) {
        rg_strbuf_printf(&env, "{\"topic\":\"riskgate.events\",\"partition\":0,\"offset\":%d,\"tstype\":\"create\","
                               "\"ts\":1700000000000,\"broker\":1,%s\"payload\":", i,
                         i == 1 ? "\"key\":null,\"headers\":[\"h\",\"v\"]," : "\"key\":\"u-1\",");
        rg_strbuf_put_json_str(&env, evs[i], strlen(evs[i]));
        rg_strbuf_puts(&env, "}\n");
    }
    const char *p = path_of("plain2.jsonl"), *e = path_of("env.jsonl");
    write_file(p, EV1 "\n" EV2 "\n" EV3 "\n", strlen(EV1 "\n" EV2 "\n" EV3 "\n"));
    write_file(e, env.data, env.len);
    rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT;
    rg_capture_stats st;
    read_all(&p, 1, &a, NULL);
    read_all(&e, 1, &b, &st);
    assert_string_equal(a.data, b.data);
    assert_int_equal(st.envelopes, 3);

    /* bad envelopes, and a bad event inside a good envelope */
    const char bad[] =
        "{\"topic\":\"t\",\"partition\":0,\"offset\":1,\"key\":null,\"payload\":null}\n"
        "{\"topic\":\"t\",\"partition\":0,\"offset\":2,\"key\":\"k\"}\n"
        "{\"topic\":\"t\",\"partition\":0,\"offset\":3,\"payload\":{\"event_id\":\"e\"}}\n"
        "{\"topic\":\"t\",\"partition\":0,\"offset\":4,\"payload\":\"{\\\"event_id\\\":\\\"e\\\",\\\"amount\\\":-5}\"}\n"
        "{\"event_id\":\"e-9\",\"type\":\"login\",\"ts\":1,\"account\":\"a\",\"topic\":\"t\",\"partition\":0,\"offset\":0}\n";
    const char *bp = path_of("badenv.jsonl");
    write_file(bp, bad, sizeof bad - 1);
    rg_capture *c = rg_capture_new(&bp, 1);
    rg_capture_item it;
    char err[256];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_REJECT);
        assert_int_equal(it.reject.kind, RG_REJ_BAD_ENVELOPE);
        assert_string_equal(it.reject.field, "payload");
        assert_int_equal(it.raw[0], '{'); /* the whole line */
        assert_non_null(strstr(it.raw, "\"topic\""));
    }
    assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_REJECT);
    assert_int_equal(it.reject.kind, RG_REJ_MISSING_FIELD); /* type: checked before amount */
    assert_int_equal(it.raw_len, strlen("{\"event_id\":\"e\",\"amount\":-5}"));
    assert_memory_equal(it.raw, "{\"event_id\":\"e\",\"amount\":-5}", it.raw_len); /* the payload */
    assert_non_null(strstr(it.source, "badenv.jsonl:4"));
    assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_EVENT); /* an event with extra keys */
    assert_string_equal(it.event.event_id, "e-9");
    assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_END);
    assert_int_equal(rg_capture_get_stats(c)->envelopes, 4);
    rg_capture_free(c);
    rg_strbuf_free(&a);
    rg_strbuf_free(&b);
    rg_strbuf_free(&env);
}

static void test_long_line_resync(void **state)
{
    (void)state;
    size_t big = 3 << 20;
    size_t len = big + 2 + strlen(EV1) + 1;
    char *data = malloc(len);
    assert_non_null(data);
    data[0] = '{';
    memset(data + 1, 'x', big - 1);
    memcpy(data + big, "\r\n", 2);
    memcpy(data + big + 2, EV1 "\n", strlen(EV1) + 1);
    const char *p = path_of("long.jsonl"), *g = path_of("long.jsonl.gz");
    write_file(p, data, len);
    write_gz(g, "wb", data, len);
    const char *both[] = {p, g};
    rg_capture *c = rg_capture_new(both, 2);
    rg_capture_item it;
    char err[256];
    for (int f = 0; f < 2; f++) {
        assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_REJECT);
        assert_int_equal(it.reject.kind, RG_REJ_LINE_TOO_LONG);
        assert_null(it.reject.field);
        assert_true(it.raw_len >= big);
        assert_memory_equal(it.raw, data, RG_REJECT_RAW_MAX);
        assert_non_null(strstr(it.reject.error, "over the limit"));
        assert_non_null(strstr(it.source, f ? "long.jsonl.gz:1" : "long.jsonl:1"));
        rg_strbuf rec = RG_STRBUF_INIT;
        rg_reject_write_json(&it.reject, it.source, it.raw, it.raw_len, &rec);
        assert_true(rec.len < RG_REJECT_RAW_MAX + 1024);
        rg_strbuf_free(&rec);
        assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_EVENT);
        assert_string_equal(it.event.event_id, "e-1");
        assert_non_null(strstr(it.source, f ? "long.jsonl.gz:2" : "long.jsonl:2"));
    }
    assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_END);
    uint64_t done, total;
    rg_capture_progress(c, &done, &total);
    assert_true(total > 0);
    assert_int_equal(done, total);
    rg_capture_free(c);
    free(data);

    /* A line just over the limit that ends in CR LF: its length counts
     * the CR, read whole from a plain file's chunk or through zlib (the
     * CR is stripped only from lines that are not over the limit). */
    size_t over = RG_CAPTURE_MAX_LINE + 10;
    char *cr = malloc(over + 2 + strlen(EV1) + 1);
    assert_non_null(cr);
    memset(cr, 'x', over);
    cr[0] = '{';
    memcpy(cr + over, "\r\n", 2);
    memcpy(cr + over + 2, EV1 "\n", strlen(EV1) + 1);
    const char *cp = path_of("cr.jsonl"), *cg = path_of("cr.jsonl.gz");
    write_file(cp, cr, over + 2 + strlen(EV1) + 1);
    write_gz(cg, "wb", cr, over + 2 + strlen(EV1) + 1);
    free(cr);
    const char *crs[] = {cp, cg};
    c = rg_capture_new(crs, 2);
    char want[64];
    snprintf(want, sizeof want, "line of %zu bytes", over + 1);
    for (int f = 0; f < 2; f++) {
        assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_REJECT);
        assert_int_equal(it.reject.kind, RG_REJ_LINE_TOO_LONG);
        assert_non_null(strstr(it.reject.error, want));
        assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_EVENT);
    }
    assert_int_equal(rg_capture_next(c, &it, err, sizeof err), RG_CAPTURE_END);
    rg_capture_free(c);

    /* exactly the limit is accepted as a line (and then refused as JSON) */
    char *edge = malloc(RG_CAPTURE_MAX_LINE + 1);
    memset(edge, ' ', RG_CAPTURE_MAX_LINE);
    memcpy(edge, "[1]", 3);
    edge[RG_CAPTURE_MAX_LINE] = '\n';
    const char *e = path_of("edge.jsonl");
    write_file(e, edge, RG_CAPTURE_MAX_LINE + 1);
    free(edge);
    rg_strbuf out = RG_STRBUF_INIT;
    read_all(&e, 1, &out, NULL);
    assert_non_null(strstr(out.data, "R not_object"));
    rg_strbuf_free(&out);
}

static void test_errors(void **state)
{
    (void)state;
    const char *ok = path_of("ok.jsonl"), *missing = path_of("missing.jsonl");
    write_file(ok, EV1 "\n", strlen(EV1) + 1);
    const char *two[] = {ok, missing};
    rg_strbuf out = RG_STRBUF_INIT;
    read_all(two, 2, &out, NULL);
    /* the first file is read before the missing one is reported */
    assert_non_null(strstr(out.data, "E e-1"));
    assert_non_null(strstr(out.data, "X "));
    assert_non_null(strstr(out.data, "missing.jsonl"));
    assert_non_null(strstr(out.data, "No such file"));

    /* a corrupt gzip member, and a truncated one */
    unsigned char gzbad[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 0xff, 0xff};
    const char *bad = path_of("bad.gz");
    write_file(bad, gzbad, sizeof gzbad);
    rg_strbuf_reset(&out);
    read_all(&bad, 1, &out, NULL);
    assert_non_null(strstr(out.data, "X "));
    assert_non_null(strstr(out.data, "bad.gz"));

    const char *full = path_of("full.gz"), *cut = path_of("cut.gz");
    write_gz(full, "wb", plain, sizeof plain - 1);
    FILE *f = fopen(full, "rb");
    unsigned char buf[4096];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_file(cut, buf, n - 10);
    rg_strbuf_reset(&out);
    read_all(&cut, 1, &out, NULL);
    assert_non_null(strstr(out.data, "X "));
    assert_non_null(strstr(out.data, "cut.gz"));

    rg_strbuf_reset(&out);
    read_all((const char *[]){dir}, 1, &out, NULL);
    assert_non_null(strstr(out.data, "X "));
    assert_non_null(strstr(out.data, "directory"));
    rg_strbuf_free(&out);

    /* no files: the end at once */
    rg_capture *c = rg_capture_new(NULL, 0);
    rg_capture_item it;
    assert_int_equal(rg_capture_next(c, &it, NULL, 0), RG_CAPTURE_END);
    rg_capture_free(c);
}

static void test_rejects_have_sources(void **state)
{
    (void)state;
    const char data[] = "not json\n\n{\"event_id\":\"x\",\"type\":\"login\",\"ts\":0,\"account\":\"\xff\"}\n" EV2;
    const char *p = path_of("mixed.jsonl");
    write_file(p, data, sizeof data - 1);
    rg_strbuf out = RG_STRBUF_INIT;
    read_all(&p, 1, &out, NULL);
    char expect[1024];
    snprintf(expect, sizeof expect, "R invalid_json - %s/mixed.jsonl:1|R invalid_utf8 account %s/mixed.jsonl:3|E e-2", dir, dir);
    assert_non_null(strstr(out.data, expect));
    rg_strbuf_free(&out);
}

/* Events with every string field and a package list, escapes decoded:
 * the line-by-line read (read_all) must copy each of them whole. */
static void test_every_field_copied(void **state)
{
    (void)state;
    const char data[] =
        "{\"event_id\":\"e-\\u00e9-1\",\"type\":\"account_open\",\"account\":\"a\\\"b\",\"region\":\"CN\","
        "\"device_id\":\"d-1\",\"ts\":1795305600000}\n"
        "{\"event_id\":\"e-2\",\"type\":\"transfer\",\"account\":\"a\",\"counterparty\":\"c\\/d\",\"amount\":5,"
        "\"currency\":\"USD\",\"mode\":\"delay_2h\",\"ip\":\"2001:db8::1\",\"device_id\":\"d-2\","
        "\"client\":{\"automation\":true,\"hooked\":false,\"packages\":[\"com.a\",\"com.\\u4e2d\",\"x\"]},"
        "\"ts\":1795305600001}\n"
        "{\"event_id\":\"e-3\",\"type\":\"red_packet_send\",\"account\":\"a\",\"packet_id\":\"p-1\",\"amount\":9,"
        "\"shares\":3,\"kind\":\"group\",\"target\":\"g-7\",\"ts\":1795305600002}\n"
        "{\"event_id\":\"e-4\",\"type\":\"complaint\",\"account\":\"c\",\"ref\":\"e-2\",\"reason\":\"mistake\","
        "\"client\":{\"packages\":[]},\"ts\":1795305600003}\n";
    const char *p = path_of("fields.jsonl");
    write_file(p, data, sizeof data - 1);
    rg_strbuf out = RG_STRBUF_INIT;
    read_all(&p, 1, &out, NULL);
    assert_null(strstr(out.data, "R "));   /* all four are events */
    assert_non_null(strstr(out.data, "E e-\xc3\xa9-1 account_open"));
    rg_strbuf_free(&out);
}

/* Held lines (rg_capture_hold) keep their bytes and source while the
 * reader goes on through chunk changes, lines that straddle reads, an
 * over-long line and the next file, plain and gzip: at every step the
 * held ones (up to RG_CAPTURE_MAX_HELD, released oldest first) still read
 * as written. */
static void test_held_lines_stay(void **state)
{
    (void)state;
    enum { LINES = 3000 };
    rg_strbuf text = {0};
    size_t *lens = calloc(LINES, sizeof *lens);
    assert_non_null(lens);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < LINES; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* mostly short lines, some of 100 KB to 400 KB (chunks are 256 KiB), one over the limit */
        size_t len = i == 1500 ? RG_CAPTURE_MAX_LINE + 10 : x % 50 == 0 ? 100000 + x % 300000 : 1 + x % 300;
        lens[i] = len;
        for (size_t k = 0; k < len; k++)
            rg_strbuf_putc(&text, (char)('a' + (i + k) % 26));
        rg_strbuf_putc(&text, '\n');
    }
    assert_true(rg_strbuf_ok(&text));
    const char *plain_path = path_of("held.jsonl"), *gz_path = path_of("held.jsonl.gz");
    write_file(plain_path, text.data, text.len);
    write_gz(gz_path, "wb", text.data, text.len);
    const char *paths[] = {plain_path, gz_path};
    rg_capture *c = rg_capture_new(paths, 2);
    assert_non_null(c);
    struct { const char *raw, *source; size_t len, line; char want_source[320]; } held[RG_CAPTURE_MAX_HELD];
    size_t n_held = 0, first = 0, lines_read = 0;
    rg_capture_item it;
    char err[256];
    rg_capture_status st;
    while ((st = rg_capture_next_line(c, &it, err, sizeof err)) != RG_CAPTURE_END) {
        assert_int_not_equal(st, RG_CAPTURE_ERROR);
        size_t line = lines_read++ % LINES;
        if (st == RG_CAPTURE_REJECT) {
            assert_int_equal(line, 1500);
            continue;
        }
        assert_int_equal(it.raw_len, lens[line]);
        if (n_held == RG_CAPTURE_MAX_HELD || (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x % 3 == 0)) {
            if (n_held) {
                rg_capture_release(c);
                first = (first + 1) % RG_CAPTURE_MAX_HELD;
                n_held--;
            }
        }
        assert_true(rg_capture_hold(c));
        size_t h = (first + n_held++) % RG_CAPTURE_MAX_HELD;
        held[h].raw = it.raw;
        held[h].source = it.source;
        held[h].len = it.raw_len;
        held[h].line = line;
        snprintf(held[h].want_source, sizeof held[h].want_source, "%s", it.source);
        for (size_t j = 0; j < n_held; j++) {
            size_t k = (first + j) % RG_CAPTURE_MAX_HELD;
            for (size_t b = 0; b < held[k].len; b += 1 + held[k].len / 64)
                if (held[k].raw[b] != (char)('a' + (held[k].line + b) % 26))
                    fail_msg("held line %zu changed at byte %zu", held[k].line + 1, b);
            assert_string_equal(held[k].source, held[k].want_source);
        }
    }
    assert_int_equal(lines_read, 2 * LINES);
    rg_capture_free(c);
    free(lens);
    rg_strbuf_free(&text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_gz_concat_same),
        cmocka_unit_test(test_envelopes),
        cmocka_unit_test(test_long_line_resync),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_rejects_have_sources),
        cmocka_unit_test(test_every_field_copied),
        cmocka_unit_test(test_held_lines_stay),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
