/* One snapshot: the tracker's live figures joined with the kernel's view of
 * every mapping, formatted as one report line. Runs on the sampler thread (or
 * the thread that asked for it) under the snapshot lock; uses fixed buffers
 * only, no malloc and no stdio streams. */
#include "snapshot.h"
#include "dp.h"
#include "glibc.h"
#include "heapwalk.h"
#include "hints.h"
#include "jbuf.h"
#include "mem.h"
#include "modules.h"
#include "options.h"
#include "proc.h"
#include "regions.h"
#include "report.h"
#include "shim.h"
#include "sites.h"
#include "track.h"
#include "trim.h"

#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <link.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_HEAPS 64     /* per non-main arena: 4 GiB */
#define MAX_OUT_REGIONS 64
#define TOP_SITES 10
#define SPARSE_BYTES (DP_PAGE / 8)
#define ROLLUP_MAX_MAPPING ((uint64_t)256 << 20) /* about 1 ms of page-table walk */

struct class_sum {
    uint64_t count, size, rss;
};

enum { C_BRK, C_ARENA, C_MMAP_CHUNK, C_APP, C_STACK, C_FILE, C_SELF, C_OTHER, C_N };
static const char *const class_names[C_N] = {"brk_heap", "arena_heap", "mmap_chunk", "app_mmap",
                                             "stack",    "file",       "self",       "other_anon"};

struct arena_out {
    struct dp_arena_info info;
    int slot;
    int nheaps;
    uintptr_t heap[MAX_HEAPS];
    size_t heap_size[MAX_HEAPS];
    uint64_t resident, anon_huge;
    uint64_t pages_live, pages_empty_resident, pages_sparse;
    uint64_t top_empty_resident; /* in the top chunk of a non-main arena */
    struct dp_walk walk;
};

/* Everything one snapshot computes before it is written. Each snapshot
 * clears the fields up to arena; the arrays after it are filled as far as
 * they are used (clearing all of them touched 340 KiB). */
static struct snap {
    struct dp_totals tot;
    int narenas;
    struct class_sum cls[C_N];
    uintptr_t brk_start, brk_end; /* the [heap] mapping */
    uint64_t rss_total;
    struct dp_rollup rollup;
    int have_rollup;
    int from_smaps; /* mapping entries carry the kernel's Rss */
    int gate_up;    /* the walks ran with the gate up (heapwalk.h) */
    struct dp_gate_stats gate;
    uint64_t mmap_chunk_rss;
    int nregions;
    int region_next; /* the first of region_order that may overlap the next mapping */
    struct dp_mapping prev;
    struct arena_out arena[DP_MAX_ARENAS]; /* [0, narenas): collect_arenas */
    struct dp_region region[1024];         /* [0, nregions) */
    uint64_t region_rss[1024];             /* [0, nregions) */
    uint16_t region_order[1024];           /* [0, nregions): by start address, then the listed ones first */
} S;

static char line[256 << 10];
static char iobuf[64 << 10];
static unsigned char incore[16384];
static uint16_t heap_pages[DP_HEAP_MAX / DP_PAGE]; /* one non-main heap's held bytes */
static uint16_t *brk_pages;                         /* the brk heap's, grown as it grows */
static size_t brk_pages_cap;
static int snapshot_lock;
static uint32_t stacks_written = 1;
static uint64_t seq;
static double start_wall;
static uint64_t start_ns;
static struct dp_vmstat prev_vm;
static int have_prev_vm;
static char allocator_name[64];

void dp_snapshot_set_allocator(const char *name)
{
    snprintf(allocator_name, sizeof allocator_name, "%s", name);
}

/* ---- classification of smaps entries ---- */

static struct arena_out *arena_of_addr(uintptr_t a)
{
    for (int i = 1; i < S.narenas; i++)
        for (int h = 0; h < S.arena[i].nheaps; h++)
            if (a >= S.arena[i].heap[h] && a < S.arena[i].heap[h] + DP_HEAP_MAX)
                return &S.arena[i];
    return NULL;
}

/* glibc's mmapped chunks: each starts a mapping with a size word that is
 * the mapping's size with IS_MMAPPED set. The kernel merges neighbouring
 * anonymous mappings into one entry, so walk chunk by chunk. Returns the
 * bytes covered by chunks from the start of m (their resident bytes come
 * from the tracked list, exactly). */
static uintptr_t mmap_chunks_in(const struct dp_mapping *m)
{
    uintptr_t cur = m->start;
    for (int n = 0; cur < m->end && n < 65536; n++) {
        uintptr_t word;
        if (dp_safe_read(cur + sizeof(size_t), &word, sizeof word) ||
            (word & DP_SIZE_BITS) != DP_IS_MMAPPED)
            break;
        uintptr_t size = word & ~(uintptr_t)DP_SIZE_BITS;
        if (!size || (size & (DP_PAGE - 1)) || size > m->end - cur)
            break;
        cur += size;
    }
    return cur - m->start;
}

static void add_class(int c, uint64_t count, uint64_t size, uint64_t rss)
{
    S.cls[c].count += count;
    S.cls[c].size += size;
    S.cls[c].rss += rss;
}

static uint64_t overlap(uintptr_t a0, uintptr_t a1, uintptr_t b0, uintptr_t b1)
{
    uintptr_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi > lo ? hi - lo : 0;
}

/* region_order: the regions by start address (a shell sort: no
 * allocation, and the table is often in reverse order, as the kernel
 * places new mappings below old ones), so each mapping is matched with
 * the few regions near it, not all of them. */
static void sort_regions(void)
{
    static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (int i = 0; i < S.nregions; i++)
        S.region_order[i] = (uint16_t)i;
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++)
        for (int i = gaps[g]; i < S.nregions; i++) {
            uint16_t v = S.region_order[i];
            int j = i;
            for (; j >= gaps[g] && S.region[S.region_order[j - gaps[g]]].start > S.region[v].start; j -= gaps[g])
                S.region_order[j] = S.region_order[j - gaps[g]];
            S.region_order[j] = v;
        }
}

/* Puts the MAX_OUT_REGIONS regions with the most resident bytes (then the
 * largest) first in region_order, in that order: those the report lists.
 * Run after the mappings are classified, which need the address order no
 * more. */
