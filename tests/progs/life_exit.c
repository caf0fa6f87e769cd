/* Unusual exits.
 * life_exit dtors: an atexit handler registered before main and the
 *   program's own destructor allocate and free during exit (the destructor
 *   frees everything), take their time (the sampler ticks meanwhile) and
 *   ask for snapshots. main returns 6.
 * life_exit thread: the same, but a worker thread calls exit(11) while three
 *   others are still allocating and asking for snapshots.
 * Built with -DLIFE_LATE -shared -fPIC, this file is instead a library to
 *   preload after libdrainprof: its atexit handler, registered before the
 *   profiler's, runs after the profiler's exit snapshot and asks for one
 *   more ("after-exit").
 * The program prints what it holds as JSON lines on stdout. */
#ifdef LIFE_LATE
#include <dlfcn.h>
#include <stdlib.h>

static void after_exit(void)
{
    void (*snap)(const char *) = (void (*)(const char *))dlsym(RTLD_DEFAULT, "drainprof_snapshot");
    if (snap)
        snap("after-exit");
}

__attribute__((constructor)) static void register_early(void)
{
    atexit(after_exit);
}

#else

#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *main_kept[64], *atexit_kept[16];

static size_t fill(void **slots, int n, size_t size)
{
    size_t usable = 0;
    for (int i = 0; i < n; i++) {
        slots[i] = malloc(size);
        if (!slots[i])
            exit(2);
        memset(slots[i], 3, size);
        usable += malloc_usable_size(slots[i]);
    }
    return usable;
}

static void churn(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        void *p = malloc(16 + (size_t)(i % 5000));
        void *q = calloc(1, 100000);
        free(p);
        free(q);
    }
}

static void at_exit_handler(void)
{
    churn(10000);
    size_t u = fill(atexit_kept, 16, 65536);
    DRAINPROF_SNAPSHOT("atexit");
    printf("{\"atexit_kept\":%zu}\n", u);
}

__attribute__((constructor)) static void early(void)
{
    atexit(at_exit_handler);
}

__attribute__((destructor)) static void late(void)
{
    /* After the profiler's exit snapshot: allocate, free, wait past a few
     * sampler intervals, ask for a snapshot. */
    churn(10000);
    for (int i = 0; i < 64; i++)
        free(main_kept[i]);
    for (int i = 0; i < 16; i++)
        free(atexit_kept[i]);
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    DRAINPROF_SNAPSHOT("late");
    churn(1000);
    printf("{\"destructor\":\"done\"}\n");
}

static void *allocator_thread(void *arg)
{
    (void)arg;
    for (;;) {
        churn(100);
        DRAINPROF_SNAPSHOT("busy");
    }
    return NULL;
}

static void *exiting_thread(void *arg)
{
    (void)arg;
    churn(20000);
    printf("{\"main_kept\":%zu}\n", fill(main_kept, 64, 32768));
    fflush(stdout);
    exit(11);
}

int main(int argc, char **argv)
{
    DRAINPROF_SNAPSHOT("start");
    const char *mode = argc > 1 ? argv[1] : "dtors";
    if (!strcmp(mode, "thread")) {
        pthread_t t;
        for (int i = 0; i < 3; i++)
            pthread_create(&t, NULL, allocator_thread, NULL);
        pthread_create(&t, NULL, exiting_thread, NULL);
        for (;;)
            churn(100);
    }
    printf("{\"main_kept\":%zu}\n", fill(main_kept, 64, 32768));
    return 6;
}

#endif
