/* bigheap: what a snapshot of a large, fragmented heap costs the program.
 *
 * Builds a heap of SIZE MiB (default 1024) from chunks of 1 .. 64 KiB, frees
 * a random 40% of them, then starts W worker threads that keep calling
 * malloc/free and time every call. The main thread then
 *   1. lets the workers warm up,
 *   2. calls drainprof_snapshot("bench") K times, 100 ms apart, timing each
 *      call (the "snapshot window"),
 *   3. waits as long again without snapshots (the "control window").
 * The worst single malloc/free latency in each window tells how long a
 * snapshot stalls the allocating threads, beyond the scheduler's own noise;
 * so does the worst of the calls that overlapped a snapshot call (the
 * "during" figures), which leaves out the 100 ms gaps between snapshots,
 * when the main thread sleeps and nothing of the profiler runs.
 * Without libdrainprof the snapshot call is absent and only the control
 * figures mean anything.
 *
 * With -s the workers share the main arena, the one holding the big heap,
 * so they wait whenever the snapshot's walk holds its lock: a program's
 * main thread, or any thread once MALLOC_ARENA_MAX is reached. Without it
 * each worker gets an arena of its own, as glibc gives new threads.
 *
 * Every call of 100 us or more is put down to a cause, from the worker's
 * CPU time (its CPU clock) and context switches (getrusage RUSAGE_THREAD)
 * around it. When it spent most of the call off its CPU,
 *   slept      it blocked (a lock the snapshot holds, the kernel's mmap lock);
 *   preempted  the scheduler ran another thread on its CPU;
 *   displaced  preempted once, on the CPU it ran on, while the snapshot
 *              call it overlapped ran on another CPU from start to end
 *              with no context switch: the thread that took its CPU was
 *              not the snapshot's, and with DRAINPROF_INTERVAL=0 (as
 *              make bench runs it) the library has no thread of its own
 *              (on this VM: the guest agent's vsock kworkers and runtime;
 *              docs/performance.md);
 * else, or off its CPU with no context switch,
 *   ran        the call ran on, or the host stopped the virtual CPU (time
 *              the guest counts as the thread's, or as steal: both are
 *              seen on this hypervisor).
 * A snapshot can stall a worker by the first two, and by the wait at the
 * walk's gate, where a worker spins while the walk holds its arena's lock:
 * that runs on, and the library's report times it (gate.max_spin_us: the
 * wait on the thread's CPU; gate.max_wait_us: the whole wait).
 *
 *   bigheap [-m MIB] [-w WORKERS] [-k SNAPSHOTS] [-s]
 *
 * Output: key=value lines (see the end of main). */
#include "drainprof.h"

#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { PH_WARMUP, PH_SNAP, PH_CONTROL, PH_STOP, NPHASES };
/* Where a call's latency is recorded: its phase, and (as well) DURING when
 * it overlapped a snapshot call. */
enum { DURING = NPHASES, NSLOTS };
/* Latency histogram bounds in microseconds; the last bucket is >= 1 ms. */
static const double bounds_us[] = {1, 10, 100, 1000};
#define NBUCKETS 5
/* Calls at least this long get a cause. */
#define SLOW_US 100.0
enum { SLEPT, PREEMPTED, RAN, DISPLACED, NCAUSES };
/* Preempted calls that overlapped a snapshot, kept until the main thread
 * knows where each snapshot ran. */
#define MAX_HELD 256

static _Atomic int phase;
/* Odd while the main thread is inside drainprof_snapshot(). */
static _Atomic unsigned snap_seq;
/* Per snapshot, the CPU its call ran on from start to end without a
 * context switch, else -1. */
static int snap_cpu[1000];

struct held {
    double us;
    unsigned snap;
    int cpu;
};

struct worker {
    pthread_t tid;
    uint64_t seed;
    double max_us[NSLOTS];
    uint64_t hist[NSLOTS][NBUCKETS];
    uint64_t calls[NSLOTS];
    double cause_max_us[NSLOTS][NCAUSES];
    uint64_t cause_ge1ms[NSLOTS][NCAUSES];
    struct held held[MAX_HELD];
    int nheld;
};

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* What a slow call is measured against: the calling thread's context
 * switches and CPU time, and the wall clock, when last read. */
struct base {
    long vol, invol;
    double cpu_us, wall_us;
    int cpu; /* the CPU it ran on */
};

/* CPU time from the thread's CPU clock, not getrusage: the kernel adds a
 * running thread's time to what getrusage reports only at a tick or a
 * switch, so that figure lags by up to a tick. */
static void read_base(struct base *b)
{
    struct rusage ru;
    struct timespec ts;
    getrusage(RUSAGE_THREAD, &ru);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    b->vol = ru.ru_nvcsw;
    b->invol = ru.ru_nivcsw;
    b->cpu_us = ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
    b->wall_us = now_us();
    b->cpu = sched_getcpu();
}

/* The thread's context switches so far. */
static long switches(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_nvcsw + ru.ru_nivcsw;
}

