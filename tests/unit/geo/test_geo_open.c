/*
 * Unit tests for opening GeoIP databases (geo/geo.h): layout detection,
 * what each database of a handle can answer, open errors (one file and
 * lists), and corrupt files, alone and inside a list.
 * Shared helpers and the test networks: geo_test.h. Owner: the GeoIP module.
 */
#include "geo_test.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sys/socket.h>

#include <maxminddb.h>

#include "geo/geo_cache.h"

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

typedef enum corruption {
    BROKEN_TREE_POINTER,   /* the record leading to ip's data points past the data section */
    POINTER_INTO_SEPARATOR,/* ... into the 16 zero bytes between tree and data */
    POINTER_TO_ROOT,       /* ... back to node 0: a loop */
    BAD_DATA_TYPE          /* ip's data record's first key has no type */
} corruption;

/* A copy of flat.mmdb broken on the way to ip's record; returns its path. */
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
    const uint32_t node_count = mmdb.metadata.node_count;
    const size_t tree_size = (size_t)node_count * 6;
    MMDB_close(&mmdb);

    size_t size;
    unsigned char *bytes = read_all(db_path("flat.mmdb"), &size);
    /* 24-bit records: a node is 6 bytes, left record first, big-endian. */
    unsigned char *rec = bytes + (size_t)node * 6 + (size_t)side * 3;
    uint32_t value = 0;
    switch (how) {
    case BROKEN_TREE_POINTER: value = 0xFFFFFF; break;
    case POINTER_INTO_SEPARATOR: value = node_count + 5; break;
    case POINTER_TO_ROOT: value = 0; break;
    case BAD_DATA_TYPE: {
        /* The data section follows the tree and 16 zero bytes. The record
         * is a map (kept); its first key becomes control byte 0, "extended
         * type", with 7 + 0xF0: no type at all. */
        unsigned char *data = bytes + tree_size + 16 + data_offset;
        assert_int_equal(data[0] >> 5, MMDB_DATA_TYPE_MAP);
        data[1] = 0x00;
        data[2] = 0xF0;
        break;
    }
    }
    if (how != BAD_DATA_TYPE) {
        rec[0] = (unsigned char)(value >> 16);
        rec[1] = (unsigned char)(value >> 8);
        rec[2] = (unsigned char)value;
    }
    const char *path = write_scratch("corrupt.mmdb", bytes, size);
    free(bytes);
    return path;
}

/* A copy of flat.mmdb whose metadata says `key` is `value` (an unsigned
 * int field of 1 or 2 value bytes, rewritten in place). */
static const char *metadata_copy(const char *key, unsigned value)
{
    size_t size;
    unsigned char *bytes = read_all(db_path("flat.mmdb"), &size);
    static const char marker[] = "\xab\xcd\xefMaxMind.com";
    unsigned char *meta = NULL;
    for (size_t i = size - (sizeof marker - 1); i-- > 0;)
        if (memcmp(bytes + i, marker, sizeof marker - 1) == 0) {
            meta = bytes + i + sizeof marker - 1;
            break;
        }
    assert_non_null(meta);
    size_t keylen = strlen(key);
    unsigned char *at = NULL;
    for (unsigned char *q = meta; q + 1 + keylen < bytes + size; q++)
        if (q[0] == (0x40 | keylen) && memcmp(q + 1, key, keylen) == 0) {
            at = q + 1 + keylen;   /* the value's control byte: uint16 (type 5) or uint32 (6), size 1..2 */
            break;
        }
    assert_non_null(at);
    unsigned n = at[0] & 0x1f;
    assert_true(n == 1 || n == 2);
    if (n == 1) {
        assert_true(value < 256);
        at[1] = (unsigned char)value;
    } else {
        at[1] = (unsigned char)(value >> 8);
        at[2] = (unsigned char)value;
    }
    const char *path = write_scratch("meta.mmdb", bytes, size);
    free(bytes);
    return path;
}

/* A tree record that is no node, not empty and not in the data section,
 * and metadata that contradicts the file, are refused at open, naming the
 * path and what is inconsistent (issue 12.10: before, the file opened and
 * the lookups through the record failed, silently). */
