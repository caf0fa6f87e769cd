/* Example 1: a pinned brk top.
 *
 * A server parses a large request into 100 000 small nodes, then, before
 * dropping the parse tree, caches one small "session" object. The cache entry
 * is carved from the top of the brk heap, above every node. Freeing the nodes
 * returns nothing to the kernel: brk can only shrink from the top, and the
 * top is held by the one live 4 KiB block. RSS stays at ~100 MB while the
 * program holds 4 KiB.
 *
 * The program prints its own truth as one JSON line: the bytes it freed below
 * the pinner, the pinner's address and size, its RSS before and after the
 * frees (from /proc/self/statm). */
#include <drainprof.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODES 100000
#define NODE_SIZE 1000
#define SESSION_SIZE 4096

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

/* The site the profiler should name as the pinner. */
__attribute__((noinline)) static char *cache_session(void)
{
    char *s = malloc(SESSION_SIZE);
    if (s)
        memset(s, 's', SESSION_SIZE);
    return s;
}

int main(void)
{
    static char *nodes[NODES];
    for (int i = 0; i < NODES; i++) {
        nodes[i] = malloc(NODE_SIZE);
        if (!nodes[i])
            return 1;
        memset(nodes[i], 'n', NODE_SIZE);
    }
    char *session = cache_session();
    if (!session)
        return 1;
    long before = rss_bytes();
    unsigned long long freed = 0;
    for (int i = 0; i < NODES; i++) {
        free(nodes[i]);
        freed += NODE_SIZE;
    }
    long after = rss_bytes();
    DRAINPROF_SNAPSHOT("pinned");
    printf("{\"freed_bytes\":%llu,\"pinner_addr\":%llu,\"pinner_size\":%d,"
           "\"rss_before\":%ld,\"rss_after\":%ld}\n",
           freed, (unsigned long long)(uintptr_t)session, SESSION_SIZE, before, after);
    return 0; /* the session stays cached until exit, as it would in a server */
}