static int pick_out_regions(void)
{
    int n = S.nregions < MAX_OUT_REGIONS ? S.nregions : MAX_OUT_REGIONS;
    for (int k = 0; k < n; k++) {
        int best = k;
        for (int i = k + 1; i < S.nregions; i++) {
            int a = S.region_order[i], b = S.region_order[best];
            uint64_t la = S.region[a].end - S.region[a].start, lb = S.region[b].end - S.region[b].start;
            if (S.region_rss[a] > S.region_rss[b] || (S.region_rss[a] == S.region_rss[b] && la > lb))
                best = i;
        }
        uint16_t v = S.region_order[k];
        S.region_order[k] = S.region_order[best];
        S.region_order[best] = v;
    }
    return n;
}

/* Residency of a run of adjacent mappings, read by one mincore call
 * before they are classified: a process of many small mappings (a JIT's
 * code, guard pages between thread stacks) cost one system call each,
 * 126 ms a snapshot at 40 000 of them. [lo, hi) is empty outside a run. */
static struct {
    uintptr_t lo, hi;
    unsigned char vec[16384]; /* 64 MiB: the mmap lock is held that long */
} run_core;

static uint64_t resident_pages(uintptr_t start, uintptr_t end)
{
    start &= ~(DP_PAGE - 1);
    end = (end + DP_PAGE - 1) & ~(DP_PAGE - 1);
    if (start < run_core.lo || end > run_core.hi)
        return dp_mem_resident_pages(start, end);
    uint64_t pages = 0;
    for (uintptr_t i = (start - run_core.lo) / DP_PAGE; i < (end - run_core.lo) / DP_PAGE; i++)
        pages += run_core.vec[i] & 1;
    return pages;
}

static void on_mapping(const struct dp_mapping *m, void *ctx)
{
    (void)ctx;
    int c;
    int anon = m->inode == 0 && (m->path[0] == 0 || !strncmp(m->path, "[anon", 5));
    struct arena_out *a;
    /* The kernel merges neighbouring anonymous mappings with equal flags, so
     * one entry can hold ours (all MAP_NORESERVE) and a program's own
     * MAP_NORESERVE region: those parts are measured with mincore and only
     * the rest of the entry is classified. */
    uint64_t own_size = 0, own_rss = 0, app_size = 0, app_rss = 0;
    if (dp_mem_is_own(m->start, m->end)) {
        own_rss = dp_mem_resident_in(m->start, m->end, &own_size);
        add_class(C_SELF, 1, own_size, own_rss);
    }
    /* Mappings come in address order: regions that end before this one
     * cannot overlap it or any later one. */
    while (S.region_next < S.nregions && S.region[S.region_order[S.region_next]].end <= m->start)
        S.region_next++;
    for (int k = S.region_next; k < S.nregions && S.region[S.region_order[k]].start < m->end; k++) {
        int r = S.region_order[k];
        uint64_t size = overlap(m->start, m->end, S.region[r].start, S.region[r].end);
        if (!size)
            continue;
        uintptr_t lo = m->start > S.region[r].start ? m->start : S.region[r].start;
        uint64_t rss = resident_pages(lo, lo + size) * DP_PAGE;
        S.region_rss[r] += rss;
        app_size += size;
        app_rss += rss;
    }
    if (app_size)
        add_class(C_APP, 1, app_size, app_rss);
    uint64_t size = m->end - m->start;
    /* mincore of a file mapping tells the page cache, not what we map: the
     * file class takes its total from /proc/self/status instead. An entry
     * that is all ours is measured once, above (the pool's reservation is
     * 16 GiB: a mincore of all of it cost milliseconds per snapshot). */
    uint64_t rss = S.from_smaps      ? m->rss
                   : own_size >= size ? own_rss
                   : anon            ? resident_pages(m->start, m->end) * DP_PAGE
                                     : 0;
    uint64_t rest_size = size > own_size + app_size ? size - own_size - app_size : 0;
    uint64_t rest_rss = rss > own_rss + app_rss ? rss - own_rss - app_rss : 0;
    if (own_size || app_size) {
        if (rest_size)
            add_class(C_OTHER, 1, rest_size, rest_rss);
        S.prev = *m;
        return;
    }
    if (!strcmp(m->path, "[heap]")) {
        c = C_BRK;
        S.brk_start = m->start;
        S.brk_end = m->end;
        S.arena[0].anon_huge += m->anon_huge;
    } else if (!strcmp(m->path, "[stack]")) {
        c = C_STACK;
    } else if (anon && (a = arena_of_addr(m->start)) != NULL) {
        c = C_ARENA;
        a->anon_huge += m->anon_huge;
    } else if (!anon) {
        c = C_FILE;
    } else if (m->perms[0] == 'r' && mmap_chunks_in(m)) {
        c = C_MMAP_CHUNK;
    } else if (S.prev.end == m->start && !strncmp(S.prev.perms, "---", 3) && S.prev.inode == 0 &&
               S.prev.end - S.prev.start <= (1u << 20)) {
        c = C_STACK; /* thread stack: anonymous, right above its guard page */
    } else {
        c = C_OTHER;
    }
    add_class(c, 1, size, rss);
    S.prev = *m;
}

static void smaps_line(const char *l, size_t len, void *ctx)
{
    dp_smaps_line(ctx, l, len);
}

/* What a page-table walk of m costs: its resident bytes. Only mappings
 * that could exceed the limit are measured (mincore, 64 MiB a call); a
 * file mapping counts whole; the profiler's own are not the program's. */
static void note_biggest(const struct dp_mapping *m, uint64_t *biggest)
{
    uint64_t size = m->end - m->start;
    if (size <= *biggest || size <= ROLLUP_MAX_MAPPING || dp_mem_is_own(m->start, m->end))
        return;
    if (m->inode == 0)
        size = dp_mem_resident_pages(m->start, m->end) * DP_PAGE;
    if (size > *biggest)
        *biggest = size;
}

/* The pass over /proc/self/maps: each mapping classified, residency from
 * mincore, and the largest mapping to walk noted for the smaps_rollup
 * guard. Adjacent entries wait in pending[] until the run ends, so one
 * mincore covers them all (run_core). */
#define PENDING 64
static struct dp_mapping pending[PENDING];
static int npending;

