#include "mem.h"
#include "dp.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Our mappings, as [start, end) pairs. Appended with a CAS on the count and
 * cleared (not compacted) on unmap, so readers never see a torn entry. */
#define DP_MAX_OWN 8192
static struct {
    uintptr_t start, end;
} own[DP_MAX_OWN];
static unsigned own_count;

/* Memory the hot path needs (page maps, tracked tables, thread records)
 * comes from one reservation made at start: a mapping made later would take
 * the kernel's mmap lock for writing and wait behind any /proc walk. */
#define POOL_RESERVE ((size_t)16 << 30)
static char *pool;
static size_t pool_size, pool_used;

static void *raw_mmap(size_t size, int flags)
{
    long r = syscall(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    return r < 0 && r > -4096 ? NULL : (void *)r;
}

/* A slot is free when its end is 0, claimed while its end is 1. Slots of
 * unmapped ranges are reused, so growing tables do not fill the list. */
static void remember(uintptr_t start, uintptr_t end)
{
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++) {
        uintptr_t free_slot = 0;
        if (__atomic_compare_exchange_n(&own[i].end, &free_slot, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            own[i].start = start;
            __atomic_store_n(&own[i].end, end, __ATOMIC_RELEASE);
            return;
        }
    }
    unsigned i = __atomic_fetch_add(&own_count, 1, __ATOMIC_ACQ_REL);
    if (i < DP_MAX_OWN) {
        own[i].start = start;
        __atomic_store_n(&own[i].end, end, __ATOMIC_RELEASE);
    }
}

static int find_own_data(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t here = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || here < lo || here >= lo + ph->p_memsz)
            continue;
        /* Our writable segment: .data, .bss and our static buffers. */
        remember(lo & ~(uintptr_t)4095, (lo + ph->p_memsz + 4095) & ~(uintptr_t)4095);
        return 1;
    }
    return 0;
}

void dp_mem_register_self(void)
{
    dl_iterate_phdr(find_own_data, (void *)&own_count);
}

void *dp_mem_map(size_t size)
{
    int saved = errno;
    size_t ps = 4096;
    size = (size + ps - 1) & ~(ps - 1);
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    void *p = raw_mmap(size, flags);
    if (p) {
        remember((uintptr_t)p, (uintptr_t)p + size);
    }
    errno = saved;
    return p;
}

void dp_mem_adopt(uintptr_t start, size_t len)
{
    remember(start & ~(uintptr_t)4095, (start + len + 4095) & ~(uintptr_t)4095);
}

/* Clears every entry inside [start, start + len): ranges of ours that an
 * unmapping only cuts into stay listed (their unmapped part reads as not
 * resident). */
void dp_mem_forget(uintptr_t start, size_t len)
{
    uintptr_t end = (start + len + 4095) & ~(uintptr_t)4095;
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++) {
        uintptr_t e = __atomic_load_n(&own[i].end, __ATOMIC_ACQUIRE);
        if (e > 1 && own[i].start >= start && e <= end)
            __atomic_store_n(&own[i].end, 0, __ATOMIC_RELEASE);
    }
}

void dp_mem_unmap(void *p, size_t size)
{
    int saved = errno;
    size = (size + 4095) & ~(size_t)4095;
    dp_mem_forget((uintptr_t)p, size);
    syscall(SYS_munmap, p, size);
    errno = saved;
}

int dp_mem_is_own(uintptr_t start, uintptr_t end)
{
    if (pool && (uintptr_t)pool < end && start < (uintptr_t)pool + pool_size)
        return 1;
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++) {
        uintptr_t e = __atomic_load_n(&own[i].end, __ATOMIC_ACQUIRE);
        if (e > 1 && own[i].start < end && start < e)
            return 1;
    }
    return 0;
}

static uint64_t overlap_size(uintptr_t s, uintptr_t e, uintptr_t lo, uintptr_t hi)
{
    uintptr_t a = s > lo ? s : lo, b = e < hi ? e : hi;
    return b > a ? b - a : 0;
}

uint64_t dp_mem_resident_pages(uintptr_t start, uintptr_t end)
{
    static unsigned char vec[16384]; /* 64 MiB per call: the mmap lock is held that long */
    uint64_t pages = 0;
    /* A mapping's length need not be a page multiple (mmap rounds it up):
     * a partial last page must count, and must not leave k at 0 forever. */
    start &= ~(uintptr_t)4095;
    end = (end + 4095) & ~(uintptr_t)4095;
    for (uintptr_t a = start; a < end;) {
        size_t k = (end - a) / 4096 < sizeof vec ? (end - a) / 4096 : sizeof vec;
        if (mincore((void *)a, k * 4096, vec) != 0)
            break;
        for (size_t j = 0; j < k; j++)
            pages += vec[j] & 1;
        a += k * 4096;
    }
    return pages;
}

