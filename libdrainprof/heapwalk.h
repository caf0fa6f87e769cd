/* What the program holds in a glibc arena, read from the arena itself at
 * snapshot time, so the allocation hot path does nothing for arena chunks
 * but its sampling countdown.
 *
 * A heap's chunks are walked in address order under the arena's own lock,
 * in holds of at most DP_WALK_HOLD_NS; a hold only copies each chunk's
 * address, size and state, and the accounting runs after the unlock. The
 * lock is then released (and the CPU yielded when a thread was waiting for
 * it) and taken again, so no allocating thread waits longer than one hold.
 * Before each hold, with the lock free, the walk prefetches the next few
 * hundred chunk headers where the last walk found them (hints.h), and the
 * hold ends where they do: it holds the lock while reading from cache,
 * where a cold walk of a 1 GiB heap waits on memory chunk after chunk. A
 * chunk is held by the program when glibc has it in use (PREV_INUSE in
 * the next chunk) and it is parked neither in a tcache (glibc's key in its
 * second word) nor in a fastbin (listed from the arena when the heap's
 * walk starts). Between two holds the program runs on: what it frees or
 * allocates meanwhile is seen in whichever state the walk finds it, as in
 * any snapshot of a running program. */
#ifndef DP_HEAPWALK_H
#define DP_HEAPWALK_H
#include <stddef.h>
#include <stdint.h>

#define DP_WALK_HOLD_NS 50000

/* The gate. A thread that finds an arena lock held sleeps on its futex,
 * and on a loaded host (a virtual CPU the host must run again) the wake-up
 * can take milliseconds, however short the hold was (docs/performance.md).
 * While the gate is up (dp_walk_gate, around a snapshot's walks, on a
 * machine with more than one CPU), each hold names its arena in
 * dp_walk_holds, and the shim sends every call that may take an arena lock
 * through the gate: a call for the held arena spins on its own CPU until
 * the hold ends, and then finds the lock free. After DP_WALK_SPIN_NS spent
 * spinning on its CPU (time in which it did not run does not count) the
 * walk has lost its own: the thread yields its CPU in turns, and at
 * DP_WALK_YIELD_NS after it came goes on to the lock, as do its calls for
 * the rest of that hold.
 * Before taking the lock the walk gives calls already past the gate
 * DP_WALK_GRACE_NS to reach it and leave. A wait costs a thread the rest
 * of a hold (microseconds, which the hints keep it to) or, when the walk
 * lost its CPU, up to DP_WALK_YIELD_NS.
 *
 * A free or realloc names its chunk's arena; a malloc, its thread's arena
 * when the thread learned it (track.h), else it waits at every hold. */
#define DP_WALK_SPIN_NS (2 * DP_WALK_HOLD_NS)
#define DP_WALK_YIELD_NS 1000000
#define DP_WALK_GRACE_NS 1000
extern uintptr_t dp_walk_holds;
void dp_walk_gate(int up);
void dp_walk_wait_chunk(const void *p);
void dp_walk_wait_thread(void);

/* p: a chunk of glibc's (not NULL). */
static inline void dp_walk_pass_chunk(const void *p)
{
    if (__builtin_expect(__atomic_load_n(&dp_walk_holds, __ATOMIC_ACQUIRE) != 0, 0))
        dp_walk_wait_chunk(p);
}

static inline void dp_walk_pass(void)
{
    if (__builtin_expect(__atomic_load_n(&dp_walk_holds, __ATOMIC_ACQUIRE) != 0, 0))
        dp_walk_wait_thread();
}

/* What the gate cost the program since the last call: calls that waited,
 * those that gave up (DP_WALK_YIELD_NS), the longest wait, and the longest
 * time a call spent waiting on its CPU (its wait less the gaps in the spin
 * in which it did not run). */
struct dp_gate_stats {
    uint64_t waits, timeouts, max_wait_ns, max_spin_ns;
};
void dp_walk_gate_take_stats(struct dp_gate_stats *s);

struct dp_walk {
    uint64_t live_bytes, live_chunks;  /* usable bytes and count of held chunks */
    uint64_t large_count, large_bytes; /* held chunks of DP_MMAP_THRESHOLD_DEFAULT or more (chunk bytes) */
    uintptr_t top_held;                /* user pointer of the highest held chunk, 0 if none */
    uint64_t top_held_size;            /* its usable size */
    uint64_t hold_ns;                  /* the longest single hold of the arena lock */
    uint64_t hold_total_ns;            /* all holds together */
    uintptr_t first;                   /* brk heap: its first chunk (0 if not found) */
    int complete;                      /* every walk ended where glibc's structures say */
};

/* Per-page held bytes go to pages[i] for the page at page_base + i * 4096,
 * for i < npages (the caller zeroes them); parts of chunks outside are not
 * counted there. Each call adds to *w (start from complete = 1). */

/* The main arena's brk heap, [page_base, page_base + npages * 4096) in the
 * address space (its mapping), from its first chunk to the top. */
void dp_walk_main(void *ar, uint16_t *pages, uintptr_t page_base, size_t npages, struct dp_walk *w);

/* One heap of a non-main arena: heap is its heap_info address; heaps[0..n)
 * are all the arena's heaps (fastbin links are followed only inside them). */
void dp_walk_heap(void *ar, uintptr_t heap, const uintptr_t *heaps, int n, uint16_t *pages, uintptr_t page_base,
                  size_t npages, struct dp_walk *w);
#endif
