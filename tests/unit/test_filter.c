/* The tracked-allocation filter that lets free() skip the tracked table:
 * exact counts per granule, a bit set exactly while a count is not zero,
 * and addresses that share a count (never a miss, only an extra lookup). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>

#include "filter.h"

static void test_marks(void **state)
{
    (void)state;
    uintptr_t a = (uintptr_t)0x7f5600002010;
    assert_int_equal(dp_filter_init(), 0);
    assert_int_equal(dp_filter_maybe(a), 0);
    dp_filter_mark(a, 1);
    dp_filter_mark(a, 1);
    assert_int_equal(dp_filter_count(a), 2);
    assert_int_equal(dp_filter_maybe(a), 1);
    /* A chunk in the same 1 KiB shares the count; the next KiB does not,
     * though its bit is in the same word. */
    assert_int_equal(dp_filter_count(a + 16), 2);
    assert_int_equal(dp_filter_maybe(a + 16), 1);
    assert_int_equal(dp_filter_maybe(a + 1024), 0);
    assert_int_equal(dp_filter_maybe(a - 1024), 0);
    dp_filter_mark(a, -1);
    assert_int_equal(dp_filter_count(a), 1);
    assert_int_equal(dp_filter_maybe(a), 1);
    dp_filter_mark(a, -1);
    assert_int_equal(dp_filter_count(a), 0);
    assert_int_equal(dp_filter_maybe(a), 0);
}

/* Addresses DP_FILTER_SLOTS granules apart share a count: the second reads
 * as (possibly) tracked while only the first is. */
static void test_shared_slot(void **state)
{
    (void)state;
    assert_int_equal(dp_filter_init(), 0);
    uintptr_t a = (uintptr_t)0x7f1200002040, b = a + (DP_FILTER_SLOTS << DP_FILTER_SHIFT);
    dp_filter_mark(a, 1);
    assert_int_equal(dp_filter_maybe(b), 1);
    dp_filter_mark(a, -1);
    assert_int_equal(dp_filter_maybe(b), 0);
}

/* NULL's slot counts one for good, so free(NULL) is sent to the slow path
 * by the filter alone; so is a block at the start of a 4 GiB window. */
static void test_null_slot(void **state)
{
    (void)state;
    assert_int_equal(dp_filter_init(), 0);
    assert_int_equal(dp_filter_maybe(0), 1);
    uintptr_t w = (uintptr_t)0x7f1200000040;
    dp_filter_mark(w, 1);
    dp_filter_mark(w, -1);
    assert_int_equal(dp_filter_maybe(0), 1);
    assert_int_equal(dp_filter_maybe(w), 1);
}

/* Threads mark and unmark one granule (and their own, in the same word)
 * at once. Right after its own mark, a thread must find the bit set: with
 * the count and the bit updated by separate atomics, another thread's
 * unmark that took the count to 0 just before clears the bit after it. */
enum { MARKERS = 4, ROUNDS = 200000 };
static const uintptr_t shared_granule = (uintptr_t)0x7f3400010000;
static int misses[MARKERS];

static void *marker(void *arg)
{
    int i = (int)(intptr_t)arg;
    uintptr_t own = shared_granule + (uintptr_t)(i + 1) * 1024;
    for (int r = 0; r < ROUNDS; r++) {
        uintptr_t g = r & 1 ? own : shared_granule;
        dp_filter_mark(g, 1);
        if (!dp_filter_maybe(g))
            misses[i]++;
        dp_filter_mark(g, -1);
    }
    return NULL;
}

static void test_concurrent_marks(void **state)
{
    (void)state;
    assert_int_equal(dp_filter_init(), 0);
    pthread_t t[MARKERS];
    for (int i = 0; i < MARKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, marker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < MARKERS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < MARKERS; i++)
        assert_int_equal(misses[i], 0);
    for (int i = 0; i <= MARKERS; i++) {
        uintptr_t g = shared_granule + (uintptr_t)i * 1024;
        assert_int_equal(dp_filter_count(g), 0);
        assert_int_equal(dp_filter_maybe(g), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_shared_slot),
        cmocka_unit_test(test_null_slot),
        cmocka_unit_test(test_concurrent_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
