/*
 * gunzip — a descriptor's bytes, gunzipped when they are gzip, for the
 * capture reader (capture.c). Internal to the ingest layer.
 *
 * What zlib's gz* reader did for captures, with ISA-L's inflate (igzip),
 * which decompresses the month capture ~6x faster than zlib on this
 * machine (docs/bench.md, "Tenth round"):
 *   - a stream that starts with gzip's magic (1f 8b) is gunzipped, every
 *     member's CRC-32 and length checked; members back to back (`cat
 *     a.gz b.gz`) read as one stream;
 *   - after a member, anything that does not start with the magic is
 *     trailing garbage and ignored, as gzread ignores it;
 *   - any other stream (a pipe or standard input carrying plain text,
 *     which cannot be peeked at without consuming it) passes through
 *     unchanged, read straight into the caller's buffer;
 *   - a stream that ends inside a member is an error ("unexpected end of
 *     file"), as is a corrupt one, with the reason.
 *
 * Owner: whoever opened it; one thread at a time.
 */
#ifndef RG_GUNZIP_H
#define RG_GUNZIP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct rg_gunzip rg_gunzip;

/* Reads from fd, which it owns from now on (closed by rg_gunzip_close,
 * also when this fails). NULL when out of memory. */
rg_gunzip *rg_gunzip_open(int fd);

/* Up to n bytes of the stream into buf: how many (fewer only at its
 * end), 0 at the end, -1 on an error (rg_gunzip_error says which). An
 * error stays: every later call returns -1. */
ssize_t rg_gunzip_read(rg_gunzip *g, void *buf, size_t n);

/* The last error's reason (static text or errno's), "" when none. */
const char *rg_gunzip_error(const rg_gunzip *g);

/* Bytes of the descriptor consumed so far (compressed bytes), for
 * progress. */
uint64_t rg_gunzip_offset(const rg_gunzip *g);

/* Close the descriptor and free. NULL-safe. */
void rg_gunzip_close(rg_gunzip *g);

#endif
