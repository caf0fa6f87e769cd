#include "mem.h"
#include "dp.h"

#include <errno.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Our mappings, as [start, end) pairs. Appended with a CAS on the count and
 * cleared (not compacted) on unmap, so readers never see a torn entry. */
#define DP_MAX_OWN 8192
static struct {
    uintptr_t start, end;
} own[DP_MAX_OWN];
static unsigned own_count;

static void *raw_mmap(size_t size, int flags)
{
    long r = syscall(SYS_mmap, 0, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    return r < 0 && r > -4096 ? NULL : (void *)r;
}

static void remember(uintptr_t start, uintptr_t end)
{
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

void dp_mem_unmap(void *p, size_t size)
{
    int saved = errno;
    size = (size + 4095) & ~(size_t)4095;
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++)
        if (own[i].start == (uintptr_t)p) {
            __atomic_store_n(&own[i].end, 0, __ATOMIC_RELEASE);
            break;
        }
    syscall(SYS_munmap, p, size);
    errno = saved;
}

int dp_mem_is_own(uintptr_t start, uintptr_t end)
{
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++) {
        uintptr_t e = __atomic_load_n(&own[i].end, __ATOMIC_ACQUIRE);
        if (e && own[i].start < end && start < e)
            return 1;
    }
    return 0;
}

size_t dp_mem_resident_in(uintptr_t lo, uintptr_t hi, uint64_t *size)
{
    static unsigned char vec[4096];
    size_t pages = 0;
    *size = 0;
    unsigned n = __atomic_load_n(&own_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n && i < DP_MAX_OWN; i++) {
        uintptr_t s = own[i].start, e = __atomic_load_n(&own[i].end, __ATOMIC_ACQUIRE);
        if (!e || e <= lo || s >= hi)
            continue;
        s = s > lo ? s : lo;
        e = e < hi ? e : hi;
        *size += e - s;
        for (uintptr_t a = s; a < e;) {
            size_t k = (e - a) / 4096 < sizeof vec ? (e - a) / 4096 : sizeof vec;
            if (mincore((void *)a, k * 4096, vec) != 0)
                break;
            for (size_t j = 0; j < k; j++)
                pages += vec[j] & 1;
            a += k * 4096;
        }
    }
    return pages * 4096;
}

size_t dp_mem_resident(void)
{
    uint64_t size;
    return dp_mem_resident_in(0, UINTPTR_MAX, &size);
}

/* 1 MiB slabs; an object never spans two. */
#define BUMP_SLAB (1u << 20)
static char *bump_cur;
static size_t bump_left;
static int bump_lock;

void *dp_mem_bump(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    if (size > BUMP_SLAB)
        return dp_mem_map(size);
    while (__atomic_exchange_n(&bump_lock, 1, __ATOMIC_ACQUIRE))
        ;
    if (bump_left < size) {
        char *slab = dp_mem_map(BUMP_SLAB);
        if (!slab) {
            __atomic_store_n(&bump_lock, 0, __ATOMIC_RELEASE);
            return NULL;
        }
        bump_cur = slab;
        bump_left = BUMP_SLAB;
    }
    void *p = bump_cur;
    bump_cur += size;
    bump_left -= size;
    __atomic_store_n(&bump_lock, 0, __ATOMIC_RELEASE);
    return p;
}

void dp_mem_fork_prepare(void)
{
    while (__atomic_exchange_n(&bump_lock, 1, __ATOMIC_ACQUIRE))
        ;
}

void dp_mem_fork_release(void)
{
    __atomic_store_n(&bump_lock, 0, __ATOMIC_RELEASE);
}
