/* /proc parsers against independent truths: the kernel's own smaps_rollup and
 * maps captured at the same moment as smaps (tests/data/proc/python3.*),
 * libc's strtoull/sscanf on the same text, sysinfo(2), readdir(3), and
 * hand-made files whose figures are written in them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "proc.h"

static char data_dir[4096];

/* The fixtures: $DP_TEST_DATA, else tests/data/proc from the repository root
 * (the working directory, or two levels above build/tests/). */
static void find_data_dir(void)
{
    const char *env = getenv("DP_TEST_DATA");
    struct stat st;
    char exe[2048];
    ssize_t n;
    if (env) {
        snprintf(data_dir, sizeof data_dir, "%s", env);
        return;
    }
    if (stat("tests/data/proc/python3.smaps", &st) == 0) {
        snprintf(data_dir, sizeof data_dir, "tests/data/proc");
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    *(strrchr(exe, '/') ? strrchr(exe, '/') : exe) = 0;
    snprintf(data_dir, sizeof data_dir, "%s/../../tests/data/proc", exe);
}

static char *fixture_path(const char *name)
{
    static char p[4096 + 1024];
    snprintf(p, sizeof p, "%s/%s", data_dir, name);
    return p;
}

/* A whole fixture in a malloc'd buffer of exactly its size, so a sanitizer
 * build catches any read past the end. */
static char *load(const char *name, size_t *len)
{
    FILE *f = fopen(fixture_path(name), "rb");
    char *buf;
    long n;
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = 0;
    *len = (size_t)n;
    return buf;
}

/* The value libc's sscanf finds after "key" at a line start, in the file's unit. */
static int scan_key(const char *text, const char *key, unsigned long long *v)
{
    size_t kl = strlen(key);
    for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, key, kl) && (p[kl] == ':' || p[kl] == ' ') &&
            sscanf(p + kl + 1, "%llu", v) == 1)
            return 1;
    return 0;
}

/* ---- numbers ---- */

static void test_numbers_vs_strtoull(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15ull;
    char txt[64];
    for (int i = 0; i < 20000; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint64_t x = s >> (i % 64);
        uint64_t v = 0;
        int n = snprintf(txt, sizeof txt, "  %" PRIu64 " kB", x);
        const char *e = dp_parse_u64(txt, txt + n, &v);
        assert_non_null(e);
        assert_true(v == strtoull(txt, NULL, 10));
        assert_string_equal(e, " kB");
        n = snprintf(txt, sizeof txt, "%" PRIx64 "-", x);
        e = dp_parse_hex(txt, txt + n, &v);
        assert_non_null(e);
        assert_true(v == strtoull(txt, NULL, 16));
        assert_int_equal(*e, '-');
    }
    uint64_t v;
    const char *max = "18446744073709551615";
    assert_ptr_equal(dp_parse_u64(max, max + 20, &v), max + 20);
    assert_true(v == UINT64_MAX);
    const char *big = "18446744073709551616";
    assert_null(dp_parse_u64(big, big + strlen(big), &v));
    const char *bighex = "10000000000000000";
    assert_null(dp_parse_hex(bighex, bighex + strlen(bighex), &v));
    const char *none = "  kB";
    assert_null(dp_parse_u64(none, none + 4, &v));
    assert_null(dp_parse_u64(none, none, &v));
    /* The end bound is honoured even when digits follow. */
    const char *cut = "123456";
    assert_ptr_equal(dp_parse_u64(cut, cut + 3, &v), cut + 3);
    assert_true(v == 123);
}

