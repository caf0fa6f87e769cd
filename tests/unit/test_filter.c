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
    uintptr_t a = (uintptr_t)0x7f1200000040, b = a + (DP_FILTER_SLOTS << DP_FILTER_SHIFT);
    dp_filter_mark(a, 1);
    assert_int_equal(dp_filter_maybe(b), 1);
    dp_filter_mark(a, -1);
    assert_int_equal(dp_filter_maybe(b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marks),
        cmocka_unit_test(test_shared_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
