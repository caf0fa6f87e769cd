/* Pure parsers for /proc and cgroup files: they only read the buffer they are
 * given, so they run inside allocation hooks and on captured test files. */
#include "proc.h"

#include <stddef.h>
#include <string.h>

/* ---- numbers ---- */

static const char *skip_blank(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0';
}

const char *dp_parse_u64(const char *s, const char *end, uint64_t *v)
{
    uint64_t x = 0;
    const char *first;
    s = skip_blank(s, end);
    first = s;
    while (s < end && *s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            return NULL;
        x = x * 10 + d;
        s++;
    }
    if (s == first)
        return NULL;
    *v = x;
    return s;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *dp_parse_hex(const char *s, const char *end, uint64_t *v)
{
    uint64_t x = 0;
    const char *first;
    int d;
    s = skip_blank(s, end);
    first = s;
    while (s < end && (d = hex_digit(*s)) >= 0) {
        if (x >> 60)
            return NULL;
        x = (x << 4) | (uint64_t)d;
        s++;
    }
    if (s == first)
        return NULL;
    *v = x;
    return s;
}

/* A PSI average such as "12.34": the kernel prints exactly two decimals, but
 * any number of them is accepted. */
static const char *parse_fixed(const char *s, const char *end, double *v)
{
    uint64_t ip, frac = 0;
    double scale = 1;
    s = dp_parse_u64(s, end, &ip);
    if (!s)
        return NULL;
    if (s < end && *s == '.') {
        s++;
        while (s < end && *s >= '0' && *s <= '9') {
            if (scale < 1e15) {
                frac = frac * 10 + (uint64_t)(*s - '0');
                scale *= 10;
            }
            s++;
        }
    }
    *v = (double)ip + (double)frac / scale;
    return s;
}

int dp_parse_u64_or_max(const char *buf, size_t len, uint64_t *v, int *is_max)
{
    const char *end = buf + len, *s = skip_blank(buf, end);
    if (end - s >= 3 && !memcmp(s, "max", 3)) {
        s += 3;
        *is_max = 1;
        *v = UINT64_MAX;
    } else {
        uint64_t x;
        s = dp_parse_u64(s, end, &x);
        if (!s)
            return -1;
        *is_max = 0;
        *v = x;
    }
    for (; s < end; s++)
        if (!is_space(*s))
            return -1;
    return 0;
}

/* ---- lines and "Key: value [kB]" tables ---- */

/* Next line of [*p, end): sets line and its length without '\n'. The kernel
 * ends every line with '\n', so a last line without one was cut (by a
 * buffer too small) and could hold a cut number: it is ignored. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
    const char *s = *p, *nl;
    if (s >= end)
        return 0;
    nl = memchr(s, '\n', (size_t)(end - s));
    if (!nl)
        return 0;
    *line = s;
    *len = (size_t)(nl - s);
    *p = nl + 1;
    return 1;
}

struct kv {
    const char *key;
    unsigned char klen;
    unsigned short off;
};

#define KV(k, type, field) {k, sizeof(k) - 1, offsetof(type, field)}
#define NKV(t) (sizeof(t) / sizeof((t)[0]))

/* Parses "Key:<blanks>N[ kB]" into the table's field of out when the key is
 * known. Returns 1 when a field was set. */
static int kv_line(const char *line, size_t len, const struct kv *t, size_t n, void *out)
{
    const char *end = line + len, *colon = memchr(line, ':', len), *s;
    uint64_t v;
    size_t klen, i;
    if (!colon)
        return 0;
    klen = (size_t)(colon - line);
    for (i = 0; i < n; i++)
        if (t[i].klen == klen && !memcmp(t[i].key, line, klen))
            break;
    if (i == n)
        return 0;
    s = dp_parse_u64(colon + 1, end, &v);
    if (!s)
        return 0;
    s = skip_blank(s, end);
    if (end - s >= 2 && s[0] == 'k' && s[1] == 'B') {
        if (v > UINT64_MAX / 1024)
            return 0;
        v *= 1024;
    }
    memcpy((char *)out + t[i].off, &v, sizeof v);
    return 1;
}

static int kv_parse(const char *buf, size_t len, const struct kv *t, size_t n, void *out)
{
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    int found = 0;
    while (next_line(&p, end, &line, &ll))
        found += kv_line(line, ll, t, n, out);
    return found ? 0 : -1;
}

/* ---- smaps ---- */

static const struct kv smaps_keys[] = {
    KV("Size", struct dp_mapping, size),
    KV("Rss", struct dp_mapping, rss),
    KV("Pss", struct dp_mapping, pss),
    KV("Shared_Clean", struct dp_mapping, shared_clean),
    KV("Shared_Dirty", struct dp_mapping, shared_dirty),
    KV("Private_Clean", struct dp_mapping, private_clean),
    KV("Private_Dirty", struct dp_mapping, private_dirty),
    KV("Referenced", struct dp_mapping, referenced),
    KV("Anonymous", struct dp_mapping, anonymous),
    KV("LazyFree", struct dp_mapping, lazyfree),
    KV("AnonHugePages", struct dp_mapping, anon_huge),
    KV("ShmemPmdMapped", struct dp_mapping, shmem_pmd),
    KV("FilePmdMapped", struct dp_mapping, file_pmd),
    KV("Swap", struct dp_mapping, swap),
    KV("SwapPss", struct dp_mapping, swap_pss),
    KV("Locked", struct dp_mapping, locked),
};

static const struct {
    char name[3];
    uint32_t bit;
} vm_flags[] = {
    {"sh", DP_VM_SH}, {"gd", DP_VM_GD}, {"lo", DP_VM_LO}, {"ht", DP_VM_HT},
    {"hg", DP_VM_HG}, {"nh", DP_VM_NH}, {"dd", DP_VM_DD}, {"mg", DP_VM_MG},
};

static uint32_t parse_vmflags(const char *s, const char *end)
{
    uint32_t bits = 0;
    size_t i;
    for (;;) {
        const char *w;
        s = skip_blank(s, end);
        w = s;
        while (s < end && *s != ' ' && *s != '\t')
            s++;
        if (s == w)
            return bits;
        if (s - w == 2)
            for (i = 0; i < NKV(vm_flags); i++)
                if (w[0] == vm_flags[i].name[0] && w[1] == vm_flags[i].name[1])
                    bits |= vm_flags[i].bit;
    }
}

static const char *expect(const char *s, const char *end, char c)
{
    return s && s < end && *s == c ? s + 1 : NULL;
}

/* "start-end perms offset major:minor inode [path]"; the path is the rest of
 * the line and may hold spaces. */
static int parse_header(const char *line, size_t len, struct dp_mapping *m)
{
    static const char deleted[] = " (deleted)";
    const char *end = line + len, *s;
    uint64_t start, stop, dev;
    size_t plen;
    s = expect(dp_parse_hex(line, end, &start), end, '-');
    s = s ? expect(dp_parse_hex(s, end, &stop), end, ' ') : NULL;
    if (!s || end - s < 5 || s[4] != ' ')
        return -1;
    memset(m, 0, sizeof *m);
    memcpy(m->perms, s, 4);
    s += 5;
    s = expect(dp_parse_hex(s, end, &m->offset), end, ' ');
    s = s ? expect(dp_parse_hex(s, end, &dev), end, ':') : NULL;
    s = s ? expect(dp_parse_hex(s, end, &dev), end, ' ') : NULL;
    s = s ? dp_parse_u64(s, end, &m->inode) : NULL;
    if (!s || start > stop || (s < end && *s != ' '))
        return -1;
    m->start = (uintptr_t)start;
    m->end = (uintptr_t)stop;
    s = skip_blank(s, end);
    plen = (size_t)(end - s);
    if (plen >= sizeof deleted - 1 &&
        !memcmp(end - (sizeof deleted - 1), deleted, sizeof deleted - 1))
        m->deleted = 1;
    if (plen >= sizeof m->path)
        plen = sizeof m->path - 1;
    memcpy(m->path, s, plen);
    m->path[plen] = 0;
    return 0;
}

void dp_smaps_init(struct dp_smaps_parser *p, dp_mapping_fn fn, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->fn = fn;
    p->ctx = ctx;
}

void dp_smaps_line(struct dp_smaps_parser *p, const char *line, size_t len)
{
    if (len == 0)
        return;
    /* Field names start with an upper-case letter; headers with a digit or a
     * lower-case hex digit. */
    if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
        if (p->have)
            p->fn(&p->cur, p->ctx);
        /* A malformed header ends the previous mapping without starting one,
         * so its field lines are not added to the wrong mapping. */
        p->have = parse_header(line, len, &p->cur) == 0;
        return;
    }
    if (!p->have)
        return;
    if (len > 8 && !memcmp(line, "VmFlags:", 8)) {
        p->cur.vmflags = parse_vmflags(line + 8, line + len);
        return;
    }
    kv_line(line, len, smaps_keys, NKV(smaps_keys), &p->cur);
}

