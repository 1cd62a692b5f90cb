/*
 * floor_simdjson — the other parse-only floor (issue 16): simdjson's DOM
 * parser over every line of the capture, nothing else. The one C++ file
 * of the project: it lives in bench/ and links nothing of riskgate's but
 * bench/lines.c. simdjson validates the whole document (UTF-8, syntax)
 * and builds its tape, so it does at least the work of a JSON reader;
 * it checks no event contract and keeps no string.
 *
 *   floor_simdjson [--rounds N] CAPTURE...
 *
 * One line per round: "floor=simdjson lines=L parsed=P seconds=S".
 */
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lines.h"

static_assert(BENCH_LINES_PADDING >= simdjson::SIMDJSON_PADDING, "bench_lines pads less than simdjson reads");

int main(int argc, char **argv)
{
    int rounds = 1, first = 1;
    if (argc > 2 && std::strcmp(argv[1], "--rounds") == 0) {
        rounds = std::atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || rounds < 1) {
        std::fprintf(stderr, "usage: floor_simdjson [--rounds N] CAPTURE...\n");
        return 2;
    }
    bench_lines L = {};
    for (int i = first; i < argc; i++)
        if (bench_lines_load(&L, argv[i]) != 0)
            return 1;
    simdjson::dom::parser parser;
    for (int r = 0; r < rounds; r++) {
        size_t ok = 0;
        double t0 = bench_now();
        for (size_t i = 0; i < L.n; i++) {
            /* The bytes after each line are readable (the next lines, then
             * the zero padding): no copy (realloc_if_needed false). */
            simdjson::dom::element doc;
            if (!parser.parse(L.data + L.off[i], L.line_len[i], false).get(doc))
                ok++;
        }
        double t = bench_now() - t0;
        std::printf("floor=simdjson lines=%zu parsed=%zu bytes=%zu seconds=%.4f\n", L.n, ok, L.len, t);
    }
    bench_lines_free(&L);
    return 0;
}
