/*
 * progress — replay's progress line on stderr (--progress) and the clock
 * it is timed by, for both paths: the one thread (replay.c) and the
 * reading step of --workers (workers_parse.c). Owner: replay.
 */
#ifndef RG_REPLAY_PROGRESS_H
#define RG_REPLAY_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct rg_capture;

/* Seconds on the monotonic clock. */
double rg_replay_now_seconds(void);

/* "replay: 42.0%  123456 lines  987654 lines/s" over the line before
 * (the percentage when the captures' sizes are known); `final` erases
 * it after. */
void rg_replay_draw_progress(const struct rg_capture *cap, uint64_t lines, double elapsed, bool final);

#endif
