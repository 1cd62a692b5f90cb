/*
 * capture — reading captured traffic for replay (capture.h). Owned by the
 * ingest layer.
 *
 * A regular file whose first two bytes are not gzip's magic (1f 8b) is
 * read with read() straight into the line buffers. A gzip file, standard
 * input and pipes go through gunzip.h (ISA-L's inflate), which recognises
 * gzip by its magic bytes, reads concatenated members as one stream and
 * passes anything else through unchanged (a pipe cannot be peeked at
 * without consuming it).
 *
 * Lines are cut in place from large read chunks and handed out without a
 * copy. A line that straddles two reads has its start copied to the front
 * of a fresh chunk; a chunk is reused only when no held line points into
 * it (rg_capture_hold), so held lines never move. A line longer than
 * RG_CAPTURE_MAX_LINE keeps only its first RG_CAPTURE_MAX_LINE + 1 bytes
 * and the rest is counted as it is read past: an endless line costs
 * bounded memory and is rejected once its newline comes.
 *
 * Turning a line into an event is capture_parse.c's (rg_capture_parse).
 */
#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "event_parse.h"
#include "gunzip.h"

/* A read fills up to a chunk's free room; big enough that reads cost
 * nothing per line, small enough to stay cache-friendly. At least
 * READ_MIN bytes are asked for at a time. */
#define CHUNK_SIZE (256 * 1024)
#define READ_MIN (16 * 1024)
/* Chunks: one per held line at most, the current one, and one to move to. */
#define MAX_CHUNKS (RG_CAPTURE_MAX_HELD + 2)
#define SOURCE_SLOTS (RG_CAPTURE_MAX_HELD + 1)

typedef struct chunk {
    unsigned char *data;
    size_t cap;
    unsigned pins;            /* held lines pointing into it */
} chunk;

typedef struct held {
    unsigned chunk, source;
} held;

struct rg_capture {
    char **paths;
    size_t n_paths, cur;      /* cur: the file being read (== n_paths at the end) */
    bool open;                /* a file is open: gz or fd */
    rg_gunzip *gz;            /* gzip, stdin and pipes */
    int fd;                   /* plain regular files (-1 otherwise) */
    uint64_t fd_offset;       /* bytes read from fd */
    uint64_t *sizes;          /* st_size of each regular file, 0 otherwise */
    uint64_t total;           /* sum of sizes; 0 when any input has no size */
    uint64_t done_before;     /* compressed bytes of the files already read */
    chunk chunks[MAX_CHUNKS];
    unsigned n_chunks, cur_chunk;
    size_t pos, len;          /* cur chunk: [pos, len) not yet cut into lines */
    bool file_eof;
    bool over;                /* reading past the end of an over-long line */
    size_t over_start;        /* its first byte in the current chunk */
    uint64_t over_total;      /* its full length so far */
    unsigned line_chunk;      /* the chunk of the line last returned */
    held holds[RG_CAPTURE_MAX_HELD]; /* FIFO: holds[hold_first .. + n_holds) */
    unsigned hold_first, n_holds;
    uint64_t line_no;
    rg_event_parser *parser;
    char *sources[SOURCE_SLOTS]; /* "path:" + line number; held ones are kept */
    size_t source_caps[SOURCE_SLOTS];
    size_t source_file[SOURCE_SLOTS]; /* 1 + the file whose path it starts with */
    uint64_t source_line[SOURCE_SLOTS]; /* the line its number shows (of that file) */
    bool source_held[SOURCE_SLOTS];
    unsigned cur_source;
    size_t source_prefix;
    char line_digits[24];     /* line_no in decimal, counted up in place */
    size_t n_digits;
    bool failed;
    char error[512];
    rg_capture_stats stats;
};

