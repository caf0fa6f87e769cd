/* Interposed allocation and mapping functions. Each one forwards to the next
 * definition and tells the tracker what happened; nothing else lives here. */
#include "shim.h"
#include "dp.h"
#include "glibc.h"
#include "mem.h"
#include "modules.h"
#include "filter.h"
#include "heapwalk.h"
#include "regions.h"
#include "track.h"
#include "unwind.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct dp_real dp_real;
int dp_tracking = 1;

/* dlsym allocates (calloc) while we resolve: those first requests are served
 * from this pool and never reach glibc. The pool's slots in the tracked
 * filter count one for good, so free()'s fast path, which tests only the
 * filter, sends its blocks to the slow path without a test of its own. A
 * pool block's header word holds its size shifted left 3 with glibc's
 * IS_MMAPPED bit set, which keeps realloc's tail path off it too. */
#define POOL_SIZE (64 * 1024)
static char pool[POOL_SIZE] __attribute__((aligned(64)));
static size_t pool_used;
static int state; /* 0 = unresolved, 1 = resolving, 2 = ready */

static int in_pool(const void *p)
{
    return (uintptr_t)p - (uintptr_t)pool < POOL_SIZE;
}

static void *pool_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t used = __atomic_load_n(&pool_used, __ATOMIC_RELAXED), start;
    do {
        start = (used + sizeof(size_t) + align - 1) & ~(align - 1);
        if (start + n > POOL_SIZE || start + n < start)
            return NULL;
    } while (!__atomic_compare_exchange_n(&pool_used, &used, start + n, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    ((size_t *)(pool + start))[-1] = n << 3 | DP_IS_MMAPPED;
    return pool + start;
}

#define RESOLVE(name) dp_real.name = (__typeof__(dp_real.name))dlsym(RTLD_NEXT, #name)

/* Cheap enough for every call: one load once resolved. */
static inline int ready(void)
{
    return DP_LIKELY(__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2) || dp_shim_ready();
}

int dp_shim_ready(void)
{
    if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2)
        return 1;
    int expected = 0;
    if (!__atomic_compare_exchange_n(&state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return 0; /* being resolved (by dlsym's own calls, or another thread) */
    int saved = errno;
    dp_in_hook++;
    RESOLVE(malloc);
    RESOLVE(free);
    RESOLVE(calloc);
    RESOLVE(realloc);
    RESOLVE(reallocarray);
    RESOLVE(posix_memalign);
    RESOLVE(aligned_alloc);
    RESOLVE(memalign);
    RESOLVE(valloc);
    RESOLVE(pvalloc);
    RESOLVE(malloc_usable_size);
    RESOLVE(mallopt);
    RESOLVE(mmap);
    RESOLVE(mmap64);
    RESOLVE(munmap);
    RESOLVE(mremap);
    RESOLVE(brk);
    RESOLVE(sbrk);
    RESOLVE(madvise);
    RESOLVE(dlclose);
    dp_tracking = dp_process_profiled();
    if (dp_tracking) {
        char name[64];
        int glibc = dp_glibc_detect((void *)dp_real.malloc, name, sizeof name);
        dp_mem_pool_init();
        if (dp_filter_init() == 0)
            dp_filter_hold((uintptr_t)pool, POOL_SIZE);
        /* Arenas are walked only where the probe found their layout;
         * otherwise glibc's blocks are counted as another allocator's. */
        int walkable = glibc && dp_glibc_probe(dp_real.malloc, dp_real.free) == 0;
        dp_track_init(walkable, dp_real.malloc_usable_size);
    }
    dp_in_hook--;
    errno = saved;
    __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
    dp_shim_rearm();
    return 1;
}

/* How calls go: 0 until the real functions are resolved (and while a fork
 * child waits to start its sampler); 1 forward, tracking (if at all)
 * through the slow path; 2 glibc's arenas, the inline fast path; 3 the
 * same while the walk's gate is up, when malloc_full and realloc_full
 * leave their calls to the cold paths, which pass the gate (heapwalk.h):
 * the only gate test the full paths need is the one they make anyway. */
static int hot;
/* Every bit set: whenever hot is not 2, fast_filter points here and every
 * free takes the cold path, with no test of its own on the fast one. Read
 * only, so it costs file pages only where frees look. */
static const uint64_t all_maybe[DP_FILTER_WORDS] = {[0 ... DP_FILTER_WORDS - 1] = ~(uint64_t)0};
/* dp_filter_bits while hot is 2 (so the gate is down), else all_maybe:
 * free's one test of both. */
static const uint64_t *fast_filter = all_maybe;
static int gated; /* dp_shim_gate's */

void dp_shim_rearm(void)
{
    int h = 0;
    if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) == 2) {
        if (!dp_tracking)
            h = 1;
        else if (!__atomic_load_n(&dp_child_pending, __ATOMIC_ACQUIRE))
            h = dp_track_glibc && dp_filter_bits ? 2 : 1;
    }
    int open = h == 2 && !__atomic_load_n(&gated, __ATOMIC_RELAXED);
    __atomic_store_n(&fast_filter, open ? dp_filter_bits : all_maybe, __ATOMIC_RELEASE);
    __atomic_store_n(&hot, h == 2 && !open ? 3 : h, __ATOMIC_RELEASE);
}

