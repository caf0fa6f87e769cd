/* Example 5: the dynamic mmap threshold.
 *
 * glibc serves blocks of 128 KiB and more with their own mmap, so free()
 * unmaps them at once. But freeing such a block raises the threshold to its
 * size (up to 32 MiB): later blocks of that size come from the heap, and
 * freeing them leaves resident holes instead of unmapping.
 *
 * An image service reads one 4 MiB file into a scratch buffer at start-up
 * (mmapped, then freed: threshold now 4 MiB). It then decodes 24 frames of
 * 2 MiB and drops every other one. The 24 frames sat in the brk heap; the 12
 * dropped ones are 24 MiB of holes that stay resident. Run it with
 * MALLOC_MMAP_THRESHOLD_=131072 (which also turns the adjustment off) and
 * the frames are mmapped and the dropped ones unmapped.
 *
 * Prints its truth as JSON: the frames it holds (count, bytes), the bytes it
 * freed, and its RSS (/proc/self/statm). */
#include <drainprof.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCRATCH (4u << 20)
#define FRAME (2u << 20)
#define FRAMES 24

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

int main(void)
{
    char *scratch = malloc(SCRATCH);
    if (!scratch)
        return 1;
    memset(scratch, 'c', SCRATCH);
    free(scratch);

    static char *frames[FRAMES];
    for (int i = 0; i < FRAMES; i++) {
        if (!(frames[i] = malloc(FRAME)))
            return 1;
        memset(frames[i], 'f', FRAME);
    }
    long held = 0, freed = 0;
    for (int i = 0; i < FRAMES; i++) {
        if (i % 2 == 0) {
            free(frames[i]);
            freed++;
        } else {
            held++;
        }
    }
    DRAINPROF_SNAPSHOT("decoded");
    printf("{\"frames_held\":%ld,\"held_bytes\":%ld,\"freed_bytes\":%ld,\"frame_size\":%u,\"rss\":%ld}\n", held,
           held * (long)FRAME, freed * (long)FRAME, FRAME, rss_bytes());
    return 0;
}
