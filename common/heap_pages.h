/*
 * heap_pages — transparent huge pages under malloc's arenas, for replay,
 * whose detectors' state is millions of small records read at random
 * (docs/bench.md, "Sixth round").
 *
 * With THP in "madvise" mode (Debian's default), the kernel maps 2 MiB
 * pages only where a process asked with madvise(MADV_HUGEPAGE), and glibc
 * asks only when GLIBC_TUNABLES=glibc.malloc.hugetlb=1 was set before the
 * process started. rg_heap_pages_begin makes the main arena grow in 32 MiB
 * steps from the program break (M_TOP_PAD; blocks under 32 MiB no longer
 * get their own mmap) and advises what it has; rg_heap_pages_tick, called
 * now and then by a thread that allocates, advises what its arena has
 * grown by: the main arena's new break, or a thread arena's heap (a
 * 64 MiB reservation, advised whole, and made writable nearly whole at
 * once, with no page touched, where glibc would mprotect it a page at a
 * time, each time flushing the other threads' TLBs; writable, it counts
 * toward the kernel's commit charge at once, which only matters under
 * strict overcommit, where a refusal leaves glibc's own growth). Pages touched before the advice
 * stay 4 KiB; the kernel may still refuse a huge page (fragmentation),
 * which costs only speed.
 *
 * Owner: common. Call rg_heap_pages_begin once, before the threads that
 * tick start; rg_heap_pages_tick may then be called from any thread. The
 * malloc settings stay for the life of the process (memory freed in the
 * heap is kept for reuse rather than returned): meant for the commands
 * that replay and exit (replay, backtest, explain), not for a server.
 * Nothing happens where malloc is not glibc's (a sanitizer's: mallopt
 * fails), off Linux, with THP "never", or with RISKGATE_HUGE_PAGES=0 in
 * the environment.
 */
#ifndef RG_HEAP_PAGES_H
#define RG_HEAP_PAGES_H

/* 1: on; 0: nothing done (and the ticks do nothing). */
int rg_heap_pages_begin(void);

/* Advise the calling thread's arena's growth (a malloc and free of 64
 * bytes, and a madvise when it grew; for a thread arena's new heap, also
 * the blocks that make it writable, taken and freed). */
void rg_heap_pages_tick(void);

#endif