static void flush_pending(uint64_t *biggest)
{
    uintptr_t lo = pending[0].start, hi = (pending[npending - 1].end + DP_PAGE - 1) & ~(DP_PAGE - 1);
    if (npending > 1 && mincore((void *)lo, hi - lo, run_core.vec) == 0) {
        run_core.lo = lo;
        run_core.hi = hi;
    }
    for (int i = 0; i < npending; i++) {
        note_biggest(&pending[i], biggest);
        on_mapping(&pending[i], NULL);
    }
    run_core.lo = run_core.hi = 0;
    npending = 0;
}

static void on_maps_entry(const struct dp_mapping *m, void *biggest)
{
    if (npending && (npending == PENDING || pending[npending - 1].end != m->start ||
                     m->end - pending[0].start > sizeof run_core.vec * DP_PAGE))
        flush_pending(biggest);
    pending[npending++] = *m;
}

/* Undoes what on_mapping added, before smaps classifies the mappings
 * again. */
static void clear_mapping_figures(void)
{
    memset(S.cls, 0, sizeof S.cls);
    S.brk_start = S.brk_end = 0;
    memset(&S.prev, 0, sizeof S.prev);
    memset(S.region_rss, 0, (size_t)S.nregions * sizeof *S.region_rss);
    S.region_next = 0;
    for (int i = 0; i < S.narenas; i++)
        S.arena[i].anon_huge = 0;
}

static void read_mappings(const char *path, dp_mapping_fn fn, void *ctx)
{
    struct dp_smaps_parser parser;
    dp_smaps_init(&parser, fn, ctx);
    dp_read_lines(path, iobuf, sizeof iobuf, smaps_line, &parser);
    dp_smaps_finish(&parser);
}

/* ---- pages ---- */

/* Sparse pages found by the scan, in increasing order within each scanned
 * range, so a tracked allocation can tell which of its pages are sparse. */
#define MAX_SPARSE (1u << 18)
static uintptr_t *sparse;
static size_t nsparse;
static struct {
    uintptr_t start, end;
    size_t first, count;
} sparse_range[DP_MAX_ARENAS * 4];
static int nsparse_ranges;

static void note_sparse(uintptr_t page)
{
    if (sparse && nsparse < MAX_SPARSE)
        sparse[nsparse++] = page;
}

static int is_sparse(uintptr_t page)
{
    for (int r = 0; r < nsparse_ranges; r++) {
        if (page < sparse_range[r].start || page >= sparse_range[r].end)
            continue;
        size_t lo = sparse_range[r].first, hi = lo + sparse_range[r].count;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sparse[mid] < page)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < sparse_range[r].first + sparse_range[r].count && sparse[lo] == page;
    }
    return 0;
}

struct page_stats {
    uint64_t live, empty_resident, sparse, resident;
};

/* Page statistics of [start, end) from the walk's held bytes per page
 * (held[0] is start's page; NULL: none held); `record` keeps its sparse
 * pages. */
static void scan_pages(uintptr_t start, uintptr_t end, const uint16_t *held, struct page_stats *ps, int record)
{
    start &= ~(DP_PAGE - 1);
    end = (end + DP_PAGE - 1) & ~(DP_PAGE - 1);
    record = record && nsparse_ranges < (int)(sizeof sparse_range / sizeof sparse_range[0]);
    if (record) {
        sparse_range[nsparse_ranges].start = start;
        sparse_range[nsparse_ranges].end = end;
        sparse_range[nsparse_ranges].first = nsparse;
    }
    for (uintptr_t a = start; a < end;) {
        size_t n = (end - a) / DP_PAGE;
        if (n > sizeof incore)
            n = sizeof incore;
        int have_core = mincore((void *)a, n * DP_PAGE, incore) == 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t live = held ? held[(a - start) / DP_PAGE + i] : 0;
            if (have_core)
                ps->resident += incore[i] & 1;
            if (live) {
                ps->live++;
                if (live < SPARSE_BYTES) {
                    ps->sparse++;
                    if (record)
                        note_sparse(a + i * DP_PAGE);
                }
            } else if (have_core && (incore[i] & 1)) {
                ps->empty_resident++;
            }
        }
        a += n * DP_PAGE;
    }
    if (record) {
        sparse_range[nsparse_ranges].count = nsparse - sparse_range[nsparse_ranges].first;
        nsparse_ranges++;
    }
}

static uint64_t count_empty_resident(uintptr_t start, uintptr_t end, const uint16_t *held)
{
    struct page_stats ps = {0};
    scan_pages(start, end, held, &ps, 0);
    return ps.empty_resident;
}

/* The brk heap's page counts, zeroed, for n pages. */
static uint16_t *brk_page_counts(size_t n)
{
    if (n > brk_pages_cap) {
        if (brk_pages)
            dp_mem_unmap(brk_pages, brk_pages_cap * sizeof *brk_pages);
        brk_pages_cap = n + n / 4 + DP_HEAP_MAX / DP_PAGE;
        brk_pages = dp_mem_map(brk_pages_cap * sizeof *brk_pages);
        if (!brk_pages)
            brk_pages_cap = 0;
    }
    if (brk_pages)
        memset(brk_pages, 0, n * sizeof *brk_pages);
    return brk_pages;
}

/* ---- tracked allocations: pinner and top sites ---- */

struct site_acc {
    uint64_t bytes, chunks, pinned_pages;
    int slot;
};
static struct site_acc *sites_acc; /* indexed by stack id */
static size_t sites_acc_n;

/* The brk pinner (the highest chunk the walk found held) and its stack. */
struct tracked_ctx {
    uintptr_t ptr;
    uint64_t size;
    uint32_t stack;
};

/* The carve log's entry for the pinner, when it was carved from the top. */
static int on_carve(uintptr_t ptr, uint64_t size, uint32_t stack, void *vctx)
{
    struct tracked_ctx *c = vctx;
    if (ptr != c->ptr || size != c->size)
        return 0;
    c->stack = stack;
    return 1;
}

static void on_tracked(const struct dp_tracked *t, void *vctx)
{
    struct tracked_ctx *c = vctx;
    if (t->slot == DP_SLOT_MMAP) {
        uintptr_t chunk = t->ptr - 2 * sizeof(size_t);
        S.mmap_chunk_rss += dp_mem_resident_pages(chunk, chunk + t->size + 2 * sizeof(size_t)) * DP_PAGE;
    }
    if (t->slot == 0 && t->ptr == c->ptr && t->size == c->size && t->stack)
        c->stack = t->stack;
    uint64_t weight = dp_sites_weight(t);
    if (!t->stack || !weight || t->stack >= sites_acc_n)
        return;
    struct site_acc *s = &sites_acc[t->stack];
    s->bytes += weight;
    s->chunks += weight / (t->size ? t->size : 1);
    s->slot = t->slot;
    /* Sparse pages this allocation keeps alive (weighted like its bytes). */
    uint64_t sparse = 0;
    for (uintptr_t p = t->ptr & ~(DP_PAGE - 1); p < t->ptr + t->size; p += DP_PAGE)
        sparse += is_sparse(p);
    s->pinned_pages += sparse * (weight / (t->size ? t->size : 1));
}

