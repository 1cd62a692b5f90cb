/*
 * Unit tests for opening GeoIP databases (geo/geo.h): layout detection,
 * what each database of a handle can answer, open errors (one file and
 * lists), and corrupt files, alone and inside a list.
 * Shared helpers and the test networks: geo_test.h. Owner: the GeoIP module.
 */
#include "geo_test.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <maxminddb.h>

/* ---- layout detection ---------------------------------------------------- */

static void test_layouts_detected(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        rg_geo_layout layout;
        const char *type;
        int ip_version;
        bool answers_ipv4, answers_ipv6;
    } cases[] = {
        /* The flat test DB's type is no npm name: the record shape decides. */
        {"flat.mmdb", RG_GEO_LAYOUT_FLAT, "riskgate-test city", 6, true, true},
        {"maxmind.mmdb", RG_GEO_LAYOUT_MAXMIND, "GeoLite2-City", 6, true, true},
        {"maxmind-v4.mmdb", RG_GEO_LAYOUT_MAXMIND, "GeoIP2-City", 4, true, false},
        /* The npm split: the IPv6 tree has nothing under ::/96. */
        {"flat-v4.mmdb", RG_GEO_LAYOUT_FLAT, "city ipv4", 4, true, false},
        {"flat-v6.mmdb", RG_GEO_LAYOUT_FLAT, "city ipv6", 6, false, true},
        {"other.mmdb", RG_GEO_LAYOUT_MAXMIND, "GeoLite2-City", 6, true, true},
        {"odd-flat.mmdb", RG_GEO_LAYOUT_FLAT, "riskgate-test odd flat", 6, true, true},
        {"odd-maxmind.mmdb", RG_GEO_LAYOUT_MAXMIND, "GeoLite2-City", 6, true, true},
        /* Records with no telling key: the type name decides. */
        {"untold-maxmind.mmdb", RG_GEO_LAYOUT_MAXMIND, "GeoLite2-City", 6, true, true},
        {"untold-flat.mmdb", RG_GEO_LAYOUT_FLAT, "city ipv4", 6, true, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rg_geo *g = open_db(cases[i].file);
        assert_int_equal(rg_geo_get_layout(g), cases[i].layout);
        assert_string_equal(rg_geo_database_type(g), cases[i].type);
        assert_int_equal(rg_geo_build_epoch(g), TEST_DB_EPOCH);
        assert_int_equal(rg_geo_database_count(g), 1);
        rg_geo_database_info info;
        assert_int_equal(rg_geo_database(g, 0, &info), 0);
        assert_string_equal(info.path, db_path(cases[i].file));
        assert_string_equal(info.database_type, cases[i].type);
        assert_int_equal(info.layout, cases[i].layout);
        if (info.ip_version != cases[i].ip_version || info.answers_ipv4 != cases[i].answers_ipv4 ||
            info.answers_ipv6 != cases[i].answers_ipv6)
            fail_msg("%s: ip_version %d, answers ipv4 %d ipv6 %d", cases[i].file, info.ip_version,
                     info.answers_ipv4, info.answers_ipv6);
        assert_int_equal(info.build_epoch, TEST_DB_EPOCH);
        rg_geo_close(g);
    }
    assert_string_equal(rg_geo_layout_name(RG_GEO_LAYOUT_FLAT), "flat");
    assert_string_equal(rg_geo_layout_name(RG_GEO_LAYOUT_MAXMIND), "maxmind");
    assert_string_equal(rg_geo_layout_name((rg_geo_layout)0), "unknown");
}

static void test_not_a_city_database(void **state)
{
    (void)state;
    static const struct {
        const char *file, *type;
    } cases[] = {
        {"no-layout.mmdb", "GeoLite2-ASN"},
        {"untold-unknown.mmdb", "riskgate-test untold"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512] = "";
        const char *path = db_path(cases[i].file);
        assert_null(rg_geo_open(path, err, sizeof err));
        if (!strstr(err, path) || !strstr(err, cases[i].type) || !strstr(err, "not a city"))
            fail_msg("%s: %s", cases[i].file, err);
    }

    /* An empty record is found, and says nothing. */
    rg_geo *g = open_db("untold-flat.mmdb");
    rg_geo_result r;
    assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
    assert_true(r.found);
    assert_string_equal(r.country, "");
    assert_false(r.city_level);
    rg_geo_close(g);
}

/* ---- several databases in one handle ------------------------------------- */

