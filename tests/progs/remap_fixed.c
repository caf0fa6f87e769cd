/* Moves an 8-page mapping onto the first half of a 16-page one with
 * mremap(MREMAP_FIXED), which replaces what was there. Prints as JSON the
 * two resulting ranges (the moved pages, the old mapping's second half)
 * and their resident bytes by mincore. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define PG 4096ul

static unsigned long resident(char *p, unsigned long len)
{
    unsigned char vec[16];
    unsigned long n = 0;
    if (mincore(p, len, vec) != 0)
        return ~0ul;
    for (unsigned long i = 0; i < len / PG; i++)
        n += (vec[i] & 1) * PG;
    return n;
}

int main(void)
{
    char *a = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *b = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED)
        return 1;
    memset(a, 1, 3 * PG);
    memset(b, 2, 13 * PG); /* 8 pages that the move replaces, 5 that stay */
    char *m = mremap(a, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, b);
    if (m != b)
        return 1;
    printf("{\"moved\":%lu,\"moved_bytes\":%lu,\"moved_resident\":%lu,"
           "\"rest\":%lu,\"rest_bytes\":%lu,\"rest_resident\":%lu}\n",
           (unsigned long)b, 8 * PG, resident(b, 8 * PG), (unsigned long)(b + 8 * PG), 8 * PG,
           resident(b + 8 * PG, 8 * PG));
    return 0;
}
