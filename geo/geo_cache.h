/*
 * geo_cache — answers of rg_geo_lookup remembered by address, for one
 * thread.
 *
 * A capture's events come from a few thousand addresses (the 1M-event
 * bench capture: 9,593 distinct IPs for 957,000 events with an IP), and a
 * lookup in a GeoLite2 City file is a walk of up to 32 tree nodes over a
 * 60 MB mapping plus the decoding of a record: ~300 ns, most of it cache
 * misses. The cache answers a repeated address from a table of its own
 * instead (one or two cache lines).
 *
 * The answer for an address is a function of the address and the handle's
 * databases, which never change after opening (geo.h), so a cached answer
 * is exactly what rg_geo_lookup would return — same found, country,
 * position, accuracy — except the city name, which is always "": the
 * engine's names never read it, and leaving it out makes an entry a third
 * of the size (serve/ reads names with rg_geo_lookup). Many addresses
 * lead to one data record (a city's networks), so a second table keeps
 * decoded records by where they are (rg_geo_locate, rg_geo_read): a new
 * address of a known record costs a tree walk, not a decoding. Lookups
 * that fail on a database error are never cached (in either table), so
 * each one is counted by rg_geo_lookup_errors as before.
 *
 * Layout: 8-way set-associative, RG_GEO_CACHE_SETS sets; an address picks
 * its set by a hash of its bytes, a miss replaces the set's ways in turn.
 * Addresses come from events (hostile), but a set never chains: crafted
 * addresses that share a set only evict each other, so the worst case is
 * every lookup missing, which costs what no cache costs (plus a probe of
 * four keys); records are keyed by their place in the database, which
 * the database decides, and evict each other the same way. Memory: 2.1 MB
 * (32,768 addresses of 8 + 32 bytes, plus 16 for an AF_INET6 one; 8,192
 * records of 8 + 32), allocated at the first lookup; AF_INET lookups
 * never touch the 512 KB of AF_INET6 addresses, and only the ways in use
 * are ever touched (a month's 9,593 addresses: ~0.7 MB).
 *
 * Ownership: borrows the handle (it must outlive the cache). Not
 * thread-safe: one cache per thread (the evaluation context keeps one).
 */
#ifndef RG_GEO_CACHE_H
#define RG_GEO_CACHE_H

#include <stdint.h>

#include "geo.h"

#define RG_GEO_CACHE_WAYS 8
#define RG_GEO_CACHE_SETS 4096
#define RG_GEO_CACHE_RECORD_SETS 1024

typedef struct rg_geo_cache rg_geo_cache;

/* A cache over g (NULL g: every lookup answers -1, like rg_geo_lookup).
 * NULL on OOM. */
rg_geo_cache *rg_geo_cache_new(const rg_geo *g);
void rg_geo_cache_free(rg_geo_cache *c);   /* NULL-safe */

/* rg_geo_lookup(g, family, addr, out) but for out->city (""), answered
 * from the cache when the address was asked before (and its answer was
 * not evicted). When the tables cannot be allocated the lookup goes to
 * the databases every time. */
int rg_geo_cache_lookup(rg_geo_cache *c, int family, const unsigned char *addr, rg_geo_result *out);

/* A hint that the address will be looked up soon: its set's keys are
 * fetched into the cache (replay reads ahead, rg_engine_prefetch).
 * Changes nothing; NULL c or no table yet: nothing. */
void rg_geo_cache_prefetch(const rg_geo_cache *c, int family, const unsigned char *addr);
/* The next step, once the set's keys are here: the cached answer of the
 * way that holds the address, if one does. */
void rg_geo_cache_prefetch_answer(const rg_geo_cache *c, int family, const unsigned char *addr);

/* Lookups answered from the table / asked of the databases (tests, bench). */
void rg_geo_cache_counts(const rg_geo_cache *c, uint64_t *hits, uint64_t *misses);

#endif