static size_t resident_range(uintptr_t s, uintptr_t e, uintptr_t lo, uintptr_t hi, uint64_t *size)
{
    if (e <= lo || s >= hi)
        return 0;
    s = s > lo ? s : lo;
    e = e < hi ? e : hi;
    *size += e - s;
    return dp_mem_resident_pages(s, e) * 4096;
}

size_t dp_mem_resident_in(uintptr_t lo, uintptr_t hi, uint64_t *size)
{
    size_t bytes = 0;
    *size = 0;
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++) {
        uintptr_t e = __atomic_load_n(&own[i].end, __ATOMIC_ACQUIRE), s = own[i].start;
        if (e > 1)
            bytes += resident_range(s, e, lo, hi, size);
    }
    /* Of the reservation, only what was handed out can be resident. */
    if (pool) {
        uint64_t reserved_part = 0;
        uintptr_t used = (uintptr_t)pool + __atomic_load_n(&pool_used, __ATOMIC_RELAXED);
        bytes += resident_range((uintptr_t)pool, used, lo, hi, &reserved_part);
        *size += overlap_size((uintptr_t)pool, (uintptr_t)pool + pool_size, lo, hi);
    }
    return bytes;
}

size_t dp_mem_resident(void)
{
    uint64_t size;
    return dp_mem_resident_in(0, UINTPTR_MAX, &size);
}

/* Memory the hot path needs (page maps, tracked tables, thread records)
 * comes from one reservation made at start: a mapping made later would take
 * the kernel's mmap lock for writing and wait behind any /proc walk. */

/* A reservation must cost the program nothing: under strict overcommit
 * (mode 2) MAP_NORESERVE is ignored and it would be charged against the
 * commit limit, and under an address-space limit it would use the
 * program's share. Then memory is mapped as needed instead. */
static int reservation_is_free(void)
{
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY)
        return 0;
    char mode = '0';
    int fd = open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        if (read(fd, &mode, 1) != 1)
            mode = '0';
        close(fd);
    }
    return mode != '2';
}

void dp_mem_pool_init(void)
{
    if (pool)
        return;
    int saved = errno;
    int ok = reservation_is_free();
    errno = saved;
    for (size_t size = POOL_RESERVE; ok && size >= ((size_t)256 << 20) && !pool; size /= 4) {
        long r = syscall(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r < 0 && r > -4096)
            continue;
        pool = (char *)r;
        pool_size = size;
    }
}

void *dp_mem_hot(size_t size)
{
    size = (size + 4095) & ~(size_t)4095;
    size_t used = __atomic_load_n(&pool_used, __ATOMIC_RELAXED);
    do {
        if (!pool || used + size > pool_size)
            return dp_mem_map(size);
    } while (!__atomic_compare_exchange_n(&pool_used, &used, used + size, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return pool + used;
}

void dp_mem_hot_release(void *p, size_t size)
{
    int saved = errno;
    size = (size + 4095) & ~(size_t)4095;
    if ((char *)p >= pool && (char *)p < pool + pool_size)
        madvise(p, size, MADV_DONTNEED); /* the pages go, the range stays ours */
    else
        dp_mem_unmap(p, size);
    errno = saved;
}

/* 1 MiB slabs; an object never spans two. */
#define BUMP_SLAB (1u << 20)
static char *bump_cur;
static size_t bump_left;
static int bump_lock;

void *dp_mem_bump(size_t size)
{
    /* Whole cache lines: thread records written on every call must not
     * share a line with another thread's (false sharing cost more than the
     * accounting itself). */
    size = (size + 63) & ~(size_t)63;
    if (size > BUMP_SLAB)
        return dp_mem_map(size);
    dp_spin_lock(&bump_lock);
    if (bump_left < size) {
        char *slab = dp_mem_hot(BUMP_SLAB);
        if (!slab) {
            dp_spin_unlock(&bump_lock);
            return NULL;
        }
        bump_cur = slab;
        bump_left = BUMP_SLAB;
    }
    void *p = bump_cur;
    bump_cur += size;
    bump_left -= size;
    dp_spin_unlock(&bump_lock);
    return p;
}

void dp_mem_fork_prepare(void)
{
    dp_spin_lock(&bump_lock);
}

void dp_mem_fork_release(void)
{
    dp_spin_unlock(&bump_lock);
}
