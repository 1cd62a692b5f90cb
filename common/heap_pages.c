/*
 * heap_pages — see heap_pages.h. Owner: common (the detectors engineer).
 */
#include "heap_pages.h"

#include <stdatomic.h>
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
/* The main arena grows by at least this much at a time (M_TOP_PAD), so
 * that a growth spans whole huge pages before anything in it is touched. */
#define TOP_PAD (32u << 20)
/* Blocks this big or bigger still get their own mmap (and go back to the
 * kernel when freed); everything the detectors' maps ask for is smaller. */
#define MMAP_THRESHOLD (32u << 20)
/* glibc's HEAP_MAX_SIZE on 64-bit (2 x DEFAULT_MMAP_THRESHOLD_MAX): the
 * size and alignment of a thread arena's heap. */
#define THREAD_HEAP (UINT64_C(64) << 20)
/* A thread arena's heap is made writable nearly whole when first seen
 * (fill_thread_heap), by blocks of at most this size taken and freed at
 * once: past its first M_TOP_PAD, glibc grows such a heap by what each
 * allocation lacks, one mprotect at a time (3,900 of them, mostly of
 * 4 KiB, for --workers 2 on 4 days of 20,000 accounts), and with two
 * threads each mprotect also flushes the other core's TLB (an IPI, slow
 * on a VM). Under MMAP_THRESHOLD, so they come from the arena; freed,
 * they stay the arena's top (M_TRIM_THRESHOLD is 64 MiB, and glibc does
 * not mprotect again what a heap was once grown to). Nothing is touched:
 * no page is paid for until used. */
#define THREAD_GROW (UINT64_C(30) << 20)
#define THREAD_GROW_MIN (UINT64_C(1) << 20)

#ifdef HEAP_PAGES_POSSIBLE
/* The thread arena heap holding the block at `at` (glibc's heap_for_ptr:
 * heaps are THREAD_HEAP-aligned). An address, not a pointer: the blocks
 * asked about are never read (GCC takes a const pointer for a read). */
static uintptr_t heap_of(uintptr_t at) { return at & ~(uintptr_t)(THREAD_HEAP - 1); }

/* The calling thread's heap (the THREAD_HEAP-aligned mapping at `heap`)
 * taken up to THREAD_GROW_MIN x 2 from its end, then freed. A block of
 * THREAD_GROW_MIN comes from the heap's top (its bins hold nothing that
 * big yet, so young), which tells where the room left begins; the rest
 * is taken in blocks under MMAP_THRESHOLD. Asking for more than the
 * room would make glibc begin a new heap and move the arena there, so
 * the room is measured, not tried; a block that still lands elsewhere
 * ends it (freed with the others). */
static void fill_thread_heap(uintptr_t heap)
{
    void *kept[4];
    size_t n = 0;
    void *first = malloc(THREAD_GROW_MIN);
    if (first && heap_of((uintptr_t)first) == heap) {
        kept[n++] = first;
        uintptr_t used = (uintptr_t)first + THREAD_GROW_MIN, end = heap + THREAD_HEAP;
        uint64_t room = end - used > 2 * THREAD_GROW_MIN ? end - used - 2 * THREAD_GROW_MIN : 0;
        while (room >= THREAD_GROW_MIN && n < sizeof kept / sizeof kept[0]) {
            uint64_t size = room < THREAD_GROW ? room : THREAD_GROW;
            void *block = malloc(size);
            if (!block || heap_of((uintptr_t)block) != heap) {
                free(block);
                break;
            }
            kept[n++] = block;
            room -= size;
        }
    } else {
        free(first);
    }
    while (n)
        free(kept[--n]);
}
#endif

#ifdef HEAP_PAGES_POSSIBLE
static struct {
    int on;                          /* set before any thread that ticks starts */
    _Atomic uintptr_t advised_end;   /* the main arena is advised up to here */
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

/* The main arena: what the program break has grown by since the last
 * advice, in whole huge pages. Threads that share the main arena take
 * turns: whoever moves advised_end advises what it moved over. */
static void advise_main_arena(void)
{
    uintptr_t end = (uintptr_t)sbrk(0) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t done = atomic_load(&hp.advised_end);
    if (end <= done || !atomic_compare_exchange_strong(&hp.advised_end, &done, end))
        return;
    /* Best effort: a refusal leaves 4 KiB pages, which only cost speed. */
    (void)madvise((void *)done, end - done, MADV_HUGEPAGE);
}
#endif

int rg_heap_pages_begin(void)
{
#ifdef HEAP_PAGES_POSSIBLE
    if (hp.on)
        return 1;
    /* The operator's switch (docs/install.md): direct compaction on a
     * fragmented host can make a huge page's fault slower than 512 small
     * ones. */
    const char *env = getenv("RISKGATE_HUGE_PAGES");
    if ((env && strcmp(env, "0") == 0) || !thp_can_advise())
        return 0;
    /* mallopt fails where malloc is not glibc's (sanitizers, valgrind
     * may pretend): then nothing is advised. */
    if (!mallopt(M_TOP_PAD, (int)TOP_PAD) || !mallopt(M_MMAP_THRESHOLD, (int)MMAP_THRESHOLD) ||
        !mallopt(M_TRIM_THRESHOLD, (int)(2 * TOP_PAD)))
        return 0;
    uintptr_t start = (uintptr_t)sbrk(0);
    atomic_store(&hp.advised_end, (start + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    hp.on = 1;
    advise_main_arena();
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
    /* Where this thread's next small block comes from says which arena
     * it allocates from. */
    void *probe = malloc(64);
    if (!probe)
        return;
    uintptr_t at = (uintptr_t)probe;
    free(probe);
    if (at < (uintptr_t)sbrk(0)) {
        advise_main_arena();
        return;
    }
    /* Another arena's heap: a mapping of THREAD_HEAP bytes aligned to its
     * size (glibc's heap_for_ptr relies on that too), reserved whole and
     * made writable as it grows, so it is advised whole, once. An arena
     * that outgrows it starts another heap, advised at the first tick
     * whose block comes from there. */
    static _Thread_local uintptr_t advised_heap;
    uintptr_t heap = heap_of(at);
    if (heap == advised_heap)
        return;
    (void)madvise((void *)heap, THREAD_HEAP, MADV_HUGEPAGE);
    advised_heap = heap;
    fill_thread_heap(heap);
#endif
}
