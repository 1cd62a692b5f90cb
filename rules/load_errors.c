/*
 * load_errors — where things are in a rule file, and the error list.
 *
 * Owner: rules; private to the loader. libyaml marks give (line, column)
 * in characters; expressions report byte offsets into a scalar's value.
 * Mapping one to the other needs the source bytes: line starts counted the
 * way libyaml counts line breaks, quotes and escapes of quoted scalars,
 * the indentation of literal blocks. Messages are made printable here
 * (one error, one line), whatever user text they quote.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load_internal.h"

/* One error is one line of valid UTF-8: messages quote the user's text
 * (a token, a span of an expression that may cross lines, a name cut at
 * 60 bytes), so control characters become spaces and a broken or cut
 * UTF-8 sequence becomes '?'. */
static void printable(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f) {
            *p++ = ' ';
            continue;
        }
        size_t need = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : 9;
        size_t k = 1;
        while (k <= need && need < 9 && (p[k] & 0xc0) == 0x80)
            k++;
        if (need == 9 || k != need + 1) {
            *p++ = '?';   /* a stray continuation byte, a bad lead byte, or a cut sequence */
            continue;
        }
        p += k;
    }
}

static void add_error(loader *L, int line, int col, const char *fmt, va_list ap)
{
    if (L->n_errors >= LOAD_MAX_ERRORS) {
        L->too_many_errors = true;
        return;
    }
    if (L->n_errors == L->cap_errors) {
        size_t cap = L->cap_errors ? L->cap_errors * 2 : 8;
        load_error *ne = realloc(L->errors, cap * sizeof *ne);
        if (!ne) {
            L->oom = true;
            return;
        }
        L->errors = ne;
        L->cap_errors = cap;
    }
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    printable(buf);
    char *msg = strdup(buf);
    if (!msg) {
        L->oom = true;
        return;
    }
    L->errors[L->n_errors] = (load_error){L->src, line, col, L->n_errors, msg};
    L->n_errors++;
}

void load_error_at(loader *L, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(L, line, col, fmt, ap);
    va_end(ap);
}

void load_error_node(loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(L, n ? (int)n->start_mark.line + 1 : 1, n ? (int)n->start_mark.column + 1 : 1, fmt, ap);
    va_end(ap);
}

static size_t utf8_len(unsigned char c) { return c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1; }

/* Byte offsets of line starts, counting line breaks as libyaml does
 * (\r\n, \r, \n, NEL, LS, PS), so libyaml's (line, column) maps back to
 * bytes. */
static void build_lines(loader *L)
{
    load_source *S = L->src;
    if (S->line_starts || L->oom)
        return;
    size_t cap = 64, n = 0;
    size_t *ls = malloc(cap * sizeof *ls);
    if (!ls) {
        L->oom = true;
        return;
    }
    const unsigned char *d = (const unsigned char *)S->data;
    size_t len = S->len;
    size_t i = len >= 3 && d[0] == 0xef && d[1] == 0xbb && d[2] == 0xbf ? 3 : 0;   /* BOM */
    ls[n++] = i;
    while (i < len) {
        size_t brk = 0;
        if (d[i] == '\r')
            brk = i + 1 < len && d[i + 1] == '\n' ? 2 : 1;
        else if (d[i] == '\n')
            brk = 1;
        else if (d[i] == 0xc2 && i + 1 < len && d[i + 1] == 0x85)
            brk = 2;
        else if (d[i] == 0xe2 && i + 2 < len && d[i + 1] == 0x80 && (d[i + 2] == 0xa8 || d[i + 2] == 0xa9))
            brk = 3;
        if (!brk) {
            i++;
            continue;
        }
        i += brk;
        if (n == cap) {
            size_t *nl = realloc(ls, (cap *= 2) * sizeof *ls);
            if (!nl) {
                free(ls);
                L->oom = true;
                return;
            }
            ls = nl;
        }
        ls[n++] = i;
    }
    S->line_starts = ls;
    S->n_lines = n;
}

/* Byte offset of a mark (line, column in characters). */
static size_t byte_of_mark(loader *L, yaml_mark_t m)
{
    const load_source *S = L->src;
    build_lines(L);
    if (!S->line_starts || m.line >= S->n_lines)
        return S->len;
    size_t j = S->line_starts[m.line];
    for (size_t c = 0; c < m.column && j < S->len; c++)
        j += utf8_len((unsigned char)S->data[j]);
    return j < S->len ? j : S->len;
}

/* Source characters and value bytes of one double-quoted escape at src[j]
 * (YAML 1.1 section 5.7). */
