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
    for (rg_ts_block *b = q->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(q->spare);
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

/* A block for the FIFO: the spare, or a new one. NULL on OOM. */
static rg_ts_block *take_block(rg_ts_queue *q)
{
    rg_ts_block *b = q->spare;
    if (b) {
        q->spare = NULL;
    } else if ((b = malloc(sizeof *b))) {
        q->fifo_blocks++;
    }
    if (b)
        b->next = NULL;
    return b;
}

void rg_ts_queue_pop_block(rg_ts_queue *q)
{
    if (!q->fifo_n) {
        /* Empty: the head block (the only one) is written from its
         * start again. */
        q->fifo_head = q->fifo_tail = 0;
        return;
    }
    rg_ts_block *done = q->head;
    q->head = done->next;
    q->fifo_head = 0;
    /* One block is kept for the next the newest needs; more go back. */
    if (!q->spare) {
        q->spare = done;
    } else {
        free(done);
        q->fifo_blocks--;
    }
}

int rg_ts_queue_push_slow(rg_ts_queue *q, rg_ts_entry e)
{
    /* In time order (not older than the newest queued): the FIFO. */
    if (!q->fifo_n || q->tail->e[q->fifo_tail - 1].ts_ms <= e.ts_ms) {
        if (!q->head && !(q->head = q->tail = take_block(q)))
            return -1;
        if (q->fifo_tail == RG_TS_BLOCK) {
            rg_ts_block *b = take_block(q);
            if (!b)
                return -1;
            q->tail->next = b;
            q->tail = b;
            q->fifo_tail = 0;
        }
        q->tail->e[q->fifo_tail++] = e;
        q->fifo_n++;
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
}

size_t rg_ts_queue_bytes(const rg_ts_queue *q)
{
    return q->cap * sizeof(rg_ts_entry) + q->fifo_blocks * sizeof(rg_ts_block);
}
