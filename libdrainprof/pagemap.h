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

/* The start of a per-thread map, for the inline fast path below. */
struct dp_pagelocal {
    uintptr_t last_key; /* one-entry cache: span index + 1 */
    uint16_t *last;
};

int dp_pages_init(void);
/* A new per-thread map (never freed: maps are recycled with thread records,
 * their deltas stay part of the sum). */
struct dp_pagelocal *dp_pages_local_new(void);
/* Adds (sign > 0) or removes the live range [start, start + len). */
void dp_pages_update_slow(struct dp_pagelocal *l, uintptr_t start, size_t len, int sign);

#define DP_SPAN_SHIFT 26
#define DP_SPAN_PAGES ((uintptr_t)1 << (DP_SPAN_SHIFT - DP_PAGE_SHIFT))

static inline void dp_page_add(uint16_t *c, size_t bytes, int sign)
{
    uint16_t v = __atomic_load_n(c, __ATOMIC_RELAXED);
    __atomic_store_n(c, (uint16_t)(sign > 0 ? v + bytes : v - bytes), __ATOMIC_RELAXED);
}

/* The common cases inline: one page or two neighbours, in the span the
 * thread used last. Single writer per map: a relaxed load and store, no
 * locked instruction. */
static inline void dp_pages_update(struct dp_pagelocal *l, uintptr_t start, size_t len, int sign)
{
    uintptr_t page = start >> DP_PAGE_SHIFT, last = (start + len - 1) >> DP_PAGE_SHIFT;
    if (__builtin_expect(last - page <= 1 && l->last_key == (last >> (DP_SPAN_SHIFT - DP_PAGE_SHIFT)) + 1 &&
                             (page >> (DP_SPAN_SHIFT - DP_PAGE_SHIFT)) == (last >> (DP_SPAN_SHIFT - DP_PAGE_SHIFT)),
                         1)) {
        uint16_t *c = &l->last[page & (DP_SPAN_PAGES - 1)];
        if (page == last) {
            dp_page_add(c, len, sign);
        } else {
            size_t head = ((page + 1) << DP_PAGE_SHIFT) - start;
            dp_page_add(c, head, sign);
            dp_page_add(c + 1, len - head, sign);
        }
        return;
    }
    dp_pages_update_slow(l, start, len, sign);
}

/* Counts one tracked allocation starting at addr in or out. */
void dp_pages_mark(uintptr_t addr, int sign);
/* Tracked allocations starting in addr's page (0 for pages never marked). */
extern uint16_t **dp_tracked_l1;
static inline uint32_t dp_pages_tracked(uintptr_t addr)
{
    uintptr_t i = addr >> DP_SPAN_SHIFT;
    if (!dp_tracked_l1 || i >= ((uintptr_t)1 << (47 - DP_SPAN_SHIFT)))
        return 0;
    uint16_t *s = __atomic_load_n(&dp_tracked_l1[i], __ATOMIC_ACQUIRE);
    return s ? __atomic_load_n(&s[(addr >> DP_PAGE_SHIFT) & (DP_SPAN_PAGES - 1)], __ATOMIC_RELAXED) : 0;
}
/* Live bytes of n pages from `first` (a page address), summed over every
 * thread's map, into out. */
void dp_pages_read(uintptr_t first, size_t n, uint32_t *out);
#endif
