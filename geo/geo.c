/*
 * geo.c — IP geolocation over MaxMind DB files; the contract is geo/geo.h.
 * Owner: the GeoIP module. Design notes and the two layouts: docs/geoip.md.
 * Reading records and detecting layouts: geo_record.c.
 *
 * A handle is up to RG_GEO_MAX_DATABASES MMDB_s opened with MMDB_MODE_MMAP,
 * each with the layout and the address families found at open time.
 * Nothing in it changes after opening, which is why lookups from several
 * threads need no lock, and why there is no cache here: a lookup is one or
 * two tree walks over mapped memory and a few map scans (well under a
 * microsecond), and callers that ask twice about one event's IP memoise it.
 */
#include "geo/geo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <maxminddb.h>

#include "geo/geo_record.h"
#include "geo/geo_tree.h"

typedef struct geo_db {
    MMDB_s mmdb;
    char *path;
    rg_geo_layout layout;
    bool answers_ipv4, answers_ipv6;
} geo_db;

struct rg_geo {
    size_t n_dbs;
    geo_db dbs[RG_GEO_MAX_DATABASES]; /* priority order */
    /* Lookups that failed on a database error, from any thread: the one
     * thing in a handle that changes after opening (a relaxed counter,
     * so lookups still take no lock). */
    _Atomic uint64_t lookup_errors;
};

/* Count a lookup that failed on a database error. The handle is const to
 * lookups; the counter is the one field they may change (the handle was
 * allocated writable, so writing through a cast is defined). */
static void count_lookup_error(const rg_geo *g)
{
    atomic_fetch_add_explicit((_Atomic uint64_t *)&g->lookup_errors, 1, memory_order_relaxed);
}

uint64_t rg_geo_lookup_errors(const rg_geo *g)
{
    return g ? atomic_load_explicit(&g->lookup_errors, memory_order_relaxed) : 0;
}

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

/* Whether an IPv6 tree holds any IPv4 data, i.e. whether the 96 zero bits
 * of ::/96 lead to a node or a record rather than to "empty". The npm
 * geolite2-city-ipv6 file has nothing there, and asking it about every
 * IPv4 address another database did not hold would only cost time.
 * Returns 1, 0, or -1 on a corrupt tree. */
static int tree_holds_ipv4(const MMDB_s *mmdb)
{
    uint32_t node = 0;
    if (mmdb->metadata.node_count == 0)
        return 0;
    for (int bit = 0; bit < 96; bit++) {
        MMDB_search_node_s sn;
        if (MMDB_read_node(mmdb, node, &sn) != MMDB_SUCCESS)
            return -1;
        switch (sn.left_record_type) {
        case MMDB_RECORD_TYPE_SEARCH_NODE: node = (uint32_t)sn.left_record; break;
        case MMDB_RECORD_TYPE_EMPTY: return 0;
        case MMDB_RECORD_TYPE_DATA: return 1; /* a network that contains ::/96 */
        default: return -1;
        }
    }
    return 1;
}

/* Metadata that contradicts the file, and every search-tree record, are
 * checked once at open (issue 12.10): libmaxminddb checks the metadata's
 * types and that the tree fits the file, but a record pointing past the
 * data section (or into the 16-byte separator, or back to the root) is
 * only found by the lookup that walks through it, which would then fail
 * for that one address range, silently changing decisions. A walk over
 * every node costs a few ms for the pinned files (docs/geoip.md).
 * 0, or -1 with the reason (starting with the path) in errstr. */
