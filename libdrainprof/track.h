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
/* malloc requests below it cannot be mmapped chunks (0: the tail path is
 * off); read racily. */
extern size_t dp_track_tail_bound;

/* Everything but the common case below: a thread's first call, another
 * allocator, mmapped chunks, carves from the top, sampled and tracked
 * allocations. Does nothing while the library itself runs (dp_in_hook) or
 * in a process not profiled; runs with dp_in_hook raised. charge: what the
 * countdown takes for p (0: its header word, as dp_track_alloc charges);
 * taken: the caller already took it. Returns p, so the shim can end with
 * a tail call: every frame left on the stack is a step for the unwinder
 * when the call is sampled. */
void *dp_track_alloc_slow(void *p, size_t charge, int taken);
void dp_track_free_slow(void *p);

/* malloc and realloc charge the countdown the request plus a header's
 * worth, known before the call, so most calls can be forwarded as a tail
 * call; other calls are charged their chunk's header word (sites.h). A
 * sample records its charge, so its weight stays exact. */
#define DP_MALLOC_CHARGE(n) ((n) + 16)

/* p: a thread-arena chunk malloc returned the thread, too large for a
 * tcache: the thread's arena is a thread arena, p's. */
void dp_track_learn_tail(const void *p);

/* park = 1: every thread's tail path is turned off (tail_max 0), and stays
 * off until dp_track_park(0) turns it back on in the threads that had it:
 * the tail path forwards a call without the shim's other paths, so without
 * passing heapwalk.h's gate. Called by the snapshot around its walks. */
void dp_track_park(int park);

/* The common case of an arena chunk, inline in the shim once glibc's
 * arenas are known: one header read, a call count, the carve test and the
 * sampling countdown (free: the tracked filter only, no count: a snapshot
 * derives frees from calls and what is live). Anything
 * else goes to the slow path, which redoes the whole accounting. The
 * library's own calls (dp_in_hook) may be counted here; they are never
 * tracked. by_request: charged DP_MALLOC_CHARGE(n), else the header word;
 * learn: n is malloc's request, from which the thread learns that its
 * arena is a thread arena (realloc stays in the old chunk's arena). Both
 * are constants at each call site. */
static inline __attribute__((always_inline)) void *dp_track_alloc_as(void *p, int by_request, size_t n, int learn)
{
    size_t word = ((const size_t *)p)[-1];
    if (DP_UNLIKELY(word & DP_IS_MMAPPED))
        return dp_track_alloc_slow(p, 0, 0);
    size_t charge = by_request ? DP_MALLOC_CHARGE(n) : dp_sites_charge_of_word(word);
    /* The countdown is positive only while the thread's TLS block is
     * registered with its record (readers sum it through the record): the
     * slow path registers it, thread exit unregisters it and clears the
     * countdown. */
    if (DP_UNLIKELY(!dp_charge(&dp_hot.sample_left, (int64_t)charge)))
        return dp_track_alloc_slow(p, charge, 1);
    if (word & DP_NON_MAIN_ARENA) {
        if (DP_UNLIKELY(learn && n > DP_TCACHE_MAX_REQUEST && !dp_hot.tail_max))
            dp_track_learn_tail(p);
    } else {
        uintptr_t end = (uintptr_t)p - 2 * sizeof(size_t) + (word & ~(size_t)DP_SIZE_BITS);
        if (DP_UNLIKELY(end == __atomic_load_n(dp_track_main_top, __ATOMIC_RELAXED)))
            return dp_track_alloc_slow(p, charge, 1);
    }
    dp_count_one(&dp_hot.allocs);
    return p;
}

static inline void *dp_track_alloc(void *p)
{
    return dp_track_alloc_as(p, 0, 0, 0);
}

/* What the tail path (below) did with a call. */
enum dp_tail { DP_TAIL_FULL, DP_TAIL_DUE, DP_TAIL_DONE };

/* Charges a call the tail path would forward and counts it while it is not
 * due. A due call stays charged: the full path then must not charge it
 * again (dp_track_alloc_slow with taken). */
static inline __attribute__((always_inline)) enum dp_tail tail_charge(struct dp_thread_hot *t, size_t n)
{
    if (DP_UNLIKELY(!dp_charge(&t->sample_left, DP_MALLOC_CHARGE(n))))
        return DP_TAIL_DUE;
    dp_count_one(&t->allocs);
    return DP_TAIL_DONE;
}

/* The tail path: DP_TAIL_DONE when malloc(n) needs nothing after the call,
 * so it is counted and charged here and forwarded as is. That holds in a
 * thread whose arena is a thread arena (tail_max is 0 until a chunk no
 * tcache can hand out showed that), for requests below the lowest mmap
 * threshold in force (dp_track_tail_bound): such a call can neither carve
 * the main arena's top nor return an mmapped chunk, the only two things the
 * full path would act on, bar glibc's last resorts when an arena cannot
 * grow (docs/performance.md). DP_TAIL_DUE: charged and due, for the slow
 * path; DP_TAIL_FULL: neither charged nor counted. tail_max is non-zero only
 * while the fast path is on and the thread's countdown positive only while
 * its TLS block is registered. */
static inline enum dp_tail dp_track_malloc_tail(size_t n)
{
    struct dp_thread_hot *t = &dp_hot;
    if (!dp_below(n, &t->tail_max))
        return DP_TAIL_FULL;
    return tail_charge(t, n);
}

/* realloc's tail path, the same for an untracked chunk of a thread arena
 * (glibc reallocs within the old chunk's arena, so the result cannot be
 * carved from the main arena's top) and a request of at least a byte
 * (realloc(p, 0) frees). A NULL old fails the filter test (filter.h). A
 * call that fails leaves the old block in place, counted as a call. */
static inline enum dp_tail dp_track_realloc_tail(void *old, size_t n)
{
    struct dp_thread_hot *t = &dp_hot;
    if (n == 0 || !dp_below(n, &t->tail_max))
        return DP_TAIL_FULL;
    /* tail_max is non-zero only while the fast path is on, so is the filter. */
    if (dp_filter_maybe((uintptr_t)old))
        return DP_TAIL_FULL;
    if ((((const size_t *)old)[-1] & (DP_IS_MMAPPED | DP_NON_MAIN_ARENA)) != DP_NON_MAIN_ARENA)
        return DP_TAIL_FULL;
    return tail_charge(t, n);
}

/* After a call the tail path charged and found due (p: its result). A
 * call that failed gives its charge back. */
static inline void *dp_track_alloc_due(void *p, size_t n)
{
    if (DP_UNLIKELY(!p)) {
        dp_hot.sample_left += (int64_t)DP_MALLOC_CHARGE(n);
        return p;
    }
    return dp_track_alloc_slow(p, DP_MALLOC_CHARGE(n), 1);
}

/* Lowers dp_track_tail_bound for a new mmap threshold (mallopt), in every
 * registered thread too; called before glibc's own mallopt. */
void dp_track_lower_tail_bound(size_t threshold);

/* 1 when the free needs nothing more: p is not tracked by the filter's
 * bits (dp_filter_bits); else the caller runs dp_track_free_slow. An
 * arena chunk's free is derived; an mmapped chunk is counted only while it
 * is tracked (account_mmapped), so one the filter does not know was never
 * counted. NULL and the shim's bootstrap pool count one for good. */
static inline int dp_track_free_quick(void *p, const uint64_t *filter)
{
    return !dp_filter_maybe_in(filter, (uintptr_t)p);
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