/* Up: every call that may take an arena lock passes the gate (heapwalk.h):
 * the tail paths are parked, free's fast path is closed, and the rest pass
 * it on their way to glibc. Raised before the walk's gate, lowered after. */
void dp_shim_gate(int up)
{
    if (!up)
        dp_walk_gate(0);
    __atomic_store_n(&gated, up, __ATOMIC_RELAXED);
    dp_track_park(up);
    dp_shim_rearm();
    if (up)
        dp_walk_gate(1);
}

/* Off the fast path: the first calls, and a fork child's first allocation,
 * which starts the child's sampler. Returns 1 once the real functions can
 * be called. */
static __attribute__((noinline)) int warm_up(void)
{
    if (!dp_shim_ready())
        return 0;
    if (dp_tracking && !dp_in_hook && __atomic_load_n(&dp_child_pending, __ATOMIC_ACQUIRE))
        dp_child_start();
    return 1;
}

#define HOT() (__atomic_load_n(&hot, __ATOMIC_RELAXED))
#define WARM() (DP_LIKELY(HOT()) || warm_up())
/* For the mapping family: tracking is skipped while the library itself
 * runs (dp_in_hook). The allocation slow paths check this themselves. */
#define TRACKING() (!dp_in_hook && DP_LIKELY(dp_tracking))

/* After a successful call that returned p. */
static inline void *tracked(void *p)
{
    if (DP_UNLIKELY(!p))
        return p;
    return DP_LIKELY(HOT() >= 2) ? dp_track_alloc(p) : dp_track_alloc_slow(p, 0, 0);
}

static __attribute__((noinline)) void *malloc_cold(size_t n)
{
    if (!WARM())
        return pool_alloc(n, 16);
    dp_walk_pass();
    return tracked(dp_real.malloc(n));
}

/* Everything the tail path (track.h) leaves: the first calls, due calls,
 * large requests, and threads of the main arena. With the gate up (hot 3)
 * malloc_cold passes it. */
static __attribute__((noinline)) void *malloc_full(size_t n)
{
    if (DP_UNLIKELY(HOT() != 2))
        return malloc_cold(n);
    void *p = dp_real.malloc(n);
    if (DP_UNLIKELY(!p))
        return p;
    return dp_track_alloc_as(p, 1, n, 1);
}

/* A call the tail path charged and found due. */
static __attribute__((noinline)) void *malloc_due(size_t n)
{
    dp_walk_pass();
    return dp_track_alloc_due(dp_real.malloc(n), n);
}

DP_EXPORT void *malloc(size_t n)
{
    enum dp_tail t = dp_track_malloc_tail(n);
    if (DP_LIKELY(t == DP_TAIL_DONE))
        return dp_real.malloc(n);
    return t == DP_TAIL_DUE ? malloc_due(n) : malloc_full(n);
}

/* While the gate is up, also the frees the fast path would forward. */
static __attribute__((noinline)) void free_cold(void *p)
{
    if (!p || in_pool(p))
        return;
    dp_walk_pass_chunk(p);
    if (DP_LIKELY(HOT() >= 2) && dp_track_free_quick(p, dp_filter_bits)) {
        dp_real.free(p);
        return;
    }
    if (WARM())
        dp_track_free_slow(p);
    dp_real.free(p);
}

DP_EXPORT void free(void *p)
{
    if (DP_LIKELY(dp_track_free_quick(p, __atomic_load_n(&fast_filter, __ATOMIC_RELAXED)))) {
        dp_real.free(p);
        return;
    }
    free_cold(p);
}

DP_EXPORT void *calloc(size_t n, size_t size)
{
    if (DP_UNLIKELY(!WARM())) {
        size_t total;
        if (__builtin_mul_overflow(n, size, &total))
            return NULL;
        return pool_alloc(total, 16); /* static pool memory is already zero */
    }
    dp_walk_pass();
    return tracked(dp_real.calloc(n, size));
}