/* ---- output helpers ---- */

static void put_class(struct jbuf *j)
{
    jb_obj(j, "mappings");
    for (int c = 0; c < C_N; c++) {
        jb_obj(j, class_names[c]);
        jb_u64(j, "count", S.cls[c].count);
        jb_u64(j, "size", S.cls[c].size);
        jb_u64(j, "rss", S.cls[c].rss);
        jb_end_obj(j);
    }
    jb_end_obj(j);
}

static void write_line(struct jbuf *j)
{
    size_t n = jb_line(j);
    if (n)
        dp_report_line(j->buf, n);
    else
        dp_invariant_failed("report line fits its buffer", __FILE__, __LINE__);
}

/* Module and stack lines go out in batches of whole lines, so one
 * descriptor check and one write(2) serve many: a program's first
 * snapshots can have thousands of stacks. */
static size_t batched; /* bytes of whole lines waiting at the start of line[] */

static void batch_flush(void)
{
    if (batched)
        dp_report_line(line, batched);
    batched = 0;
}

static void batch_begin(struct jbuf *j)
{
    jb_init(j, line + batched, sizeof line - batched);
}

/* 0 when the line did not fit after the waiting ones: they are written
 * and the caller formats the line again. */
static int batch_end(struct jbuf *j)
{
    size_t n = jb_line(j);
    if (n) {
        batched += n;
        return 1;
    }
    if (batched) {
        batch_flush();
        return 0;
    }
    dp_invariant_failed("report line fits its buffer", __FILE__, __LINE__);
    return 1;
}

static void write_new_modules(struct jbuf *j)
{
    struct dp_module m[16];
    int n;
    dp_modules_refresh();
    while ((n = dp_modules_take_new(m, 16)) > 0)
        for (int i = 0; i < n; i++)
            do {
                batch_begin(j);
                jb_obj(j, NULL);
                jb_str(j, "type", "module");
                jb_str(j, "path", m[i].path);
                jb_hex(j, "base", m[i].base);
                jb_hex(j, "end", m[i].end);
                if (m[i].build_id[0])
                    jb_str(j, "build_id", m[i].build_id);
                else
                    jb_null(j, "build_id");
                jb_end_obj(j);
            } while (!batch_end(j));
}

/* Writes the stacks (and modules) recorded since the last snapshot; line[]
 * is free again when it returns. */
static void write_new_stacks(struct jbuf *j)
{
    uint32_t n = dp_sites_stack_count();
    uintptr_t frames[DP_MAX_FRAMES];
    if (n > stacks_written)
        write_new_modules(j);
    for (; stacks_written < n; stacks_written++) {
        int k = dp_sites_frames(stacks_written, frames, DP_MAX_FRAMES);
        if (!k)
            continue;
        do {
            batch_begin(j);
            jb_obj(j, NULL);
            jb_str(j, "type", "stack");
            jb_u64(j, "id", stacks_written);
            jb_arr(j, "frames");
            for (int i = 0; i < k; i++)
                jb_hex(j, NULL, frames[i]);
            jb_end_arr(j);
            jb_end_obj(j);
        } while (!batch_end(j));
    }
    batch_flush();
}

static void stack_or_null(struct jbuf *j, const char *key, uint32_t id)
{
    if (id)
        jb_u64(j, key, id);
    else
        jb_null(j, key);
}

/* ---- /proc extras ---- */

static void put_system(struct jbuf *j)
{
    struct dp_meminfo mi = {0};
    struct dp_vmstat vm = {0};
    int n = dp_read_file("/proc/meminfo", iobuf, sizeof iobuf);
    int have_mi = n > 0 && dp_parse_meminfo(iobuf, (size_t)n, &mi) == 0;
    n = dp_read_file("/proc/vmstat", iobuf, sizeof iobuf);
    int have_vm = n > 0 && dp_parse_vmstat(iobuf, (size_t)n, &vm) == 0;
    jb_obj(j, "system");
    if (have_mi) {
        jb_u64(j, "mem_total", mi.mem_total);
        jb_u64(j, "mem_available", mi.mem_available);
        jb_u64(j, "swap_total", mi.swap_total);
        jb_u64(j, "swap_free", mi.swap_free);
        jb_u64(j, "shmem", mi.shmem);
        jb_u64(j, "sunreclaim", mi.sunreclaim);
    }
    if (have_vm) {
        const struct dp_vmstat *p = have_prev_vm ? &prev_vm : &(struct dp_vmstat){0};
        jb_u64(j, "pgmajfault", vm.pgmajfault - p->pgmajfault);
        jb_u64(j, "pgscan_direct", vm.pgscan_direct - p->pgscan_direct);
        jb_u64(j, "allocstall", vm.allocstall - p->allocstall);
        jb_u64(j, "compact_stall", vm.compact_stall - p->compact_stall);
        jb_u64(j, "thp_fault_fallback", vm.thp_fault_fallback - p->thp_fault_fallback);
        jb_u64(j, "numa_miss", vm.numa_miss - p->numa_miss);
        jb_bool(j, "since_boot", !have_prev_vm);
        prev_vm = vm;
        have_prev_vm = 1;
    }
    jb_end_obj(j);

    struct dp_psi psi;
    n = dp_read_file("/proc/pressure/memory", iobuf, sizeof iobuf);
    if (n > 0 && dp_parse_psi(iobuf, (size_t)n, &psi) == 0) {
        jb_obj(j, "psi");
        jb_dbl(j, "some_avg10", psi.some_avg10, 2);
        jb_dbl(j, "some_avg60", psi.some_avg60, 2);
        if (psi.has_full) {
            jb_dbl(j, "full_avg10", psi.full_avg10, 2);
            jb_dbl(j, "full_avg60", psi.full_avg60, 2);
        } else {
            jb_null(j, "full_avg10");
            jb_null(j, "full_avg60");
        }
        jb_u64(j, "some_total_us", psi.some_total_us);
        jb_u64(j, "full_total_us", psi.full_total_us);
        jb_end_obj(j);
    } else {
        jb_null(j, "psi");
    }

    struct dp_cgroup_mem cg;
    if (dp_read_cgroup_mem(&cg) == 0) {
        jb_obj(j, "cgroup");
        jb_u64(j, "version", (uint64_t)cg.version);
        jb_u64(j, "usage_bytes", cg.usage);
        if (cg.limit_known)
            jb_u64(j, "limit_bytes", cg.limit);
        else
            jb_null(j, "limit_bytes");
        jb_end_obj(j);
    } else {
        jb_null(j, "cgroup");
    }
}

