/* Example 8: a structural leak beside a stable churn.
 *
 * A batch service: every 250 ms it builds a batch of 512-byte items, keeps a
 * small result record (the last 64 stay cached, older ones are dropped), and
 * frees the batch. The record is allocated after the batch, so it lands at
 * the top of the brk heap, above the batch.
 *
 *   steady:  every batch has the same size. Each batch fits in the memory the
 *            previous one freed: resident memory and live memory both stay
 *            flat. The gap is stable.
 *   growing: every batch has 128 more items than the last (the input grows).
 *            Each batch overflows the freed memory below and extends the heap;
 *            the new record then pins the new top. Live memory stays flat
 *            (64 records), but the gap between resident and live memory
 *            ratchets up with every batch and is never given back: a leak no
 *            leak checker finds, since every byte is freed.
 *
 * Usage: structural_leak steady|growing [seconds]. At the end it prints its
 * own timeline as JSON: per batch, the time since start (s), its RSS
 * (/proc/self/statm) and the bytes it held between batches. */
#include <drainprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ITEM 512
#define FIRST_BATCH 8000
#define GROWTH 128
#define KEEP 64
#define TICK_NS 250000000L
#define MAX_TICKS 1000

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *batch[FIRST_BATCH + GROWTH * MAX_TICKS];
static char *records[KEEP];
static double when[MAX_TICKS];
static long rss[MAX_TICKS], held[MAX_TICKS];

static void run_batch(int items, int tick)
{
    for (int i = 0; i < items; i++) {
        if (!(batch[i] = malloc(ITEM)))
            abort();
        memset(batch[i], 'b', ITEM);
    }
    char *result = malloc(ITEM);
    if (!result)
        abort();
    memset(result, 'r', ITEM);
    free(records[tick % KEEP]); /* the oldest cached result expires */
    records[tick % KEEP] = result;
    for (int i = 0; i < items; i++)
        free(batch[i]);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "steady") && strcmp(argv[1], "growing"))) {
        fprintf(stderr, "usage: %s steady|growing [seconds]\n", argv[0]);
        return 2;
    }
    int growth = strcmp(argv[1], "growing") ? 0 : GROWTH;
    double seconds = argc > 2 ? atof(argv[2]) : 48;
    double start = now();
    int ticks = 0;
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (ticks < MAX_TICKS && now() - start < seconds) {
        run_batch(FIRST_BATCH + growth * ticks, ticks);
        when[ticks] = now() - start;
        rss[ticks] = rss_bytes();
        held[ticks] = (long)(ticks + 1 < KEEP ? ticks + 1 : KEEP) * ITEM;
        /* One snapshot a second, between batches: a timer could land inside
         * a batch and read its transient megabytes as live memory. */
        if (ticks % 4 == 3)
            DRAINPROF_SNAPSHOT("tick");
        ticks++;
        next.tv_nsec += TICK_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    DRAINPROF_SNAPSHOT("last-batch");
    printf("{\"mode\":\"%s\",\"item\":%d,\"batches\":[", argv[1], ITEM);
    for (int i = 0; i < ticks; i++)
        printf("%s[%.3f,%ld,%ld]", i ? "," : "", when[i], rss[i], held[i]);
    printf("]}\n");
    return 0;
}
