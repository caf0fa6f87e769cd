/* The tail path parked for a snapshot's walks (track.h) and given back:
 * a thread of its own arena learns the tail path, loses it while parked,
 * cannot learn it again until the restore, and gets back the bound in force
 * then; a thread that ends while parked does not get it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "glibc.h"
#include "track.h"

/* What the shim and init.c provide; neither is linked into unit tests. */
int dp_tracking = 1;
int dp_thread_seen(void)
{
    return 0;
}

/* The worker runs one step per command, then reports back. */
enum { LEARN = 1, EXIT, QUIT };
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int command, done_seq, seq;
static struct dp_thread_hot *worker_hot;
static void *worker_chunk;

static void *worker(void *arg)
{
    (void)arg;
    /* Larger than any tcache bin: a chunk of the thread's own arena. */
    worker_chunk = malloc(4000);
    dp_track_alloc_slow(worker_chunk, 0, 0); /* registers the thread */
    worker_hot = &dp_hot;
    for (int seen = 0;;) {
        pthread_mutex_lock(&mu);
        while (seq == seen)
            pthread_cond_wait(&cv, &mu);
        seen = seq;
        int c = command;
        pthread_mutex_unlock(&mu);
        if (c == LEARN)
            dp_track_learn_tail(worker_chunk);
        else if (c == EXIT || c == QUIT)
            dp_track_thread_exit(); /* as the thread's key destructor does */
        pthread_mutex_lock(&mu);
        done_seq = seen;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        if (c == QUIT)
            break;
    }
    free(worker_chunk);
    return NULL;
}

static void run(int c)
{
    pthread_mutex_lock(&mu);
    command = c;
    int s = ++seq;
    pthread_cond_broadcast(&cv);
    while (done_seq != s)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static size_t tail_max(void)
{
    return __atomic_load_n(&worker_hot->tail_max, __ATOMIC_RELAXED);
}

static pthread_t start_worker(void)
{
    pthread_t t;
    worker_hot = NULL;
    assert_int_equal(pthread_create(&t, NULL, worker, NULL), 0);
    run(0); /* the worker is registered once it answers */
    return t;
}

static void test_parked_tail_comes_back(void **state)
{
    (void)state;
    pthread_t t = start_worker();
    run(LEARN);
    size_t bound = dp_track_tail_bound;
    assert_true(bound > 0);
    assert_int_equal(tail_max(), bound);

    /* The thread's arena is one glibc lists, and not the main arena. */
    struct dp_arena_info a[64];
    int n = dp_glibc_arenas(a, 64), found = 0;
    for (int i = 0; i < n; i++)
        found += a[i].ar == worker_hot->arena && !a[i].main;
    assert_int_equal(found, 1);

    dp_track_park(1);
    assert_int_equal(tail_max(), 0);
    run(LEARN); /* learning again while parked parks it again */
    assert_int_equal(tail_max(), 0);
    dp_track_park(0);
    assert_int_equal(tail_max(), bound);

    /* A bound lowered while parked is the one restored. */
    dp_track_park(1);
    dp_track_lower_tail_bound(64 << 10);
    assert_true(dp_track_tail_bound < bound);
    dp_track_park(0);
    assert_int_equal(tail_max(), dp_track_tail_bound);
    run(QUIT);
    pthread_join(t, NULL);
}

static void test_thread_ended_while_parked_stays_off(void **state)
{
    (void)state;
    pthread_t t = start_worker();
    run(LEARN);
    assert_true(tail_max() > 0);
    dp_track_park(1);
    run(EXIT);
    dp_track_park(0);
    assert_int_equal(tail_max(), 0);
    run(QUIT);
    pthread_join(t, NULL);
}

static int setup(void **state)
{
    (void)state;
    if (dp_glibc_probe(malloc, free))
        return -1;
    dp_track_init(1, malloc_usable_size);
    return 0;
}

int main(void)
{
#ifdef __SANITIZE_ADDRESS__
    printf("test_track: skipped under AddressSanitizer (malloc is not glibc's)\n");
    return 0;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parked_tail_comes_back),
        cmocka_unit_test(test_thread_ended_while_parked_stays_off),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