static void test_u64_or_max(void **state)
{
    (void)state;
    uint64_t v;
    int m;
    const char *ok[] = {"max\n", "max", "536870912\n", "0"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(dp_parse_u64_or_max(ok[i], strlen(ok[i]), &v, &m), 0);
        assert_int_equal(m, ok[i][0] == 'm');
        if (!m)
            assert_true(v == strtoull(ok[i], NULL, 10));
    }
    const char *bad[] = {"", "\n", "maxx\n", "12x\n", "-1\n", "ma"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(dp_parse_u64_or_max(bad[i], strlen(bad[i]), &v, &m), -1);
}

/* ---- smaps ---- */

#define MAX_MAPS 1024

struct collect {
    int n;
    struct dp_mapping m[MAX_MAPS];
    uint64_t rss, pss, anon, swap, swap_pss, pc, pd, sc, sd, lazy, huge, size;
};

static void on_map(const struct dp_mapping *m, void *ctx)
{
    struct collect *c = ctx;
    if (c->n < MAX_MAPS)
        memcpy(&c->m[c->n], m, sizeof *m);
    c->n++;
    c->rss += m->rss;
    c->pss += m->pss;
    c->anon += m->anonymous;
    c->swap += m->swap;
    c->swap_pss += m->swap_pss;
    c->pc += m->private_clean;
    c->pd += m->private_dirty;
    c->sc += m->shared_clean;
    c->sd += m->shared_dirty;
    c->lazy += m->lazyfree;
    c->huge += m->anon_huge;
    c->size += m->size;
}

static void smaps_line_cb(const char *l, size_t len, void *ctx)
{
    assert_int_equal(l[len], 0);
    dp_smaps_line(ctx, l, len);
}

static void read_smaps(const char *path, size_t cap, struct collect *c)
{
    struct dp_smaps_parser p;
    char *buf = malloc(cap);
    memset(c, 0, sizeof *c);
    dp_smaps_init(&p, on_map, c);
    assert_int_equal(dp_read_lines(path, buf, cap, smaps_line_cb, &p), 0);
    dp_smaps_finish(&p);
    free(buf);
}

/* The reference split: memchr over the whole text, dropping the lines
 * dp_read_lines must skip (longer than cap - 2). */
static void split_smaps(const char *text, size_t len, size_t cap, struct collect *c)
{
    struct dp_smaps_parser p;
    memset(c, 0, sizeof *c);
    dp_smaps_init(&p, on_map, c);
    for (const char *s = text, *end = text + len; s < end;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t l = (size_t)((nl ? nl : end) - s);
        if (l <= cap - 2)
            dp_smaps_line(&p, s, l);
        s += l + 1;
    }
    dp_smaps_finish(&p);
}

static struct collect c1, c2;

static void test_smaps_vs_rollup_and_maps(void **state)
{
    (void)state;
    size_t rlen, mlen;
    char *rtext = load("python3.smaps_rollup", &rlen);
    char *maps = load("python3.maps", &mlen);
    struct dp_rollup ru;
    read_smaps(fixture_path("python3.smaps"), 65536, &c1);
    assert_int_equal(dp_parse_rollup(rtext, rlen, &ru), 0);

    /* The kernel's rollup is the sum of the per-mapping figures... */
    assert_true(c1.rss == ru.rss && ru.rss > 0);
    assert_true(c1.anon == ru.anonymous && ru.anonymous > 0);
    assert_true(c1.swap == ru.swap);
    assert_true(c1.pc == ru.private_clean);
    assert_true(c1.pd == ru.private_dirty);
    assert_true(c1.sc == ru.shared_clean);
    assert_true(c1.sd == ru.shared_dirty);
    assert_true(c1.lazy == ru.lazyfree);
    assert_true(c1.huge == ru.anon_huge);
    /* ...except Pss, which each mapping rounds down to a kB and the rollup
     * sums before rounding. */
    assert_true(ru.pss >= c1.pss && ru.pss < c1.pss + (uint64_t)c1.n * 1024);

    /* One mapping per line of maps, with the same fields. */
    int i = 0;
    for (char *line = strtok(maps, "\n"); line; line = strtok(NULL, "\n"), i++) {
        unsigned long long start, end, off, ino;
        char perms[5];
        int pos = 0;
        assert_int_equal(sscanf(line, "%llx-%llx %4s %llx %*x:%*x %llu %n", &start, &end, perms,
                                &off, &ino, &pos),
                         5);
        assert_true(i < c1.n);
        const struct dp_mapping *m = &c1.m[i];
        assert_true(m->start == start && m->end == end && m->offset == off && m->inode == ino);
        assert_string_equal(m->perms, perms);
        assert_string_equal(m->path, pos ? line + pos : "");
        assert_true(m->size == end - start);
    }
    assert_int_equal(c1.n, i);
    free(rtext);
    free(maps);
}

static void test_smaps_small_buffers(void **state)
{
    (void)state;
    size_t len;
    char *text = load("python3.smaps", &len);
    size_t caps[] = {3, 64, 97, 173, 200, 4096, 65521, 1 << 20};
    for (size_t k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        read_smaps(fixture_path("python3.smaps"), caps[k], &c1);
        split_smaps(text, len, caps[k], &c2);
        assert_int_equal(c1.n, c2.n);
        for (int i = 0; i < c1.n && i < MAX_MAPS; i++)
            assert_memory_equal(&c1.m[i], &c2.m[i], sizeof c1.m[i]);
        if (caps[k] >= 173) /* the longest line is 170 bytes */
            assert_true(c1.rss == c2.rss && c1.n == 158);
    }
    free(text);
}

static void test_smaps_huge_file(void **state)
{
    (void)state;
    enum { COPIES = 64 };
    size_t len, rlen;
    char *text = load("python3.smaps", &len);
    char *rtext = load("python3.smaps_rollup", &rlen);
    char tmp[] = "/tmp/dp_smaps_XXXXXX";
    int fd = mkstemp(tmp);
    struct dp_rollup ru;
    assert_true(fd >= 0);
    for (int i = 0; i < COPIES; i++)
        assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    assert_int_equal(dp_parse_rollup(rtext, rlen, &ru), 0);
    /* Caps that cut lines at many different places across reads. */
    size_t caps[] = {65536, 65521, 4099};
    for (size_t k = 0; k < 3; k++) {
        read_smaps(tmp, caps[k], &c1);
        assert_int_equal(c1.n, COPIES * 158);
        assert_true(c1.rss == COPIES * ru.rss);
        assert_true(c1.anon == COPIES * ru.anonymous);
        assert_true(c1.pd == COPIES * ru.private_dirty);
    }
    unlink(tmp);
    free(text);
    free(rtext);
}

static void test_smaps_odd(void **state)
{
    (void)state;
    size_t len;
    char *text = load("smaps_odd", &len);
    read_smaps(fixture_path("smaps_odd"), 4096, &c1);
    split_smaps(text, len, (size_t)-1, &c2);
    assert_int_equal(c1.n, c2.n);
    assert_int_equal(c1.n, 8);
    const struct dp_mapping *m = c1.m;
    assert_string_equal(m[0].path, "/opt/my app/bin/with space");
    assert_int_equal(m[0].deleted, 0);
    assert_true(m[0].rss == 8 * 1024 && m[0].pss == 4 * 1024 && m[0].shared_clean == 8 * 1024);
    assert_int_equal(m[0].vmflags, 0);
    assert_string_equal(m[1].path, "/opt/my app/bin/with space (deleted)");
    assert_int_equal(m[1].deleted, 1);
    assert_true(m[1].offset == 0x1000 && m[1].inode == 1234);
    assert_string_equal(m[2].path, "[heap]");
    assert_true(m[2].anon_huge == 2048 * 1024 && m[2].lazyfree == 512 * 1024);
    assert_int_equal(m[2].vmflags, DP_VM_HG);
    assert_string_equal(m[3].path, "/memfd:pool (deleted)");
    assert_string_equal(m[3].perms, "rw-s");
    assert_int_equal(m[3].deleted, 1);
    assert_int_equal(m[3].vmflags, DP_VM_SH | DP_VM_NH | DP_VM_DD);
    /* Anonymous with a trailing blank; the malformed header after it ends it,
     * so the "Rss: 777 kB" that follows is not added to it. */
    assert_string_equal(m[4].path, "");
    assert_true(m[4].rss == 0 && m[4].swap == 100 * 1024 && m[4].swap_pss == 50 * 1024);
    assert_int_equal(m[4].vmflags, DP_VM_HT);
    /* A path longer than the field is cut, NUL-terminated. */
    assert_int_equal(strlen(m[5].path), DP_MAPPING_PATH_MAX - 1);
    assert_memory_equal(m[5].path, strstr(text, "/opt/ddd"), DP_MAPPING_PATH_MAX - 1);
    assert_true(m[5].start == 0x7f0000600000 && m[5].rss == 4096);
    assert_string_equal(m[6].path, "[stack]");
    assert_int_equal(m[6].vmflags, DP_VM_GD);
    assert_true(m[7].start == 0xffffffffff600000 && m[7].end == 0xffffffffff601000);
    assert_string_equal(m[7].perms, "--xp");
    /* The leading field line before any header is ignored. */
    assert_true(c1.rss == (8 + 4 + 2048 + 1024 + 4 + 16) * 1024);
    free(text);
}

static void assert_rc(int rc)
{
    assert_true(rc == 0 || rc == -1);
}

/* Every prefix of a fixture, and corrupted copies, parse without harm. */
static void test_truncated_and_garbage(void **state)
{
    (void)state;
    const char *names[] = {"python3.smaps_rollup", "meminfo", "python3.status", "vmstat",
                           "pressure_memory", "cgroup_v1_multi", "smaps_odd"};
    uint64_t s = 12345;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t len;
        char *text = load(names[k], &len);
        for (size_t cut = 0; cut <= len; cut++) {
            for (int garble = 0; garble < 2; garble++) {
                char *b = malloc(cut ? cut : 1);
                memcpy(b, text, cut);
                if (garble && cut) {
                    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                    b[s % cut] = (char)(s >> 24);
                }
                struct dp_rollup ru;
                struct dp_meminfo mi;
                struct dp_status st;
                struct dp_vmstat vm;
                struct dp_psi psi;
                struct dp_smaps_parser p;
                char path[64];
                int ver;
                assert_rc(dp_parse_rollup(b, cut, &ru));
                assert_rc(dp_parse_meminfo(b, cut, &mi));
                assert_rc(dp_parse_status(b, cut, &st));
                assert_rc(dp_parse_vmstat(b, cut, &vm));
                assert_rc(dp_parse_psi(b, cut, &psi));
                if (dp_parse_proc_cgroup(b, cut, &ver, path, sizeof path) == 0)
                    assert_true(strlen(path) < sizeof path && (ver == 1 || ver == 2));
                memset(&c2, 0, sizeof c2);
                dp_smaps_init(&p, on_map, &c2);
                for (size_t i = 0; i < cut;) {
                    const char *nl = memchr(b + i, '\n', cut - i);
                    size_t l = (size_t)((nl ? nl - b : (ptrdiff_t)cut) - (ptrdiff_t)i);
                    dp_smaps_line(&p, b + i, l);
                    i += l + 1;
                }
                dp_smaps_finish(&p);
                free(b);
            }
        }
        free(text);
    }
}

