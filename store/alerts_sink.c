/* alerts_sink — the alert store as a sink (sinks/sink.h); see alerts.h,
 * rg_alert_sink_open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "alerts_internal.h"

typedef struct alert_sink {
    rg_alert_sink_conf conf;
    /* Tickets taken into batches not known to be committed yet, and the
     * store's commit count when the oldest of them was taken: a higher
     * count means the batch holding them committed. Kept only with an
     * acked callback (nobody waits otherwise). */
    void **tickets;
    size_t n_tickets, cap_tickets;
    uint64_t commits_seen;
} alert_sink;

static void ack_all(alert_sink *k, int err)
{
    for (size_t i = 0; i < k->n_tickets; i++)
        k->conf.acked(k->conf.ack_opaque, k->tickets[i], err);
    k->n_tickets = 0;
}

/* Acknowledge what a commit since the last look made durable. Every
 * ticket kept is in a batch opened after commits_seen: any commit since
 * closed that batch (an add opens the next one only after it). */
static void ack_committed(alert_sink *k)
{
    if (k->conf.store->commits != k->commits_seen) {
        k->commits_seen = k->conf.store->commits;
        if (k->conf.acked)
            ack_all(k, 0);
    }
}

static int keep_ticket(alert_sink *k, void *ticket)
{
    if (k->n_tickets == k->cap_tickets) {
        size_t cap = k->cap_tickets ? k->cap_tickets * 2 : 64;
        void **p = realloc(k->tickets, cap * sizeof *p);
        if (!p)
            return -1;
        k->tickets = p;
        k->cap_tickets = cap;
    }
    k->tickets[k->n_tickets++] = ticket;
    return 0;
}

static int alert_decision(void *self, const struct rg_decision *d, void *ticket)
{
    alert_sink *k = self;
    rg_alert_store *s = k->conf.store;
    int rc = rg_alert_store_add(s, d, s->last_error, sizeof s->last_error);
    ack_committed(k);   /* the add may have committed the batch before it */
    if (rc < 0) {
        /* The open batch was rolled back: what it held is lost. */
        if (k->conf.acked)
            ack_all(k, -1);
        return RG_SINK_FAILED;
    }
    if (k->conf.acked && keep_ticket(k, ticket) != 0) {
        snprintf(s->last_error, sizeof s->last_error, "out of memory keeping a ticket");
        return RG_SINK_FAILED;
    }
    return RG_SINK_TAKEN;
}

static int alert_flush(void *self, char *errstr, size_t errstr_size)
{
    alert_sink *k = self;
    int rc = rg_alert_store_flush(k->conf.store, errstr, errstr_size);
    ack_committed(k);
    if (rc != 0 && k->conf.acked)
        ack_all(k, -1);   /* the commit failed and was rolled back */
    return rc;
}

static int alert_close(void *self, char *errstr, size_t errstr_size)
{
    alert_sink *k = self;
    int rc = 0;
    if (k->conf.owns_store) {
        const char *last = rg_alert_store_last_error(k->conf.store);
        if (last && *last) {
            snprintf(errstr, errstr_size, "alert store: %s", last);
            rc = -1;
        }
        /* The final commit is the store's close: acknowledged by its
         * outcome (the handle is gone after it). */
        int close_rc = rg_alert_store_close(k->conf.store, rc ? NULL : errstr, rc ? 0 : errstr_size);
        if (k->conf.acked)
            ack_all(k, close_rc != 0 ? -1 : 0);
        if (close_rc != 0)
            rc = -1;
    } else {
        rc = alert_flush(k, errstr, errstr_size);
    }
    free(k->tickets);
    free(k);
    return rc;
}

static const rg_sink_ops alert_ops = {
    .name = "alert store",
    .decision = alert_decision,
    .flush = alert_flush,
    .close = alert_close,
};

int rg_alert_sink_open(rg_sink *out, const rg_alert_sink_conf *conf, char *errstr, size_t errstr_size)
{
    *out = (rg_sink){0};
    alert_sink *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(errstr, errstr_size, "out of memory");
        if (conf->owns_store)
            rg_alert_store_close(conf->store, NULL, 0);
        return -1;
    }
    k->conf = *conf;
    k->commits_seen = conf->store->commits;
    *out = (rg_sink){.ops = &alert_ops, .self = k};
    return 0;
}