static void test_several_databases_info(void **state)
{
    (void)state;
    static const char *const names[] = {"other.mmdb", "flat-v4.mmdb", "flat-v6.mmdb"};
    rg_geo *g = open_dbs(names, 3);
    assert_int_equal(rg_geo_database_count(g), 3);
    for (size_t i = 0; i < 3; i++) {
        rg_geo_database_info info;
        assert_int_equal(rg_geo_database(g, i, &info), 0);
        assert_string_equal(info.path, db_path(names[i])); /* priority order kept */
    }
    /* The shorthands describe the first database. */
    assert_int_equal(rg_geo_get_layout(g), RG_GEO_LAYOUT_MAXMIND);
    assert_string_equal(rg_geo_database_type(g), "GeoLite2-City");

    rg_geo_database_info info;
    memset(&info, 0x5a, sizeof info);
    assert_int_equal(rg_geo_database(g, 3, &info), -1);
    assert_null(info.path);
    assert_int_equal(rg_geo_database(g, 0, NULL), -1);
    assert_int_equal(rg_geo_database(NULL, 0, &info), -1);
    assert_int_equal(rg_geo_database_count(NULL), 0);
    assert_int_equal(rg_geo_get_layout(NULL), 0);
    assert_int_equal(rg_geo_build_epoch(NULL), 0);
    assert_string_equal(rg_geo_database_type(NULL), "");
    rg_geo_close(g);

    /* The same file twice is allowed. */
    static const char *const twice[] = {"flat.mmdb", "flat.mmdb"};
    g = open_dbs(twice, 2);
    assert_int_equal(rg_geo_database_count(g), 2);
    rg_geo_close(g);
}

/* All or nothing, and the message names the file that failed (ASan checks
 * that the files opened before it are closed again). */
static void test_several_databases_errors(void **state)
{
    (void)state;
    char ok1[4200], ok2[4200], bad[4200];
    snprintf(ok1, sizeof ok1, "%s", db_path("flat-v4.mmdb"));
    snprintf(ok2, sizeof ok2, "%s", db_path("flat-v6.mmdb"));
    char err[1024];

    snprintf(bad, sizeof bad, "%s", db_path("missing.mmdb"));
    const char *missing_last[] = {ok1, ok2, bad};
    assert_null(rg_geo_open_many(missing_last, 3, err, sizeof err));
    if (strncmp(err, bad, strlen(bad)) != 0 || !strstr(err, "No such file or directory"))
        fail_msg("%s", err);

    snprintf(bad, sizeof bad, "%s", db_path("no-layout.mmdb"));
    const char *asn_middle[] = {ok1, bad, ok2};
    assert_null(rg_geo_open_many(asn_middle, 3, err, sizeof err));
    if (strncmp(err, bad, strlen(bad)) != 0 || !strstr(err, "not a city"))
        fail_msg("%s", err);

    const char *null_path[] = {ok1, NULL};
    assert_null(rg_geo_open_many(null_path, 2, err, sizeof err));
    assert_string_equal(err, "no GeoIP database path given");
    assert_null(rg_geo_open_many(null_path, 0, err, sizeof err));
    assert_string_equal(err, "no GeoIP database path given");
    assert_null(rg_geo_open_many(NULL, 1, err, sizeof err));

    const char *nine[RG_GEO_MAX_DATABASES + 1];
    for (size_t i = 0; i < RG_GEO_MAX_DATABASES + 1; i++)
        nine[i] = ok1;
    assert_null(rg_geo_open_many(nine, RG_GEO_MAX_DATABASES + 1, err, sizeof err));
    assert_non_null(strstr(err, "at most 8"));
    rg_geo *g = rg_geo_open_many(nine, RG_GEO_MAX_DATABASES, NULL, 0);
    assert_non_null(g);
    rg_geo_close(g);
}

/* ---- open errors and corrupt files --------------------------------------- */

static void expect_open_error(const char *path, const char *why)
{
    char err[1024] = "";
    rg_geo *g = rg_geo_open(path, err, sizeof err);
    if (g) {
        rg_geo_close(g);
        fail_msg("%s opened", path);
    }
    if (!strstr(err, path) || !strstr(err, why))
        fail_msg("error for %s does not name the path and \"%s\": %s", path, why, err);
}

static void test_open_errors(void **state)
{
    (void)state;
    expect_open_error(db_path("does-not-exist.mmdb"), "No such file or directory");
    expect_open_error(geo_dir, "Is a directory");

    static const unsigned char garbage[] = "this is not a MaxMind DB\n";
    const char *path = write_scratch("garbage.mmdb", garbage, sizeof garbage - 1);
    expect_open_error(path, "metadata");
    unlink(path);

    /* The metadata sits at the end: cut it off. */
    size_t size;
    unsigned char *bytes = read_all(db_path("flat.mmdb"), &size);
    path = write_scratch("truncated.mmdb", bytes, size / 2);
    expect_open_error(path, "metadata");
    unlink(path);
    free(bytes);

    /* errstr is optional, and a short one is cut, not overrun. */
    assert_null(rg_geo_open(db_path("does-not-exist.mmdb"), NULL, 0));
    char small[8];
    memset(small, 'x', sizeof small);
    assert_null(rg_geo_open(db_path("does-not-exist.mmdb"), small, sizeof small));
    assert_int_equal(small[sizeof small - 1], '\0');
    char err[64];
    assert_null(rg_geo_open(NULL, err, sizeof err));
    assert_null(rg_geo_open("", err, sizeof err));
}

typedef enum corruption { BROKEN_TREE_POINTER, BAD_DATA_TYPE } corruption;

