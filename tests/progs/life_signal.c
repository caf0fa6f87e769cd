/* A SIGALRM handler that allocates and frees, fired every millisecond for a
 * second while the main thread allocates and frees without pause. Not
 * async-signal-safe in general; kept clear of glibc's own locks (the
 * handler's size class is served from the thread's tcache, warmed before
 * the timer starts, and the main thread never uses that class), so a hang
 * here can only come from the profiler's hooks.
 * Usage: life_signal [seconds] */
#include <drainprof.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define HANDLER_SIZE 200
#define RING 512

static void *volatile kept;
static volatile sig_atomic_t fired;

static void on_alarm(int sig)
{
    (void)sig;
    void *p = malloc(HANDLER_SIZE);
    if (p)
        memset(p, 0x77, HANDLER_SIZE);
    void *old = kept;
    kept = p;
    free(old);
    fired++;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    DRAINPROF_SNAPSHOT("start");
    double seconds = argc > 1 ? atof(argv[1]) : 1.0;
    void *warm[2] = {malloc(HANDLER_SIZE), malloc(HANDLER_SIZE)};
    free(warm[0]);
    free(warm[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 1000}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);

    static void *ring[RING];
    static size_t ring_usable[RING];
    uint64_t ops = 0, s = 88172645463325252ull;
    int snaps = 0;
    double end = now() + seconds, next_snap = now() + 0.1;
    while (now() < end) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        int i = (int)(s % RING);
        size_t size = 2000 + (s >> 32) % 60000; /* never a tcache size */
        free(ring[i]);
        ring[i] = (s >> 24) % 3 ? malloc(size) : calloc(1, size);
        if (!ring[i])
            return 2;
        ring_usable[i] = malloc_usable_size(ring[i]);
        ops++;
        if (now() > next_snap) {
            DRAINPROF_SNAPSHOT("tick");
            snaps++;
            next_snap += 0.1;
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    uint64_t held = 0;
    for (int i = 0; i < RING; i++)
        held += ring[i] ? ring_usable[i] : 0;
    DRAINPROF_SNAPSHOT("held");
    for (int i = 0; i < RING; i++)
        free(ring[i]);
    free(kept);
    printf("{\"fired\":%d,\"ops\":%llu,\"held\":%llu,\"snaps\":%d}\n", (int)fired, (unsigned long long)ops,
           (unsigned long long)held, snaps);
    return 0;
}
