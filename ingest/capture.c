/*
 * capture — reading captured traffic for replay (capture.h). Owned by the
 * ingest layer.
 *
 * Every file, plain or gzip, goes through zlib's gz* reader: it recognises
 * gzip by its magic bytes (1f 8b), reads concatenated members as one
 * stream, and passes any other file through unchanged, so there is one code
 * path. Lines are cut from a large read buffer and handed to the parser in
 * place; only a line that straddles two reads is copied, and only its
 * first RG_CAPTURE_MAX_LINE + 1 bytes are kept: an endless line costs
 * bounded memory and is rejected once its newline comes.
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "event_parse.h"

/* Big enough that a read costs little per line, small enough to stay out
 * of the allocators' mmap path (zlib's own buffers are twice GZ_BUFFER). */
#define READ_SIZE (64 * 1024)
#define GZ_BUFFER (32 * 1024)

struct rg_capture {
    char **paths;
    size_t n_paths, cur;      /* cur: the file being read (== n_paths at the end) */
    gzFile gz;                /* NULL when no file is open */
    uint64_t *sizes;          /* st_size of each regular file, 0 otherwise */
    uint64_t total;           /* sum of sizes; 0 when any input has no size */
    uint64_t done_before;     /* compressed bytes of the files already read */
    unsigned char *buf;       /* read buffer: buf[pos..len) not yet cut into lines */
    size_t pos, len;
    bool file_eof;
    char *line;               /* a line that straddles reads (first MAX+1 bytes) */
    size_t line_len, line_cap;
    uint64_t line_total;      /* its full length, however long */
    bool line_pending;
    uint64_t line_no;
    rg_event_parser *parser;
    char *source;             /* "path:" + line number */
    size_t source_prefix, source_cap;
    bool failed;
    char error[512];
    rg_capture_stats stats;
};

rg_capture *rg_capture_new(const char *const *paths, size_t n_paths)
{
    rg_capture *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->paths = calloc(n_paths ? n_paths : 1, sizeof *c->paths);
    c->sizes = calloc(n_paths ? n_paths : 1, sizeof *c->sizes);
    c->buf = malloc(READ_SIZE);
    c->parser = rg_event_parser_new();
    if (!c->paths || !c->sizes || !c->buf || !c->parser)
        goto fail;
    c->n_paths = n_paths;
    bool sized = true;
    for (size_t i = 0; i < n_paths; i++) {
        c->paths[i] = strdup(paths[i]);
        if (!c->paths[i])
            goto fail;
        struct stat st;
        /* Only a size for progress: a missing file is reported when reached. */
        if (strcmp(paths[i], "-") != 0 && stat(paths[i], &st) == 0 && S_ISREG(st.st_mode))
            c->sizes[i] = (uint64_t)st.st_size;
        else
            sized = false;
        c->total += c->sizes[i];
    }
    if (!sized)
        c->total = 0;
    return c;
fail:
    rg_capture_free(c);
    return NULL;
}

void rg_capture_free(rg_capture *c)
{
    if (!c)
        return;
    if (c->gz)
        gzclose(c->gz);
    for (size_t i = 0; c->paths && i < c->n_paths; i++)
        free(c->paths[i]);
    free(c->paths);
    free(c->sizes);
    free(c->buf);
    free(c->line);
    free(c->source);
    rg_event_parser_free(c->parser);
    free(c);
}

const rg_capture_stats *rg_capture_get_stats(const rg_capture *c) { return &c->stats; }

void rg_capture_progress(const rg_capture *c, uint64_t *done, uint64_t *total)
{
    uint64_t d = c->done_before;
    if (c->gz) {
        z_off_t off = gzoffset(c->gz);
        if (off > 0)
            d += (uint64_t)off;
    }
    *done = d;
    *total = c->total;
}

static rg_capture_status fail(rg_capture *c, const char *fmt, const char *path, const char *why)
{
    snprintf(c->error, sizeof c->error, fmt, path, why);
    c->failed = true;
    if (c->gz) {
        gzclose(c->gz);
        c->gz = NULL;
    }
    return RG_CAPTURE_ERROR;
}

