/*
 * fuzz_capture — the capture reader on arbitrary file contents (ingest
 * layer): the bytes are written to a memfd and read through rg_capture,
 * then gzip-compressed and read again. Unless the bytes are themselves
 * gzip (magic 1f 8b), both reads must give the same items: compression is
 * invisible to replay. When they are, gunzip.h (ISA-L's inflate, which
 * reads them) must give what zlib's gzread gives: the same bytes, and an
 * error exactly when gzread has one.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "ingest/capture.h"
#include "ingest/gunzip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A digest of everything the reader yielded. */
static uint64_t read_all(const char *path, uint64_t *items)
{
    rg_capture *c = rg_capture_new(&path, 1);
    if (!c)
        return 0;
    uint64_t h = 1469598103934665603ULL;
    rg_capture_item it;
    char err[256];
    rg_capture_status st;
    *items = 0;
    while ((st = rg_capture_next(c, &it, err, sizeof err)) != RG_CAPTURE_END) {
        (*items)++;
        h = (h ^ (uint64_t)st) * 1099511628211ULL;
        if (st == RG_CAPTURE_ERROR)
            break;
        if (st == RG_CAPTURE_REJECT)
            h = (h ^ (uint64_t)it.reject.kind) * 1099511628211ULL;
        else
            h = (h ^ (uint64_t)it.event.ts_ms ^ it.event.event_id_len) * 1099511628211ULL;
        if (!strchr(it.source, ':'))
            abort();
    }
    rg_capture_free(c);
    return h;
}

/* The stream at path through gunzip (ok: no error) and through zlib's
 * gzread: abort unless both end alike with the same bytes. Only the
 * first 4 MB out are compared (a small input may inflate to far more). */
static void gunzip_as_zlib(const char *path)
{
    enum { CAP = 4 << 20 };
    static unsigned char a[CAP], b[CAP];
    size_t na = 0, nb = 0;
    bool a_ok = true, b_ok = true;
    int fd = open(path, O_RDONLY);
    rg_gunzip *g = fd >= 0 ? rg_gunzip_open(fd) : NULL;
    if (!g)
        return;
    for (;;) {
        ssize_t n = rg_gunzip_read(g, a + na, na < CAP ? CAP - na : 1);
        if (n < 0)
            a_ok = false;
        if (n <= 0 || na == CAP)
            break;
        na += (size_t)n;
    }
    rg_gunzip_close(g);
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return;
    for (;;) {
        int n = gzread(gz, b + nb, nb < CAP ? (unsigned)(CAP - nb) : 1);
        int errnum = Z_OK;
        if (n == 0)
            (void)gzerror(gz, &errnum);
        if (n < 0 || errnum != Z_OK)
            b_ok = false;
        if (n <= 0 || nb == CAP)
            break;
        nb += (size_t)n;
    }
    gzclose(gz);
    if (na == CAP || nb == CAP) /* cut short: compare the bytes only */
        a_ok = b_ok = true;
    if (a_ok != b_ok || (a_ok && (na != nb || memcmp(a, b, na) != 0)))
        abort();
}

static int memfd_with(const void *bytes, size_t len, char *path, size_t path_size)
{
    int fd = memfd_create("fuzz_capture", 0);
    if (fd < 0)
        return -1;
    if (len && write(fd, bytes, len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char plain_path[64], gz_path[64];
    int fd = memfd_with(data, size, plain_path, sizeof plain_path);
    if (fd < 0)
        return 0;
    uint64_t n_plain, n_gz;
    uint64_t h_plain = read_all(plain_path, &n_plain);
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b)
        gunzip_as_zlib(plain_path);
    close(fd);

    uLongf cap = compressBound((uLong)size) + 32;
    unsigned char *gz = malloc(cap);
    if (!gz)
        return 0;
    z_stream zs = {0};
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK) {
        zs.next_in = (Bytef *)data;
        zs.avail_in = (uInt)size;
        zs.next_out = gz;
        zs.avail_out = (uInt)cap;
        int rc = deflate(&zs, Z_FINISH);
        size_t gz_len = zs.total_out;
        deflateEnd(&zs);
        if (rc == Z_STREAM_END && (fd = memfd_with(gz, gz_len, gz_path, sizeof gz_path)) >= 0) {
            uint64_t h_gz = read_all(gz_path, &n_gz);
            close(fd);
            bool is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
            if (!is_gzip && (h_gz != h_plain || n_gz != n_plain))
                abort();
        }
    }
    free(gz);
    return 0;
}
