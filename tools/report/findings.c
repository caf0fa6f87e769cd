/* System context (PSI first) and the findings: each is an observation, a
 * likely cause and what to try, with the expected saving. A finding fires
 * only above both a ratio of the glibc-managed resident memory and an
 * absolute floor, so a small process gets no advice. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define RATIO 0.10              /* share of heap resident memory */
#define FLOOR (8 * DPR_MIB)     /* absolute floor for trim, top, pinned-top */
#define BIG_FLOOR (16 * DPR_MIB) /* for arenas, large blocks, THP */

static bool known(int64_t v)
{
    return v != DPR_NA;
}

static void sysmax(double *mx, double v)
{
    if (isfinite(v) && (!isfinite(*mx) || v > *mx))
        *mx = v;
}

static void add(int64_t *sum, int64_t v)
{
    if (known(v))
        *sum = known(*sum) ? dpr_add(*sum, v) : v;
}

void dpr_system(const struct dpr_report *r, struct dpr_system *o)
{
    *o = (struct dpr_system){.psi_some_last = NAN, .psi_full_last = NAN, .psi_some_max = NAN,
                             .psi_full_max = NAN, .mem_total = DPR_NA, .mem_available = DPR_NA,
                             .min_available = DPR_NA, .swap_used = DPR_NA, .pgmajfault = DPR_NA,
                             .pgscan_direct = DPR_NA, .allocstall = DPR_NA, .compact_stall = DPR_NA};
    for (size_t i = 0; i < r->nsnaps; i++) {
        const struct dpr_snap *s = &r->snaps[i];
        sysmax(&o->psi_some_max, s->psi_some);
        sysmax(&o->psi_full_max, s->psi_full);
        if (isfinite(s->psi_some))
            o->psi_some_last = s->psi_some;
        if (isfinite(s->psi_full))
            o->psi_full_last = s->psi_full;
        if (known(s->mem_total))
            o->mem_total = s->mem_total;
        if (known(s->mem_available)) {
            o->mem_available = s->mem_available;
            if (!known(o->min_available) || s->mem_available < o->min_available)
                o->min_available = s->mem_available;
        }
        if (known(s->swap_total) && known(s->swap_free))
            o->swap_used = s->swap_total - s->swap_free;
        /* vmstat figures are deltas, except in the first snapshot (since boot). */
        if (i == 0)
            continue;
        add(&o->pgmajfault, s->pgmajfault);
        add(&o->pgscan_direct, s->pgscan_direct);
        add(&o->allocstall, s->allocstall);
        add(&o->compact_stall, s->compact_stall);
    }
    double avail = known(o->min_available) && known(o->mem_total) && o->mem_total > 0
                       ? (double)o->min_available / (double)o->mem_total
                       : NAN;
    bool any = isfinite(o->psi_some_max) || isfinite(avail);
    if (!any)
        o->verdict = "unknown (no PSI or meminfo figures in the report)";
    else if ((isfinite(o->psi_some_max) && o->psi_some_max >= 10.0) ||
             (isfinite(o->psi_full_max) && o->psi_full_max >= 1.0) || (isfinite(avail) && avail < 0.05) ||
             (known(o->allocstall) && o->allocstall > 0))
        o->verdict = "under memory pressure: tasks stalled waiting for memory";
    else if ((isfinite(o->psi_some_max) && o->psi_some_max >= 1.0) || (isfinite(avail) && avail < 0.15) ||
             (known(o->pgscan_direct) && o->pgscan_direct > 0))
        o->verdict = "light memory pressure: some reclaim, little stalling";
    else
        o->verdict = "no memory pressure: savings below matter only for density or limits";
}

static void put(char *dst, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
}

#define SET(f, field, ...) put((f)->field, sizeof (f)->field, __VA_ARGS__)

static bool fires(int64_t saving, double base, int64_t floor)
{
    return known(saving) && saving >= floor && (!(base > 0) || (double)saving >= RATIO * base);
}

