#include "sinks.h"

#include <string.h>

static int fan_out(void *opaque, const rg_decision *d)
{
    rg_decision_sinks *s = opaque;
    int rc = 0;
    if (s->out && d->emit) {
        /* One fwrite per line: stdio buffers, and a decision is never
         * split across writes of other threads (there are none here). */
        rg_strbuf_reset(&s->line);
        rg_strbuf_append(&s->line, d->json, d->json_len);
        rg_strbuf_putc(&s->line, '\n');
        if (!rg_strbuf_ok(&s->line) || fwrite(s->line.data, 1, s->line.len, s->out) != s->line.len)
            rc = -1;
    }
    if (s->alerts && s->alerts_sink.decision(s->alerts_sink.opaque, d) != 0)
        rc = -1;
    return rc;
}

int rg_decision_sinks_open(rg_decision_sinks *s, FILE *out, const char *alerts_db, char *errstr,
                           size_t errstr_size)
{
    memset(s, 0, sizeof *s);
    s->out = out;
    s->sink.opaque = s;
    s->sink.decision = fan_out;
    if (alerts_db) {
        snprintf(errstr, errstr_size, "--alerts: the alert store is not built yet");
        return -1;
    }
    return 0;
}

int rg_decision_sinks_close(rg_decision_sinks *s, char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    rg_strbuf_free(&s->line);
    return 0;
}