/* A file cut anywhere yields, for each field, the whole file's value or
 * nothing: never a cut number. */
static void test_cut_gives_whole_or_nothing(void **state)
{
    (void)state;
    size_t len, mlen;
    char *t = load("python3.smaps_rollup", &len);
    char *m = load("meminfo", &mlen);
    struct dp_rollup rw, rc;
    struct dp_meminfo mw, mc;
    assert_int_equal(dp_parse_rollup(t, len, &rw), 0);
    assert_int_equal(dp_parse_meminfo(m, mlen, &mw), 0);
    for (size_t cut = 0; cut <= len; cut++) {
        uint64_t w[sizeof rw / 8], c[sizeof rw / 8];
        dp_parse_rollup(t, cut, &rc);
        memcpy(w, &rw, sizeof w);
        memcpy(c, &rc, sizeof c);
        for (size_t i = 0; i < sizeof w / 8; i++)
            assert_true(c[i] == 0 || c[i] == w[i]);
    }
    for (size_t cut = 0; cut <= mlen; cut++) {
        uint64_t w[sizeof mw / 8], c[sizeof mw / 8];
        dp_parse_meminfo(m, cut, &mc);
        memcpy(w, &mw, sizeof w);
        memcpy(c, &mc, sizeof c);
        for (size_t i = 0; i < sizeof w / 8; i++)
            assert_true(c[i] == 0 || c[i] == w[i]);
    }
    /* A cgroup line cut short is not a path. */
    int ver;
    char path[64];
    assert_int_equal(dp_parse_proc_cgroup("0::/system.sl", 13, &ver, path, sizeof path), -1);
    free(t);
    free(m);
}

