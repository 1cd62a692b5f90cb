/* lines — a capture in memory for the benchmarks; see lines.h. */
#include "lines.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int reserve(bench_lines *L, size_t more)
{
    if (L->cap - L->len >= more + BENCH_LINES_PADDING)
        return 0;
    size_t cap = L->cap ? L->cap : (size_t)1 << 20;
    while (cap - L->len < more + BENCH_LINES_PADDING)
        cap *= 2;
    char *d = realloc(L->data, cap);
    if (!d)
        return -1;
    L->data = d;
    L->cap = cap;
    return 0;
}

static int add_line(bench_lines *L, size_t start, size_t len)
{
    if (L->n == L->n_cap) {
        size_t cap = L->n_cap ? L->n_cap * 2 : 4096;
        size_t *o = realloc(L->off, cap * sizeof *o);
        if (!o)
            return -1;
        L->off = o;
        size_t *l = realloc(L->line_len, cap * sizeof *l);
        if (!l)
            return -1;
        L->line_len = l;
        L->n_cap = cap;
    }
    L->off[L->n] = start;
    L->line_len[L->n++] = len;
    return 0;
}

int bench_lines_load(bench_lines *L, const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    size_t first = L->len;
    for (;;) {
        if (reserve(L, 1 << 20) != 0) {
            fprintf(stderr, "%s: out of memory\n", path);
            gzclose(gz);
            return -1;
        }
        int n = gzread(gz, L->data + L->len, 1 << 20);
        if (n < 0) {
            int e;
            fprintf(stderr, "%s: %s\n", path, gzerror(gz, &e));
            gzclose(gz);
            return -1;
        }
        if (n == 0)
            break;
        L->len += (size_t)n;
    }
    gzclose(gz);
    memset(L->data + L->len, 0, BENCH_LINES_PADDING);
    for (size_t start = first; start < L->len;) {
        char *nl = memchr(L->data + start, '\n', L->len - start);
        size_t end = nl ? (size_t)(nl - L->data) : L->len, len = end - start;
        if (len && L->data[start + len - 1] == '\r')
            len--;
        size_t k = 0;
        while (k < len && strchr(" \t\r", L->data[start + k]))
            k++;
        if (k < len && add_line(L, start, len) != 0) {
            fprintf(stderr, "%s: out of memory\n", path);
            return -1;
        }
        start = end + 1;
    }
    return 0;
}

void bench_lines_free(bench_lines *L)
{
    free(L->data);
    free(L->off);
    free(L->line_len);
    memset(L, 0, sizeof *L);
}
