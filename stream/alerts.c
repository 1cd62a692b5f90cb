/* alerts — the alert store (a sink) and its release outbox from streaming; see alerts.h. */
#include "alerts.h"

#include <stdlib.h>
#include <string.h>

#include "../decisions/engine.h"
#include "../store/alerts.h"
#include "log.h"



/* Write cadence: often enough that analysts see an alert within about a
 * second, seldom enough that each transaction carries a batch. */
#define ALERT_WRITE_MS 200
#define ALERT_WRITE_ROWS 5000
#define ALERT_RETRY_MS 200
/* Above this many waiting copies (the store has been unwritable for a
 * while) processing pauses rather than grow memory without bound. */
#define ALERT_PENDING_MAX 100000
/* How long one write waits for another process's write lock. */
#define ALERT_BUSY_MS 100
#define OUTBOX_EVERY_MS 1000
#define OUTBOX_BATCH 256

/* A decision kept until the store has it. One allocation: this header,
 * then the hits, then the strings the decision points to. The hits' rule
 * pointers are borrowed from the rule set in force (written before any
 * reload: run.c). */
typedef struct alert_copy {
    rg_decision d;
    void *ticket;               /* its task's output ticket (runtime.h) */
} alert_copy;

/* A small set of outbox row ids (a handful in practice). */
typedef struct id_set {
    int64_t *ids;
    size_t n, cap;
} id_set;

struct rg_run_alerts {
    rg_stream *s;
    rg_sink_acked_fn acked;     /* a copy's ticket, once the store has it */
    void *ack_opaque;
    rg_alert_store *store;
    char *path;
    alert_copy **pending;
    size_t n_pending, cap_pending;
    int64_t last_write_ms, retry_at_ms;
    bool failing;               /* in a failing episode (logged once per 5 s) */
    bool paused_logged;
    int64_t last_log_ms;
    id_set inflight;            /* releases produced, no delivery report yet */
    id_set unmarked;            /* releases delivered whose mark_sent failed */
    int64_t last_outbox_ms;
    int64_t last_outbox_log_ms;
    rg_strbuf value;
};

/* ---- id sets ---- */

static bool ids_has(const id_set *s, int64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return true;
    return false;
}

static int ids_add(id_set *s, int64_t id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        int64_t *p = realloc(s->ids, cap * sizeof *p);
        if (!p)
            return -1;
        s->ids = p;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return 0;
}

static bool ids_remove(id_set *s, int64_t id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] == id) {
            s->ids[i] = s->ids[--s->n];
            return true;
        }
    return false;
}

/* ---- lifecycle ---- */

static const rg_sink_ops alerts_ops;

int rg_run_alerts_open(rg_stream *s, const char *path, char *errstr, size_t errstr_size)
{
    rg_run_alerts *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    a->store = rg_alert_store_open(path, RG_ALERTS_CREATE, errstr, errstr_size);
    if (!a->store) {
        free(a->path);
        free(a);
        return -1;
    }
    rg_alert_store_set_busy_timeout(a->store, ALERT_BUSY_MS);
    a->s = s;
    a->acked = rg_run_acked;
    a->ack_opaque = s;
    s->alerts = a;
    s->sinks.alerts = (rg_sink){.ops = &alerts_ops, .self = a};
    return 0;
}

static void free_pending(rg_run_alerts *a)
{
    for (size_t i = 0; i < a->n_pending; i++)
        free(a->pending[i]);
    a->n_pending = 0;
}

/* The sink's close: write what can still be written, then close. */
static int alerts_close(void *self, char *errstr, size_t errstr_size)
{
    rg_run_alerts *a = self;
    rg_stream *s = a->s;
    int rc = 0;
    a->retry_at_ms = 0;
    if (rg_run_alerts_write(s, true) > 0) {
        rg_log(RG_LOG_WARN, "alerts not written at exit; their events' offsets were not committed, so a restart "
                            "evaluates them again",
               "db", a->path, NULL);
        snprintf(errstr, errstr_size, "alerts not written at exit");
        rc = -1;
    }
    char err[512];
    if (rg_alert_store_close(a->store, err, sizeof err) != 0) {
        rg_log(RG_LOG_WARN, "closing the alert store failed", "db", a->path, "error", err, NULL);
        rc = -1;
    }
    /* Copies never written will never be: their tickets say so. */
    for (size_t i = 0; i < a->n_pending; i++)
        a->acked(a->ack_opaque, a->pending[i]->ticket, -1);
    free_pending(a);
    free(a->pending);
    free(a->inflight.ids);
    free(a->unmarked.ids);
    rg_strbuf_free(&a->value);
    free(a->path);
    free(a);
    s->alerts = NULL;
    return rc;
}

void rg_run_alerts_close(rg_stream *s)
{
    if (s->alerts)
        rg_sink_close(&s->sinks.alerts, NULL, 0);   /* what went wrong is logged */
}

/* ---- alerts ---- */

static size_t str_size(const char *p) { return p ? strlen(p) + 1 : 0; }

