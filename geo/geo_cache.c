/*
 * geo_cache — rg_geo_lookup answers by address; see geo_cache.h. Owner:
 * the GeoIP module.
 *
 * Keys and answers are two arrays, so the probe of a set reads one short
 * run of keys (4 x 20 bytes) and only a hit touches its answer.
 */
#include "geo/geo_cache.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef struct cache_key {
    unsigned char addr[16];   /* AF_INET: 4 bytes, the rest zero */
    uint8_t family;           /* 0: empty way */
    uint8_t pad[3];
} cache_key;

struct rg_geo_cache {
    const rg_geo *geo;
    cache_key *keys;          /* [SETS][WAYS]; NULL until the first lookup */
    rg_geo_result *answers;   /* [SETS][WAYS] */
    uint8_t *victim;          /* [SETS]: the way the next miss replaces */
    bool no_table;            /* allocation failed: ask the databases */
    uint64_t hits, misses;
};

rg_geo_cache *rg_geo_cache_new(const rg_geo *g)
{
    rg_geo_cache *c = calloc(1, sizeof *c);
    if (c)
        c->geo = g;
    return c;
}

void rg_geo_cache_free(rg_geo_cache *c)
{
    if (!c)
        return;
    free(c->keys);
    free(c->answers);
    free(c->victim);
    free(c);
}

static bool make_table(rg_geo_cache *c)
{
    size_t n = (size_t)RG_GEO_CACHE_SETS * RG_GEO_CACHE_WAYS;
    c->keys = calloc(n, sizeof *c->keys);
    c->answers = malloc(n * sizeof *c->answers);
    c->victim = calloc(RG_GEO_CACHE_SETS, 1);
    if (c->keys && c->answers && c->victim)
        return true;
    free(c->keys);
    free(c->answers);
    free(c->victim);
    c->keys = NULL;
    c->answers = NULL;
    c->victim = NULL;
    c->no_table = true;
    return false;
}

/* A set for the address: not keyed, and it need not be (geo_cache.h: a
 * set never chains, so colliding addresses cost at most a miss each). */
static size_t set_of(const cache_key *k)
{
    uint64_t a, b;
    memcpy(&a, k->addr, 8);
    memcpy(&b, k->addr + 8, 8);
    uint64_t h = (a ^ (uint64_t)k->family) * UINT64_C(0x9E3779B97F4A7C15) ^ b * UINT64_C(0xC2B2AE3D27D4EB4F);
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (size_t)(h >> 32) & (RG_GEO_CACHE_SETS - 1);
}

/* The cache key of an address. */
static cache_key key_of(int family, const unsigned char *addr)
{
    cache_key k;
    memset(&k, 0, sizeof k);
    memcpy(k.addr, addr, family == AF_INET ? 4 : 16);
    k.family = (uint8_t)family;
    return k;
}

void rg_geo_cache_prefetch(const rg_geo_cache *c, int family, const unsigned char *addr)
{
    if (!c || !c->keys || !addr || (family != AF_INET && family != AF_INET6))
        return;
    cache_key k = key_of(family, addr);
    const cache_key *first = &c->keys[set_of(&k) * RG_GEO_CACHE_WAYS];
    __builtin_prefetch(first);
    __builtin_prefetch(first + RG_GEO_CACHE_WAYS - 1);
}

int rg_geo_cache_lookup(rg_geo_cache *c, int family, const unsigned char *addr, rg_geo_result *out)
{
    if (!c)
        return -1;
    if (!c->geo || !addr || (family != AF_INET && family != AF_INET6) || (!c->keys && (c->no_table || !make_table(c))))
        return rg_geo_lookup(c->geo, family, addr, out);
    cache_key k = key_of(family, addr);
    size_t set = set_of(&k), first = set * RG_GEO_CACHE_WAYS;
    for (size_t w = 0; w < RG_GEO_CACHE_WAYS; w++) {
        if (memcmp(&c->keys[first + w], &k, sizeof k) == 0) {
            c->hits++;
            *out = c->answers[first + w];
            return 0;
        }
    }
    c->misses++;
    int rc = rg_geo_lookup(c->geo, family, addr, out);
    if (rc != 0)
        return rc;   /* a database error: not cached, so it is counted each time */
    size_t way = first + c->victim[set];
    c->victim[set] = (uint8_t)((c->victim[set] + 1) % RG_GEO_CACHE_WAYS);
    c->keys[way] = k;
    c->answers[way] = *out;
    return 0;
}

void rg_geo_cache_counts(const rg_geo_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}
