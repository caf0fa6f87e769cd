/* Internal declarations shared by the library's files. Every dp_* symbol is
 * hidden (the library is built with -fvisibility=hidden); only the
 * interposed libc names and drainprof_* are exported. */
#ifndef DP_H
#define DP_H

#include <stddef.h>
#include <stdint.h>

#define DP_LIKELY(x) __builtin_expect(!!(x), 1)
#define DP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define DP_EXPORT __attribute__((visibility("default")))

#define DP_PAGE_SHIFT 12
#define DP_PAGE ((uintptr_t)1 << DP_PAGE_SHIFT)

/* Invariant checks that stay on in release builds: a broken invariant inside
 * someone else's process is reported once and the check's caller backs off,
 * it never aborts the program. */
#define DP_CHECK(cond) (DP_LIKELY(cond) ? 1 : (dp_invariant_failed(#cond, __FILE__, __LINE__), 0))
void dp_invariant_failed(const char *what, const char *file, int line);

/* One-line warning on stderr, written with write(2), errno preserved. */
void dp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Per-thread re-entry guard: set while the library itself runs inside a hook,
 * so allocations made by libunwind, dladdr or our own code are forwarded
 * untracked. */
extern __thread int dp_in_hook;

/* What the allocation fast path reads and writes of its thread, in one TLS
 * block (one address computation serves all). */
struct dp_track_thread;
struct dp_thread_hot {
    struct dp_track_thread *rec; /* the thread's record (track.c); NULL until its first call */
    int64_t sample_left;         /* bytes before the next sample (sites.c) */
    uint64_t allocs;             /* fast-path calls; read through the record (track.c) */
    size_t tail_max;             /* malloc requests below this are forwarded as a tail call (track.h) */
    int tail_parked;             /* tail_max is 0 for a snapshot's walks, to be restored (track.c) */
    void *arena;                 /* the thread arena its malloc uses, once learned (track.c); NULL: not known */
    int exited;                  /* the thread's exit handler ran */
    int registered;              /* rec->hot is this block: the slow path need not read the record */
};
extern __thread struct dp_thread_hot dp_hot;

/* Adds one to a count only its owner writes, in one instruction: readers
 * load it racily and an aligned 8-byte store is atomic on x86-64, so no
 * lock prefix is needed, and C has no relaxed increment that is not a
 * separate load and store. */
static inline __attribute__((always_inline)) void dp_count_one(uint64_t *c)
{
    __asm__("addq $1, %0" : "+m"(*c));
}

/* Takes c from a countdown only its owner writes; 0 when that brought it to
 * 0 or below. One subtraction in memory and a branch on its flags: C would
 * load, subtract, store and test again. */
static inline __attribute__((always_inline)) int dp_charge(int64_t *left, int64_t c)
{
    __asm__ goto("subq %1, %0\n\tjle %l[spent]" : : "m"(*left), "r"(c) : "cc", "memory" : spent);
    return 1;
spent:
    return 0;
}

/* 1 when n is below a bound other threads may change: the compare reads
 * the bound from memory in one aligned load (as a relaxed atomic load
 * would, which C cannot fold into the compare). */
static inline __attribute__((always_inline)) int dp_below(size_t n, const size_t *bound)
{
    __asm__ goto("cmpq %1, %0\n\tjae %l[not_below]" : : "r"(n), "m"(*bound) : "cc" : not_below);
    return 1;
not_below:
    return 0;
}

/* 0 in a process we do not profile (an exec'd child without
 * DRAINPROF_FOLLOW=1, or DRAINPROF_ENABLE=0): the shim only forwards. */
extern int dp_tracking;
/* Decided once, before anything is read of glibc (init.c). */
int dp_process_profiled(void);

/* Monotonic and wall clocks in nanoseconds / seconds (vDSO, no syscall). */
uint64_t dp_now_ns(void);
double dp_wall_s(void);

/* The library's few locks (never on the allocation fast path): a spinning
 * test-and-set, safe in any thread and around fork (each is taken in the
 * atfork prepare handler by its owner). */
static inline void dp_spin_lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static inline void dp_spin_unlock(int *l)
{
    __atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Life cycle (init.c): a fork child sets up its report on its first
 * allocation; a thread's first allocation registers its exit. */
extern int dp_child_pending;
void dp_child_start(void);
int dp_thread_seen(void);

#endif