static int check_consistent(const geo_db *db, const char *path, char *errstr, size_t errstr_size)
{
    const MMDB_s *m = &db->mmdb;
    const MMDB_metadata_s *md = &m->metadata;
    if (md->binary_format_major_version != 2) {
        set_error(errstr, errstr_size, "%s: inconsistent metadata: binary_format_major_version %u (expected 2)",
                  path, md->binary_format_major_version);
        return -1;
    }
    if (md->ip_version != 4 && md->ip_version != 6) {
        set_error(errstr, errstr_size, "%s: inconsistent metadata: ip_version %u (expected 4 or 6)", path,
                  md->ip_version);
        return -1;
    }
    if (md->record_size != 24 && md->record_size != 28 && md->record_size != 32) {
        set_error(errstr, errstr_size, "%s: inconsistent metadata: record_size %u (expected 24, 28 or 32)", path,
                  md->record_size);
        return -1;
    }
    uint64_t tree_size = (uint64_t)md->node_count * md->record_size / 4;
    if (md->node_count == 0 || m->file_size < 0 || tree_size + 16 > (uint64_t)m->file_size ||
        m->data_section != m->file_content + tree_size + 16) {
        set_error(errstr, errstr_size,
                  "%s: inconsistent metadata: node_count %u with %u-bit records does not fit the %lld-byte file",
                  path, md->node_count, md->record_size, (long long)m->file_size);
        return -1;
    }
    static const unsigned char separator[16];
    if (memcmp(m->file_content + tree_size, separator, sizeof separator) != 0) {
        set_error(errstr, errstr_size,
                  "%s: inconsistent search tree: the 16 bytes after its %u nodes are not zero (wrong node_count?)",
                  path, md->node_count);
        return -1;
    }
    /* The walk touches every page of the tree once: ask for them in one
     * go (Linux 5.14+; elsewhere faults bring them one by one). */
#ifdef MADV_POPULATE_READ
    (void)madvise((void *)m->file_content, (size_t)tree_size, MADV_POPULATE_READ);
#endif
    const uint64_t node_count = md->node_count, data_end = node_count + 16 + m->data_section_size;
    const unsigned node_bytes = md->record_size / 4;
    uint64_t first_bad = rg_geo_first_bad_node(m->file_content, node_count, md->record_size, data_end);
    if (first_bad == node_count)
        return 0;
    uint64_t left, right;
    rg_geo_node_records(m->file_content + first_bad * node_bytes, md->record_size, &left, &right);
    bool left_bad = RG_GEO_RECORD_BAD(left, node_count, data_end);
    set_error(errstr, errstr_size,
              "%s: inconsistent search tree: node %llu's %s record is %llu, neither a node (1..%llu), "
              "empty (%llu) nor in the %u-byte data section",
              path, (unsigned long long)first_bad, left_bad ? "left" : "right",
              (unsigned long long)(left_bad ? left : right), (unsigned long long)node_count - 1,
              (unsigned long long)node_count, m->data_section_size);
    return -1;
}

/* Open one database into *db (zeroed by the caller). 0, or -1 with the
 * reason (starting with the path) in errstr and nothing left open. */
static int open_db(geo_db *db, const char *path, char *errstr, size_t errstr_size)
{
    if (!path || !*path) {
        set_error(errstr, errstr_size, "no GeoIP database path given");
        return -1;
    }
    int status = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    if (status != MMDB_SUCCESS) {
        /* MMDB_open has already released what it allocated. */
        const char *io_reason =
            status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR ? io_error_reason(path) : NULL;
        if (io_reason)
            set_error(errstr, errstr_size, "%s: %s (%s)", path, MMDB_strerror(status), io_reason);
        else
            set_error(errstr, errstr_size, "%s: %s", path, MMDB_strerror(status));
        return -1;
    }
    if (check_consistent(db, path, errstr, errstr_size) != 0)
        goto fail;
    const char *type = db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "";
    int layout = rg_geo_probe_layout(&db->mmdb);
    if (layout < 0) {
        set_error(errstr, errstr_size, "%s: %s", path, MMDB_strerror(MMDB_INVALID_DATA_ERROR));
        goto fail;
    }
    if (layout == 0)
        layout = rg_geo_layout_from_type(type);
    if (layout == 0) {
        set_error(errstr, errstr_size,
                  "%s: not a city or country database (database_type \"%s\"; records have "
                  "neither country_code nor country.iso_code)",
                  path, type);
        goto fail;
    }
    db->layout = (rg_geo_layout)layout;
    if (db->mmdb.metadata.ip_version == 4) {
        db->answers_ipv4 = true;
    } else {
        int holds_ipv4 = tree_holds_ipv4(&db->mmdb);
        if (holds_ipv4 < 0) {
            set_error(errstr, errstr_size, "%s: %s", path, MMDB_strerror(MMDB_CORRUPT_SEARCH_TREE_ERROR));
            goto fail;
        }
        db->answers_ipv4 = holds_ipv4 == 1;
        db->answers_ipv6 = true;
    }
    db->path = strdup(path);
    if (!db->path) {
        set_error(errstr, errstr_size, "%s: out of memory", path);
        goto fail;
    }
    return 0;

fail:
    MMDB_close(&db->mmdb);
    return -1;
}

