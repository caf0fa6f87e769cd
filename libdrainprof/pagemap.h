/* Live bytes per 4 KiB page of the heaps, kept on the hot path so a snapshot
 * can tell pages that hold something from pages that only hold free chunks.
 *
 * Each thread adds into its own map of 16-bit deltas with plain stores (a
 * locked add per call cost more than glibc's malloc itself); a reader sums
 * the deltas of every map. A thread may free what another allocated, so one
 * map's delta is any value, but the sum modulo 2^16 is exact: the true count
 * of a page, the bytes of live chunks that fall in it ([user pointer - 8,
 * user pointer + usable size) for each chunk), is at most 4096.
 *
 * Separately, a shared map counts per page the tracked allocations (sampled,
 * with a stack) that start there, so a free searches the tracked table only
 * when its page says it may be there. Those counts change rarely and use
 * atomic adds. */
#ifndef DP_PAGEMAP_H
#define DP_PAGEMAP_H
#include <stddef.h>
#include <stdint.h>

#define DP_PAGE_SHIFT 12
#define DP_PAGE ((uintptr_t)1 << DP_PAGE_SHIFT)

struct dp_pagelocal;

int dp_pages_init(void);
/* A new per-thread map (never freed: maps are recycled with thread records,
 * their deltas stay part of the sum). */
struct dp_pagelocal *dp_pages_local_new(void);
/* Adds (sign > 0) or removes the live range [start, start + len). */
void dp_pages_update(struct dp_pagelocal *l, uintptr_t start, size_t len, int sign);
/* Counts one tracked allocation starting at addr in or out. */
void dp_pages_mark(uintptr_t addr, int sign);
/* Tracked allocations starting in addr's page (0 for pages never marked). */
uint32_t dp_pages_tracked(uintptr_t addr);
/* Live bytes of n pages from `first` (a page address), summed over every
 * thread's map, into out. */
void dp_pages_read(uintptr_t first, size_t n, uint32_t *out);
#endif
