#include "pagemap.h"
#include "dp.h"
#include "mem.h"

uint32_t *dp_tracked_pages;

int dp_pages_init(void)
{
    if (!dp_tracked_pages)
        dp_tracked_pages = dp_mem_map(DP_TRACKED_PAGES * sizeof *dp_tracked_pages);
    return dp_tracked_pages ? 0 : -1;
}

void dp_pages_mark(uintptr_t addr, int sign)
{
    if (!dp_tracked_pages)
        return;
    uint32_t *c = &dp_tracked_pages[(addr >> DP_PAGE_SHIFT) & (DP_TRACKED_PAGES - 1)];
    if (sign > 0)
        __atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
    else
        __atomic_fetch_sub(c, 1, __ATOMIC_RELAXED);
}
