/*
 * alloc_fault — make the Nth allocation fail, to test the promise that
 * allocation failure drops and counts, never aborts (detector.h, strbuf.h,
 * arena.h; SQLite's install_malloc_faultsim is the model).
 *
 * Owner: common (the detectors engineer). Test code only: a program that
 * wants it links with
 *     -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=strndup
 * so that every call to those in the objects it links statically (all of
 * riskgate's libraries, and the test) goes through this file's
 * __wrap_* functions; calls made inside shared libraries (libyaml,
 * jansson, zlib, libmaxminddb, libc itself) are not counted or failed.
 * Nothing else references this file, so no other program links it (and
 * none needs --wrap).
 *
 * Not armed, the wrappers only count. Armed with rg_alloc_fault_arm(n,
 * persistent), the nth allocation from then on (1-based) returns NULL,
 * and with `persistent` every one after it too. Thread-safe counters
 * (atomics), but a sweep is meant for one thread.
 */
#ifndef RG_ALLOC_FAULT_H
#define RG_ALLOC_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* Reset the count; fail allocation number `nth` (>= 1) and, when
 * `persistent`, every later one. nth == 0 fails nothing (count only). */
void rg_alloc_fault_arm(uint64_t nth, bool persistent);

/* Stop failing. Returns how many allocations were made since the last
 * arm; *failed (may be NULL) gets how many of them were failed. */
uint64_t rg_alloc_fault_disarm(uint64_t *failed);

#endif
