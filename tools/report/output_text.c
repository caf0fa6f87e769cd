/* The default human-readable summary: system context first (is the machine
 * under memory pressure at all?), then the process, the gap's trend and the
 * findings. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Human units from a small ring of buffers, so one printf can hold several. */
static const char *B(int64_t v)
{
    static char ring[8][32];
    static unsigned next;
    return dpr_bytes(v, ring[next++ % 8], sizeof ring[0]);
}

/* An integer, or "n/a" when the report did not give it. */
static const char *N(int64_t v)
{
    static char ring[8][24];
    static unsigned next;
    char *b = ring[next++ % 8];
    if (v == DPR_NA)
        snprintf(b, sizeof ring[0], "n/a");
    else
        snprintf(b, sizeof ring[0], "%" PRId64, v);
    return b;
}

static void pct(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.2f%%", v);
    else
        fputs("n/a", f);
}

static void count(FILE *f, const char *name, int64_t v, const char *sep)
{
    if (v == DPR_NA)
        fprintf(f, "%s n/a%s", name, sep);
    else
        fprintf(f, "%s %" PRId64 "%s", name, v, sep);
}

/* "+2.0 MiB/min" from bytes per second. */
static char *rate(double bps, char *buf, size_t cap)
{
    if (!isfinite(bps)) {
        snprintf(buf, cap, "n/a");
        return buf;
    }
    char b[32];
    int64_t v = dpr_i64(round(bps * 60));
    snprintf(buf, cap, "%s%s/min", v >= 0 ? "+" : "", dpr_bytes(v, b, sizeof b));
    return buf;
}

static void system_part(FILE *f, const struct dpr_summary *s)
{
    const struct dpr_system *y = &s->sys;
    fputs("== System ==\n", f);
    fputs("memory pressure (PSI avg10): some ", f);
    pct(f, y->psi_some_last);
    fputs(" (max ", f);
    pct(f, y->psi_some_max);
    fputs("), full ", f);
    pct(f, y->psi_full_last);
    fputs(" (max ", f);
    pct(f, y->psi_full_max);
    fputs(")\n", f);
    fprintf(f, "available memory: %s of %s (lowest during the run: %s)\n", B(y->mem_available), B(y->mem_total),
            B(y->min_available));
    fprintf(f, "swap in use: %s\n", B(y->swap_used));
    fputs("reclaim over the run: ", f);
    count(f, "pgmajfault", y->pgmajfault, ", ");
    count(f, "pgscan_direct", y->pgscan_direct, ", ");
    count(f, "allocstall", y->allocstall, ", ");
    count(f, "compact_stall", y->compact_stall, "\n");
    const struct dpr_snap *l = dpr_latest(s->r);
    if (l && l->cg_usage != DPR_NA)
        fprintf(f, "memory cgroup: %s in use, limit %s\n", B(l->cg_usage),
                l->cg_limit == DPR_NA ? "none" : B(l->cg_limit));
    fprintf(f, "verdict: %s\n\n", y->verdict);
}

static void stack_lines(FILE *f, const struct dpr_report *r, int64_t id, const char *indent, size_t maxf)
{
    const struct dpr_stack *st = dpr_find_stack(r, id);
    if (!st || !st->nframes) {
        fprintf(f, "%s(no stack recorded)\n", indent);
        return;
    }
    for (size_t i = 0; i < st->nframes && i < maxf; i++) {
        char b[1024];
        dpr_frame_str(&st->frames[i], b, sizeof b);
        fprintf(f, "%s%s %s\n", indent, i ? "<-" : "at", b);
    }
}

