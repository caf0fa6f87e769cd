/* Example 2: arena explosion.
 *
 * A pool of 12 worker threads handles requests one at a time, round robin.
 * Each request builds an 8 MB working set of small objects, keeps a 4 KiB
 * result, and frees the working set. glibc gives every thread that allocates
 * its own arena (up to 8 per core), so each worker's arena keeps its own 8 MB
 * of freed memory, pinned under its result: 12 x 8 MB resident for work that
 * never needs more than 8 MB at once. With MALLOC_ARENA_MAX=2 the workers
 * share two arenas and each request reuses what the previous one freed.
 *
 * Prints its truth as JSON: the bytes it still holds, the peak working set,
 * and its RSS (/proc/self/statm) after all requests. */
#include <drainprof.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 12
#define ROUNDS 2
#define OBJ_SIZE 256
#define OBJS (8 * 1024 * 1024 / OBJ_SIZE)
#define RESULT_SIZE 4096

static sem_t go[WORKERS], done;
static int quit;
static char *results[WORKERS * ROUNDS];
static int nresults;

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

static void handle_request(void)
{
    static __thread char *work[OBJS];
    for (int i = 0; i < OBJS; i++) {
        work[i] = malloc(OBJ_SIZE);
        if (!work[i])
            abort();
        memset(work[i], 'w', OBJ_SIZE);
    }
    char *result = malloc(RESULT_SIZE); /* above the working set */
    if (!result)
        abort();
    memset(result, 'r', RESULT_SIZE);
    results[nresults++] = result; /* only one request runs at a time */
    for (int i = 0; i < OBJS; i++)
        free(work[i]);
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    for (;;) {
        sem_wait(&go[id]);
        if (quit)
            return NULL;
        handle_request();
        sem_post(&done);
    }
}

int main(void)
{
    pthread_t t[WORKERS];
    sem_init(&done, 0, 0);
    for (long i = 0; i < WORKERS; i++) {
        sem_init(&go[i], 0, 0);
        if (pthread_create(&t[i], NULL, worker, (void *)i))
            return 1;
    }
    for (int r = 0; r < ROUNDS * WORKERS; r++) {
        sem_post(&go[r % WORKERS]);
        sem_wait(&done);
    }
    /* All workers are alive and idle: their arenas are what a server's
     * arenas look like between bursts. */
    DRAINPROF_SNAPSHOT("idle");
    long rss = rss_bytes();
    quit = 1;
    for (int i = 0; i < WORKERS; i++) {
        sem_post(&go[i]);
        pthread_join(t[i], NULL);
    }
    printf("{\"workers\":%d,\"live_bytes\":%d,\"working_set_bytes\":%d,\"rss\":%ld}\n", WORKERS,
           nresults * RESULT_SIZE, OBJS * OBJ_SIZE, rss);
    return 0;
}