rg_capture *rg_capture_new(const char *const *paths, size_t n_paths)
{
    rg_capture *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = -1;
    c->paths = calloc(n_paths ? n_paths : 1, sizeof *c->paths);
    c->sizes = calloc(n_paths ? n_paths : 1, sizeof *c->sizes);
    c->parser = rg_event_parser_new();
    if (!c->paths || !c->sizes || !c->parser)
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

static void close_file(rg_capture *c)
{
    rg_gunzip_close(c->gz);
    if (c->fd >= 0)
        close(c->fd);
    c->gz = NULL;
    c->fd = -1;
    c->open = false;
}

void rg_capture_free(rg_capture *c)
{
    if (!c)
        return;
    close_file(c);
    for (size_t i = 0; c->paths && i < c->n_paths; i++)
        free(c->paths[i]);
    free(c->paths);
    free(c->sizes);
    for (unsigned i = 0; i < c->n_chunks; i++)
        free(c->chunks[i].data);
    for (unsigned i = 0; i < SOURCE_SLOTS; i++)
        free(c->sources[i]);
    rg_event_parser_free(c->parser);
    free(c);
}

const rg_capture_stats *rg_capture_get_stats(const rg_capture *c) { return &c->stats; }

void rg_capture_progress(const rg_capture *c, uint64_t *done, uint64_t *total)
{
    uint64_t d = c->done_before;
    if (c->gz)
        d += rg_gunzip_offset(c->gz);
    else if (c->fd >= 0) {
        d += c->fd_offset;
    }
    *done = d;
    *total = c->total;
}

static rg_capture_status fail(rg_capture *c, const char *fmt, const char *path, const char *why)
{
    snprintf(c->error, sizeof c->error, fmt, path, why);
    c->failed = true;
    close_file(c);
    return RG_CAPTURE_ERROR;
}

/* Whether fd, a regular file, starts with gzip's magic bytes (read at
 * offset 0 without moving the file offset). */
static bool starts_gzip(int fd)
{
    unsigned char m[2];
    return pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

static rg_capture_status open_next(rg_capture *c)
{
    const char *path = c->paths[c->cur];
    bool is_stdin = strcmp(path, "-") == 0;
    /* dup() stdin so that closing it leaves the process's stdin open. */
    int fd = is_stdin ? dup(STDIN_FILENO) : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(c, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    bool regular = false;
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            close(fd);
            return fail(c, "%s: cannot read: %s", path, strerror(EISDIR));
        }
        regular = S_ISREG(st.st_mode);
    }
    /* Standard input always goes through gunzip (which reads gzip and
     * plain text alike from wherever the descriptor stands): a redirected file
     * may have been partly read before us, and starts_gzip looks at its
     * first bytes, not at the current position. */
    if (regular && !is_stdin && !starts_gzip(fd)) {
        c->fd = fd;
        c->fd_offset = 0;
    } else {
        c->gz = rg_gunzip_open(fd); /* which closes fd if it fails */
        if (!c->gz)
            return fail(c, "%s: cannot open: %s", path, "out of memory");
    }
    c->open = true;
    /* pos == len here: reading goes on after the previous file's last
     * line, which may be held. */
    c->file_eof = false;
    c->over = false;
    c->line_no = 0;
    c->n_digits = 0;
    c->source_prefix = strlen(is_stdin ? "-" : path) + 1;
    return RG_CAPTURE_EVENT;
}

/* Make room to read into: the current chunk's bytes from `keep` on must
 * stay (the start of a line, or an over-long line's kept bytes). When the
 * chunk has too little room left, they move to the front of a chunk no
 * held line points into. False on OOM. */
static bool make_room(rg_capture *c, size_t keep)
{
    chunk *k = &c->chunks[c->cur_chunk];
    if (c->n_chunks && k->cap - c->len >= READ_MIN)
        return true;
    size_t kept = c->n_chunks ? c->len - keep : 0;
    size_t need = kept + CHUNK_SIZE;
    unsigned to = MAX_CHUNKS;
    for (unsigned i = 0; i < c->n_chunks && to == MAX_CHUNKS; i++)
        if (i != c->cur_chunk && c->chunks[i].pins == 0)
            to = i;
    if (to == MAX_CHUNKS) {
        if (c->n_chunks == MAX_CHUNKS)
            return false; /* cannot happen: at most MAX_HELD chunks are pinned */
        to = c->n_chunks++;
    }
    chunk *t = &c->chunks[to];
    if (t->cap < need) {
        unsigned char *d = realloc(t->data, need);
        if (!d) {
            if (!t->data)
                c->n_chunks--;
            return false;
        }
        t->data = d;
        t->cap = need;
    }
    if (kept)
        memcpy(t->data, c->chunks[c->cur_chunk].data + keep, kept);
    if (c->over)
        c->over_start -= keep;
    c->pos -= keep;
    c->len = kept;
    c->cur_chunk = to;
    return true;
}

/* Read more of the file into the current chunk after its len. -1 on a
 * read error, else the bytes read (0 at the end of the file). */
static long fill(rg_capture *c)
{
    chunk *k = &c->chunks[c->cur_chunk];
    size_t room = k->cap - c->len;
    long n;
    if (c->fd >= 0) {
        ssize_t r;
        do
            r = read(c->fd, k->data + c->len, room);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
            snprintf(c->error, sizeof c->error, "%s: read error: %s", c->paths[c->cur], strerror(errno));
            return -1;
        }
        c->fd_offset += (uint64_t)r;
        n = (long)r;
    } else {
        ssize_t r = rg_gunzip_read(c->gz, k->data + c->len, room);
        if (r < 0) {
            snprintf(c->error, sizeof c->error, "%s: read error: %s", c->paths[c->cur], rg_gunzip_error(c->gz));
            return -1;
        }
        n = (long)r;
    }
    c->len += (size_t)n;
    c->stats.bytes += (uint64_t)n;
    return n;
}