static void put_rss(struct jbuf *j, const struct dp_status *st, int have_st)
{
    const struct dp_rollup ru = S.rollup;
    if (!S.have_rollup && !have_st) {
        jb_null(j, "rss");
        return;
    }
    jb_obj(j, "rss");
    jb_str(j, "source", S.have_rollup ? "smaps_rollup" : "status");
    if (S.have_rollup) {
        jb_u64(j, "total", ru.rss);
        jb_u64(j, "pss", ru.pss);
        jb_u64(j, "uss", ru.private_clean + ru.private_dirty);
        jb_u64(j, "anon", ru.anonymous);
    } else {
        jb_u64(j, "total", st->vm_rss);
        jb_null(j, "pss");
        jb_null(j, "uss");
        jb_u64(j, "anon", st->rss_anon);
    }
    if (have_st) {
        jb_u64(j, "file", st->rss_file);
        jb_u64(j, "shmem", st->rss_shmem);
    } else {
        jb_null(j, "file");
        jb_null(j, "shmem");
    }
    if (S.have_rollup) {
        jb_u64(j, "swap", ru.swap);
        jb_u64(j, "lazyfree", ru.lazyfree);
        jb_u64(j, "anon_huge", ru.anon_huge);
    } else {
        jb_u64(j, "swap", st->vm_swap);
        jb_null(j, "lazyfree");
        jb_null(j, "anon_huge");
    }
    jb_u64(j, "self", dp_mem_resident());
    jb_end_obj(j);
}

/* ---- the snapshot ---- */

static void collect_arenas(void)
{
    struct dp_arena_info ring[DP_MAX_ARENAS];
    int n = dp_track_glibc ? dp_glibc_arenas(ring, DP_MAX_ARENAS) : 0;
    S.narenas = 0;
    if (!dp_track_glibc)
        return;
    for (int i = 0; i < n; i++) {
        struct arena_out *a = &S.arena[i];
        *a = (struct arena_out){.info = ring[i]};
        a->slot = ring[i].main ? 0 : dp_track_arena_slot(ring[i].ar);
        a->walk.complete = 1;
        if (!ring[i].main)
            a->nheaps = dp_glibc_arena_heaps(ring[i].top, a->heap, a->heap_size, MAX_HEAPS);
    }
    S.narenas = n;
}

