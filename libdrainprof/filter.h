/* Which chunks may be tracked (sampled, with a stack, or in the carve log),
 * so a free() searches the tracked table and the carve log only when the
 * filter says the chunk may be there: per 1 KiB of address space, the
 * count of such allocations that start there, in one flat array indexed
 * modulo DP_FILTER_SLOTS, and one bit per count, set while it is not zero.
 * Neighbouring chunks share a count, and so do addresses DP_FILTER_SLOTS
 * KiB apart: a chunk may read as tracked when it is not, which costs a
 * table lookup, never a wrong answer. Granules in address order keep a
 * free's read near the heap memory it frees (a hashed index cost a cache
 * miss per free).
 *
 * free() reads only the bits: a 64-byte line of them covers 512 KiB of
 * heap, where a line of 16-bit counts covers 32 KiB. On churn's few MiB
 * the bits stay in the first-level cache (cachegrind: 0.63 -> 0.06 misses
 * a free); a 1 GiB heap has 128 KiB of them, against 2 MiB of counts.
 * Invariant: bit g is set exactly when count g is not zero. A count and
 * its bit change together under the lock of the bit's word (striped):
 * with atomics alone, an unmark that brought a count to 0 could clear the
 * bit after another thread's mark of the same granule had found it set,
 * and that chunk's free would miss the table. */
#ifndef DP_FILTER_H
#define DP_FILTER_H
#include <stddef.h>
#include <stdint.h>

#define DP_FILTER_SHIFT 10
#define DP_FILTER_SLOTS ((uintptr_t)1 << 22) /* 4 GiB of address space */
#define DP_FILTER_WORDS (DP_FILTER_SLOTS / 64)

/* Reserves the counts and bits (address space only: untouched pages cost
 * nothing). The slot of address 0 counts one for good, so free(NULL) takes
 * the slow path without a test of its own (so do blocks at the start of
 * each 4 GiB, at the cost of a lookup). */
int dp_filter_init(void);

/* Counts one in every slot of [start, start + len) for good: blocks there
 * always take free()'s slow path. */
void dp_filter_hold(uintptr_t start, size_t len);

/* Counts one tracked allocation at addr in or out. */
void dp_filter_mark(uintptr_t addr, int sign);

/* The count at addr (for checks; the hot paths read the bits). */
uint32_t dp_filter_count(uintptr_t addr);

/* fork: the stripes are taken before and released after, in both. */
void dp_filter_fork_prepare(void);
void dp_filter_fork_release(void);

/* One bit per slot, set while the slot's count is not zero; only once
 * dp_filter_init succeeded. */
extern uint64_t *dp_filter_bits;
static inline uintptr_t dp_filter_slot(uintptr_t addr)
{
    return (addr >> DP_FILTER_SHIFT) & (DP_FILTER_SLOTS - 1);
}
/* Non-zero when a tracked allocation may start in addr's granule. */
static inline uint64_t dp_filter_maybe_in(const uint64_t *bits, uintptr_t addr)
{
    uintptr_t g = addr >> DP_FILTER_SHIFT;
    uint64_t w = __atomic_load_n(&bits[(g / 64) & (DP_FILTER_WORDS - 1)], __ATOMIC_RELAXED);
    return (w >> (g & 63)) & 1;
}
static inline uint64_t dp_filter_maybe(uintptr_t addr)
{
    return dp_filter_maybe_in(dp_filter_bits, addr);
}
#endif