static void close_db(geo_db *db)
{
    MMDB_close(&db->mmdb);
    free(db->path);
}

rg_geo *rg_geo_open(const char *path, char *errstr, size_t errstr_size)
{
    return rg_geo_open_many(&path, 1, errstr, errstr_size);
}

rg_geo *rg_geo_open_many(const char *const *paths, size_t n_paths, char *errstr, size_t errstr_size)
{
    if (!paths || n_paths == 0) {
        set_error(errstr, errstr_size, "no GeoIP database path given");
        return NULL;
    }
    if (n_paths > RG_GEO_MAX_DATABASES) {
        set_error(errstr, errstr_size, "%zu GeoIP databases given, at most %d can be used together", n_paths,
                  RG_GEO_MAX_DATABASES);
        return NULL;
    }
    rg_geo *g = calloc(1, sizeof *g);
    if (!g) {
        set_error(errstr, errstr_size, "%s: out of memory", paths[0] ? paths[0] : "GeoIP database");
        return NULL;
    }
    for (size_t i = 0; i < n_paths; i++) {
        if (open_db(&g->dbs[i], paths[i], errstr, errstr_size) != 0)
            goto fail;
        g->n_dbs++;
    }
    return g;

fail:
    rg_geo_close(g);
    return NULL;
}

void rg_geo_close(rg_geo *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_dbs; i++)
        close_db(&g->dbs[i]);
    free(g);
}

size_t rg_geo_database_count(const rg_geo *g)
{
    return g ? g->n_dbs : 0;
}

int rg_geo_database(const rg_geo *g, size_t i, rg_geo_database_info *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!g || i >= g->n_dbs)
        return -1;
    const geo_db *db = &g->dbs[i];
    out->path = db->path;
    out->database_type = db->mmdb.metadata.database_type ? db->mmdb.metadata.database_type : "";
    out->layout = db->layout;
    out->ip_version = db->mmdb.metadata.ip_version;
    out->answers_ipv4 = db->answers_ipv4;
    out->answers_ipv6 = db->answers_ipv6;
    out->build_epoch = db->mmdb.metadata.build_epoch;
    return 0;
}

rg_geo_layout rg_geo_get_layout(const rg_geo *g)
{
    return g && g->n_dbs ? g->dbs[0].layout : (rg_geo_layout)0;
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
    return g && g->n_dbs ? g->dbs[0].mmdb.metadata.build_epoch : 0;
}

const char *rg_geo_database_type(const rg_geo *g)
{
    return g && g->n_dbs && g->dbs[0].mmdb.metadata.database_type ? g->dbs[0].mmdb.metadata.database_type : "";
}

/* An AF_INET address's walk down an IPv4 tree (ip_version 4), as
 * MMDB_lookup_sockaddr walks it (libmaxminddb's find_address_in_search_tree:
 * one bit a node from the root, up to its 32-bit depth, until a record is
 * not a node), reading the big-endian records in place: ~8 instructions a
 * node for 24-bit records against ~20 through the library's record getters
 * and its sockaddr and result set-up. true with *found and *offset (in the
 * data section, the library's entry.offset) when the walk ends empty or in
 * data; false when libmaxminddb is to be asked instead: another tree, or
 * an end it would answer with an error or oddly (a node after 32 bits, a
 * record past the data), which the check at open (find_bad_node) refuses
 * anyway. test_geo_lookup compares the two over many addresses. */
