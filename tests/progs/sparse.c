/* Threads that each keep a sparse fraction of their objects: one in K
 * survives, spread over many pages. The program computes which 4 KiB pages
 * its surviving objects touch (from their addresses and sizes) and prints
 * the count, for the test to compare with the report's pages.live. */
#include <drainprof.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTHREADS 4
#define PER_THREAD 60000
#define KEEP_ONE_IN 16

static void *kept[NTHREADS][PER_THREAD / KEEP_ONE_IN + 1];
static size_t kept_size[NTHREADS][PER_THREAD / KEEP_ONE_IN + 1];
static size_t nkept[NTHREADS];
static pthread_barrier_t ready, done;

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    static __thread void *all[PER_THREAD];
    uint64_t s = 0x2545F4914F6CDD1Dull * (uint64_t)(id + 1);
    for (int i = 0; i < PER_THREAD; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t size = 32 + s % 480;
        all[i] = malloc(size); /* SPARSE_LINE */
        memset(all[i], 7, size);
        if (i % KEEP_ONE_IN == 0) {
            kept[id][nkept[id]] = all[i];
            kept_size[id][nkept[id]++] = size;
        }
    }
    for (int i = 0; i < PER_THREAD; i++)
        if (i % KEEP_ONE_IN)
            free(all[i]);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    return NULL; /* the survivors stay live to the end, like a cache */
}

static int cmp(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

int main(void)
{
    pthread_t t[NTHREADS];
    pthread_barrier_init(&ready, NULL, NTHREADS + 1);
    pthread_barrier_init(&done, NULL, NTHREADS + 1);
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    pthread_barrier_wait(&ready);
    DRAINPROF_SNAPSHOT("sparse");
    /* Pages touched by surviving objects, counted by the program itself. */
    size_t cap = 0, n = 0;
    for (int i = 0; i < NTHREADS; i++)
        cap += nkept[i] * 2;
    uintptr_t *pages = malloc(cap * sizeof *pages);
    uint64_t bytes = 0;
    for (int i = 0; i < NTHREADS; i++)
        for (size_t k = 0; k < nkept[i]; k++) {
            uintptr_t a = (uintptr_t)kept[i][k];
            pages[n++] = a >> 12;
            if (((a + kept_size[i][k] - 1) >> 12) != (a >> 12))
                pages[n++] = (a + kept_size[i][k] - 1) >> 12;
            bytes += kept_size[i][k];
        }
    qsort(pages, n, sizeof *pages, cmp);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || pages[i] != pages[i - 1];
    printf("{\"pages_touched\":%zu,\"kept_bytes\":%llu}\n", distinct, (unsigned long long)bytes);
    fflush(stdout);
    free(pages);
    pthread_barrier_wait(&done);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}
