#include "glibc.h"
#include "dp.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define OFF_TOP DP_OFF_TOP
#define OFF_NEXT 2160
#define OFF_SYSTEM_MEM DP_OFF_SYSTEM_MEM

static char *main_arena;
static uintptr_t tcache_key;
static int libc_minor;

int dp_glibc_arena_trylock(void *ar)
{
    int c = 0;
    return __atomic_compare_exchange_n((int *)ar, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void dp_glibc_arena_lock(void *ar)
{
    int *m = ar;
    if (dp_glibc_arena_trylock(ar))
        return;
    while (__atomic_exchange_n(m, 2, __ATOMIC_ACQUIRE) != 0)
        syscall(SYS_futex, m, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

int dp_glibc_arena_unlock(void *ar)
{
    int *m = ar;
    if (__atomic_exchange_n(m, 0, __ATOMIC_RELEASE) <= 1)
        return 0;
    syscall(SYS_futex, m, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    return 1;
}

uintptr_t dp_glibc_tcache_key(void)
{
    return tcache_key;
}

/* heap_info gained its pagesize field (and 16 bytes of size) in 2.35. */
size_t dp_glibc_heap_info_size(void)
{
    return libc_minor >= 35 ? 48 : 32;
}

int dp_glibc_safe_linking(void)
{
    return libc_minor >= 32;
}

static int ends_with_libc(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
}

static int detect(void *next_malloc, char *name, size_t cap)
{
    Dl_info info;
    if (!dladdr(next_malloc, &info) || !info.dli_fname) {
        snprintf(name, cap, "unknown");
        return 0;
    }
    if (ends_with_libc(info.dli_fname)) {
        snprintf(name, cap, "glibc");
        return 1;
    }
    const char *slash = strrchr(info.dli_fname, '/');
    snprintf(name, cap, "%s", slash ? slash + 1 : info.dli_fname);
    if (!name[0])
        snprintf(name, cap, "main-executable");
    return 0;
}

/* The shim and the constructor both ask, one after the other; dladdr
 * searches symbol tables (~140k instructions), so the answer is kept. */
int dp_glibc_detect(void *next_malloc, char *name, size_t cap)
{
    static void *asked;
    static int answer;
    static char known[256];
    if (!asked || asked != next_malloc) {
        answer = detect(next_malloc, known, sizeof known);
        asked = next_malloc;
    }
    snprintf(name, cap, "%s", known);
    return answer;
}

/* As glibc reads a size tunable (decimal, 0x hex, leading-0 octal); a
 * value it would reject may still lower the floor, which only costs speed. */
static void lower_to(size_t *floor, const char *v)
{
    char *end;
    unsigned long long x = strtoull(v, &end, 0);
    if (end != v && x < *floor)
        *floor = (size_t)x;
}

size_t dp_glibc_mmap_threshold_floor(void)
{
    static const char key[] = "glibc.malloc.mmap_threshold=";
    size_t floor = DP_MMAP_THRESHOLD_DEFAULT;
    const char *v = getenv("MALLOC_MMAP_THRESHOLD_");
    if (v)
        lower_to(&floor, v);
    for (const char *t = getenv("GLIBC_TUNABLES"); t && (t = strstr(t, key)); t += sizeof key - 1)
        lower_to(&floor, t + sizeof key - 1);
    return floor;
}

static int version_ok(void)
{
    const char *v = gnu_get_libc_version();
    int major = 0, minor = 0;
    for (; *v >= '0' && *v <= '9'; v++)
        major = major * 10 + (*v - '0');
    if (*v == '.')
        for (v++; *v >= '0' && *v <= '9'; v++)
            minor = minor * 10 + (*v - '0');
    libc_minor = minor;
    return major == 2 && minor >= 26 && minor <= 40;
}

int dp_glibc_probe(void *(*real_malloc)(size_t), void (*real_free)(void *))
{
    if (!version_ok())
        return -1;
    /* Larger than any tcache or fastbin chunk, smaller than the mmap
     * threshold; the guard keeps it from merging into the top. */
    void *p = real_malloc(1280);
    void *volatile guard = real_malloc(32);
    if (!p || !guard) {
        real_free(p);
        real_free(guard);
        return -1;
    }
    size_t word = ((size_t *)p)[-1];
    int usable = !(word & (DP_IS_MMAPPED | DP_NON_MAIN_ARENA));
    real_free(p);
    char *bin = usable ? ((char **)p)[0] : NULL;
    real_free(guard);
    /* A chunk parked in tcache carries glibc's random tcache_key in its
     * second word (2.34 and later): learn it from one of ours. */
    void *small = real_malloc(24);
    if (small) {
        real_free(small);
        tcache_key = ((uintptr_t *)small)[1];
    }
    if (!bin)
        return -1;
    /* The unsorted bin's fake chunk starts at &av->top. */
    char *av = bin - OFF_TOP;
    Dl_info info;
    if (!dladdr(av, &info) || !info.dli_fname || !ends_with_libc(info.dli_fname))
        return -1;
    size_t sys = *(size_t *)(av + OFF_SYSTEM_MEM);
    uintptr_t top = *(uintptr_t *)(av + OFF_TOP);
    if (!top || (sys & 4095) || sys == 0 || *(char **)(av + OFF_NEXT) == NULL)
        return -1;
    main_arena = av;
    return 0;
}

void *dp_glibc_main_arena(void)
{
    return main_arena;
}

uintptr_t *dp_glibc_main_top(void)
{
    return main_arena ? (uintptr_t *)(main_arena + OFF_TOP) : NULL;
}

/* Reads another thread's arena memory without trusting it to stay mapped
 * (a non-main heap can be unmapped between two reads): the kernel copies it
 * and answers EFAULT instead of the program taking a SIGSEGV. */
int dp_safe_read(uintptr_t addr, void *buf, size_t len)
{
    int saved = errno;
    struct iovec local = {buf, len}, remote = {(void *)addr, len};
    ssize_t n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    errno = saved;
    return n == (ssize_t)len ? 0 : -1;
}

static int read_word(uintptr_t addr, uintptr_t *v)
{
    return dp_safe_read(addr, v, sizeof *v);
}

static int read_arena(char *av, struct dp_arena_info *a)
{
    uintptr_t sys, top, word;
    if (read_word((uintptr_t)av + OFF_SYSTEM_MEM, &sys) || read_word((uintptr_t)av + OFF_TOP, &top) ||
        read_word(top + sizeof(size_t), &word))
        return -1;
    a->ar = av;
    a->main = av == main_arena;
    a->system_mem = sys;
    a->top = top;
    a->top_size = word & ~(size_t)DP_SIZE_BITS;
    a->base = a->main ? a->top + a->top_size - a->system_mem : 0;
    return 0;
}

int dp_glibc_arenas(struct dp_arena_info *out, int max)
{
    if (!main_arena)
        return 0;
    int n = 0;
    char *av = main_arena;
    /* glibc never frees an arena, so the ring only grows. */
    do {
        if (read_arena(av, &out[n]) == 0)
            n++;
        uintptr_t next;
        if (read_word((uintptr_t)av + OFF_NEXT, &next))
            break;
        av = (char *)next;
    } while (av && av != main_arena && n < max);
    return n;
}

int dp_glibc_arena_heaps(uintptr_t top, uintptr_t *start, size_t *size, int max)
{
    int n = 0;
    uintptr_t h = top & ~(DP_HEAP_MAX - 1);
    while (h && !(h & (DP_HEAP_MAX - 1)) && n < max) {
        struct dp_heap_info hi;
        if (dp_safe_read(h, &hi, sizeof hi) || hi.size > DP_HEAP_MAX)
            break;
        start[n] = h;
        size[n] = hi.size;
        n++;
        h = (uintptr_t)hi.prev;
    }
    return n;
}
