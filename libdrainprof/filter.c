#include "filter.h"
#include "dp.h"
#include "mem.h"

uint64_t *dp_filter_bits;
static uint16_t *counts;

/* Marks are rare (samples, carves and their frees), but in all mode every
 * allocation marks, so each 64 MiB of the filter's 4 GiB window has its
 * own spinning lock: glibc gives each thread arena 64 MiB-aligned heaps,
 * so threads in their own arenas take their own stripe, and its line does
 * not move between cores (a hash of the word spread every thread over
 * every stripe: all mode 4% slower on churn). */
#define STRIPES 64
static struct {
    int lock;
    char pad[60];
} stripe[STRIPES] __attribute__((aligned(64)));

static int *stripe_lock(uintptr_t slot)
{
    return &stripe[(slot >> 16) & (STRIPES - 1)].lock;
}

/* Under the word's stripe lock. */
static void add(uintptr_t s, int sign)
{
    uint16_t c = (uint16_t)(counts[s] + sign);
    __atomic_store_n(&counts[s], c, __ATOMIC_RELAXED);
    uint64_t *w = &dp_filter_bits[s / 64], bit = (uint64_t)1 << (s & 63);
    uint64_t now = __atomic_load_n(w, __ATOMIC_RELAXED);
    __atomic_store_n(w, c ? now | bit : now & ~bit, __ATOMIC_RELEASE);
}

int dp_filter_init(void)
{
    if (!dp_filter_bits) {
        uint16_t *c = dp_mem_map(DP_FILTER_SLOTS * sizeof *c);
        uint64_t *b = c ? dp_mem_map(DP_FILTER_WORDS * sizeof *b) : NULL;
        if (!b) {
            if (c)
                dp_mem_unmap(c, DP_FILTER_SLOTS * sizeof *c);
            return -1;
        }
        counts = c;
        __atomic_store_n(&dp_filter_bits, b, __ATOMIC_RELEASE);
        dp_filter_mark(0, 1);
    }
    return 0;
}

void dp_filter_hold(uintptr_t start, size_t len)
{
    if (!dp_filter_bits || !len)
        return;
    for (uintptr_t g = start >> DP_FILTER_SHIFT; g <= (start + len - 1) >> DP_FILTER_SHIFT; g++)
        dp_filter_mark(g << DP_FILTER_SHIFT, 1);
}

void dp_filter_mark(uintptr_t addr, int sign)
{
    if (!dp_filter_bits)
        return;
    uintptr_t s = dp_filter_slot(addr);
    int *l = stripe_lock(s);
    dp_spin_lock(l);
    add(s, sign > 0 ? 1 : -1);
    dp_spin_unlock(l);
}

uint32_t dp_filter_count(uintptr_t addr)
{
    return dp_filter_bits ? __atomic_load_n(&counts[dp_filter_slot(addr)], __ATOMIC_RELAXED) : 0;
}

void dp_filter_fork_prepare(void)
{
    for (int i = 0; i < STRIPES; i++)
        dp_spin_lock(&stripe[i].lock);
}

void dp_filter_fork_release(void)
{
    for (int i = STRIPES - 1; i >= 0; i--)
        dp_spin_unlock(&stripe[i].lock);
}
