/* The interposition layer: the libc entry points the library replaces and
 * the real ones it forwards to. */
#ifndef DP_SHIM_H
#define DP_SHIM_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct dp_real {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    int (*mallopt)(int, int);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    void *(*mmap64)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    void *(*mremap)(void *, size_t, size_t, int, ...);
    int (*brk)(void *);
    void *(*sbrk)(intptr_t);
    int (*madvise)(void *, size_t, int);
    int (*dlclose)(void *);
};

/* The next definitions (RTLD_NEXT), resolved on first use. */
extern struct dp_real dp_real;

/* Resolves dp_real and sets up tracking; idempotent, called from the first
 * hook and from the constructor. Returns 1 once tracking is ready. */
int dp_shim_ready(void);
/* Re-decides whether calls take the fast path; called whenever
 * dp_child_pending changes. */
void dp_shim_rearm(void);
/* Raises (1) or lowers (0) the walk's gate for a snapshot's walks
 * (heapwalk.h); the snapshot thread's. */
void dp_shim_gate(int up);
#endif
