/*
 * strbuf — a growable byte buffer with JSON-aware appenders.
 *
 * Used by every module that writes text: decisions, rejects, evidence,
 * summaries. The buffer always keeps a NUL after its last byte so ->data can
 * be passed to C string functions, but the length is authoritative (the
 * contents may hold NUL bytes when raw input is copied in).
 *
 * Ownership: the caller owns the rg_strbuf value; rg_strbuf_free releases
 * its storage and leaves it empty and reusable. Allocation failure aborts
 * nothing: it sets ->oom, further appends become no-ops, and the caller
 * checks rg_strbuf_ok() once at the end (SQLite's sqlite3_str pattern).
 * Not thread-safe; one owner at a time.
 */
#ifndef RG_STRBUF_H
#define RG_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rg_strbuf {
    char *data;    /* NUL-terminated; NULL until the first append */
    size_t len;    /* bytes used, not counting the NUL */
    size_t cap;    /* bytes allocated */
    bool oom;      /* an allocation failed; contents are truncated */
} rg_strbuf;

#define RG_STRBUF_INIT {NULL, 0, 0, false}

/* Empty the buffer, keeping its storage for reuse. */
void rg_strbuf_reset(rg_strbuf *b);
/* Release storage; the buffer is left empty (RG_STRBUF_INIT). NULL-safe. */
void rg_strbuf_free(rg_strbuf *b);
/* Make room for `extra` more bytes; false (and ->oom set) on failure. */
bool rg_strbuf_reserve(rg_strbuf *b, size_t extra);
static inline bool rg_strbuf_ok(const rg_strbuf *b) { return !b->oom; }

void rg_strbuf_append(rg_strbuf *b, const void *bytes, size_t len);
void rg_strbuf_puts(rg_strbuf *b, const char *s);
void rg_strbuf_putc(rg_strbuf *b, char c);
void rg_strbuf_printf(rg_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rg_strbuf_vprintf(rg_strbuf *b, const char *fmt, va_list ap);
void rg_strbuf_put_i64(rg_strbuf *b, int64_t v);

/*
 * Append `len` bytes as a JSON string literal, quotes included. The input
 * must be valid UTF-8 (callers check with rg_utf8_valid); control characters,
 * '"' and '\\' are escaped, everything else is copied as is, so the output
 * is byte-identical for identical input on every machine.
 */
void rg_strbuf_put_json_str(rg_strbuf *b, const char *s, size_t len);

/* Append `len` bytes as standard base64 (RFC 4648, with padding). */
void rg_strbuf_put_base64(rg_strbuf *b, const void *bytes, size_t len);

/* Append a UTC timestamp as "YYYY-MM-DDTHH:MM:SS.mmmZ" (always milliseconds). */
void rg_strbuf_put_utc_ms(rg_strbuf *b, int64_t epoch_ms);

/* True when bytes[0..len) is well-formed UTF-8 (RFC 3629: no overlongs,
 * no surrogates, nothing above U+10FFFF). */
bool rg_utf8_valid(const void *bytes, size_t len);

#endif
