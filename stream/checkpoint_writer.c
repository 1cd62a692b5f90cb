/* checkpoint_writer — checkpoint writes on their own thread; see checkpoint_writer.h. */
#include "checkpoint_writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rg_ckpt_writer {
    rg_checkpoint *cp;
    const char *topic;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* the writer: a job queued, or stop */
    pthread_cond_t finished;    /* the engine thread: a job finished */
    rg_ckpt_job *queue_head, *queue_tail;   /* submitted, not started */
    rg_ckpt_job *done_head, *done_tail;     /* finished, not collected */
    size_t pending;             /* submitted and not collected */
    uint64_t next_id;
    bool stopping;
};

static int64_t mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void run_job(rg_ckpt_writer *w, rg_ckpt_job *job)
{
    int64_t t0 = mono_us();
    if (job->kind == RG_CKPT_FULL)
        job->rc = rg_checkpoint_store(w->cp, w->topic, job->offsets, job->n, job->with_state ? &job->blob : NULL,
                                      job->ruleset, job->saved_at_ms, job->err, sizeof job->err);
    else
        job->rc = rg_checkpoint_add_offsets(w->cp, w->topic, job->offsets, job->n, job->err, sizeof job->err);
    job->write_us = mono_us() - t0;
    /* The state's bytes are not needed any more: free them here rather
     * than on the engine thread (megabytes). */
    rg_strbuf_free(&job->blob);
}

static void *writer_main(void *arg)
{
    rg_ckpt_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->queue_head && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        rg_ckpt_job *job = w->queue_head;
        if (!job)
            break;   /* stopping with nothing queued */
        w->queue_head = job->next;
        if (!w->queue_head)
            w->queue_tail = NULL;
        job->next = NULL;
        pthread_mutex_unlock(&w->lock);
        run_job(w, job);
        pthread_mutex_lock(&w->lock);
        if (w->done_tail)
            w->done_tail->next = job;
        else
            w->done_head = job;
        w->done_tail = job;
        pthread_cond_broadcast(&w->finished);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

rg_ckpt_writer *rg_ckpt_writer_start(rg_checkpoint *cp, const char *topic, char *errstr, size_t errstr_size)
{
    rg_ckpt_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    w->cp = cp;
    w->topic = topic;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->finished, NULL);
    int rc = pthread_create(&w->thread, NULL, writer_main, w);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "cannot start the checkpoint writer thread: %s", strerror(rc));
        pthread_cond_destroy(&w->finished);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

uint64_t rg_ckpt_writer_submit(rg_ckpt_writer *w, rg_ckpt_job *job)
{
    pthread_mutex_lock(&w->lock);
    job->id = ++w->next_id;
    job->next = NULL;
    job->ready_us = mono_us();
    if (w->queue_tail)
        w->queue_tail->next = job;
    else
        w->queue_head = job;
    w->queue_tail = job;
    w->pending++;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    return job->id;
}

/* Pop the oldest finished job; lock held. */
static rg_ckpt_job *pop_done(rg_ckpt_writer *w)
{
    rg_ckpt_job *job = w->done_head;
    if (job) {
        w->done_head = job->next;
        if (!w->done_head)
            w->done_tail = NULL;
        job->next = NULL;
        w->pending--;
    }
    return job;
}

rg_ckpt_job *rg_ckpt_writer_done(rg_ckpt_writer *w)
{
    pthread_mutex_lock(&w->lock);
    rg_ckpt_job *job = pop_done(w);
    pthread_mutex_unlock(&w->lock);
    return job;
}

rg_ckpt_job *rg_ckpt_writer_wait(rg_ckpt_writer *w)
{
    pthread_mutex_lock(&w->lock);
    while (!w->done_head && w->pending)
        pthread_cond_wait(&w->finished, &w->lock);
    rg_ckpt_job *job = pop_done(w);
    pthread_mutex_unlock(&w->lock);
    return job;
}

void rg_ckpt_writer_stop(rg_ckpt_writer *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    rg_ckpt_job *job;
    while ((job = pop_done(w)) != NULL)
        rg_ckpt_job_free(job);
    pthread_cond_destroy(&w->finished);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

void rg_ckpt_job_free(rg_ckpt_job *job)
{
    if (!job)
        return;
    free(job->offsets);
    free(job->epochs);
    rg_strbuf_free(&job->blob);
    free(job->ruleset);
    free(job);
}