/* Grows a pool block into real memory. */
static void *realloc_from_pool(void *old, size_t n)
{
    void *p = malloc(n);
    if (p) {
        size_t had = ((size_t *)old)[-1] >> 3;
        memcpy(p, old, had < n ? had : n);
    }
    return p;
}

/* The old block is un-counted before the call (while we still own it) and
 * counted again if the call fails and leaves it in place. */
static __attribute__((noinline)) void *realloc_cold(void *old, size_t n)
{
    if (DP_UNLIKELY(old && in_pool(old)))
        return realloc_from_pool(old, n);
    if (DP_UNLIKELY(!WARM()))
        return old ? NULL : pool_alloc(n, 16);
    if (old && !dp_track_free_quick(old, __atomic_load_n(&fast_filter, __ATOMIC_RELAXED)))
        dp_track_free_slow(old);
    if (old)
        dp_walk_pass_chunk(old);
    else
        dp_walk_pass();
    void *p = dp_real.realloc(old, n);
    if (!p && old && n)
        tracked(old); /* failed: the old block stays */
    return tracked(p);
}

/* An untracked chunk, whose free side needs nothing (frees are derived,
 * an untracked mmapped chunk was never counted), so a failed call has
 * nothing to undo. Pool blocks fail the filter test and take the cold
 * path, as every block does while the gate is up (fast_filter), and
 * realloc_cold passes it. */
static __attribute__((noinline)) void *realloc_full(void *old, size_t n)
{
    if (DP_UNLIKELY(!old) || DP_UNLIKELY(!dp_track_free_quick(old, __atomic_load_n(&fast_filter, __ATOMIC_RELAXED))))
        return realloc_cold(old, n);
    void *p = dp_real.realloc(old, n);
    if (DP_UNLIKELY(!p))
        return p;
    return dp_track_alloc_as(p, 1, n, 0);
}

/* The old block is an untracked thread-arena chunk, as in realloc_full. */
static __attribute__((noinline)) void *realloc_due(void *old, size_t n)
{
    dp_walk_pass_chunk(old);
    return dp_track_alloc_due(dp_real.realloc(old, n), n);
}

DP_EXPORT void *realloc(void *old, size_t n)
{
    enum dp_tail t = dp_track_realloc_tail(old, n);
    if (DP_LIKELY(t == DP_TAIL_DONE))
        return dp_real.realloc(old, n);
    return t == DP_TAIL_DUE ? realloc_due(old, n) : realloc_full(old, n);
}

DP_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, total);
}

DP_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    if (DP_UNLIKELY(!WARM())) {
        void *p = pool_alloc(n, align);
        if (!p)
            return ENOMEM;
        *out = p;
        return 0;
    }
    dp_walk_pass();
    int rc = dp_real.posix_memalign(out, align, n);
    if (rc == 0)
        tracked(*out);
    return rc;
}

DP_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    if (DP_UNLIKELY(!WARM()))
        return pool_alloc(n, align);
    dp_walk_pass();
    return tracked(dp_real.aligned_alloc(align, n));
}

DP_EXPORT void *memalign(size_t align, size_t n)
{
    if (DP_UNLIKELY(!WARM()))
        return pool_alloc(n, align);
    dp_walk_pass();
    return tracked(dp_real.memalign(align, n));
}

DP_EXPORT void *valloc(size_t n)
{
    if (DP_UNLIKELY(!WARM()))
        return pool_alloc(n, 4096);
    dp_walk_pass();
    return tracked(dp_real.valloc(n));
}

DP_EXPORT void *pvalloc(size_t n)
{
    if (DP_UNLIKELY(!WARM()))
        return pool_alloc((n + 4095) & ~(size_t)4095, 4096);
    /* With an allocator that lacks pvalloc (jemalloc), this is glibc's, as
     * it would be without us: the program keeps its own behaviour. */
    dp_walk_pass();
    return tracked(dp_real.pvalloc(n));
}

DP_EXPORT size_t malloc_usable_size(void *p)
{
    if (p && in_pool(p))
        return ((size_t *)p)[-1] >> 3;
    if (DP_UNLIKELY(!ready()))
        return 0;
    return dp_real.malloc_usable_size(p);
}

/* A lower mmap threshold makes requests the tail path forwards mmapped
 * chunks: its bound comes down first. */
DP_EXPORT int mallopt(int param, int value)
{
    if (DP_UNLIKELY(!ready() || !dp_real.mallopt))
        return 0;
    if (param == M_MMAP_THRESHOLD && dp_tracking)
        dp_track_lower_tail_bound(value < 0 ? 0 : (size_t)value);
    return dp_real.mallopt(param, value);
}

