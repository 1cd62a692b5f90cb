/*
 * geo_cache — rg_geo_lookup answers by address; see geo_cache.h. Owner:
 * the GeoIP module.
 *
 * Two tables of the same shape (RG_GEO_CACHE_SETS, RG_GEO_CACHE_RECORD_SETS
 * sets of RG_GEO_CACHE_WAYS ways, a miss replacing a set's ways in turn):
 *   by address: the answer an address got (found or not);
 *   by record:  the decoded data record a tree walk led to, so a new
 *               address of a known network (a city's many networks share
 *               one record) costs a tree walk, not a decoding.
 * Tags and answers are separate arrays, so the probe of a set reads one
 * line of eight 64-bit tags (an AF_INET address is its own tag; an
 * AF_INET6 one is hashed and compared whole only on a tag match, from an
 * array AF_INET never touches) and only a hit touches its answer: two
 * lines a hit, where 4 ways of 24-byte keys spanned two lines before the
 * answer's. Eight ways and 32,768 of them: on the month capture (9,593
 * addresses) four ways of 16,384 left 12,500 conflict misses beside the
 * 9,593 first sightings (eight of 16,384: 3,000), each a tree walk over
 * the 60 MB file. Records are fewer than addresses (1,760 decodings for
 * 10,866 address misses on 200,000 events): 8,192 ways. An answer is the
 * compact form of rg_geo_result without the city name (32 bytes instead
 * of 96): the engine's names never read it.
 */
#include "geo/geo_cache.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What rg_geo_result says, but the city: its members up to the city, in
 * its order, so that an answer is the result's first bytes (expand). */
typedef struct answer {
    bool found;
    char country[3];
    bool city_level;
    double lat, lon;
    int32_t accuracy_km;
} answer;

#define ANSWER_BYTES offsetof(rg_geo_result, city)
_Static_assert(offsetof(answer, found) == offsetof(rg_geo_result, found) &&
                   offsetof(answer, country) == offsetof(rg_geo_result, country) &&
                   offsetof(answer, city_level) == offsetof(rg_geo_result, city_level) &&
                   offsetof(answer, lat) == offsetof(rg_geo_result, lat) &&
                   offsetof(answer, lon) == offsetof(rg_geo_result, lon) &&
                   offsetof(answer, accuracy_km) == offsetof(rg_geo_result, accuracy_km) &&
                   sizeof(answer) >= ANSWER_BYTES && sizeof(answer) == 32,
               "an answer is rg_geo_result's members before the city, laid out alike");

/* The line a set's tags fill: a probe reads one line. */
#define TAG_LINE 64

