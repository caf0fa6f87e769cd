/* Blocks the brk heap from growing (a mapping placed at the break), then
 * allocates 16 MiB in small blocks: glibc's main arena goes on in mmapped
 * memory, away from [heap]. Takes a snapshot, frees everything, and prints
 * its own count of what it held and whether the break really stayed put. */
#include <drainprof.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define N 16384

int main(void)
{
    uintptr_t brk0 = ((uintptr_t)sbrk(0) + 4095) & ~(uintptr_t)4095;
    void *wall = mmap((void *)brk0, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (wall == MAP_FAILED)
        return 1;
    static void *blocks[N];
    size_t held = 0;
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(1000);
        if (!blocks[i])
            return 1;
        held += 1000;
    }
    int stayed = (uintptr_t)sbrk(0) <= brk0;
    DRAINPROF_SNAPSHOT("held");
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    printf("{\"held\":%zu,\"brk_stayed\":%d}\n", held, stayed);
    return 0;
}
