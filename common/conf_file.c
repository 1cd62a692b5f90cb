/* conf_file — `key = value` lines and [sections]; see conf_file.h. */
#include "conf_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
}

static bool blank(char c) { return c == ' ' || c == '\t'; }

/* Every entry's strings live in one block per entry: section, key, value. */
static int add_entry(rg_conf *c, size_t *cap, const char *section, size_t slen, const char *key, size_t klen,
                     const char *value, size_t vlen, unsigned line, unsigned col, unsigned vcol)
{
    if (c->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        rg_conf_entry *p = realloc(c->entries, ncap * sizeof *p);
        if (!p)
            return -1;
        c->entries = p;
        *cap = ncap;
    }
    char *block = malloc(slen + klen + vlen + 3);
    if (!block)
        return -1;
    memcpy(block, section, slen);
    block[slen] = '\0';
    memcpy(block + slen + 1, key, klen);
    block[slen + 1 + klen] = '\0';
    memcpy(block + slen + klen + 2, value, vlen);
    block[slen + klen + 2 + vlen] = '\0';
    c->entries[c->n++] = (rg_conf_entry){.section = block,
                                         .key = block + slen + 1,
                                         .value = block + slen + klen + 2,
                                         .line = line,
                                         .column = col,
                                         .value_column = vcol};
    return 0;
}

rg_conf *rg_conf_parse(const char *name, const char *text, size_t len, char *err, size_t err_size)
{
    rg_conf *c = calloc(1, sizeof *c);
    size_t cap = 0;
    char section[RG_CONF_MAX_LINE + 1] = "";
    size_t section_len = 0;
    unsigned line_no = 0;
    if (!c)
        goto oom;
    if (len > RG_CONF_MAX_BYTES) {
        snprintf(err, err_size, "%s:1:1: file larger than %d bytes", name, RG_CONF_MAX_BYTES);
        goto fail;
    }
    for (size_t at = 0; at < len;) {
        const char *line = text + at;
        const char *nl = memchr(line, '\n', len - at);
        size_t n = nl ? (size_t)(nl - line) : len - at;
        at += n + (nl ? 1 : 0);
        line_no++;
        if (n > RG_CONF_MAX_LINE) {
            snprintf(err, err_size, "%s:%u:1: line longer than %d bytes", name, line_no, RG_CONF_MAX_LINE);
            goto fail;
        }
        if (n && line[n - 1] == '\r')
            n--;
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)line[i];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                snprintf(err, err_size, "%s:%u:%zu: control character 0x%02x", name, line_no, i + 1, ch);
                goto fail;
            }
        }
        size_t b = 0, e = n;
        while (b < e && blank(line[b]))
            b++;
        while (e > b && blank(line[e - 1]))
            e--;
        if (b == e || line[b] == '#' || line[b] == ';')
            continue;
        if (line[b] == '[') {
            size_t s = b + 1;
            size_t k = s;
            while (k < e && name_char((unsigned char)line[k]))
                k++;
            if (k == s || k >= e || line[k] != ']' || k + 1 != e) {
                snprintf(err, err_size, "%s:%u:%zu: expected [section] (letters, digits, '_', '.', '-')", name,
                         line_no, b + 1);
                goto fail;
            }
            section_len = k - s;
            memcpy(section, line + s, section_len);
            section[section_len] = '\0';
            continue;
        }
        size_t k = b;
        while (k < e && name_char((unsigned char)line[k]))
            k++;
        if (k == b) {
            snprintf(err, err_size, "%s:%u:%zu: expected key = value (a key is letters, digits, '_', '.', '-')",
                     name, line_no, b + 1);
            goto fail;
        }
        size_t eq = k;
        while (eq < e && blank(line[eq]))
            eq++;
        if (eq >= e || line[eq] != '=') {
            snprintf(err, err_size, "%s:%u:%zu: expected '=' after the key \"%.*s\"", name, line_no, eq + 1,
                     (int)(k - b), line + b);
            goto fail;
        }
        size_t v = eq + 1;
        while (v < e && blank(line[v]))
            v++;
        size_t ve = e;
        if (v < e && line[v] == '"') {
            if (ve - v < 2 || line[ve - 1] != '"') {
                snprintf(err, err_size, "%s:%u:%zu: unterminated quoted value", name, line_no, v + 1);
                goto fail;
            }
            v++;
            ve--;
        }
        if (c->n == RG_CONF_MAX_ENTRIES) {
            snprintf(err, err_size, "%s:%u:%zu: more than %d entries", name, line_no, b + 1, RG_CONF_MAX_ENTRIES);
            goto fail;
        }
        if (add_entry(c, &cap, section, section_len, line + b, k - b, line + v, ve - v, line_no, (unsigned)b + 1,
                      (unsigned)v + 1) != 0)
            goto oom;
    }
    return c;
oom:
    snprintf(err, err_size, "%s: out of memory", name);
fail:
    rg_conf_free(c);
    return NULL;
}

rg_conf *rg_conf_load(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* One byte past the limit tells "too large" from "exactly the limit". */
    char *buf = malloc(RG_CONF_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, err_size, "%s: out of memory", path);
        return NULL;
    }
    size_t len = fread(buf, 1, RG_CONF_MAX_BYTES + 1, f);
    int read_errno = ferror(f) ? errno : 0;
    fclose(f);
    rg_conf *c = NULL;
    if (read_errno)
        snprintf(err, err_size, "%s: %s", path, strerror(read_errno));
    else
        c = rg_conf_parse(path, buf, len, err, err_size);
    free(buf);
    return c;
}

void rg_conf_free(rg_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free((char *)c->entries[i].section);
    free(c->entries);
    free(c);
}