/* Copy p (len bytes, or a C string when len is SIZE_MAX) into *at. */
static const char *put_str(char **at, const char *p, size_t len)
{
    if (!p)
        return NULL;
    if (len == SIZE_MAX)
        len = strlen(p);
    char *dst = *at;
    memcpy(dst, p, len);
    dst[len] = '\0';
    *at += len + 1;
    return dst;
}

static alert_copy *copy_decision(const rg_decision *d)
{
    size_t hits = d->n_hits * sizeof *d->hits;
    size_t strings = str_size(d->decision_id) + str_size(d->event_id) + str_size(d->subject) +
                     str_size(d->ruleset) + d->json_len + 1 + (d->event_raw ? d->event_raw_len + 1 : 0);
    for (size_t i = 0; i < d->n_hits; i++)
        strings += str_size(d->hits[i].rule_id);
    alert_copy *c = malloc(sizeof *c + hits + strings);
    if (!c)
        return NULL;
    c->d = *d;
    rg_decision_hit *h = (rg_decision_hit *)(c + 1);
    if (hits)
        memcpy(h, d->hits, hits);
    c->d.hits = h;
    char *at = (char *)h + hits;
    c->d.decision_id = put_str(&at, d->decision_id, SIZE_MAX);
    c->d.event_id = put_str(&at, d->event_id, SIZE_MAX);
    c->d.subject = put_str(&at, d->subject, SIZE_MAX);
    c->d.ruleset = put_str(&at, d->ruleset, SIZE_MAX);
    c->d.json = put_str(&at, d->json ? d->json : "", d->json ? d->json_len : 0);
    c->d.event_raw = put_str(&at, d->event_raw, d->event_raw_len);
    c->d.event = NULL;          /* not kept: the store reads event_raw */
    /* The rule ids may live in the decision's own buffers (a subject
     * task's, stages/held.c); reason and evidence are in the JSON. */
    for (size_t i = 0; i < d->n_hits; i++) {
        h[i].rule_id = put_str(&at, d->hits[i].rule_id, SIZE_MAX);
        h[i].reason = h[i].evidence = NULL;
        h[i].reason_len = h[i].evidence_len = 0;
    }
    return c;
}

/* The sink's decision: a copy kept until a write commits it. */
static int alerts_decision(void *self, const rg_decision *d, void *ticket)
{
    rg_run_alerts *a = self;
    rg_stream *s = a->s;
    if (a->n_pending == a->cap_pending) {
        size_t cap = a->cap_pending ? a->cap_pending * 2 : 1024;
        alert_copy **p = realloc(a->pending, cap * sizeof *p);
        if (!p)
            goto oom;
        a->pending = p;
        a->cap_pending = cap;
    }
    alert_copy *c = copy_decision(d);
    if (!c)
        goto oom;
    /* One more output of its task's epoch: no snapshot covers the event
     * before the store has the alert. */
    c->ticket = ticket;
    a->pending[a->n_pending++] = c;
    s->metrics.alerts_pending = a->n_pending;
    return RG_SINK_TAKEN;
oom:
    rg_log(RG_LOG_ERROR, "out of memory keeping an alert; stopping without committing past it", NULL);
    s->fatal = true;
    return RG_SINK_FAILED;
}

size_t rg_run_alerts_write(rg_stream *s, bool force)
{
    rg_run_alerts *a = s->alerts;
    if (!a || !a->n_pending)
        return 0;
    int64_t now = rg_run_mono_ms();
    if (now < a->retry_at_ms)
        return a->n_pending;
    if (!force && a->n_pending < ALERT_WRITE_ROWS && now - a->last_write_ms < ALERT_WRITE_MS)
        return a->n_pending;
    a->last_write_ms = now;
    char err[512] = "";
    size_t i = 0;
    /* Adds run in one store batch (one transaction) and the flush commits
     * it: between two writes the store holds no lock. A failure rolls the
     * batch back; every copy is kept and added again later (adding an
     * alert that exists changes nothing). */
    while (i < a->n_pending && rg_alert_store_add(a->store, &a->pending[i]->d, err, sizeof err) >= 0)
        i++;
    if (i < a->n_pending || rg_alert_store_flush(a->store, err, sizeof err) != 0) {
        s->metrics.alert_store_errors++;
        a->retry_at_ms = now + ALERT_RETRY_MS;
        if (!a->failing || rg_run_log_due(&a->last_log_ms)) {
            char n[32];
            rg_run_fmt_i64(n, sizeof n, (int64_t)a->n_pending);
            rg_log(RG_LOG_WARN, "alert store write failed; the alerts are kept and written again, offsets wait for them",
                   "db", a->path, "waiting", n, "error", err, NULL);
            a->last_log_ms = now;
        }
        a->failing = true;
        return a->n_pending;
    }
    if (a->failing)
        rg_log(RG_LOG_INFO, "alert store writable again", "db", a->path, NULL);
    a->failing = false;
    a->paused_logged = false;
    for (i = 0; i < a->n_pending; i++)
        a->acked(a->ack_opaque, a->pending[i]->ticket, 0);
    s->metrics.alerts_stored += a->n_pending;
    free_pending(a);
    s->metrics.alerts_pending = 0;
    return 0;
}

