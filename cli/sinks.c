#include "sinks.h"

#include <string.h>

#include "../store/alerts.h"

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
        rc = -1; /* the store keeps the message: rg_alert_store_last_error */
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
        s->alerts = rg_alert_store_open(alerts_db, RG_ALERTS_CREATE, errstr, errstr_size);
        if (!s->alerts)
            return -1;
        s->alerts_sink = rg_alert_store_sink(s->alerts);
    }
    return 0;
}

int rg_decision_sinks_close(rg_decision_sinks *s, char *errstr, size_t errstr_size)
{
    rg_strbuf_free(&s->line);
    int rc = 0;
    if (s->alerts) {
        const char *last = rg_alert_store_last_error(s->alerts);
        if (last && *last) {
            snprintf(errstr, errstr_size, "alert store: %s", last);
            rc = -1;
        }
        if (rg_alert_store_close(s->alerts, rc ? NULL : errstr, rc ? 0 : errstr_size) != 0)
            rc = -1;
        s->alerts = NULL;
    }
    return rc;
}
