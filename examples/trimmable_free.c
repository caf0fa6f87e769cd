/* Example 4: free pages that only malloc_trim(0) gives back.
 *
 * A worker thread loads 100 MB of 1000-byte records into its own arena, then
 * drops all but one record in every 64: live memory falls to ~1.5 MB, yet
 * RSS does not move. The freed records coalesce into ~63 KB free chunks
 * between the survivors; free() only shrinks a heap from its top, so those
 * pages stay resident. malloc_trim(0) walks the free chunks of every arena
 * and madvises their whole pages away: most of the gap goes back.
 *
 * The program measures what a real malloc_trim(0) would give back without
 * giving it back itself: a forked copy of the process (glibc's fork holds
 * every arena lock, so the copy's heap is consistent) trims and reports its
 * own RSS drop through a pipe. The program also measures its RSS just before
 * and after the "dropped" snapshot: under drainprof --trim on, the profiler
 * trims inside that snapshot and this drop is what it released. All of it is
 * printed as one JSON line; the records stay held until exit. */
#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECORD_SIZE 1000
#define RECORDS 100000
#define KEEP_EVERY 64

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

/* RSS released by malloc_trim(0) in a forked copy, or -1. */
static long trim_in_copy(void)
{
    int fd[2];
    long drop = -1;
    if (pipe(fd))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        long before = rss_bytes();
        malloc_trim(0);
        long d = before - rss_bytes();
        _exit(write(fd[1], &d, sizeof d) == sizeof d ? 0 : 1);
    }
    close(fd[1]);
    if (pid > 0 && read(fd[0], &drop, sizeof drop) != sizeof drop)
        drop = -1;
    close(fd[0]);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    return drop;
}

static void *loader(void *arg)
{
    static char *records[RECORDS];
    long kept = 0;
    (void)arg;
    for (int i = 0; i < RECORDS; i++) {
        if (!(records[i] = malloc(RECORD_SIZE)))
            abort();
        memset(records[i], 'r', RECORD_SIZE);
    }
    for (int i = 0; i < RECORDS; i++) {
        if (i % KEEP_EVERY == KEEP_EVERY - 1) {
            kept++;
            continue;
        }
        free(records[i]);
    }
    long before = rss_bytes();
    DRAINPROF_SNAPSHOT("dropped");
    long after = rss_bytes();
    long trimmable = trim_in_copy();
    printf("{\"kept\":%ld,\"live_bytes\":%ld,\"freed_bytes\":%ld,\"rss_before_snapshot\":%ld,"
           "\"rss_drop_in_snapshot\":%ld,\"trim_releases\":%ld}\n",
           kept, kept * RECORD_SIZE, (RECORDS - kept) * (long)RECORD_SIZE, before, before - after, trimmable);
    return NULL;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, loader, NULL))
        return 1;
    pthread_join(t, NULL);
    return 0;
}
