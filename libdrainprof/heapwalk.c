#include "heapwalk.h"
#include "dp.h"
#include "glibc.h"
#include "hints.h"
#include "mem.h"
#include "track.h"

#include <sched.h>
#include <string.h>

#define HDR 8               /* a chunk's size word follows its prev_size */
#define FASTBIN_MAX_CHUNK 176 /* the largest chunk M_MXFAST allows in a fastbin */
/* Before each hold the walk prefetches the hinted chunk headers of at most
 * AHEAD_PAGES pages (8 MiB) and at most AHEAD_HEADERS of them (16 KiB of
 * lines, which stay in the L1 cache until the hold reads them; a heap of
 * small chunks would otherwise have every page hinted and evict its own
 * prefetches). */
#define AHEAD_PAGES 2048
#define AHEAD_HEADERS 256

/* One range of chunks being walked, and what it may follow. */
struct range {
    char *av;
    uintptr_t heap;  /* non-main heap: its heap_info; 0 for the brk heap */
    uintptr_t first; /* first chunk; 0: the brk heap's, found under the lock */
    const uintptr_t *heaps;
    int nheaps;
    uint16_t *pages;
    uintptr_t page_base;
    size_t npages;
    uint16_t *hint; /* hints.h, for the same pages; NULL: none */
};

/* Fastbin chunks of the arena being walked: an open-addressing set of chunk
 * addresses, snapshot time only (under the snapshot lock). */
#define FAST_SLOTS (1u << 16)
#define FAST_MAX (FAST_SLOTS / 2)
static uintptr_t *fast;
static uint32_t nfast;

static inline uint32_t fast_home(uintptr_t c)
{
    return (uint32_t)((c * 0x9e3779b97f4a7c15ull) >> 48);
}

static int fast_has(uintptr_t c)
{
    for (uint32_t i = fast_home(c);; i = (i + 1) & (FAST_SLOTS - 1)) {
        if (fast[i] == c)
            return 1;
        if (!fast[i])
            return 0;
    }
}

/* 0 when c was listed already (a damaged list that loops). */
static int fast_add(uintptr_t c)
{
    uint32_t i = fast_home(c);
    while (fast[i] && fast[i] != c)
        i = (i + 1) & (FAST_SLOTS - 1);
    if (fast[i])
        return 0;
    fast[i] = c;
    nfast++;
    return 1;
}

/* Is c a plausible chunk of the range's arena? Links outside its heaps are
 * not followed, so a damaged list cannot lead the walk astray. */
static int in_arena(const struct range *r, uintptr_t c)
{
    if (c & 15)
        return 0;
    for (int i = 0; i < r->nheaps; i++)
        if (c >= r->heaps[i] && c - r->heaps[i] < (r->heap ? DP_HEAP_MAX : (uintptr_t)r->npages * DP_PAGE))
            return 1;
    return 0;
}

/* Under the lock. Past FAST_MAX chunks the rest are not listed (and count
 * as held): the list is read while allocating threads wait. */
static void list_fastbins(const struct range *r)
{
    if (!fast)
        fast = dp_mem_map(FAST_SLOTS * sizeof *fast);
    if (!fast)
        return;
    if (nfast) {
        memset(fast, 0, FAST_SLOTS * sizeof *fast);
        nfast = 0;
    }
    int mangled = dp_glibc_safe_linking();
    for (int b = 0; b < DP_NFASTBINS; b++) {
        uintptr_t c = *(const uintptr_t *)(r->av + DP_OFF_FASTBINS + b * sizeof(uintptr_t));
        while (c && in_arena(r, c) && nfast < FAST_MAX && fast_add(c)) {
            uintptr_t fd = *(const uintptr_t *)(c + 2 * HDR);
            c = mangled ? fd ^ ((c + 2 * HDR) >> 12) : fd;
        }
    }
}

/* Under the lock: where the range's chunks end now (the top chunk when it
 * lies in the range, else the heap's end) into *end and the top chunk into
 * *top. Returns 0 when the heap is no longer the arena's (glibc unmapped
 * it while the lock was free). */
