#include "track.h"
#include "dp.h"
#include "glibc.h"
#include "mem.h"
#include "filter.h"
#include "sites.h"

/* A thread's record. Only its owner writes it (readers load the counts
 * racily); hot and the folding of hot->allocs change under free_lock, which
 * readers hold, so a TLS block is never read once its thread has gone. */
struct dp_track_thread {
    uint64_t allocs; /* slow-path calls, and the fast path's once folded in */
    struct dp_thread_hot *hot; /* the owner's TLS block while registered */
    struct dp_slot_totals mmap, foreign;
    struct dp_track_thread *next_all, *next_free;
};

/* One-entry cache of the arena -> slot lookup, the thread's own. */
static __thread void *last_arena;
static __thread int last_slot;

int dp_track_glibc;
static size_t (*usable_fn)(void *);
static struct dp_track_thread *all_recs;
static struct dp_track_thread *free_recs;
static int free_lock;
static uint64_t nthreads;

static void *arena_ptr[DP_MAX_ARENAS];
static int narenas = 1; /* slot 0 is the main arena, known without a pointer */

uintptr_t *dp_track_main_top;
size_t dp_track_tail_bound;

/* A request of n bytes is a chunk of at most n + 23 (header, 16-byte
 * alignment); glibc mmaps a chunk of the threshold or more. */
static size_t bound_for(size_t threshold)
{
    return threshold > 32 ? threshold - 32 : 0;
}

void dp_track_init(int glibc, size_t (*usable_size)(void *))
{
    dp_track_glibc = glibc;
    usable_fn = usable_size;
    dp_track_main_top = dp_glibc_main_top();
    dp_track_tail_bound = glibc && dp_track_main_top ? bound_for(dp_glibc_mmap_threshold_floor()) : 0;
}

/* new_thread: 0 for a record a thread takes after its exit handler ran
 * (it was counted once already). */
static struct dp_track_thread *acquire_rec(int new_thread)
{
    dp_spin_lock(&free_lock);
    struct dp_track_thread *r = free_recs;
    if (r)
        free_recs = r->next_free;
    dp_spin_unlock(&free_lock);
    if (!r) {
        r = dp_mem_bump(sizeof *r);
        if (!r)
            return NULL;
        struct dp_track_thread *head = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE);
        do
            r->next_all = head;
        while (!__atomic_compare_exchange_n(&all_recs, &head, r, 1, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE));
    }
    if (new_thread)
        __atomic_fetch_add(&nthreads, 1, __ATOMIC_RELAXED);
    return r;
}

/* Under free_lock: the fast path's count moves into the record and the
 * TLS block is no longer read. */