/* A copy of flat.mmdb broken on the way to ip's record; returns its path.
 * BROKEN_TREE_POINTER points the tree record that leads to ip's data past
 * the data section; BAD_DATA_TYPE gives the first key of ip's data record
 * an unknown type. */
static const char *corrupt_copy_for(const char *ip, corruption how)
{
    MMDB_s mmdb;
    assert_int_equal(MMDB_open(db_path("flat.mmdb"), MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    assert_int_equal(mmdb.metadata.record_size, 24);
    unsigned char addr[16];
    assert_int_equal(inet_pton(AF_INET6, ip, addr), 1);
    uint32_t node = 0, data_offset = 0;
    int side = -1;
    for (int bit = 0; bit < 128 && side < 0; bit++) {
        MMDB_search_node_s sn;
        assert_int_equal(MMDB_read_node(&mmdb, node, &sn), MMDB_SUCCESS);
        int right = (addr[bit / 8] >> (7 - bit % 8)) & 1;
        uint8_t type = right ? sn.right_record_type : sn.left_record_type;
        if (type == MMDB_RECORD_TYPE_DATA) {
            side = right;
            data_offset = (right ? sn.right_record_entry : sn.left_record_entry).offset;
        } else if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
            node = (uint32_t)(right ? sn.right_record : sn.left_record);
        } else {
            fail_msg("%s is not in flat.mmdb", ip);
        }
    }
    assert_true(side >= 0);
    const size_t tree_size = (size_t)mmdb.metadata.node_count * 6;
    MMDB_close(&mmdb);

    size_t size;
    unsigned char *bytes = read_all(db_path("flat.mmdb"), &size);
    if (how == BROKEN_TREE_POINTER) {
        /* 24-bit records: a node is 6 bytes, left record first. */
        unsigned char *rec = bytes + (size_t)node * 6 + (size_t)side * 3;
        rec[0] = rec[1] = rec[2] = 0xFF;
    } else {
        /* The data section follows the tree and 16 zero bytes. The record
         * is a map (kept); its first key becomes control byte 0, "extended
         * type", with 7 + 0xF0: no type at all. */
        unsigned char *rec = bytes + tree_size + 16 + data_offset;
        assert_int_equal(rec[0] >> 5, MMDB_DATA_TYPE_MAP);
        rec[1] = 0x00;
        rec[2] = 0xF0;
    }
    const char *path = write_scratch("corrupt.mmdb", bytes, size);
    free(bytes);
    return path;
}

static void test_corrupt_database(void **state)
{
    (void)state;
    const corruption kinds[] = {BROKEN_TREE_POINTER, BAD_DATA_TYPE};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        /* Tokyo's record is not shared with another network. */
        const char *path = corrupt_copy_for("2001:db8:1::1", kinds[i]);
        char err[512] = "";
        /* The layout probe reads the IPv4 records first and never meets the
         * broken one, so the file opens; the lookup through it fails. */
        rg_geo *g = rg_geo_open(path, err, sizeof err);
        if (!g)
            fail_msg("%s", err);
        rg_geo_result r;
        memset(&r, 0x5a, sizeof r);
        assert_int_equal(rg_geo_lookup_str(g, "2001:db8:1::1", &r), -1);
        assert_false(r.found);
        assert_string_equal(r.country, "");
        assert_string_equal(r.city, "");
        assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
        assert_string_equal(r.city, "Shanghai");
        rg_geo_close(g);

        /* In a list, the broken database stops the lookup when it is asked
         * first (a lower-priority answer never stands in for it), and is
         * never reached when a database before it holds the address. */
        const char *broken_first[] = {path, db_path("maxmind.mmdb")};
        g = rg_geo_open_many(broken_first, 2, err, sizeof err);
        if (!g)
            fail_msg("%s", err);
        memset(&r, 0x5a, sizeof r);
        assert_int_equal(rg_geo_lookup_str(g, "2001:db8:1::1", &r), -1);
        assert_false(r.found);
        assert_string_equal(r.city, "");
        assert_int_equal(rg_geo_lookup_str(g, "2001:db8:4::1", &r), 0);
        assert_int_equal(r.accuracy_km, 0); /* flat answered */
        rg_geo_close(g);

        char maxmind[4200];
        snprintf(maxmind, sizeof maxmind, "%s", db_path("maxmind.mmdb"));
        const char *broken_last[] = {maxmind, path};
        g = rg_geo_open_many(broken_last, 2, err, sizeof err);
        if (!g)
            fail_msg("%s", err);
        assert_int_equal(rg_geo_lookup_str(g, "2001:db8:1::1", &r), 0);
        assert_string_equal(r.city, "Tokyo");
        assert_int_equal(r.accuracy_km, 100); /* maxmind answered */
        rg_geo_close(g);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts_detected),
        cmocka_unit_test(test_not_a_city_database),
        cmocka_unit_test(test_several_databases_info),
        cmocka_unit_test(test_several_databases_errors),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_corrupt_database),
    };
    return cmocka_run_group_tests_name("geo_open", tests, setup_dir, NULL);
}
