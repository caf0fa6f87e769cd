/* The arena walk against the test's own count of what it holds: blocks of
 * many sizes, half of them freed (so tcache, fastbins and bins all hold
 * some), in the main arena and in a thread's arena, and under a thread that
 * keeps allocating in the arena being walked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "glibc.h"
#include "heapwalk.h"
#include "hints.h"
#include "dp.h"

#define NBLOCKS 20000

struct held {
    uint64_t bytes, chunks;
    uintptr_t highest;
};

/* Test memory comes from mmap: malloc would change the heap being walked. */
static void *map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    return p;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

/* Sizes from fastbin range to tens of KiB, below the mmap threshold. */
static size_t pick(uint64_t *s)
{
    uint64_t r = rnd(s);
    switch (r % 4) {
    case 0: return 16 + (r >> 8) % 100;
    case 1: return 100 + (r >> 8) % 1000;
    case 2: return 1000 + (r >> 8) % 7000;
    default: return 8000 + (r >> 8) % 60000;
    }
}

/* Allocates n blocks, frees a random half; counts what stays. */
static void churn(void **blocks, int n, uint64_t seed, struct held *h)
{
    *h = (struct held){0};
    for (int i = 0; i < n; i++) {
        blocks[i] = malloc(pick(&seed));
        assert_non_null(blocks[i]);
        memset(blocks[i], 0xab, 16);
    }
    for (int i = 0; i < n; i++) {
        if (rnd(&seed) & 1) {
            free(blocks[i]);
            blocks[i] = NULL;
        } else {
            h->bytes += malloc_usable_size(blocks[i]);
            h->chunks++;
            if ((uintptr_t)blocks[i] > h->highest)
                h->highest = (uintptr_t)blocks[i];
        }
    }
}

static uint16_t *pages;
static size_t pages_cap = (size_t)1 << 20; /* 4 GiB of heap */

static size_t walked_pages; /* the last walk_main's page count */

static struct dp_walk walk_main(uintptr_t *base_out)
{
    struct dp_arena_info a[64];
    assert_true(dp_glibc_arenas(a, 64) >= 1);
    assert_true(a[0].main);
    uintptr_t base = a[0].base, first_page = base & ~(DP_PAGE - 1);
    size_t n = (a[0].top + a[0].top_size - first_page) / DP_PAGE + 1;
    assert_true(n <= pages_cap);
    memset(pages, 0, n * sizeof *pages);
    struct dp_walk w = {.complete = 1};
    dp_walk_main(a[0].ar, pages, first_page, n, &w);
    assert_int_equal(w.first, base);
    *base_out = first_page;
    walked_pages = n;
    return w;
}

static uint16_t page_of(uintptr_t base, uintptr_t addr)
{
    return pages[(addr - base) / DP_PAGE];
}

static void test_main_arena_matches_own_count(void **state)
{
    (void)state;
    void **blocks = map(NBLOCKS * sizeof *blocks);
    uintptr_t base;
    struct dp_walk before = walk_main(&base);
    assert_true(before.complete);
    struct held h;
    churn(blocks, NBLOCKS, 42, &h);
    struct dp_walk after = walk_main(&base);
    assert_true(after.complete);
    assert_int_equal(after.live_chunks - before.live_chunks, h.chunks);
    assert_int_equal(after.live_bytes - before.live_bytes, h.bytes);
    assert_true(after.top_held >= h.highest);
    assert_true(after.hold_ns > 0 && after.hold_total_ns >= after.hold_ns);

    /* A held block's inner pages are full, a freed one's are empty. */
    int full = 0, empty = 0;
    for (int i = 0; i < NBLOCKS; i++) {
        uintptr_t p = (uintptr_t)blocks[i];
        if (!p || malloc_usable_size(blocks[i]) < 3 * DP_PAGE)
            continue;
        uintptr_t inner = (p + DP_PAGE) & ~(DP_PAGE - 1);
        assert_int_equal(page_of(base, inner), DP_PAGE);
        full++;
    }
    /* Free a large held block between two held ones: its inner pages. */
    for (int i = 1; i + 1 < NBLOCKS && !empty; i++) {
        if (!blocks[i] || !blocks[i - 1] || !blocks[i + 1] || malloc_usable_size(blocks[i]) < 3 * DP_PAGE)
            continue;
        uintptr_t inner = ((uintptr_t)blocks[i] + DP_PAGE) & ~(DP_PAGE - 1);
        free(blocks[i]);
        blocks[i] = NULL;
        walk_main(&base);
        assert_int_equal(page_of(base, inner), 0);
        empty++;
    }
    assert_true(full > 0 && empty > 0);
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
}