/* The sink's flush: write now (a failed write still waits out its
 * backoff). */
static int alerts_flush(void *self, char *errstr, size_t errstr_size)
{
    rg_run_alerts *a = self;
    size_t waiting = rg_run_alerts_write(a->s, true);
    if (waiting) {
        snprintf(errstr, errstr_size, "%s: %zu alerts waiting for the store", a->path, waiting);
        return -1;
    }
    return 0;
}

static const rg_sink_ops alerts_ops = {
    .name = "alert store",
    .decision = alerts_decision,
    .flush = alerts_flush,
    .close = alerts_close,
};

size_t rg_run_alerts_pending(const rg_stream *s) { return s->alerts ? s->alerts->n_pending : 0; }

bool rg_run_alerts_full(const rg_stream *s)
{
    rg_run_alerts *a = s->alerts;
    if (!a || a->n_pending < ALERT_PENDING_MAX)
        return false;
    if (!a->paused_logged)
        rg_log(RG_LOG_WARN, "alert store not writable: processing paused until it is", "db", a->path, NULL);
    a->paused_logged = true;
    return true;
}

/* ---- the outbox ---- */

size_t rg_run_outbox_inflight(const rg_stream *s) { return s->alerts ? s->alerts->inflight.n : 0; }

static void mark_sent(rg_stream *s, int64_t id)
{
    rg_run_alerts *a = s->alerts;
    char err[512];
    if (rg_alert_store_outbox_mark_sent(a->store, id, err, sizeof err) >= 0) {
        ids_remove(&a->unmarked, id);
        return;
    }
    /* Delivered but not marked: kept out of the next reads (so it is not
     * produced again) and marked at the next serve. */
    if (!ids_has(&a->unmarked, id) && ids_add(&a->unmarked, id) != 0)
        rg_log(RG_LOG_WARN, "out of memory remembering a delivered release; it may be delivered again", NULL);
    if (rg_run_log_due(&a->last_outbox_log_ms))
        rg_log(RG_LOG_WARN, "marking a delivered release sent failed; retried", "db", a->path, "error", err, NULL);
}

void rg_run_outbox_delivered(rg_stream *s, const rd_kafka_message_t *m)
{
    rg_run_alerts *a = s->alerts;
    uint64_t id = rg_outbox_ticket_id(m->_private);
    if (!a)
        return;
    ids_remove(&a->inflight, (int64_t)id);
    if (m->err) {
        /* Out of the in-flight set: the next outbox read produces it again. */
        s->metrics.release_errors++;
        if (rg_run_log_due(&a->last_outbox_log_ms))
            rg_log(RG_LOG_WARN, "release delivery failed; produced again", "error", rd_kafka_err2str(m->err), NULL);
        return;
    }
    s->metrics.releases_delivered++;
    mark_sent(s, (int64_t)id);
}

static void produce_release(rg_stream *s, const rg_outbox_item *it)
{
    rg_run_alerts *a = s->alerts;
    rg_strbuf_reset(&a->value);
    if (!rg_run_splice_decided_at(&a->value, it->json, strlen(it->json))) {
        rg_log(RG_LOG_ERROR, "release in the outbox is not a JSON object; not produced", "decision_id",
               it->decision_id, NULL);
        return;
    }
    if (ids_add(&a->inflight, it->id) != 0)
        return;   /* tried again at the next read */
    void *ticket = rg_outbox_ticket((uint64_t)it->id);
    if (rd_kafka_produce(s->c.actions, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, a->value.data, a->value.len,
                         it->subject, strlen(it->subject), ticket) != 0) {
        ids_remove(&a->inflight, it->id);
        if (rg_run_log_due(&a->last_outbox_log_ms))
            rg_log(RG_LOG_WARN, "release not produced; tried again at the next outbox read", "error",
                   rd_kafka_err2str(rd_kafka_last_error()), NULL);
        return;
    }
    rg_log(RG_LOG_DEBUG, "release produced", "decision_id", it->decision_id, NULL);
}

void rg_run_outbox_serve(rg_stream *s, int64_t now_ms)
{
    rg_run_alerts *a = s->alerts;
    if (!a || (a->last_outbox_ms && now_ms - a->last_outbox_ms < OUTBOX_EVERY_MS))
        return;
    a->last_outbox_ms = now_ms;
    for (size_t i = a->unmarked.n; i > 0; i--)
        mark_sent(s, a->unmarked.ids[i - 1]);
    if (s->draining)
        return;
    rg_outbox_item *items = NULL;
    size_t n = 0;
    char err[512];
    if (rg_alert_store_outbox_pending(a->store, OUTBOX_BATCH, &items, &n, err, sizeof err) != 0) {
        if (rg_run_log_due(&a->last_outbox_log_ms))
            rg_log(RG_LOG_WARN, "reading the release outbox failed; tried again in a second", "db", a->path, "error",
                   err, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!ids_has(&a->inflight, items[i].id) && !ids_has(&a->unmarked, items[i].id))
            produce_release(s, &items[i]);
    rg_outbox_items_free(items, n);
}
