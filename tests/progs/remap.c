/* Two moves whose ranges the region table must follow:
 * - an 8-page mapping moved onto the first half of a 16-page one with
 *   mremap(MREMAP_FIXED), which replaces what was there;
 * - a 4-page mapping moved with MREMAP_DONTUNMAP, which leaves the old
 *   range mapped (empty), and one page of it written again;
 * - two pages in the middle of a shared 4-page mapping mapped a second
 *   time by an old size of 0, which leaves the old mapping whole.
 * Prints as JSON each resulting range and its resident bytes by mincore. */
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

static void range(const char *name, char *p, unsigned long len)
{
    printf("\"%s\":{\"addr\":%lu,\"bytes\":%lu,\"resident\":%lu},", name, (unsigned long)p, len,
           resident(p, len));
}

int main(void)
{
    int prw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
    char *a = mmap(NULL, 8 * PG, prw, anon, -1, 0);
    char *b = mmap(NULL, 16 * PG, prw, anon, -1, 0);
    char *c = mmap(NULL, 4 * PG, prw, anon, -1, 0);
    char *e = mmap(NULL, 4 * PG, prw, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED || b == MAP_FAILED || c == MAP_FAILED || e == MAP_FAILED)
        return 1;
    memset(e, 5, 4 * PG);
    memset(a, 1, 3 * PG);
    memset(b, 2, 13 * PG); /* 8 pages that the move replaces, 5 that stay */
    memset(c, 3, 4 * PG);
    if (mremap(a, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, b) != b)
        return 1;
    char *d = mremap(c, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP);
    if (d == MAP_FAILED)
        return 1;
    c[0] = 4; /* the kept range is mapped, and faults in a fresh page */
    char *f = mremap(e + PG, 0, 2 * PG, MREMAP_MAYMOVE);
    if (f == MAP_FAILED)
        return 1;
    printf("{");
    range("moved", b, 8 * PG);
    range("rest", b + 8 * PG, 8 * PG);
    range("kept", c, 4 * PG);
    range("moved_out", d, 4 * PG);
    range("shared", e, 4 * PG);
    range("alias", f, 2 * PG);
    printf("\"ok\":1}\n");
    return 0;
}