/* Tens of thousands of chunks in a few MiB: one hold's pages hold more
 * chunks than a hold records (SEEN_MAX), so holds end on a full record as
 * well; what is held still matches the program's own count. Small freed
 * chunks land in tcaches and fastbins, which must not count as held. */
static void test_small_chunks_match_own_count(void **state)
{
    (void)state;
    enum { N = 60000 };
    void **blocks = map(N * sizeof *blocks);
    uintptr_t base;
    struct dp_walk before = walk_main(&base);
    uint64_t seed = 7, bytes = 0, chunks = 0;
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(8 + rnd(&seed) % 120);
        assert_non_null(blocks[i]);
    }
    for (int i = 0; i < N; i++) {
        if (rnd(&seed) % 3 == 0) {
            free(blocks[i]);
            blocks[i] = NULL;
        } else {
            bytes += malloc_usable_size(blocks[i]);
            chunks++;
        }
    }
    struct dp_walk after = walk_main(&base);
    assert_true(after.complete);
    assert_int_equal(after.live_chunks - before.live_chunks, chunks);
    assert_int_equal(after.live_bytes - before.live_bytes, bytes);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    munmap(blocks, N * sizeof *blocks);
}

/* ---- prefetch hints ---- */

/* The walk leaves, for each page a held chunk starts in, the first chunk
 * start of that page, and "none" for the pages inside a held chunk. */
static void test_hints_name_the_chunks_found(void **state)
{
    (void)state;
    void **blocks = map(NBLOCKS * sizeof *blocks);
    struct held h;
    churn(blocks, NBLOCKS, 5, &h);
    uintptr_t base;
    struct dp_walk w = walk_main(&base);
    assert_true(w.complete);
    size_t n = walked_pages;
    const uint16_t *hint = dp_hints_for(base, n);
    assert_non_null(hint);
    int starts = 0, inner = 0;
    for (int i = 0; i < NBLOCKS; i++) {
        if (!blocks[i])
            continue;
        uintptr_t chunk = (uintptr_t)blocks[i] - 16, page = (chunk - base) / DP_PAGE;
        assert_int_not_equal(hint[page], 0);
        assert_int_not_equal(hint[page], DP_HINT_NONE);
        assert_true(DP_HINT_OFF(hint[page]) <= (chunk & (DP_PAGE - 1)));
        starts++;
        size_t usable = malloc_usable_size(blocks[i]);
        uintptr_t in = ((uintptr_t)blocks[i] + DP_PAGE) & ~(DP_PAGE - 1);
        if (usable >= 3 * DP_PAGE) {
            assert_int_equal(hint[(in - base) / DP_PAGE], DP_HINT_NONE);
            inner++;
        }
    }
    assert_true(starts > 0 && inner > 0);
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
}

/* A hint is only a prefetch address: with every hint garbage the walk
 * finds what the program holds, page by page as with sound hints. */
static void test_garbage_hints_change_nothing(void **state)
{
    (void)state;
    void **blocks = map(NBLOCKS * sizeof *blocks);
    uintptr_t base;
    struct dp_walk before = walk_main(&base);
    struct held h;
    churn(blocks, NBLOCKS, 11, &h);
    struct dp_walk sound = walk_main(&base);
    size_t n = walked_pages;
    uint16_t *copy = map(n * sizeof *copy);
    memcpy(copy, pages, n * sizeof *copy);
    uint16_t *hint = dp_hints_for(base, n);
    assert_non_null(hint);
    uint64_t seed = 3;
    for (size_t i = 0; i < n; i++)
        hint[i] = (uint16_t)rnd(&seed);
    struct dp_walk garbage = walk_main(&base);
    assert_true(garbage.complete);
    assert_int_equal(garbage.live_chunks - before.live_chunks, h.chunks);
    assert_int_equal(garbage.live_bytes - before.live_bytes, h.bytes);
    assert_int_equal(garbage.live_bytes, sound.live_bytes);
    assert_memory_equal(pages, copy, n * sizeof *copy);
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
}

