/* The empty interposer: every allocation entry point forwarded to the next
 * definition (dlsym RTLD_NEXT) and nothing else. Preloading it measures the
 * floor any LD_PRELOAD allocation tool pays: the extra PLT hop, the check that
 * the real functions are resolved, and the bootstrap pool check in free.
 *
 * dlsym itself allocates (calloc for its error state) before the real
 * functions are known, so those first requests are served from a small static
 * pool whose blocks are never returned. */
#include <dlfcn.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define POOL_SIZE (64 * 1024)

static alignas(64) unsigned char pool[POOL_SIZE];
static size_t pool_used;
static int resolving;

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void *(*next_valloc)(size_t);
static void *(*next_pvalloc)(size_t);
static size_t (*next_malloc_usable_size)(void *);

static int in_pool(const void *p)
{
    return (const unsigned char *)p >= pool && (const unsigned char *)p < pool + POOL_SIZE;
}

/* Pool blocks carry their size in the 16 bytes before them, for realloc and
 * malloc_usable_size. */
static void *pool_alloc(size_t n)
{
    size_t need = ((n + 15) & ~(size_t)15) + 16;
    size_t off = __atomic_fetch_add(&pool_used, need, __ATOMIC_RELAXED);
    if (off + need > POOL_SIZE)
        return NULL;
    unsigned char *p = pool + off + 16;
    memcpy(p - 16, &n, sizeof n);
    return p;
}

static size_t pool_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - 16, sizeof n);
    return n;
}

static void resolve(void)
{
    resolving = 1;
    next_malloc = dlsym(RTLD_NEXT, "malloc");
    next_free = dlsym(RTLD_NEXT, "free");
    next_calloc = dlsym(RTLD_NEXT, "calloc");
    next_realloc = dlsym(RTLD_NEXT, "realloc");
    next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = dlsym(RTLD_NEXT, "memalign");
    next_valloc = dlsym(RTLD_NEXT, "valloc");
    next_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    next_malloc_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
    resolving = 0;
}

__attribute__((constructor)) static void init(void)
{
    if (!next_pvalloc)
        resolve();
}

/* True when the caller must be served from the pool: the next functions are
 * being looked up right now. */
static int bootstrap(void)
{
    if (__builtin_expect(next_pvalloc != NULL, 1))
        return 0;
    if (resolving)
        return 1;
    resolve();
    return 0;
}

void *malloc(size_t n)
{
    if (bootstrap())
        return pool_alloc(n);
    return next_malloc(n);
}

void free(void *p)
{
    if (__builtin_expect(in_pool(p), 0))
        return;
    if (bootstrap())
        return;
    next_free(p);
}

void *calloc(size_t n, size_t size)
{
    if (bootstrap()) {
        if (size && n > SIZE_MAX / size)
            return NULL;
        return pool_alloc(n * size); /* static memory is already zero */
    }
    return next_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    int boot = bootstrap();
    if (!boot && __builtin_expect(!in_pool(p), 1))
        return next_realloc(p, n);
    /* During bootstrap only pool blocks exist; a pool block is moved out. */
    void *q = boot ? pool_alloc(n) : next_malloc(n);
    if (q && p) {
        size_t old = pool_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (bootstrap())
        return 12; /* ENOMEM: dlsym does not ask for aligned memory */
    return next_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    if (bootstrap())
        return NULL;
    return next_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    if (bootstrap())
        return NULL;
    return next_memalign(align, n);
}

void *valloc(size_t n)
{
    if (bootstrap())
        return NULL;
    return next_valloc(n);
}

void *pvalloc(size_t n)
{
    if (bootstrap())
        return NULL;
    return next_pvalloc(n);
}

size_t malloc_usable_size(void *p)
{
    if (__builtin_expect(in_pool(p), 0))
        return pool_size(p);
    if (bootstrap())
        return 0;
    return next_malloc_usable_size(p);
}
