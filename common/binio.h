/*
 * binio — fixed-width little-endian integers and length-prefixed strings,
 * written to an rg_strbuf and read back from untrusted bytes.
 *
 * Used by the engine checkpoint (decisions/engine.h rg_engine_save/load)
 * and every detector's save/load hook. The writer inherits rg_strbuf's
 * out-of-memory discipline (appends become no-ops, the caller checks
 * rg_strbuf_ok once). The reader never reads past its end: the first
 * failure (truncation, a length over its limit, a bad value a caller
 * reports with rg_reader_fail) sticks, every later get returns zeroes,
 * and rg_reader_error names what failed and at which byte offset of the
 * whole blob, so a caller checks once after a batch of gets.
 *
 * Ownership: a reader borrows its bytes; nothing here allocates. Not
 * thread-safe (one reader per thread), no global state.
 */
#ifndef RG_BINIO_H
#define RG_BINIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

void rg_put_u8(rg_strbuf *b, uint8_t v);
void rg_put_u32(rg_strbuf *b, uint32_t v);
void rg_put_u64(rg_strbuf *b, uint64_t v);
void rg_put_i64(rg_strbuf *b, int64_t v);
/* A string: u32 length, then the bytes (no NUL). */
void rg_put_str(rg_strbuf *b, const void *s, size_t len);

typedef struct rg_reader {
    const unsigned char *p;
    size_t len;          /* bytes in this reader */
    size_t pos;          /* next byte to read */
    size_t base;         /* offset of p[0] in the whole blob, for messages */
    char error[160];     /* "" while nothing failed */
} rg_reader;

void rg_reader_init(rg_reader *r, const void *bytes, size_t len, size_t base);
static inline bool rg_reader_ok(const rg_reader *r) { return r->error[0] == '\0'; }
/* Bytes left to read (0 after a failure). */
size_t rg_reader_left(const rg_reader *r);
/* Absolute offset of the next byte. */
static inline size_t rg_reader_offset(const rg_reader *r) { return r->base + r->pos; }

uint8_t rg_get_u8(rg_reader *r, const char *what);
uint32_t rg_get_u32(rg_reader *r, const char *what);
uint64_t rg_get_u64(rg_reader *r, const char *what);
int64_t rg_get_i64(rg_reader *r, const char *what);
/* A string written by rg_put_str, at most max_len bytes: points into the
 * reader's bytes (not NUL-terminated), *len its length. NULL on failure
 * (and on an empty string, with *len 0 and the reader still ok). */
const char *rg_get_str(rg_reader *r, size_t max_len, size_t *len, const char *what);
/* A sub-reader over the next n bytes (which this reader skips). */
bool rg_get_sub(rg_reader *r, size_t n, rg_reader *sub, const char *what);
/* A count of items that each take at least min_item_bytes: refused when
 * the bytes left cannot hold them, so a corrupt count never drives a
 * huge allocation or loop. */
uint32_t rg_get_count(rg_reader *r, size_t min_item_bytes, const char *what);

/*
 * Times read back are bounded so that the arithmetic done on them later
 * (ts - saved, saved + cooldown, watermark - window) cannot overflow,
 * whatever a corrupt file holds. A record's time (rg_get_ts) must be
 * within +-2^61 ms (some 73 million years around 1970); a watermark or
 * trim mark (rg_get_mark) within +-2^62, or INT64_MIN (the "nothing seen
 * yet" mark).
 */
#define RG_SAVED_TS_LIMIT (INT64_C(1) << 61)
int64_t rg_get_ts(rg_reader *r, const char *what);
int64_t rg_get_mark(rg_reader *r, const char *what);

/* Record a failure found by the caller (a value out of range), at the
 * current offset: "offset N: <what>: <why>". The first failure sticks. */
void rg_reader_fail(rg_reader *r, const char *what, const char *why);

#endif