static int by_live_desc(const void *a, const void *b)
{
    const struct dpr_arena *x = a, *y = b;
    if (x->live != y->live)
        return x->live < y->live ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

static bool arena_max(const struct dpr_snap *s, double base, struct dpr_finding *f)
{
    if (s->narenas < 3)
        return false;
    struct dpr_arena *a = malloc(s->narenas * sizeof *a);
    if (!a)
        return false;
    memcpy(a, s->arenas, s->narenas * sizeof *a);
    qsort(a, s->narenas, sizeof *a, by_live_desc);
    size_t empty = 0, busy = 0;
    for (size_t i = 0; i < s->narenas; i++) {
        if (!known(a[i].resident) || !known(a[i].live)) {
            free(a);
            return false;
        }
        if (known(a[i].free_bytes) && known(a[i].system) && a[i].free_bytes * 2 >= a[i].system)
            empty++;
        else
            busy++;
    }
    size_t keep = busy > 2 ? busy : 2;
    int64_t saving = 0, res = 0, live = 0;
    for (size_t i = keep; i < s->narenas; i++) {
        saving = dpr_add(saving, a[i].resident > a[i].live ? a[i].resident - a[i].live : 0);
        res = dpr_add(res, a[i].resident);
        live = dpr_add(live, a[i].live);
    }
    free(a);
    if (empty < 2 || keep >= s->narenas || !fires(saving, base, BIG_FLOOR))
        return false;
    char b1[32], b2[32], b3[32];
    f->id = "MALLOC_ARENA_MAX";
    SET(f, observation, "%zu malloc arenas, %zu of them mostly empty (free >= 50%%); the %zu least used hold %s resident for %s live",
        s->narenas, empty, s->narenas - keep, dpr_bytes(res, b1, sizeof b1), dpr_bytes(live, b2, sizeof b2));
    SET(f, cause, "glibc gives each concurrently allocating thread its own arena (up to 8 per core) and each keeps its own freed memory");
    SET(f, action, "run with MALLOC_ARENA_MAX=%zu (or GLIBC_TUNABLES=glibc.malloc.arena_max=%zu): expect about %s less resident",
        keep, keep, dpr_bytes(saving, b3, sizeof b3));
    f->saving = saving;
    return true;
}

static bool trim(const struct dpr_snap *s, double base, struct dpr_finding *f)
{
    bool measured = known(s->trim_released) && s->trim_released > 0;
    int64_t saving = measured ? s->trim_released : s->trim_predicted;
    if (!fires(saving, base, FLOOR))
        return false;
    char b1[32];
    f->id = "malloc_trim";
    if (measured && isfinite(s->trim_duration_ms))
        SET(f, observation, "malloc_trim(0) released %s of resident free memory in %.1f ms", dpr_bytes(saving, b1, sizeof b1),
            s->trim_duration_ms);
    else if (measured)
        SET(f, observation, "malloc_trim(0) released %s of resident free memory", dpr_bytes(saving, b1, sizeof b1));
    else
        SET(f, observation, "malloc_trim(0) would release %s of resident free memory (predicted)",
            dpr_bytes(saving, b1, sizeof b1));
    SET(f, cause, "free() only returns the top of a heap; whole free pages inside free chunks stay resident until malloc_trim madvises them away");
    SET(f, action, "call malloc_trim(0) after load peaks or when idle (try drainprof --trim on to measure it): expect about %s less resident",
        b1);
    f->saving = saving;
    return true;
}

static bool trim_threshold(const struct dpr_snap *s, double base, struct dpr_finding *f)
{
    if (!known(s->brk_top) || !known(s->brk_top_live_end) || s->brk_top <= s->brk_top_live_end)
        return false;
    int64_t top = s->brk_top - s->brk_top_live_end;
    int64_t saving = top;
    for (size_t i = 0; i < s->narenas; i++)
        if (s->arenas[i].main && known(s->arenas[i].resident) && known(s->arenas[i].live)) {
            int64_t g = s->arenas[i].resident - s->arenas[i].live;
            saving = g < saving ? (g > 0 ? g : 0) : saving;
        }
    if (!fires(saving, base, FLOOR))
        return false;
    char b1[32], b2[32];
    f->id = "M_TRIM_THRESHOLD";
    SET(f, observation, "the free top of the brk heap holds %s that free() did not give back",
        dpr_bytes(top, b1, sizeof b1));
    SET(f, cause, "free() trims the top only above M_TRIM_THRESHOLD, which glibc raises (to twice the block, up to 64 MiB) each time a large mmapped block is freed");
    SET(f, action, "set MALLOC_TRIM_THRESHOLD_=1048576 (or GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576), which also stops the dynamic adjustment: expect up to %s less resident",
        dpr_bytes(saving, b2, sizeof b2));
    f->saving = saving;
    return true;
}

static bool mmap_threshold(const struct dpr_snap *s, double base, struct dpr_finding *f)
{
    if (!known(s->lih_bytes) || !known(s->gap))
        return false;
    int64_t saving = s->lih_bytes < s->gap ? s->lih_bytes : s->gap;
    if (!fires(s->lih_bytes, base, BIG_FLOOR) || saving < FLOOR)
        return false;
    char b1[32], b2[32], b3[32];
    f->id = "M_MMAP_THRESHOLD";
    SET(f, observation, "%s in %" PRId64 " live blocks of at least %s sit in the heap instead of their own mappings",
        dpr_bytes(s->lih_bytes, b1, sizeof b1), known(s->lih_count) ? s->lih_count : 0,
        dpr_bytes(known(s->lih_threshold) ? s->lih_threshold : 131072, b2, sizeof b2));
    SET(f, cause, "glibc raised its mmap threshold after a large block was freed, so later large blocks come from the heap and leave holes it cannot return when freed");
    SET(f, action, "set MALLOC_MMAP_THRESHOLD_=131072 (or GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072) so large blocks are unmapped at free(): expect up to %s less resident",
        dpr_bytes(saving, b3, sizeof b3));
    f->saving = saving;
    return true;
}

static bool thp(const struct dpr_snap *s, double base, struct dpr_finding *f)
{
    int64_t huge = DPR_NA;
    for (size_t i = 0; i < s->narenas; i++)
        add(&huge, s->arenas[i].anon_huge);
    if (!known(huge) || !known(s->gap) || !known(s->resident) || s->resident <= 0 || huge < BIG_FLOOR)
        return false;
    double free_share = (double)s->gap / (double)s->resident;
    if (free_share < 0.5)
        return false;
    int64_t saving = dpr_i64((double)huge * free_share);
    if (!fires(saving, base, FLOOR))
        return false;
    char b1[32], b2[32];
    f->id = "THP";
    SET(f, observation, "%s of the malloc heaps is backed by transparent huge pages while %.0f%% of the heap's resident memory is free",
        dpr_bytes(huge, b1, sizeof b1), 100 * free_share);
    SET(f, cause, "a huge page stays resident whole while any byte of it is in use, so freed memory inside it is not returned");
    SET(f, action, "turn THP off for this process (prctl(PR_SET_THP_DISABLE), or transparent_hugepage=madvise system-wide): expect up to %s less resident",
        dpr_bytes(saving, b2, sizeof b2));
    f->saving = saving;
    return true;
}

static bool pinned_top(const struct dpr_report *r, const struct dpr_snap *s, double base, struct dpr_finding *f)
{
    if (!fires(s->pinned_resident, base, FLOOR))
        return false;
    char b1[32], b2[32], b3[32], site[512] = "an unknown site (no stack recorded)";
    const struct dpr_stack *st = dpr_find_stack(r, s->pinner_stack);
    if (st && st->nframes)
        dpr_frame_str(&st->frames[0], site, sizeof site);
    f->id = "pinned-top";
    SET(f, observation, "a live %s block at the top of the brk heap, allocated at %s, pins %s below it (%s resident)",
        dpr_bytes(s->pinner_size, b1, sizeof b1), site, dpr_bytes(s->pinned, b2, sizeof b2),
        dpr_bytes(s->pinned_resident, b3, sizeof b3));
    SET(f, cause, "the brk heap shrinks only from its top; a long-lived block allocated late keeps everything freed below it");
    SET(f, action, "allocate that block earlier or free it sooner, or give it its own mapping; malloc_trim(0) returns the resident pages meanwhile: expect about %s less resident",
        b3);
    f->saving = s->pinned_resident;
    return true;
}

static bool leak(const struct dpr_trend *t, struct dpr_finding *f)
{
    if (!t->structural)
        return false;
    char b1[32], b2[32], b3[32];
    f->id = "structural-leak";
    SET(f, observation, "the gap between resident and live heap memory grew %s/min over the last %.0f s while live bytes changed %s/min",
        dpr_bytes(dpr_i64(t->gap_slope * 60), b1, sizeof b1), t->window_s,
        dpr_bytes(dpr_i64(t->live_slope * 60), b2, sizeof b2));
    SET(f, cause, "fragmentation: freed memory is neither reused nor returned (long-lived blocks pinning freed pages, per-thread arenas, size classes that do not recur)");
    SET(f, action, "see the pinned top and top sites; try MALLOC_ARENA_MAX=2, periodic malloc_trim(0), or pooling long-lived objects: expect to stop about %s/hour of growth",
        dpr_bytes(dpr_i64(t->gap_slope * 3600), b3, sizeof b3));
    f->saving = dpr_i64(t->gap_slope * 3600);
    return true;
}

size_t dpr_findings(const struct dpr_report *r, const struct dpr_trend *t, struct dpr_finding *out)
{
    size_t n = 0;
    memset(out, 0, DPR_MAX_FINDINGS * sizeof *out);
    if (leak(t, &out[n]))
        n++;
    const struct dpr_snap *s = dpr_latest(r);
    if (!s)
        return n;
    double base = known(s->resident) ? (double)s->resident : known(s->rss_total) ? (double)s->rss_total : 0;
    if (pinned_top(r, s, base, &out[n]))
        n++;
    if (arena_max(s, base, &out[n]))
        n++;
    if (trim(s, base, &out[n]))
        n++;
    if (trim_threshold(s, base, &out[n]))
        n++;
    if (mmap_threshold(s, base, &out[n]))
        n++;
    if (thp(s, base, &out[n]))
        n++;
    /* Largest saving first; the structural leak stays on top. */
    size_t first = n && !strcmp(out[0].id, "structural-leak") ? 1 : 0;
    for (size_t i = first + 1; i < n; i++)
        for (size_t j = i; j > first && out[j].saving > out[j - 1].saving; j--) {
            struct dpr_finding tmp = out[j];
            out[j] = out[j - 1];
            out[j - 1] = tmp;
        }
    return n;
}