static int range_end(const struct range *r, uintptr_t *top, uintptr_t *end)
{
    *top = *(const uintptr_t *)(r->av + DP_OFF_TOP);
    if (!r->heap) {
        *end = *top;
        return 1;
    }
    /* The arena's heaps chain down from the one holding the top. */
    uintptr_t h = *top & ~(DP_HEAP_MAX - 1);
    for (int n = 0; h && n < 4096; n++) {
        const struct dp_heap_info *hi = (const struct dp_heap_info *)h;
        if (h == r->heap) {
            *end = *top - h < DP_HEAP_MAX ? *top : h + hi->size;
            return 1;
        }
        h = (uintptr_t)hi->prev;
    }
    return 0;
}

/* The index of the page holding a, in r's pages and hints. */
static inline size_t page_index(const struct range *r, uintptr_t a)
{
    return (a - r->page_base) >> DP_PAGE_SHIFT;
}

/* The held range [start, start + len) into the page counts. Chunks do not
 * overlap, so no page sums to more than 4096. */
static void add_pages(const struct range *r, uintptr_t start, size_t len)
{
    uintptr_t lo = start, hi = start + len, base = r->page_base, lim = base + r->npages * DP_PAGE;
    if (lo < base)
        lo = base;
    if (hi > lim)
        hi = lim;
    if (lo >= hi)
        return;
    size_t i = page_index(r, lo), last = page_index(r, hi - 1);
    if (i == last) {
        r->pages[i] += (uint16_t)(hi - lo);
        return;
    }
    r->pages[i] += (uint16_t)(base + ((i + 1) << DP_PAGE_SHIFT) - lo);
    for (size_t k = i + 1; k < last; k++)
        r->pages[k] = (uint16_t)DP_PAGE;
    r->pages[last] += (uint16_t)(hi - (base + (last << DP_PAGE_SHIFT)));
}

static void held(const struct range *r, uintptr_t c, size_t size, struct dp_walk *w)
{
    w->live_bytes += size - HDR;
    w->live_chunks++;
    if (size >= DP_MMAP_THRESHOLD_DEFAULT) {
        w->large_count++;
        w->large_bytes += size;
    }
    if (c + 2 * HDR > w->top_held) {
        w->top_held = c + 2 * HDR;
        w->top_held_size = size - HDR;
    }
    /* A chunk's bytes run from its size word to the next chunk's size word
     * (its user data spills into the next chunk's prev_size). */
    add_pages(r, c + HDR, size);
}

/* Outside the lock: the hinted headers from the page holding c on.
 * Returns the page where the hold that follows ends. A page no walk has
 * seen (the first walk, a heap that grew) gets its first line prefetched:
 * where its chunks start is unknown, but the hold then finds the page's
 * translation cached, which halves a cold walk's time under the lock. */
static size_t prefetch_ahead(const struct range *r, uintptr_t c)
{
    size_t p = page_index(r, c), to = p + AHEAD_PAGES, k = 0;
    for (size_t e = to < r->npages ? to : r->npages; p < e && k < AHEAD_HEADERS; p++) {
        uint16_t h = r->hint[p];
        if (h == DP_HINT_NONE)
            continue;
        uintptr_t page = r->page_base + (p << DP_PAGE_SHIFT);
        if (!h) {
            __builtin_prefetch((const void *)page);
            continue;
        }
        __builtin_prefetch((const void *)(page + DP_HINT_OFF(h) + HDR));
        k++;
    }
    return k < AHEAD_HEADERS ? to : p;
}

/* The chunk at next, in a later page pn than the one before it (in pc),
 * is the first in its page; none starts in the pages between. */
static void note_chunk(const struct range *r, size_t pc, size_t pn, uintptr_t next)
{
    if (pn >= r->npages)
        return;
    for (size_t p = pc + 1; p < pn; p++)
        r->hint[p] = DP_HINT_NONE;
    r->hint[pn] = DP_HINT(next & (DP_PAGE - 1));
}

static void note_hold(struct dp_walk *w, uint64_t t0)
{
    uint64_t held_ns = dp_now_ns() - t0;
    w->hold_total_ns += held_ns;
    if (held_ns > w->hold_ns)
        w->hold_ns = held_ns;
}

/* ---- the gate (heapwalk.h) ---- */