static void test_inconsistent_database_refused(void **state)
{
    (void)state;
    const corruption kinds[] = {BROKEN_TREE_POINTER, POINTER_INTO_SEPARATOR, POINTER_TO_ROOT};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *path = corrupt_copy_for("2001:db8:1::1", kinds[i]);
        expect_open_error(path, "inconsistent search tree");
        /* In a list: all or nothing. */
        const char *list[] = {db_path("maxmind.mmdb"), path};
        char err[512] = "";
        assert_null(rg_geo_open_many(list, 2, err, sizeof err));
        assert_non_null(strstr(err, "inconsistent search tree"));
        unlink(path);
    }
    MMDB_s mmdb;
    assert_int_equal(MMDB_open(db_path("flat.mmdb"), MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    unsigned node_count = mmdb.metadata.node_count;
    MMDB_close(&mmdb);
    /* One node fewer: the tree ends early, and what follows is not the
     * 16 zero bytes. */
    const char *path = metadata_copy("node_count", node_count - 1);
    expect_open_error(path, "inconsistent");
    unlink(path);
    path = metadata_copy("ip_version", 5);   /* libmaxminddb refuses this one itself */
    expect_open_error(path, "metadata");
    unlink(path);
}

/* Every record of flat.mmdb broken in turn, with each kind of bad value
 * (the root, just past "empty", the last separator byte, just past the
 * data section, the largest 24-bit value), is found and named, wherever
 * it sits (the first pass checks four nodes at a time where the CPU
 * allows, the rest one by one). */
static void test_every_bad_record_found(void **state)
{
    (void)state;
    MMDB_s mmdb;
    assert_int_equal(MMDB_open(db_path("flat.mmdb"), MMDB_MODE_MMAP, &mmdb), MMDB_SUCCESS);
    const uint32_t node_count = mmdb.metadata.node_count, data_size = mmdb.data_section_size;
    MMDB_close(&mmdb);
    size_t size;
    unsigned char *bytes = read_all(db_path("flat.mmdb"), &size);
    const uint32_t bad[] = {0, node_count + 1, node_count + 15, node_count + 16 + data_size, 0xFFFFFF};
    char want[128], err[1024];
    for (uint32_t node = 0; node < node_count; node++)
        for (int side = 0; side < 2; side++) {
            unsigned char *rec = bytes + (size_t)node * 6 + (size_t)side * 3, saved[3];
            memcpy(saved, rec, 3);
            for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                uint32_t v = bad[k];
                rec[0] = (unsigned char)(v >> 16);
                rec[1] = (unsigned char)(v >> 8);
                rec[2] = (unsigned char)v;
                const char *path = write_scratch("every.mmdb", bytes, size);
                err[0] = '\0';
                rg_geo *g = rg_geo_open(path, err, sizeof err);
                snprintf(want, sizeof want, "node %u's %s record is %u,", node, side ? "right" : "left", v);
                if (g || !strstr(err, want)) {
                    rg_geo_close(g);
                    fail_msg("want \"%s\", got %s", want, g ? "the file opened" : err);
                }
                unlink(path);
            }
            memcpy(rec, saved, 3);
        }
    free(bytes);
}

static void test_corrupt_database(void **state)
{
    (void)state;
    /* Tokyo's record is not shared with another network. */
    const char *path = corrupt_copy_for("2001:db8:1::1", BAD_DATA_TYPE);
    char err[512] = "";
    /* A data record is only read by the lookups that reach it: the file
     * opens; the lookup through it fails, and is counted. */
    rg_geo *g = rg_geo_open(path, err, sizeof err);
    if (!g)
        fail_msg("%s", err);
    assert_int_equal(rg_geo_lookup_errors(g), 0);
    rg_geo_result r;
    memset(&r, 0x5a, sizeof r);
    assert_int_equal(rg_geo_lookup_str(g, "2001:db8:1::1", &r), -1);
    assert_false(r.found);
    assert_string_equal(r.country, "");
    assert_string_equal(r.city, "");
    assert_int_equal(rg_geo_lookup_errors(g), 1);
    /* Through the answer cache: a failed lookup is never remembered, so
     * each one still fails and is counted. */
    rg_geo_cache *c = rg_geo_cache_new(g);
    unsigned char tokyo[16];
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1::1", tokyo), 1);
    for (int i = 0; i < 2; i++) {
        memset(&r, 0x5a, sizeof r);
        assert_int_equal(rg_geo_cache_lookup(c, AF_INET6, tokyo, &r), -1);
        assert_false(r.found);
    }
    assert_int_equal(rg_geo_lookup_errors(g), 3);
    rg_geo_cache_free(c);
    assert_int_equal(rg_geo_lookup_str(g, "1.0.0.1", &r), 0);
    assert_string_equal(r.city, "Shanghai");
    assert_int_equal(rg_geo_lookup_str(g, "8.8.8.8", &r), 0);   /* not found is no error */
    assert_int_equal(rg_geo_lookup_str(g, "not an ip", &r), -1);   /* nor is a bad literal */
    assert_int_equal(rg_geo_lookup_errors(g), 3);
    assert_int_equal(rg_geo_lookup_errors(NULL), 0);
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
    assert_int_equal(rg_geo_lookup_errors(g), 1);
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
    assert_int_equal(rg_geo_lookup_errors(g), 0);
    rg_geo_close(g);
    unlink(path);
}

/* The counter is exact when several threads fail lookups at once. */
typedef struct failing_lookups {
    const rg_geo *g;
    int n;
} failing_lookups;

static void *fail_lookups(void *arg)
{
    const failing_lookups *f = arg;
    rg_geo_result r;
    for (int i = 0; i < f->n; i++)
        (void)rg_geo_lookup_str(f->g, "2001:db8:1::1", &r);
    return NULL;
}

static void test_lookup_errors_counted_across_threads(void **state)
{
    (void)state;
    const char *path = corrupt_copy_for("2001:db8:1::1", BAD_DATA_TYPE);
    rg_geo *g = rg_geo_open(path, NULL, 0);
    assert_non_null(g);
    failing_lookups f = {g, 2500};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fail_lookups, &f), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(rg_geo_lookup_errors(g), 10000);
    rg_geo_close(g);
    unlink(path);
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
        cmocka_unit_test(test_inconsistent_database_refused),
        cmocka_unit_test(test_lookup_errors_counted_across_threads),
        cmocka_unit_test(test_every_bad_record_found),
    };
    return cmocka_run_group_tests_name("geo_open", tests, setup_dir, NULL);
}
