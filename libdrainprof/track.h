/* Live-memory accounting on the allocation path. Called by the shim only;
 * knows nothing of files or /proc.
 *
 * Chunks in glibc's arenas cost one header read here: what the arenas hold
 * is walked at snapshot time (heapwalk.h), so per call this only counts
 * calls, logs chunks carved from the main arena's top and runs the sampling
 * countdown. glibc's mmapped chunks (each already a system call) and every
 * block of another allocator are counted here.
 *
 * Counters are per thread (each thread adds to its own TLS block and
 * record, readers sum all records), so the hot path takes no lock. A record
 * outlives its thread and is handed to the next new thread: counts are
 * deltas, the sum stays right whichever thread adds to it. */
#ifndef DP_TRACK_H
#define DP_TRACK_H
#include <stddef.h>
#include <stdint.h>

#include "dp.h"
#include "glibc.h"
#include "filter.h"
#include "sites.h"

#define DP_MAX_ARENAS 256                /* slot 0 = main arena */
#define DP_SLOT_MMAP DP_MAX_ARENAS       /* glibc's mmapped chunks */
#define DP_SLOT_FOREIGN (DP_MAX_ARENAS + 1) /* another allocator's blocks */
#define DP_LARGE_CHUNK ((size_t)128 << 10) /* glibc's default M_MMAP_THRESHOLD */

struct dp_slot_totals {
    int64_t live_bytes;  /* usable bytes of live allocations */
    int64_t live_chunks;
    int64_t chunk_bytes; /* whole chunk sizes of the same (derived) */
};

struct dp_totals {
    struct dp_slot_totals mmap;    /* glibc's mmapped chunks */
    struct dp_slot_totals foreign; /* another allocator's blocks */
    uint64_t allocs;               /* frees are allocs less what is live */
    uint64_t threads;
};

/* glibc = 1: chunk headers are read and the arenas walked (the probe found
 * the main arena); 0: only usable_size() is used. */
void dp_track_init(int glibc, size_t (*usable_size)(void *));

extern int dp_track_glibc;
extern uintptr_t *dp_track_main_top; /* &main_arena.top (read racily) */

/* Everything but the common case below: a thread's first call, another
 * allocator, mmapped chunks, carves from the top, sampled and tracked
 * allocations. Does nothing while the library itself runs (dp_in_hook) or
 * in a process not profiled; runs with dp_in_hook raised. */
void dp_track_alloc_slow(void *p, int taken);
void dp_track_free_slow(void *p);

/* The common case of an arena chunk, inline in the shim once glibc's
 * arenas are known: one header read, a call count, the carve test and the
 * sampling countdown (free: the mmapped bit and the tracked filter, no
 * count: a snapshot derives frees from calls and what is live). Anything
 * else goes to the slow path, which redoes the whole accounting. The
 * library's own calls (dp_in_hook) may be counted here; they are never
 * tracked. */
static inline void dp_track_alloc(void *p)
{
    size_t word = ((const size_t *)p)[-1];
    if (DP_UNLIKELY(word & DP_IS_MMAPPED)) {
        dp_track_alloc_slow(p, 0);
        return;
    }
    int64_t left = dp_hot.sample_left -= (int64_t)dp_sites_charge_of_word(word);
    uintptr_t end = (uintptr_t)p - 2 * sizeof(size_t) + (word & ~(size_t)DP_SIZE_BITS);
    int carve = !(word & DP_NON_MAIN_ARENA) && end == __atomic_load_n(dp_track_main_top, __ATOMIC_RELAXED);
    /* The countdown is positive only while the thread's TLS block is
     * registered with its record (readers sum it through the record): the
     * slow path registers it, thread exit unregisters it and clears the
     * countdown. */
    if (DP_LIKELY(left > 0 && !carve)) {
        __atomic_store_n(&dp_hot.allocs, dp_hot.allocs + 1, __ATOMIC_RELAXED);
        return;
    }
    dp_track_alloc_slow(p, 1);
}

/* 1 when the free needs nothing more (not mmapped, not tracked by the
 * filter's counts, dp_filter_counts); else the caller runs
 * dp_track_free_slow. */
static inline int dp_track_free_quick(void *p, const uint16_t *filter)
{
    return !(((const size_t *)p)[-1] & DP_IS_MMAPPED) &&
           !__atomic_load_n(&filter[dp_filter_slot((uintptr_t)p)], __ATOMIC_RELAXED);
}
/* Called from a pthread key destructor when a thread ends. */
void dp_track_thread_exit(void);
void dp_track_sum(struct dp_totals *t);
/* Slot of an arena pointer seen in the ring, registering it if new (-1 when
 * the table is full). */
int dp_track_arena_slot(void *arena);
void dp_track_fork_prepare(void);
/* child: in a fork child, whose other threads (and their TLS) are gone. */
void dp_track_fork_release(int child);
#endif
