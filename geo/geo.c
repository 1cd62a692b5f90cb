/*
 * geo.c — IP geolocation over a MaxMind DB; the contract is geo/geo.h.
 * Owner: the GeoIP module. Design notes and the two layouts: docs/geoip.md.
 *
 * A handle is an MMDB_s opened with MMDB_MODE_MMAP plus the layout found at
 * open time. Nothing in it changes after rg_geo_open, which is why lookups
 * from several threads need no lock, and why there is no cache here: a
 * lookup is a tree walk over mapped memory and a few map scans (well under a
 * microsecond), and callers that ask twice about one event's IP memoise it.
 */
#include "geo/geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <maxminddb.h>

struct rg_geo {
    MMDB_s mmdb;
    rg_geo_layout layout;
};

/* What reading one field of a record gave. A field that is missing, or has
 * a type we do not expect, is "absent": a database from another producer
 * must degrade to less information, never to a crash or a wrong value. */
typedef enum field_status { FIELD_CORRUPT = -1, FIELD_ABSENT = 0, FIELD_PRESENT = 1 } field_status;

/* How many search-tree nodes and data records the layout probe may look at.
 * The first data record is normally a few dozen nodes down the leftmost
 * path; the bounds only matter for odd or corrupt trees (a cycle would
 * otherwise never end). */
enum { PROBE_MAX_NODES = 1 << 16, PROBE_MAX_RECORDS = 256, PROBE_STACK = 2 * 129 };