/* ---- whole-file parsers against sscanf ---- */

static void test_meminfo_status_fixtures(void **state)
{
    (void)state;
    size_t len;
    char *t = load("meminfo", &len);
    struct dp_meminfo mi;
    unsigned long long v;
    assert_int_equal(dp_parse_meminfo(t, len, &mi), 0);
    struct { const char *k; uint64_t got; } mk[] = {
        {"MemTotal", mi.mem_total},     {"MemFree", mi.mem_free},
        {"MemAvailable", mi.mem_available}, {"Buffers", mi.buffers},
        {"Cached", mi.cached},          {"SwapTotal", mi.swap_total},
        {"SwapFree", mi.swap_free},     {"Shmem", mi.shmem},
        {"SReclaimable", mi.sreclaimable}, {"SUnreclaim", mi.sunreclaim},
        {"AnonHugePages", mi.anon_huge},
    };
    for (size_t i = 0; i < sizeof mk / sizeof mk[0]; i++) {
        assert_true(scan_key(t, mk[i].k, &v));
        assert_true(mk[i].got == v * 1024);
    }
    free(t);

    t = load("python3.status", &len);
    struct dp_status st;
    assert_int_equal(dp_parse_status(t, len, &st), 0);
    assert_true(scan_key(t, "Threads", &v) && st.threads == v && v >= 1);
    assert_true(scan_key(t, "VmRSS", &v) && st.vm_rss == v * 1024);
    assert_true(scan_key(t, "VmHWM", &v) && st.vm_hwm == v * 1024);
    assert_true(scan_key(t, "VmSwap", &v) && st.vm_swap == v * 1024);
    /* The kernel's identity: VmRSS = RssAnon + RssFile + RssShmem. */
    assert_true(st.vm_rss == st.rss_anon + st.rss_file + st.rss_shmem);
    free(t);

    /* The same process at the same moment: status and rollup agree. */
    t = load("python3.smaps_rollup", &len);
    struct dp_rollup ru;
    assert_int_equal(dp_parse_rollup(t, len, &ru), 0);
    assert_true(scan_key(t, "Pss_Anon", &v) && ru.pss_anon == v * 1024);
    assert_true(scan_key(t, "SwapPss", &v) && ru.swap_pss == v * 1024);
    assert_true(st.rss_anon == ru.anonymous);
    free(t);
}

