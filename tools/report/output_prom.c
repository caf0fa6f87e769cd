/* --prometheus: text exposition format for node_exporter's textfile
 * collector. Every metric is a gauge labelled with pid and exe; each family's
 * HELP and TYPE appear once, followed by the samples of every process. */
#include "report.h"

#include <inttypes.h>
#include <stddef.h>
#include <math.h>
#include <string.h>

struct ctx {
    FILE *f;
    const char *name;
    const struct dpr_summary *s;
    char labels[1024];          /* pid="..",exe=".." */
};

/* Label values escape backslash, double quote and newline. */
static void escape(char *dst, size_t cap, const char *src)
{
    size_t k = 0;
    for (; src && *src && k + 3 < cap; src++) {
        if (*src == '\\' || *src == '"') {
            dst[k++] = '\\';
            dst[k++] = *src;
        } else if (*src == '\n') {
            dst[k++] = '\\';
            dst[k++] = 'n';
        } else
            dst[k++] = *src;
    }
    dst[k] = 0;
}

static void sample_i(struct ctx *c, const char *extra, int64_t v)
{
    if (v == DPR_NA)
        return;
    fprintf(c->f, "%s{%s%s%s} %" PRId64 "\n", c->name, c->labels, extra ? "," : "", extra ? extra : "", v);
}

static void sample_d(struct ctx *c, const char *extra, double v)
{
    if (!isfinite(v))
        return;
    fprintf(c->f, "%s{%s%s%s} %.3f\n", c->name, c->labels, extra ? "," : "", extra ? extra : "", v);
}

#define LATEST(field)                                   \
    do {                                                \
        const struct dpr_snap *l = dpr_latest(c->s->r); \
        if (l)                                          \
            sample_i(c, NULL, l->field);                \
    } while (0)

static void m_snapshots(struct ctx *c) { sample_i(c, NULL, (int64_t)c->s->r->nsnaps); }
static void m_duration(struct ctx *c) { sample_d(c, NULL, dpr_duration(c->s->r)); }
static void m_rss(struct ctx *c)
{
    const struct dpr_snap *l = dpr_latest(c->s->r);
    if (!l)
        return;
    const char *k[] = {"total", "anon", "file", "shmem", "swap", "lazyfree", "anon_huge", "self"};
    int64_t v[] = {l->rss_total, l->rss_anon, l->rss_file, l->rss_shmem,
                   l->rss_swap, l->rss_lazyfree, l->rss_anon_huge, l->rss_self};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char e[64];
        snprintf(e, sizeof e, "kind=\"%s\"", k[i]);
        sample_i(c, e, v[i]);
    }
}
static void m_live(struct ctx *c) { LATEST(live); }
static void m_resident(struct ctx *c) { LATEST(resident); }
static void m_system(struct ctx *c) { LATEST(system); }
static void m_gap(struct ctx *c) { LATEST(gap); }
static void m_pinned(struct ctx *c) { LATEST(pinned); }
static void m_pinned_res(struct ctx *c) { LATEST(pinned_resident); }
static void m_trim_pred(struct ctx *c) { LATEST(trim_predicted); }
static void m_trim_rel(struct ctx *c) { LATEST(trim_released); }
static void m_lih(struct ctx *c) { LATEST(lih_bytes); }

static void arena_field(struct ctx *c, size_t off)
{
    const struct dpr_snap *l = dpr_latest(c->s->r);
    for (size_t i = 0; l && i < l->narenas; i++) {
        char e[64];
        snprintf(e, sizeof e, "arena=\"%" PRId64 "\"", l->arenas[i].index);
        int64_t v;
        memcpy(&v, (const char *)&l->arenas[i] + off, sizeof v);
        sample_i(c, e, v);
    }
}
static void m_ar_system(struct ctx *c) { arena_field(c, offsetof(struct dpr_arena, system)); }
static void m_ar_resident(struct ctx *c) { arena_field(c, offsetof(struct dpr_arena, resident)); }
static void m_ar_live(struct ctx *c) { arena_field(c, offsetof(struct dpr_arena, live)); }
static void m_ar_free(struct ctx *c) { arena_field(c, offsetof(struct dpr_arena, free_bytes)); }