static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void record(struct worker *w, int ph, double us)
{
    int b = 0;
    while (b < NBUCKETS - 1 && us >= bounds_us[b])
        b++;
    w->hist[ph][b]++;
    w->calls[ph]++;
    if (us > w->max_us[ph])
        w->max_us[ph] = us;
}

static void record_cause(struct worker *w, int ph, int cause, double us)
{
    if (us > w->cause_max_us[ph][cause])
        w->cause_max_us[ph][cause] = us;
    if (us >= 1000)
        w->cause_ge1ms[ph][cause]++;
}

static void *work(void *arg)
{
    enum { SET = 256 };
    struct worker *w = arg;
    void *set[SET] = {0};
    int ph;
    struct base b0 = {0};
    for (unsigned n = 0; (ph = atomic_load_explicit(&phase, memory_order_relaxed)) != PH_STOP; n++) {
        uint64_t r = next_rand(&w->seed);
        void **slot = &set[r % SET];
        size_t sz = 16 + (r >> 16) % 4081;
        /* The baseline for a slow call's cause: read now and then, and
         * after every call long enough to have slept, so a slow call is
         * not blamed on an earlier one's switch. */
        if (!(n & 255))
            read_base(&b0);
        unsigned q0 = atomic_load_explicit(&snap_seq, memory_order_acquire);
        double t0 = now_us();
        free(*slot);
        double t1 = now_us();
        *slot = malloc(sz);
        double t2 = now_us();
        unsigned q1 = atomic_load_explicit(&snap_seq, memory_order_acquire);
        if (!*slot)
            abort();
        *(volatile char *)*slot = 1;
        int during = (q0 & 1) || q1 != q0;
        double us[2] = {t1 - t0, t2 - t1};
        for (int k = 0; k < 2; k++) {
            record(w, ph, us[k]);
            if (during)
                record(w, DURING, us[k]);
        }
        if (us[0] >= 10 || us[1] >= 10) {
            struct base b1;
            read_base(&b1);
            /* Off-CPU time since the baseline: nearly all of it in this
             * pair of calls, the other calls since being short. */
            double off = (b1.wall_us - b0.wall_us) - (b1.cpu_us - b0.cpu_us);
            for (int k = 0; k < 2; k++) {
                if (us[k] < SLOW_US)
                    continue;
                int cause = 2 * off < us[k] ? RAN : b1.vol > b0.vol ? SLEPT : b1.invol > b0.invol ? PREEMPTED : RAN;
                record_cause(w, ph, cause, us[k]);
                /* Preempted once and back on the same CPU: where the
                 * snapshot ran decides whether it could have been it. */
                if (during && cause == PREEMPTED && b1.invol == b0.invol + 1 && b1.cpu == b0.cpu &&
                    b0.cpu >= 0 && w->nheld < MAX_HELD)
                    w->held[w->nheld++] = (struct held){us[k], q0 / 2, b0.cpu};
                else if (during)
                    record_cause(w, DURING, cause, us[k]);
            }
            b0 = b1;
        }
    }
    for (int i = 0; i < SET; i++)
        free(set[i]);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts))
        ;
}