void dp_smaps_finish(struct dp_smaps_parser *p)
{
    if (p->have)
        p->fn(&p->cur, p->ctx);
    p->have = 0;
}

/* ---- smaps_rollup, meminfo, status ---- */

int dp_parse_rollup(const char *buf, size_t len, struct dp_rollup *out)
{
    static const struct kv keys[] = {
        KV("Rss", struct dp_rollup, rss),
        KV("Pss", struct dp_rollup, pss),
        KV("Pss_Anon", struct dp_rollup, pss_anon),
        KV("Pss_File", struct dp_rollup, pss_file),
        KV("Pss_Shmem", struct dp_rollup, pss_shmem),
        KV("Shared_Clean", struct dp_rollup, shared_clean),
        KV("Shared_Dirty", struct dp_rollup, shared_dirty),
        KV("Private_Clean", struct dp_rollup, private_clean),
        KV("Private_Dirty", struct dp_rollup, private_dirty),
        KV("Anonymous", struct dp_rollup, anonymous),
        KV("LazyFree", struct dp_rollup, lazyfree),
        KV("AnonHugePages", struct dp_rollup, anon_huge),
        KV("ShmemPmdMapped", struct dp_rollup, shmem_pmd),
        KV("Swap", struct dp_rollup, swap),
        KV("SwapPss", struct dp_rollup, swap_pss),
    };
    memset(out, 0, sizeof *out);
    return kv_parse(buf, len, keys, NKV(keys), out);
}

