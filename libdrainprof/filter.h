/* Which chunks may be tracked (sampled, with a stack, or in the carve log),
 * so a free() searches the tracked table and the carve log only when the
 * filter says the chunk may be there: per 1 KiB of address space, the
 * count of such allocations that start there, in one flat array indexed
 * modulo DP_FILTER_SLOTS. Neighbouring chunks share a count, and so do
 * addresses DP_FILTER_SLOTS KiB apart: a chunk may read as tracked when it
 * is not, which costs a table lookup, never a wrong answer. Granules in
 * address order keep a free's read near the heap memory it frees (a hashed
 * index cost a cache miss per free). Counts change rarely and use atomic
 * adds. */
#ifndef DP_FILTER_H
#define DP_FILTER_H
#include <stddef.h>
#include <stdint.h>

#define DP_FILTER_SHIFT 10
#define DP_FILTER_SLOTS ((uintptr_t)1 << 22) /* 4 GiB of address space */

/* Reserves the counts (address space only: untouched pages cost nothing).
 * The slot of address 0 counts one for good, so free(NULL) takes the slow
 * path without a test of its own (so do blocks at the start of each 4 GiB,
 * at the cost of a lookup). */
int dp_filter_init(void);

/* Counts one in every slot of [start, start + len) for good: blocks there
 * always take free()'s slow path. */
void dp_filter_hold(uintptr_t start, size_t len);

/* Counts one tracked allocation at addr in or out. */
void dp_filter_mark(uintptr_t addr, int sign);

/* Tracked allocations that may be at addr; only once dp_filter_init
 * succeeded. */
extern uint16_t *dp_filter_counts;
static inline uintptr_t dp_filter_slot(uintptr_t addr)
{
    return (addr >> DP_FILTER_SHIFT) & (DP_FILTER_SLOTS - 1);
}
static inline uint32_t dp_filter_maybe(uintptr_t addr)
{
    return __atomic_load_n(&dp_filter_counts[dp_filter_slot(addr)], __ATOMIC_RELAXED);
}
#endif
