/* Live bytes per 4 KiB page of the heaps, kept on the hot path so a snapshot
 * can tell pages that hold something from pages that only hold free chunks.
 *
 * Each page has one 32-bit word. Low 16 bits: the bytes of live chunks that
 * fall in the page ([user pointer - 8, user pointer + usable size) for each
 * chunk), at most 4096 since live ranges never overlap. High 16 bits: how
 * many tracked allocations (sampled, with a stack) start in the page, so a
 * free only searches the tracked table when its page says it may be there.
 * Every removal is of bytes added earlier (frees un-count before the real
 * free), so the low half never borrows from the high half. */
#ifndef DP_PAGEMAP_H
#define DP_PAGEMAP_H
#include <stddef.h>
#include <stdint.h>

#define DP_PAGE_SHIFT 12
#define DP_PAGE ((uintptr_t)1 << DP_PAGE_SHIFT)
#define DP_PAGE_LIVE(word) ((word) & 0xffffu)
#define DP_PAGE_TRACKED(word) ((word) >> 16)

int dp_pages_init(void);
/* Adds (sign > 0) or removes the live range [start, start + len); returns
 * the word of start's page as it was before. */
uint32_t dp_pages_update(uintptr_t start, size_t len, int sign);
/* Counts one tracked allocation starting at addr in or out. */
void dp_pages_mark(uintptr_t addr, int sign);
/* The word of addr's page (0 for pages never touched). */
uint32_t dp_pages_word(uintptr_t addr);
/* Copies the words of n pages from `first` (a page address) into out. */
void dp_pages_read(uintptr_t first, size_t n, uint32_t *out);
#endif
