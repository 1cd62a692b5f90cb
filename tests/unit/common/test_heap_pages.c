/*
 * Unit tests for common/heap_pages: with glibc's malloc and THP in
 * "madvise" or "always" mode, the heap's growth after rg_heap_pages_begin
 * is advised for huge pages (VmFlags "hg" in /proc/self/smaps), blocks
 * under 32 MiB come from the heap, and a thread's tick advises its own
 * arena's heap and makes it writable nearly whole at once (no mprotect
 * per growth); elsewhere (a sanitizer's allocator, THP "never",
 * RISKGATE_HUGE_PAGES=0) nothing is done. The kernel's granting of huge
 * pages is not checked: it depends on free memory, and costs only speed.
 *
 * The sanitizer build replaces malloc, so `make test` also runs this test
 * from the optimised build. Owner: common (the detectors engineer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/heap_pages.h"

#define HUGE_PAGE (UINT64_C(2) << 20)

/* What begin should do here: glibc's own malloc (mallopt succeeds; a
 * sanitizer's answers 0) and THP that madvise can ask. M_CHECK_ACTION 3
 * is glibc's default, so setting it changes nothing. */
static int expect_on(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char line[128] = "";
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    bool thp = strstr(line, "[always]") || strstr(line, "[madvise]");
    return thp && mallopt(M_CHECK_ACTION, 3) == 1;
}

/* Whether the mapping holding addr is advised for huge pages; -1 when no
 * mapping of /proc/self/smaps holds it. */
static int advised(uintptr_t addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int in = 0, answer = -1;
    while (answer < 0 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            in = addr >= lo && addr < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0)
            answer = strstr(line, " hg") != NULL;
    }
    fclose(f);
    return answer;
}

/* The bytes of the writable mapping of /proc/self/maps that holds addr,
 * 0 when none does. */
static uint64_t writable_bytes(uintptr_t addr)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return 0;
    char line[512], perms[8];
    uint64_t bytes = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) {
            bytes = perms[0] == 'r' && perms[1] == 'w' ? hi - lo : 0;
            break;
        }
    }
    fclose(f);
    return bytes;
}

/* The program break when begin was first called: what it advises starts
 * at the first huge page boundary after it. */
static uintptr_t first_brk;

static int begin(void)
{
    if (!first_brk)
        first_brk = (uintptr_t)sbrk(0);
    return rg_heap_pages_begin();
}

#define BLOCKS 40960 /* of 1 KiB: 40 MiB, more than one 32 MiB growth */

static void test_growth_is_advised(void **unused)
{
    (void)unused;
    int want = expect_on();
    assert_int_equal(begin(), want);
    assert_int_equal(begin(), want);   /* once is enough */
    char **blocks = malloc(BLOCKS * sizeof *blocks);
    assert_non_null(blocks);
    for (size_t i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(1024);
        assert_non_null(blocks[i]);
        blocks[i][0] = 1;
        if (i % 512 == 0)
            rg_heap_pages_tick();
    }
    rg_heap_pages_tick();
    uintptr_t lo = (first_brk + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t hi = (uintptr_t)sbrk(0) & ~(uintptr_t)(HUGE_PAGE - 1);
    size_t checked = 0;
    for (size_t i = 0; i < BLOCKS; i += 256) {
        uintptr_t a = (uintptr_t)blocks[i];
        if (a < lo || a + 1024 > hi)
            continue;   /* before begin's first whole huge page, or past the last */
        assert_int_equal(advised(a), want);
        checked++;
    }
    if (want)
        assert_true(checked >= 100);   /* most of the 40 MiB lies in between */
    for (size_t i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    free(blocks);
}

/* RISKGATE_HUGE_PAGES=0 keeps everything as it is; without it, the next
 * begin goes on (first of the tests: begin is once per process). */
static void test_switched_off_by_the_environment(void **unused)
{
    (void)unused;
    assert_int_equal(setenv("RISKGATE_HUGE_PAGES", "0", 1), 0);
    assert_int_equal(rg_heap_pages_begin(), 0);
    rg_heap_pages_tick();   /* nothing to do */
    assert_int_equal(unsetenv("RISKGATE_HUGE_PAGES"), 0);
}

/* A 1 MiB table (a detectors' map grown big) that the heap has no room
 * for grows the heap, so it is advised too, where glibc alone would give
 * it its own mmap. */
static void test_big_blocks_stay_in_the_heap(void **unused)
{
    (void)unused;
    int want = expect_on();
    assert_int_equal(begin(), want);
    char *big = malloc(1 << 20);
    assert_non_null(big);
    memset(big, 1, 1 << 20);
    uintptr_t end = (uintptr_t)sbrk(0);
    bool in_heap = (uintptr_t)big < end && (uintptr_t)big + (1 << 20) <= end;
    if (want)
        assert_true(in_heap);
    free(big);
}

/* A thread's blocks come from an arena of its own (glibc gives a new
 * thread one while there are fewer than 8 per core), a heap mapped apart
 * from the program break: its tick advises that heap. The thread counts;
 * the test's thread asserts (cmocka's failures jump on its stack). */
typedef struct thread_counts {
    size_t in_thread_heap, advised, not_advised;
    uint64_t writable;   /* of the thread heap holding the first block there, after the tick */
} thread_counts;

static void *thread_allocates(void *arg)
{
    thread_counts *c = arg;
    enum { N = 4096 };
    static char *blocks[N];
    for (size_t i = 0; i < N; i++) {
        blocks[i] = malloc(1024);
        if (blocks[i])
            blocks[i][0] = 1;
    }
    rg_heap_pages_tick();
    for (size_t i = 0; i < N; i += 64) {
        if (!blocks[i] || (uintptr_t)blocks[i] < (uintptr_t)sbrk(0))
            continue;   /* the main arena's, checked above */
        if (!c->in_thread_heap++)
            c->writable = writable_bytes((uintptr_t)blocks[i]);
        if (advised((uintptr_t)blocks[i]) == 1)
            c->advised++;
        else
            c->not_advised++;
    }
    for (size_t i = 0; i < N; i++)
        free(blocks[i]);
    return NULL;
}

static void test_thread_arena_is_advised(void **unused)
{
    (void)unused;
    int want = expect_on();
    assert_int_equal(begin(), want);
    pthread_t t;
    thread_counts c = {0};
    assert_int_equal(pthread_create(&t, NULL, thread_allocates, &c), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(c.in_thread_heap > 0);
    assert_int_equal(c.advised, want ? c.in_thread_heap : 0);
    /* On, its 64 MiB heap is writable but for under 2 MiB (without the
     * fill, 32 MiB: glibc's first growth by M_TOP_PAD, then a page at a
     * time). Off, the allocator may be a sanitizer's, whose mappings say
     * nothing of this: not checked. */
    printf("# thread heap writable: %llu KiB\n", (unsigned long long)(c.writable >> 10));
    if (want)
        assert_true(c.writable >= (UINT64_C(62) << 20));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* First: a block that fits in the heap's free room comes from
         * there whatever the threshold, and the growth test frees 40 MiB. */
        cmocka_unit_test(test_switched_off_by_the_environment),
        cmocka_unit_test(test_big_blocks_stay_in_the_heap),
        cmocka_unit_test(test_growth_is_advised),
        cmocka_unit_test(test_thread_arena_is_advised),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
