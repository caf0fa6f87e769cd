/* The classic pinned brk top: many blocks carved from the main arena's top,
 * one long-lived block allocated above them, then everything below freed.
 * The program prints what it did: the pinner's address and size, the bytes
 * it freed below it, and its own RSS before and after, for the test to check
 * the report's brk.pinned_bytes, brk.pinner and heap.gap_bytes. */
#include <drainprof.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 100000
#define SIZE 1000

static void *blocks[N];

/* The site the summarizer must name: keep this function's name and line. */
__attribute__((noinline)) static char *make_session_cache(size_t n)
{
    return malloc(n); /* PINNER_LINE */
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * 4;
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        memset(blocks[i], 1, SIZE);
    }
    char *pinner = make_session_cache(4096);
    memset(pinner, 2, 4096);
    long before = rss_kb();
    uint64_t freed = 0;
    for (int i = 0; i < N; i++) {
        free(blocks[i]);
        freed += SIZE;
    }
    long after = rss_kb();
    DRAINPROF_SNAPSHOT("pinned");
    if (getenv("PINNED_SLEEP"))
        sleep((unsigned)atoi(getenv("PINNED_SLEEP")));
    printf("{\"pinner_addr\":%lu,\"pinner_size\":4096,\"freed\":%llu,\"rss_before_kb\":%ld,\"rss_after_kb\":%ld}\n",
           (unsigned long)(uintptr_t)pinner, (unsigned long long)freed, before, after);
    fflush(stdout);
    return 0; /* the pinner lives on, as a long-lived cache would */
}
