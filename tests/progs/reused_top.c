/* A brk top pinned by a chunk that was carved from the top for one caller,
 * freed into glibc's tcache and handed to another caller while another
 * chunk lay above it: the carve's stack is no longer the pinner's. The program prints the pinner's address
 * (written with write(2): stdio's buffer would be carved above it). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 20000
#define SIZE 1000

static void *blocks[N];

/* The first owner: its chunk is carved from the top. */
__attribute__((noinline)) static void *first_owner(void)
{
    return malloc(200); /* CARVED_LINE */
}

/* The site the summarizer must name (all mode) or leave unnamed (sample
 * mode, unless this allocation happened to be sampled). */
__attribute__((noinline)) static void *second_owner(void)
{
    return malloc(200); /* REUSER_LINE */
}

int main(void)
{
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(SIZE);
        memset(blocks[i], 1, SIZE);
    }
    /* A hole left lower in the heap (by start-up code) can serve the first
     * tries; those stay allocated, below. */
    void *x;
    while ((x = first_owner()) < blocks[N - 1])
        ;
    uintptr_t carved = (uintptr_t)x;
    free(x);
    /* Carved above x, so x no longer borders the top when it is reused;
     * freed afterwards, it goes back into the top and x pins again. */
    void *above;
    while ((uintptr_t)(above = malloc(3000)) < carved)
        ;
    void *y = second_owner();
    free(above);
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    char line[96];
    int n = snprintf(line, sizeof line, "{\"pinner_addr\":%lu,\"reused\":%s}\n", (unsigned long)(uintptr_t)y,
                     carved == (uintptr_t)y ? "true" : "false");
    if (write(1, line, (size_t)n) != n)
        return 1;
    return 0; /* y lives on */
}
