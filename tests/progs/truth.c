/* A program that knows exactly what it holds: every allocation entry point,
 * from several threads (each in its own arena while all are alive), with
 * realloc growth, aligned blocks and mmapped sizes. It asks libdrainprof for
 * a snapshot labelled "check" while everything is held, and prints its own
 * count and glibc's mallinfo2 as one JSON line for the test to compare. */
#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4
#define MAXPTRS 200000
/* The mmap threshold is pinned, by mallopt or (TRUTH_THRESHOLD_FROM_ENV
 * set) by glibc's environment, at TRUTH_MMAP_THRESHOLD (default 128 KiB),
 * so blocks from twice that up are mmapped chunks and everything below it
 * stays in the arenas. */
static size_t big_from = 256u << 10;

struct held {
    void *p[MAXPTRS];
    size_t size[MAXPTRS];
    size_t n;
    uint64_t bytes; /* what the program asked for (pvalloc: page-rounded) */
    uint64_t big;   /* the part in blocks above the mmap threshold */
    size_t mid;     /* blocks that big, but below glibc's default threshold */
};

static struct held main_held, thread_held[NTHREADS];
static pthread_barrier_t ready, done;

static void keep(struct held *h, void *p, size_t size)
{
    if (!p) {
        fprintf(stderr, "allocation of %zu failed\n", size);
        exit(3);
    }
    memset(p, 0xab, size);
    h->p[h->n] = p;
    h->size[h->n++] = size;
    h->bytes += size;
    if (size >= big_from)
        h->big += size;
    if (size >= big_from && size < (128u << 10))
        h->mid++;
}

/* Allocates about 1.5 x `target` bytes through every entry point, frees a
 * third of the blocks again, and keeps the rest. */
static void fill(struct held *h, uint64_t target, uint64_t *state)
{
    uint64_t s = *state;
    uint64_t bytes_before = h->bytes;
    for (unsigned i = 0; h->bytes - bytes_before < target && h->n < MAXPTRS - 8; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t size = 16 + s % 4000;
        void *p = NULL;
        switch (i % 10) {
        case 0: keep(h, malloc(size), size); break;
        case 1: keep(h, calloc(1, size), size); break;
        case 2: {
            /* realloc growth, moving and in place */
            size_t sz = 16;
            p = malloc(sz);
            while (sz < size * 8) {
                sz *= 2;
                p = realloc(p, sz);
            }
            keep(h, p, sz);
            break;
        }
        case 3: keep(h, reallocarray(NULL, 4, size / 4), (size / 4) * 4); break;
        case 4: {
            if (posix_memalign(&p, 64, size) != 0)
                p = NULL;
            keep(h, p, size);
            break;
        }
        case 5: keep(h, aligned_alloc(256, size), size); break;
        case 6: keep(h, memalign(4096, size), size); break;
        case 7: keep(h, valloc(size), size); break;
        case 8: keep(h, pvalloc(size), (size + 4095) & ~(size_t)4095); break;
        case 9:
            if (i % 300 == 9) {
                size_t big = big_from + s % (256u << 10); /* mmapped */
                keep(h, malloc(big), big);
            } else {
                keep(h, malloc(size), size);
            }
            break;
        }
    }
    /* Free every third block, keeping the count exact. */
    size_t w = 0;
    for (size_t i = 0; i < h->n; i++) {
        if (i % 3 == 1) {
            h->bytes -= h->size[i];
            if (h->size[i] >= big_from)
                h->big -= h->size[i];
            if (h->size[i] >= big_from && h->size[i] < (128u << 10))
                h->mid--;
            free(h->p[i]);
        } else {
            h->p[w] = h->p[i];
            h->size[w] = h->size[i];
            w++;
        }
    }
    h->n = w;
    *state = s;
}

static void release(struct held *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->p[i]);
    h->n = 0;
    h->bytes = 0;
    h->big = 0;
    h->mid = 0;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    uint64_t st = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);
    fill(&thread_held[id], (uint64_t)(id + 1) * (3u << 20), &st);
    pthread_barrier_wait(&ready);
    pthread_barrier_wait(&done);
    release(&thread_held[id]);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[NTHREADS];
    const char *thr = getenv("TRUTH_MMAP_THRESHOLD");
    size_t threshold = thr ? strtoul(thr, NULL, 0) : 128u << 10;
    if (!getenv("TRUTH_THRESHOLD_FROM_ENV"))
        mallopt(M_MMAP_THRESHOLD, (int)threshold);
    big_from = 2 * threshold;
    pthread_barrier_init(&ready, NULL, NTHREADS + 1);
    pthread_barrier_init(&done, NULL, NTHREADS + 1);
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
    uint64_t st = 88172645463325252ull;
    fill(&main_held, 20u << 20, &st);
    pthread_barrier_wait(&ready);

    DRAINPROF_SNAPSHOT("check");
    struct mallinfo2 mi = mallinfo2();
    if (argc > 1) {
        FILE *xml = fopen(argv[1], "w");
        if (xml) {
            malloc_info(0, xml);
            fclose(xml);
        }
    }
    printf("{\"main\":%llu,\"main_big\":%llu,\"threads\":[", (unsigned long long)main_held.bytes,
           (unsigned long long)main_held.big);
    uint64_t total = main_held.bytes, big = main_held.big, mid = 0;
    for (int i = 0; i < NTHREADS; i++) {
        printf("%s[%llu,%llu]", i ? "," : "", (unsigned long long)thread_held[i].bytes,
               (unsigned long long)thread_held[i].big);
        total += thread_held[i].bytes;
        big += thread_held[i].big;
        mid += thread_held[i].mid;
    }
    printf("],\"total\":%llu,\"big\":%llu,\"threads_mid\":%llu,\"mallinfo\":{\"arena\":%zu,\"uordblks\":%zu,\"hblkhd\":%zu,\"hblks\":%zu}}\n",
           (unsigned long long)total, (unsigned long long)big, (unsigned long long)mid, mi.arena, mi.uordblks, mi.hblkhd, mi.hblks);
    fflush(stdout);

    pthread_barrier_wait(&done);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    release(&main_held);
    DRAINPROF_SNAPSHOT("released");
    return 0;
}
