#include "pagemap.h"
#include "dp.h"
#include "mem.h"

#include <string.h>

/* Address space is cut into 64 MiB spans (a non-main arena heap is exactly
 * one). Per-thread maps find a span's deltas in a small open-addressing
 * table; the shared tracked-count map is a reserved two-level table. */
#define SPAN_SHIFT DP_SPAN_SHIFT
#define ADDR_BITS 47
#define L1_SLOTS ((size_t)1 << (ADDR_BITS - SPAN_SHIFT))
#define SPAN_PAGES DP_SPAN_PAGES
#define LOCAL_SLOTS 1024 /* spans one thread can touch: 64 GiB of heap */

struct local {
    struct dp_pagelocal head; /* first: the inline fast path's view */
    uintptr_t key[LOCAL_SLOTS]; /* span index + 1, 0 = empty; set after ptr */
    uint16_t *ptr[LOCAL_SLOTS];
    struct local *next;
};

static struct local *locals;
uint16_t **dp_tracked_l1;
#define tracked_l1 dp_tracked_l1

int dp_pages_init(void)
{
    if (!tracked_l1)
        tracked_l1 = dp_mem_map(L1_SLOTS * sizeof *tracked_l1);
    return tracked_l1 ? 0 : -1;
}

struct dp_pagelocal *dp_pages_local_new(void)
{
    struct local *l = dp_mem_hot(sizeof *l);
    if (!l)
        return NULL;
    struct local *head = __atomic_load_n(&locals, __ATOMIC_ACQUIRE);
    do
        l->next = head;
    while (!__atomic_compare_exchange_n(&locals, &head, l, 1, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE));
    return &l->head;
}

static inline size_t slot_of(uintptr_t key)
{
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 54) & (LOCAL_SLOTS - 1);
}

/* The owner's lookup; creates the span's deltas on first use (once per
 * 64 MiB of heap a thread touches), from the reserved pool. */
static uint16_t *local_span(struct dp_pagelocal *pl, uintptr_t span_index)
{
    struct local *l = (struct local *)pl;
    uintptr_t key = span_index + 1;
    if (DP_LIKELY(l->head.last_key == key))
        return l->head.last;
    for (size_t i = slot_of(key), n = 0; n < LOCAL_SLOTS; i = (i + 1) & (LOCAL_SLOTS - 1), n++) {
        if (l->key[i] == key) {
            l->head.last_key = key;
            return l->head.last = l->ptr[i];
        }
        if (l->key[i] == 0) {
            uint16_t *s = dp_mem_hot(SPAN_PAGES * sizeof *s);
            if (!s)
                return NULL;
            l->ptr[i] = s;
            __atomic_store_n(&l->key[i], key, __ATOMIC_RELEASE);
            l->head.last_key = key;
            return l->head.last = s;
        }
    }
    dp_invariant_failed("a thread touches at most 64 GiB of heap spans", __FILE__, __LINE__);
    return NULL;
}

/* A reader's lookup in another thread's map. */
static const uint16_t *peek_span(const struct local *l, uintptr_t span_index)
{
    uintptr_t key = span_index + 1;
    for (size_t i = slot_of(key), n = 0; n < LOCAL_SLOTS; i = (i + 1) & (LOCAL_SLOTS - 1), n++) {
        uintptr_t k = __atomic_load_n(&l->key[i], __ATOMIC_ACQUIRE);
        if (k == key)
            return l->ptr[i];
        if (k == 0)
            return NULL;
    }
    return NULL;
}

static inline void add(uint16_t *c, uint32_t amount, int sign)
{
    uint16_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
    __atomic_store_n(c, (uint16_t)(sign > 0 ? v + amount : v - amount), __ATOMIC_RELAXED);
}

void dp_pages_update_slow(struct dp_pagelocal *l, uintptr_t start, size_t len, int sign)
{
    uintptr_t end = start + len;
    uintptr_t page = start >> DP_PAGE_SHIFT, last = (end - 1) >> DP_PAGE_SHIFT;
    uintptr_t offset = start & (DP_PAGE - 1);
    while (page <= last) {
        uint16_t *s = local_span(l, page >> (SPAN_SHIFT - DP_PAGE_SHIFT));
        uintptr_t span_last = page | (SPAN_PAGES - 1);
        uintptr_t stop = span_last < last ? span_last : last;
        for (; page <= stop; page++) {
            uintptr_t page_end = (page + 1) << DP_PAGE_SHIFT;
            uintptr_t bytes = (page_end < end ? page_end : end) - ((page << DP_PAGE_SHIFT) + offset);
            offset = 0;
            if (s)
                add(&s[page & (SPAN_PAGES - 1)], (uint32_t)bytes, sign);
        }
    }
}

static uint16_t *tracked_span(uintptr_t addr, int create)
{
    size_t i = addr >> SPAN_SHIFT;
    if (DP_UNLIKELY(!tracked_l1 || i >= L1_SLOTS))
        return NULL;
    uint16_t *s = __atomic_load_n(&tracked_l1[i], __ATOMIC_ACQUIRE);
    if (DP_LIKELY(s) || !create)
        return s;
    uint16_t *fresh = dp_mem_hot(SPAN_PAGES * sizeof *fresh);
    if (!fresh)
        return NULL;
    uint16_t *expected = NULL;
    if (!__atomic_compare_exchange_n(&tracked_l1[i], &expected, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        dp_mem_hot_release(fresh, SPAN_PAGES * sizeof *fresh);
        return expected;
    }
    return fresh;
}

void dp_pages_mark(uintptr_t addr, int sign)
{
    uint16_t *s = tracked_span(addr, sign > 0);
    if (!s)
        return;
    uint16_t *c = &s[(addr >> DP_PAGE_SHIFT) & (SPAN_PAGES - 1)];
    if (sign > 0)
        __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_sub(c, 1, __ATOMIC_RELAXED);
}

void dp_pages_read(uintptr_t first, size_t n, uint32_t *out)
{
    memset(out, 0, n * sizeof *out);
    uintptr_t page0 = first >> DP_PAGE_SHIFT;
    for (const struct local *l = __atomic_load_n(&locals, __ATOMIC_ACQUIRE); l; l = l->next) {
        for (size_t i = 0; i < n;) {
            uintptr_t page = page0 + i;
            uintptr_t span_index = page >> (SPAN_SHIFT - DP_PAGE_SHIFT);
            size_t in_span = SPAN_PAGES - (page & (SPAN_PAGES - 1));
            size_t k = in_span < n - i ? in_span : n - i;
            const uint16_t *s = peek_span(l, span_index);
            if (s)
                for (size_t j = 0; j < k; j++)
                    out[i + j] += __atomic_load_n(&s[(page + j) & (SPAN_PAGES - 1)], __ATOMIC_RELAXED);
            i += k;
        }
    }
    /* Maps are read one after another while their owners run on: a page
     * can read as slightly negative or above full for a moment. */
    for (size_t i = 0; i < n; i++) {
        uint32_t v = out[i] & 0xffff;
        out[i] = v > 0x8000 ? 0 : v > DP_PAGE ? (uint32_t)DP_PAGE : v;
    }
}
