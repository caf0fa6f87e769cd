/* prodcons: P producer/consumer pairs. Each producer mallocs messages of
 * 16 B .. 4 KiB, fills their header and pushes them through a bounded
 * single-producer single-consumer ring; its consumer checks and frees them on
 * another thread, so every free is a remote free for glibc (the chunk goes
 * back to the producer's arena). A full or empty ring spins, then yields.
 *
 *   prodcons [-p PAIRS] [-n MESSAGES_PER_PAIR] */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RING 1024 /* power of two */
#define BATCH 64

struct msg {
    uint64_t seq;
    size_t len;
};

struct pair {
    _Alignas(64) _Atomic uint64_t head; /* next slot the producer fills */
    _Alignas(64) _Atomic uint64_t tail; /* next slot the consumer takes */
    _Alignas(64) struct msg *slots[RING];
    pthread_t prod, cons;
    long count;
    uint64_t seed;
    uint64_t bad; /* the loops keep seed and bad in locals: written here on
                   * every message, the line would bounce between the pair */
};

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Waiting: spin briefly (the other side is usually running on another core),
 * then give the CPU away (it may be waiting for this one). */
static void backoff(unsigned *spins)
{
    if (++*spins < 256) {
        __builtin_ia32_pause();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static void *produce(void *arg)
{
    struct pair *p = arg;
    uint64_t h = 0;
    uint64_t seed = p->seed;
    for (long i = 0; i < p->count; i++) {
        uint64_t r = next_rand(&seed);
        size_t len = (r & 3) ? 16 + r % 241 : 256 + r % 3841;
        struct msg *m = malloc(len < sizeof *m ? sizeof *m : len);
        if (!m)
            abort();
        m->seq = i;
        m->len = len;
        unsigned spins = 0;
        while (h - atomic_load_explicit(&p->tail, memory_order_acquire) == RING) {
            atomic_store_explicit(&p->head, h, memory_order_release);
            backoff(&spins);
        }
        p->slots[h++ % RING] = m;
        /* Publishing in batches keeps the ring's cache lines from bouncing
         * between cores on every message. */
        if (h % BATCH == 0)
            atomic_store_explicit(&p->head, h, memory_order_release);
    }
    atomic_store_explicit(&p->head, h, memory_order_release);
    p->seed = seed;
    return NULL;
}

static void *consume(void *arg)
{
    struct pair *p = arg;
    uint64_t t = 0, bad = 0;
    while (t < (uint64_t)p->count) {
        uint64_t h;
        unsigned spins = 0;
        while ((h = atomic_load_explicit(&p->head, memory_order_acquire)) == t)
            backoff(&spins);
        for (; t < h; t++) {
            struct msg *m = p->slots[t % RING];
            bad += m->seq != t;
            free(m);
        }
        atomic_store_explicit(&p->tail, t, memory_order_release);
    }
    p->bad = bad;
    return NULL;
}

int main(int argc, char **argv)
{
    int pairs = 2;
    long count = 3000000;
    int opt;
    while ((opt = getopt(argc, argv, "p:n:")) != -1) {
        switch (opt) {
        case 'p':
            pairs = atoi(optarg);
            break;
        case 'n':
            count = atol(optarg);
            break;
        default:
            fprintf(stderr, "usage: prodcons [-p PAIRS] [-n MESSAGES_PER_PAIR]\n");
            return 2;
        }
    }
    if (pairs < 1 || pairs > 64 || count < 1)
        return 2;

    struct pair *ps = aligned_alloc(64, sizeof *ps * pairs);
    if (!ps)
        return 1;
    memset(ps, 0, sizeof *ps * pairs);
    for (int i = 0; i < pairs; i++) {
        ps[i].count = count;
        ps[i].seed = 0x2545f4914f6cdd1dull * (i + 1);
        if (pthread_create(&ps[i].cons, NULL, consume, &ps[i]) ||
            pthread_create(&ps[i].prod, NULL, produce, &ps[i]))
            return 1;
    }
    uint64_t bad = 0;
    for (int i = 0; i < pairs; i++) {
        pthread_join(ps[i].prod, NULL);
        pthread_join(ps[i].cons, NULL);
        bad += ps[i].bad;
    }
    printf("prodcons: pairs=%d messages=%ld out_of_order=%llu\n", pairs, count * pairs,
           (unsigned long long)bad);
    free(ps);
    return bad != 0;
}