int main(int argc, char **argv)
{
    long mib = 1024;
    long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = nproc > 1 ? (int)nproc - 1 : 1;
    int snaps = 5, shared = 0;
    int opt;
    while ((opt = getopt(argc, argv, "m:w:k:s")) != -1) {
        switch (opt) {
        case 'm':
            mib = atol(optarg);
            break;
        case 'w':
            workers = atoi(optarg);
            break;
        case 'k':
            snaps = atoi(optarg);
            break;
        case 's':
            shared = 1;
            break;
        default:
            fprintf(stderr, "usage: bigheap [-m MIB] [-w WORKERS] [-k SNAPSHOTS] [-s]\n");
            return 2;
        }
    }
    if (mib < 1 || workers < 1 || workers > 64 || snaps < 1 || snaps > 1000)
        return 2;

    /* Build: chunks of 1 .. 64 KiB (below the mmap threshold, so all of it
     * is heap), written whole so the heap is resident. */
    size_t target = (size_t)mib << 20, total = 0, count = 0, cap = 1024;
    void **chunks = malloc(cap * sizeof *chunks);
    uint64_t seed = 0x853c49e6748fea9bull;
    double b0 = now_us();
    while (chunks && total < target) {
        if (count == cap) {
            cap *= 2;
            void **c = realloc(chunks, cap * sizeof *chunks);
            if (!c)
                abort();
            chunks = c;
        }
        size_t n = 1024 + next_rand(&seed) % (63 * 1024 + 1);
        chunks[count] = malloc(n);
        if (!chunks[count])
            abort();
        memset(chunks[count], (int)count, n);
        total += n;
        count++;
    }
    if (!chunks)
        abort();
    size_t freed = 0;
    for (size_t i = 0; i < count; i++) {
        if (next_rand(&seed) % 10 < 4) {
            free(chunks[i]);
            chunks[i] = NULL;
            freed++;
        }
    }
    double build_ms = (now_us() - b0) / 1000;

    struct worker *w = calloc(workers, sizeof *w);
    if (!w)
        abort();
    /* One arena in all: a new thread then takes the main arena, the one
     * this thread built the heap in. */
    if (shared && !mallopt(M_ARENA_MAX, 1))
        abort();
    for (int i = 0; i < workers; i++) {
        w[i].seed = 0x9e3779b97f4a7c15ull * (i + 1);
        if (pthread_create(&w[i].tid, NULL, work, &w[i]))
            abort();
    }
    sleep_ms(300);

    int have = drainprof_snapshot != NULL;
    double snap_ms[1000];
    double s0 = now_us();
    atomic_store(&phase, PH_SNAP);
    for (int k = 0; k < snaps; k++) {
        if (k)
            sleep_ms(100);
        int cpu0 = sched_getcpu();
        long sw0 = switches();
        atomic_fetch_add(&snap_seq, 1);
        double t0 = now_us();
        DRAINPROF_SNAPSHOT("bench");
        snap_ms[k] = (now_us() - t0) / 1000;
        atomic_fetch_add(&snap_seq, 1);
        snap_cpu[k] = cpu0 >= 0 && sched_getcpu() == cpu0 && switches() == sw0 ? cpu0 : -1;
    }
    sleep_ms(50); /* a stall that began inside the last call still counts */
    double window_ms = (now_us() - s0) / 1000;
    atomic_store(&phase, PH_CONTROL);
    sleep_ms(window_ms);
    atomic_store(&phase, PH_STOP);

    for (int i = 0; i < workers; i++) {
        pthread_join(w[i].tid, NULL);
        for (int j = 0; j < w[i].nheld; j++) {
            const struct held *h = &w[i].held[j];
            int other = h->snap < (unsigned)snaps && snap_cpu[h->snap] >= 0 && snap_cpu[h->snap] != h->cpu;
            record_cause(&w[i], DURING, other ? DISPLACED : PREEMPTED, h->us);
        }
    }

    printf("heap_mib=%ld chunks=%zu freed=%zu build_ms=%.1f workers=%d arena=%s\n", mib, count, freed,
           build_ms, workers, shared ? "shared" : "own");
    printf("profiler=%s snapshots=%d window_ms=%.1f\n", have ? "present" : "absent", snaps,
           window_ms);
    if (have) {
        printf("snapshot_ms=");
        for (int k = 0; k < snaps; k++)
            printf("%s%.3f", k ? "," : "", snap_ms[k]);
        qsort(snap_ms, snaps, sizeof *snap_ms, cmp_double);
        double med = snaps % 2 ? snap_ms[snaps / 2]
                               : (snap_ms[snaps / 2 - 1] + snap_ms[snaps / 2]) / 2;
        printf("\nsnapshot_ms_median=%.3f snapshot_ms_max=%.3f\n", med, snap_ms[snaps - 1]);
    }
    static const char *names[NSLOTS] = {"warmup", "snap", "control", "stop", "during"};
    static const int shown[] = {PH_SNAP, PH_CONTROL, DURING};
    for (size_t s = 0; s < sizeof shown / sizeof shown[0]; s++) {
        int ph = shown[s];
        double mx = 0;
        uint64_t calls = 0, hist[NBUCKETS] = {0};
        for (int i = 0; i < workers; i++) {
            if (w[i].max_us[ph] > mx)
                mx = w[i].max_us[ph];
            calls += w[i].calls[ph];
            for (int b = 0; b < NBUCKETS; b++)
                hist[b] += w[i].hist[ph][b];
        }
        printf("%s_max_us=%.1f %s_calls=%llu %s_hist=lt1us:%llu,lt10us:%llu,lt100us:%llu,"
               "lt1ms:%llu,ge1ms:%llu\n",
               names[ph], mx, names[ph], (unsigned long long)calls, names[ph],
               (unsigned long long)hist[0], (unsigned long long)hist[1],
               (unsigned long long)hist[2], (unsigned long long)hist[3],
               (unsigned long long)hist[4]);
        static const char *causes[NCAUSES] = {"slept", "preempted", "ran", "displaced"};
        for (int c = 0; c < NCAUSES; c++) {
            double cmx = 0;
            uint64_t ge = 0;
            for (int i = 0; i < workers; i++) {
                if (w[i].cause_max_us[ph][c] > cmx)
                    cmx = w[i].cause_max_us[ph][c];
                ge += w[i].cause_ge1ms[ph][c];
            }
            printf("%s%s_%s_max_us=%.1f %s_%s_ge1ms=%llu", c ? " " : "", names[ph], causes[c], cmx,
                   names[ph], causes[c], (unsigned long long)ge);
        }
        printf("\n");
    }
    for (size_t i = 0; i < count; i++)
        free(chunks[i]);
    free(chunks);
    free(w);
    return 0;
}