/* Next physical line (without '\n'): 1 with line, len and total set, 0 at
 * the end of the current file, -1 on a read error (message in c->error).
 * *len <= MAX+1. */
static int read_line(rg_capture *c, const char **line, size_t *len, uint64_t *total)
{
    for (;;) {
        unsigned char *data = c->n_chunks ? c->chunks[c->cur_chunk].data : NULL;
        if (c->pos < c->len) {
            unsigned char *start = data + c->pos;
            unsigned char *nl = memchr(start, '\n', c->len - c->pos);
            if (nl && !c->over) { /* the common case */
                size_t n = (size_t)(nl - start);
                c->pos += n + 1;
                *line = (const char *)start;
                *len = n;
                *total = n;
                c->line_chunk = c->cur_chunk;
                return 1;
            }
            if (nl) { /* the end of an over-long line */
                size_t n = (size_t)(nl - start);
                c->over_total += n;
                c->pos += n + 1;
                c->over = false;
                *line = (const char *)data + c->over_start;
                *len = RG_CAPTURE_MAX_LINE + 1;
                *total = c->over_total;
                c->line_chunk = c->cur_chunk;
                return 1;
            }
            if (c->over) { /* read past the rest; keep nothing of it */
                c->over_total += c->len - c->pos;
                c->len = c->pos;
            } else if (c->len - c->pos > RG_CAPTURE_MAX_LINE) {
                c->over = true;
                c->over_start = c->pos;
                c->over_total = c->len - c->pos;
                c->pos = c->len = c->pos + RG_CAPTURE_MAX_LINE + 1;
            }
        }
        if (c->file_eof) {
            if (c->over) {
                c->over = false;
                *line = (const char *)data + c->over_start;
                *len = RG_CAPTURE_MAX_LINE + 1;
                *total = c->over_total;
                c->line_chunk = c->cur_chunk;
                return 1;
            }
            if (c->pos < c->len) { /* last line without a newline */
                *line = (const char *)data + c->pos;
                *len = c->len - c->pos;
                *total = *len;
                c->pos = c->len;
                c->line_chunk = c->cur_chunk;
                return 1;
            }
            return 0;
        }
        if (!make_room(c, c->over ? c->over_start : c->pos)) {
            snprintf(c->error, sizeof c->error, "%s: out of memory for a long line", c->paths[c->cur]);
            return -1;
        }
        long n = fill(c);
        if (n < 0)
            return -1;
        if (n == 0)
            c->file_eof = true;
    }
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

/* The n decimal digits at d, NUL-terminated, counted up by one in place
 * (no division per line): their new count. */
static inline size_t digits_up(char *d, size_t n)
{
    size_t i = n;
    while (i > 0 && d[i - 1] == '9')
        d[--i] = '0';
    if (i > 0) {
        d[i - 1]++;
        return n;
    }
    memmove(d + 1, d, n);
    d[0] = '1';
    d[n + 1] = '\0';
    return n + 1;
}

/* line_no + 1, and line_digits with it. */
static void count_line(rg_capture *c)
{
    c->line_no++;
    c->n_digits = digits_up(c->line_digits, c->n_digits);
}

/* The item's source: slot s, and its parts (capture.h). */
static inline void set_item_source(const rg_capture *c, rg_capture_item *item, unsigned s)
{
    item->source = c->sources[s];
    item->source_path_len = (uint32_t)c->source_prefix;
    item->file = (uint32_t)c->cur;
    item->line_no = c->line_no;
}

/* "path:line" into the current source slot; false on OOM. */
static bool set_source(rg_capture *c)
{
    unsigned s = c->cur_source;
    if (c->source_file[s] != c->cur + 1) {
        const char *path = strcmp(c->paths[c->cur], "-") == 0 ? "-" : c->paths[c->cur];
        size_t need = c->source_prefix + sizeof c->line_digits;
        if (c->source_caps[s] < need) {
            char *b = realloc(c->sources[s], need);
            if (!b)
                return false;
            c->sources[s] = b;
            c->source_caps[s] = need;
        }
        memcpy(c->sources[s], path, c->source_prefix - 1);
        c->sources[s][c->source_prefix - 1] = ':';
        c->source_file[s] = c->cur + 1;
    }
    memcpy(c->sources[s] + c->source_prefix, c->line_digits, sizeof c->line_digits);
    c->source_line[s] = c->line_no;
    return true;
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
        if (!c->open) {
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
            close_file(c);
            goto error;
        }
        if (r == 0) {
            c->done_before += c->sizes[c->cur];
            close_file(c);
            c->cur++;
            continue;
        }
        count_line(c);
        c->stats.lines++;
        /* The CR of a CR LF ends a line only when the line is not over
         * the limit: an over-long line's reported length counts it, as
         * it always did when such a line came in several reads. */
        if (len > 0 && len == total && total <= RG_CAPTURE_MAX_LINE + 1 && line[len - 1] == '\r') {
            len--;
            total--;
        }
        if (blank(line, len)) {
            c->stats.blank_lines++;
            continue;
        }
        if (!set_source(c)) {
            snprintf(c->error, sizeof c->error, "%s: out of memory", c->paths[c->cur]);
            c->failed = true;
            close_file(c);
            goto error;
        }
        set_item_source(c, item, c->cur_source);
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

/* next_line's usual case, read without its frame: a line ended by '\n'
 * in the current chunk, not over the limit, starting with a byte that is
 * no whitespace, not ending in '\r', its source slot already naming this
 * file. Exactly what next_line does for it; false (nothing changed) for
 * anything else, which next_line then reads. */
static inline bool usual_line(rg_capture *c, rg_capture_item *item)
{
    if (c->failed || !c->open || c->over || c->pos >= c->len || !c->n_chunks)
        return false;
    unsigned char *start = c->chunks[c->cur_chunk].data + c->pos;
    unsigned char *nl = memchr(start, '\n', c->len - c->pos);
    if (!nl)
        return false;
    size_t n = (size_t)(nl - start);
    unsigned s = c->cur_source;
    if (n == 0 || n > RG_CAPTURE_MAX_LINE || start[0] <= ' ' || start[n - 1] == '\r' ||
        c->source_file[s] != c->cur + 1)
        return false;
    c->pos += n + 1;
    c->line_chunk = c->cur_chunk;
    /* The slot's number: the line before's digits (when it shows another
     * line: the replay reads ahead and holds the lines' sources, so the
     * slots take turns), then counted up in place, as line_digits is.
     * Copied after line_digits was counted up instead, the copy's 16-byte
     * load waited on the 1-byte store just made (a failed store
     * forwarding): ~2% of a replay's samples on that one instruction. */
    char *digits = c->sources[s] + c->source_prefix;
    size_t n_digits = c->n_digits;
    if (c->source_line[s] != c->line_no)
        memcpy(digits, c->line_digits, sizeof c->line_digits);
    count_line(c);
    (void)digits_up(digits, n_digits);
    c->source_line[s] = c->line_no;
    c->stats.lines++;
    set_item_source(c, item, s);
    item->raw = (const char *)start;
    item->raw_len = n;
    return true;
}

/* rg_capture_next_line for every line usual_line does not take. Kept out
 * of line so the usual line does not pay next_line's frame. */
static __attribute__((noinline)) rg_capture_status next_line_item(rg_capture *c, rg_capture_item *item,
                                                                  char *errstr, size_t errstr_size)
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

rg_capture_status rg_capture_next_line(rg_capture *c, rg_capture_item *item, char *errstr, size_t errstr_size)
{
    if (usual_line(c, item))
        return RG_CAPTURE_EVENT;
    return next_line_item(c, item, errstr, errstr_size);
}

bool rg_capture_hold(rg_capture *c)
{
    if (c->n_holds == RG_CAPTURE_MAX_HELD)
        return false;
    unsigned s = c->cur_source;
    c->holds[(c->hold_first + c->n_holds++) % RG_CAPTURE_MAX_HELD] = (held){c->line_chunk, s};
    c->chunks[c->line_chunk].pins++;
    c->source_held[s] = true;
    /* A free slot for the next line's source: there is one more slot
     * than there can be holds. */
    while (c->source_held[c->cur_source])
        c->cur_source = c->cur_source + 1 == SOURCE_SLOTS ? 0 : c->cur_source + 1; /* no division per line */
    return true;
}

void rg_capture_release(rg_capture *c)
{
    if (!c->n_holds)
        return;
    held h = c->holds[c->hold_first];
    c->hold_first = (c->hold_first + 1) % RG_CAPTURE_MAX_HELD;
    c->n_holds--;
    c->chunks[h.chunk].pins--;
    c->source_held[h.source] = false;
}