static void test_vmstat(void **state)
{
    (void)state;
    size_t len;
    char *t = load("vmstat", &len);
    struct dp_vmstat vm;
    unsigned long long v, sum;
    assert_int_equal(dp_parse_vmstat(t, len, &vm), 0);
    assert_true(scan_key(t, "pgmajfault", &v) && vm.pgmajfault == v);
    assert_true(scan_key(t, "compact_stall", &v) && vm.compact_stall == v);
    assert_true(scan_key(t, "thp_fault_fallback", &v) && vm.thp_fault_fallback == v);
    assert_true(scan_key(t, "numa_miss", &v) && vm.numa_miss == v);
    sum = 0;
    const char *zones[] = {"allocstall_dma", "allocstall_dma32", "allocstall_normal",
                           "allocstall_movable", "allocstall_device"};
    for (size_t i = 0; i < 5; i++)
        if (scan_key(t, zones[i], &v))
            sum += v;
    assert_true(vm.allocstall == sum);
    assert_true(scan_key(t, "pgscan_direct", &v) && vm.pgscan_direct == v);
    free(t);

    /* An older kernel's per-zone direct scans are summed, throttling events
     * are not pages and stay out. */
    t = load("vmstat_old", &len);
    assert_int_equal(dp_parse_vmstat(t, len, &vm), 0);
    sum = 0;
    const char *old[] = {"pgscan_direct_dma", "pgscan_direct_dma32", "pgscan_direct_normal",
                         "pgscan_direct_movable"};
    for (size_t i = 0; i < 4; i++)
        assert_true(scan_key(t, old[i], &v)), sum += v;
    assert_true(vm.pgscan_direct == sum);
    assert_true(scan_key(t, "allocstall", &v) && vm.allocstall == v);
    assert_true(scan_key(t, "thp_fault_fallback", &v) && vm.thp_fault_fallback == v);
    free(t);
    assert_int_equal(dp_parse_vmstat("nothing 1\n", 10, &vm), -1);
}

static void check_psi_line(const char *t, const char *kind, double a10, double a60, uint64_t total)
{
    const char *l = strstr(t, kind);
    double x10, x60;
    unsigned long long tot;
    assert_non_null(l);
    assert_int_equal(sscanf(l + 4, " avg10=%lf avg60=%lf avg300=%*f total=%llu", &x10, &x60, &tot),
                     3);
    assert_true(a10 > x10 - 1e-9 && a10 < x10 + 1e-9);
    assert_true(a60 > x60 - 1e-9 && a60 < x60 + 1e-9);
    assert_true(total == tot);
}

static void test_psi(void **state)
{
    (void)state;
    size_t len;
    struct dp_psi psi;
    char *t = load("pressure_memory", &len);
    assert_int_equal(dp_parse_psi(t, len, &psi), 0);
    assert_int_equal(psi.has_full, 1);
    check_psi_line(t, "some", psi.some_avg10, psi.some_avg60, psi.some_total_us);
    check_psi_line(t, "full", psi.full_avg10, psi.full_avg60, psi.full_total_us);
    free(t);
    t = load("pressure_memory_nofull", &len);
    assert_int_equal(dp_parse_psi(t, len, &psi), 0);
    assert_int_equal(psi.has_full, 0);
    check_psi_line(t, "some", psi.some_avg10, psi.some_avg60, psi.some_total_us);
    free(t);
    t = load("pressure_garbage", &len);
    assert_int_equal(dp_parse_psi(t, len, &psi), -1);
    free(t);
    assert_int_equal(dp_parse_psi("", 0, &psi), -1);

    /* Live, where the kernel has PSI: totals never go back. */
    char buf[512];
    int n = dp_read_file("/proc/pressure/memory", buf, sizeof buf);
    if (n > 0) {
        struct dp_psi later;
        assert_int_equal(dp_parse_psi(buf, (size_t)n, &psi), 0);
        assert_true(psi.some_avg10 >= 0 && psi.some_avg10 <= 100);
        n = dp_read_file("/proc/pressure/memory", buf, sizeof buf);
        assert_int_equal(dp_parse_psi(buf, (size_t)n, &later), 0);
        assert_true(later.some_total_us >= psi.some_total_us);
    }
}

