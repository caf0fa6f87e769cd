/* Where the last walk of each heap found chunks, one entry per 4 KiB page:
 * the next walk prefetches those chunk headers before it takes the arena
 * lock, so the lock is held while the walk reads from cache rather than
 * while it waits, chunk after chunk, for memory (bigheap's 1 GiB heap:
 * ~5 ms of holds in all cold, ~0.5 ms warm). A hint is only ever a
 * prefetch address: a stale one costs a wasted prefetch, never a wrong
 * figure, and a prefetch cannot fault.
 *
 * Snapshot time only (under the snapshot lock). Memory: 2 bytes per page
 * walked, 0.05% of the heap. */
#ifndef DP_HINTS_H
#define DP_HINTS_H
#include <stddef.h>
#include <stdint.h>

/* An entry: the offset of the first chunk starting in the page, / 16, + 1;
 * DP_HINT_NONE: the last walk found no chunk starting there (inside a
 * large chunk); 0: no walk has seen the page yet (fresh zero pages cost no
 * memory until written). */
#define DP_HINT(off) ((uint16_t)(((off) >> 4) + 1))
#define DP_HINT_OFF(h) ((uintptr_t)((h) - 1) << 4)
#define DP_HINT_NONE 0xffffu

/* Heaps with hints at once (the brk heap and each non-main heap, 32 KiB
 * of hints at most); past them a heap is walked without. */
#define DP_HINT_SLOTS 256

/* The hints of the heap whose page 0 is at base, at least npages entries,
 * kept from the previous call for the same base (grown, entries kept, when
 * npages grew); NULL when out of memory or slots. */
uint16_t *dp_hints_for(uintptr_t base, size_t npages);

/* Drops the hints of every heap not asked for since the last sweep (heaps
 * glibc unmapped, a brk heap that moved). */
void dp_hints_sweep(void);
#endif
