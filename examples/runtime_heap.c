/* Example 7: a runtime-managed heap, invisible to malloc.
 *
 * Garbage-collected runtimes, JITs and custom pools map their own memory and
 * carve objects out of it. None of it passes through malloc: mallinfo2() and
 * malloc_stats() do not see it, and a malloc-only profiler would find the
 * process lean while its RSS grows. libdrainprof records such mappings as
 * regions, with the stack of the mmap call, and leaves them out of the heap
 * figures.
 *
 * The program reserves a 128 MiB "GC heap", bump-allocates 48-byte objects
 * in it until 40 MiB are in use, and also keeps a few malloc'd objects. It
 * prints the heap's address and size, the bytes it carved, the bytes it
 * holds through malloc, and its RSS (/proc/self/statm), as one JSON line. */
#include <drainprof.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP_RESERVE (128ul << 20)
#define HEAP_USED (40ul << 20)
#define OBJ 48
#define MALLOCED 1000
#define MALLOC_SIZE 512

struct gc_heap {
    char *base, *next, *end;
};

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

/* The region's site in the report: the runtime's heap set-up. */
__attribute__((noinline)) static int gc_heap_reserve(struct gc_heap *h, size_t size)
{
    h->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (h->base == MAP_FAILED)
        return -1;
    h->next = h->base;
    h->end = h->base + size;
    return 0;
}

/* Bump allocation, as in a GC nursery: the object's pages become resident
 * when the object is written. */
static void *gc_alloc(struct gc_heap *h, size_t n)
{
    if ((size_t)(h->end - h->next) < n)
        return NULL;
    void *p = h->next;
    h->next += n;
    memset(p, 'o', n);
    return p;
}

int main(void)
{
    struct gc_heap heap;
    static void *side[MALLOCED];
    if (gc_heap_reserve(&heap, HEAP_RESERVE))
        return 1;
    while ((size_t)(heap.next - heap.base) + OBJ <= HEAP_USED)
        if (!gc_alloc(&heap, OBJ))
            return 1;
    for (int i = 0; i < MALLOCED; i++)
        if (!(side[i] = calloc(1, MALLOC_SIZE)))
            return 1;
    DRAINPROF_SNAPSHOT("allocated");
    printf("{\"region_addr\":%lu,\"region_bytes\":%lu,\"carved_bytes\":%lu,\"malloc_live_bytes\":%d,\"rss\":%ld}\n",
           (unsigned long)(uintptr_t)heap.base, HEAP_RESERVE, (unsigned long)(heap.next - heap.base),
           MALLOCED * MALLOC_SIZE, rss_bytes());
    return 0;
}