/* ---- a thread's arena ---- */

static pthread_barrier_t made, walked;
static struct held thread_held;
static void *thread_block;

static void *arena_thread(void *arg)
{
    (void)arg;
    void **blocks = map(NBLOCKS * sizeof *blocks);
    churn(blocks, NBLOCKS, 7, &thread_held);
    for (int i = 0; i < NBLOCKS && !thread_block; i++)
        thread_block = blocks[i];
    pthread_barrier_wait(&made);
    pthread_barrier_wait(&walked);
    for (int i = 0; i < NBLOCKS; i++)
        free(blocks[i]);
    return NULL;
}

static struct dp_walk walk_arena_of(void *p)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    assert_non_null(c.arena);
    struct dp_arena_info a[64];
    int n = dp_glibc_arenas(a, 64);
    struct dp_walk w = {.complete = 1};
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (a[i].ar != c.arena)
            continue;
        uintptr_t start[64];
        size_t size[64];
        int nh = dp_glibc_arena_heaps(a[i].top, start, size, 64);
        for (int k = 0; k < nh; k++) {
            memset(pages, 0, (DP_HEAP_MAX / DP_PAGE) * sizeof *pages);
            dp_walk_heap(a[i].ar, start[k], start, nh, pages, start[k], DP_HEAP_MAX / DP_PAGE, &w);
        }
        found = 1;
    }
    assert_true(found);
    return w;
}

/* A thread's arena also holds the thread's tcache structure (one chunk). */
static void assert_thread_held(const struct dp_walk *w)
{
    assert_true(w->complete);
    assert_in_range(w->live_chunks, thread_held.chunks, thread_held.chunks + 1);
    assert_in_range(w->live_bytes, thread_held.bytes, thread_held.bytes + 1024);
}

static void test_thread_arena_matches_own_count(void **state)
{
    (void)state;
    pthread_barrier_init(&made, NULL, 2);
    pthread_barrier_init(&walked, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, arena_thread, NULL);
    pthread_barrier_wait(&made);
    struct dp_walk w = walk_arena_of(thread_block);
    pthread_barrier_wait(&walked);
    pthread_join(t, NULL);
    assert_thread_held(&w);
}

/* ---- a walk while the arena's owner keeps allocating ---- */

static volatile int stop;
static pthread_barrier_t ready, stopped, done;
static int through_gate; /* the busy thread's calls pass the gate, as the shim's do */
static long busy_sleeps; /* its voluntary context switches while walked */

static long voluntary_switches(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_THREAD, &ru), 0);
    return ru.ru_nvcsw;
}

static void *busy_thread(void *arg)
{
    (void)arg;
    void **blocks = map(NBLOCKS * 4 * sizeof *blocks);
    uint64_t seed = 99;
    churn(blocks, NBLOCKS * 4, seed, &thread_held);
    thread_block = NULL;
    for (int i = 0; i < NBLOCKS * 4 && !thread_block; i++)
        thread_block = blocks[i];
    pthread_barrier_wait(&ready);
    long sleeps = voluntary_switches();
    while (!stop) {
        int i = (int)(rnd(&seed) % (NBLOCKS * 4));
        if (!blocks[i] || blocks[i] == thread_block)
            continue; /* replace held blocks only: what it holds stays near held0 */
        if (through_gate)
            dp_walk_pass_chunk(blocks[i]);
        free(blocks[i]);
        if (through_gate)
            dp_walk_pass();
        blocks[i] = malloc(pick(&seed));
        assert_non_null(blocks[i]);
    }
    busy_sleeps = voluntary_switches() - sleeps;
    thread_held = (struct held){0};
    for (int i = 0; i < NBLOCKS * 4; i++)
        if (blocks[i]) {
            thread_held.bytes += malloc_usable_size(blocks[i]);
            thread_held.chunks++;
        }
    pthread_barrier_wait(&stopped);
    pthread_barrier_wait(&done);
    for (int i = 0; i < NBLOCKS * 4; i++)
        free(blocks[i]);
    return NULL;
}

