/*
 * Unit tests for the per-thread GeoIP answer cache (geo/geo_cache.h): a
 * cached answer is exactly the databases' answer (every field, found or
 * not) but the city, which is always "", repeated addresses are answered
 * from the table, addresses that share a set evict each other without a
 * wrong answer, records of several databases are told apart, a NULL
 * handle answers like rg_geo_lookup. Database errors are not cached:
 * test_geo_open.c (test_corrupt_database). Owner: the GeoIP module.
 */
#include "geo_test.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "geo/geo_cache.h"

/* The cache's answer for a textual address equals the handle's. */
static void expect_same(rg_geo_cache *c, const rg_geo *g, const char *ip)
{
    unsigned char addr[16] = {0};
    int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(family, ip, addr), 1);
    rg_geo_result want, got;
    memset(&want, 0, sizeof want);
    memset(&got, 0x5a, sizeof got);
    int want_rc = rg_geo_lookup(g, family, addr, &want);
    memset(want.city, 0, sizeof want.city);   /* the cache never answers the city */
    int got_rc = rg_geo_cache_lookup(c, family, addr, &got);
    if (want_rc != got_rc || memcmp(&want, &got, sizeof want) != 0)
        fail_msg("%s: cache answered rc %d found=%d country=\"%s\" city=\"%s\", databases rc %d found=%d "
                 "country=\"%s\" city=\"%s\"",
                 ip, got_rc, got.found, got.country, got.city, want_rc, want.found, want.country, want.city);
}

static void test_same_answers_twice(void **state)
{
    (void)state;
    static const char *const dbs[] = {"flat.mmdb", "maxmind.mmdb"};
    for (size_t d = 0; d < 2; d++) {
        rg_geo *g = open_db(dbs[d]);
        rg_geo_cache *c = rg_geo_cache_new(g);
        assert_non_null(c);
        for (int pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
                expect_same(c, g, test_db_table[i].ip);
        uint64_t hits, misses;
        rg_geo_cache_counts(c, &hits, &misses);
        /* Every address was asked of the databases once, then answered
         * from the table (found or not). */
        assert_int_equal(misses, TEST_DB_TABLE_LEN);
        assert_int_equal(hits, TEST_DB_TABLE_LEN);
        rg_geo_cache_free(c);
        rg_geo_close(g);
    }
}

static void test_many_addresses_evict(void **state)
{
    (void)state;
    rg_geo *g = open_db("maxmind.mmdb");
    rg_geo_cache *c = rg_geo_cache_new(g);
    assert_non_null(c);
    /* Four times the table: sets overflow and ways are replaced; every
     * answer must still be the databases'. */
    const unsigned n = 4u * RG_GEO_CACHE_SETS * RG_GEO_CACHE_WAYS;
    char ip[32];
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < n; i++) {
            snprintf(ip, sizeof ip, "%u.%u.%u.%u", 1 + i % 6, (i >> 16) & 255, (i >> 8) & 255, i & 255);
            expect_same(c, g, ip);
        }
    uint64_t hits, misses;
    rg_geo_cache_counts(c, &hits, &misses);
    assert_int_equal(hits + misses, 2 * n);
    assert_true(misses > n);   /* the second pass found evicted addresses gone */
    rg_geo_cache_free(c);
    rg_geo_close(g);
}

/* IPv6 addresses are tagged by a hash: addresses that differ in one byte
 * anywhere (and an IPv4 address beside its IPv4-mapped IPv6 form) must
 * each get their own answer, never another's whose tag matched. */
static void test_ipv6_addresses_apart(void **state)
{
    (void)state;
    static const char *const dbs[] = {"flat.mmdb", "maxmind.mmdb"};
    for (size_t d = 0; d < 2; d++) {
        rg_geo *g = open_db(dbs[d]);
        rg_geo_cache *c = rg_geo_cache_new(g);
        assert_non_null(c);
        char ip[64];
        for (int pass = 0; pass < 2; pass++) {
            for (unsigned i = 0; i < 2048; i++) {
                unsigned hextet = i % 8, value = i / 8;
                snprintf(ip, sizeof ip, "2001:db8:%x:%x:%x:%x:%x:%x", hextet == 2 ? value : 1,
                         hextet == 3 ? value : 0, hextet == 4 ? value : 0, hextet == 5 ? value : 0,
                         hextet == 6 ? value : 0, hextet == 7 ? value : 1);
                expect_same(c, g, ip);
            }
            expect_same(c, g, "3.0.0.42");
            expect_same(c, g, "::ffff:3.0.0.42");
            expect_same(c, g, "::3.0.0.42");
        }
        rg_geo_cache_free(c);
        rg_geo_close(g);
    }
}

/* A working set the size of the month capture's (9,593 addresses) is
 * answered from the table on its second pass, but for the few addresses
 * of overfull sets: with 4 of 16,384 ways 20% of the second pass missed
 * again (each miss a tree walk), with 8 of 16,384 ways 10.6%; with 8 of
 * 32,768 under 1%. */
