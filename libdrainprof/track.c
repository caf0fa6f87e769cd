#include "track.h"
#include "dp.h"
#include "glibc.h"
#include "mem.h"
#include "filter.h"
#include "sites.h"

struct thread_rec {
    struct dp_track_thread head; /* first: the inline fast path's view */
    struct dp_slot_totals mmap, foreign;
    void *last_arena; /* one-entry cache of the arena -> slot lookup */
    int last_slot;
    struct thread_rec *next_all, *next_free;
};

int dp_track_glibc;
static size_t (*usable_fn)(void *);
static struct thread_rec *all_recs;
static struct thread_rec *free_recs;
static int free_lock;
static uint64_t nthreads;

static void *arena_ptr[DP_MAX_ARENAS];
static int narenas = 1; /* slot 0 is the main arena, known without a pointer */

uintptr_t *dp_track_main_top;

static struct thread_rec *rec_of(struct dp_track_thread *head)
{
    return (struct thread_rec *)head; /* the head is the record's first member */
}

void dp_track_init(int glibc, size_t (*usable_size)(void *))
{
    dp_track_glibc = glibc;
    usable_fn = usable_size;
    dp_track_main_top = dp_glibc_main_top();
}

static struct thread_rec *acquire_rec(void)
{
    dp_spin_lock(&free_lock);
    struct thread_rec *r = free_recs;
    if (r)
        free_recs = r->next_free;
    dp_spin_unlock(&free_lock);
    if (!r) {
        r = dp_mem_bump(sizeof *r);
        if (!r)
            return NULL;
        struct thread_rec *head = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE);
        do
            r->next_all = head;
        while (!__atomic_compare_exchange_n(&all_recs, &head, r, 1, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE));
    }
    r->last_arena = NULL;
    __atomic_fetch_add(&nthreads, 1, __ATOMIC_RELAXED);
    dp_thread_seen();
    return r;
}

void dp_track_thread_exit(void)
{
    struct thread_rec *r = rec_of(dp_hot.rec);
    if (!r)
        return;
    dp_hot.rec = NULL;
    dp_hot.sample_left = 0; /* later calls take the slow path, which finds no record */
    dp_spin_lock(&free_lock);
    r->next_free = free_recs;
    free_recs = r;
    dp_spin_unlock(&free_lock);
}

int dp_track_arena_slot(void *arena)
{
    int n = __atomic_load_n(&narenas, __ATOMIC_ACQUIRE);
    for (int i = 1; i < n; i++)
        if (__atomic_load_n(&arena_ptr[i], __ATOMIC_RELAXED) == arena)
            return i;
    /* New arena (once per arena): claim a slot, then publish the pointer.
     * Two threads racing on the same new arena can both claim one; the
     * second slot then just stays unused by lookups after the first. */
    for (;;) {
        if (n >= DP_MAX_ARENAS)
            return -1;
        if (__atomic_compare_exchange_n(&narenas, &n, n + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            __atomic_store_n(&arena_ptr[n], arena, __ATOMIC_RELEASE);
            return n;
        }
        for (int i = 1; i < n; i++)
            if (__atomic_load_n(&arena_ptr[i], __ATOMIC_RELAXED) == arena)
                return i;
    }
}

static int slot_of(struct thread_rec *r, void *arena)
{
    if (DP_LIKELY(arena == r->last_arena))
        return r->last_slot;
    int s = dp_track_arena_slot(arena);
    if (s < 0)
        s = DP_MAX_ARENAS - 1; /* table full: fold into the last slot */
    r->last_arena = arena;
    r->last_slot = s;
    return s;
}

static inline struct thread_rec *rec(void)
{
    struct thread_rec *r = rec_of(dp_hot.rec);
    if (DP_UNLIKELY(!r)) {
        r = acquire_rec();
        if (r)
            dp_hot.rec = &r->head;
    }
    return r;
}

/* The owner is the only writer of its record: a relaxed store of the sum is
 * enough for readers, and much cheaper than a locked add. */
#define BUMP(field, d) __atomic_store_n(&(field), (field) + (d), __ATOMIC_RELAXED)

static void count(struct dp_slot_totals *s, size_t usable, int sign)
{
    BUMP(s->live_bytes, sign * (int64_t)usable);
    BUMP(s->live_chunks, sign);
}

/* A sampled allocation (or every one, in all mode) enters the tracked table
 * with its stack; the tracked filter lets free() find it. */
static void track(void *p, size_t usable, int slot)
{
    if (dp_sites_alloc_slow(p, usable, slot))
        dp_filter_mark((uintptr_t)p - sizeof(size_t), 1);
}

static void untrack(void *p)
{
    uintptr_t key = (uintptr_t)p - sizeof(size_t);
    if (dp_filter_counts && dp_filter_maybe(key) && dp_sites_free(p))
        dp_filter_mark(key, -1);
}

static __attribute__((noinline)) void account_mmapped(struct thread_rec *r, void *p, int sign)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    count(&r->mmap, c.usable, sign);
    if (sign > 0)
        track(p, c.usable, DP_SLOT_MMAP); /* always: the snapshot needs their list */
    else
        untrack(p);
}