/* 20 walks of the busy thread's arena; the figures stay right. */
static void walk_busy_arena(void)
{
    stop = 0;
    pthread_barrier_init(&ready, NULL, 2);
    pthread_barrier_init(&stopped, NULL, 2);
    pthread_barrier_init(&done, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, busy_thread, NULL);
    pthread_barrier_wait(&ready);
    uint64_t held0 = thread_held.bytes;
    for (int k = 0; k < 20; k++) {
        struct dp_walk w = walk_arena_of(thread_block);
        /* The owner frees and allocates between our holds: the figure moves
         * with it but stays near what it holds. */
        assert_in_range(w.live_bytes, held0 / 2, held0 * 2);
    }
    stop = 1;
    pthread_barrier_wait(&stopped);
    struct dp_walk w = walk_arena_of(thread_block);
    pthread_barrier_wait(&done);
    pthread_join(t, NULL);
    assert_thread_held(&w);
}

static long sleeps_gate_down = -1;

static void test_walk_beside_a_busy_thread(void **state)
{
    (void)state;
    through_gate = 0;
    walk_busy_arena();
    sleeps_gate_down = busy_sleeps;
}

/* With the gate up, the thread waits out the holds on its CPU instead of
 * sleeping on the lock: the kernel counts far fewer sleeps than it did for
 * the same walks with the gate down (hundreds to thousands). One CPU: the
 * snapshot never raises the gate. */
static void test_busy_thread_waits_at_the_gate(void **state)
{
    (void)state;
    cpu_set_t cpus;
    if (sched_getaffinity(0, sizeof cpus, &cpus) || CPU_COUNT(&cpus) < 2)
        skip();
    assert_true(sleeps_gate_down >= 0);
    through_gate = 1;
    dp_walk_gate(1);
    walk_busy_arena();
    dp_walk_gate(0);
    assert_int_equal(dp_walk_holds, 0);
    struct dp_gate_stats g;
    dp_walk_gate_take_stats(&g);
    printf("busy thread: %ld sleeps with the gate down, %ld up (%llu waits, %llu timed out, longest %llu us, "
           "%llu us on its CPU)\n",
           sleeps_gate_down, busy_sleeps, (unsigned long long)g.waits, (unsigned long long)g.timeouts,
           (unsigned long long)g.max_wait_ns / 1000, (unsigned long long)g.max_spin_ns / 1000);
    assert_true(g.waits > 0);
    /* A wait ends at DP_WALK_YIELD_NS whatever the walk does, give or
     * take one step (a sched_yield that ran other threads). */
    assert_true(g.max_spin_ns <= g.max_wait_ns);
    assert_true(g.max_spin_ns < DP_WALK_YIELD_NS + 200000);
    /* A thread sleeps only where a hold outlasted its wait (the walk lost
     * its CPU for a millisecond: on a loaded machine, now and then) and it
     * went on to the lock, once for that call and once for the rest of the
     * hold. */
    assert_true(busy_sleeps <= 2 * (long)g.timeouts + 20);
    assert_true(busy_sleeps < sleeps_gate_down);
}

static int setup(void **state)
{
    (void)state;
    pages = map(pages_cap * sizeof *pages);
    return dp_glibc_probe(malloc, free);
}

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
    printf("test_heapwalk: skipped under AddressSanitizer (malloc is not glibc's)\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_main_arena_matches_own_count),
        cmocka_unit_test(test_small_chunks_match_own_count),
        cmocka_unit_test(test_hints_name_the_chunks_found),
        cmocka_unit_test(test_garbage_hints_change_nothing),
        cmocka_unit_test(test_thread_arena_matches_own_count),
        cmocka_unit_test(test_walk_beside_a_busy_thread),
        cmocka_unit_test(test_busy_thread_waits_at_the_gate),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