struct rg_geo_cache {
    const rg_geo *geo;
    uint64_t *tags;           /* [SETS][WAYS], one line a set; NULL until the first lookup */
    answer *answers;          /* [SETS][WAYS] */
    uint64_t (*v6)[2];        /* [SETS][WAYS]: an AF_INET6 way's whole address */
    uint8_t *victim;          /* [SETS]: the way the next miss replaces */
    uint64_t *record_keys;    /* [RECORD_SETS][WAYS]: (db + 1) << 32 | offset; 0 empty */
    answer *records;          /* [RECORD_SETS][WAYS] */
    uint8_t *record_victim;   /* [RECORD_SETS] */
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
    free(c->tags);
    free(c->answers);
    free(c->v6);
    free(c->victim);
    free(c->record_keys);
    free(c->records);
    free(c->record_victim);
    c->tags = NULL;
    c->answers = NULL;
    c->v6 = NULL;
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

/* n zeroed 64-bit words starting on a line (a set's tags in one line). */
static uint64_t *line_words(size_t n)
{
    uint64_t *p = aligned_alloc(TAG_LINE, n * sizeof *p);
    if (p)
        memset(p, 0, n * sizeof *p);
    return p;
}

static bool make_table(rg_geo_cache *c)
{
    size_t n = (size_t)RG_GEO_CACHE_SETS * RG_GEO_CACHE_WAYS;
    c->tags = line_words(n);
    c->answers = malloc(n * sizeof *c->answers);
    c->v6 = malloc(n * sizeof *c->v6);
    c->victim = calloc(RG_GEO_CACHE_SETS, 1);
    size_t n_records = (size_t)RG_GEO_CACHE_RECORD_SETS * RG_GEO_CACHE_WAYS;
    c->record_keys = line_words(n_records);
    c->records = malloc(n_records * sizeof *c->records);
    c->record_victim = calloc(RG_GEO_CACHE_RECORD_SETS, 1);
    if (c->tags && c->answers && c->v6 && c->victim && c->record_keys && c->records && c->record_victim)
        return true;
    drop_tables(c);
    c->no_table = true;
    return false;
}

static size_t mix_to_set(uint64_t h, size_t sets)
{
    h ^= h >> 29;
    h *= UINT64_C(0xBF58476D1CE4E5B9);
    return (size_t)(h >> 32) & (sets - 1);
}

/* An address's tag: AF_INET's the address itself beside bit 32 (exact);
 * AF_INET6's a hash of its 16 bytes with bit 63 set (so never an
 * AF_INET tag), its way keeping the whole address to compare. 0: empty. */
static uint64_t tag_of(int family, const unsigned char *addr, uint64_t v6[2])
{
    if (family == AF_INET) {
        uint32_t v4;
        memcpy(&v4, addr, 4);
        return UINT64_C(1) << 32 | v4;
    }
    memcpy(&v6[0], addr, 8);
    memcpy(&v6[1], addr + 8, 8);
    uint64_t h = v6[0] * UINT64_C(0x9E3779B97F4A7C15) ^ v6[1] * UINT64_C(0xC2B2AE3D27D4EB4F);
    return (h ^ h >> 31) | UINT64_C(1) << 63;
}

/* A set for a tag: not keyed, and it need not be (geo_cache.h: a set
 * never chains, so colliding addresses cost at most a miss each). */
static size_t set_of(uint64_t tag) { return mix_to_set(tag * UINT64_C(0x9E3779B97F4A7C15), RG_GEO_CACHE_SETS); }

static size_t record_set_of(uint64_t key)
{
    return mix_to_set(key * UINT64_C(0x9E3779B97F4A7C15), RG_GEO_CACHE_RECORD_SETS);
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

/* out as rg_geo_lookup fills it, city "" (geo_cache.h): the members
 * before the city copied as the answer's bytes (laid out alike, answer's
 * static assertion; its padding zero, as compact makes it), the rest
 * (the city and the tail padding) zeroed: every byte as rg_geo_lookup's
 * memset and fill leave it, in a few wide stores. */
static void expand(const answer *a, rg_geo_result *out)
{
    memcpy(out, a, ANSWER_BYTES);
    memset((char *)out + ANSWER_BYTES, 0, sizeof *out - ANSWER_BYTES);
}

/* An address's tag, for the prefetches: 0 (no table, no address, or
 * another family) when there is nothing to fetch. tag_of with the
 * family's branch taken once. */
static inline uint64_t prefetch_tag(const rg_geo_cache *c, int family, const unsigned char *addr)
{
    uint64_t v6[2];
    if (!c || !c->tags || !addr)
        return 0;
    if (family == AF_INET)
        return tag_of(AF_INET, addr, v6);
    return family == AF_INET6 ? tag_of(AF_INET6, addr, v6) : 0;
}

void rg_geo_cache_prefetch(const rg_geo_cache *c, int family, const unsigned char *addr)
{
    uint64_t tag = prefetch_tag(c, family, addr);
    if (tag)
        __builtin_prefetch(&c->tags[set_of(tag) * RG_GEO_CACHE_WAYS]);
}

void rg_geo_cache_prefetch_answer(const rg_geo_cache *c, int family, const unsigned char *addr)
{
    uint64_t tag = prefetch_tag(c, family, addr);
    if (!tag)
        return;
    size_t first = set_of(tag) * RG_GEO_CACHE_WAYS;
    for (size_t w = 0; w < RG_GEO_CACHE_WAYS; w++)
        if (c->tags[first + w] == tag) {
            __builtin_prefetch(&c->answers[first + w]);
            return;
        }
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

static int lookup_any(rg_geo_cache *c, int family, const unsigned char *addr, rg_geo_result *out);

/* The usual lookup, an AF_INET address the table holds, answered here
 * without the frame of the miss path (a tree walk, a record's decoding,
 * AF_INET6), which lookup_any takes whole: the same probe, the same
 * answer. */
int rg_geo_cache_lookup(rg_geo_cache *c, int family, const unsigned char *addr, rg_geo_result *out)
{
    if (c && out && family == AF_INET && addr && c->geo && c->tags) {
        uint64_t v6[2];
        uint64_t tag = tag_of(AF_INET, addr, v6);
        const uint64_t *ways = &c->tags[set_of(tag) * RG_GEO_CACHE_WAYS];
        for (size_t w = 0; w < RG_GEO_CACHE_WAYS; w++)
            if (ways[w] == tag) {
                c->hits++;
                expand(&c->answers[(size_t)(ways - c->tags) + w], out);
                return 0;
            }
    }
    return lookup_any(c, family, addr, out);
}

__attribute__((noinline)) static int lookup_any(rg_geo_cache *c, int family, const unsigned char *addr,
                                                rg_geo_result *out)
{
    if (!c || !out)
        return -1;
    if (!c->geo || !addr || (family != AF_INET && family != AF_INET6) || (!c->tags && (c->no_table || !make_table(c)))) {
        int rc = rg_geo_lookup(c->geo, family, addr, out);
        out->city[0] = '\0';   /* as every cached answer: no city */
        return rc;
    }
    uint64_t v6[2] = {0, 0};
    uint64_t tag = tag_of(family, addr, v6);
    size_t set = set_of(tag), first = set * RG_GEO_CACHE_WAYS;
    for (size_t w = 0; w < RG_GEO_CACHE_WAYS; w++) {
        if (c->tags[first + w] == tag &&
            (family == AF_INET || (c->v6[first + w][0] == v6[0] && c->v6[first + w][1] == v6[1]))) {
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
    c->tags[way] = tag;
    if (family == AF_INET6) {
        c->v6[way][0] = v6[0];
        c->v6[way][1] = v6[1];
    }
    c->answers[way] = a;
    expand(&a, out);
    return 0;
}

void rg_geo_cache_counts(const rg_geo_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}
