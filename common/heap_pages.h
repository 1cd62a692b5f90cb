/*
 * heap_pages — transparent huge pages under the main malloc arena, for
 * one-thread replay, whose detectors' state is millions of small records
 * read at random (docs/bench.md, "Huge pages").
 *
 * With THP in "madvise" mode (Debian's default), the kernel maps 2 MiB
 * pages only where a process asked with madvise(MADV_HUGEPAGE), and glibc
 * asks only when GLIBC_TUNABLES=glibc.malloc.hugetlb=1 was set before the
 * process started. rg_heap_pages_begin makes the main arena grow in 32 MiB
 * steps from the program break (M_TOP_PAD; blocks under 32 MiB no longer
 * get their own mmap) and advises what it has; rg_heap_pages_tick advises
 * what the heap has grown by since. Pages touched before the advice stay
 * 4 KiB; the kernel may still refuse a huge page (fragmentation), which
 * costs only speed.
 *
 * Owner: common. Process-wide and not thread-safe: call both from the one
 * thread that allocates (one-thread replay), before and during the run.
 * Other threads' arenas (their own mmap'd heaps) are not advised.
 */
#ifndef RG_HEAP_PAGES_H
#define RG_HEAP_PAGES_H

/* 1: on (glibc on Linux, THP "always" or "madvise"); 0: nothing done. */
int rg_heap_pages_begin(void);

/* Advise the heap's growth since the last call (cheap when none). */
void rg_heap_pages_tick(void);

#endif
