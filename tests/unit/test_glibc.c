/* Chunk and arena decoding, checked against glibc itself: malloc_usable_size
 * for every chunk, mallinfo2 and malloc_info for the arenas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "glibc.h"

static void test_usable_size_matches_glibc(void **state)
{
    (void)state;
    uint64_t s = 12345;
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t n = i < 5000 ? (size_t)i : (size_t)(s % (1u << 20));
        void *p;
        switch (i % 4) {
        case 0: p = malloc(n); break;
        case 1: p = calloc(1, n); break;
        case 2: p = memalign(64u << (s % 6), n); break;
        default: p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095); break;
        }
        assert_non_null(p);
        struct dp_chunk c;
        dp_chunk_decode(p, &c);
        assert_int_equal(c.usable, malloc_usable_size(p));
        assert_null(c.arena); /* this thread uses the main arena */
        free(p);
    }
}

static void test_mmapped_flag(void **state)
{
    (void)state;
    struct mallinfo2 before = mallinfo2();
    void *p = malloc(64u << 20); /* far above any mmap threshold */
    struct mallinfo2 after = mallinfo2();
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    assert_true(c.mmapped);
    assert_int_equal(after.hblks, before.hblks + 1);
    assert_int_equal(c.csize, after.hblkhd - before.hblkhd);
    free(p);
}

static void *thread_alloc(void *arg)
{
    void **out = arg;
    *out = malloc(1000);
    return NULL;
}

static void test_arena_ring_matches_mallinfo(void **state)
{
    (void)state;
    assert_int_equal(dp_glibc_probe(malloc, free), 0);
    void *tp = NULL;
    pthread_t t;
    pthread_create(&t, NULL, thread_alloc, &tp);
    pthread_join(t, NULL);
    struct dp_chunk c;
    dp_chunk_decode(tp, &c);
    assert_non_null(c.arena); /* a new thread gets an arena of its own */

    struct dp_arena_info a[64];
    int n = dp_glibc_arenas(a, 64);
    assert_true(n >= 2);
    assert_true(a[0].main);
    size_t sum = 0;
    int found = 0;
    for (int i = 0; i < n; i++) {
        sum += a[i].system_mem;
        found |= a[i].ar == c.arena;
    }
    assert_true(found);
    assert_int_equal(sum, mallinfo2().arena);

    /* The chunk lies in one of its arena's heaps. */
    for (int i = 0; i < n; i++) {
        if (a[i].ar != c.arena)
            continue;
        uintptr_t start[8];
        size_t size[8];
        int h = dp_glibc_arena_heaps(a[i].top, start, size, 8);
        int inside = 0;
        for (int k = 0; k < h; k++)
            inside |= (uintptr_t)tp >= start[k] && (uintptr_t)tp < start[k] + size[k];
        assert_true(inside);
        size_t heaps_total = 0;
        for (int k = 0; k < h; k++)
            heaps_total += size[k];
        assert_int_equal(heaps_total, a[i].system_mem);
    }
    free(tp);
}

static void test_safe_read_unmapped(void **state)
{
    (void)state;
    uintptr_t v = 0, x = 42;
    assert_int_equal(dp_safe_read((uintptr_t)&x, &v, sizeof v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(dp_safe_read(8, &v, sizeof v), -1);
}

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
    /* Under AddressSanitizer malloc is ASan's: there are no glibc chunks. */
    printf("test_glibc: skipped under AddressSanitizer (malloc is not glibc's)\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usable_size_matches_glibc),
        cmocka_unit_test(test_mmapped_flag),
        cmocka_unit_test(test_arena_ring_matches_mallinfo),
        cmocka_unit_test(test_safe_read_unmapped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
