#include "filter.h"
#include "dp.h"
#include "mem.h"

uint16_t *dp_filter_counts;

int dp_filter_init(void)
{
    if (!dp_filter_counts) {
        uint16_t *c = dp_mem_map(DP_FILTER_SLOTS * sizeof *c);
        if (!c)
            return -1;
        c[dp_filter_slot(0)] = 1;
        dp_filter_counts = c;
    }
    return 0;
}

void dp_filter_hold(uintptr_t start, size_t len)
{
    if (!dp_filter_counts || !len)
        return;
    for (uintptr_t g = start >> DP_FILTER_SHIFT; g <= (start + len - 1) >> DP_FILTER_SHIFT; g++)
        dp_filter_mark(g << DP_FILTER_SHIFT, 1);
}

void dp_filter_mark(uintptr_t addr, int sign)
{
    if (!dp_filter_counts)
        return;
    uint16_t *c = &dp_filter_counts[dp_filter_slot(addr)];
    if (sign > 0)
        __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_sub(c, 1, __ATOMIC_RELAXED);
}
