/* The tracked-allocation page counts that let free() skip the tracked
 * table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pagemap.h"

static void test_tracked_marks(void **state)
{
    (void)state;
    uintptr_t a = (uintptr_t)0x7f5600002000;
    assert_int_equal(dp_pages_init(), 0);
    assert_int_equal(dp_pages_tracked(a), 0);
    dp_pages_mark(a + 100, 1);
    dp_pages_mark(a + 200, 1);
    assert_int_equal(dp_pages_tracked(a + 4000), 2);
    assert_int_equal(dp_pages_tracked(a + 4096), 0);
    dp_pages_mark(a + 100, -1);
    assert_int_equal(dp_pages_tracked(a), 1);
    /* A page DP_TRACKED_PAGES pages away shares the count: a free there
     * looks in the table and finds nothing, never misses an entry. */
    assert_int_equal(dp_pages_tracked(a + DP_TRACKED_PAGES * DP_PAGE), 1);
    dp_pages_mark(a + 200, -1);
    assert_int_equal(dp_pages_tracked(a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tracked_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
