/* Page accounting against a plain byte-by-byte model of the same ranges. */
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

static void test_random_ranges(void **state)
{
    (void)state;
    assert_int_equal(dp_pages_init(), 0);
    /* A base that straddles a 64 MiB span boundary, to cross the tables. */
    uintptr_t base = ((uintptr_t)0x7f1200000000 + (64u << 20)) - 16 * 4096;
    struct { size_t off, len; int on; } r[400];
    size_t next = 0;
    uint64_t s = 99;
    int nr = 0;
    /* Disjoint ranges laid one after another, like chunks in a heap. */
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
    for (int round = 0; round < 4000; round++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int i = (int)(s % (uint64_t)nr);
        int sign = r[i].on ? -1 : 1;
        dp_pages_update(base + r[i].off, r[i].len, sign);
        memset(live_byte + r[i].off, sign > 0, r[i].len);
        r[i].on = !r[i].on;
    }
    uint32_t words[SPAN_PAGES];
    dp_pages_read(base, SPAN_PAGES, words);
    for (size_t p = 0; p < SPAN_PAGES; p++) {
        assert_int_equal(DP_PAGE_LIVE(words[p]), model_page(p));
        assert_int_equal(DP_PAGE_TRACKED(words[p]), 0);
    }
}

static void test_marks_and_old_word(void **state)
{
    (void)state;
    uintptr_t a = (uintptr_t)0x7f3400001000;
    assert_int_equal(dp_pages_init(), 0);
    assert_int_equal(dp_pages_word(a), 0); /* never touched */
    uint32_t old = dp_pages_update(a + 100, 50, 1);
    assert_int_equal(old, 0);
    dp_pages_mark(a + 100, 1);
    dp_pages_mark(a + 200, 1);
    old = dp_pages_update(a + 300, 10, 1);
    assert_int_equal(DP_PAGE_LIVE(old), 50);
    assert_int_equal(DP_PAGE_TRACKED(old), 2);
    dp_pages_mark(a + 100, -1);
    dp_pages_update(a + 100, 50, -1);
    assert_int_equal(DP_PAGE_LIVE(dp_pages_word(a)), 10);
    assert_int_equal(DP_PAGE_TRACKED(dp_pages_word(a)), 1);
    /* A full page of live bytes reads 4096, not 0 (no overflow into marks). */
    dp_pages_update(a + 4096, 4096, 1);
    assert_int_equal(DP_PAGE_LIVE(dp_pages_word(a + 4096)), 4096);
    assert_int_equal(DP_PAGE_TRACKED(dp_pages_word(a + 4096)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ranges),
        cmocka_unit_test(test_marks_and_old_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