/* ---- cgroups ---- */

static void test_proc_cgroup(void **state)
{
    (void)state;
    size_t len;
    int ver;
    char path[256];
    char *t = load("cgroup_v2", &len);
    assert_int_equal(dp_parse_proc_cgroup(t, len, &ver, path, sizeof path), 0);
    assert_int_equal(ver, 2);
    assert_string_equal(path, "/system.slice/x.service");
    /* Too small a buffer is an error, not a cut path. */
    assert_int_equal(dp_parse_proc_cgroup(t, len, &ver, path, 10), -1);
    free(t);

    t = load("cgroup_v1_multi", &len);
    assert_int_equal(dp_parse_proc_cgroup(t, len, &ver, path, sizeof path), 0);
    assert_int_equal(ver, 1);
    assert_string_equal(path, "/user.slice/my app.slice");
    free(t);

    t = load("cgroup_garbage", &len);
    assert_int_equal(dp_parse_proc_cgroup(t, len, &ver, path, sizeof path), -1);
    free(t);

    /* This machine's, captured: the memory line as strstr finds it. */
    t = load("cgroup_v1_machine", &len);
    assert_int_equal(dp_parse_proc_cgroup(t, len, &ver, path, sizeof path), 0);
    const char *mem = strstr(t, ":memory:");
    if (mem) {
        assert_int_equal(ver, 1);
        assert_memory_equal(path, mem + 8, strlen(path));
        assert_int_equal(mem[8 + strlen(path)], '\n');
    } else {
        assert_int_equal(ver, 2);
    }
    free(t);
}

static uint64_t file_u64(const char *dir, const char *name)
{
    char p[512];
    unsigned long long v = 0;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(fixture_path(p), "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%llu", &v), 1);
    fclose(f);
    return v;
}

static void read_cg(const char *dir, struct dp_cgroup_mem *cg, int expect)
{
    char proc[4096 + 256], sys[4096 + 256];
    snprintf(proc, sizeof proc, "%s/cg/%s/proc_cgroup", data_dir, dir);
    snprintf(sys, sizeof sys, "%s/cg/%s/sys", data_dir, dir);
    errno = 4321;
    assert_int_equal(dp_read_cgroup_mem_at(proc, sys, cg), expect);
    assert_int_equal(errno, 4321);
}

static void test_cgroup_trees(void **state)
{
    (void)state;
    struct dp_cgroup_mem cg;
    read_cg("v2", &cg, 0);
    assert_int_equal(cg.version, 2);
    assert_true(cg.usage == file_u64("cg/v2/sys/system.slice/x.service", "memory.current"));
    assert_int_equal(cg.limit_known, 0); /* "max" */

    /* The listed path is not visible: the container's root answers. */
    read_cg("v2c", &cg, 0);
    assert_int_equal(cg.version, 2);
    assert_true(cg.usage == file_u64("cg/v2c/sys", "memory.current"));
    assert_int_equal(cg.limit_known, 1);
    assert_true(cg.limit == file_u64("cg/v2c/sys", "memory.max"));

    read_cg("v1", &cg, 0);
    assert_int_equal(cg.version, 1);
    assert_true(cg.usage == file_u64("cg/v1/sys/memory/user.slice", "memory.usage_in_bytes"));
    assert_int_equal(cg.limit_known, 0); /* v1's near-2^63 default */

    read_cg("v1c", &cg, 0);
    assert_int_equal(cg.version, 1);
    assert_true(cg.usage == file_u64("cg/v1c/sys/memory", "memory.usage_in_bytes"));
    assert_int_equal(cg.limit_known, 1);
    assert_true(cg.limit == file_u64("cg/v1c/sys/memory", "memory.limit_in_bytes"));

    read_cg("none", &cg, -1);
    read_cg("does-not-exist", &cg, -1);
}

