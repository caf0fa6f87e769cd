/* Readers for /proc and cgroup files. They run inside allocation hooks and in
 * the sampler thread, so they use plain system calls on caller-provided or
 * stack buffers (no malloc, no stdio, no opendir) and leave errno as found. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Our descriptors live at 600 and up: a program that closes or reuses low
 * descriptors it does not own (closefrom, dup2 loops) must not reach ours,
 * nor we its files. The low one is given back at once. */
#define DP_FD_FLOOR 600

static int open_ro(const char *path, int flags)
{
    int fd;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    while (fd < 0 && errno == EINTR);
    if (fd >= 0 && fd < DP_FD_FLOOR) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, DP_FD_FLOOR);
        if (high >= 0) {
            close(fd);
            fd = high;
        }
    }
    return fd;
}

void dp_fd_table_reserve(void)
{
    int saved = errno;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        int high = fcntl(fd, F_DUPFD_CLOEXEC, DP_FD_FLOOR);
        if (high >= 0)
            close(high);
        close(fd);
    }
    errno = saved;
}

static ssize_t read_some(int fd, char *buf, size_t n)
{
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

int dp_read_file(const char *path, char *buf, size_t cap)
{
    int saved = errno, fd;
    size_t have = 0;
    ssize_t r = 0;
    if (cap == 0)
        return -1;
    if (cap > INT_MAX)
        cap = INT_MAX;
    fd = open_ro(path, 0);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    /* /proc files arrive a page or a record at a time: read until EOF. */
    while (have < cap - 1 && (r = read_some(fd, buf + have, cap - 1 - have)) > 0)
        have += (size_t)r;
    close(fd);
    errno = saved;
    if (r < 0)
        return -1;
    buf[have] = 0;
    return (int)have;
}

int dp_read_lines(const char *path, char *buf, size_t cap,
                  void (*line_fn)(const char *line, size_t len, void *ctx), void *ctx)
{
    int saved = errno, fd, rc = 0, skipping = 0;
    size_t have = 0;
    if (cap < 2)
        return -1;
    fd = open_ro(path, 0);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    for (;;) {
        /* One byte stays free for the NUL after a last line without '\n'. */
        ssize_t r = read_some(fd, buf + have, cap - 1 - have);
        size_t fill, pos = 0;
        char *nl;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        fill = have + (size_t)r;
        while (pos < fill && (nl = memchr(buf + pos, '\n', fill - pos)) != NULL) {
            if (skipping) {
                skipping = 0;
            } else {
                *nl = 0;
                line_fn(buf + pos, (size_t)(nl - (buf + pos)), ctx);
            }
            pos = (size_t)(nl - buf) + 1;
        }
        if (skipping) {
            /* Still inside an over-long line: drop what was read of it. */
            have = 0;
            continue;
        }
        have = fill - pos;
        memmove(buf, buf + pos, have);
        if (have == cap - 1) {
            skipping = 1;
            have = 0;
        }
    }
    if (rc == 0 && have > 0 && !skipping) {
        buf[have] = 0;
        line_fn(buf, have, ctx);
    }
    close(fd);
    errno = saved;
    return rc;
}

/* ---- fds ---- */

struct dirent64_raw {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

int dp_count_fds(void)
{
    char buf[4096] __attribute__((aligned(8)));
    int saved = errno, fd, count = 0;
    long n;
    fd = open_ro("/proc/self/fd", O_DIRECTORY);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        long off = 0;
        while (off < n) {
            const struct dirent64_raw *d = (const void *)(buf + off);
            if (d->d_name[0] != '.')
                count++;
            off += d->d_reclen;
        }
    }
    close(fd);
    errno = saved;
    if (n < 0)
        return -1;
    /* Leave out the descriptor opened to count. */
    return count - 1;
}

/* ---- cgroup memory ---- */

/* dst = a b c d, or -1 when it does not fit. */
static int join4(char *dst, size_t cap, const char *a, const char *b, const char *c, const char *d)
{
    const char *part[4] = {a, b, c, d};
    size_t n = 0, i, l;
    for (i = 0; i < 4; i++) {
        l = strlen(part[i]);
        if (n + l >= cap)
            return -1;
        memcpy(dst + n, part[i], l);
        n += l;
    }
    dst[n] = 0;
    return 0;
}

static int read_value(const char *sysfs, const char *sub, const char *cg, const char *file,
                      uint64_t *v, int *is_max)
{
    char path[4096 + 256], buf[64];
    int n;
    if (join4(path, sizeof path, sysfs, sub, cg, file))
        return -1;
    n = dp_read_file(path, buf, sizeof buf);
    if (n <= 0)
        return -1;
    return dp_parse_u64_or_max(buf, (size_t)n, v, is_max);
}

/* v1's "no limit" is PAGE_COUNTER_MAX pages, just under 2^63; anything at or
 * above 2^62 bytes is no limit in practice. */
#define DP_V1_UNLIMITED (1ULL << 62)

static int try_cgroup(const char *sysfs, int version, const char *cg, struct dp_cgroup_mem *out)
{
    const char *sub = version == 1 ? "/memory" : "";
    uint64_t usage, limit;
    int is_max;
    if (read_value(sysfs, sub, cg, version == 1 ? "/memory.usage_in_bytes" : "/memory.current",
                   &usage, &is_max) ||
        is_max)
        return -1;
    out->version = version;
    out->usage = usage;
    out->limit = 0;
    out->limit_known = 0;
    if (read_value(sysfs, sub, cg, version == 1 ? "/memory.limit_in_bytes" : "/memory.max",
                   &limit, &is_max) == 0 &&
        !is_max && !(version == 1 && limit >= DP_V1_UNLIMITED)) {
        out->limit = limit;
        out->limit_known = 1;
    }
    return 0;
}

int dp_read_cgroup_mem_at(const char *proc_cgroup, const char *sysfs, struct dp_cgroup_mem *out)
{
    char buf[4096], cg[4096];
    int saved = errno, version = 0, n, rc = -1;
    n = dp_read_file(proc_cgroup, buf, sizeof buf);
    if (n > 0 && dp_parse_proc_cgroup(buf, (size_t)n, &version, cg, sizeof cg) == 0) {
        /* "/" is the root itself, tried below. */
        if (!(cg[0] == '/' && cg[1] == 0))
            rc = try_cgroup(sysfs, version, cg, out);
    }
    /* Inside a container the listed path is often not visible, and the mount
     * shows the container's own cgroup as the root. */
    if (rc != 0)
        rc = try_cgroup(sysfs, version == 2 ? 2 : 1, "", out);
    if (rc != 0)
        rc = try_cgroup(sysfs, version == 2 ? 1 : 2, "", out);
    errno = saved;
    return rc;
}

int dp_read_cgroup_mem(struct dp_cgroup_mem *out)
{
    return dp_read_cgroup_mem_at("/proc/self/cgroup", "/sys/fs/cgroup", out);
}
