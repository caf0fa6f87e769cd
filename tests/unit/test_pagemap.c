/* Page accounting against a plain byte-by-byte model of the same ranges,
 * with the updates spread over several per-thread maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pagemap.h"

#define SPAN_PAGES 64
static unsigned char live_byte[SPAN_PAGES * 4096]; /* the model: 1 = live */

static uint32_t model_page(size_t page)
{
    uint32_t n = 0;
    for (size_t i = 0; i < 4096; i++)
        n += live_byte[page * 4096 + i];
    return n;
}

/* Ranges are added by one map and removed by another at random, as when a
 * thread frees what another allocated: each map alone is meaningless, the
 * sum must match the model exactly. */
static void test_random_ranges_many_maps(void **state)
{
    (void)state;
    assert_int_equal(dp_pages_init(), 0);
    struct dp_pagelocal *maps[3] = {dp_pages_local_new(), dp_pages_local_new(), dp_pages_local_new()};
    /* A base that straddles a 64 MiB span boundary, to cross the tables. */
    uintptr_t base = ((uintptr_t)0x7f1200000000 + (64u << 20)) - 16 * 4096;
    struct { size_t off, len; int on; } r[400];
    size_t next = 0;
    uint64_t s = 99;
    int nr = 0;
    while (nr < 400) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t len = 1 + s % (nr % 10 == 0 ? 20000 : 600);
        size_t gap = s % 64;
        if (next + gap + len > sizeof live_byte)
            break;
        r[nr].off = next + gap;
        r[nr].len = len;
        r[nr].on = 0;
        next = r[nr].off + len;
        nr++;
    }
    for (int round = 0; round < 20000; round++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int i = (int)(s % (uint64_t)nr);
        int sign = r[i].on ? -1 : 1;
        dp_pages_update(maps[(s >> 20) % 3], base + r[i].off, r[i].len, sign);
        memset(live_byte + r[i].off, sign > 0, r[i].len);
        r[i].on = !r[i].on;
    }
    uint32_t words[SPAN_PAGES];
    dp_pages_read(base, SPAN_PAGES, words);
    for (size_t p = 0; p < SPAN_PAGES; p++)
        assert_int_equal(words[p], model_page(p));
}

static void test_full_page_and_untouched(void **state)
{
    (void)state;
    uintptr_t a = (uintptr_t)0x7f3400001000;
    assert_int_equal(dp_pages_init(), 0);
    struct dp_pagelocal *m = dp_pages_local_new();
    uint32_t w[3];
    dp_pages_read(a, 3, w);
    assert_int_equal(w[0] + w[1] + w[2], 0); /* never touched */
    dp_pages_update(m, a + 4096, 4096, 1);
    dp_pages_update(m, a + 100, 50, 1);
    dp_pages_read(a, 3, w);
    assert_int_equal(w[0], 50);
    assert_int_equal(w[1], 4096); /* a full page reads 4096, not 0 */
    assert_int_equal(w[2], 0);
}

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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ranges_many_maps),
        cmocka_unit_test(test_full_page_and_untouched),
        cmocka_unit_test(test_tracked_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
