/* Live-memory accounting: what the program holds, per glibc arena, for
 * mmapped chunks and per page. Called by the shim only; knows nothing of
 * files or /proc.
 *
 * Counters are per thread (each thread adds to its own record, readers sum
 * all records), so the hot path takes no lock. A record outlives its thread
 * and is handed to the next new thread: counts are deltas, the sum stays
 * right whichever thread adds to it. */
#ifndef DP_TRACK_H
#define DP_TRACK_H
#include <stddef.h>
#include <stdint.h>

#define DP_MAX_ARENAS 256                /* slot 0 = main arena */
#define DP_SLOT_MMAP DP_MAX_ARENAS       /* glibc's mmapped chunks */
#define DP_SLOT_FOREIGN (DP_MAX_ARENAS + 1) /* another allocator's blocks */
#define DP_NSLOTS (DP_MAX_ARENAS + 2)
#define DP_LARGE_CHUNK ((size_t)128 << 10) /* glibc's default M_MMAP_THRESHOLD */

struct dp_slot_totals {
    int64_t live_bytes;  /* usable bytes of live allocations */
    int64_t live_chunks;
    int64_t chunk_bytes; /* whole chunk sizes of the same (derived) */
};

struct dp_totals {
    struct dp_slot_totals slot[DP_NSLOTS];
    int narenas;          /* arena slots in use, main included */
    void *arena[DP_MAX_ARENAS];
    int64_t large_count, large_bytes; /* live non-mmapped chunks >= DP_LARGE_CHUNK */
    uint64_t allocs, frees;
    uint64_t threads;
};

/* glibc = 1: chunk headers are read; 0: only usable_size() is used. */
void dp_track_init(int glibc, size_t (*usable_size)(void *));
void dp_track_alloc(void *p);
void dp_track_free(void *p);
/* Called from a pthread key destructor when a thread ends. */
void dp_track_thread_exit(void);
void dp_track_sum(struct dp_totals *t);
/* Slot of an arena pointer seen in the ring, registering it if new (-1 when
 * the table is full). */
int dp_track_arena_slot(void *arena);
void dp_track_fork_prepare(void);
void dp_track_fork_release(void);
extern int dp_track_glibc;
#endif
