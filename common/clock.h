/*
 * clock — the process's own elapsed time, for timeouts and batching
 * (serve/gate.c's header deadline, store/alerts_add.c's batch age). Not
 * event time: no decision reads it (timeutil.h is event time, and the
 * engine reads nothing else). Header-only, thread-safe.
 */
#ifndef RG_CLOCK_H
#define RG_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Milliseconds on CLOCK_MONOTONIC: differences only (its zero is
 * unspecified), unaffected by changes of the wall clock. */
static inline int64_t rg_monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

#endif