static void m_gap_slope(struct ctx *c) { sample_d(c, NULL, c->s->trend.gap_slope); }
static void m_live_slope(struct ctx *c) { sample_d(c, NULL, c->s->trend.live_slope); }
static void m_trend(struct ctx *c)
{
    for (enum dpr_verdict v = DPR_INSUFFICIENT; v <= DPR_SHRINKING; v++) {
        char e[64];
        snprintf(e, sizeof e, "verdict=\"%s\"", dpr_verdict_name(v));
        sample_i(c, e, c->s->trend.gap == v);
    }
}
static void m_saving(struct ctx *c)
{
    for (size_t i = 0; i < c->s->nfindings; i++) {
        char e[64];
        snprintf(e, sizeof e, "id=\"%s\"", c->s->findings[i].id);
        sample_i(c, e, c->s->findings[i].saving);
    }
}
static void m_psi_some(struct ctx *c) { sample_d(c, NULL, c->s->sys.psi_some_last); }
static void m_psi_full(struct ctx *c) { sample_d(c, NULL, c->s->sys.psi_full_last); }
static void m_avail(struct ctx *c) { sample_i(c, NULL, c->s->sys.mem_available); }

static const struct family {
    const char *name, *help;
    void (*emit)(struct ctx *);
} families[] = {
    {"drainprof_snapshots", "Snapshots in the report.", m_snapshots},
    {"drainprof_duration_seconds", "Seconds the report covers.", m_duration},
    {"drainprof_rss_bytes", "Resident memory of the process by kind, latest snapshot.", m_rss},
    {"drainprof_heap_live_bytes", "Bytes the program holds (allocated and not freed).", m_live},
    {"drainprof_heap_resident_bytes", "Resident bytes of glibc-managed memory.", m_resident},
    {"drainprof_heap_system_bytes", "Bytes glibc obtained from the system.", m_system},
    {"drainprof_heap_gap_bytes", "Resident minus live glibc-managed bytes.", m_gap},
    {"drainprof_arena_system_bytes", "Bytes glibc obtained for the arena.", m_ar_system},
    {"drainprof_arena_resident_bytes", "Resident bytes of the arena.", m_ar_resident},
    {"drainprof_arena_live_bytes", "Live bytes in the arena.", m_ar_live},
    {"drainprof_arena_free_bytes", "Free bytes in the arena.", m_ar_free},
    {"drainprof_brk_pinned_bytes", "Free bytes below the highest live block of the brk heap.", m_pinned},
    {"drainprof_brk_pinned_resident_bytes", "Resident part of the pinned bytes.", m_pinned_res},
    {"drainprof_large_in_heap_bytes", "Live blocks above the default mmap threshold that sit in the heap.", m_lih},
    {"drainprof_trim_predicted_bytes", "What malloc_trim(0) would release.", m_trim_pred},
    {"drainprof_trim_released_bytes", "What malloc_trim(0) released.", m_trim_rel},
    {"drainprof_gap_slope_bytes_per_second", "Least-squares slope of the gap after warm-up.", m_gap_slope},
    {"drainprof_live_slope_bytes_per_second", "Least-squares slope of live bytes after warm-up.", m_live_slope},
    {"drainprof_gap_trend", "1 for the gap's trend verdict, 0 for the others.", m_trend},
    {"drainprof_recommendation_saving_bytes", "Expected saving of each recommendation.", m_saving},
    {"drainprof_psi_memory_some_avg10", "Memory PSI some avg10 (percent), latest snapshot.", m_psi_some},
    {"drainprof_psi_memory_full_avg10", "Memory PSI full avg10 (percent), latest snapshot.", m_psi_full},
    {"drainprof_mem_available_bytes", "MemAvailable of the machine, latest snapshot.", m_avail},
};

void dpr_output_prom(FILE *f, const struct dpr_summary *s, size_t n)
{
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", families[i].name, families[i].help, families[i].name);
        for (size_t j = 0; j < n; j++) {
            struct ctx c = {.f = f, .name = families[i].name, .s = &s[j]};
            char exe[512];
            escape(exe, sizeof exe, s[j].r->exe ? s[j].r->exe : "");
            char pid[24] = "";
            if (s[j].r->pid != DPR_NA)
                snprintf(pid, sizeof pid, "%" PRId64, s[j].r->pid);
            snprintf(c.labels, sizeof c.labels, "pid=\"%s\",exe=\"%s\"", pid, exe);
            families[i].emit(&c);
        }
    }
}
