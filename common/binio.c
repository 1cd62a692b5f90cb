/*
 * binio — little-endian fixed-width codec over rg_strbuf / untrusted
 * bytes; see binio.h. Owner: common.
 */
#include "binio.h"

#include <stdio.h>
#include <string.h>

void rg_put_u8(rg_strbuf *b, uint8_t v) { rg_strbuf_append(b, &v, 1); }

void rg_put_u32(rg_strbuf *b, uint32_t v)
{
    unsigned char x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    rg_strbuf_append(b, x, sizeof x);
}

void rg_put_u64(rg_strbuf *b, uint64_t v)
{
    unsigned char x[8];
    for (int i = 0; i < 8; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    rg_strbuf_append(b, x, sizeof x);
}

void rg_put_i64(rg_strbuf *b, int64_t v) { rg_put_u64(b, (uint64_t)v); }

void rg_put_str(rg_strbuf *b, const void *s, size_t len)
{
    if (len > UINT32_MAX) {
        b->oom = true;   /* cannot be represented: treat like a failed write */
        return;
    }
    rg_put_u32(b, (uint32_t)len);
    if (len)
        rg_strbuf_append(b, s, len);
}

void rg_reader_init(rg_reader *r, const void *bytes, size_t len, size_t base)
{
    r->p = bytes;
    r->len = bytes ? len : 0;
    r->pos = 0;
    r->base = base;
    r->error[0] = '\0';
}

size_t rg_reader_left(const rg_reader *r) { return rg_reader_ok(r) ? r->len - r->pos : 0; }

void rg_reader_fail(rg_reader *r, const char *what, const char *why)
{
    if (!rg_reader_ok(r))
        return;
    snprintf(r->error, sizeof r->error, "offset %zu: %s: %s", rg_reader_offset(r), what ? what : "value", why);
}

/* n bytes, or NULL (and the reader failed) when fewer are left. */
static const unsigned char *take(rg_reader *r, size_t n, const char *what)
{
    if (!rg_reader_ok(r))
        return NULL;
    if (r->len - r->pos < n) {
        char why[128];
        snprintf(why, sizeof why, "truncated (%zu bytes needed, %zu left)", n, r->len - r->pos);
        rg_reader_fail(r, what, why);
        return NULL;
    }
    const unsigned char *at = r->p + r->pos;
    r->pos += n;
    return at;
}

uint8_t rg_get_u8(rg_reader *r, const char *what)
{
    const unsigned char *x = take(r, 1, what);
    return x ? x[0] : 0;
}

uint32_t rg_get_u32(rg_reader *r, const char *what)
{
    const unsigned char *x = take(r, 4, what);
    uint32_t v = 0;
    for (int i = 0; x && i < 4; i++)
        v |= (uint32_t)x[i] << (8 * i);
    return v;
}

uint64_t rg_get_u64(rg_reader *r, const char *what)
{
    const unsigned char *x = take(r, 8, what);
    uint64_t v = 0;
    for (int i = 0; x && i < 8; i++)
        v |= (uint64_t)x[i] << (8 * i);
    return v;
}

int64_t rg_get_i64(rg_reader *r, const char *what) { return (int64_t)rg_get_u64(r, what); }

const char *rg_get_str(rg_reader *r, size_t max_len, size_t *len, const char *what)
{
    *len = 0;
    uint32_t n = rg_get_u32(r, what);
    if (!rg_reader_ok(r))
        return NULL;
    if (n > max_len) {
        char why[128];
        snprintf(why, sizeof why, "length %u over the limit of %zu", n, max_len);
        r->pos -= 4;   /* point the message at the length itself */
        rg_reader_fail(r, what, why);
        return NULL;
    }
    const unsigned char *s = take(r, n, what);
    if (!s)
        return NULL;
    *len = n;
    return n ? (const char *)s : NULL;
}

bool rg_get_sub(rg_reader *r, size_t n, rg_reader *sub, const char *what)
{
    size_t at = rg_reader_offset(r);
    const unsigned char *s = take(r, n, what);
    rg_reader_init(sub, s, s ? n : 0, at);
    return s != NULL;
}

uint32_t rg_get_count(rg_reader *r, size_t min_item_bytes, const char *what)
{
    uint32_t n = rg_get_u32(r, what);
    if (!rg_reader_ok(r))
        return 0;
    if (min_item_bytes && n > (r->len - r->pos) / min_item_bytes) {
        char why[128];
        snprintf(why, sizeof why, "count %u cannot fit in the %zu bytes left", n, r->len - r->pos);
        r->pos -= 4;
        rg_reader_fail(r, what, why);
        return 0;
    }
    return n;
}

int64_t rg_get_ts(rg_reader *r, const char *what)
{
    int64_t v = rg_get_i64(r, what);
    if (v < -RG_SAVED_TS_LIMIT || v > RG_SAVED_TS_LIMIT) {
        r->pos -= 8;
        rg_reader_fail(r, what, "time out of range");
        return 0;
    }
    return v;
}

int64_t rg_get_mark(rg_reader *r, const char *what)
{
    int64_t v = rg_get_i64(r, what);
    if (v != INT64_MIN && (v < -2 * RG_SAVED_TS_LIMIT || v > 2 * RG_SAVED_TS_LIMIT)) {
        r->pos -= 8;
        rg_reader_fail(r, what, "time out of range");
        return 0;
    }
    return v;
}
