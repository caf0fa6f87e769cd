#include "track.h"
#include "dp.h"
#include "glibc.h"
#include "mem.h"
#include "pagemap.h"
#include "sites.h"

struct thread_rec {
    struct dp_pagelocal *pages;
    struct dp_slot_totals slot[DP_NSLOTS];
    int64_t large_count, large_bytes;
    uint64_t allocs;
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

static __thread struct thread_rec *self;
static uintptr_t *main_top; /* &main_arena.top, when the probe found it */

void dp_track_init(int glibc, size_t (*usable_size)(void *))
{
    dp_track_glibc = glibc;
    usable_fn = usable_size;
    main_top = dp_glibc_main_top();
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
        r->pages = dp_pages_local_new();
        if (!r->pages)
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
    struct thread_rec *r = self;
    if (!r)
        return;
    self = NULL;
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
    struct thread_rec *r = self;
    if (DP_UNLIKELY(!r))
        r = self = acquire_rec();
    return r;
}

/* The owner is the only writer of its record: a relaxed store of the sum is
 * enough for readers, and much cheaper than a locked add. */
#define BUMP(field, d) __atomic_store_n(&(field), (field) + (d), __ATOMIC_RELAXED)

static inline __attribute__((always_inline)) void account(struct thread_rec *r, void *p, int sign)
{
    struct dp_chunk c;
    int slot;
    uintptr_t key = (uintptr_t)p - sizeof(size_t); /* its page counts it */
    if (!dp_track_glibc) {
        c.usable = usable_fn(p);
        c.csize = c.usable;
        slot = DP_SLOT_FOREIGN;
    } else {
        dp_chunk_decode(p, &c);
        if (c.mmapped) {
            slot = DP_SLOT_MMAP;
        } else {
            slot = c.arena ? slot_of(r, c.arena) : 0;
            dp_pages_update(r->pages, key, c.usable + sizeof(size_t), sign);
            if (c.csize >= DP_LARGE_CHUNK) {
                BUMP(r->large_count, sign);
                BUMP(r->large_bytes, sign * (int64_t)c.csize);
            }
            /* Carved from the top: the chunk now ends where the top begins.
             * Such chunks are what pins a brk heap, so they are logged. */
            if (sign > 0 && slot == 0 && main_top &&
                key - sizeof(size_t) + c.csize == __atomic_load_n(main_top, __ATOMIC_RELAXED))
                dp_sites_carve(p, c.usable);
        }
    }
    struct dp_slot_totals *s = &r->slot[slot];
    BUMP(s->live_bytes, sign * (int64_t)c.usable);
    BUMP(s->live_chunks, sign);
    if (sign > 0) {
        BUMP(r->allocs, 1);
        if (dp_sites_alloc(p, c.usable, slot, slot == DP_SLOT_MMAP))
            dp_pages_mark(key, 1);
    } else if (dp_pages_tracked(key) && dp_sites_free(p)) {
        dp_pages_mark(key, -1);
    }
}

void dp_track_alloc(void *p)
{
    struct thread_rec *r = rec();
    if (DP_LIKELY(r))
        account(r, p, 1);
}

void dp_track_free(void *p)
{
    struct thread_rec *r = rec();
    if (DP_LIKELY(r))
        account(r, p, -1);
}

void dp_track_sum(struct dp_totals *t)
{
    *t = (struct dp_totals){0};
    t->narenas = __atomic_load_n(&narenas, __ATOMIC_ACQUIRE);
    for (int i = 1; i < t->narenas; i++)
        t->arena[i] = __atomic_load_n(&arena_ptr[i], __ATOMIC_ACQUIRE);
    t->arena[0] = dp_glibc_main_arena();
    for (struct thread_rec *r = __atomic_load_n(&all_recs, __ATOMIC_ACQUIRE); r; r = r->next_all) {
        for (int i = 0; i < DP_NSLOTS; i++) {
            if (i >= t->narenas && i < DP_MAX_ARENAS)
                continue;
            t->slot[i].live_bytes += __atomic_load_n(&r->slot[i].live_bytes, __ATOMIC_RELAXED);
            t->slot[i].live_chunks += __atomic_load_n(&r->slot[i].live_chunks, __ATOMIC_RELAXED);
        }
        t->large_count += __atomic_load_n(&r->large_count, __ATOMIC_RELAXED);
        t->large_bytes += __atomic_load_n(&r->large_bytes, __ATOMIC_RELAXED);
        t->allocs += __atomic_load_n(&r->allocs, __ATOMIC_RELAXED);
    }
    /* Derived rather than counted on the hot path: a chunk is its usable
     * size plus its header (8 bytes in an arena, 16 when mmapped, none
     * known for another allocator); every free undoes one alloc. */
    int64_t live = 0;
    for (int i = 0; i < DP_NSLOTS; i++) {
        int64_t header = i == DP_SLOT_MMAP ? 16 : i == DP_SLOT_FOREIGN ? 0 : 8;
        t->slot[i].chunk_bytes = t->slot[i].live_bytes + header * t->slot[i].live_chunks;
        live += t->slot[i].live_chunks;
    }
    t->frees = t->allocs - (uint64_t)live;
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
