/* Maps 5000 bytes (not a page multiple, as perf maps its ring buffers),
 * writes them all, and prints as JSON the mapping's address, its resident
 * bytes by mincore and the Size of the smaps entry holding it (the kernel
 * may merge it with a neighbour). */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int main(void)
{
    char *p = mmap(NULL, 5000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    memset(p, 1, 5000);
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return 1;
    char line[512];
    unsigned char vec[2];
    if (mincore(p, 5000, vec) != 0)
        return 1;
    unsigned long resident = ((vec[0] & 1) + (vec[1] & 1)) * 4096ul;
    unsigned long lo, hi, kb, size = 0;
    int here = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            here = (unsigned long)p >= lo && (unsigned long)p < hi;
        else if (here && sscanf(line, "Size: %lu kB", &kb) == 1)
            size = kb * 1024;
    }
    fclose(f);
    printf("{\"addr\":%lu,\"entry_size\":%lu,\"resident\":%lu}\n", (unsigned long)p, size, resident);
    return 0;
}