static __attribute__((noinline)) void account_foreign(struct thread_rec *r, void *p, int sign)
{
    size_t usable = usable_fn(p);
    count(&r->foreign, usable, sign);
    if (sign < 0) {
        untrack(p);
    } else {
        BUMP(r->head.allocs, 1);
        if (dp_sites_due(usable, 0))
            track(p, usable, DP_SLOT_FOREIGN);
    }
}

static __attribute__((noinline)) void sampled(struct thread_rec *r, void *p, size_t word)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    track(p, c.usable, word & DP_NON_MAIN_ARENA ? slot_of(r, c.arena) : 0);
}

/* The whole accounting of one call, for the slow path: the fast path in
 * track.h is the common case of this, done inline. */
static inline __attribute__((always_inline)) void account(struct thread_rec *r, void *p, int sign, int taken)
{
    if (DP_UNLIKELY(!dp_track_glibc)) {
        account_foreign(r, p, sign);
        return;
    }
    uintptr_t key = (uintptr_t)p - sizeof(size_t);
    size_t word = *(const size_t *)key;
    if (DP_UNLIKELY(word & DP_IS_MMAPPED)) {
        account_mmapped(r, p, sign);
        return;
    }
    if (sign < 0) {
        untrack(p);
        return;
    }
    BUMP(r->head.allocs, 1);
    size_t csize = word & ~(size_t)DP_SIZE_BITS;
    /* Carved from the top: the chunk now ends where the top begins. Such
     * chunks are what pins a brk heap, so they are logged. */
    if (!(word & DP_NON_MAIN_ARENA) && dp_track_main_top &&
        key - sizeof(size_t) + csize == __atomic_load_n(dp_track_main_top, __ATOMIC_RELAXED))
        dp_sites_carve(p, csize - sizeof(size_t));
    if (DP_UNLIKELY(dp_sites_due(csize - sizeof(size_t), taken)))
        sampled(r, p, word);
}

void dp_track_alloc_slow(void *p, int taken)
{
    if (dp_in_hook || !dp_tracking)
        return;
    dp_in_hook++;
    struct thread_rec *r = rec();
    if (DP_LIKELY(r))
        account(r, p, 1, taken);
    dp_in_hook--;
}

void dp_track_free_slow(void *p)
{
    if (dp_in_hook || !dp_tracking)
        return;
    dp_in_hook++;
    struct thread_rec *r = rec();
    if (DP_LIKELY(r))
        account(r, p, -1, 0);
    dp_in_hook--;
}

static void add_totals(struct dp_slot_totals *to, const struct dp_slot_totals *from)
{
    to->live_bytes += __atomic_load_n(&from->live_bytes, __ATOMIC_RELAXED);
    to->live_chunks += __atomic_load_n(&from->live_chunks, __ATOMIC_RELAXED);
}

void dp_track_sum(struct dp_totals *t)
{
    *t = (struct dp_totals){0};
    for (struct thread_rec *r = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE); r; r = r->next_all) {
        add_totals(&t->mmap, &r->mmap);
        add_totals(&t->foreign, &r->foreign);
        t->allocs += __atomic_load_n(&r->head.allocs, __ATOMIC_RELAXED);
    }
    /* Derived rather than counted on the hot path: a chunk is its usable
     * size plus its header (16 bytes when mmapped, none known for another
     * allocator). */
    t->mmap.chunk_bytes = t->mmap.live_bytes + 16 * t->mmap.live_chunks;
    t->foreign.chunk_bytes = t->foreign.live_bytes;
    t->threads = __atomic_load_n(&nthreads, __ATOMIC_RELAXED);
}

void dp_track_fork_prepare(void)
{
    dp_spin_lock(&free_lock);
}

void dp_track_fork_release(void)
{
    dp_spin_unlock(&free_lock);
}
