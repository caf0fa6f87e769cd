#include "regions.h"
#include "dp.h"
#include "sites.h"

#include <sys/mman.h>

#define MAX_REGIONS 4096
static struct dp_region table[MAX_REGIONS];
static int count;
static int lock;
static struct dp_region_counts counts;

static void remove_range(uintptr_t start, uintptr_t end)
{
    for (int i = 0; i < count; i++) {
        struct dp_region *r = &table[i];
        if (r->end <= start || r->start >= end)
            continue;
        if (r->start < start && r->end > end) {
            /* A hole in the middle: split, keeping the tail as a new entry. */
            if (count < MAX_REGIONS) {
                table[count] = *r;
                table[count].start = end;
                count++;
            } else {
                counts.dropped++;
            }
            r->end = start;
        } else if (r->start < start) {
            r->end = start;
        } else if (r->end > end) {
            r->start = end;
        } else {
            table[i--] = table[--count];
        }
    }
}

static void add(uintptr_t start, uintptr_t end, int prot, int flags, int file, uint32_t stack)
{
    if (count == MAX_REGIONS) {
        counts.dropped++;
        return;
    }
    table[count++] = (struct dp_region){start, end, prot, flags, file, stack};
}

/* The kernel maps and unmaps whole pages: a length is rounded up as it
 * rounds it. */
static size_t pages(size_t len)
{
    return (len + 4095) & ~(size_t)4095;
}

void dp_regions_map(uintptr_t start, size_t len, int prot, int flags, int fd)
{
    len = pages(len);
    uint32_t stack = dp_sites_stack_here();
    dp_spin_lock(&lock);
    remove_range(start, start + len); /* MAP_FIXED replaces what was there */
    add(start, start + len, prot, flags, fd >= 0 && !(flags & MAP_ANONYMOUS), stack);
    dp_spin_unlock(&lock);
}

void dp_regions_unmap(uintptr_t start, size_t len)
{
    len = pages(len);
    dp_spin_lock(&lock);
    remove_range(start, start + len);
    dp_spin_unlock(&lock);
}

void dp_regions_remap(uintptr_t old, size_t old_len, uintptr_t new_start, size_t new_len, int old_stays)
{
    old_len = pages(old_len);
    new_len = pages(new_len);
    dp_spin_lock(&lock);
    struct dp_region keep = {0};
    for (int i = 0; i < count; i++)
        if (table[i].start <= old && table[i].end > old) {
            keep = table[i];
            break;
        }
    if (!old_stays)
        remove_range(old, old + old_len);
    remove_range(new_start, new_start + new_len); /* MREMAP_FIXED replaces what was there */
    if (keep.end)
        add(new_start, new_start + new_len, keep.prot, keep.flags, keep.file, keep.stack);
    dp_spin_unlock(&lock);
}

void dp_regions_note_brk(void)
{
    __atomic_fetch_add(&counts.app_brk_calls, 1, __ATOMIC_RELAXED);
}

void dp_regions_note_madvise(int advice, size_t len)
{
    if (advice == MADV_FREE)
        __atomic_fetch_add(&counts.madv_free_bytes, len, __ATOMIC_RELAXED);
    else if (advice == MADV_DONTNEED)
        __atomic_fetch_add(&counts.madv_dontneed_bytes, len, __ATOMIC_RELAXED);
}

int dp_regions_copy(struct dp_region *out, int max)
{
    dp_spin_lock(&lock);
    int n = count < max ? count : max;
    for (int i = 0; i < n; i++)
        out[i] = table[i];
    dp_spin_unlock(&lock);
    return n;
}

void dp_regions_counts(struct dp_region_counts *c)
{
    dp_spin_lock(&lock);
    *c = counts;
    dp_spin_unlock(&lock);
}

void dp_regions_fork_prepare(void)
{
    dp_spin_lock(&lock);
}

void dp_regions_fork_release(void)
{
    dp_spin_unlock(&lock);
}
