/*
 * gunzip — gzip or plain bytes from a descriptor (gunzip.h), with ISA-L's
 * inflate. Owned by the ingest layer.
 *
 * ISA-L's inflate with crc_flag ISAL_GZIP reads one member: its header,
 * its deflate blocks and its trailer, whose CRC-32 and length it checks
 * (ISAL_INCORRECT_CHECKSUM). At the member's end (ISAL_BLOCK_FINISH) it
 * has handed back the input it read past the trailer, so the next
 * member, or the garbage after the last, starts at next_in.
 */
#include "gunzip.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Compressed bytes read at a time: a read costs nothing per byte at this
 * size, and inflate's output per input buffer (~5x) fills a capture
 * chunk. */
#define IN_SIZE (128 * 1024)

typedef enum {
    SNIFF,    /* nothing read yet: gzip or not? */
    MEMBER,   /* inside a gzip member */
    BETWEEN,  /* after a member: another, or the end */
    DIRECT,   /* not gzip: the bytes as they are */
    DONE,
    FAILED
} gunzip_mode;

struct rg_gunzip {
    int fd;
    gunzip_mode mode;
    bool eof;                   /* read() gave 0 */
    unsigned char *in;          /* IN_SIZE bytes; unconsumed: [next, next + avail) */
    unsigned char *next;
    size_t avail;
    uint64_t read_total;        /* bytes read from fd */
    struct inflate_state *st;   /* MEMBER only; st->next_in/avail_in mirror next/avail */
    const char *error;
    char error_buf[128];
};

rg_gunzip *rg_gunzip_open(int fd)
{
    rg_gunzip *g = calloc(1, sizeof *g);
    if (g)
        g->in = malloc(IN_SIZE);
    if (!g || !g->in) {
        if (g)
            free(g);
        close(fd);
        return NULL;
    }
    g->fd = fd;
    g->next = g->in;
    g->error = "";
    return g;
}

void rg_gunzip_close(rg_gunzip *g)
{
    if (!g)
        return;
    close(g->fd);
    free(g->st);
    free(g->in);
    free(g);
}

const char *rg_gunzip_error(const rg_gunzip *g) { return g->error; }

uint64_t rg_gunzip_offset(const rg_gunzip *g) { return g->read_total - g->avail; }

static ssize_t fail(rg_gunzip *g, const char *why)
{
    g->mode = FAILED;
    g->error = why;
    return -1;
}

/* read() into buf, again after EINTR: bytes, 0 at the end, -1 (and
 * failed) on an error. */
static ssize_t read_fd(rg_gunzip *g, void *buf, size_t n)
{
    ssize_t r;
    do
        r = read(g->fd, buf, n);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        snprintf(g->error_buf, sizeof g->error_buf, "%s", strerror(errno));
        return fail(g, g->error_buf);
    }
    if (r == 0)
        g->eof = true;
    g->read_total += (uint64_t)r;
    return r;
}

/* At least `want` unconsumed input bytes (fewer only at the end): what
 * is left moves to the buffer's front and more is read after it. 0, or
 * -1 on a read error. */
static int fill_input(rg_gunzip *g, size_t want)
{
    if (g->avail >= want || g->eof)
        return 0;
    memmove(g->in, g->next, g->avail);
    g->next = g->in;
    while (g->avail < want && !g->eof) {
        ssize_t r = read_fd(g, g->in + g->avail, IN_SIZE - g->avail);
        if (r < 0)
            return -1;
        g->avail += (size_t)r;
    }
    return 0;
}

static bool at_magic(const rg_gunzip *g)
{
    return g->avail >= 2 && g->next[0] == 0x1f && g->next[1] == 0x8b;
}

/* A member starts at next: ISA-L's state, (re)set to read one gzip
 * member. */
static int start_member(rg_gunzip *g)
{
    if (!g->st && !(g->st = malloc(sizeof *g->st)))
        return -1;
    isal_inflate_init(g->st);
    g->st->crc_flag = ISAL_GZIP;
    g->st->next_in = g->next;
    g->st->avail_in = (uint32_t)g->avail;
    g->mode = MEMBER;
    return 0;
}