int dp_parse_meminfo(const char *buf, size_t len, struct dp_meminfo *out)
{
    static const struct kv keys[] = {
        KV("MemTotal", struct dp_meminfo, mem_total),
        KV("MemFree", struct dp_meminfo, mem_free),
        KV("MemAvailable", struct dp_meminfo, mem_available),
        KV("Buffers", struct dp_meminfo, buffers),
        KV("Cached", struct dp_meminfo, cached),
        KV("SwapTotal", struct dp_meminfo, swap_total),
        KV("SwapFree", struct dp_meminfo, swap_free),
        KV("Shmem", struct dp_meminfo, shmem),
        KV("SReclaimable", struct dp_meminfo, sreclaimable),
        KV("SUnreclaim", struct dp_meminfo, sunreclaim),
        KV("AnonHugePages", struct dp_meminfo, anon_huge),
    };
    memset(out, 0, sizeof *out);
    return kv_parse(buf, len, keys, NKV(keys), out);
}

int dp_parse_status(const char *buf, size_t len, struct dp_status *out)
{
    static const struct kv keys[] = {
        KV("Threads", struct dp_status, threads),
        KV("VmRSS", struct dp_status, vm_rss),
        KV("VmHWM", struct dp_status, vm_hwm),
        KV("VmSwap", struct dp_status, vm_swap),
        KV("RssAnon", struct dp_status, rss_anon),
        KV("RssFile", struct dp_status, rss_file),
        KV("RssShmem", struct dp_status, rss_shmem),
    };
    memset(out, 0, sizeof *out);
    return kv_parse(buf, len, keys, NKV(keys), out);
}

/* ---- vmstat ---- */

static int word_is(const char *w, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(w, lit, n);
}

static int word_has_prefix(const char *w, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n > l && !memcmp(w, lit, l);
}

