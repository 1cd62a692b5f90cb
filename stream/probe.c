/* probe — high-watermark queries off the engine thread; see probe.h. */
#include "probe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Partitions are few (one per held slot); a small list, scanned. */
typedef struct probe_req {
    int32_t partition;
    int64_t asked_ms;
} probe_req;

struct rg_probe {
    rd_kafka_t *client;
    char *topic;
    int timeout_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done_cv;      /* signalled when the thread ends */
    bool stop;
    bool done;                   /* the thread has left its loop */
    bool abandoned;              /* freed while a query ran: the thread frees it */
    probe_req *pending;          /* filed, not started */
    size_t n_pending, cap_pending;
    int32_t running;             /* partition being queried; -1 none */
    rg_probe_answer *answers;
    size_t n_answers, cap_answers;
};

static void destroy(rg_probe *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done_cv);
    free(p->pending);
    free(p->answers);
    free(p->topic);
    free(p);
}

static void *probe_main(void *arg)
{
    rg_probe *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->n_pending == 0)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        probe_req req = p->pending[0];
        memmove(p->pending, p->pending + 1, (p->n_pending - 1) * sizeof *p->pending);
        p->n_pending--;
        p->running = req.partition;
        pthread_mutex_unlock(&p->lock);

        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(p->client, p->topic, req.partition, &lo, &hi, p->timeout_ms);

        pthread_mutex_lock(&p->lock);
        p->running = -1;
        if (p->n_answers == p->cap_answers) {
            size_t cap = p->cap_answers ? p->cap_answers * 2 : 16;
            rg_probe_answer *a = realloc(p->answers, cap * sizeof *a);
            if (!a)
                continue;   /* the answer is lost; the merge asks again */
            p->answers = a;
            p->cap_answers = cap;
        }
        p->answers[p->n_answers++] = (rg_probe_answer){
            .partition = req.partition, .asked_ms = req.asked_ms, .ok = err == RD_KAFKA_RESP_ERR_NO_ERROR && hi >= 0,
            .high_watermark = hi};
    }
    p->done = true;
    bool abandoned = p->abandoned;
    pthread_cond_broadcast(&p->done_cv);
    pthread_mutex_unlock(&p->lock);
    if (abandoned)
        destroy(p);
    return NULL;
}

rg_probe *rg_probe_new(rd_kafka_t *client, const char *topic, int timeout_ms)
{
    rg_probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->client = client;
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    p->running = -1;
    p->topic = strdup(topic);
    if (!p->topic) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    if (pthread_create(&p->thread, NULL, probe_main, p) != 0) {
        destroy(p);
        return NULL;
    }
    return p;
}

bool rg_probe_release(rg_probe *p, int wait_ms)
{
    if (!p)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_signal(&p->wake);
    while (!p->done) {
        if (wait_ms < 0)
            pthread_cond_wait(&p->done_cv, &p->lock);
        else if (pthread_cond_timedwait(&p->done_cv, &p->lock, &until) != 0)
            break;
    }
    bool done = p->done;
    pthread_t thread = p->thread;   /* p may be freed by its thread once unlocked */
    if (!done)
        p->abandoned = true;   /* the thread frees p when its query returns */
    pthread_mutex_unlock(&p->lock);
    if (!done) {
        pthread_detach(thread);
        return false;
    }
    pthread_join(p->thread, NULL);
    destroy(p);
    return true;
}

void rg_probe_free(rg_probe *p) { (void)rg_probe_release(p, -1); }

static bool busy_locked(const rg_probe *p, int32_t partition)
{
    if (p->running == partition)
        return true;
    for (size_t i = 0; i < p->n_pending; i++)
        if (p->pending[i].partition == partition)
            return true;
    return false;
}

bool rg_probe_busy(rg_probe *p, int32_t partition)
{
    pthread_mutex_lock(&p->lock);
    bool busy = busy_locked(p, partition);
    pthread_mutex_unlock(&p->lock);
    return busy;
}

void rg_probe_request(rg_probe *p, int32_t partition, int64_t now_ms)
{
    pthread_mutex_lock(&p->lock);
    if (!busy_locked(p, partition)) {
        if (p->n_pending == p->cap_pending) {
            size_t cap = p->cap_pending ? p->cap_pending * 2 : 16;
            probe_req *r = realloc(p->pending, cap * sizeof *r);
            if (!r) {
                pthread_mutex_unlock(&p->lock);
                return;   /* not filed; the merge asks again */
            }
            p->pending = r;
            p->cap_pending = cap;
        }
        p->pending[p->n_pending++] = (probe_req){partition, now_ms};
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
}

bool rg_probe_collect(rg_probe *p, rg_probe_answer *out)
{
    pthread_mutex_lock(&p->lock);
    bool got = p->n_answers > 0;
    if (got) {
        *out = p->answers[0];
        memmove(p->answers, p->answers + 1, (p->n_answers - 1) * sizeof *p->answers);
        p->n_answers--;
    }
    pthread_mutex_unlock(&p->lock);
    return got;
}
