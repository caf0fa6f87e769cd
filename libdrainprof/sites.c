#include "sites.h"
#include "dp.h"
#include "filter.h"
#include "mem.h"
#include "options.h"
#include "track.h"
#include "unwind.h"

#include <libunwind.h>
#include <link.h>
#include <math.h>
#include <string.h>

int dp_sites_mode = DP_STACKS_OFF;
#define mode dp_sites_mode
static double sample_mean = 524288;
static int depth = 24;
static uintptr_t self_lo, self_hi; /* our own text, cut from stacks */

/* ---- stack table: open addressing on the frames' hash, lock-free ---- */
#define STACK_SLOTS (1u << 17)
#define MAX_STACKS (STACK_SLOTS / 2)
struct stack_slot {
    uint64_t hash;
    uint32_t id; /* 0 until the frames are published */
};
static struct stack_slot *stack_slots;
static uintptr_t *stack_frames; /* MAX_STACKS x DP_MAX_FRAMES */
static uint8_t *stack_len;
static uint32_t next_stack_id = 1;

static uint64_t hash_frames(const uintptr_t *f, int n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= f[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 33;
    }
    return h ? h : 1;
}

static uint32_t intern_slot(const uintptr_t *f, int n, uint64_t h)
{
    for (uint32_t i = (uint32_t)h & (STACK_SLOTS - 1), probes = 0; probes < STACK_SLOTS;
         i = (i + 1) & (STACK_SLOTS - 1), probes++) {
        struct stack_slot *s = &stack_slots[i];
        uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            if (!__atomic_compare_exchange_n(&s->hash, &cur, h, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                if (cur != h)
                    continue;
            } else {
                uint32_t id = __atomic_fetch_add(&next_stack_id, 1, __ATOMIC_RELAXED);
                if (id >= MAX_STACKS)
                    return 0;
                memcpy(&stack_frames[(size_t)id * DP_MAX_FRAMES], f, (size_t)n * sizeof *f);
                stack_len[id] = (uint8_t)n;
                __atomic_store_n(&s->id, id, __ATOMIC_RELEASE);
                return id;
            }
        }
        if (cur == h) {
            /* Equal hashes are taken as equal stacks (64-bit hash). Wait for
             * a racing inserter to publish its id. */
            uint32_t id;
            for (int spin = 0; !(id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE)) && spin < 1000000; spin++)
                ;
            return id;
        }
    }
    return 0;
}

/* The thread's last stack: a thread's samples mostly repeat a few call
 * sites, and the table's slot is a cache miss each time. */
static __thread uint64_t last_hash;
static __thread uint32_t last_id;

static uint32_t intern(const uintptr_t *f, int n)
{
    uint64_t h = hash_frames(f, n);
    if (h == last_hash && last_id)
        return last_id;
    uint32_t id = intern_slot(f, n, h);
    last_hash = h;
    last_id = id;
    return id;
}

/* Inline, as are its callers down from the shim: every frame of ours costs
 * the unwinder a step (~100 instructions) before it reaches the program's. */
static inline __attribute__((always_inline)) uint32_t capture(void)
{
    uintptr_t raw[DP_MAX_FRAMES + 8];
    int n = dp_unwind(raw, depth + 8);
    if (n < 0)
        n = unw_backtrace((void **)raw, depth + 8);
    uintptr_t f[DP_MAX_FRAMES];
    int k = 0;
    for (int i = 0; i < n && k < depth; i++) {
        uintptr_t ip = (uintptr_t)raw[i];
        if (k == 0 && ip >= self_lo && ip < self_hi)
            continue; /* our own frames lead the stack */
        f[k++] = ip;
    }
    return k ? intern(f, k) : 0;
}

uint32_t dp_sites_stack_here(void)
{
    return mode == DP_STACKS_OFF || !stack_slots ? 0 : capture();
}

int dp_sites_frames(uint32_t id, uintptr_t *frames, int max)
{
    if (!id || id >= MAX_STACKS || !stack_slots)
        return 0;
    int n = stack_len[id] < max ? stack_len[id] : max;
    memcpy(frames, &stack_frames[(size_t)id * DP_MAX_FRAMES], (size_t)n * sizeof *frames);
    return n;
}

