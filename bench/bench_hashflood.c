/*
 * bench_hashflood — strmap lookups under hash flooding (issue 12.6).
 *
 *   bench_hashflood [--flood N] [--many N]
 *
 * Three figures, each the best of 3 rounds, for each table function
 * (hash.h: AES rounds on a CPU with AES-NI, then SipHash-1-3, the
 * fallback):
 *   hash          ns per rg_hash_bytes of an 11-byte id, beside the
 *                 table hash used before issue 12.6 (rg_old_table_hash);
 *   many ids      N ordinary ids ("acct0000042", default 1,000,000):
 *                 ns per insert and per lookup;
 *   flood ids     N ids crafted to share one hash under the old table
 *                 hash (common/hash_flood.h, default 20,000): ns per
 *                 insert and per lookup. With the old hash each walked
 *                 every id before it (O(N) per lookup); with a keyed
 *                 one they cost what ordinary ids cost.
 * docs/state.md, "Hash flooding", has the figures, and how the old
 * table's were taken.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/hash.h"
#include "common/hash_flood.h"
#include "common/strmap.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct ids {
    unsigned char *bytes;
    size_t len, n;
} ids;

static ids make_ids(size_t n, bool flood)
{
    ids s = {malloc(n * RG_FLOOD_ID_LEN), flood ? RG_FLOOD_ID_LEN : 11, n};
    if (!s.bytes) {
        fprintf(stderr, "bench_hashflood: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char *id = s.bytes + i * RG_FLOOD_ID_LEN;
        if (flood) {
            rg_flood_id((uint32_t)i, 0x5eed5eedu, id);
        } else {
            char text[16];
            snprintf(text, sizeof text, "acct%07zu", i % 10000000);
            memcpy(id, text, 11);
        }
    }
    return s;
}

/* Best-of-3 ns per insert and per lookup of every id. */
static void time_map(const ids *s, double *insert_ns, double *lookup_ns)
{
    *insert_ns = *lookup_ns = 1e18;
    for (int round = 0; round < 3; round++) {
        rg_strmap *m = rg_strmap_new(sizeof(uint64_t));
        double t0 = now();
        for (size_t i = 0; i < s->n; i++) {
            uint64_t *v = rg_strmap_put(m, (const char *)s->bytes + i * RG_FLOOD_ID_LEN, s->len, NULL);
            if (!v) {
                fprintf(stderr, "bench_hashflood: out of memory\n");
                exit(1);
            }
            *v = i;
        }
        double t1 = now();
        size_t found = 0;
        for (size_t i = 0; i < s->n; i++)
            found += rg_strmap_get(m, (const char *)s->bytes + i * RG_FLOOD_ID_LEN, s->len) != NULL;
        double t2 = now();
        if (found != s->n) {
            fprintf(stderr, "bench_hashflood: %zu of %zu ids found\n", found, s->n);
            exit(1);
        }
        rg_strmap_free(m, NULL);
        double ins = (t1 - t0) * 1e9 / (double)s->n, look = (t2 - t1) * 1e9 / (double)s->n;
        *insert_ns = ins < *insert_ns ? ins : *insert_ns;
        *lookup_ns = look < *lookup_ns ? look : *lookup_ns;
    }
}

static double time_hash(uint64_t (*fn)(const void *, size_t), const ids *s, uint64_t *sink)
{
    double best = 1e18;
    for (int round = 0; round < 3; round++) {
        double t0 = now();
        for (size_t i = 0; i < s->n; i++)
            *sink += fn(s->bytes + i * RG_FLOOD_ID_LEN, s->len);
        double ns = (now() - t0) * 1e9 / (double)s->n;
        best = ns < best ? ns : best;
    }
    return best;
}

static uint64_t old_hash(const void *p, size_t n) { return rg_old_table_hash(p, n); }

int main(int argc, char **argv)
{
    size_t n_flood = 20000, n_many = 1000000;
    static const struct option opts[] = {
        {"flood", required_argument, NULL, 'f'}, {"many", required_argument, NULL, 'm'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "f:m:", opts, NULL)) != -1) {
        if (c == 'f')
            n_flood = strtoul(optarg, NULL, 10);
        else if (c == 'm')
            n_many = strtoul(optarg, NULL, 10);
        else
            return 2;
    }
    if (!n_flood || !n_many || n_flood > 1000000) {
        fprintf(stderr, "usage: bench_hashflood [--flood N (1..1000000)] [--many N]\n");
        return 2;
    }
    ids many = make_ids(n_many, false), flood = make_ids(n_flood, true);
    uint64_t sink = 0;
    /* The table function the program uses (AES rounds on a CPU with
     * AES-NI), then SipHash-1-3, its fallback: no map lives across the
     * switch (hash.h). */
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            if (!rg_hash_aes)
                break;   /* SipHash was the one in use */
            rg_hash_use_aes(false);
        }
        const char *fn = rg_hash_table_function();
        double keyed = time_hash(rg_hash_bytes, &many, &sink), old = time_hash(old_hash, &many, &sink);
        printf("%-11s hash        %.1f ns per 11-byte id (rg_hash_bytes); the old table hash %.1f ns\n", fn, keyed,
               old);
        double ins, look;
        time_map(&many, &ins, &look);
        printf("%-11s many ids    %zu ordinary ids: %.0f ns per insert, %.0f ns per lookup\n", fn, n_many, ins, look);
        time_map(&flood, &ins, &look);
        printf("%-11s flood ids   %zu ids with one old-hash value: %.0f ns per insert, %.0f ns per lookup\n", fn,
               n_flood, ins, look);
    }
    return sink == 42 ? 3 : 0;   /* keeps the hashing loops */
}
