/*
 * geo_cache — rg_geo_lookup answers by address; see geo_cache.h. Owner:
 * the GeoIP module.
 *
 * Two tables of the same shape (RG_GEO_CACHE_SETS sets of
 * RG_GEO_CACHE_WAYS ways, a miss replacing a set's ways in turn):
 *   by address: the answer an address got (found or not);
 *   by record:  the decoded data record a tree walk led to, so a new
 *               address of a known network (a city's many networks share
 *               one record) costs a tree walk, not a decoding.
 * Keys and answers are separate arrays, so the probe of a set reads one
 * short run of keys and only a hit touches its answer. An answer is the
 * compact form of rg_geo_result without the city name (32 bytes instead
 * of 96): the engine's names never read it.
 */
#include "geo/geo_cache.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An address: AF_INET's 4 bytes in lo (hi 0), AF_INET6's 16 in both. */
typedef struct addr_key {
    uint64_t hi, lo;
    uint32_t family;   /* 0: empty way */
    uint32_t pad;
} addr_key;

/* What rg_geo_result says, but the city. */
typedef struct answer {
    double lat, lon;
    int32_t accuracy_km;
    char country[3];
    bool found;
    bool city_level;
} answer;

struct rg_geo_cache {
    const rg_geo *geo;
    addr_key *keys;           /* [SETS][WAYS]; NULL until the first lookup */
    answer *answers;          /* [SETS][WAYS] */
    uint8_t *victim;          /* [SETS]: the way the next miss replaces */
    uint64_t *record_keys;    /* [SETS][WAYS]: (db + 1) << 32 | offset; 0 empty */
    answer *records;          /* [SETS][WAYS] */
    uint8_t *record_victim;   /* [SETS] */
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

static void drop_tables(rg_geo_cache *c)
{
    free(c->keys);
    free(c->answers);
    free(c->victim);
    free(c->record_keys);
    free(c->records);
    free(c->record_victim);
    c->keys = NULL;
    c->answers = NULL;
    c->victim = NULL;
    c->record_keys = NULL;
    c->records = NULL;
    c->record_victim = NULL;
}

void rg_geo_cache_free(rg_geo_cache *c)
{
    if (!c)
        return;
    drop_tables(c);
    free(c);
}

static bool make_table(rg_geo_cache *c)
{
    size_t n = (size_t)RG_GEO_CACHE_SETS * RG_GEO_CACHE_WAYS;
    c->keys = calloc(n, sizeof *c->keys);
    c->answers = malloc(n * sizeof *c->answers);
    c->victim = calloc(RG_GEO_CACHE_SETS, 1);
    c->record_keys = calloc(n, sizeof *c->record_keys);
    c->records = malloc(n * sizeof *c->records);
    c->record_victim = calloc(RG_GEO_CACHE_SETS, 1);
    if (c->keys && c->answers && c->victim && c->record_keys && c->records && c->record_victim)
        return true;
    drop_tables(c);
    c->no_table = true;
    return false;
}

static size_t mix_to_set(uint64_t h)
{
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (size_t)(h >> 32) & (RG_GEO_CACHE_SETS - 1);
}

/* A set for the address: not keyed, and it need not be (geo_cache.h: a
 * set never chains, so colliding addresses cost at most a miss each). */
static size_t set_of(const addr_key *k)
{
    return mix_to_set((k->lo ^ k->family) * UINT64_C(0x9E3779B97F4A7C15) ^ k->hi * UINT64_C(0xC2B2AE3D27D4EB4F));
}

static size_t record_set_of(uint64_t key) { return mix_to_set(key * UINT64_C(0x9E3779B97F4A7C15)); }

/* The cache key of an address (family AF_INET or AF_INET6). */
static addr_key key_of(int family, const unsigned char *addr)
{
    addr_key k = {.family = (uint32_t)family};
    if (family == AF_INET) {
        uint32_t v4;
        memcpy(&v4, addr, 4);
        k.lo = v4;
    } else {
        memcpy(&k.hi, addr, 8);
        memcpy(&k.lo, addr + 8, 8);
    }
    return k;
}

static bool same_key(const addr_key *a, const addr_key *b)
{
    return ((a->hi ^ b->hi) | (a->lo ^ b->lo) | (uint64_t)(a->family ^ b->family)) == 0;
}

static answer compact(const rg_geo_result *r)
{
    answer a;
    memset(&a, 0, sizeof a);
    a.found = r->found;
    memcpy(a.country, r->country, sizeof a.country);
    a.city_level = r->city_level;
    a.lat = r->lat;
    a.lon = r->lon;
    a.accuracy_km = r->accuracy_km;
    return a;
}

/* out as rg_geo_lookup fills it, city "" (geo_cache.h). */
static void expand(const answer *a, rg_geo_result *out)
{
    memset(out, 0, sizeof *out);
    out->found = a->found;
    memcpy(out->country, a->country, sizeof out->country);
    out->city_level = a->city_level;
    out->lat = a->lat;
    out->lon = a->lon;
    out->accuracy_km = a->accuracy_km;
}

void rg_geo_cache_prefetch(const rg_geo_cache *c, int family, const unsigned char *addr)
{
    if (!c || !c->keys || !addr || (family != AF_INET && family != AF_INET6))
        return;
    addr_key k = key_of(family, addr);
    const addr_key *first = &c->keys[set_of(&k) * RG_GEO_CACHE_WAYS];
    __builtin_prefetch(first);
    __builtin_prefetch(first + RG_GEO_CACHE_WAYS - 1);
}

/* The decoded record ref leads to, from the record table or decoded now
 * (and kept). 0, or -1 on corrupt data: not kept, so every lookup that
 * reaches it fails and is counted. */
static int record_answer(rg_geo_cache *c, const rg_geo_record_ref *ref, answer *out)
{
    uint64_t key = ((uint64_t)ref->db + 1) << 32 | ref->offset;
    size_t set = record_set_of(key), first = set * RG_GEO_CACHE_WAYS;
    for (size_t w = 0; w < RG_GEO_CACHE_WAYS; w++)
        if (c->record_keys[first + w] == key) {
            *out = c->records[first + w];
            return 0;
        }
    rg_geo_result r;
    if (rg_geo_read(c->geo, ref, &r) != 0)
        return -1;
    *out = compact(&r);
    size_t way = first + c->record_victim[set];
    c->record_victim[set] = (uint8_t)((c->record_victim[set] + 1) % RG_GEO_CACHE_WAYS);
    c->record_keys[way] = key;
    c->records[way] = *out;
    return 0;
}

int rg_geo_cache_lookup(rg_geo_cache *c, int family, const unsigned char *addr, rg_geo_result *out)
{
    if (!c || !out)
        return -1;
    if (!c->geo || !addr || (family != AF_INET && family != AF_INET6) || (!c->keys && (c->no_table || !make_table(c)))) {
        int rc = rg_geo_lookup(c->geo, family, addr, out);
        out->city[0] = '\0';   /* as every cached answer: no city */
        return rc;
    }
    addr_key k = key_of(family, addr);
    size_t set = set_of(&k), first = set * RG_GEO_CACHE_WAYS;
    for (size_t w = 0; w < RG_GEO_CACHE_WAYS; w++) {
        if (same_key(&c->keys[first + w], &k)) {
            c->hits++;
            expand(&c->answers[first + w], out);
            return 0;
        }
    }
    c->misses++;
    rg_geo_record_ref ref;
    answer a;
    memset(&a, 0, sizeof a);
    /* Database errors (the walk's or the record's) are not cached, so each
     * is counted by rg_geo_lookup_errors as before. */
    if (rg_geo_locate(c->geo, family, addr, &ref) != 0 || (ref.found && record_answer(c, &ref, &a) != 0)) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    size_t way = first + c->victim[set];
    c->victim[set] = (uint8_t)((c->victim[set] + 1) % RG_GEO_CACHE_WAYS);
    c->keys[way] = k;
    c->answers[way] = a;
    expand(&a, out);
    return 0;
}

void rg_geo_cache_counts(const rg_geo_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}
