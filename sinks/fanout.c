/* fanout — several sinks behind one handle; see fanout.h. */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fanout_sink {
    rg_sink child[RG_FANOUT_MAX];
    size_t n;
    const char *failed;     /* the first child that failed an op */
} fanout_sink;

/* Fold one child's answer into the fan-out's. */
static int fold(fanout_sink *f, size_t i, int acc, int rc)
{
    if (rc < 0) {
        if (!f->failed)
            f->failed = f->child[i].ops->name ? f->child[i].ops->name : "sink";
        return RG_SINK_FAILED;
    }
    if (acc == RG_SINK_FAILED)
        return acc;
    return rc == RG_SINK_TAKEN ? RG_SINK_TAKEN : acc;
}

static int fanout_decision(void *self, const struct rg_decision *d, void *ticket)
{
    fanout_sink *f = self;
    int acc = RG_SINK_DECLINED;
    for (size_t i = 0; i < f->n; i++)
        acc = fold(f, i, acc, rg_sink_decision(&f->child[i], d, ticket));
    return acc;
}

static int fanout_reject(void *self, const rg_dead_letter *r, void *ticket)
{
    fanout_sink *f = self;
    int acc = RG_SINK_DECLINED;
    for (size_t i = 0; i < f->n; i++)
        acc = fold(f, i, acc, rg_sink_reject(&f->child[i], r, ticket));
    return acc;
}

static int fanout_record(void *self, const rg_keyed_record *r, void *ticket)
{
    fanout_sink *f = self;
    int acc = RG_SINK_DECLINED;
    for (size_t i = 0; i < f->n; i++)
        acc = fold(f, i, acc, rg_sink_record(&f->child[i], r, ticket));
    return acc;
}

static int fanout_flush(void *self, char *errstr, size_t errstr_size)
{
    fanout_sink *f = self;
    int rc = 0;
    for (size_t i = 0; i < f->n; i++)
        if (rg_sink_flush(&f->child[i], rc ? NULL : errstr, rc ? 0 : errstr_size) != 0)
            rc = -1;   /* the first message stays */
    return rc;
}

static int close_children(rg_sink *child, size_t n, char *errstr, size_t errstr_size)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (rg_sink_close(&child[i], rc ? NULL : errstr, rc ? 0 : errstr_size) != 0)
            rc = -1;
    return rc;
}

static int fanout_close(void *self, char *errstr, size_t errstr_size)
{
    fanout_sink *f = self;
    int rc = close_children(f->child, f->n, errstr, errstr_size);
    free(f);
    return rc;
}

static const rg_sink_ops fanout_ops = {
    .name = "fan-out",
    .decision = fanout_decision,
    .reject = fanout_reject,
    .record = fanout_record,
    .flush = fanout_flush,
    .close = fanout_close,
};

int rg_fanout_sink_open(rg_sink *out, const rg_sink *children, size_t n, char *errstr, size_t errstr_size)
{
    *out = (rg_sink){0};
    fanout_sink *f = n <= RG_FANOUT_MAX ? calloc(1, sizeof *f) : NULL;
    if (!f) {
        for (size_t i = 0; i < n; i++) {
            rg_sink child = children[i];
            rg_sink_close(&child, NULL, 0);
        }
        snprintf(errstr, errstr_size, n > RG_FANOUT_MAX ? "at most %d sinks in one fan-out" : "out of memory",
                 RG_FANOUT_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (children[i].ops)
            f->child[f->n++] = children[i];
    *out = (rg_sink){.ops = &fanout_ops, .self = f};
    return 0;
}

const char *rg_fanout_sink_failed(const rg_sink *fanout)
{
    return fanout && fanout->ops == &fanout_ops ? ((const fanout_sink *)fanout->self)->failed : NULL;
}
