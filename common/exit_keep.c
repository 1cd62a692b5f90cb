/*
 * exit_keep — see exit_keep.h. Owner: common.
 */
#include "exit_keep.h"

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define CHECKS_LEAKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define CHECKS_LEAKS 1
#endif
#endif
#ifndef CHECKS_LEAKS
#define CHECKS_LEAKS 0
#endif

/* Where kept blocks stay reachable: a slot each, taken by an atomic
 * add, never given back. */
static void *kept[RG_EXIT_KEEP_MAX];
static unsigned n_taken;

bool rg_exit_keep_frees(void) { return CHECKS_LEAKS; }

bool rg_exit_keep(void *p)
{
    if (!p || CHECKS_LEAKS)
        return false;
    unsigned slot = __atomic_fetch_add(&n_taken, 1, __ATOMIC_RELAXED);
    if (slot >= RG_EXIT_KEEP_MAX)
        return false;   /* n_taken only grows past the end: no slot is handed out twice */
    __atomic_store_n(&kept[slot], p, __ATOMIC_RELAXED);
    return true;
}
