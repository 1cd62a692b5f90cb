/*
 * geo_test.h — what the geo unit tests (test_geo_*.c) share: where the
 * test databases are, opening them, the table of what every test network
 * looks up as, and scratch files. Header-only (static inline), because each
 * test_*.c is its own program (tests/CMakeLists.txt).
 *
 * The test databases are built by tests/data/geo/make-mmdb.sh (ctest
 * fixture geo_mmdb) into $RG_TEST_BUILD/geo; their networks are listed in
 * tests/data/geo/README.md, networks.pl and networks-other.pl.
 * Owner: the GeoIP module.
 */
#ifndef RG_GEO_TEST_H
#define RG_GEO_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "geo/geo.h"

/* The build epoch make-mmdb.sh pins (2026-01-01T00:00:00Z). */
#define TEST_DB_EPOCH 1767225600u
/* Positions in the flat layout are 32-bit floats. */
#define POS_TOLERANCE 1e-4

static char geo_dir[4096];

static inline const char *db_path(const char *name)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/%s", geo_dir, name);
    return path;
}

/* Open test databases by file name, in this priority order; fails the test
 * (naming the fixture) when they cannot be opened. */
static inline rg_geo *open_dbs(const char *const *names, size_t n)
{
    static char paths[RG_GEO_MAX_DATABASES][4200];
    const char *p[RG_GEO_MAX_DATABASES];
    assert_true(n <= RG_GEO_MAX_DATABASES);
    for (size_t i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", geo_dir, names[i]);
        p[i] = paths[i];
    }
    char err[512] = "";
    rg_geo *g = rg_geo_open_many(p, n, err, sizeof err);
    if (!g)
        fail_msg("cannot open test databases: %s (did the geo_mmdb fixture run?)", err);
    return g;
}

static inline rg_geo *open_db(const char *name)
{
    return open_dbs(&name, 1);
}

static inline int setup_dir(void **state)
{
    (void)state;
    const char *build = getenv("RG_TEST_BUILD");
    snprintf(geo_dir, sizeof geo_dir, "%s/geo", build && *build ? build : RG_TEST_BUILD);
    return 0;
}

/* A pinned database of var/geoip/ (make geoip), by file name. */
static inline const char *real_db_path(const char *name)
{
    static char path[2][4200];
    static int turn;
    const char *src = getenv("RG_SOURCE_DIR");
    turn ^= 1; /* two live at once: the IPv4 and the IPv6 file */
    snprintf(path[turn], sizeof path[turn], "%s/var/geoip/%s", src && *src ? src : RG_SOURCE_DIR, name);
    return path[turn];
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- what the test networks look up as ---------------------------------- */

typedef struct expect {
    const char *ip;
    bool found;
    const char *country;
    const char *city;
    bool city_level;
    double lat, lon;
    int32_t accuracy_maxmind; /* flat has none: always 0 there */
} expect;

/* tests/data/geo/README.md (networks.pl), as lookups. */
static const expect test_db_table[] __attribute__((unused)) = {
    {"1.0.0.1", true, "CN", "Shanghai", true, 31.2222, 121.4581, 20},
    {"1.0.0.255", true, "CN", "Shanghai", true, 31.2222, 121.4581, 20},
    {"2.0.0.7", true, "CN", "Beijing", true, 39.9110, 116.3950, 50},
    {"3.0.0.1", true, "FR", "Paris", true, 48.8534, 2.3488, 10},
    {"192.0.2.1", true, "CN", "Guangzhou", true, 23.1181, 113.2539, 100},
    {"198.51.100.1", true, "US", "New York", true, 40.7128, -74.0060, 5},
    {"203.0.113.1", true, "AU", "Sydney", true, -33.8688, 151.2093, 200},
    {"2001:db8:1::1", true, "JP", "Tokyo", true, 35.6895, 139.6917, 100},
    {"2001:db8:1:ffff:ffff:ffff:ffff:ffff", true, "JP", "Tokyo", true, 35.6895, 139.6917, 100},
    {"2001:db8:4::1", true, "CN", "Shanghai", true, 31.2222, 121.4581, 50},
    /* IPv4-mapped: flat.mmdb has no ::ffff:0:0/96 alias, maxmind.mmdb has. */
    {"::ffff:1.0.0.1", true, "CN", "Shanghai", true, 31.2222, 121.4581, 20},
    {"::ffff:198.51.100.1", true, "US", "New York", true, 40.7128, -74.0060, 5},
    /* Country level: a centroid is no place to measure distance from. */
    {"4.0.0.1", true, "US", "", false, 0, 0, 1000},
    {"::ffff:4.0.0.1", true, "US", "", false, 0, 0, 1000},
    {"2001:db8:2::1", true, "DE", "", false, 0, 0, 1000},
    /* No country (maxmind: registered_country GB/CN, which is not used). */
    {"5.0.0.1", true, "", "", false, 0, 0, 500},
    {"2001:db8:3::1", true, "", "", false, 0, 0, 1000},
    /* A city without a position. */
    {"6.0.0.1", true, "DE", "Berlin", false, 0, 0, 0},
    /* Not in the databases. */
    {"1.0.1.0", false, "", "", false, 0, 0, 0},
    {"0.255.255.255", false, "", "", false, 0, 0, 0},
    {"8.8.8.8", false, "", "", false, 0, 0, 0},
    {"10.0.0.1", false, "", "", false, 0, 0, 0},
    {"::ffff:8.8.8.8", false, "", "", false, 0, 0, 0},
    {"2001:db8::1", false, "", "", false, 0, 0, 0},
    {"2001:db8:5::1", false, "", "", false, 0, 0, 0},
    {"::1", false, "", "", false, 0, 0, 0},
};
#define TEST_DB_TABLE_LEN (sizeof test_db_table / sizeof test_db_table[0])

/* Look e->ip up in g and check every field; `flat` says which layout
 * answers (accuracy_km is 0 in flat), `what` names g in messages. */
static inline void check_lookup(const rg_geo *g, const expect *e, bool flat, const char *what)
{
    rg_geo_result r;
    memset(&r, 0x5a, sizeof r); /* the lookup must clear what it does not set */
    if (rg_geo_lookup_str(g, e->ip, &r) != 0)
        fail_msg("%s (%s): lookup failed", e->ip, what);
    if (r.found != e->found || strcmp(r.country, e->country) != 0 || strcmp(r.city, e->city) != 0 ||
        r.city_level != e->city_level)
        fail_msg("%s (%s): got found=%d country=\"%s\" city=\"%s\" city_level=%d", e->ip, what, r.found,
                 r.country, r.city, r.city_level);
    if (r.accuracy_km != (flat ? 0 : e->accuracy_maxmind))
        fail_msg("%s (%s): accuracy_km %d", e->ip, what, (int)r.accuracy_km);
    assert_float_equal(r.lat, e->lat, POS_TOLERANCE);
    assert_float_equal(r.lon, e->lon, POS_TOLERANCE);
}

/* ---- scratch files ---------------------------------------------------------- */

static inline unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* Write bytes to a file of this process in the test database directory
 * (the caller unlinks it). */
static inline const char *write_scratch(const char *name, const unsigned char *bytes, size_t size)
{
    static char path[4300];
    snprintf(path, sizeof path, "%s/scratch-%ld-%s", geo_dir, (long)getpid(), name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    return path;
}

#endif