static bool walk_ipv4(const MMDB_s *m, const unsigned char *addr, bool *found, uint32_t *offset)
{
    const MMDB_metadata_s *md = &m->metadata;
    if (md->ip_version != 4 || m->depth != 32)
        return false;
    const uint64_t node_count = md->node_count;
    const uint8_t *tree = m->file_content;
    uint32_t a = (uint32_t)addr[0] << 24 | (uint32_t)addr[1] << 16 | (uint32_t)addr[2] << 8 | addr[3];
    uint64_t value = 0;
    int bit = 0;
    if (md->record_size == 24) {
        /* A record's three bytes and the next one, read as a word: the
         * last node's right record is followed by the 16 zero bytes the
         * check at open found after the tree, so the fourth is in the
         * file. The address's next bit is the top of `rest`. */
        uint32_t rest = a;
        for (; bit < 32 && value < node_count; bit++, rest <<= 1) {
            uint32_t word;
            memcpy(&word, tree + value * 6 + (rest >> 31) * 3, sizeof word);
            value = __builtin_bswap32(word) >> 8;
        }
    } else {
        for (; bit < 32 && value < node_count; bit++) {
            uint64_t left, right;
            rg_geo_node_records(tree + value * (md->record_size / 4), md->record_size, &left, &right);
            value = a >> (31 - bit) & 1 ? right : left;
        }
    }
    /* A node after 32 bits, a record in the separator, or one at or past
     * node_count + data_section_size (the library's own bound, which
     * leaves out the separator's 16 bytes): the library's answer. */
    if (value < node_count ||
        (value > node_count && (value < node_count + 16 || value >= node_count + m->data_section_size)))
        return false;
    *found = value > node_count;
    *offset = *found ? (uint32_t)(value - node_count - 16) : 0;
    return true;
}

int rg_geo_locate(const rg_geo *g, int family, const unsigned char *addr, rg_geo_record_ref *ref)
{
    static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } sa;

    if (!ref)
        return -1;
    memset(ref, 0, sizeof *ref);
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
        sa.in6.sin6_family = AF_INET6;
        memcpy(&sa.in6.sin6_addr, addr, 16);
    } else {
        return -1;
    }

    for (size_t i = 0; i < g->n_dbs; i++) {
        const geo_db *db = &g->dbs[i];
        /* A database that cannot hold the family says nothing about it:
         * skip it (libmaxminddb would call IPv6 in an IPv4 tree an error). */
        if (family == AF_INET ? !db->answers_ipv4 : !db->answers_ipv6)
            continue;
        bool found;
        uint32_t offset;
        if (family == AF_INET && walk_ipv4(&db->mmdb, addr, &found, &offset)) {
            if (!found)
                continue;
            ref->found = true;
            ref->db = (uint32_t)i;
            ref->offset = offset;
            return 0;
        }
        int mmdb_error = MMDB_SUCCESS;
        MMDB_lookup_result_s result = MMDB_lookup_sockaddr(&db->mmdb, &sa.sa, &mmdb_error);
        if (mmdb_error != MMDB_SUCCESS) {
            count_lookup_error(g);
            return -1;
        }
        if (!result.found_entry)
            continue;
        ref->found = true;
        ref->db = (uint32_t)i;
        ref->offset = result.entry.offset;
        return 0;
    }
    return 0;
}

int rg_geo_read(const rg_geo *g, const rg_geo_record_ref *ref, rg_geo_result *out)
{
    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!g || !ref || ref->db >= g->n_dbs)
        return -1;
    if (!ref->found)
        return 0;
    const geo_db *db = &g->dbs[ref->db];
    MMDB_entry_s entry = {.mmdb = &db->mmdb, .offset = ref->offset};
    if (rg_geo_read_record(db->layout, &entry, out) != 0) {
        memset(out, 0, sizeof *out);
        count_lookup_error(g);
        return -1;
    }
    out->found = true;
    return 0;
}

int rg_geo_lookup(const rg_geo *g, int family, const unsigned char *addr, rg_geo_result *out)
{
    rg_geo_record_ref ref;
    if (!out)
        return -1;
    if (rg_geo_locate(g, family, addr, &ref) != 0) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    return rg_geo_read(g, &ref, out);
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
