/*
 * heap_pages — see heap_pages.h. Owner: common (the detectors engineer).
 */
#include "heap_pages.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__) && defined(__linux__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#define HEAP_PAGES_POSSIBLE 1
#endif

/* x86-64's PMD page; elsewhere only the rounding of what is advised differs. */
#define HUGE_PAGE (UINT64_C(2) << 20)
/* The heap grows by at least this much at a time (M_TOP_PAD), so that a
 * growth spans whole huge pages before anything in it is touched. */
#define TOP_PAD (32u << 20)
/* Blocks this big or bigger still get their own mmap (and go back to the
 * kernel when freed); everything the detectors' maps ask for is smaller. */
#define MMAP_THRESHOLD (32u << 20)

static struct {
    int on;
    uintptr_t advised_end;   /* [start, advised_end) is advised */
} hp;

/* THP's mode, from the bracketed word of
 * /sys/kernel/mm/transparent_hugepage/enabled: 1 when madvise can ask for
 * huge pages ("always" or "madvise"), 0 otherwise or unreadable. */
static int thp_can_advise(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f)
        return 0;
    char line[128];
    int ok = fgets(line, sizeof line, f) && (strstr(line, "[always]") || strstr(line, "[madvise]"));
    fclose(f);
    return ok;
}

int rg_heap_pages_begin(void)
{
#ifdef HEAP_PAGES_POSSIBLE
    if (hp.on || !thp_can_advise())
        return hp.on;
    /* mallopt fails where malloc is not glibc's (sanitizers, valgrind
     * may pretend): then nothing is advised. */
    if (!mallopt(M_TOP_PAD, (int)TOP_PAD) || !mallopt(M_MMAP_THRESHOLD, (int)MMAP_THRESHOLD) ||
        !mallopt(M_TRIM_THRESHOLD, (int)(2 * TOP_PAD)))
        return 0;
    uintptr_t start = (uintptr_t)sbrk(0);
    hp.advised_end = (start + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    hp.on = 1;
    rg_heap_pages_tick();
    return 1;
#else
    return 0;
#endif
}

void rg_heap_pages_tick(void)
{
#ifdef HEAP_PAGES_POSSIBLE
    if (!hp.on)
        return;
    uintptr_t end = (uintptr_t)sbrk(0) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (end <= hp.advised_end)
        return;
    /* Best effort: a refusal leaves 4 KiB pages, which only cost speed. */
    (void)madvise((void *)hp.advised_end, end - hp.advised_end, MADV_HUGEPAGE);
    hp.advised_end = end;
#endif
}
