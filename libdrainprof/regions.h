/* Mappings the application (or its runtime: a GC heap, CPython's arenas, a
 * JIT) makes itself through the interposed mmap family. */
#ifndef DP_REGIONS_H
#define DP_REGIONS_H
#include <stddef.h>
#include <stdint.h>

struct dp_region {
    uintptr_t start, end;
    int prot, flags;
    int file;       /* mapped from a file descriptor */
    uint32_t stack; /* stack id of the mapping call, 0 = unknown */
};

void dp_regions_map(uintptr_t start, size_t len, int prot, int flags, int fd);
void dp_regions_unmap(uintptr_t start, size_t len);
/* old_stays: the old range is still mapped after the call. */
void dp_regions_remap(uintptr_t old, size_t old_len, uintptr_t new_start, size_t new_len, int old_stays);
void dp_regions_note_brk(void);
void dp_regions_note_madvise(int advice, size_t len);

/* Copies up to max regions (sorted by nothing in particular); returns the
 * count. Holds the table's lock only for the copy. */
int dp_regions_copy(struct dp_region *out, int max);

struct dp_region_counts {
    uint64_t app_brk_calls, madv_free_bytes, madv_dontneed_bytes, dropped;
};
void dp_regions_counts(struct dp_region_counts *c);
void dp_regions_fork_prepare(void);
void dp_regions_fork_release(void);
#endif
