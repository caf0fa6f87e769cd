/* Example 6: MADV_FREE vs MADV_DONTNEED.
 *
 * Allocators return memory to the kernel with madvise. MADV_DONTNEED drops
 * the pages at once: RSS falls. MADV_FREE (jemalloc, Go 1.12-1.15, and
 * others) only marks them: they stay in RSS, shown by the kernel as LazyFree,
 * until memory runs short, when the kernel takes them without any swap I/O.
 * A process using MADV_FREE can look 64 MB bigger than it is.
 *
 * The program maps two 64 MiB buffer pools, fills both, then gives one back
 * with MADV_FREE and the other with MADV_DONTNEED. It prints what it
 * released and its own RSS and LazyFree (/proc/self/smaps_rollup) after
 * each step, as one JSON line, and keeps both mappings until exit. */
#include <drainprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define POOL (64ul << 20)

/* A field of /proc/self/smaps_rollup in bytes, or -1. */
static long rollup(const char *field)
{
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':') {
            kb = strtol(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* Named so the report's region stacks point here. */
__attribute__((noinline)) static char *map_pool(void)
{
    char *p = mmap(NULL, POOL, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 'p', POOL);
    return p;
}

int main(void)
{
    char *lazy = map_pool(), *eager = map_pool();
    if (!lazy || !eager)
        return 1;
    long rss_full = rollup("Rss");
    if (madvise(lazy, POOL, MADV_FREE)) {
        perror("madvise(MADV_FREE)");
        return 1;
    }
    long rss_after_free = rollup("Rss"), lazyfree = rollup("LazyFree");
    if (madvise(eager, POOL, MADV_DONTNEED)) {
        perror("madvise(MADV_DONTNEED)");
        return 1;
    }
    long rss_after_dontneed = rollup("Rss");
    DRAINPROF_SNAPSHOT("released");
    printf("{\"released_each\":%lu,\"lazy_addr\":%lu,\"eager_addr\":%lu,\"rss_full\":%ld,"
           "\"rss_after_madv_free\":%ld,\"lazyfree\":%ld,\"rss_after_madv_dontneed\":%ld,\"lazyfree_end\":%ld}\n",
           POOL, (unsigned long)lazy, (unsigned long)eager, rss_full, rss_after_free, lazyfree,
           rss_after_dontneed, rollup("LazyFree"));
    return 0;
}
