/*
 * progress — see progress.h. Owner: replay.
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>

#include "../ingest/capture.h"

double rg_replay_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rg_replay_draw_progress(const struct rg_capture *cap, uint64_t lines, double elapsed, bool final)
{
    uint64_t done = 0, total = 0;
    rg_capture_progress(cap, &done, &total);
    double rate = elapsed > 0 ? (double)lines / elapsed : 0;
    if (total)
        fprintf(stderr, "\r\033[Kreplay: %5.1f%%  %llu lines  %.0f lines/s", 100.0 * (double)done / (double)total,
                (unsigned long long)lines, rate);
    else
        fprintf(stderr, "\r\033[Kreplay: %llu lines  %.0f lines/s", (unsigned long long)lines, rate);
    if (final)
        fputs("\r\033[K", stderr);
    fflush(stderr);
}
