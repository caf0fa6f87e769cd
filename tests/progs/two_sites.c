/* Live memory from two allocation sites of very different block sizes, for
 * checking sample mode's weighted estimates: many small blocks (each
 * sampled with a small chance, so its weight is large and depends on what
 * the countdown charged) and fewer large ones. Everything stays live until
 * exit, where the report's last snapshot is taken. Prints the truth: per
 * site, the usable bytes it holds (malloc_usable_size) and its blocks. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_BLOCKS 600000
#define SMALL_SIZE 40
#define LARGE_BLOCKS 6000
#define LARGE_SIZE 4000

static void *small[SMALL_BLOCKS], *large[LARGE_BLOCKS];

/* Two functions rather than one helper: each must be its own call site of
 * malloc, the frame the report names. */
static __attribute__((noinline)) size_t small_objects(void)
{
    size_t bytes = 0;
    for (int i = 0; i < SMALL_BLOCKS; i++) {
        small[i] = malloc(SMALL_SIZE);
        if (!small[i])
            abort();
        memset(small[i], 1, SMALL_SIZE);
        bytes += malloc_usable_size(small[i]);
    }
    return bytes;
}

static __attribute__((noinline)) size_t large_buffers(void)
{
    size_t bytes = 0;
    for (int i = 0; i < LARGE_BLOCKS; i++) {
        large[i] = malloc(LARGE_SIZE);
        if (!large[i])
            abort();
        memset(large[i], 2, LARGE_SIZE);
        bytes += malloc_usable_size(large[i]);
    }
    return bytes;
}

int main(void)
{
    size_t s = small_objects(), l = large_buffers();
    printf("{\"small_objects\":%zu,\"large_buffers\":%zu}\n", s, l);
    return 0;
}