static void take(const char *label)
{
    uint64_t t0 = dp_now_ns();
    struct jbuf jb, *j = &jb;
    memset(&S, 0, offsetof(struct snap, arena));
    if (!sparse)
        sparse = dp_mem_map(MAX_SPARSE * sizeof *sparse);
    nsparse = 0;
    nsparse_ranges = 0;
    dp_track_sum(&S.tot);
    collect_arenas();
    S.nregions = dp_regions_copy(S.region, 1024);
    memset(S.region_rss, 0, (size_t)S.nregions * sizeof *S.region_rss);
    sort_regions();

    struct dp_status st = {0};
    int n = dp_read_file("/proc/self/status", iobuf, sizeof iobuf);
    int have_st = n > 0 && dp_parse_status(iobuf, (size_t)n, &st) == 0;
    /* /proc/self/maps costs no page-table walk; residency then comes from
     * mincore, a 64 MiB range per call, so the kernel's mmap lock is never
     * held long (smaps holds it across a whole mapping's walk: a writer such
     * as glibc growing an arena would wait that long). */
    uint64_t biggest = 0;
    read_mappings("/proc/self/maps", on_maps_entry, &biggest);
    if (npending)
        flush_pending(&biggest);

    /* smaps_rollup walks each mapping's page tables with the kernel's mmap
     * lock held, giving it up only between mappings: over one large mapping
     * (a 1 GiB brk heap: 3-10 ms) a thread growing its heap (mprotect) waits
     * that long. Past ROLLUP_MAX_MAPPING the counters of /proc/self/status
     * stand in, without PSS, USS, LazyFree and AnonHugePages. */
    n = biggest <= ROLLUP_MAX_MAPPING ? dp_read_file("/proc/self/smaps_rollup", iobuf, sizeof iobuf) : -1;
    S.have_rollup = n > 0 && dp_parse_rollup(iobuf, (size_t)n, &S.rollup) == 0;
    S.rss_total = S.have_rollup ? S.rollup.rss : st.vm_rss;

    /* Where transparent huge pages back something, smaps classifies the
     * mappings again, for the kernel's Rss and the huge pages' per-arena
     * share. */
    S.from_smaps = S.have_rollup && S.rollup.anon_huge > 0;
    if (S.from_smaps) {
        clear_mapping_figures();
        read_mappings("/proc/self/smaps", on_mapping, NULL);
    }
    if (!S.from_smaps && have_st)
        S.cls[C_FILE].rss = st.rss_file + st.rss_shmem;

    /* Pages of the heaps. */
    struct page_stats main_ps = {0};
    uintptr_t brk_base = 0, brk_top = 0;
    uint16_t *main_held = NULL;
    S.gate_up = 0;
    if (S.narenas) {
        /* Spinning at the gate helps only where the walk runs meanwhile on
         * another CPU; on one, the spinner would keep it from running. */
        cpu_set_t cpus;
        S.gate_up = sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 1;
        if (S.gate_up)
            dp_shim_gate(1);
        struct arena_out *m = &S.arena[0];
        brk_base = m->info.base && m->info.system_mem ? m->info.base : S.brk_start;
        brk_top = m->info.top ? m->info.top + m->info.top_size : S.brk_end;
        if (!m->info.system_mem)
            m->info.system_mem = S.brk_end - S.brk_start;
        /* The walk and the page scan stay inside the [heap] mapping: a main
         * arena whose top lies elsewhere (glibc fell back to mmap when brk
         * failed, or there is no [heap]) is not walked, and its figures are
         * incomplete. */
        int contiguous = S.brk_start && m->info.top >= S.brk_start && m->info.top < S.brk_end;
        if (!contiguous) {
            brk_base = S.brk_start;
            brk_top = S.brk_end;
            m->walk.complete = 0;
        }
        uintptr_t heap_lo = S.brk_start && S.brk_start < brk_base ? S.brk_start : brk_base & ~(DP_PAGE - 1);
        if (contiguous && brk_top > heap_lo) {
            size_t npages = (brk_top + DP_PAGE - 1 - heap_lo) / DP_PAGE;
            main_held = brk_page_counts(npages);
            if (main_held)
                dp_walk_main(m->info.ar, main_held, heap_lo, npages, &m->walk);
            if (!main_held || !m->walk.first)
                m->walk.complete = 0;
            else
                brk_base = m->walk.first; /* the heap's start, read under its lock */
            if (main_held)
                main_held += ((brk_base & ~(DP_PAGE - 1)) - heap_lo) / DP_PAGE;
        }
        if (brk_top > brk_base)
            scan_pages(brk_base, brk_top, main_held, &main_ps, 1);
        m->resident = main_ps.resident * DP_PAGE;
        m->pages_live = main_ps.live;
        m->pages_empty_resident = main_ps.empty_resident;
        m->pages_sparse = main_ps.sparse;
        for (int i = 1; i < S.narenas; i++) {
            struct arena_out *a = &S.arena[i];
            for (int h = 0; h < a->nheaps; h++) {
                struct page_stats ps = {0};
                memset(heap_pages, 0, sizeof heap_pages);
                dp_walk_heap(a->info.ar, a->heap[h], a->heap, a->nheaps, heap_pages, a->heap[h],
                             sizeof heap_pages / sizeof heap_pages[0], &a->walk);
                scan_pages(a->heap[h], a->heap[h] + a->heap_size[h], heap_pages, &ps, 1);
                a->resident += ps.resident * DP_PAGE;
                a->pages_live += ps.live;
                a->pages_empty_resident += ps.empty_resident;
                a->pages_sparse += ps.sparse;
            }
            uintptr_t top_page = (a->info.top + 2 * sizeof(size_t) + DP_PAGE - 1) & ~(DP_PAGE - 1);
            uintptr_t top_end = (a->info.top + a->info.top_size) & ~(DP_PAGE - 1);
            if (a->info.top && top_end > top_page)
                a->top_empty_resident = count_empty_resident(top_page, top_end, NULL);
        }
        if (S.gate_up)
            dp_shim_gate(0);
        dp_hints_sweep();
    }
    dp_walk_gate_take_stats(&S.gate);

    /* Tracked allocations: the brk pinner and the top sites. */
    if (!sites_acc) {
        sites_acc_n = dp_sites_stack_capacity();
        sites_acc = dp_mem_map(sites_acc_n * sizeof *sites_acc);
        if (!sites_acc)
            sites_acc_n = 0;
    } else {
        uint32_t used = dp_sites_stack_count();
        memset(sites_acc, 0, (used < sites_acc_n ? used : sites_acc_n) * sizeof *sites_acc);
    }
    struct tracked_ctx tc = {0};
    if (S.narenas) {
        tc.ptr = S.arena[0].walk.top_held;
        tc.size = S.arena[0].walk.top_held_size;
    }
    dp_sites_each(on_tracked, &tc);
    if (tc.ptr && !tc.stack)
        dp_sites_carves(on_carve, &tc);

    write_new_stacks(j);


    jb_init(j, line, sizeof line);
    jb_obj(j, NULL);
    jb_str(j, "type", "snapshot");
    jb_u64(j, "seq", ++seq);
    jb_dbl(j, "t", (double)(t0 - start_ns) / 1e9, 3);
    jb_dbl(j, "time", dp_wall_s(), 3);
    jb_str(j, "label", label);
    put_rss(j, &st, have_st);

    /* Heap totals over glibc-managed memory (or the other allocator's). */
    int64_t live = S.tot.mmap.live_bytes + S.tot.foreign.live_bytes;
    int64_t chunks = S.tot.mmap.live_chunks + S.tot.foreign.live_chunks;
    uint64_t large_count = 0, large_bytes = 0, hold_ns = dp_sites_take_hold_ns(), hold_total_ns = 0;
    int walked = 1;
    for (int i = 0; i < S.narenas; i++) {
        const struct dp_walk *w = &S.arena[i].walk;
        live += (int64_t)w->live_bytes;
        chunks += (int64_t)w->live_chunks;
        large_count += w->large_count;
        large_bytes += w->large_bytes;
        hold_ns = w->hold_ns > hold_ns ? w->hold_ns : hold_ns;
        hold_total_ns += w->hold_total_ns;
        walked &= w->complete;
    }
    jb_obj(j, "heap");
    jb_i64(j, "live_bytes", live);
    jb_i64(j, "live_chunks", chunks);
    if (dp_track_glibc) {
        uint64_t sys = (uint64_t)S.tot.mmap.chunk_bytes, res = S.mmap_chunk_rss;
        for (int i = 0; i < S.narenas; i++) {
            sys += S.arena[i].info.system_mem;
            res += S.arena[i].resident;
        }
        jb_u64(j, "system_bytes", sys);
        jb_u64(j, "resident_bytes", res);
        jb_i64(j, "gap_bytes", (int64_t)res - live);
        jb_bool(j, "walk_complete", walked);
    } else {
        jb_null(j, "system_bytes");
        jb_null(j, "resident_bytes");
        jb_null(j, "gap_bytes");
        jb_null(j, "walk_complete");
    }
    jb_end_obj(j);

    jb_arr(j, "arenas");
    for (int i = 0; i < S.narenas; i++) {
        struct arena_out *a = &S.arena[i];
        const struct dp_walk *w = &a->walk;
        jb_obj(j, NULL);
        jb_u64(j, "index", (uint64_t)i);
        jb_bool(j, "main", i == 0);
        jb_hex(j, "addr", (uintptr_t)a->info.ar);
        jb_u64(j, "system_bytes", a->info.system_mem);
        jb_u64(j, "resident_bytes", a->resident);
        jb_u64(j, "live_bytes", w->live_bytes);
        jb_u64(j, "live_chunks", w->live_chunks);
        jb_i64(j, "free_bytes", (int64_t)a->info.system_mem - (int64_t)(w->live_bytes + 8 * w->live_chunks));
        jb_u64(j, "heaps", (uint64_t)(i == 0 ? 1 : a->nheaps));
        jb_u64(j, "anon_huge_bytes", a->anon_huge);
        jb_u64(j, "top_bytes", a->info.top_size);
        jb_u64(j, "pages_live", a->pages_live);
        jb_u64(j, "pages_empty_resident", a->pages_empty_resident);
        jb_bool(j, "walk_complete", w->complete);
        jb_end_obj(j);
    }
    jb_end_arr(j);

    if (dp_track_glibc) {
        jb_obj(j, "mmap_chunks");
        jb_i64(j, "count", S.tot.mmap.live_chunks);
        jb_i64(j, "bytes", S.tot.mmap.chunk_bytes);
        jb_u64(j, "resident_bytes", S.mmap_chunk_rss);
        jb_end_obj(j);
        jb_obj(j, "large_in_heap");
        jb_u64(j, "count", large_count);
        jb_u64(j, "bytes", large_bytes);
        jb_u64(j, "threshold", DP_MMAP_THRESHOLD_DEFAULT);
        jb_end_obj(j);
    } else {
        jb_null(j, "mmap_chunks");
        jb_null(j, "large_in_heap");
    }

    /* The brk top and what pins it. */
    uint64_t pages_live = 0, pages_empty = 0, pages_sparse = 0;
    for (int i = 0; i < S.narenas; i++) {
        pages_live += S.arena[i].pages_live;
        pages_empty += S.arena[i].pages_empty_resident;
        pages_sparse += S.arena[i].pages_sparse;
    }
    if (S.narenas && brk_top > brk_base) {
        /* The walk names the highest held chunk: the pinner itself. */
        uintptr_t top_live_end = tc.ptr ? tc.ptr + tc.size : brk_base;
        if (top_live_end > brk_top)
            top_live_end = brk_top;
        const struct dp_walk *mw = &S.arena[0].walk;
        int64_t held = (int64_t)(mw->live_bytes + 8 * mw->live_chunks);
        int64_t pinned = (int64_t)(top_live_end - brk_base) - held;
        jb_obj(j, "brk");
        jb_hex(j, "base", brk_base);
        jb_hex(j, "top", brk_top);
        jb_hex(j, "top_live_end", top_live_end);
        jb_i64(j, "pinned_bytes", pinned > 0 ? pinned : 0);
        jb_u64(j, "pinned_resident_bytes",
               top_live_end > brk_base
                   ? count_empty_resident(brk_base, top_live_end & ~(DP_PAGE - 1), main_held) * DP_PAGE
                   : 0);
        if (tc.ptr) {
            jb_obj(j, "pinner");
            jb_hex(j, "addr", tc.ptr);
            jb_u64(j, "size", tc.size);
            stack_or_null(j, "stack", tc.stack);
            jb_bool(j, "exact", mw->complete);
            jb_end_obj(j);
        } else {
            jb_null(j, "pinner");
        }
        jb_end_obj(j);
        jb_obj(j, "pages");
        jb_u64(j, "live", pages_live);
        jb_u64(j, "empty_resident", pages_empty);
        jb_u64(j, "sparse", pages_sparse);
        jb_end_obj(j);
    } else {
        jb_null(j, "brk");
        jb_null(j, "pages");
    }

    jb_arr(j, "regions");
    for (int k = 0, n = pick_out_regions(); k < n; k++) {
        int i = S.region_order[k];
        jb_obj(j, NULL);
        jb_hex(j, "addr", S.region[i].start);
        jb_u64(j, "bytes", S.region[i].end - S.region[i].start);
        jb_u64(j, "resident_bytes", S.region_rss[i]);
        jb_bool(j, "file", S.region[i].file);
        stack_or_null(j, "stack", S.region[i].stack);
        jb_end_obj(j);
    }
    jb_end_arr(j);
    struct dp_region_counts rc;
    dp_regions_counts(&rc);
    jb_obj(j, "app_calls");
    jb_u64(j, "brk", rc.app_brk_calls);
    jb_u64(j, "madv_free_bytes", rc.madv_free_bytes);
    jb_u64(j, "madv_dontneed_bytes", rc.madv_dontneed_bytes);
    jb_u64(j, "regions_dropped", rc.dropped);
    jb_end_obj(j);
    put_class(j);

    /* Top sites by live bytes and by pinned pages. */
    jb_arr(j, "top_sites");
    uint32_t chosen[2 * TOP_SITES];
    int nchosen = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < TOP_SITES; k++) {
            uint32_t best = 0;
            uint64_t best_v = 0;
            for (uint32_t id = 1; id < sites_acc_n && id < dp_sites_stack_count(); id++) {
                uint64_t v = pass ? sites_acc[id].pinned_pages : sites_acc[id].bytes;
                int dup = 0;
                for (int c = 0; c < nchosen; c++)
                    dup |= chosen[c] == id;
                if (v > best_v && !dup) {
                    best = id;
                    best_v = v;
                }
            }
            if (!best)
                break;
            chosen[nchosen++] = best;
        }
    for (int c = 0; c < nchosen; c++) {
        struct site_acc *s = &sites_acc[chosen[c]];
        jb_obj(j, NULL);
        jb_u64(j, "stack", chosen[c]);
        jb_u64(j, "live_bytes", s->bytes);
        jb_u64(j, "live_chunks", s->chunks);
        jb_u64(j, "pinned_pages", s->pinned_pages);
        int arena = -1;
        for (int i = 0; i < S.narenas; i++)
            if (S.arena[i].slot == s->slot)
                arena = i;
        if (arena >= 0)
            jb_u64(j, "arena", (uint64_t)arena);
        else
            jb_null(j, "arena");
        jb_bool(j, "mmapped", s->slot == DP_SLOT_MMAP);
        jb_end_obj(j);
    }
    jb_end_arr(j);

    /* What malloc_trim(0) would release: resident pages holding no live byte
     * (free chunks, fastbins it consolidates first, the main arena's top),
     * except the top chunks of other arenas, which it does not shrink.
     * Pages made only of tcache-parked chunks are counted though they stay:
     * at most 7 chunks of <= 1 KiB per size class and thread. */
    jb_obj(j, "trim");
    jb_str(j, "mode", dp_opt.trim == DP_TRIM_OFF ? "off" : dp_opt.trim == DP_TRIM_ON ? "on" : "dry-run");
    if (dp_track_glibc && S.narenas) {
        uint64_t keep = 0;
        for (int i = 1; i < S.narenas; i++)
            keep += S.arena[i].top_empty_resident;
        jb_u64(j, "predicted_bytes", (pages_empty - keep) * DP_PAGE);
    } else {
        jb_null(j, "predicted_bytes");
    }
    if (dp_opt.trim != DP_TRIM_OFF && dp_track_glibc) {
        struct dp_trim_result tr;
        dp_trim_run(dp_opt.trim, S.rss_total, dp_opt.trim_max_rss, &tr);
        if (tr.ran)
            jb_u64(j, "released_bytes", tr.released);
        else
            jb_null(j, "released_bytes");
        jb_dbl(j, "duration_ms", tr.duration_ms, 3);
        jb_str(j, "skipped", tr.skipped);
    } else {
        jb_null(j, "released_bytes");
        jb_null(j, "duration_ms");
        jb_str(j, "skipped", dp_opt.trim == DP_TRIM_OFF ? NULL : "another allocator");
    }
    jb_end_obj(j);

    jb_obj(j, "counts");
    jb_u64(j, "allocs", S.tot.allocs);
    /* Derived, not counted per call: every free undoes one counted
     * allocation. Chunks glibc handed out before the library counted calls
     * are live without one, so this may fall short by those few. */
    jb_u64(j, "frees", S.tot.allocs > (uint64_t)chunks ? S.tot.allocs - (uint64_t)chunks : 0);
    jb_u64(j, "threads_seen", S.tot.threads);
    jb_u64(j, "stacks", dp_sites_stack_count() - 1);
    jb_end_obj(j);

    put_system(j);

    jb_obj(j, "process");
    if (have_st) {
        jb_u64(j, "threads", st.threads);
        jb_u64(j, "vm_swap", st.vm_swap);
        jb_u64(j, "vm_hwm", st.vm_hwm);
    }
    int fds = dp_count_fds();
    if (fds >= 0)
        jb_u64(j, "fds", (uint64_t)fds);
    else
        jb_null(j, "fds");
    jb_end_obj(j);

    uint64_t t1 = dp_now_ns();
    jb_u64(j, "duration_us", (t1 - t0) / 1000);
    jb_u64(j, "hold_us", hold_ns / 1000);
    jb_u64(j, "hold_total_us", hold_total_ns / 1000);
    jb_obj(j, "gate");
    jb_bool(j, "up", S.gate_up);
    jb_u64(j, "waits", S.gate.waits);
    jb_u64(j, "timeouts", S.gate.timeouts);
    jb_u64(j, "max_wait_us", S.gate.max_wait_ns / 1000);
    jb_u64(j, "max_spin_us", S.gate.max_spin_ns / 1000);
    jb_end_obj(j);
    jb_end_obj(j);
    write_line(j);
}

