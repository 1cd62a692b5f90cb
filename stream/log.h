/*
 * log — structured log lines for the streaming runner: one logfmt line per
 * record on stderr, `ts=<UTC ms> level=<lvl> msg="<text>" key=value ...`.
 *
 * Why logfmt: an operator reads it with `grep`, a collector parses it
 * without a schema, and a line stays one line (values are quoted and
 * escaped, newlines become \n).
 *
 * Secrets: rg_log_secret_key() is the one place that decides whether a
 * configuration key is secret (password, secret, token, sasl, key material,
 * jaas, credential); callers print "[redacted]" for such values. Nothing in
 * this module prints a -X value by itself.
 *
 * Threading: rg_log may be called from any thread (each line is written
 * with one fwrite under the stdio lock, so lines never interleave).
 * rg_log_set_* are meant for start-up, before other threads exist.
 */
#ifndef RG_STREAM_LOG_H
#define RG_STREAM_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum rg_log_level {
    RG_LOG_DEBUG = 0,
    RG_LOG_INFO,
    RG_LOG_WARN,
    RG_LOG_ERROR
} rg_log_level;

/* Lines below `level` are dropped. Default: info. */
void rg_log_set_level(rg_log_level level);
rg_log_level rg_log_get_level(void);
/* Where lines go; NULL restores stderr. The stream is borrowed. */
void rg_log_set_stream(FILE *f);

/* "debug", "info", "warn", "error" -> level; -1 when unknown. */
int rg_log_level_parse(const char *name, rg_log_level *out);
const char *rg_log_level_name(rg_log_level level);

/*
 * One line: `msg` then key/value string pairs, terminated by NULL:
 *   rg_log(RG_LOG_WARN, "commit failed", "partition", "3", "error", errstr, NULL);
 * A NULL value prints as an empty quoted string. Values are quoted when
 * they hold a space, '=', '"' or a control character.
 */
void rg_log(rg_log_level level, const char *msg, ...) __attribute__((sentinel));

/* True when a configuration key names secret material (case-insensitive
 * substring match on password, secret, token, sasl, jaas, credential,
 * ssl.key, private, .pem). */
bool rg_log_secret_key(const char *key);

#endif
