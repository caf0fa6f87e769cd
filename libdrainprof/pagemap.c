#include "pagemap.h"
#include "dp.h"
#include "mem.h"

/* Two levels: one pointer per 64 MiB of the 47-bit user address space, each
 * pointing to the counters of that span, mapped on first use. The top level
 * is reserved, not committed: only the slots in use take memory. */
#define SPAN_SHIFT 26
#define ADDR_BITS 47
#define L1_SLOTS ((size_t)1 << (ADDR_BITS - SPAN_SHIFT))

static uint32_t **l1;
static const size_t span_pages = (size_t)1 << (SPAN_SHIFT - DP_PAGE_SHIFT);

int dp_pages_init(void)
{
    if (!l1)
        l1 = dp_mem_map(L1_SLOTS * sizeof *l1);
    return l1 ? 0 : -1;
}

static uint32_t *span(uintptr_t addr, int create)
{
    size_t i = addr >> SPAN_SHIFT;
    if (DP_UNLIKELY(!l1 || i >= L1_SLOTS))
        return NULL;
    uint32_t *s = __atomic_load_n(&l1[i], __ATOMIC_ACQUIRE);
    if (DP_LIKELY(s) || !create)
        return s;
    /* Once per 64 MiB of heap: the only mapping the hot path ever makes. */
    uint32_t *fresh = dp_mem_map(span_pages * sizeof *fresh);
    if (!fresh)
        return NULL;
    uint32_t *expected = NULL;
    if (!__atomic_compare_exchange_n(&l1[i], &expected, fresh, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        dp_mem_unmap(fresh, span_pages * sizeof *fresh);
        return expected;
    }
    return fresh;
}

static uint32_t add_page(uintptr_t page, uint32_t amount, int sign)
{
    uint32_t *s = span(page << DP_PAGE_SHIFT, sign > 0);
    if (!s)
        return 0;
    uint32_t *c = &s[page & (span_pages - 1)];
    if (sign > 0)
        return __atomic_fetch_add(c, amount, __ATOMIC_RELAXED);
    return __atomic_fetch_sub(c, amount, __ATOMIC_RELAXED);
}

uint32_t dp_pages_update(uintptr_t start, size_t len, int sign)
{
    uintptr_t end = start + len;
    uintptr_t first = start >> DP_PAGE_SHIFT, last = (end - 1) >> DP_PAGE_SHIFT;
    if (first == last)
        return add_page(first, (uint32_t)len, sign);
    uint32_t old = add_page(first, (uint32_t)(((first + 1) << DP_PAGE_SHIFT) - start), sign);
    /* Pages wholly inside the range belong to this chunk alone (no other
     * chunk starts or ends there), so plain stores replace locked adds. */
    uint32_t value = sign > 0 ? (uint32_t)DP_PAGE : 0;
    for (uintptr_t p = first + 1; p < last;) {
        uint32_t *s = span(p << DP_PAGE_SHIFT, sign > 0);
        uintptr_t span_end = (p | (span_pages - 1)) + 1;
        uintptr_t stop = span_end < last ? span_end : last;
        if (s)
            for (uintptr_t q = p; q < stop; q++)
                __atomic_store_n(&s[q & (span_pages - 1)], value, __ATOMIC_RELAXED);
        p = stop;
    }
    add_page(last, (uint32_t)(end - (last << DP_PAGE_SHIFT)), sign);
    return old;
}

void dp_pages_mark(uintptr_t addr, int sign)
{
    add_page(addr >> DP_PAGE_SHIFT, 1u << 16, sign);
}

uint32_t dp_pages_word(uintptr_t addr)
{
    uint32_t *s = span(addr, 0);
    return s ? __atomic_load_n(&s[(addr >> DP_PAGE_SHIFT) & (span_pages - 1)], __ATOMIC_RELAXED) : 0;
}

void dp_pages_read(uintptr_t first, size_t n, uint32_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = dp_pages_word(first + i * DP_PAGE);
}