static void unregister(struct dp_track_thread *r)
{
    if (!r->hot)
        return;
    __atomic_store_n(&r->allocs, r->allocs + __atomic_load_n(&r->hot->allocs, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    r->hot->allocs = 0;
    __atomic_store_n(&r->hot, NULL, __ATOMIC_RELAXED);
}

/* Calls a thread makes after this (later exit handlers, glibc's own
 * clean-up) all take the slow path, with a record that is not registered:
 * its TLS block may be freed before any handler runs again. */
void dp_track_thread_exit(void)
{
    struct dp_track_thread *r = dp_hot.rec;
    dp_hot.exited = 1;
    dp_hot.sample_left = 0;
    __atomic_store_n(&dp_hot.tail_max, 0, __ATOMIC_RELEASE); /* after exited: dp_track_park */
    if (!r)
        return;
    dp_hot.rec = NULL;
    dp_spin_lock(&free_lock);
    unregister(r);
    dp_hot.registered = 0;
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

static int slot_of(void *arena)
{
    if (DP_LIKELY(arena == last_arena))
        return last_slot;
    int s = dp_track_arena_slot(arena);
    if (s < 0)
        s = DP_MAX_ARENAS - 1; /* table full: fold into the last slot */
    last_arena = arena;
    last_slot = s;
    return s;
}

/* The thread's record. Its TLS block is registered (and the fast path,
 * which counts there, enabled) only once the thread's exit handler is sure
 * to run, and never after it ran. */
static inline struct dp_track_thread *rec(void)
{
    struct dp_track_thread *r = dp_hot.rec;
    if (DP_UNLIKELY(!r)) {
        r = acquire_rec(!dp_hot.exited);
        if (!r)
            return NULL;
        dp_hot.rec = r;
        /* Past the exit handler: setting the key again has glibc run it
         * once more, which hands this record back. */
        if (dp_hot.exited)
            dp_thread_seen();
    }
    if (DP_UNLIKELY(!dp_hot.registered) && !dp_hot.exited && dp_thread_seen() == 0) {
        dp_hot.sample_left = 0; /* the countdown starts here, not in debt for the calls before */
        dp_spin_lock(&free_lock);
        __atomic_store_n(&r->hot, &dp_hot, __ATOMIC_RELAXED);
        dp_hot.registered = 1;
        /* A bound lowered before the block was registered did not reach it. */
        if (dp_hot.tail_max > dp_track_tail_bound)
            __atomic_store_n(&dp_hot.tail_max, dp_track_tail_bound, __ATOMIC_RELAXED);
        dp_spin_unlock(&free_lock);
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
static inline __attribute__((always_inline)) int track(void *p, size_t usable, size_t charge, int slot)
{
    if (!dp_sites_alloc_slow(p, usable, charge, slot))
        return 0;
    dp_filter_mark((uintptr_t)p, 1);
    return 1;
}

/* Returns 1 if p was tracked. Without a filter every free looks. carve:
 * p may be in the carve log (a main-arena chunk); a lookup there is a cache
 * miss the frees of other chunks need not pay. */
static int untrack(void *p, int carve)
{
    if (dp_filter_bits && !dp_filter_maybe((uintptr_t)p))
        return 0;
    int found = dp_sites_free(p);
    if (found)
        dp_filter_mark((uintptr_t)p, -1);
    if (carve)
        dp_sites_uncarve(p);
    return found;
}

/* An mmapped chunk is counted exactly when it is tracked (always, when
 * there is room: the snapshot needs their list), so a free un-counts only
 * what was counted: one glibc mmapped for a request the tail path
 * forwarded (its last resort when an arena cannot grow) is never counted,
 * and its free cannot drive the counts below the truth. */
static __attribute__((noinline)) void account_mmapped(struct dp_track_thread *r, void *p, int sign)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    if (sign > 0) {
        BUMP(r->allocs, 1); /* frees are derived from live chunks, these included */
        if (track(p, c.usable, c.usable, DP_SLOT_MMAP))
            count(&r->mmap, c.usable, 1);
    } else if (untrack(p, 0)) {
        count(&r->mmap, c.usable, -1);
    }
}

static __attribute__((noinline)) void account_foreign(struct dp_track_thread *r, void *p, int sign)
{
    size_t usable = usable_fn(p);
    count(&r->foreign, usable, sign);
    if (sign < 0) {
        untrack(p, 0);
    } else {
        BUMP(r->allocs, 1);
        if (dp_sites_due(usable, 0))
            track(p, usable, usable, DP_SLOT_FOREIGN);
    }
}

static inline __attribute__((always_inline)) void sampled(void *p, size_t word, size_t charge)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    track(p, c.usable, charge, word & DP_NON_MAIN_ARENA ? slot_of(c.arena) : 0);
}

/* The whole accounting of one call, for the slow path: the fast path in
 * track.h is the common case of this, done inline. */
static inline __attribute__((always_inline)) void account(struct dp_track_thread *r, void *p, int sign, size_t charge, int taken)
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
        untrack(p, !(word & DP_NON_MAIN_ARENA));
        return;
    }
    /* Counted in the TLS block while it is registered: the record is a cache
     * miss the sampled calls need not pay. */
    if (dp_hot.registered)
        dp_count_one(&dp_hot.allocs);
    else
        BUMP(r->allocs, 1);
    size_t csize = word & ~(size_t)DP_SIZE_BITS;
    /* Carved from the top: the chunk now ends where the top begins. Such
     * chunks are what pins a brk heap, so they are logged. */
    if (!(word & DP_NON_MAIN_ARENA) && dp_track_main_top &&
        key - sizeof(size_t) + csize == __atomic_load_n(dp_track_main_top, __ATOMIC_RELAXED))
        dp_sites_carve(p, csize - sizeof(size_t));
    /* Without a registered TLS block the countdown must stay at 0 (the
     * fast path would count where no reader looks): such calls, few and at
     * a thread's edges, are sampled only in all mode. */
    if (!charge)
        charge = dp_sites_charge_of_word(word);
    if (DP_UNLIKELY(dp_hot.registered ? dp_sites_due(charge, taken) : dp_sites_mode == DP_STACKS_ALL))
        sampled(p, word, charge);
}

__attribute__((noipa)) void *dp_track_alloc_slow(void *p, size_t charge, int taken)
{
    if (dp_in_hook || !dp_tracking)
        return p;
    dp_in_hook++;
    struct dp_track_thread *r = rec();
    if (DP_LIKELY(r))
        account(r, p, 1, charge, taken);
    dp_in_hook--;
    return p;
}

static int parked; /* dp_track_park's */

/* The owner's store and the lowering (or parking) thread's are ordered by
 * the fences: at least one of the two sees the other's (a lowering that ran
 * while the block was not yet registered is applied when it registers; a
 * thread that parks itself may miss the restore, and stays on the full path
 * until the next one). */
void dp_track_learn_tail(const void *p)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    dp_hot.arena = c.arena;
    size_t b = __atomic_load_n(&dp_track_tail_bound, __ATOMIC_RELAXED);
    if (!b || dp_hot.exited)
        return;
    __atomic_store_n(&dp_hot.tail_max, b, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    size_t now = __atomic_load_n(&dp_track_tail_bound, __ATOMIC_RELAXED);
    if (now < b)
        __atomic_store_n(&dp_hot.tail_max, now, __ATOMIC_RELAXED);
    if (__atomic_load_n(&parked, __ATOMIC_RELAXED)) {
        __atomic_store_n(&dp_hot.tail_max, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&dp_hot.tail_parked, 1, __ATOMIC_RELAXED);
    }
}

/* Under free_lock, so each block read is registered. The thread's exit
 * clears tail_max after setting exited: a restore that read exited as 0
 * came before that clear, which wins. */
void dp_track_park(int park)
{
    __atomic_store_n(&parked, park, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    dp_spin_lock(&free_lock);
    for (struct dp_track_thread *r = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE); r; r = r->next_all) {
        struct dp_thread_hot *h = r->hot;
        if (!h)
            continue;
        if (park) {
            if (__atomic_exchange_n(&h->tail_max, 0, __ATOMIC_SEQ_CST))
                __atomic_store_n(&h->tail_parked, 1, __ATOMIC_RELAXED);
        } else if (__atomic_exchange_n(&h->tail_parked, 0, __ATOMIC_RELAXED)) {
            size_t zero = 0;
            __atomic_compare_exchange_n(&h->tail_max, &zero, __atomic_load_n(&dp_track_tail_bound, __ATOMIC_RELAXED),
                                        0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
            if (__atomic_load_n(&h->exited, __ATOMIC_RELAXED))
                __atomic_store_n(&h->tail_max, 0, __ATOMIC_RELAXED);
        }
    }
    dp_spin_unlock(&free_lock);
}

void dp_track_lower_tail_bound(size_t threshold)
{
    size_t b = bound_for(threshold);
    size_t cur = __atomic_load_n(&dp_track_tail_bound, __ATOMIC_RELAXED);
    do
        if (b >= cur)
            return;
    while (!__atomic_compare_exchange_n(&dp_track_tail_bound, &cur, b, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    dp_spin_lock(&free_lock);
    for (struct dp_track_thread *r = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE); r; r = r->next_all)
        if (r->hot && __atomic_load_n(&r->hot->tail_max, __ATOMIC_RELAXED) > b)
            __atomic_store_n(&r->hot->tail_max, b, __ATOMIC_RELAXED);
    dp_spin_unlock(&free_lock);
}

void dp_track_free_slow(void *p)
{
    if (dp_in_hook || !dp_tracking)
        return;
    dp_in_hook++;
    struct dp_track_thread *r = rec();
    if (DP_LIKELY(r))
        account(r, p, -1, 0, 0);
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
    dp_spin_lock(&free_lock);
    for (struct dp_track_thread *r = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE); r; r = r->next_all) {
        add_totals(&t->mmap, &r->mmap);
        add_totals(&t->foreign, &r->foreign);
        struct dp_thread_hot *hot = __atomic_load_n(&r->hot, __ATOMIC_RELAXED);
        t->allocs += __atomic_load_n(&r->allocs, __ATOMIC_RELAXED) + (hot ? __atomic_load_n(&hot->allocs, __ATOMIC_RELAXED) : 0);
    }
    dp_spin_unlock(&free_lock);
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

void dp_track_fork_release(int child)
{
    /* The child's other threads are gone; their TLS blocks will be reused. */
    if (child) {
        for (struct dp_track_thread *r = all_recs; r; r = r->next_all)
            if (r->hot != &dp_hot)
                unregister(r);
        /* Off until the child has started its report: its first calls must
         * reach the shim's full path. */
        __atomic_store_n(&dp_hot.tail_max, 0, __ATOMIC_RELAXED);
    }
    dp_spin_unlock(&free_lock);
}