static void process_part(FILE *f, const struct dpr_summary *s)
{
    const struct dpr_report *r = s->r;
    fputs("== Process ==\n", f);
    fprintf(f, "exe: %s (pid %s, comm %s), allocator %s%s%s\n", r->exe ? r->exe : "?", N(r->pid), r->comm ? r->comm : "?", r->allocator ? r->allocator : "?",
            r->glibc_version ? " " : "", r->glibc_version ? r->glibc_version : "");
    double d = dpr_duration(r);
    char ds[32] = "n/a";
    if (isfinite(d))
        snprintf(ds, sizeof ds, "%.1f s", d);
    fprintf(f, "duration: %s, %zu snapshots, %s\n", ds, r->nsnaps,
            r->ended ? "complete" : r->cut ? "cut short (last line cut)" : "no end line (process still running or killed)");
    const struct dpr_snap *l = dpr_latest(r);
    if (!l) {
        fputs("no snapshots\n\n", f);
        return;
    }
    char ts[32] = "n/a";
    if (isfinite(l->t))
        snprintf(ts, sizeof ts, "%.1f s", l->t);
    fprintf(f, "latest snapshot: seq %s at t=%s (%s)\n", N(l->seq), ts, l->label ? l->label : "?");
    fprintf(f, "RSS: %s = anon %s, file %s, shmem %s; swap %s, lazyfree %s, anon_huge %s, profiler itself %s\n",
            B(l->rss_total), B(l->rss_anon), B(l->rss_file), B(l->rss_shmem), B(l->rss_swap), B(l->rss_lazyfree),
            B(l->rss_anon_huge), B(l->rss_self));
    fprintf(f, "glibc-managed: %s resident of %s obtained; live %s in %s chunks; gap %s\n", B(l->resident),
            B(l->system), B(l->live), N(l->live_chunks), B(l->gap));
    if (l->mmap_count != DPR_NA)
        fprintf(f, "mmapped chunks: %" PRId64 ", %s (%s resident)\n", l->mmap_count, B(l->mmap_bytes), B(l->mmap_resident));
    if (l->narenas) {
        fprintf(f, "arenas:\n  %5s %-4s %11s %11s %11s %11s %9s\n", "index", "", "system", "resident", "live", "free",
                "gap share");
        for (size_t i = 0; i < l->narenas; i++) {
            const struct dpr_arena *a = &l->arenas[i];
            char share[16] = "n/a";
            double gs = dpr_arena_gap_share(l, a);
            if (!isnan(gs))
                snprintf(share, sizeof share, "%.1f%%", 100.0 * gs);
            fprintf(f, "  %5s %-4s %11s %11s %11s %11s %9s\n", N(a->index),
                    a->main ? "main" : "", B(a->system), B(a->resident), B(a->live), B(a->free_bytes), share);
        }
    }
    if (l->pinned == 0)
        fputs("pinned brk top: nothing pinned\n", f);
    else if (l->pinned != DPR_NA) {
        fprintf(f, "pinned brk top: %s pinned (%s resident) below a live %s block at 0x%" PRIx64 "\n", B(l->pinned),
                B(l->pinned_resident), B(l->pinner_size), l->pinner_addr == DPR_NA ? (uint64_t)0 : (uint64_t)l->pinner_addr);
        if (l->pinner_addr != DPR_NA)
            stack_lines(f, r, l->pinner_stack, "  ", 4);
    }
    if (l->nsites) {
        fputs("top sites (live, chunks, pinned pages, arena):\n", f);
        for (size_t i = 0; i < l->nsites && i < 10; i++) {
            const struct dpr_site *x = &l->sites[i];
            fprintf(f, "  %11s in %s chunks, %s pinned pages, arena %s\n", B(x->live), N(x->live_chunks),
                    N(x->pinned_pages), N(x->arena));
            stack_lines(f, r, x->stack, "      ", 3);
        }
    }
    if (l->trim_mode || l->trim_predicted != DPR_NA) {
        fprintf(f, "trim: mode %s, malloc_trim(0) would release %s, released %s", l->trim_mode ? l->trim_mode : "?",
                B(l->trim_predicted), B(l->trim_released));
        if (isfinite(l->trim_duration_ms))
            fprintf(f, " in %.1f ms", l->trim_duration_ms);
        fputc('\n', f);
    }
    fputc('\n', f);
}

static void trend_part(FILE *f, const struct dpr_summary *s)
{
    const struct dpr_trend *t = &s->trend;
    char a[48], b[48];
    fputs("== Trend of the gap ==\n", f);
    fprintf(f, "gap: %s, %s over %.0f s from t=%.0f s (%zu snapshots; warm-up third dropped)\n", dpr_verdict_name(t->gap),
            rate(t->gap_slope, a, sizeof a), t->window_s, t->window_start, t->npoints);
    fprintf(f, "live: %s, %s\n", dpr_verdict_name(t->live), rate(t->live_slope, b, sizeof b));
    if (t->structural)
        fputs("=> structural leak: the gap grows while live memory stays flat (fragmentation)\n\n", f);
    else if (t->gap == DPR_GROWING)
        fputs("=> the gap grows along with live memory: growth, not fragmentation\n\n", f);
    else if (t->gap == DPR_STABLE)
        fputs("=> stable gap: allocator overhead, not a leak\n\n", f);
    else if (t->gap == DPR_SHRINKING)
        fputs("=> the gap shrinks: memory is being returned\n\n", f);
    else
        fputs("=> not enough data to judge (needs at least 4 snapshots over 30 s after warm-up)\n\n", f);
}

static void findings_part(FILE *f, const struct dpr_summary *s)
{
    fputs("== Findings ==\n", f);
    if (!s->nfindings)
        fputs("none: nothing above the thresholds (10% of glibc-managed resident memory and 8-16 MiB)\n", f);
    else if (s->nfindings > 1)
        fputs("(savings overlap: the same free pages can count under several findings; do not add them up)\n", f);
    for (size_t i = 0; i < s->nfindings; i++) {
        const struct dpr_finding *x = &s->findings[i];
        char b[32];
        fprintf(f, "[%s] expected saving %s\n", x->id, dpr_bytes(x->saving, b, sizeof b));
        fprintf(f, "  observation: %s\n  likely cause: %s\n  try: %s\n", x->observation, x->cause, x->action);
    }
}

void dpr_output_text(FILE *f, const struct dpr_summary *s)
{
    fprintf(f, "drainprof report %s\n\n", s->r->file);
    system_part(f, s);
    process_part(f, s);
    trend_part(f, s);
    findings_part(f, s);
}