static rg_capture_status open_next(rg_capture *c)
{
    const char *path = c->paths[c->cur];
    bool is_stdin = strcmp(path, "-") == 0;
    /* dup() stdin so that gzclose leaves the process's stdin open. */
    int fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(c, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return fail(c, "%s: cannot read: %s", path, strerror(EISDIR));
    }
    c->gz = gzdopen(fd, "rb");
    if (!c->gz) {
        close(fd);
        return fail(c, "%s: cannot open: %s", path, "out of memory");
    }
    gzbuffer(c->gz, GZ_BUFFER);
    c->pos = c->len = 0;
    c->file_eof = false;
    c->line_pending = false;
    c->line_no = 0;
    size_t plen = strlen(is_stdin ? "-" : path);
    if (plen + 24 > c->source_cap) {
        char *s = realloc(c->source, plen + 24);
        if (!s)
            return fail(c, "%s: cannot open: %s", path, "out of memory");
        c->source = s;
        c->source_cap = plen + 24;
    }
    memcpy(c->source, is_stdin ? "-" : path, plen);
    c->source[plen] = ':';
    c->source_prefix = plen + 1;
    return RG_CAPTURE_EVENT;
}

/* Keep the first MAX+1 bytes of a straddling line (the buffer grows to
 * what lines need, at most that); count the rest. */
static bool line_append(rg_capture *c, const unsigned char *p, size_t n)
{
    size_t room = RG_CAPTURE_MAX_LINE + 1 - c->line_len;
    size_t keep = n < room ? n : room;
    if (c->line_len + keep > c->line_cap) {
        size_t cap = c->line_cap ? c->line_cap : 4096;
        while (cap < c->line_len + keep)
            cap *= 2;
        if (cap > RG_CAPTURE_MAX_LINE + 1)
            cap = RG_CAPTURE_MAX_LINE + 1;
        char *l = realloc(c->line, cap);
        if (!l)
            return false;
        c->line = l;
        c->line_cap = cap;
    }
    if (keep)
        memcpy(c->line + c->line_len, p, keep);
    c->line_len += keep;
    c->line_total += n;
    return true;
}

/* Next physical line (without '\n'): 1 with line, len and total set, 0 at
 * the end of the current file, -1 on a read error. *len <= MAX+1. */
