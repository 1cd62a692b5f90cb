/*
 * reload — the rule files of a SIGHUP loaded on a thread of their own, so
 * the loop keeps deciding while a large rule set is read and compiled
 * (40,000 rules take about 0.6 s); the loop swaps the loaded set into its
 * tasks between two records (run.c, do_reload). One load at a time: a
 * SIGHUP while one runs asks for another after it (the files may have
 * changed again).
 *
 * Ownership: the loop thread owns the rg_reloader and calls every
 * function here; the loader thread touches only the result fields, under
 * the mutex, once. A taken rule set and error text belong to the caller.
 */
#ifndef RG_STREAM_RELOAD_H
#define RG_STREAM_RELOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "../rules/ruleset.h"

typedef struct rg_reloader {
    const char *const *paths;   /* borrowed: the run's --rules files */
    size_t n_paths;
    pthread_t thread;
    bool running;               /* a loader thread exists (not joined yet) */
    bool again;                 /* a SIGHUP came while it ran */
    pthread_mutex_t lock;
    bool done;                  /* under lock: the result below is set */
    rg_ruleset *rs;             /* under lock: the loaded set, NULL when refused */
    char *errors;               /* under lock: the loader's report */
} rg_reloader;

void rg_reloader_init(rg_reloader *r, const char *const *paths, size_t n_paths);

/* Ask for a load: 0 started (or queued behind the running one), -1 the
 * thread could not start (nothing changes; the caller logs). */
int rg_reloader_request(rg_reloader *r);

/* A finished load: 1 with *rs (NULL when the files were refused) and
 * *errors (free()); the queued load, if any, starts. 0 nothing finished. */
int rg_reloader_take(rg_reloader *r, rg_ruleset **rs, char **errors);

/* Wait for a running load and drop its result. */
void rg_reloader_stop(rg_reloader *r);

#endif