static void test_cgroup_live(void **state)
{
    (void)state;
    struct dp_cgroup_mem cg;
    char buf[4096], path[4096], file[8192];
    int ver;
    int n = dp_read_file("/proc/self/cgroup", buf, sizeof buf);
    assert_true(n > 0);
    if (dp_read_cgroup_mem(&cg) != 0) {
        /* Then neither the listed path nor a root is readable here. */
        assert_true(access("/sys/fs/cgroup/memory/memory.usage_in_bytes", R_OK) != 0);
        assert_true(access("/sys/fs/cgroup/memory.current", R_OK) != 0);
        return;
    }
    assert_int_equal(dp_parse_proc_cgroup(buf, (size_t)n, &ver, path, sizeof path), 0);
    snprintf(file, sizeof file, ver == 1 ? "/sys/fs/cgroup/memory%s/memory.usage_in_bytes"
                                         : "/sys/fs/cgroup%s/memory.current",
             path);
    FILE *f = fopen(file, "r");
    unsigned long long usage;
    if (!f)
        skip();
    assert_int_equal(fscanf(f, "%llu", &usage), 1);
    fclose(f);
    assert_int_equal(cg.version, ver);
    /* Usage moves with everything in the cgroup: within 10%. */
    assert_true(cg.usage > usage * 0.9 && cg.usage < usage * 1.1);
}

/* ---- readers ---- */

static int nlines;
static char got[8][512];

static void keep_line(const char *l, size_t len, void *ctx)
{
    (void)ctx;
    if (nlines < 8)
        snprintf(got[nlines], sizeof got[0], "%.*s", (int)len, l);
    nlines++;
}

static void test_read_lines_long_lines(void **state)
{
    (void)state;
    char tmp[] = "/tmp/dp_lines_XXXXXX";
    int fd = mkstemp(tmp);
    FILE *f = fdopen(fd, "w");
    enum { CAP = 64 };
    /* Lines of CAP-2 bytes fit, CAP-1 and longer are skipped whole; the last
     * line has no '\n'. */
    fprintf(f, "a\n%0*d\n%0*d\nc\n%0*d\n%0*d\n%s", CAP - 2, 1, CAP - 1, 2, 500, 3, 3 * CAP, 4,
            "last");
    fclose(f);
    char buf[CAP];
    nlines = 0;
    errno = 777;
    assert_int_equal(dp_read_lines(tmp, buf, CAP, keep_line, NULL), 0);
    assert_int_equal(errno, 777);
    assert_int_equal(nlines, 4);
    assert_string_equal(got[0], "a");
    assert_int_equal(strlen(got[1]), CAP - 2);
    assert_string_equal(got[2], "c");
    assert_string_equal(got[3], "last");

    /* A last line without '\n' that is too long is skipped too. */
    f = fopen(tmp, "w");
    fprintf(f, "x\n%0*d", 200, 5);
    fclose(f);
    nlines = 0;
    assert_int_equal(dp_read_lines(tmp, buf, CAP, keep_line, NULL), 0);
    assert_int_equal(nlines, 1);
    assert_int_equal(dp_read_lines("/nonexistent/x", buf, CAP, keep_line, NULL), -1);
    assert_int_equal(errno, 777);
    assert_int_equal(dp_read_lines(tmp, buf, 1, keep_line, NULL), -1);
    unlink(tmp);
}

static void test_read_file(void **state)
{
    (void)state;
    char small[16], big[1 << 16];
    size_t len;
    char *t = load("python3.smaps", &len);
    errno = 99;
    int n = dp_read_file(fixture_path("python3.smaps"), big, sizeof big);
    assert_int_equal(errno, 99);
    assert_int_equal(n, sizeof big - 1);
    assert_memory_equal(big, t, sizeof big - 1);
    assert_int_equal(big[n], 0);
    n = dp_read_file(fixture_path("cgroup_v2"), small, sizeof small);
    assert_int_equal(n, sizeof small - 1);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(dp_read_file("/nonexistent/x", small, sizeof small), -1);
    assert_int_equal(errno, 99);
    assert_int_equal(dp_read_file(fixture_path("cgroup_v2"), small, 0), -1);
    free(t);
}

