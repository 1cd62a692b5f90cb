/* log — logfmt lines with levels; see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../common/strbuf.h"

static rg_log_level log_level = RG_LOG_INFO;
static FILE *log_stream;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void rg_log_set_level(rg_log_level level) { log_level = level; }
rg_log_level rg_log_get_level(void) { return log_level; }
void rg_log_set_stream(FILE *f) { log_stream = f; }

const char *rg_log_level_name(rg_log_level level)
{
    return (unsigned)level <= RG_LOG_ERROR ? level_names[level] : "info";
}

int rg_log_level_parse(const char *name, rg_log_level *out)
{
    for (int i = 0; i <= RG_LOG_ERROR; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (rg_log_level)i;
            return 0;
        }
    if (strcasecmp(name, "warning") == 0) {
        *out = RG_LOG_WARN;
        return 0;
    }
    return -1;
}

static bool needs_quotes(const char *v)
{
    if (!*v)
        return true;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p == 0x7f)
            return true;
    return false;
}

static void put_value(rg_strbuf *b, const char *v)
{
    if (!v)
        v = "";
    if (!needs_quotes(v)) {
        rg_strbuf_puts(b, v);
        return;
    }
    rg_strbuf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"': rg_strbuf_puts(b, "\\\""); break;
        case '\\': rg_strbuf_puts(b, "\\\\"); break;
        case '\n': rg_strbuf_puts(b, "\\n"); break;
        case '\r': rg_strbuf_puts(b, "\\r"); break;
        case '\t': rg_strbuf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                rg_strbuf_printf(b, "\\x%02x", *p);
            else
                rg_strbuf_putc(b, (char)*p);
        }
    }
    rg_strbuf_putc(b, '"');
}

void rg_log(rg_log_level level, const char *msg, ...)
{
    if (level < log_level)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;

    char stack[512];
    rg_strbuf b = RG_STRBUF_INIT;
    rg_strbuf_puts(&b, "ts=");
    rg_strbuf_put_utc_ms(&b, now_ms);
    rg_strbuf_puts(&b, " level=");
    rg_strbuf_puts(&b, rg_log_level_name(level));
    rg_strbuf_puts(&b, " msg=");
    put_value(&b, msg);

    va_list ap;
    va_start(ap, msg);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (!key)
            break;
        const char *value = va_arg(ap, const char *);
        rg_strbuf_putc(&b, ' ');
        rg_strbuf_puts(&b, key);
        rg_strbuf_putc(&b, '=');
        put_value(&b, value);
    }
    va_end(ap);
    rg_strbuf_putc(&b, '\n');

    FILE *f = log_stream ? log_stream : stderr;
    if (rg_strbuf_ok(&b)) {
        fwrite(b.data, 1, b.len, f);
    } else {
        /* Out of memory: still say something, without the fields. */
        snprintf(stack, sizeof stack, "level=%s msg=\"%s\" (log line truncated: out of memory)\n",
                 rg_log_level_name(level), msg);
        fputs(stack, f);
    }
    fflush(f);
    rg_strbuf_free(&b);
}

bool rg_log_secret_key(const char *key)
{
    static const char *const secret_words[] = {"password", "secret", "token", "sasl", "jaas",
                                               "credential", "ssl.key", "private", ".pem", "keystore"};
    size_t klen = strlen(key);
    for (size_t i = 0; i < sizeof secret_words / sizeof *secret_words; i++) {
        size_t wlen = strlen(secret_words[i]);
        for (size_t at = 0; at + wlen <= klen; at++)
            if (strncasecmp(key + at, secret_words[i], wlen) == 0)
                return true;
    }
    return false;
}