static void test_month_sized_working_set(void **state)
{
    (void)state;
    rg_geo *g = open_db("maxmind.mmdb");
    rg_geo_cache *c = rg_geo_cache_new(g);
    assert_non_null(c);
    const unsigned n = 9593;
    unsigned char addr[4];
    rg_geo_result r;
    uint64_t hits, misses, first_misses = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < n; i++) {
            uint32_t v = UINT32_C(0x01000000) + i * UINT32_C(2654435761) % UINT32_C(0xDF000000);
            addr[0] = (unsigned char)(v >> 24), addr[1] = (unsigned char)(v >> 16);
            addr[2] = (unsigned char)(v >> 8), addr[3] = (unsigned char)v;
            assert_int_equal(rg_geo_cache_lookup(c, AF_INET, addr, &r), 0);
        }
        rg_geo_cache_counts(c, &hits, &misses);
        if (pass == 0)
            first_misses = misses;
    }
    assert_int_equal(first_misses, n);
    print_message("second pass: %llu of %u missed\n", (unsigned long long)(misses - first_misses), n);
    assert_true(misses - first_misses < n / 100);
    rg_geo_cache_free(c);
    rg_geo_close(g);
}

static void test_null_handle_and_arguments(void **state)
{
    (void)state;
    rg_geo_cache *c = rg_geo_cache_new(NULL);
    assert_non_null(c);
    const unsigned char paris[4] = {3, 0, 0, 42};
    rg_geo_result r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(rg_geo_cache_lookup(c, AF_INET, paris, &r), -1);
    assert_false(r.found);
    rg_geo_cache_free(c);

    rg_geo *g = open_db("maxmind.mmdb");
    c = rg_geo_cache_new(g);
    assert_int_equal(rg_geo_cache_lookup(c, AF_UNIX, paris, &r), -1);
    assert_int_equal(rg_geo_cache_lookup(c, AF_INET, NULL, &r), -1);
    assert_int_equal(rg_geo_cache_lookup(NULL, AF_INET, paris, &r), -1);
    assert_int_equal(rg_geo_cache_lookup(c, AF_INET, paris, &r), 0);
    assert_true(r.found);
    assert_string_equal(r.city, "");   /* rg_geo_lookup says "Paris"; the cache leaves it out */
    rg_geo_cache_free(c);
    rg_geo_cache_free(NULL);
    rg_geo_close(g);
}

/* Decoded records are kept by database and place: records at one offset
 * of two files must not answer for each other (other.mmdb and flat.mmdb
 * have such a pair: the test finds it), and addresses of one network
 * share one record. */
static void test_records_of_several_databases(void **state)
{
    (void)state;
    static const char *const names[] = {"other.mmdb", "flat.mmdb"};
    rg_geo *g = open_dbs(names, 2);
    static const char *const more[] = {"2001:db8:1::1", "2001:db8:1::2", "2001:db8:1::9", "::ffff:3.0.0.42"};
    const char *ips[TEST_DB_TABLE_LEN + 4];
    size_t n = 0;
    for (size_t i = 0; i < TEST_DB_TABLE_LEN; i++)
        ips[n++] = test_db_table[i].ip;
    for (size_t i = 0; i < 4; i++)
        ips[n++] = more[i];
    rg_geo_record_ref refs[TEST_DB_TABLE_LEN + 4];
    for (size_t i = 0; i < n; i++) {
        unsigned char addr[16] = {0};
        int family = strchr(ips[i], ':') ? AF_INET6 : AF_INET;
        assert_int_equal(inet_pton(family, ips[i], addr), 1);
        assert_int_equal(rg_geo_locate(g, family, addr, &refs[i]), 0);
    }
    bool pair = false;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            if (!refs[i].found || !refs[j].found || refs[i].db == refs[j].db || refs[i].offset != refs[j].offset)
                continue;
            pair = true;
            rg_geo_cache *c = rg_geo_cache_new(g);   /* fresh: i's record decoded first */
            assert_non_null(c);
            expect_same(c, g, ips[i]);
            expect_same(c, g, ips[j]);
            rg_geo_cache_free(c);
        }
    assert_true(pair);
    rg_geo_cache *c = rg_geo_cache_new(g);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            expect_same(c, g, ips[i]);
    rg_geo_cache_free(c);
    rg_geo_close(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_answers_twice),
        cmocka_unit_test(test_many_addresses_evict),
        cmocka_unit_test(test_ipv6_addresses_apart),
        cmocka_unit_test(test_month_sized_working_set),
        cmocka_unit_test(test_null_handle_and_arguments),
        cmocka_unit_test(test_records_of_several_databases),
    };
    return cmocka_run_group_tests(tests, setup_dir, NULL);
}
