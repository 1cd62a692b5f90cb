#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

void rg_strbuf_reset(rg_strbuf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->data)
        b->data[0] = '\0';
}

void rg_strbuf_free(rg_strbuf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

bool rg_strbuf_reserve(rg_strbuf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void rg_strbuf_append(rg_strbuf *b, const void *bytes, size_t len)
{
    if (!rg_strbuf_reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, bytes, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void rg_strbuf_puts(rg_strbuf *b, const char *s) { rg_strbuf_append(b, s, strlen(s)); }

void rg_strbuf_putc(rg_strbuf *b, char c)
{
    if (!rg_strbuf_reserve(b, 1))
        return;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void rg_strbuf_vprintf(rg_strbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[128];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        rg_strbuf_append(b, small, (size_t)n);
    } else if (rg_strbuf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void rg_strbuf_printf(rg_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rg_strbuf_vprintf(b, fmt, ap);
    va_end(ap);
}

void rg_strbuf_put_i64(rg_strbuf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    /* Work in unsigned so INT64_MIN has no overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    rg_strbuf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

void rg_strbuf_put_json_str(rg_strbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (!rg_strbuf_reserve(b, len + 2))
        return;
    rg_strbuf_putc(b, '"');
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        rg_strbuf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': rg_strbuf_append(b, "\\\"", 2); break;
        case '\\': rg_strbuf_append(b, "\\\\", 2); break;
        case '\n': rg_strbuf_append(b, "\\n", 2); break;
        case '\r': rg_strbuf_append(b, "\\r", 2); break;
        case '\t': rg_strbuf_append(b, "\\t", 2); break;
        case '\b': rg_strbuf_append(b, "\\b", 2); break;
        case '\f': rg_strbuf_append(b, "\\f", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            rg_strbuf_append(b, esc, 6);
        }
        }
    }
    rg_strbuf_append(b, s + run, len - run);
    rg_strbuf_putc(b, '"');
}

void rg_strbuf_put_base64(rg_strbuf *b, const void *bytes, size_t len)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = bytes;
    if (!rg_strbuf_reserve(b, (len + 2) / 3 * 4))
        return;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char out[4] = {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
        rg_strbuf_append(b, out, 4);
    }
    if (i < len) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        char out[4] = {tbl[v >> 18], tbl[(v >> 12) & 63],
                       i + 1 < len ? tbl[(v >> 6) & 63] : '=', '='};
        rg_strbuf_append(b, out, 4);
    }
}

void rg_strbuf_put_utc_ms(rg_strbuf *b, int64_t epoch_ms)
{
    char tmp[40];
    size_t n = rg_format_utc_ms(epoch_ms, tmp, sizeof tmp);
    rg_strbuf_append(b, tmp, n);
}

bool rg_utf8_valid(const void *bytes, size_t len)
{
    const unsigned char *s = bytes, *end = s + len;
    while (s < end) {
        unsigned char c = *s;
        if (c < 0x80) {
            s++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - s) <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        s += n + 1;
    }
    return true;
}