/* The mapping family: glibc's malloc never comes through here (its calls are
 * internal), so what we see is the application's or its runtime's. */
/* Calls that arrive while another thread is still resolving. */
static int unresolved(const void *fn)
{
    if (DP_LIKELY(ready()) || fn)
        return 0;
    errno = EAGAIN;
    return 1;
}

static void *do_mmap(void *(*real)(void *, size_t, int, int, int, off_t), void *addr, size_t len, int prot,
                     int flags, int fd, off_t off)
{
    /* Made for us (libunwind's per-thread trace cache, which it writes
     * whole at once): populated in one call, not page fault by page fault.
     * Only small ones: a reservation must stay a reservation. */
    int ours = dp_in_hook && (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) && !(flags & MAP_NORESERVE) &&
               len <= ((size_t)1 << 20);
    void *p = real(addr, len, prot, ours ? flags | MAP_POPULATE : flags, fd, off);
    if (p == MAP_FAILED || !ready())
        return p;
    if (TRACKING()) {
        int saved = errno;
        dp_in_hook++;
        dp_regions_map((uintptr_t)p, len, prot, flags, fd);
        dp_in_hook--;
        errno = saved;
    } else if (dp_in_hook && dp_tracking) {
        dp_mem_adopt((uintptr_t)p, len); /* made for us: libunwind's caches */
    }
    return p;
}

DP_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.mmap)))
        return MAP_FAILED;
    return do_mmap(dp_real.mmap, addr, len, prot, flags, fd, off);
}

DP_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.mmap64)))
        return MAP_FAILED;
    return do_mmap(dp_real.mmap64, addr, len, prot, flags, fd, off);
}

DP_EXPORT int munmap(void *addr, size_t len)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.munmap)))
        return -1;
    int rc = dp_real.munmap(addr, len);
    if (rc == 0)
        dp_unwind_unmapped();
    if (rc == 0 && ready() && dp_tracking) {
        /* Ours or not, whoever unmaps it (libunwind frees its trace cache
         * at thread exit, outside our hooks). */
        dp_mem_forget((uintptr_t)addr, len);
        if (!dp_in_hook) {
            int saved = errno;
            dp_in_hook++;
            dp_regions_unmap((uintptr_t)addr, len);
            dp_in_hook--;
            errno = saved;
        }
    }
    return rc;
}

DP_EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    if (DP_UNLIKELY(unresolved((const void *)dp_real.mremap)))
        return MAP_FAILED;
    void *p = dp_real.mremap(old, old_len, new_len, flags, new_addr);
    if (p != MAP_FAILED)
        dp_unwind_unmapped();
    if (p != MAP_FAILED && ready() && TRACKING()) {
        int saved = errno;
        dp_in_hook++;
        /* The old range stays mapped after MREMAP_DONTUNMAP, and after a
         * zero old_len (a second mapping of shared pages). */
        int old_stays = (flags & MREMAP_DONTUNMAP) || old_len == 0;
        dp_regions_remap((uintptr_t)old, old_len, (uintptr_t)p, new_len, old_stays);
        dp_in_hook--;
        errno = saved;
    }
    return p;
}

DP_EXPORT int brk(void *addr)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.brk)))
        return -1;
    int rc = dp_real.brk(addr);
    if (rc == 0 && ready() && TRACKING())
        dp_regions_note_brk();
    return rc;
}

DP_EXPORT void *sbrk(intptr_t inc)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.sbrk)))
        return (void *)-1;
    void *p = dp_real.sbrk(inc);
    if (inc && p != (void *)-1 && ready() && TRACKING())
        dp_regions_note_brk();
    return p;
}

DP_EXPORT int madvise(void *addr, size_t len, int advice)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.madvise)))
        return -1;
    int rc = dp_real.madvise(addr, len, advice);
    if (rc == 0 && ready() && TRACKING())
        dp_regions_note_madvise(advice, len);
    return rc;
}

/* Remember the objects before one may go, so stacks that point into it can
 * still be symbolized offline. */
DP_EXPORT int dlclose(void *handle)
{
    if (DP_UNLIKELY(unresolved((const void *)dp_real.dlclose)))
        return -1;
    if (ready() && TRACKING()) {
        dp_in_hook++;
        dp_modules_refresh();
        dp_in_hook--;
    }
    int rc = dp_real.dlclose(handle);
    dp_unwind_flush(); /* rules of code that may be gone */
    return rc;
}