uintptr_t dp_walk_holds;
static int gate_up; /* the snapshot thread's own: set and read there only */
static struct dp_gate_stats gate;
/* Holds so far, and the one the thread last gave up on: a walk stopped
 * with the gate closed (its CPU taken away) costs a thread one spin, not
 * one per call until it runs again. */
static uint64_t hold_seq;
static __thread uint64_t given_up;

void dp_walk_gate(int up)
{
    gate_up = up;
}

/* A gap this long between two reads of the clock in the spin: the waiting
 * thread did not run (its CPU taken by the host or the scheduler). */
#define LOST_NS 20000

static void note_max(uint64_t *max, uint64_t v)
{
    uint64_t m = __atomic_load_n(max, __ATOMIC_RELAXED);
    while (v > m && !__atomic_compare_exchange_n(max, &m, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Reads the clock after one step of a wait: the time since the last read
 * if the waiting thread did not run in it, else 0. */
static uint64_t off_cpu(uint64_t *t)
{
    uint64_t u = dp_now_ns(), gap = u - *t;
    *t = u;
    return gap >= LOST_NS ? gap : 0;
}

/* A hold of arena's (0: any arena's) is on. */
static inline int gate_closed(uintptr_t arena)
{
    uintptr_t h = __atomic_load_n(&dp_walk_holds, __ATOMIC_ACQUIRE);
    return h && (!arena || h == arena);
}

/* The program's threads, off the hot path; clock_gettime and sched_yield
 * leave errno. */
static void wait_for(uintptr_t arena)
{
    if (__atomic_load_n(&hold_seq, __ATOMIC_RELAXED) == given_up)
        return;
    uint64_t t0 = dp_now_ns(), t = t0, lost = 0;
    /* The spin is bounded in time on the thread's CPU: a thread that lost
     * its CPU mid-spin and finds the gate still closed spins on, where
     * going to the lock would add a sleep to the time it already lost. */
    while (gate_closed(arena) && t - t0 - lost < DP_WALK_SPIN_NS) {
        __builtin_ia32_pause();
        lost += off_cpu(&t);
    }
    /* A hold past the spin: the walk lost its CPU. Sleeping on the lock
     * would cost a wake-up after it (on this host up to a millisecond), so
     * the thread yields its CPU in turns until DP_WALK_YIELD_NS. */
    while (gate_closed(arena) && t - t0 < DP_WALK_YIELD_NS) {
        sched_yield();
        lost += off_cpu(&t); /* also the time other threads ran */
    }
    if (t == t0)
        return; /* another arena's hold, or it ended */
    uint64_t waited = t - t0;
    __atomic_fetch_add(&gate.waits, 1, __ATOMIC_RELAXED);
    if (gate_closed(arena)) {
        given_up = __atomic_load_n(&hold_seq, __ATOMIC_RELAXED);
        __atomic_fetch_add(&gate.timeouts, 1, __ATOMIC_RELAXED);
    }
    note_max(&gate.max_wait_ns, waited);
    note_max(&gate.max_spin_ns, waited - lost);
}

void dp_walk_wait_chunk(const void *p)
{
    struct dp_chunk c;
    dp_chunk_decode(p, &c);
    if (!c.mmapped) /* an mmapped chunk takes no arena lock */
        wait_for(c.arena ? (uintptr_t)c.arena : (uintptr_t)dp_glibc_main_arena());
}

void dp_walk_wait_thread(void)
{
    wait_for((uintptr_t)dp_hot.arena);
}

void dp_walk_gate_take_stats(struct dp_gate_stats *s)
{
    s->waits = __atomic_exchange_n(&gate.waits, 0, __ATOMIC_RELAXED);
    s->timeouts = __atomic_exchange_n(&gate.timeouts, 0, __ATOMIC_RELAXED);
    s->max_wait_ns = __atomic_exchange_n(&gate.max_wait_ns, 0, __ATOMIC_RELAXED);
    s->max_spin_ns = __atomic_exchange_n(&gate.max_spin_ns, 0, __ATOMIC_RELAXED);
}

/* Takes the arena lock for a hold. With the gate up, the walk closes it
 * first, lets the calls already past it through, and then takes the lock
 * as soon as it is free (a thread holding it leaves within its call, and
 * its next call waits at the gate): no futex sleep on either side. Past a
 * hold's length (a thread preempted with the lock) it sleeps on it. */
static void hold_lock(char *av)
{
    if (!gate_up) {
        dp_glibc_arena_lock(av);
        return;
    }
    __atomic_store_n(&hold_seq, hold_seq + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&dp_walk_holds, (uintptr_t)av, __ATOMIC_SEQ_CST);
    uint64_t t0 = dp_now_ns();
    while (dp_now_ns() - t0 < DP_WALK_GRACE_NS)
        __builtin_ia32_pause();
    while (!dp_glibc_arena_trylock(av)) {
        if (dp_now_ns() - t0 > DP_WALK_HOLD_NS) {
            dp_glibc_arena_lock(av);
            return;
        }
        __builtin_ia32_pause();
    }
}

/* Ends a hold; 1 when a thread was sleeping on the lock. The gate opens
 * after the unlock, so a call let through finds the lock free. */
static int hold_unlock(char *av)
{
    int woke = dp_glibc_arena_unlock(av);
    __atomic_store_n(&dp_walk_holds, 0, __ATOMIC_RELEASE);
    return woke;
}

/* Releases the arena lock between two holds. When a thread was sleeping
 * on it, it gets the lock before the walk takes it back: relocking at once
 * would beat the waking thread every time and keep it waiting for the
 * whole walk. */
static void hand_over(char *av)
{
    if (!hold_unlock(av))
        return;
    uint64_t t0 = dp_now_ns();
    while (__atomic_load_n((const int *)av, __ATOMIC_RELAXED) == 0 && dp_now_ns() - t0 < DP_WALK_HOLD_NS)
        sched_yield();
}

/* What a hold saw of a chunk, for the accounting that follows the unlock.
 * A hold only follows the chain and copies it here: with the headers in
 * cache that is ~15 ns a chunk, where doing the accounting under the lock
 * took ~50. What stalls a thread is the walk losing its CPU mid-hold (the
 * host takes the virtual CPU for milliseconds), a risk in proportion to
 * the time held. SEEN_INUSE: in use and not parked in a tcache (its key
 * is read under the lock; the fastbin set is ours). SEEN_MAX (16 KiB of
 * record) ends a hold of small chunks within ~15 us. */
struct seen {
    uintptr_t c;
    size_t size; /* | SEEN_INUSE */
};
#define SEEN_INUSE 1u
#define SEEN_MAX 1024
static struct seen *seen;

/* After a hold, with the lock free: the chunks it saw into *w, the page
 * counts and the hints. *page_end: the end of the page where the chunk
 * after the last one accounted starts, carried from hold to hold. */
static void account(const struct range *r, const struct seen *s, unsigned n, uintptr_t *page_end, struct dp_walk *w)
{
    for (unsigned i = 0; i < n; i++) {
        uintptr_t c = s[i].c;
        size_t size = s[i].size & ~(size_t)SEEN_INUSE;
        uintptr_t next = c + size;
        if (next >= *page_end) {
            if (r->hint)
                note_chunk(r, page_index(r, *page_end - 1), page_index(r, next), next);
            *page_end = (next | (DP_PAGE - 1)) + 1;
        }
        if ((s[i].size & SEEN_INUSE) && !(nfast && size <= FASTBIN_MAX_CHUNK && fast_has(c)))
            held(r, c, size, w);
    }
}

static void walk(const struct range *r, struct dp_walk *w)
{
    if (!seen)
        seen = dp_mem_map(SEEN_MAX * sizeof *seen);
    if (!seen) {
        w->complete = 0;
        return;
    }
    uintptr_t key = dp_glibc_tcache_key();
    int done = 0;  /* 1: ended at the top or at a heap's closing fencepost */
    int moved = 0; /* the lock was released on the way */
    unsigned ns = 0;
    size_t hold_end = r->hint ? prefetch_ahead(r, r->first ? r->first : r->page_base) : SIZE_MAX;
    hold_lock(r->av);
    uint64_t t0 = dp_now_ns();
    uintptr_t top, end;
    int alive = range_end(r, &top, &end);
    if (alive)
        list_fastbins(r);
    uintptr_t c = r->first;
    if (!c) {
        /* The brk heap ends with the top chunk and holds system_mem bytes:
         * read together under the lock, they name its start. */
        c = top + (*(const size_t *)(top + HDR) & ~(size_t)DP_SIZE_BITS) -
            *(const size_t *)(r->av + DP_OFF_SYSTEM_MEM);
        if (c < r->page_base || c > top || (c & 15))
            alive = 0;
        else
            w->first = c;
    }
    uintptr_t page_end = (c | (DP_PAGE - 1)) + 1; /* of the page holding c, in the hold */
    uintptr_t acct_end = page_end;                 /* the same, in the accounting */
    if (alive && r->hint) {
        size_t p0 = page_index(r, c);
        memset(r->hint, 0xff, p0 * sizeof *r->hint); /* DP_HINT_NONE */
        r->hint[p0] = DP_HINT(c & (DP_PAGE - 1));
    }
    for (unsigned n = 1; alive; n++) {
        int top_here = !r->heap || top - r->heap < DP_HEAP_MAX;
        if (top_here && c >= top) {
            /* Past the top only if the top absorbed chunks while the lock
             * was free; otherwise the walk lost its way. */
            done = c == top || moved;
            break;
        }
        if (c + 2 * HDR > end)
            break;
        size_t size = *(const size_t *)(c + HDR) & ~(size_t)DP_SIZE_BITS;
        if (size < DP_MINSIZE) {
            /* glibc closes a heap it left for a new one with fenceposts. */
            done = size == 2 * HDR && !top_here;
            break;
        }
        if ((size & 15) || size > end - c || (!top_here && c + size + 2 * HDR > end))
            break;
        uintptr_t next = c + size;
        int hold_done = 0;
        if (next >= page_end) {
            /* A hold ends where the prefetched pages do. */
            hold_done = page_index(r, next) >= hold_end;
            page_end = (next | (DP_PAGE - 1)) + 1;
        }
        int inuse = (*(const size_t *)(next + HDR) & DP_PREV_INUSE) &&
                    !(key && size <= DP_TCACHE_MAX_CHUNK && *(const uintptr_t *)(c + 3 * HDR) == key);
        seen[ns].c = c;
        seen[ns].size = size | (inuse ? SEEN_INUSE : 0);
        ns++;
        c = next;
        if (hold_done || ns == SEEN_MAX || (!(n & 63) && dp_now_ns() - t0 > DP_WALK_HOLD_NS)) {
            note_hold(w, t0);
            hand_over(r->av);
            account(r, seen, ns, &acct_end, w);
            ns = 0;
            if (r->hint)
                hold_end = prefetch_ahead(r, c);
            hold_lock(r->av);
            t0 = dp_now_ns();
            moved = 1;
            alive = range_end(r, &top, &end);
        }
    }
    note_hold(w, t0);
    hold_unlock(r->av);
    account(r, seen, ns, &acct_end, w);
    if (!done)
        w->complete = 0;
}

void dp_walk_main(void *ar, uint16_t *pages, uintptr_t page_base, size_t npages, struct dp_walk *w)
{
    uintptr_t heaps[1] = {page_base};
    struct range r = {ar, 0, 0, heaps, 1, pages, page_base, npages, dp_hints_for(page_base, npages)};
    walk(&r, w);
}

void dp_walk_heap(void *ar, uintptr_t heap, const uintptr_t *heaps, int n, uint16_t *pages, uintptr_t page_base,
                  size_t npages, struct dp_walk *w)
{
    /* The first heap holds the arena's malloc_state; chunks start after it
     * (aligned so user pointers are), in later heaps right after heap_info. */
    uintptr_t first = heap + dp_glibc_heap_info_size();
    if ((uintptr_t)ar == first)
        first = ((first + DP_STATE_SIZE + 2 * HDR + 15) & ~(uintptr_t)15) - 2 * HDR;
    struct range r = {ar, heap, first, heaps, n, pages, page_base, npages, dp_hints_for(page_base, npages)};
    walk(&r, w);
}
