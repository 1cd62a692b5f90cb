/* decision_id.c — escaping the two parts of a decision id (contract in decision_id.h). */
#include "decision_id.h"

#include <string.h>

void rg_decision_id_put_part(rg_strbuf *out, const char *part, size_t len)
{
    /* Runs of ordinary bytes are appended in one go: almost every id has
     * nothing to escape, and this is on the engine's path for every decision. */
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (part[i] != '%' && part[i] != '/')
            continue;
        rg_strbuf_append(out, part + start, i - start);
        rg_strbuf_puts(out, part[i] == '%' ? "%25" : "%2F");
        start = i + 1;
    }
    rg_strbuf_append(out, part + start, len - start);
}

void rg_decision_id_put(rg_strbuf *out, const char *event_id, size_t event_id_len,
                        const char *subject, size_t subject_len)
{
    rg_decision_id_put_part(out, event_id, event_id_len);
    rg_strbuf_putc(out, '/');
    rg_decision_id_put_part(out, subject, subject_len);
}

/* Unescape part[0..len) into out (NULL: only check). */
static bool unescape_part(const char *part, size_t len, rg_strbuf *out)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = part[i];
        if (c == '%') {
            if (i + 2 >= len)
                return false;
            char hi = part[i + 1], lo = part[i + 2];
            if (hi != '2' || !(lo == '5' || lo == 'F' || lo == 'f'))
                return false;
            c = lo == '5' ? '%' : '/';
            i += 2;
        }
        if (out)
            rg_strbuf_putc(out, c);
    }
    return true;
}

bool rg_decision_id_parse(const char *id, size_t len, rg_strbuf *event_id, rg_strbuf *subject)
{
    const char *slash = memchr(id, '/', len);
    if (!slash || memchr(slash + 1, '/', len - (size_t)(slash - id) - 1))
        return false;
    size_t ev_len = (size_t)(slash - id), sub_len = len - ev_len - 1;
    if (!unescape_part(id, ev_len, NULL) || !unescape_part(slash + 1, sub_len, NULL))
        return false;
    if (event_id)
        unescape_part(id, ev_len, event_id);
    if (subject)
        unescape_part(slash + 1, sub_len, subject);
    return true;
}
