/* Maps 20 000 pages (78 MiB, more than one 64 MiB mincore) and makes every
 * other page read-only, so the kernel keeps 20 000 mappings it cannot
 * merge, then writes every third writable page. Prints as JSON the area's
 * address and size, the bytes it wrote (its own count) and the area's
 * resident bytes by mincore. */
#include <stdio.h>
#include <sys/mman.h>

#define PAGES 20000

static unsigned char vec[PAGES];

int main(void)
{
    char *p = mmap(NULL, PAGES * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    for (long i = 1; i < PAGES; i += 2)
        if (mprotect(p + i * 4096, 4096, PROT_READ) != 0)
            return 1;
    unsigned long written = 0;
    for (long i = 0; i < PAGES; i += 6) {
        p[i * 4096] = 1;
        written += 4096;
    }
    if (mincore(p, PAGES * 4096ul, vec) != 0)
        return 1;
    unsigned long resident = 0;
    for (long i = 0; i < PAGES; i++)
        resident += (vec[i] & 1) * 4096ul;
    printf("{\"addr\":%lu,\"bytes\":%lu,\"written\":%lu,\"resident\":%lu}\n", (unsigned long)p, PAGES * 4096ul,
           written, resident);
    return 0;
}