static void dq_escape(const char *src, size_t avail, size_t *src_chars, size_t *produced)
{
    char e = avail > 1 ? src[1] : '\0';
    size_t hex = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    *src_chars = 2 + hex;
    *produced = 1;
    if (hex) {
        unsigned long code = 0;
        for (size_t k = 0; k < hex && 2 + k < avail; k++) {
            char h = src[2 + k];
            code = code * 16 + (unsigned long)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
        }
        *produced = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    } else if (e == 'N' || e == '_') {
        *produced = 2;
    } else if (e == 'L' || e == 'P') {
        *produced = 3;
    }
}

/* In a literal block scalar (`|`) every value line is one source line
 * after the header, behind the block's indentation: value line k of the
 * offset is source line header+1+k, and the indentation is whatever the
 * source line has beyond the value line's bytes. */
static void literal_position(loader *L, const yaml_node_t *n, size_t off, int *line, int *col)
{
    const char *v = (const char *)n->data.scalar.value;
    size_t k = 0, line_start = 0;
    for (size_t i = 0; i < off; i++)
        if (v[i] == '\n') {
            k++;
            line_start = i + 1;
        }
    size_t line_end = line_start;
    while (line_end < n->data.scalar.length && v[line_end] != '\n')
        line_end++;
    const load_source *S = L->src;
    build_lines(L);
    size_t src_line = n->start_mark.line + 1 + k;
    if (!S->line_starts || src_line >= S->n_lines)
        return;
    size_t sb = S->line_starts[src_line];
    size_t se = src_line + 1 < S->n_lines ? S->line_starts[src_line + 1] : S->len;
    while (se > sb && (S->data[se - 1] == '\n' || S->data[se - 1] == '\r'))
        se--;
    size_t vline = line_end - line_start;
    if (se - sb < vline || memcmp(S->data + se - vline, v + line_start, vline) != 0)
        return;   /* not laid out as expected: keep the scalar's start */
    *line = (int)src_line + 1;
    *col = 1;
    for (size_t j = sb; j < se - vline; j += utf8_len((unsigned char)S->data[j]))
        (*col)++;
    for (size_t i = line_start; i < off; i += utf8_len((unsigned char)v[i]))
        (*col)++;
}

/* 1-based line and column of byte `off` of scalar n's value (in L->src). Exact for
 * single-line plain and quoted scalars and for literal blocks; else the
 * scalar's start. */
void load_scalar_position(loader *L, const yaml_node_t *n, size_t off, int *line, int *col)
{
    *line = (int)n->start_mark.line + 1;
    *col = (int)n->start_mark.column + 1;
    if (n->type != YAML_SCALAR_NODE)
        return;
    const unsigned char *v = n->data.scalar.value;
    size_t vlen = n->data.scalar.length;
    if (off > vlen)
        off = vlen;
    yaml_scalar_style_t style = n->data.scalar.style;
    if (style == YAML_LITERAL_SCALAR_STYLE) {
        literal_position(L, n, off, line, col);
        return;
    }
    if (n->start_mark.line != n->end_mark.line)
        return;
    if (style == YAML_PLAIN_SCALAR_STYLE) {
        for (size_t i = 0; i < off; i += utf8_len(v[i]))
            (*col)++;
        return;
    }
    if (style != YAML_SINGLE_QUOTED_SCALAR_STYLE && style != YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        return;
    const load_source *S = L->src;
    size_t j = byte_of_mark(L, n->start_mark) + 1, i = 0;
    (*col)++;   /* the opening quote */
    while (i < off && j < S->len) {
        const char *s = S->data + j;
        size_t avail = S->len - j;
        if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && s[0] == '\'' && avail > 1 && s[1] == '\'') {
            j += 2, i += 1, *col += 2;
        } else if (style == YAML_DOUBLE_QUOTED_SCALAR_STYLE && s[0] == '\\') {
            size_t chars, produced;
            dq_escape(s, avail, &chars, &produced);
            j += chars, i += produced, *col += (int)chars;
        } else {
            size_t w = utf8_len((unsigned char)s[0]);
            j += w, i += w, (*col)++;
        }
    }
}

void load_error_in_scalar(loader *L, const yaml_node_t *n, size_t off, const char *msg)
{
    int line = 1, col = 1;
    if (n)
        load_scalar_position(L, n, off, &line, &col);
    load_error_at(L, line, col, "%s", msg);
}

void load_position_of_offset(loader *L, size_t off, int *line, int *col)
{
    const load_source *S = L->src;
    build_lines(L);
    size_t ln = 0;
    for (size_t i = 0; S->line_starts && i < S->n_lines && S->line_starts[i] <= off; i++)
        ln = i;
    *line = (int)ln + 1;
    *col = S->line_starts && off >= S->line_starts[ln] ? (int)(off - S->line_starts[ln]) + 1 : 1;
}
