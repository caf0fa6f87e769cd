/* A thread that only calls malloc, from the main arena, while the main
 * thread takes snapshots of a main-arena heap of 64 MiB in 64 Ki chunks
 * (many holds of the arena's lock a walk). With no free and no realloc in
 * the snapshot, the report's gate.waits count only malloc's calls that
 * waited at the walk's gate. Prints "ok" on stdout (the same with and
 * without the library) and the number of mallocs it made on stderr; the
 * gate's figures are the library's, the test judges them. */
#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define HEAP_CHUNKS 65536
#define MAX_MALLOCS (1 << 20)
#define SNAPSHOTS 10

static _Atomic int snapping, stop;
static void **made;
static size_t nmade;

static void *mallocs(void *unused)
{
    (void)unused;
    while (!atomic_load(&stop))
        if (atomic_load(&snapping) && nmade < MAX_MALLOCS && !(made[nmade++] = malloc(48)))
            abort();
    return NULL;
}

int main(void)
{
    /* One arena: the thread allocates from the main arena, the one walked. */
    if (!mallopt(M_ARENA_MAX, 1))
        return 1;
    static void *heap[HEAP_CHUNKS];
    for (int i = 0; i < HEAP_CHUNKS; i++)
        if (!(heap[i] = malloc(1000)))
            return 1;
    made = malloc(MAX_MALLOCS * sizeof *made);
    if (!made)
        return 1;
    pthread_t t;
    if (pthread_create(&t, NULL, mallocs, NULL))
        return 1;
    for (int k = 0; k < SNAPSHOTS; k++) {
        atomic_store(&snapping, 1);
        DRAINPROF_SNAPSHOT("gate");
        atomic_store(&snapping, 0);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    fprintf(stderr, "mallocs=%zu\n", nmade);
    for (size_t i = 0; i < nmade; i++)
        free(made[i]);
    free(made);
    for (int i = 0; i < HEAP_CHUNKS; i++)
        free(heap[i]);
    printf("ok\n");
    return 0;
}
