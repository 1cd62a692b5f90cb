/*
 * bench_floor — the parse-only floor riskgate's replay is compared with
 * (issue 16): jansson's json_loadb + json_decref of every line of the
 * capture, nothing else. bench/floor_simdjson.cpp is the same with
 * simdjson; bench/run.sh runs both beside `riskgate replay` and prints
 * the ratios.
 *
 *   bench_floor [--rounds N] [--reject-duplicates] CAPTURE...
 *
 * The capture is read into memory first (bench/lines.h), so only the
 * parse is timed. One line per round: "floor=jansson lines=L parsed=P
 * seconds=S". Flags 0 by default (a bare parse, the lower floor);
 * --reject-duplicates adds the duplicate-key check riskgate's reader
 * also makes (jansson is slower with it).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "lines.h"

int main(int argc, char **argv)
{
    int rounds = 1, c;
    size_t flags = 0;
    static const struct option opts[] = {{"rounds", required_argument, NULL, 'n'},
                                         {"reject-duplicates", no_argument, NULL, 'd'},
                                         {NULL, 0, NULL, 0}};
    while ((c = getopt_long(argc, argv, "n:d", opts, NULL)) != -1) {
        if (c == 'n')
            rounds = atoi(optarg);
        else if (c == 'd')
            flags = JSON_REJECT_DUPLICATES;
        else
            return 2;
    }
    if (optind >= argc || rounds < 1) {
        fprintf(stderr, "usage: bench_floor [--rounds N] [--reject-duplicates] CAPTURE...\n");
        return 2;
    }
    bench_lines L = {0};
    for (int i = optind; i < argc; i++)
        if (bench_lines_load(&L, argv[i]) != 0)
            return 1;
    for (int r = 0; r < rounds; r++) {
        size_t ok = 0;
        double t0 = bench_now();
        for (size_t i = 0; i < L.n; i++) {
            json_error_t err;
            json_t *j = json_loadb(L.data + L.off[i], L.line_len[i], flags, &err);
            if (j) {
                ok++;
                json_decref(j);
            }
        }
        double t = bench_now() - t0;
        printf("floor=jansson%s lines=%zu parsed=%zu bytes=%zu seconds=%.4f\n", flags ? "-dup" : "", L.n, ok, L.len, t);
    }
    bench_lines_free(&L);
    return 0;
}
