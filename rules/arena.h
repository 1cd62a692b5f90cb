/*
 * arena — the rule set's allocator.
 *
 * Owner: rules. Everything a loaded rule set holds (rules, expression
 * trees, name uses, lists, strings) is allocated from one arena and freed
 * at once by rg_ruleset_free, so the loader's many error paths never leak
 * and a refused file is dropped with one call. Allocation failure sets
 * ->oom and returns NULL; the loader checks ->oom once and refuses the
 * file ("out of memory"), it never aborts.
 * Not thread-safe; a rule set is built on one thread and then read-only.
 */
#ifndef RG_ARENA_H
#define RG_ARENA_H

#include <stdbool.h>
#include <stddef.h>

typedef struct rg_arena_chunk rg_arena_chunk;

typedef struct rg_arena {
    rg_arena_chunk *head;   /* newest chunk first */
    size_t bytes;           /* total bytes allocated from the system */
    bool oom;               /* an allocation failed */
} rg_arena;

#define RG_ARENA_INIT {NULL, 0, false}

/* `n` zeroed bytes aligned for any type; NULL (and ->oom) on failure or n
 * absurdly large. n == 0 gives a valid unique pointer. */
void *rg_arena_alloc(rg_arena *a, size_t n);
/* Array of `count` zeroed elements of `size` bytes, overflow-checked. */
void *rg_arena_calloc(rg_arena *a, size_t count, size_t size);
/* Copy of s[0..len) with a NUL after it. */
char *rg_arena_strndup(rg_arena *a, const char *s, size_t len);
char *rg_arena_strdup(rg_arena *a, const char *s);
/* printf into the arena. */
char *rg_arena_printf(rg_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free every chunk; the arena is left empty and reusable. NULL-safe. */
void rg_arena_free(rg_arena *a);

#endif
