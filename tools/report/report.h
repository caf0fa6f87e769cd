/* drainprof-report: the offline summarizer's shared model and the entry
 * points of each part (parse, trend, findings, symbolize, outputs). */
#ifndef DPR_REPORT_H
#define DPR_REPORT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A figure the report did not give (null, absent or of the wrong type). */
#define DPR_NA INT64_MIN
#define DPR_MIB ((int64_t)1 << 20)

struct dpr_arena {
    int64_t index, system, resident, live, live_chunks, free_bytes, heaps, anon_huge;
    bool main;
};

struct dpr_site {
    int64_t stack, live, live_chunks, pinned_pages, arena;
};

struct dpr_snap {
    int64_t seq;
    double t;                   /* NAN when absent */
    char *label;
    int64_t rss_total, rss_pss, rss_uss, rss_anon, rss_file, rss_shmem, rss_swap,
        rss_lazyfree, rss_anon_huge, rss_self;
    int64_t live, live_chunks, system, resident, gap;
    struct dpr_arena *arenas;
    size_t narenas;
    int64_t mmap_count, mmap_bytes, mmap_resident;
    int64_t lih_count, lih_bytes, lih_threshold;
    int64_t brk_base, brk_top, brk_top_live_end, pinned, pinned_resident;
    int64_t pinner_addr, pinner_size, pinner_stack;
    int64_t pages_live, pages_empty_resident, pages_sparse;
    struct dpr_site *sites;
    size_t nsites;
    char *trim_mode;
    int64_t trim_predicted, trim_released;
    double trim_duration_ms;
    int64_t allocs, frees, threads_seen;
    double psi_some, psi_full;  /* NAN when absent */
    int64_t cg_usage, cg_limit;
    int64_t mem_total, mem_available, swap_total, swap_free, pgmajfault, pgscan_direct,
        allocstall, compact_stall, thp_fault_fallback;
    int64_t threads, fds, vm_swap, vm_hwm;
};

struct dpr_frame {
    uint64_t addr;
    char *function;             /* NULL when unknown */
    char *file;                 /* NULL when unknown */
    int line;                   /* 0 when unknown */
    char *module;               /* path of the module, NULL if none */
    uint64_t offset;            /* addr - module base */
};

struct dpr_stack {
    int64_t id;
    struct dpr_frame *frames;
    size_t nframes;
    bool symbolized;
};

struct dpr_module {
    char *path, *build_id;
    uint64_t base, end;
};

struct dpr_report {
    char *file;
    int64_t pid, ppid, parent_report, page_size, nproc;
    char *exe, *comm, *allocator, *glibc_version, *hostname, *stacks_mode;
    double interval;
    struct dpr_module *modules;
    size_t nmodules;
    struct dpr_stack *stacks;   /* sorted by id after parsing */
    size_t nstacks;
    struct dpr_snap *snaps;
    size_t nsnaps;
    json_object *last_raw;      /* the last snapshot line, as read */
    bool ended, cut;
    double end_t;
};

/* parse.c: 0 on success; on failure -1 with a one-line reason in err.
 * dpr_quiet silences the warning about a cut last line (the fuzzer). */
extern bool dpr_quiet;
int dpr_parse_file(const char *path, struct dpr_report *r, char *err, size_t errcap);
int dpr_parse_buffer(const char *name, const char *buf, size_t len, struct dpr_report *r,
                     char *err, size_t errcap);
void dpr_report_free(struct dpr_report *r);
const struct dpr_stack *dpr_find_stack(const struct dpr_report *r, int64_t id);

/* trend.c */
enum dpr_verdict { DPR_INSUFFICIENT, DPR_STABLE, DPR_GROWING, DPR_SHRINKING };
struct dpr_trend {
    enum dpr_verdict gap, live;
    double gap_slope, live_slope;   /* bytes per second, NAN if unknown */
    double window_s, window_start, gap_mean;
    size_t npoints;
    bool structural;                /* gap growing while live is flat */
};
void dpr_trend(const struct dpr_report *r, struct dpr_trend *out);
const char *dpr_verdict_name(enum dpr_verdict v);

/* findings.c */
struct dpr_finding {
    const char *id;
    char observation[512], cause[512], action[512];
    int64_t saving;
};
#define DPR_MAX_FINDINGS 8
struct dpr_system {
    double psi_some_last, psi_full_last, psi_some_max, psi_full_max;
    int64_t mem_total, mem_available, min_available, swap_used;
    int64_t pgmajfault, pgscan_direct, allocstall, compact_stall;
    const char *verdict;
};
size_t dpr_findings(const struct dpr_report *r, const struct dpr_trend *t,
                    struct dpr_finding *out);
void dpr_system(const struct dpr_report *r, struct dpr_system *out);

/* symbolize.c: fills every stack's frames; without modules or with
 * enabled false, frames get module+offset only. */
void dpr_symbolize(struct dpr_report *r, bool enabled);
/* One frame as "function (file:line)" or "module+0xoff" or the address. */
void dpr_frame_str(const struct dpr_frame *f, char *buf, size_t cap);

/* Common helpers (model.c). */
const struct dpr_snap *dpr_latest(const struct dpr_report *r);
char *dpr_bytes(int64_t v, char *buf, size_t cap);  /* human units */
int64_t dpr_i64(double v);  /* saturating conversion, DPR_NA for NaN */
int64_t dpr_add(int64_t a, int64_t b);  /* saturating sum */
/* An arena's share of the arenas' gaps (resident - live, 0 when below),
 * or NAN when unknown: the heap-wide gap also nets off mmapped chunks
 * that are not resident, so it is not the denominator. */
double dpr_arena_gap_share(const struct dpr_snap *l, const struct dpr_arena *a);
double dpr_duration(const struct dpr_report *r);
const char *dpr_basename(const char *p);

/* The summary every output shares. */
struct dpr_summary {
    const struct dpr_report *r;
    struct dpr_trend trend;
    struct dpr_system sys;
    struct dpr_finding findings[DPR_MAX_FINDINGS];
    size_t nfindings;
};
void dpr_summarize(const struct dpr_report *r, struct dpr_summary *s);

void dpr_output_text(FILE *f, const struct dpr_summary *s);
json_object *dpr_output_json(const struct dpr_summary *s);
void dpr_output_prom(FILE *f, const struct dpr_summary *s, size_t n);
void dpr_output_html(FILE *f, const struct dpr_summary *s, size_t n);

#endif
