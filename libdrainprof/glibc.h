/* What we read of glibc malloc's own structures (2.26 and later, 64-bit).
 * Chunk headers are read on the hot path; arena structures only by the
 * sampler. Nothing here is read when malloc is another allocator's. */
#ifndef DP_GLIBC_H
#define DP_GLIBC_H
#include <stddef.h>
#include <stdint.h>

#define DP_PREV_INUSE 0x1u
#define DP_IS_MMAPPED 0x2u
#define DP_NON_MAIN_ARENA 0x4u
#define DP_SIZE_BITS 0x7u
/* Non-main arena heaps are aligned to their maximum size (2 x the largest
 * mmap threshold on 64-bit): the heap_info at that boundary names the arena. */
#define DP_HEAP_MAX ((uintptr_t)64 << 20)

struct dp_chunk {
    size_t csize;  /* chunk size, header included */
    size_t usable; /* what malloc_usable_size reports */
    int mmapped;
    void *arena;   /* the arena (malloc_state) pointer; NULL for main or mmapped */
};

/* Decodes the header of the chunk that user pointer p belongs to. */
static inline void dp_chunk_decode(const void *p, struct dp_chunk *c)
{
    size_t word = *(const size_t *)((uintptr_t)p - sizeof(size_t));
    c->csize = word & ~(size_t)DP_SIZE_BITS;
    c->mmapped = (word & DP_IS_MMAPPED) != 0;
    c->usable = c->csize - (c->mmapped ? 2 * sizeof(size_t) : sizeof(size_t));
    c->arena = NULL;
    if (!c->mmapped && (word & DP_NON_MAIN_ARENA)) {
        uintptr_t heap = ((uintptr_t)p - 2 * sizeof(size_t)) & ~(DP_HEAP_MAX - 1);
        c->arena = *(void *const *)heap;
    }
}

/* Offsets in struct malloc_state, unchanged from glibc 2.26 (tcache) through
 * 2.40 on 64-bit: mutex, flags, have_fastchunks, fastbinsY[10] come first;
 * the struct ends with system_mem and max_system_mem. */
#define DP_OFF_FASTBINS 16
#define DP_NFASTBINS 10
#define DP_OFF_TOP 96
#define DP_OFF_SYSTEM_MEM 2184
#define DP_STATE_SIZE 2200
#define DP_MINSIZE 32
#define DP_TCACHE_MAX_CHUNK 1040 /* 64 tcache bins of 16-byte steps from 32 */
/* Larger requests never come from a tcache (2.26-2.40 cap it there), so
 * their chunk is from the calling thread's own arena. */
#define DP_TCACHE_MAX_REQUEST (DP_TCACHE_MAX_CHUNK - 8)
#define DP_MMAP_THRESHOLD_DEFAULT ((size_t)128 << 10) /* glibc's M_MMAP_THRESHOLD to start with */

/* heap_info, the header of every non-main arena heap. */
struct dp_heap_info {
    void *ar_ptr;
    struct dp_heap_info *prev;
    size_t size;
    size_t mprotect_size;
};

struct dp_arena_info {
    void *ar;           /* malloc_state address */
    int main;
    size_t system_mem;  /* glibc's own count: malloc_info's system current */
    uintptr_t top;      /* top chunk address */
    size_t top_size;
    uintptr_t base;     /* main arena: start of the brk heap */
};

/* 1 when `malloc` resolves to glibc's; else the other allocator's object
 * name is copied to name. */
int dp_glibc_detect(void *next_malloc, char *name, size_t cap);

/* Finds glibc's main_arena by freeing a chunk into the unsorted bin, whose
 * links point into the arena. Must run before other threads allocate.
 * Returns 0 when found and validated. */
int dp_glibc_probe(void *(*real_malloc)(size_t), void (*real_free)(void *));

/* Arenas in glibc's ring, main first; returns how many (0 if unknown). */
int dp_glibc_arenas(struct dp_arena_info *out, int max);

/* The heaps of a non-main arena whose top chunk is `top`: fills start/size
 * pairs, returns the count. */
int dp_glibc_arena_heaps(uintptr_t top, uintptr_t *start, size_t *size, int max);

/* Copies len bytes at addr, or returns -1 if any of it is unmapped. */
int dp_safe_read(uintptr_t addr, void *buf, size_t len);

/* glibc's arena mutex, a futex word at the start of malloc_state (0 free,
 * 1 taken, 2 taken with waiters). Trylock returns 1 when it took the lock;
 * unlock returns 1 when it woke a waiter. */
void dp_glibc_arena_lock(void *ar);
int dp_glibc_arena_trylock(void *ar);
int dp_glibc_arena_unlock(void *ar);

/* The value glibc (2.34+) stores in the second word of a tcache-parked
 * chunk, learned by the probe (0 if unknown). */
uintptr_t dp_glibc_tcache_key(void);
/* sizeof(heap_info) for the running glibc; 1 when fastbin links are
 * mangled (safe-linking, 2.32+). Valid after dp_glibc_probe. */
size_t dp_glibc_heap_info_size(void);
int dp_glibc_safe_linking(void);

/* The lowest mmap threshold glibc starts with: its default (128 KiB; it
 * only rises on its own), or lower where MALLOC_MMAP_THRESHOLD_ or
 * GLIBC_TUNABLES' glibc.malloc.mmap_threshold set it so. mallopt can lower
 * it later; the shim sees those calls. */
size_t dp_glibc_mmap_threshold_floor(void);

/* The main arena's malloc_state address, or NULL when the probe failed. */
void *dp_glibc_main_arena(void);
/* &main_arena.top (read racily on the hot path), or NULL. */
uintptr_t *dp_glibc_main_top(void);
#endif
