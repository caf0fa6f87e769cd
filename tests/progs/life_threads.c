/* Threads hammering every allocation entry point at once, blocks handed
 * between threads through a shared table (so most are freed or realloc'd by
 * a thread that did not allocate them), then thousands of short-lived
 * threads doing the same, and once more from a key destructor that runs
 * after the library's. The program counts what it does itself and prints
 * it as one JSON line; everything is freed before main returns.
 * Usage: life_threads [workers [churn_threads [no-pvalloc]]]
 * (no-pvalloc: for allocators that lack pvalloc, such as jemalloc, whose
 * free would then be handed glibc's blocks) */
#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SLOTS 4096
#define OPS 20000
#define CHURN_OPS 40

struct block {
    void *p;
    size_t usable;
};

static struct block slots[SLOTS];
static int slot_lock[SLOTS];
static uint64_t allocs, frees, bad_usable;
static int use_pvalloc = 1;

static void lock(int i)
{
    while (__atomic_exchange_n(&slot_lock[i], 1, __ATOMIC_ACQUIRE))
        ;
}

static void unlock(int i)
{
    __atomic_store_n(&slot_lock[i], 0, __ATOMIC_RELEASE);
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One new block through entry point `op`; checks malloc_usable_size and the
 * alignment promised. Returns NULL only when the allocation failed. */
static void *one_alloc(unsigned op, size_t size)
{
    void *p = NULL;
    size_t align = size >= 16 ? 16 : 8; /* a tiny block needs no more (jemalloc's are 8-aligned) */
    switch (op % 10) {
    case 0: p = malloc(size); break;
    case 1: p = calloc(size / 8 + 1, 8); size = (size / 8 + 1) * 8; break;
    case 2: p = realloc(NULL, size); break;
    case 3: p = reallocarray(NULL, size / 4 + 1, 4); size = (size / 4 + 1) * 4; break;
    case 4: if (posix_memalign(&p, 64, size)) p = NULL; align = 64; break;
    case 5: p = aligned_alloc(128, (size + 127) & ~(size_t)127); size = (size + 127) & ~(size_t)127; align = 128; break;
    case 6: p = memalign(256, size); align = 256; break;
    case 7: p = valloc(size); align = 4096; break;
    case 8: p = use_pvalloc ? pvalloc(size) : valloc(size); align = 4096; break;
    case 9: p = malloc(size > 2000 ? 200000 + size : size); if (size > 2000) size += 200000; break;
    }
    if (!p)
        return NULL;
    __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
    if (malloc_usable_size(p) < size || (uintptr_t)p % align)
        __atomic_add_fetch(&bad_usable, 1, __ATOMIC_RELAXED);
    memset(p, 0x5a, size < 256 ? size : 256);
    return p;
}

/* Puts a new block in a random slot; whatever was there (most likely some
 * other thread's) is freed, or grown with realloc and put back. */
static void step(uint64_t *s)
{
    uint64_t r = next(s);
    int i = (int)(r % SLOTS);
    size_t size = 1 + (r >> 20) % 3000;
    if ((r >> 40) % 8 == 0) {
        lock(i);
        if (slots[i].p) {
            void *q = realloc(slots[i].p, size * 2);
            if (q) {
                slots[i].p = q;
                slots[i].usable = malloc_usable_size(q);
            }
        }
        unlock(i);
        return;
    }
    void *p = one_alloc((unsigned)(r >> 32), size);
    if (!p) {
        fprintf(stderr, "allocation failed\n");
        exit(3);
    }
    size_t u = malloc_usable_size(p);
    lock(i);
    void *old = slots[i].p;
    slots[i].p = p;
    slots[i].usable = u;
    unlock(i);
    if (old) {
        free(old);
        __atomic_add_fetch(&frees, 1, __ATOMIC_RELAXED);
    }
}

static void *worker(void *arg)
{
    uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
    for (int k = 0; k < OPS; k++)
        step(&s);
    return NULL;
}

/* Created after the library's own key, so its destructor runs after the
 * library's exit handler: the allocations made there come after it. */
static pthread_key_t late_key;

static void late_destructor(void *arg)
{
    uint64_t s = 0x51afd7ed558ccdull * ((uintptr_t)arg + 3);
    step(&s);
}

static void *short_lived(void *arg)
{
    uint64_t s = 0x2545f4914f6cdd1dull * ((uintptr_t)arg + 7);
    for (int k = 0; k < CHURN_OPS; k++)
        step(&s);
    pthread_setspecific(late_key, (void *)((uintptr_t)arg + 1));
    return NULL;
}

static uint64_t held_usable(void)
{
    uint64_t n = 0;
    for (int i = 0; i < SLOTS; i++)
        if (slots[i].p)
            n += slots[i].usable;
    return n;
}

int main(int argc, char **argv)
{
    DRAINPROF_SNAPSHOT("start");
    if (pthread_key_create(&late_key, late_destructor))
        return 4;
    int workers = argc > 1 ? atoi(argv[1]) : 8;
    int churn = argc > 2 ? atoi(argv[2]) : 3000;
    use_pvalloc = !(argc > 3 && !strcmp(argv[3], "no-pvalloc"));
    pthread_t t[64];
    if (workers > 64)
        workers = 64;
    for (int i = 0; i < workers; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i))
            return 4;
    for (int i = 0; i < workers; i++)
        pthread_join(t[i], NULL);
    int created = 0;
    /* Churn: small waves of threads, some detached, so exits overlap with
     * creations and with the other wave's allocations. */
    for (int wave = 0; created < churn; wave++) {
        pthread_t w[4];
        int n = 0;
        for (; n < 4 && created < churn; n++, created++)
            if (pthread_create(&w[n], NULL, short_lived, (void *)(uintptr_t)created))
                return 4;
        for (int i = 0; i < n; i++)
            pthread_join(w[i], NULL);
    }
    uint64_t held = held_usable();
    DRAINPROF_SNAPSHOT("held");
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            free(slots[i].p);
            frees++;
            slots[i].p = NULL;
        }
    }
    printf("{\"workers\":%d,\"churn\":%d,\"allocs\":%llu,\"frees\":%llu,\"held\":%llu,\"bad_usable\":%llu}\n",
           workers, created, (unsigned long long)allocs, (unsigned long long)frees, (unsigned long long)held,
           (unsigned long long)bad_usable);
    return bad_usable ? 5 : 0;
}
