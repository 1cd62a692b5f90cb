/*
 * alloc_fault — the --wrap allocator hook; see alloc_fault.h.
 * Owner: common (the detectors engineer).
 */
#include "alloc_fault.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static _Atomic uint64_t made, failed_count, fail_at;
static atomic_bool fail_after;

void rg_alloc_fault_arm(uint64_t nth, bool persistent)
{
    atomic_store(&made, 0);
    atomic_store(&failed_count, 0);
    atomic_store(&fail_after, persistent);
    atomic_store(&fail_at, nth);
}

uint64_t rg_alloc_fault_disarm(uint64_t *failed)
{
    atomic_store(&fail_at, 0);
    if (failed)
        *failed = atomic_load(&failed_count);
    return atomic_load(&made);
}

/* Whether this allocation fails. */
static bool fail_this(void)
{
    uint64_t n = atomic_fetch_add(&made, 1) + 1, at = atomic_load(&fail_at);
    if (!at || n < at || (n > at && !atomic_load(&fail_after)))
        return false;
    atomic_fetch_add(&failed_count, 1);
    return true;
}

void *__wrap_malloc(size_t size) { return fail_this() ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size) { return fail_this() ? NULL : __real_calloc(n, size); }

/* realloc(p, 0) frees in glibc: not an allocation that can fail. */
void *__wrap_realloc(void *p, size_t size) { return size && fail_this() ? NULL : __real_realloc(p, size); }

/* strdup and strndup allocate inside libc, where --wrap cannot reach:
 * made here from the wrapped malloc instead. */
char *__wrap_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = __wrap_malloc(n);
    return copy ? memcpy(copy, s, n) : NULL;
}

char *__wrap_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *copy = __wrap_malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}
