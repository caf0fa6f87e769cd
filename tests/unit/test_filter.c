/* The tracked-allocation filter that lets free() skip the tracked table:
 * exact counts per granule, and addresses that share a count (never a
 * miss, only an extra lookup). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "filter.h"

static void test_marks(void **state)
{
    (void)state;
    uintptr_t a = (uintptr_t)0x7f5600002010;
    assert_int_equal(dp_filter_init(), 0);
    assert_int_equal(dp_filter_maybe(a), 0);
    dp_filter_mark(a, 1);
    dp_filter_mark(a, 1);
    assert_int_equal(dp_filter_maybe(a), 2);
    /* A chunk in the same 1 KiB shares the count; the next KiB does not. */
    assert_int_equal(dp_filter_maybe(a + 16), 2);
    assert_int_equal(dp_filter_maybe(a + 1024), 0);
    dp_filter_mark(a, -1);
    assert_int_equal(dp_filter_maybe(a), 1);
    dp_filter_mark(a, -1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_shared_slot),
        cmocka_unit_test(test_null_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