int dp_parse_vmstat(const char *buf, size_t len, struct dp_vmstat *out)
{
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    int found = 0;
    memset(out, 0, sizeof *out);
    while (next_line(&p, end, &line, &ll)) {
        const char *sp = memchr(line, ' ', ll);
        uint64_t v, *dst;
        size_t n;
        if (!sp || !dp_parse_u64(sp, line + ll, &v))
            continue;
        n = (size_t)(sp - line);
        if (word_is(line, n, "pgmajfault"))
            dst = &out->pgmajfault;
        /* Older kernels count direct scans per zone (pgscan_direct_normal...);
         * pgscan_direct_throttle counts throttling events, not pages. */
        else if (word_is(line, n, "pgscan_direct") ||
                 (word_has_prefix(line, n, "pgscan_direct_") &&
                  !word_is(line, n, "pgscan_direct_throttle")))
            dst = &out->pgscan_direct;
        /* Newer kernels count stalls per zone (allocstall_normal...). */
        else if (word_is(line, n, "allocstall") || word_has_prefix(line, n, "allocstall_"))
            dst = &out->allocstall;
        else if (word_is(line, n, "compact_stall"))
            dst = &out->compact_stall;
        else if (word_is(line, n, "thp_fault_fallback"))
            dst = &out->thp_fault_fallback;
        else if (word_is(line, n, "numa_miss"))
            dst = &out->numa_miss;
        else
            continue;
        *dst += v;
        found = 1;
    }
    return found ? 0 : -1;
}

/* ---- PSI ---- */

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=0": returns 0 when avg10,
 * avg60 and total are all present. */
static int psi_line(const char *s, const char *end, double *a10, double *a60, uint64_t *total)
{
    int seen = 0;
    while ((s = skip_blank(s, end)) < end) {
        const char *eq = memchr(s, '=', (size_t)(end - s)), *v;
        size_t n;
        if (!eq)
            return -1;
        n = (size_t)(eq - s);
        if (word_is(s, n, "avg10")) {
            v = parse_fixed(eq + 1, end, a10);
            seen |= 1;
        } else if (word_is(s, n, "avg60")) {
            v = parse_fixed(eq + 1, end, a60);
            seen |= 2;
        } else if (word_is(s, n, "total")) {
            v = dp_parse_u64(eq + 1, end, total);
            seen |= 4;
        } else {
            double skip;
            v = parse_fixed(eq + 1, end, &skip);
        }
        if (!v || (v < end && *v != ' ' && *v != '\t'))
            return -1;
        s = v;
    }
    return seen == 7 ? 0 : -1;
}

int dp_parse_psi(const char *buf, size_t len, struct dp_psi *out)
{
    const char *p = buf, *end = buf + len, *line;
    size_t ll;
    int has_some = 0;
    memset(out, 0, sizeof *out);
    while (next_line(&p, end, &line, &ll)) {
        if (ll > 5 && !memcmp(line, "some ", 5))
            has_some |= !psi_line(line + 5, line + ll, &out->some_avg10, &out->some_avg60,
                                  &out->some_total_us);
        else if (ll > 5 && !memcmp(line, "full ", 5))
            out->has_full |= !psi_line(line + 5, line + ll, &out->full_avg10, &out->full_avg60,
                                       &out->full_total_us);
    }
    if (!out->has_full)
        out->full_avg10 = out->full_avg60 = 0, out->full_total_us = 0;
    return has_some ? 0 : -1;
}

/* ---- /proc/self/cgroup ---- */

/* Whether the comma-separated list [s, end) holds the word "memory". */
static int has_memory_controller(const char *s, const char *end)
{
    while (s < end) {
        const char *c = memchr(s, ',', (size_t)(end - s));
        if (!c)
            c = end;
        if (word_is(s, (size_t)(c - s), "memory"))
            return 1;
        s = c + 1;
    }
    return 0;
}

int dp_parse_proc_cgroup(const char *buf, size_t len, int *version, char *path, size_t pathcap)
{
    const char *p = buf, *end = buf + len, *line, *v2 = NULL, *v1 = NULL;
    size_t ll, v2len = 0, v1len = 0;
    while (!v1 && next_line(&p, end, &line, &ll)) {
        const char *lend = line + ll, *c1 = memchr(line, ':', ll), *c2;
        if (!c1)
            continue;
        c2 = memchr(c1 + 1, ':', (size_t)(lend - c1 - 1));
        if (!c2)
            continue;
        if (c1 - line == 1 && line[0] == '0' && c2 == c1 + 1) {
            v2 = c2 + 1;
            v2len = (size_t)(lend - v2);
        } else if (has_memory_controller(c1 + 1, c2)) {
            v1 = c2 + 1;
            v1len = (size_t)(lend - v1);
        }
    }
    if (v1) {
        *version = 1;
    } else if (v2) {
        *version = 2;
        v1 = v2;
        v1len = v2len;
    } else {
        return -1;
    }
    if (v1len == 0 || v1len >= pathcap)
        return -1;
    memcpy(path, v1, v1len);
    path[v1len] = 0;
    return 0;
}