/* At the stream's start or after a member: a member starts at next when
 * the next two bytes are the magic, else the mode becomes `otherwise`
 * (DIRECT at the start; DONE after a member, the rest being trailing
 * garbage, dropped). 0, or -1 on an error. */
static int look_for_member(rg_gunzip *g, gunzip_mode otherwise)
{
    if (fill_input(g, 2) != 0)
        return -1;
    if (at_magic(g)) {
        if (start_member(g) != 0)
            return (int)fail(g, "out of memory");
        return 0;
    }
    if (otherwise == DONE)
        g->avail = 0;
    g->mode = otherwise;
    return 0;
}

static const char *inflate_reason(int rc)
{
    switch (rc) {
    case ISAL_INVALID_BLOCK: return "invalid deflate block";
    case ISAL_INVALID_SYMBOL: return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK: return "invalid deflate distance";
    case ISAL_INVALID_WRAPPER: return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD: return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM: return "incorrect data check";
    case ISAL_NEED_DICT: return "a preset dictionary is needed";
    default: return "compressed data error";
    }
}

/* Inflate into buf[0, n) from the member in hand: bytes written, -1 on
 * an error. The member may end (mode BETWEEN) or need more input. */
static ssize_t inflate_some(rg_gunzip *g, unsigned char *buf, size_t n)
{
    struct inflate_state *st = g->st;
    st->next_out = buf;
    st->avail_out = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    int rc = isal_inflate(st);
    size_t out = (size_t)(st->next_out - buf);
    g->next = st->next_in;
    g->avail = st->avail_in;
    if (rc < 0)
        return fail(g, inflate_reason(rc));
    if (st->block_state == ISAL_BLOCK_FINISH)
        g->mode = BETWEEN;
    return (ssize_t)out;
}

ssize_t rg_gunzip_read(rg_gunzip *g, void *buf, size_t n)
{
    unsigned char *b = buf;
    size_t got = 0;
    while (got < n) {
        switch (g->mode) {
        case SNIFF:
            if (look_for_member(g, DIRECT) != 0)
                return -1;
            break;
        case DIRECT: {
            if (g->avail) { /* what sniffing read */
                size_t k = g->avail < n - got ? g->avail : n - got;
                memcpy(b + got, g->next, k);
                g->next += k;
                g->avail -= k;
                got += k;
                break;
            }
            if (g->eof || got) /* a partial read is not the end: the next call reads on */
                return (ssize_t)got;
            ssize_t r = read_fd(g, b, n);
            if (r < 0)
                return -1;
            got += (size_t)r;
            break;
        }
        case MEMBER: {
            /* Inflate first, even with no input left: ISA-L may hold
             * output that did not fit the last call's room. */
            size_t had = g->avail;
            ssize_t r = inflate_some(g, b + got, n - got);
            if (r < 0)
                return -1;
            got += (size_t)r;
            if (g->mode != MEMBER || got == n)
                break;
            /* Room left, member not finished: ISA-L wants input (it
             * keeps a partial header or trailer in its own buffer). */
            if (g->avail) {
                if (r == 0 && g->avail == had)
                    return fail(g, "compressed data error"); /* no progress: never loop */
                break;
            }
            if (g->eof)
                return fail(g, "unexpected end of file");
            if (got) /* hand over what is there before reading on */
                return (ssize_t)got;
            if (fill_input(g, 1) != 0)
                return -1;
            g->st->next_in = g->next;
            g->st->avail_in = (uint32_t)g->avail;
            break;
        }
        case BETWEEN:
            /* Another member, or the end: what follows a member without
             * the magic is trailing garbage, ignored (as gzread does). */
            if (look_for_member(g, DONE) != 0)
                return -1;
            break;
        case DONE:
            return (ssize_t)got;
        case FAILED:
            return -1;
        }
    }
    return (ssize_t)got;
}
