/* Maps 100 areas of 200 pages (78 MiB in all, more than one 64 MiB
 * mincore) and makes every other page read-only, so the kernel keeps
 * 20 000 mappings it cannot merge. The kernel places each area below the
 * last, so the profiler's table of regions is in reverse address order.
 * In area a it writes the first a % 30 + 1 of every sixth page (all
 * writable). Prints as JSON each area's address and size, the bytes the
 * program wrote there (its own count) and its resident bytes by mincore. */
#include <stdio.h>
#include <sys/mman.h>

#define AREAS 100
#define PAGES 200

static unsigned char vec[PAGES];

int main(void)
{
    char *area[AREAS];
    unsigned long written[AREAS] = {0};
    for (int a = 0; a < AREAS; a++) {
        char *p = mmap(NULL, PAGES * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        for (long i = 1; i < PAGES; i += 2)
            if (mprotect(p + i * 4096, 4096, PROT_READ) != 0)
                return 1;
        for (long i = 0; i < PAGES && i / 6 <= a % 30; i += 6) {
            p[i * 4096] = 1;
            written[a] += 4096;
        }
        area[a] = p;
    }
    printf("[");
    for (int a = 0; a < AREAS; a++) {
        if (mincore(area[a], PAGES * 4096ul, vec) != 0)
            return 1;
        unsigned long resident = 0;
        for (long i = 0; i < PAGES; i++)
            resident += (vec[i] & 1) * 4096ul;
        printf("%s{\"addr\":%lu,\"bytes\":%lu,\"written\":%lu,\"resident\":%lu}", a ? "," : "",
               (unsigned long)area[a], PAGES * 4096ul, written[a], resident);
    }
    printf("]\n");
    return 0;
}
