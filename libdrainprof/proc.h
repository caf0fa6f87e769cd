/* Parsers for the /proc and cgroup files the profiler reads, and the readers
 * that feed them. The parsers (proc.c) are pure functions over buffers: no
 * I/O, no allocation, no stdio, so they are safe inside an allocation hook
 * and testable on captured files. The readers (procio.c) use plain
 * open/read/close/getdents64 on caller-provided buffers and preserve errno.
 * All byte figures are in bytes (the kernel prints kB). */
#ifndef DP_PROC_H
#define DP_PROC_H

#include <stddef.h>
#include <stdint.h>

#define DP_HIDDEN __attribute__((visibility("hidden")))

/* ---- numbers ---- */

/* Skip leading spaces and tabs, then parse decimal (dp_parse_u64) or hex
 * without "0x" (dp_parse_hex) digits up to end. Returns the pointer after the
 * last digit, or NULL when there is no digit or the value overflows 64 bits. */
DP_HIDDEN const char *dp_parse_u64(const char *s, const char *end, uint64_t *v);
DP_HIDDEN const char *dp_parse_hex(const char *s, const char *end, uint64_t *v);

/* A cgroup single-value file: an integer or "max", optionally followed by
 * white space. Returns 0, or -1 on anything else. */
DP_HIDDEN int dp_parse_u64_or_max(const char *buf, size_t len, uint64_t *v, int *is_max);

/* ---- /proc/self/smaps, streamed one line at a time ---- */

/* VmFlags bits worth knowing for memory accounting. */
#define DP_VM_SH 0x01u  /* shared */
#define DP_VM_GD 0x02u  /* grows down (a stack) */
#define DP_VM_LO 0x04u  /* mlocked */
#define DP_VM_HT 0x08u  /* hugetlbfs */
#define DP_VM_HG 0x10u  /* MADV_HUGEPAGE */
#define DP_VM_NH 0x20u  /* MADV_NOHUGEPAGE */
#define DP_VM_DD 0x40u  /* MADV_DONTDUMP */
#define DP_VM_MG 0x80u  /* MADV_MERGEABLE (KSM) */

#define DP_MAPPING_PATH_MAX 256

struct dp_mapping {
    uintptr_t start, end;
    char perms[5];
    uint8_t deleted; /* the path ends in " (deleted)" (kept in path) */
    uint64_t offset;
    uint64_t inode;
    char path[DP_MAPPING_PATH_MAX]; /* truncated, NUL-terminated, "" if anonymous */
    uint64_t size, rss, pss, shared_clean, shared_dirty, private_clean, private_dirty,
        referenced, anonymous, lazyfree, anon_huge, shmem_pmd, file_pmd, swap, swap_pss, locked;
    uint32_t vmflags; /* DP_VM_* */
};

typedef void (*dp_mapping_fn)(const struct dp_mapping *m, void *ctx);

struct dp_smaps_parser {
    struct dp_mapping cur;
    int have;
    dp_mapping_fn fn;
    void *ctx;
};

DP_HIDDEN void dp_smaps_init(struct dp_smaps_parser *p, dp_mapping_fn fn, void *ctx);
/* One line, without its '\n'. A header line emits the previous mapping. */
DP_HIDDEN void dp_smaps_line(struct dp_smaps_parser *p, const char *line, size_t len);
/* Emits the last mapping. */
DP_HIDDEN void dp_smaps_finish(struct dp_smaps_parser *p);

/* ---- whole-file parsers: 0 when at least one known field was found, else -1;
 * fields absent from the file are left 0. A last line without '\n' is taken
 * as cut short and ignored (here and in dp_parse_psi, dp_parse_proc_cgroup) ---- */

struct dp_rollup {
    uint64_t rss, pss, pss_anon, pss_file, pss_shmem, shared_clean, shared_dirty, private_clean,
        private_dirty, anonymous, lazyfree, anon_huge, shmem_pmd, swap, swap_pss;
};
DP_HIDDEN int dp_parse_rollup(const char *buf, size_t len, struct dp_rollup *out);

struct dp_meminfo {
    uint64_t mem_total, mem_free, mem_available, buffers, cached, swap_total, swap_free, shmem,
        sreclaimable, sunreclaim, anon_huge;
};
DP_HIDDEN int dp_parse_meminfo(const char *buf, size_t len, struct dp_meminfo *out);

/* Counters (not bytes). Per-zone counters of older or newer kernels are
 * summed into one figure. */
struct dp_vmstat {
    uint64_t pgmajfault, pgscan_direct, allocstall, compact_stall, thp_fault_fallback, numa_miss;
};
DP_HIDDEN int dp_parse_vmstat(const char *buf, size_t len, struct dp_vmstat *out);

/* /proc/pressure/memory. Returns -1 unless a complete "some" line is found;
 * has_full says whether a complete "full" line was. */
struct dp_psi {
    double some_avg10, some_avg60, full_avg10, full_avg60;
    uint64_t some_total_us, full_total_us;
    int has_full;
};
DP_HIDDEN int dp_parse_psi(const char *buf, size_t len, struct dp_psi *out);

struct dp_status {
    uint64_t threads, vm_rss, vm_hwm, vm_swap, rss_anon, rss_file, rss_shmem;
};
DP_HIDDEN int dp_parse_status(const char *buf, size_t len, struct dp_status *out);

/* /proc/self/cgroup: the v1 line whose controllers include "memory"
 * (*version = 1), else the "0::" line (*version = 2). The path is copied
 * NUL-terminated; returns -1 when there is no such line or it does not fit. */
DP_HIDDEN int dp_parse_proc_cgroup(const char *buf, size_t len, int *version, char *path,
                                   size_t pathcap);

/* ---- readers (procio.c) ---- */

/* Reads the whole file (up to cap-1 bytes) and NUL-terminates it. Returns the
 * number of bytes read, or -1. */
DP_HIDDEN int dp_read_file(const char *path, char *buf, size_t cap);

/* Calls line_fn for each line of the file, without its '\n' (the byte after
 * the line is a NUL), through buf whatever the file's size. A line longer
 * than cap-2 bytes is skipped whole. Returns 0, or -1 if the file cannot be
 * opened or read (lines read before a read error have been delivered). */
DP_HIDDEN int dp_read_lines(const char *path, char *buf, size_t cap,
                            void (*line_fn)(const char *line, size_t len, void *ctx), void *ctx);

struct dp_cgroup_mem {
    int version;
    uint64_t usage;
    uint64_t limit;
    int limit_known; /* 0: no limit ("max", or v1's near-2^63 default) */
};
/* The memory usage and limit of this process's cgroup (v1 memory controller,
 * else v2), falling back to the cgroup root visible here (a container's own
 * cgroup). Returns -1 when nothing is readable. */
DP_HIDDEN int dp_read_cgroup_mem(struct dp_cgroup_mem *out);
/* The same with another /proc/self/cgroup and /sys/fs/cgroup (for tests). */
DP_HIDDEN int dp_read_cgroup_mem_at(const char *proc_cgroup, const char *sysfs,
                                    struct dp_cgroup_mem *out);

/* Open file descriptors of this process (not counting the one used to
 * count them), or -1. */
DP_HIDDEN int dp_count_fds(void);

/* Grows the descriptor table past the numbers our descriptors use, at
 * start while the process is likely single-threaded: growing it later, with
 * threads, makes the kernel wait an RCU grace period (about 10 ms here). */
DP_HIDDEN void dp_fd_table_reserve(void);

#endif