static int read_line(rg_capture *c, const char **line, size_t *len, uint64_t *total)
{
    for (;;) {
        if (c->pos < c->len) {
            unsigned char *start = c->buf + c->pos;
            unsigned char *nl = memchr(start, '\n', c->len - c->pos);
            size_t n = nl ? (size_t)(nl - start) : c->len - c->pos;
            c->pos += n + (nl ? 1 : 0);
            if (nl && !c->line_pending) { /* the common case: no copy */
                *line = (const char *)start;
                *len = n;
                *total = n;
                return 1;
            }
            if (!c->line_pending) {
                c->line_pending = true;
                c->line_len = 0;
                c->line_total = 0;
            }
            if (!line_append(c, start, n)) {
                snprintf(c->error, sizeof c->error, "%s: out of memory for a long line", c->paths[c->cur]);
                return -1;
            }
            if (nl) {
                c->line_pending = false;
                *line = c->line;
                *len = c->line_len;
                *total = c->line_total;
                return 1;
            }
            continue;
        }
        if (c->file_eof) {
            if (c->line_pending) { /* last line without a newline */
                c->line_pending = false;
                *line = c->line;
                *len = c->line_len;
                *total = c->line_total;
                return 1;
            }
            return 0;
        }
        int n = gzread(c->gz, c->buf, READ_SIZE);
        if (n < 0) {
            int errnum;
            const char *msg = gzerror(c->gz, &errnum);
            snprintf(c->error, sizeof c->error, "%s: read error: %s", c->paths[c->cur],
                     errnum == Z_ERRNO ? strerror(errno) : msg);
            return -1;
        }
        if (n == 0) {
            /* zlib reports a truncated gzip member only through gzerror. */
            int errnum;
            const char *msg = gzerror(c->gz, &errnum);
            if (errnum != Z_OK) {
                snprintf(c->error, sizeof c->error, "%s: read error: %s", c->paths[c->cur], msg);
                return -1;
            }
            c->file_eof = true;
        }
        c->pos = 0;
        c->len = (size_t)n;
        c->stats.bytes += (uint64_t)n;
    }
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static void set_source(rg_capture *c)
{
    char digits[24];
    size_t n = 0;
    uint64_t v = c->line_no;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char *d = c->source + c->source_prefix;
    while (n)
        *d++ = digits[--n];
    *d = '\0';
}

/* The next non-blank line: RG_CAPTURE_EVENT with *line, *len set (not
 * parsed yet; item->source set), RG_CAPTURE_REJECT for an over-long one
 * (item filled), END or ERROR. */
static rg_capture_status next_line(rg_capture *c, rg_capture_item *item, const char **line_out, size_t *len_out,
                                   char *errstr, size_t errstr_size)
{
    if (c->failed)
        goto error;
    for (;;) {
        if (!c->gz) {
            if (c->cur >= c->n_paths)
                return RG_CAPTURE_END;
            if (open_next(c) == RG_CAPTURE_ERROR)
                goto error;
        }
        const char *line;
        size_t len;
        uint64_t total;
        int r = read_line(c, &line, &len, &total);
        if (r < 0) {
            c->failed = true;
            gzclose(c->gz);
            c->gz = NULL;
            goto error;
        }
        if (r == 0) {
            c->done_before += c->sizes[c->cur];
            gzclose(c->gz);
            c->gz = NULL;
            c->cur++;
            continue;
        }
        c->line_no++;
        c->stats.lines++;
        if (len > 0 && len == total && line[len - 1] == '\r') {
            len--;
            total--;
        }
        if (blank(line, len)) {
            c->stats.blank_lines++;
            continue;
        }
        set_source(c);
        item->source = c->source;
        if (total > RG_CAPTURE_MAX_LINE) {
            item->reject.kind = RG_REJ_LINE_TOO_LONG;
            item->reject.field = NULL;
            snprintf(item->reject.error, sizeof item->reject.error,
                     "line of %llu bytes, over the limit of %d", (unsigned long long)total,
                     RG_CAPTURE_MAX_LINE);
            item->raw = line;
            item->raw_len = (size_t)total;
            return RG_CAPTURE_REJECT;
        }
        *line_out = line;
        *len_out = len;
        return RG_CAPTURE_EVENT;
    }
error:
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s", c->error);
    return RG_CAPTURE_ERROR;
}

void rg_capture_parse(rg_event_parser *p, const char *line, size_t len, rg_capture_item *item, bool *is_envelope,
                      bool *accepted)
{
    rg_event_line info;
    int rc = rg_event_parse_line(p, line, len, &item->event, &item->reject, &info);
    *is_envelope = info.is_envelope;
    /* A bad envelope is reported with the whole line; a bad payload
     * with the payload, which is the event that was sent. */
    bool whole_line = rc != 0 && item->reject.kind == RG_REJ_BAD_ENVELOPE;
    item->raw = whole_line ? line : info.event_raw;
    item->raw_len = whole_line ? len : info.event_raw_len;
    *accepted = rc == 0;
}

rg_capture_status rg_capture_next(rg_capture *c, rg_capture_item *item, char *errstr, size_t errstr_size)
{
    const char *line;
    size_t len;
    rg_capture_status st = next_line(c, item, &line, &len, errstr, errstr_size);
    if (st != RG_CAPTURE_EVENT)
        return st;
    bool is_envelope, accepted;
    rg_capture_parse(c->parser, line, len, item, &is_envelope, &accepted);
    if (is_envelope)
        c->stats.envelopes++;
    return accepted ? RG_CAPTURE_EVENT : RG_CAPTURE_REJECT;
}

rg_capture_status rg_capture_next_line(rg_capture *c, rg_capture_item *item, char *errstr, size_t errstr_size)
{
    const char *line;
    size_t len;
    rg_capture_status st = next_line(c, item, &line, &len, errstr, errstr_size);
    if (st == RG_CAPTURE_EVENT) {
        item->raw = line;
        item->raw_len = len;
    }
    return st;
}