static void set_error(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (!errstr || errstr_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

static field_status get_field(MMDB_entry_s *entry, const char *const *path, MMDB_entry_data_s *data)
{
    int status = MMDB_aget_value(entry, data, path);
    switch (status) {
    case MMDB_SUCCESS:
        return data->has_data ? FIELD_PRESENT : FIELD_ABSENT;
    case MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR: /* e.g. "country" is a string, not a map */
    case MMDB_INVALID_LOOKUP_PATH_ERROR:             /* e.g. "names" is an array */
        return FIELD_ABSENT;
    default: /* MMDB_INVALID_DATA_ERROR, MMDB_OUT_OF_MEMORY_ERROR, ...: the file is bad */
        return FIELD_CORRUPT;
    }
}

/* A numeric field as a double, whatever numeric type the producer chose:
 * MaxMind writes double lat/lon and uint16 radii, the npm package float
 * lat/lon, other writers ints. Anything else is absent. */
static field_status get_number(MMDB_entry_s *entry, const char *const *path, double *value)
{
    MMDB_entry_data_s data;
    field_status st = get_field(entry, path, &data);
    if (st != FIELD_PRESENT)
        return st;
    switch (data.type) {
    case MMDB_DATA_TYPE_DOUBLE: *value = data.double_value; break;
    case MMDB_DATA_TYPE_FLOAT: *value = (double)data.float_value; break;
    case MMDB_DATA_TYPE_UINT16: *value = (double)data.uint16; break;
    case MMDB_DATA_TYPE_UINT32: *value = (double)data.uint32; break;
    case MMDB_DATA_TYPE_INT32: *value = (double)data.int32; break;
    case MMDB_DATA_TYPE_UINT64: *value = (double)data.uint64; break;
    default: return FIELD_ABSENT;
    }
    return isfinite(*value) ? FIELD_PRESENT : FIELD_ABSENT;
}

/* A non-empty UTF-8 string field, not NUL-terminated in the database. */
static field_status get_string(MMDB_entry_s *entry, const char *const *path, const char **s, size_t *len)
{
    MMDB_entry_data_s data;
    field_status st = get_field(entry, path, &data);
    if (st != FIELD_PRESENT)
        return st;
    /* The npm layout stores "" for an unknown city or country. */
    if (data.type != MMDB_DATA_TYPE_UTF8_STRING || data.data_size == 0)
        return FIELD_ABSENT;
    *s = data.utf8_string;
    *len = data.data_size;
    return FIELD_PRESENT;
}

static field_status read_country(MMDB_entry_s *entry, const char *const *path, char country[3])
{
    const char *s;
    size_t len;
    field_status st = get_string(entry, path, &s, &len);
    if (st != FIELD_PRESENT)
        return st;
    /* Only an alpha-2 code can be compared with another country; "CHN" or
     * "C1" would make new_device_remote_ip fire on a spelling difference. */
    if (len != 2)
        return FIELD_ABSENT;
    for (size_t i = 0; i < 2; i++) {
        char c = s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z')
            return FIELD_ABSENT;
        country[i] = c;
    }
    country[2] = '\0';
    return FIELD_PRESENT;
}

static field_status read_city(MMDB_entry_s *entry, const char *const *path, char *city, size_t city_size)
{
    const char *s;
    size_t len;
    field_status st = get_string(entry, path, &s, &len);
    if (st != FIELD_PRESENT)
        return st;
    if (len >= city_size) {
        len = city_size - 1;
        /* Cut before a multi-byte sequence rather than through it, so the
         * name stays valid UTF-8 for the JSON written downstream. */
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(city, s, len);
    city[len] = '\0';
    return FIELD_PRESENT;
}

static field_status read_position(MMDB_entry_s *entry, const char *const *lat_path,
                                  const char *const *lon_path, double *lat, double *lon)
{
    field_status st = get_number(entry, lat_path, lat);
    if (st != FIELD_PRESENT)
        return st;
    st = get_number(entry, lon_path, lon);
    if (st != FIELD_PRESENT)
        return st;
    if (fabs(*lat) > 90.0 || fabs(*lon) > 180.0)
        return FIELD_ABSENT;
    return FIELD_PRESENT;
}

static field_status read_accuracy(MMDB_entry_s *entry, const char *const *path, int32_t *accuracy_km)
{
    double v;
    field_status st = get_number(entry, path, &v);
    if (st != FIELD_PRESENT)
        return st;
    /* A radius bounds the error: round a fractional one up, never down. */
    v = ceil(v);
    if (v < 0)
        return FIELD_ABSENT;
    *accuracy_km = v > (double)INT32_MAX ? INT32_MAX : (int32_t)v;
    return FIELD_PRESENT;
}

/* Fill out from a record of either layout. Returns -1 on corrupt data. */
static int read_record(rg_geo_layout layout, MMDB_entry_s *entry, rg_geo_result *out)
{
    static const char *const flat_country[] = {"country_code", NULL};
    static const char *const flat_city[] = {"city", NULL};
    static const char *const flat_lat[] = {"latitude", NULL};
    static const char *const flat_lon[] = {"longitude", NULL};
    static const char *const mm_country[] = {"country", "iso_code", NULL};
    static const char *const mm_city[] = {"city", "names", "en", NULL};
    static const char *const mm_lat[] = {"location", "latitude", NULL};
    static const char *const mm_lon[] = {"location", "longitude", NULL};
    static const char *const mm_accuracy[] = {"location", "accuracy_radius", NULL};

    const bool flat = layout == RG_GEO_LAYOUT_FLAT;
    double lat = 0, lon = 0;
    field_status country_st = read_country(entry, flat ? flat_country : mm_country, out->country);
    field_status city_st = read_city(entry, flat ? flat_city : mm_city, out->city, sizeof out->city);
    field_status pos_st = read_position(entry, flat ? flat_lat : mm_lat, flat ? flat_lon : mm_lon, &lat, &lon);
    /* The npm layout has no accuracy field (none of its records carries
     * one), so accuracy_km stays 0 there: "the database gives none". */
    field_status acc_st = flat ? FIELD_ABSENT : read_accuracy(entry, mm_accuracy, &out->accuracy_km);
    if (country_st == FIELD_CORRUPT || city_st == FIELD_CORRUPT || pos_st == FIELD_CORRUPT ||
        acc_st == FIELD_CORRUPT)
        return -1;
    if (country_st != FIELD_PRESENT)
        out->country[0] = '\0';
    if (city_st != FIELD_PRESENT)
        out->city[0] = '\0';
    if (acc_st != FIELD_PRESENT)
        out->accuracy_km = 0;
    /* GeoLite2 gives country-level networks the country's centroid as
     * position; only a named city makes the position a place to measure
     * distance from (detection.md, ip_geo_mismatch). */
    out->city_level = city_st == FIELD_PRESENT && pos_st == FIELD_PRESENT;
    if (out->city_level) {
        out->lat = lat;
        out->lon = lon;
    }
    return 0;
}

/* Which layout one data record has: FLAT, MAXMIND, 0 when it has no key
 * of either (an empty map, an ASN record), -1 when unreadable. */
static int classify_record(MMDB_entry_s *entry)
{
    static const char *const flat_keys[] = {"country_code", "city", "latitude"};
    static const char *const maxmind_keys[] = {"country", "registered_country", "represented_country",
                                               "continent", "location", "subdivisions"};
    MMDB_entry_data_s data;
    const char *path[2] = {NULL, NULL};
    /* "city" is in both layouts (a string in flat, a map in MaxMind's), so
     * a flat key counts only when it is not a map. */
    for (size_t i = 0; i < sizeof flat_keys / sizeof flat_keys[0]; i++) {
        path[0] = flat_keys[i];
        field_status st = get_field(entry, path, &data);
        if (st == FIELD_CORRUPT)
            return -1;
        if (st == FIELD_PRESENT && data.type != MMDB_DATA_TYPE_MAP)
            return RG_GEO_LAYOUT_FLAT;
    }
    path[0] = "city";
    field_status st = get_field(entry, path, &data);
    if (st == FIELD_CORRUPT)
        return -1;
    if (st == FIELD_PRESENT && data.type == MMDB_DATA_TYPE_MAP)
        return RG_GEO_LAYOUT_MAXMIND;
    for (size_t i = 0; i < sizeof maxmind_keys / sizeof maxmind_keys[0]; i++) {
        path[0] = maxmind_keys[i];
        st = get_field(entry, path, &data);
        if (st == FIELD_CORRUPT)
            return -1;
        if (st == FIELD_PRESENT)
            return RG_GEO_LAYOUT_MAXMIND;
    }
    return 0;
}

/* Walk the search tree depth-first from the root and classify the first
 * data records met. Reading records is what lookups will do, so the record
 * shape decides, whatever database_type says. Returns the layout, 0 when no
 * record decides, -1 on a corrupt record. */
static int probe_layout(const MMDB_s *mmdb)
{
    uint32_t stack[PROBE_STACK];
    size_t depth = 0;
    unsigned nodes = 0, records = 0;
    if (mmdb->metadata.node_count == 0)
        return 0;
    stack[depth++] = 0;
    while (depth > 0 && nodes < PROBE_MAX_NODES && records < PROBE_MAX_RECORDS) {
        MMDB_search_node_s node;
        if (MMDB_read_node(mmdb, stack[--depth], &node) != MMDB_SUCCESS)
            return -1;
        nodes++;
        const uint8_t types[2] = {node.left_record_type, node.right_record_type};
        MMDB_entry_s entries[2] = {node.left_record_entry, node.right_record_entry};
        const uint64_t next[2] = {node.left_record, node.right_record};
        for (int side = 0; side < 2; side++) {
            if (types[side] != MMDB_RECORD_TYPE_DATA)
                continue;
            records++;
            int layout = classify_record(&entries[side]);
            if (layout != 0)
                return layout;
        }
        /* Right first, so the left subtree (lower addresses) is read first. */
        for (int side = 1; side >= 0; side--) {
            if (types[side] == MMDB_RECORD_TYPE_SEARCH_NODE && depth < PROBE_STACK)
                stack[depth++] = (uint32_t)next[side];
        }
    }
    return 0;
}

/* For a database without any telling record (empty, or only records with
 * neither layout's keys): the producers' type names. */
static rg_geo_layout layout_from_type(const char *type)
{
    static const char *const maxmind_prefixes[] = {"GeoIP2-", "GeoLite2-", "GeoIP-", "DBIP-"};
    static const char *const flat_types[] = {"city ipv4", "city ipv6", "country ipv4", "country ipv6"};
    if (!type)
        return 0;
    for (size_t i = 0; i < sizeof maxmind_prefixes / sizeof maxmind_prefixes[0]; i++) {
        if (strncmp(type, maxmind_prefixes[i], strlen(maxmind_prefixes[i])) == 0 &&
            (strstr(type, "City") || strstr(type, "Country") || strstr(type, "Enterprise")))
            return RG_GEO_LAYOUT_MAXMIND;
    }
    for (size_t i = 0; i < sizeof flat_types / sizeof flat_types[0]; i++) {
        if (strcmp(type, flat_types[i]) == 0)
            return RG_GEO_LAYOUT_FLAT;
    }
    return 0;
}

/* Why a file cannot be opened and mapped. libmaxminddb's own message for
 * an I/O error is one generic sentence and its errno does not survive its
 * cleanup, so ask again: missing, unreadable, a directory. */
static const char *io_error_reason(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return strerror(errno);
    if (S_ISDIR(st.st_mode))
        return strerror(EISDIR);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return strerror(errno);
    close(fd);
    return NULL;
}

rg_geo *rg_geo_open(const char *path, char *errstr, size_t errstr_size)
{
    rg_geo *g = NULL;
    if (!path || !*path) {
        set_error(errstr, errstr_size, "no GeoIP database path given");
        return NULL;
    }
    g = calloc(1, sizeof *g);
    if (!g) {
        set_error(errstr, errstr_size, "%s: out of memory", path);
        return NULL;
    }
    int status = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
    if (status != MMDB_SUCCESS) {
        /* MMDB_open has already released what it allocated. */
        const char *io_reason =
            status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR ? io_error_reason(path) : NULL;
        if (io_reason)
            set_error(errstr, errstr_size, "%s: %s (%s)", path, MMDB_strerror(status), io_reason);
        else
            set_error(errstr, errstr_size, "%s: %s", path, MMDB_strerror(status));
        free(g);
        return NULL;
    }
    const char *type = g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "";
    int layout = probe_layout(&g->mmdb);
    if (layout < 0) {
        set_error(errstr, errstr_size, "%s: %s", path, MMDB_strerror(MMDB_INVALID_DATA_ERROR));
        goto fail;
    }
    if (layout == 0)
        layout = layout_from_type(type);
    if (layout == 0) {
        set_error(errstr, errstr_size,
                  "%s: not a city or country database (database_type \"%s\"; records have "
                  "neither country_code nor country.iso_code)",
                  path, type);
        goto fail;
    }
    g->layout = (rg_geo_layout)layout;
    return g;

fail:
    MMDB_close(&g->mmdb);
    free(g);
    return NULL;
}

void rg_geo_close(rg_geo *g)
{
    if (!g)
        return;
    MMDB_close(&g->mmdb);
    free(g);
}

rg_geo_layout rg_geo_get_layout(const rg_geo *g)
{
    return g ? g->layout : (rg_geo_layout)0;
}

const char *rg_geo_layout_name(rg_geo_layout layout)
{
    switch (layout) {
    case RG_GEO_LAYOUT_FLAT: return "flat";
    case RG_GEO_LAYOUT_MAXMIND: return "maxmind";
    }
    return "unknown";
}

uint64_t rg_geo_build_epoch(const rg_geo *g)
{
    return g ? g->mmdb.metadata.build_epoch : 0;
}

const char *rg_geo_database_type(const rg_geo *g)
{
    return g && g->mmdb.metadata.database_type ? g->mmdb.metadata.database_type : "";
}

int rg_geo_lookup(const rg_geo *g, int family, const unsigned char *addr, rg_geo_result *out)
{
    static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa;

    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!g || !addr)
        return -1;
    memset(&sa, 0, sizeof sa);
    /* ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket.
     * Looking it up as IPv4 finds it in an IPv4-only database (the npm
     * one) and in an IPv6 one whether or not it aliases ::ffff:0:0/96
     * (libmaxminddb puts IPv4 lookups in the ::/96 subtree). */
    if (family == AF_INET6 && memcmp(addr, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0) {
        family = AF_INET;
        addr += sizeof v4_mapped_prefix;
    }
    if (family == AF_INET) {
        sa.in4.sin_family = AF_INET;
        memcpy(&sa.in4.sin_addr, addr, 4);
    } else if (family == AF_INET6) {
        /* An IPv4-only database says nothing about IPv6: not found, not an
         * error (libmaxminddb would call it one). */
        if (g->mmdb.metadata.ip_version == 4)
            return 0;
        sa.in6.sin6_family = AF_INET6;
        memcpy(&sa.in6.sin6_addr, addr, 16);
    } else {
        return -1;
    }

    int mmdb_error = MMDB_SUCCESS;
    MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&g->mmdb, &sa.sa, &mmdb_error);
    if (mmdb_error != MMDB_SUCCESS)
        return -1;
    if (!result.found_entry)
        return 0;
    if (read_record(g->layout, &result.entry, out) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    out->found = true;
    return 0;
}

int rg_geo_lookup_str(const rg_geo *g, const char *ip, rg_geo_result *out)
{
    unsigned char addr[16];
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!ip)
        return -1;
    if (inet_pton(AF_INET, ip, addr) == 1)
        return rg_geo_lookup(g, AF_INET, addr, out);
    if (inet_pton(AF_INET6, ip, addr) == 1)
        return rg_geo_lookup(g, AF_INET6, addr, out);
    return -1;
}

double rg_geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    /* IUGG mean Earth radius: the sphere that best fits the ellipsoid, so
     * the error against the true (geodesic) distance stays within ~0.5%. */
    static const double earth_radius_km = 6371.0088;
    static const double rad_per_deg = 3.14159265358979323846 / 180.0;
    const double phi1 = lat1 * rad_per_deg, phi2 = lat2 * rad_per_deg;
    const double half_dphi = (lat2 - lat1) * rad_per_deg / 2.0;
    /* sin² of half the longitude difference is periodic, so a pair across
     * the antimeridian (179.5 and -179.5) comes out 1 degree apart. */
    const double half_dlambda = (lon2 - lon1) * rad_per_deg / 2.0;
    const double s_phi = sin(half_dphi), s_lambda = sin(half_dlambda);
    double h = s_phi * s_phi + cos(phi1) * cos(phi2) * s_lambda * s_lambda;
    /* Rounding can take h a hair past 1 for near-antipodal points, and
     * asin of more than 1 is NaN. (A NaN input still gives NaN.) */
    if (h > 1.0)
        h = 1.0;
    else if (h < 0.0)
        h = 0.0;
    return 2.0 * earth_radius_km * asin(sqrt(h));
}
