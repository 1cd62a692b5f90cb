/*
 * fuzz_conf_file — `riskgate run --config FILE` files (common/conf_file.h)
 * from the fuzzer. Beyond "no crash, no over-read, no leak": a refusal
 * always names the file and a position ("fuzz.conf:LINE:COLUMN: ..."); an
 * accepted file's entries obey the grammar (keys and sections of name
 * characters, values free of control characters but tab, positions on
 * lines that exist), and re-serialised as `[section]` / `key = "value"`
 * lines they parse back to the same entries. The input is copied to an
 * exact-size buffer so ASan sees any read past it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf_file.h"
#include "common/strbuf.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int name_ok(const char *s, int allow_empty)
{
    if (!*s)
        return allow_empty;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *s))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = calloc(size ? size : 1, 1);
    if (!text)
        return 0;
    if (size)
        memcpy(text, data, size);
    char err[512] = "";
    rg_conf *c = rg_conf_parse("fuzz.conf", text, size, err, sizeof err);
    if (!c) {
        CHECK(strncmp(err, "fuzz.conf:", 10) == 0 || strstr(err, "out of memory"));
        free(text);
        return 0;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += text[i] == '\n';
    CHECK(c->n <= RG_CONF_MAX_ENTRIES);
    rg_strbuf again = RG_STRBUF_INIT;
    const char *section = "";
    for (size_t i = 0; i < c->n; i++) {
        const rg_conf_entry *e = &c->entries[i];
        CHECK(name_ok(e->section, 1) && name_ok(e->key, 0));
        CHECK(e->line >= 1 && e->line <= lines && e->column >= 1 && e->value_column >= e->column);
        for (const unsigned char *v = (const unsigned char *)e->value; *v; v++)
            CHECK((*v >= 0x20 && *v != 0x7f) || *v == '\t');
        if (strcmp(section, e->section) != 0)
            rg_strbuf_printf(&again, "[%s]\n", e->section);
        section = e->section;
        rg_strbuf_printf(&again, "%s = \"%s\"\n", e->key, e->value);
    }
    CHECK(rg_strbuf_ok(&again));
    /* Entries before any [section] cannot follow one: the first section
     * header only appears once a sectioned entry is written. */
    char err2[512] = "";
    rg_conf *d = rg_conf_parse("again.conf", again.data ? again.data : "", again.len, err2, sizeof err2);
    CHECK(d && d->n == c->n);
    for (size_t i = 0; i < c->n; i++) {
        CHECK(strcmp(d->entries[i].section, c->entries[i].section) == 0);
        CHECK(strcmp(d->entries[i].key, c->entries[i].key) == 0);
        CHECK(strcmp(d->entries[i].value, c->entries[i].value) == 0);
    }
    rg_conf_free(d);
    rg_strbuf_free(&again);
    rg_conf_free(c);
    free(text);
    return 0;
}
