/* churn: allocation churn on T threads. Each thread keeps a working set of
 * live blocks and, for a fixed number of operations, replaces a random one
 * (free + malloc of a new size) or grows it with realloc. Sizes are mostly
 * 16 B .. 4 KiB with a tail up to 64 KiB. The total number of operations is
 * split between the threads, so the work is the same for any T.
 *
 *   churn [-t THREADS] [-n TOTAL_OPS] [-w WORKING_SET] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct slot {
    unsigned char *p;
    size_t n;
};

/* One cache line each, and the loop keeps its state in locals: workers
 * writing records that share a line would measure false sharing, which
 * would then depend on where calloc happened to put the array. */
struct worker {
    _Alignas(64) pthread_t tid;
    uint64_t seed;
    long ops;
    long ws;
    uint64_t sum; /* read back from the blocks, so no write is dead */
};

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t pick_size(uint64_t *s)
{
    uint64_t r = next_rand(s);
    unsigned bucket = r % 1000;
    r >>= 10;
    if (bucket < 600)
        return 16 + r % 241;            /* 16 .. 256 B */
    if (bucket < 950)
        return 256 + r % (4096 - 255);  /* 256 B .. 4 KiB */
    if (bucket < 995)
        return 4096 + r % (16384 - 4095); /* 4 .. 16 KiB */
    return 32768 + r % 32769;           /* 32 .. 64 KiB */
}

/* Touches the first and last byte as a program filling a block would. */
static void fill(struct slot *sl, uint64_t v)
{
    sl->p[0] = (unsigned char)v;
    sl->p[sl->n - 1] = (unsigned char)(v >> 8);
}

static void *run(void *arg)
{
    struct worker *w = arg;
    struct slot *set = calloc(w->ws, sizeof *set);
    if (!set)
        abort();
    for (long i = 0; i < w->ws; i++) {
        set[i].n = pick_size(&w->seed);
        set[i].p = malloc(set[i].n);
        if (!set[i].p)
            abort();
        fill(&set[i], i);
    }
    uint64_t seed = w->seed, sum = 0;
    for (long op = 0; op < w->ops; op++) {
        uint64_t r = next_rand(&seed);
        struct slot *sl = &set[(r >> 8) % w->ws];
        sum += sl->p[0] + sl->p[sl->n - 1];
        if ((r & 0xff) < 26 && sl->n < 65536) {
            /* ~10%: grow by half, as a buffer or vector does */
            size_t n = sl->n + sl->n / 2 + 16;
            unsigned char *q = realloc(sl->p, n);
            if (!q)
                abort();
            sl->p = q;
            sl->n = n;
        } else {
            free(sl->p);
            sl->n = pick_size(&seed);
            sl->p = malloc(sl->n);
            if (!sl->p)
                abort();
        }
        fill(sl, r);
    }
    w->seed = seed;
    w->sum = sum;
    for (long i = 0; i < w->ws; i++)
        free(set[i].p);
    free(set);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = 2;
    long total = 8000000, ws = 2000;
    int opt;
    while ((opt = getopt(argc, argv, "t:n:w:")) != -1) {
        switch (opt) {
        case 't':
            threads = atoi(optarg);
            break;
        case 'n':
            total = atol(optarg);
            break;
        case 'w':
            ws = atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: churn [-t THREADS] [-n TOTAL_OPS] [-w WORKING_SET]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256 || total < 1 || ws < 1)
        return 2;

    struct worker *w = aligned_alloc(64, threads * sizeof *w);
    if (!w)
        return 1;
    memset(w, 0, threads * sizeof *w);
    for (int i = 0; i < threads; i++) {
        w[i].seed = 0x9e3779b97f4a7c15ull * (i + 1);
        w[i].ops = total / threads;
        w[i].ws = ws;
        if (pthread_create(&w[i].tid, NULL, run, &w[i]))
            return 1;
    }
    uint64_t sum = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].tid, NULL);
        sum += w[i].sum;
    }
    printf("churn: threads=%d ops=%ld working_set=%ld checksum=%llu\n", threads, total, ws,
           (unsigned long long)sum);
    free(w);
    return 0;
}
