/*
 * lines — a capture held in memory for the benchmarks (bench/ only).
 *
 * Reads files (plain or gzip, by zlib's magic-byte sniffing) whole into
 * one buffer and indexes their non-blank lines, so that a timed pass
 * measures parsing alone, not the disk or zlib. The buffer ends with
 * BENCH_LINES_PADDING zero bytes after the last line: simdjson reads up
 * to that far past a document (its SIMDJSON_PADDING), and every line but
 * the last is followed by the rest of the file anyway.
 *
 * Usable from C and C++ (bench/floor_simdjson.cpp).
 */
#ifndef RG_BENCH_LINES_H
#define RG_BENCH_LINES_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_LINES_PADDING 64

typedef struct bench_lines {
    char *data;      /* every file's bytes, then the padding */
    size_t len;      /* bytes read (the padding excluded) */
    size_t cap;
    size_t *off;     /* line i: data[off[i] .. off[i] + line_len[i]) */
    size_t *line_len;
    size_t n;        /* non-blank lines ("\r" before "\n" excluded from the length) */
    size_t n_cap;
} bench_lines;

/* Append path's bytes (plain or gzip) and index the lines. 0, or -1 with
 * a message on stderr. Lines do not span files. */
int bench_lines_load(bench_lines *L, const char *path);
void bench_lines_free(bench_lines *L);

/* Monotonic seconds. */
double bench_now(void);

/* The median of n values (sorts v in place); 0 for n == 0. */
double bench_median(double *v, size_t n);

#ifdef __cplusplus
}
#endif

#endif
