/* Example 3: sparse survivors, the worst case for draining.
 *
 * A cache fills 100 MB with 200-byte entries, then evicts all but one entry
 * per 4 KiB page (say, the ones still referenced). Live memory drops to
 * ~5 MB, but every resident page still holds a live byte: nothing can be
 * returned, not by free(), not by malloc_trim(0), which only releases whole
 * free pages. Only moving (compacting) the survivors would help.
 *
 * The program keeps an entry only when it lies wholly inside a page that has
 * no survivor yet, so it knows exactly how many pages hold a live byte. It
 * prints that, the bytes it holds and frees, and its RSS, as one JSON line. */
#include <drainprof.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ENTRY_SIZE 200
#define ENTRIES 500000

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

/* The allocation site the profiler should blame for the sparse pages. */
__attribute__((noinline)) static char *new_entry(int i)
{
    char *e = malloc(ENTRY_SIZE);
    if (e)
        memset(e, (char)i, ENTRY_SIZE);
    return e;
}

int main(void)
{
    static char *entries[ENTRIES];
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < ENTRIES; i++)
        if (!(entries[i] = new_entry(i)))
            return 1;
    uintptr_t last_kept_page = 0;
    long kept = 0, freed = 0;
    for (int i = 0; i < ENTRIES; i++) {
        uintptr_t first = (uintptr_t)entries[i] / page;
        uintptr_t last = ((uintptr_t)entries[i] + ENTRY_SIZE - 1) / page;
        if (first == last && first != last_kept_page) {
            last_kept_page = first;
            kept++;
        } else {
            free(entries[i]);
            entries[i] = NULL;
            freed++;
        }
    }
    DRAINPROF_SNAPSHOT("evicted");
    printf("{\"kept\":%ld,\"live_bytes\":%ld,\"freed_bytes\":%ld,\"pages_with_survivor\":%ld,\"rss\":%ld}\n",
           kept, kept * ENTRY_SIZE, freed * ENTRY_SIZE, kept, rss_bytes());
    return 0;
}
