/*
 * bench_parse FILE... — what the event contract costs against a plain
 * JSON parse. Owned by the ingest layer.
 *
 * Reads the capture(s) (plain or .gz) into memory once, then times, in the
 * same run over the same lines: (a) jansson json_loadb + json_decref of
 * every line (the floor any JSON-based reader pays), (b) rg_event_parse of
 * every line (syntax + the whole contract), (c) the whole rg_capture path
 * from the files (decompression, line splitting, envelopes, parsing).
 * Prints lines, seconds and events/s for each and the ratios; replay must
 * run at >= 0.75x of (a), so (c) / (a) is the figure to watch.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/capture.h"
#include "ingest/event_parse.h"
#include "lines.h"

static void report(const char *what, size_t n, double secs, double base)
{
    printf("%-34s %9zu lines %8.3f s %12.0f lines/s", what, n, secs, secs > 0 ? (double)n / secs : 0);
    if (base > 0)
        printf("   %.2fx jansson", base / secs);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_parse FILE...   (JSON Lines, .gz, kcat -J envelopes)\n");
        return 2;
    }
    bench_lines L = {0};
    for (int i = 1; i < argc; i++)
        if (bench_lines_load(&L, argv[i]) != 0)
            return 1;

    /* (a) jansson: parse and free every line. */
    size_t ok_a = 0;
    double t0 = bench_now();
    for (size_t i = 0; i < L.n; i++) {
        json_error_t err;
        json_t *j = json_loadb(L.data + L.off[i], L.line_len[i], JSON_REJECT_DUPLICATES, &err);
        if (j) {
            ok_a++;
            json_decref(j);
        }
    }
    double t_a = bench_now() - t0;

    /* (b) the event contract on the same lines. */
    rg_event_parser *p = rg_event_parser_new();
    if (!p)
        return 1;
    size_t ok_b = 0;
    rg_event ev;
    rg_reject rej;
    t0 = bench_now();
    for (size_t i = 0; i < L.n; i++)
        if (rg_event_parse(p, L.data + L.off[i], L.line_len[i], &ev, &rej) == 0)
            ok_b++;
    double t_b = bench_now() - t0;
    rg_event_parser_free(p);

    /* (c) the whole capture path, from the files. */
    rg_capture *c = rg_capture_new((const char *const *)argv + 1, (size_t)argc - 1);
    if (!c)
        return 1;
    size_t ok_c = 0, rej_c = 0;
    rg_capture_item item;
    char errstr[512];
    rg_capture_status st;
    t0 = bench_now();
    while ((st = rg_capture_next(c, &item, errstr, sizeof errstr)) != RG_CAPTURE_END) {
        if (st == RG_CAPTURE_ERROR) {
            fprintf(stderr, "bench_parse: %s\n", errstr);
            return 1;
        }
        if (st == RG_CAPTURE_EVENT)
            ok_c++;
        else
            rej_c++;
    }
    double t_c = bench_now() - t0;
    rg_capture_free(c);

    printf("%zu lines, %zu bytes\n", L.n, L.len);
    report("(a) jansson json_loadb+decref", L.n, t_a, 0);
    report("(b) rg_event_parse", L.n, t_b, t_a);
    report("(c) rg_capture (read+gunzip+parse)", ok_c + rej_c, t_c, t_a);
    printf("valid JSON (jansson): %zu; events (rg_event_parse): %zu; events/rejects (rg_capture): %zu/%zu\n",
           ok_a, ok_b, ok_c, rej_c);
    printf("ratio parse/jansson %.2fx, capture/jansson %.2fx\n", t_a / t_b, t_a / t_c);
    bench_lines_free(&L);
    return 0;
}
