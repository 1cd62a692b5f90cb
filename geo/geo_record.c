/*
 * geo_record.c — what one record of either layout says, and which layout a
 * database has (geo/geo_record.h, internal to geo/). The layouts and the
 * detection rules: docs/geoip.md. Owner: the GeoIP module.
 */
#include "geo/geo_record.h"

#include <math.h>
#include <string.h>

/* How many search-tree nodes and data records the layout probe may look at.
 * The first data record is normally a few dozen nodes down the leftmost
 * path; the bounds only matter for odd or corrupt trees (a cycle would
 * otherwise never end). */
enum { PROBE_MAX_NODES = 1 << 16, PROBE_MAX_RECORDS = 256, PROBE_STACK = 2 * 129 };

/* What reading one field of a record gave. A field that is missing, or has
 * a type we do not expect, is "absent": a database from another producer
 * must degrade to less information, never to a crash or a wrong value. */
typedef enum field_status { FIELD_CORRUPT = -1, FIELD_ABSENT = 0, FIELD_PRESENT = 1 } field_status;

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
int rg_geo_read_record(rg_geo_layout layout, MMDB_entry_s *entry, rg_geo_result *out)
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
int rg_geo_probe_layout(const MMDB_s *mmdb)
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
rg_geo_layout rg_geo_layout_from_type(const char *type)
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
