/*
 * ts_queue — see ts_queue.h. Owner: common (the detectors engineer).
 * The FIFO-and-heap split was dedupe's (ingest/dedupe.c, issue 16's
 * second round); it moved here when the complaints family took it up
 * instead of sweeping its whole map (fourth round).
 */
#include "ts_queue.h"

#include <stdlib.h>

void rg_ts_queue_free(rg_ts_queue *q)
{
    free(q->heap);
    free(q->fifo);
    *q = RG_TS_QUEUE_INIT;
}

static void sift_up(rg_ts_entry *h, size_t i)
{
    rg_ts_entry e = h[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h[parent].ts_ms <= e.ts_ms)
            break;
        h[i] = h[parent];
        i = parent;
    }
    h[i] = e;
}

static void sift_down(rg_ts_entry *h, size_t n, size_t i)
{
    rg_ts_entry e = h[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && h[child + 1].ts_ms < h[child].ts_ms)
            child++;
        if (e.ts_ms <= h[child].ts_ms)
            break;
        h[i] = h[child];
        i = child;
    }
    h[i] = e;
}

/* Move the ring into `cap` entries (a power of two >= fifo_n), oldest
 * first. -1 on OOM (the ring is unchanged). */
static int fifo_resize(rg_ts_queue *q, size_t cap)
{
    rg_ts_entry *f = malloc(cap * sizeof *f);
    if (!f)
        return -1;
    for (size_t i = 0; i < q->fifo_n; i++)
        f[i] = q->fifo[(q->fifo_head + i) & (q->fifo_cap - 1)];
    free(q->fifo);
    q->fifo = f;
    q->fifo_cap = cap;
    q->fifo_head = 0;
    return 0;
}

int rg_ts_queue_push_slow(rg_ts_queue *q, rg_ts_entry e)
{
    /* In time order (not older than the newest queued): the FIFO. */
    if (!q->fifo_n || q->fifo[(q->fifo_head + q->fifo_n - 1) & (q->fifo_cap - 1)].ts_ms <= e.ts_ms) {
        if (q->fifo_n == q->fifo_cap && fifo_resize(q, q->fifo_cap ? q->fifo_cap * 2 : 256) != 0)
            return -1;
        q->fifo[(q->fifo_head + q->fifo_n++) & (q->fifo_cap - 1)] = e;
        return 0;
    }
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        rg_ts_entry *h = realloc(q->heap, cap * sizeof *h);
        if (!h)
            return -1;
        q->heap = h;
        q->cap = cap;
    }
    q->heap[q->n] = e;
    sift_up(q->heap, q->n++);
    return 0;
}

void rg_ts_queue_pop_heap(rg_ts_queue *q)
{
    q->heap[0] = q->heap[--q->n];
    if (q->n > 0)
        sift_down(q->heap, q->n, 0);
}

void rg_ts_queue_shrink_now(rg_ts_queue *q)
{
    if (q->cap > 1024 && q->n < q->cap / 4) {
        rg_ts_entry *h = realloc(q->heap, q->cap / 2 * sizeof *h);
        if (h) {
            q->heap = h;
            q->cap /= 2;
        }
    }
    if (q->fifo_cap > 1024 && q->fifo_n < q->fifo_cap / 4)
        (void)fifo_resize(q, q->fifo_cap / 2);
}

size_t rg_ts_queue_bytes(const rg_ts_queue *q) { return (q->cap + q->fifo_cap) * sizeof(rg_ts_entry); }
