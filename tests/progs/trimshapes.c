/* Heaps of different fragmentation shapes, for the malloc_trim prediction:
 * the program asks for a snapshot (prediction and dry-run), then calls
 * malloc_trim(0) itself and prints how much its RSS dropped (statm). */
#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 200000
static void *blk[N];

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * sysconf(_SC_PAGESIZE);
}

static void fill(size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++) {
        blk[i] = malloc(size);
        memset(blk[i], 1, size);
    }
}

#define NT 6
static pthread_barrier_t ready, done;

static void *arena_worker(void *arg)
{
    (void)arg;
    enum { M = 20000 };
    void **b = malloc(M * sizeof *b);
    for (int i = 0; i < M; i++) {
        b[i] = malloc(1000);
        memset(b[i], 2, 1000);
    }
    /* keep the last tenth, free the rest */
    for (int i = 0; i < M * 9 / 10; i++)
        free(b[i]);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *shape = argc > 1 ? argv[1] : "dense";
    pthread_t t[NT];
    int threads = 0;
    if (!strcmp(shape, "sparse")) {
        /* one survivor in 12: about one whole free page between survivors */
        fill(N, 500);
        for (size_t i = 0; i < N; i++)
            if (i % 12)
                free(blk[i]);
    } else if (!strcmp(shape, "dense")) {
        /* the first three quarters freed: one long free run */
        fill(N, 500);
        for (size_t i = 0; i < N * 3 / 4; i++)
            free(blk[i]);
    } else if (!strcmp(shape, "pinned")) {
        /* everything below the last block freed: the top is pinned */
        fill(N, 500);
        for (size_t i = 0; i < N - 1; i++)
            free(blk[i]);
    } else if (!strcmp(shape, "arenas")) {
        pthread_barrier_init(&ready, NULL, NT + 1);
        pthread_barrier_init(&done, NULL, NT + 1);
        for (threads = 0; threads < NT; threads++)
            pthread_create(&t[threads], NULL, arena_worker, NULL);
        pthread_barrier_wait(&ready);
    } else {
        fprintf(stderr, "unknown shape %s\n", shape);
        return 2;
    }
    DRAINPROF_SNAPSHOT(shape);
    long before = rss_bytes();
    malloc_trim(0);
    long after = rss_bytes();
    printf("{\"shape\":\"%s\",\"released\":%ld}\n", shape, before - after);
    fflush(stdout);
    if (threads) {
        pthread_barrier_wait(&done);
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
    }
    return 0;
}