static int count_dir(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int readdir_fds(void)
{
    return count_dir("/proc/self/fd") - 1; /* the directory's own */
}

static void test_count_fds(void **state)
{
    (void)state;
    int fds[300];
    errno = 55;
    int base = dp_count_fds();
    assert_int_equal(errno, 55);
    assert_int_equal(base, readdir_fds());
    /* Enough to need several getdents64 calls. */
    for (int i = 0; i < 300; i++)
        assert_true((fds[i] = dup(0)) >= 0);
    assert_int_equal(dp_count_fds(), base + 300);
    assert_int_equal(dp_count_fds(), readdir_fds());
    for (int i = 0; i < 300; i++)
        close(fds[i]);
    assert_int_equal(dp_count_fds(), base);
}

static char *volatile sink; /* keeps the touched block from being optimised out */

static void *idle_thread(void *arg)
{
    pthread_barrier_wait(arg);
    pthread_barrier_wait(arg);
    return NULL;
}

static void test_live_self(void **state)
{
    (void)state;
    static char buf[8192];
    struct dp_rollup ru;
    struct dp_status st;
    struct dp_meminfo mi;
    struct sysinfo si;
    pthread_t th[3];
    pthread_barrier_t bar;

    /* Touch some memory so the figures are not all tiny. */
    size_t blk = 16 << 20;
    char *mem = malloc(blk);
    memset(mem, 1, blk);
    sink = mem;
    pthread_barrier_init(&bar, NULL, 4);
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, idle_thread, &bar);
    pthread_barrier_wait(&bar);

    int n = dp_read_file("/proc/self/smaps_rollup", buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(dp_parse_rollup(buf, (size_t)n, &ru), 0);
    n = dp_read_file("/proc/self/status", buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(dp_parse_status(buf, (size_t)n, &st), 0);
    /* Linked with the whole library, the test may run its sampler thread
     * too: count the tasks. */
    assert_true(st.threads >= 4 && st.threads == (uint64_t)count_dir("/proc/self/task"));
    /* RSS counters are per-CPU approximations: within 5% of the page walk. */
    assert_true(ru.rss >= blk);
    assert_true(st.vm_rss > ru.rss * 0.95 && st.vm_rss < ru.rss * 1.05);
    assert_true(st.rss_anon > ru.anonymous * 0.95 && st.rss_anon < ru.anonymous * 1.05);

    /* meminfo against sysinfo(2): the same kernel counters. */
    n = dp_read_file("/proc/meminfo", buf, sizeof buf);
    assert_int_equal(dp_parse_meminfo(buf, (size_t)n, &mi), 0);
    assert_int_equal(sysinfo(&si), 0);
    assert_true(mi.mem_total == (uint64_t)si.totalram * si.mem_unit);
    assert_true(mi.swap_total == (uint64_t)si.totalswap * si.mem_unit);
    assert_true(mi.mem_available <= mi.mem_total && mi.mem_free <= mi.mem_total);

    pthread_barrier_wait(&bar);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    free(mem);
}

/* The live smaps through the 64 KiB path agrees with the live rollup. */
static void test_live_smaps(void **state)
{
    (void)state;
    static char buf[8192];
    struct dp_rollup before, after;
    int n = dp_read_file("/proc/self/smaps_rollup", buf, sizeof buf);
    assert_int_equal(dp_parse_rollup(buf, (size_t)n, &before), 0);
    read_smaps("/proc/self/smaps", 65536, &c1);
    n = dp_read_file("/proc/self/smaps_rollup", buf, sizeof buf);
    assert_int_equal(dp_parse_rollup(buf, (size_t)n, &after), 0);
    uint64_t lo = before.rss < after.rss ? before.rss : after.rss;
    uint64_t hi = before.rss < after.rss ? after.rss : before.rss;
    assert_true(c1.n > 5);
    assert_true(c1.rss >= lo - 256 * 1024 && c1.rss <= hi + 256 * 1024);
}

int main(void)
{
    find_data_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers_vs_strtoull),
        cmocka_unit_test(test_u64_or_max),
        cmocka_unit_test(test_smaps_vs_rollup_and_maps),
        cmocka_unit_test(test_smaps_small_buffers),
        cmocka_unit_test(test_smaps_huge_file),
        cmocka_unit_test(test_smaps_odd),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_cut_gives_whole_or_nothing),
        cmocka_unit_test(test_meminfo_status_fixtures),
        cmocka_unit_test(test_vmstat),
        cmocka_unit_test(test_psi),
        cmocka_unit_test(test_proc_cgroup),
        cmocka_unit_test(test_cgroup_trees),
        cmocka_unit_test(test_cgroup_live),
        cmocka_unit_test(test_read_lines_long_lines),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_count_fds),
        cmocka_unit_test(test_live_self),
        cmocka_unit_test(test_live_smaps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