static void lock(void)
{
    while (__atomic_exchange_n(&snapshot_lock, 1, __ATOMIC_ACQUIRE))
        usleep(100);
}

static void unlock(void)
{
    __atomic_store_n(&snapshot_lock, 0, __ATOMIC_RELEASE);
}

void dp_snapshot_take(const char *label)
{
    if (!dp_report_is_open())
        return;
    int saved = errno;
    dp_in_hook++;
    lock();
    take(label ? label : "request");
    unlock();
    dp_in_hook--;
    errno = saved;
}

void dp_snapshot_header(void)
{
    struct jbuf jb, *j = &jb;
    char buf[4096], opts[1400];
    start_ns = dp_now_ns();
    start_wall = dp_wall_s();
    jb_init(j, line, sizeof line);
    jb_obj(j, NULL);
    jb_str(j, "type", "header");
    jb_str(j, "format", "drainprof/1");
    jb_u64(j, "pid", (uint64_t)getpid());
    jb_u64(j, "ppid", (uint64_t)getppid());
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    jb_str(j, "exe", buf);
    jb_arr(j, "cmdline");
    int len = dp_read_file("/proc/self/cmdline", iobuf, sizeof iobuf);
    for (int i = 0; i < len;) {
        size_t k = strnlen(iobuf + i, (size_t)(len - i));
        jb_strn(j, NULL, iobuf + i, k);
        i += (int)k + 1;
    }
    jb_end_arr(j);
    len = dp_read_file("/proc/self/comm", buf, sizeof buf);
    jb_strn(j, "comm", buf, len > 0 && buf[len - 1] == '\n' ? (size_t)len - 1 : (size_t)(len > 0 ? len : 0));
    jb_dbl(j, "start_time", start_wall, 3);
    struct utsname u;
    jb_str(j, "hostname", uname(&u) == 0 ? u.nodename : NULL);
    jb_u64(j, "page_size", (uint64_t)sysconf(_SC_PAGESIZE));
    jb_u64(j, "nproc", (uint64_t)sysconf(_SC_NPROCESSORS_ONLN));
    jb_str(j, "allocator", allocator_name);
    jb_str(j, "glibc_version", gnu_get_libc_version());
    jb_bool(j, "arena_layout_known", dp_glibc_main_arena() != NULL);
    dp_options_json(&dp_opt, opts, sizeof opts);
    jb_raw(j, "options", opts);
    jb_end_obj(j);
    write_line(j);
}

static void write_end(void)
{
    struct jbuf jb;
    jb_init(&jb, line, sizeof line);
    jb_obj(&jb, NULL);
    jb_str(&jb, "type", "end");
    jb_dbl(&jb, "t", (double)(dp_now_ns() - start_ns) / 1e9, 3);
    jb_u64(&jb, "snapshots", seq);
    jb_end_obj(&jb);
    write_line(&jb);
}

void dp_snapshot_exit(void)
{
    if (!dp_report_is_open())
        return;
    int saved = errno;
    dp_in_hook++;
    lock();
    take("exit");
    write_end();
    dp_report_forget();
    unlock();
    dp_in_hook--;
    errno = saved;
}

void dp_snapshot_fork_prepare(void)
{
    lock();
}

void dp_snapshot_fork_release(int child)
{
    if (child) {
        seq = 0;
        have_prev_vm = 0;
        stacks_written = 1;
        dp_modules_rewind();
    }
    unlock();
}
