/*
 * conf_file — a small configuration file, as `riskgate run --config FILE`
 * reads it (docs/operations.md, "The configuration file"):
 *
 *     # a comment (also ';'), on a line of its own
 *     key = value
 *     [section]
 *     other.key = value with spaces, '#' and '=' kept
 *
 * A key is letters, digits and `_ . -`; the value is the rest of the line
 * with surrounding blanks removed, or the text between double quotes when
 * it is quoted (no escapes: a quoted value keeps its blanks). Entries before
 * the first [section] have section "". Repeated keys are all kept, in file
 * order: what they mean is the caller's. This module knows no key.
 *
 * Hostile input: the file is at most RG_CONF_MAX_BYTES, a line at most
 * RG_CONF_MAX_LINE bytes, at most RG_CONF_MAX_ENTRIES entries; a NUL or
 * another control character (tab apart) is refused. Every refusal is one
 * message "NAME:LINE:COLUMN: what is wrong" (columns count bytes from 1).
 *
 * Ownership: rg_conf_parse copies what it keeps; the result is freed with
 * rg_conf_free (NULL-safe). Not thread-safe: one owner.
 */
#ifndef RG_CONF_FILE_H
#define RG_CONF_FILE_H

#include <stddef.h>

#define RG_CONF_MAX_BYTES (1024 * 1024)
#define RG_CONF_MAX_LINE 8192
#define RG_CONF_MAX_ENTRIES 1024

typedef struct rg_conf_entry {
    const char *section;    /* "" before the first [section] */
    const char *key;
    const char *value;      /* may be "" */
    unsigned line;          /* 1-based */
    unsigned column;        /* of the key */
    unsigned value_column;  /* of the value's first byte (after a quote) */
} rg_conf_entry;

typedef struct rg_conf {
    rg_conf_entry *entries;
    size_t n;
} rg_conf;

/* Parse len bytes of text (need not end in NUL); `name` names it in
 * errors. NULL on refusal or out of memory, with the message in err. */
rg_conf *rg_conf_parse(const char *name, const char *text, size_t len, char *err, size_t err_size);

/* Read and parse the file at path (named by path in errors). */
rg_conf *rg_conf_load(const char *path, char *err, size_t err_size);

void rg_conf_free(rg_conf *c);

#endif