uint32_t dp_sites_stack_capacity(void)
{
    return MAX_STACKS;
}

uint32_t dp_sites_stack_count(void)
{
    uint32_t n = __atomic_load_n(&next_stack_id, __ATOMIC_RELAXED);
    return n > MAX_STACKS ? MAX_STACKS : n;
}

/* ---- live table of tracked allocations: striped, each stripe a growing
 * open-addressing table under its own spinlock ----
 * The stripe is chosen by the 64 MiB window of the address (a thread
 * arena's heap is one such window): a thread that allocates and frees in
 * its own arena keeps its stripe's lock and entries in its own cache, where
 * stripes shared by all threads moved two cache lines between cores on
 * every sample and every tracked free. */
#define STRIPES 64
#define STRIPE_SHIFT 26
#define EMPTY 0
struct stripe {
    int lock;
    uint32_t cap, live;
    struct dp_tracked *e;
} __attribute__((aligned(64)));
static struct stripe stripes[STRIPES];

static inline uint64_t mix(uintptr_t p)
{
    uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static inline struct stripe *stripe_of(uintptr_t p)
{
    return &stripes[mix(p >> STRIPE_SHIFT) & (STRIPES - 1)];
}

static inline uint32_t home(uintptr_t p, uint32_t cap)
{
    return (uint32_t)(mix(p) >> 6) & (cap - 1);
}

static void put(struct dp_tracked *e, uint32_t cap, const struct dp_tracked *t)
{
    for (uint32_t i = home(t->ptr, cap);; i = (i + 1) & (cap - 1))
        if (e[i].ptr == EMPTY) {
            e[i] = *t;
            return;
        }
}

/* Doubles the table when it is half full. Deletion shifts entries back
 * instead of leaving tombstones, so a churning table never needs a rehash
 * at the same size (each rehash released pages: a TLB shootdown). */
static int grow(struct stripe *s)
{
    uint32_t cap = s->cap ? s->cap * 2 : 256;
    struct dp_tracked *e = dp_mem_hot((size_t)cap * sizeof *e);
    if (!e)
        return -1;
    for (uint32_t i = 0; i < s->cap; i++)
        if (s->e[i].ptr != EMPTY)
            put(e, cap, &s->e[i]);
    if (s->e)
        dp_mem_hot_release(s->e, (size_t)s->cap * sizeof *s->e);
    s->e = e;
    s->cap = cap;
    return 0;
}

static int insert(const struct dp_tracked *t)
{
    struct stripe *s = stripe_of(t->ptr);
    dp_spin_lock(&s->lock);
    if ((s->live + 1) * 2 > s->cap && grow(s) != 0) {
        dp_spin_unlock(&s->lock);
        return 0;
    }
    put(s->e, s->cap, t);
    s->live++;
    dp_spin_unlock(&s->lock);
    return 1;
}

/* Linear-probing deletion: later entries of the same run move back into
 * the hole unless their home lies cyclically after it. */
static void remove_at(struct stripe *s, uint32_t hole)
{
    uint32_t mask = s->cap - 1;
    for (uint32_t j = (hole + 1) & mask; s->e[j].ptr != EMPTY; j = (j + 1) & mask) {
        uint32_t h = home(s->e[j].ptr, s->cap);
        int stays = hole <= j ? (hole < h && h <= j) : (hole < h || h <= j);
        if (!stays) {
            s->e[hole] = s->e[j];
            hole = j;
        }
    }
    s->e[hole].ptr = EMPTY;
}

int dp_sites_free(void *p)
{
    int found = 0;
    uintptr_t key = (uintptr_t)p;
    struct stripe *s = stripe_of(key);
    dp_spin_lock(&s->lock);
    if (s->cap)
        for (uint32_t i = home(key, s->cap);; i = (i + 1) & (s->cap - 1)) {
            if (s->e[i].ptr == EMPTY)
                break;
            if (s->e[i].ptr == key) {
                remove_at(s, i);
                s->live--;
                found = 1;
                break;
            }
        }
    dp_spin_unlock(&s->lock);
    return found;
}

#define sample_left dp_hot.sample_left
static __thread int sample_started;
static __thread uint64_t rng;

/* Exponential spacing with the configured mean, as tcmalloc and jemalloc
 * sample: large allocations are almost always picked. */
static int64_t next_gap(void)
{
    if (!rng)
        rng = (uint64_t)(uintptr_t)&rng ^ dp_now_ns();
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    double u = ((rng >> 11) + 1) * (1.0 / 9007199254740993.0);
    return (int64_t)(-log(u) * sample_mean) + 1;
}

int dp_sites_alloc_slow(void *p, size_t usable, size_t charge, int slot)
{
    if (!stack_slots)
        return 0;
    /* glibc's mmapped chunks are always tracked (exactly): each already
     * costs a system call, and the snapshot needs their list. */
    int take = mode == DP_STACKS_ALL || slot == DP_SLOT_MMAP;
    if (mode == DP_STACKS_SAMPLE && slot != DP_SLOT_MMAP) {
        /* The inline countdown already took this allocation's bytes; a
         * thread's first allocation only starts its countdown. */
        if (!sample_started) {
            sample_started = 1;
            sample_left += next_gap();
        }
        if (sample_left <= 0) {
            take = 1;
            while (sample_left <= 0)
                sample_left += next_gap();
        }
    }
    if (!take)
        return 0;
    int64_t delta = (int64_t)charge - (int64_t)usable;
    if (!DP_CHECK(delta >= INT8_MIN && delta <= INT8_MAX))
        delta = 0;
    struct dp_tracked t = {(uintptr_t)p, usable, mode == DP_STACKS_OFF ? 0 : capture(), (int16_t)slot, (int8_t)delta};
    return insert(&t);
}

uint64_t dp_sites_weight(const struct dp_tracked *t)
{
    if (mode != DP_STACKS_SAMPLE || t->slot == DP_SLOT_MMAP)
        return t->size;
    /* An allocation charged c bytes is picked with probability
     * 1 - exp(-c/mean): weight it by the inverse. */
    double prob = -expm1(-(double)((int64_t)t->size + t->delta) / sample_mean);
    return prob > 0 ? (uint64_t)((double)t->size / prob) : 0;
}

/* ---- the carve log: chunks carved from the main arena's top ----
 * The highest live chunk of a brk heap (its pinner) was carved from the top
 * when it was allocated. Every such carve is logged here with its stack,
 * direct-mapped by address. An entry lives until its chunk is freed (a
 * carve counts in the tracked filter, so that free reaches
 * dp_sites_uncarve) or another carve takes its slot: a chunk freed into a
 * tcache and handed out again from there was not carved the second time,
 * and a stale entry would name its first owner. A snapshot also checks an
 * entry against the heap. With stacks off nothing is logged: an entry would
 * tell nothing the walk does not. */
#define CARVE_SLOTS (1u << 14)
struct carve {
    uint64_t seq; /* odd while being written */
    uintptr_t ptr; /* 0: empty */
    uint64_t size;
    uint32_t stack;
};
static struct carve *carves;

static struct carve *carve_slot(uintptr_t p)
{
    return &carves[(p >> 4) & (CARVE_SLOTS - 1)];
}

/* Takes c for writing (seq odd); 0 if another thread writes it. */
static int carve_take(struct carve *c, uint64_t *seq)
{
    *seq = __atomic_load_n(&c->seq, __ATOMIC_RELAXED);
    return !(*seq & 1) && __atomic_compare_exchange_n(&c->seq, seq, *seq + 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void dp_sites_carve(void *p, size_t usable)
{
    if (!carves || !stack_slots || mode == DP_STACKS_OFF)
        return;
    struct carve *c = carve_slot((uintptr_t)p);
    uint32_t stack = capture();
    uint64_t seq;
    if (!carve_take(c, &seq))
        return; /* another thread writes this slot: losing one entry is fine */
    uintptr_t old = c->ptr;
    __atomic_store_n(&c->ptr, (uintptr_t)p, __ATOMIC_RELAXED);
    c->size = usable;
    c->stack = stack;
    __atomic_store_n(&c->seq, seq + 2, __ATOMIC_RELEASE);
    dp_filter_mark((uintptr_t)p, 1);
    if (old)
        dp_filter_mark(old, -1);
}

void dp_sites_uncarve(void *p)
{
    if (!carves)
        return;
    struct carve *c = carve_slot((uintptr_t)p);
    uint64_t seq;
    /* A slot being written is being taken by another carve, which unmarks
     * the entry it replaces. */
    if (__atomic_load_n(&c->ptr, __ATOMIC_RELAXED) != (uintptr_t)p || !carve_take(c, &seq))
        return;
    int mine = __atomic_load_n(&c->ptr, __ATOMIC_RELAXED) == (uintptr_t)p;
    if (mine)
        __atomic_store_n(&c->ptr, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->seq, seq + 2, __ATOMIC_RELEASE);
    if (mine)
        dp_filter_mark((uintptr_t)p, -1);
}

int dp_sites_carves(int (*fn)(uintptr_t ptr, uint64_t size, uint32_t stack, void *ctx), void *ctx)
{
    int n = 0;
    for (uint32_t i = 0; carves && i < CARVE_SLOTS; i++) {
        struct carve *c = &carves[i];
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        if (!seq || (seq & 1))
            continue;
        uintptr_t ptr = __atomic_load_n(&c->ptr, __ATOMIC_RELAXED);
        if (!ptr)
            continue;
        uint64_t size = c->size;
        uint32_t stack = c->stack;
        if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != seq)
            continue;
        n += fn(ptr, size, stack, ctx);
    }
    return n;
}

static uint64_t hold_max_ns;

uint64_t dp_sites_take_hold_ns(void)
{
    return __atomic_exchange_n(&hold_max_ns, 0, __ATOMIC_RELAXED);
}

void dp_sites_each(void (*fn)(const struct dp_tracked *t, void *ctx), void *ctx)
{
    struct dp_tracked batch[256];
    for (int k = 0; k < STRIPES; k++) {
        struct stripe *s = &stripes[k];
        /* Copy out in batches so the lock is never held across fn. Entries
         * inserted, moved back or rehashed between two batches may be
         * missed or seen twice: the figures are a snapshot's, not a
         * ledger's. */
        for (uint32_t i = 0;;) {
            int n = 0;
            dp_spin_lock(&s->lock);
            uint64_t t0 = dp_now_ns();
            for (; i < s->cap && n < 256; i++)
                if (s->e[i].ptr != EMPTY)
                    batch[n++] = s->e[i];
            uint32_t cap = s->cap;
            uint64_t held = dp_now_ns() - t0;
            dp_spin_unlock(&s->lock);
            if (held > hold_max_ns)
                hold_max_ns = held;
            for (int j = 0; j < n; j++)
                fn(&batch[j], ctx);
            if (i >= cap)
                break;
        }
    }
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t here = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (here >= lo && here < hi) {
            self_lo = lo;
            self_hi = hi;
            return 1;
        }
    }
    return 0;
}

void dp_sites_init(int stacks_mode, uint64_t sample_bytes, int max_depth)
{
    mode = stacks_mode;
    sample_mean = (double)sample_bytes;
    depth = max_depth > DP_MAX_FRAMES ? DP_MAX_FRAMES : max_depth;
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&dp_sites_init);
    if (mode != DP_STACKS_OFF)
        dp_unwind_init();
    stack_slots = dp_mem_map(STACK_SLOTS * sizeof *stack_slots);
    stack_frames = dp_mem_map((size_t)MAX_STACKS * DP_MAX_FRAMES * sizeof *stack_frames);
    stack_len = dp_mem_map(MAX_STACKS);
    carves = dp_mem_map(CARVE_SLOTS * sizeof *carves);
    if (!stack_frames || !stack_len)
        stack_slots = NULL;
}

void dp_sites_fork_prepare(void)
{
    for (int k = 0; k < STRIPES; k++)
        dp_spin_lock(&stripes[k].lock);
}

void dp_sites_fork_release(void)
{
    for (int k = 0; k < STRIPES; k++)
        dp_spin_unlock(&stripes[k].lock);
}
