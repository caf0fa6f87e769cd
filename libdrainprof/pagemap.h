/* Which pages may hold a tracked allocation (sampled, with a stack), so a
 * free() searches the tracked table only when its page says it may be
 * there: per 4 KiB page, the count of tracked allocations that start there.
 * One flat array indexed by page number modulo DP_TRACKED_PAGES: pages that
 * far apart share a count, so a page may read as tracked when it is not,
 * which costs a table lookup, never a wrong answer. Counts change rarely
 * and use atomic adds.
 *
 * (What the heaps hold per page is not kept here: a snapshot walks the
 * arenas, heapwalk.h.) */
#ifndef DP_PAGEMAP_H
#define DP_PAGEMAP_H
#include <stddef.h>
#include <stdint.h>

#define DP_PAGE_SHIFT 12
#define DP_PAGE ((uintptr_t)1 << DP_PAGE_SHIFT)
#define DP_TRACKED_PAGES ((uintptr_t)1 << 22) /* 16 GiB of address space apart */

/* Reserves the counts (address space only: untouched pages cost nothing). */
int dp_pages_init(void);

/* Counts one tracked allocation starting at addr in or out. */
void dp_pages_mark(uintptr_t addr, int sign);

/* Tracked allocations that may start in addr's page; only once
 * dp_pages_init succeeded. */
extern uint32_t *dp_tracked_pages;
static inline uint32_t dp_pages_tracked(uintptr_t addr)
{
    return __atomic_load_n(&dp_tracked_pages[(addr >> DP_PAGE_SHIFT) & (DP_TRACKED_PAGES - 1)], __ATOMIC_RELAXED);
}
#endif
