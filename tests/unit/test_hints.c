/* The hint store: one array per heap base, kept across snapshots, grown
 * with its entries, dropped when a sweep finds it unused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>

#include "hints.h"

static void test_same_base_same_hints(void **state)
{
    (void)state;
    uint16_t *a = dp_hints_for(0x100000, 10);
    assert_non_null(a);
    assert_int_equal(a[9], 0);
    a[3] = DP_HINT(0x120);
    assert_ptr_equal(dp_hints_for(0x100000, 10), a);
    assert_int_equal(DP_HINT_OFF(a[3]), 0x120);
    assert_ptr_not_equal(dp_hints_for(0x200000, 10), a);
    dp_hints_sweep();
    dp_hints_sweep();
}

static void test_growth_keeps_entries(void **state)
{
    (void)state;
    uint16_t *a = dp_hints_for(0x300000, 16);
    a[15] = DP_HINT(0xff0);
    uint16_t *b = dp_hints_for(0x300000, 1u << 20);
    assert_non_null(b);
    assert_int_equal(DP_HINT_OFF(b[15]), 0xff0);
    b[(1u << 20) - 1] = 1;
    dp_hints_sweep();
    dp_hints_sweep();
}

static void test_sweep_drops_unused(void **state)
{
    (void)state;
    uint16_t *kept = dp_hints_for(0x400000, 8), *gone = dp_hints_for(0x500000, 8);
    kept[1] = gone[1] = DP_HINT(0x40);
    dp_hints_sweep(); /* both asked for since the last sweep: kept */
    assert_int_equal(dp_hints_for(0x400000, 8)[1], DP_HINT(0x40));
    dp_hints_sweep(); /* 0x500000 not asked for: dropped */
    assert_int_equal(dp_hints_for(0x400000, 8)[1], DP_HINT(0x40));
    assert_int_equal(dp_hints_for(0x500000, 8)[1], 0);
    dp_hints_sweep();
    dp_hints_sweep();
}

/* Past its slots the store says no, and a sweep frees them again. */
static void test_slots_run_out(void **state)
{
    (void)state;
    int got = 0;
    for (uintptr_t b = 1; b <= 1000; b++)
        got += dp_hints_for(b << 26, 4) != NULL;
    assert_int_equal(got, DP_HINT_SLOTS);
    dp_hints_sweep();
    dp_hints_sweep();
    assert_non_null(dp_hints_for((uintptr_t)1001 << 26, 4));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_base_same_hints),
        cmocka_unit_test(test_growth_keeps_entries),
        cmocka_unit_test(test_sweep_drops_unused),
        cmocka_unit_test(test_slots_run_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
