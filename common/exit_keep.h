/*
 * exit_keep — memory a command leaves to its process's exit.
 *
 * A replay's state is tens of MB in millions of small blocks, and freeing
 * it block by block is a walk of every table and a free() of every
 * record's heap parts: 4-7 ms on a month of 16,000 accounts, 21-32 ms on
 * four days of 20,000 accounts (2-3% of that replay), for pages the
 * kernel takes back at exit anyway (docs/bench.md, "Sixteenth round").
 * The commands that replay and then exit (replay, backtest) hand their
 * engines here once the run is over, instead of freeing them.
 *
 * rg_exit_keep(p) returns true when it kept p: the caller must neither
 * free nor use it again. A kept block stays reachable from this module
 * until the process ends, so a leak checker (valgrind) reports it as
 * "still reachable", not lost. It returns false, and the caller frees p
 * as usual, for NULL, once RG_EXIT_KEEP_MAX blocks are kept, and in
 * builds with AddressSanitizer, whose leak checks in the tests are how
 * every teardown path stays checked.
 *
 * Owner: common. Thread-safe (one atomic counter). Only for a process
 * about to exit: a server or a library caller keeps freeing.
 */
#ifndef RG_EXIT_KEEP_H
#define RG_EXIT_KEEP_H

#include <stdbool.h>

/* The most blocks kept: two lanes of replay --workers 64 make 258
 * engines. */
#define RG_EXIT_KEEP_MAX 512

/* Whether this build frees instead (AddressSanitizer). */
bool rg_exit_keep_frees(void);

/* Keep p until the process exits (true), or not (false: free it). */
bool rg_exit_keep(void *p);

#endif
