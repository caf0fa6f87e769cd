/* Allocation sites: stacks of sampled (or all) live allocations, of the
 * chunks carved from the main arena's top (the usual brk pinners) and of
 * application mmaps. Stacks are deduplicated into small integer ids. */
#ifndef DP_SITES_H
#define DP_SITES_H
#include <stddef.h>
#include <stdint.h>

#include "dp.h"
#include "options.h"

#define DP_MAX_FRAMES 64

void dp_sites_init(int mode, uint64_t sample_bytes, int depth);
/* Called for an allocation the countdown made due (every one in all mode,
 * and every mmapped chunk); charge: what the countdown took for it. Returns
 * 1 if the allocation is now tracked (the caller counts it in the tracked
 * filter), 0 if not due or the table had no room. */
int dp_sites_alloc_slow(void *p, size_t usable, size_t charge, int slot);

/* The sampling countdown, dp_hot.sample_left: bytes before the next
 * sample. The fast path subtracts every allocation's charge and needs no
 * mode test: with stacks off the countdown is set beyond reach, in all mode
 * it is kept at 0, so every allocation is due.
 *
 * An arena chunk is charged its header word as read: its chunk size (usable
 * bytes + 8) plus glibc's flag bits (0-7), which saves the fast path three
 * instructions; a sample records the charge, so its weight stays exact.
 * Any other block is charged its usable size. */
static inline size_t dp_sites_charge_of_word(size_t word)
{
    return word;
}
/* For the slow path: is an allocation of `charge` bytes due for
 * dp_sites_alloc_slow? taken: the fast path already subtracted them. */
extern int dp_sites_mode;
static inline int dp_sites_due(size_t charge, int taken)
{
    if (dp_sites_mode == DP_STACKS_SAMPLE)
        return (taken ? dp_hot.sample_left : (dp_hot.sample_left -= (int64_t)charge)) <= 0;
    dp_hot.sample_left = dp_sites_mode == DP_STACKS_OFF ? INT64_MAX : 0;
    return dp_sites_mode == DP_STACKS_ALL;
}
/* Logs a chunk just carved from the main arena's top, with its stack (not
 * with stacks off), and counts it in the tracked filter. */
void dp_sites_carve(void *p, size_t usable);
/* Called before a free that the tracked filter sent to the slow path: drops
 * the chunk's carve entry, if it has one. */
void dp_sites_uncarve(void *p);
/* Calls fn for each logged carve; sums what fn returns. Entries may be stale:
 * the caller checks them against the heap. */
int dp_sites_carves(int (*fn)(uintptr_t ptr, uint64_t size, uint32_t stack, void *ctx), void *ctx);
/* Called before a free of an allocation the tracked filter says may be tracked;
 * returns 1 if it was. */
int dp_sites_free(void *p);
/* Stack id of the caller's call site (0 when stacks are off). */
uint32_t dp_sites_stack_here(void);

struct dp_tracked {
    uintptr_t ptr;
    uint64_t size; /* usable bytes */
    uint32_t stack;
    int16_t slot;
    int8_t delta;  /* the countdown's charge less size: -24..16 (dp_sites_charge_of_word, DP_MALLOC_CHARGE) */
};
/* Bytes a tracked allocation stands for: its size when every allocation of
 * its kind is tracked, else its size over the chance its charge was
 * sampled. Derived when read, so the sampling path does no floating point. */
uint64_t dp_sites_weight(const struct dp_tracked *t);
/* Calls fn for every tracked live allocation (stripe by stripe, each stripe
 * locked only while it is walked). */
void dp_sites_each(void (*fn)(const struct dp_tracked *t, void *ctx), void *ctx);

/* Stacks: frames of an id; the number of ids handed out so far. */
int dp_sites_frames(uint32_t id, uintptr_t *frames, int max);
uint32_t dp_sites_stack_count(void);
/* The largest stack id plus one. */
uint32_t dp_sites_stack_capacity(void);
/* The longest a snapshot held a stripe lock since the last call (ns). */
uint64_t dp_sites_take_hold_ns(void);
void dp_sites_fork_prepare(void);
void dp_sites_fork_release(void);
#endif
