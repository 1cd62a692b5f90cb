/* jsonl — decisions and rejects files as a sink; see jsonl.h. */
#include "jsonl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../decisions/engine.h"

typedef struct jsonl_sink {
    rg_jsonl_sink_conf conf;
    uint64_t rejects_seen;
    rg_strbuf line;
} jsonl_sink;

/* One fwrite per line: a line is never split between two writes, and
 * stdio buffers the rest. */
static int write_line(jsonl_sink *k, FILE *f, const char *json, size_t json_len, void *ticket)
{
    rg_strbuf_reset(&k->line);
    rg_strbuf_append(&k->line, json, json_len);
    rg_strbuf_putc(&k->line, '\n');
    if (!rg_strbuf_ok(&k->line)) {
        errno = ENOMEM;
        return RG_SINK_FAILED;
    }
    if (fwrite(k->line.data, 1, k->line.len, f) != k->line.len)
        return RG_SINK_FAILED;
    if (k->conf.acked)
        k->conf.acked(k->conf.ack_opaque, ticket, 0);
    return RG_SINK_TAKEN;
}

static int jsonl_decision(void *self, const rg_decision *d, void *ticket)
{
    jsonl_sink *k = self;
    if (!k->conf.decisions || !d->emit)
        return RG_SINK_DECLINED;   /* every hit under cooldown: the alert store's, not the file's */
    return write_line(k, k->conf.decisions, d->json, d->json_len, ticket);
}

static int jsonl_reject(void *self, const rg_dead_letter *r, void *ticket)
{
    jsonl_sink *k = self;
    k->rejects_seen++;
    if (!k->conf.rejects || (k->conf.max_rejects_set && k->rejects_seen > k->conf.max_rejects))
        return RG_SINK_DECLINED;
    return write_line(k, k->conf.rejects, r->json, r->json_len, ticket);
}

static int jsonl_flush(void *self, char *errstr, size_t errstr_size)
{
    jsonl_sink *k = self;
    FILE *files[2] = {k->conf.decisions, k->conf.rejects};
    for (int i = 0; i < 2; i++)
        if (files[i] && fflush(files[i]) != 0) {
            snprintf(errstr, errstr_size, "writing %s: %s", i ? "rejects" : "decisions", strerror(errno));
            return -1;
        }
    return 0;
}

static int jsonl_close(void *self, char *errstr, size_t errstr_size)
{
    jsonl_sink *k = self;
    rg_strbuf_free(&k->line);
    free(k);
    return 0;
}

static const rg_sink_ops jsonl_ops = {
    .name = "JSON Lines file",
    .decision = jsonl_decision,
    .reject = jsonl_reject,
    .flush = jsonl_flush,
    .close = jsonl_close,
};

int rg_jsonl_sink_open(rg_sink *out, const rg_jsonl_sink_conf *conf, char *errstr, size_t errstr_size)
{
    *out = (rg_sink){0};
    jsonl_sink *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    k->conf = *conf;
    *out = (rg_sink){.ops = &jsonl_ops, .self = k};
    return 0;
}
