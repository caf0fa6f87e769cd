#include "report.h"
#include "dp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd = -1;
static char path[1024];
static dev_t dev;
static ino_t ino;

/* Our descriptor lives above the numbers a program normally gets (open
 * returns the lowest free one): a program that closes every descriptor and
 * opens its own files then never gets ours between our check and our write,
 * and its writes never land in the report. */
#define HIGH_FD 600

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Opens path and moves the descriptor high; fills *st with what the high
 * descriptor refers to. The program may close and reuse the low number at
 * any moment, so a result is accepted only if it is the file now at path,
 * and the low number is closed only while it is still ours. */
static int open_high(int flags, struct stat *st)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        int low = open(path, flags, 0600);
        if (low < 0)
            return -1;
        int hi = fcntl(low, F_DUPFD_CLOEXEC, HIGH_FD);
        int ours = hi >= 0 ? hi : low; /* descriptor limit under HIGH_FD: stay low */
        struct stat at_path, l;
        if (fstat(ours, st) == 0 && lstat(path, &at_path) == 0 && same_file(st, &at_path)) {
            if (hi >= 0 && fstat(low, &l) == 0 && same_file(&l, st))
                close(low);
            return ours;
        }
        if (hi >= 0)
            close(hi);
        flags &= ~(O_CREAT | O_EXCL); /* created by the first attempt */
    }
    errno = EAGAIN;
    return -1;
}

int dp_report_check_dir(const char *dir)
{
    int saved = errno, rc = 0;
    struct stat st;
    const char *d = dir[0] ? dir : ".";
    errno = 0;
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode) || access(d, W_OK | X_OK) != 0) {
        dp_warn("libdrainprof: DRAINPROF_DIR=\"%s\" is not a usable directory (%s); no report is written", d,
                strerror(errno ? errno : ENOTDIR));
        rc = -1;
    }
    errno = saved;
    return rc;
}

int dp_report_open(const char *dir, const char *comm, int pid)
{
    int saved = errno;
    struct stat st;
    const char *d = dir[0] ? dir : ".";
    for (int n = 0; n < 100; n++) {
        char suffix[16] = "";
        if (n)
            snprintf(suffix, sizeof suffix, ".%d", n);
        if ((size_t)snprintf(path, sizeof path, "%s/drainprof.%s.%d%s.jsonl", d, comm, pid, suffix) >= sizeof path)
            break;
        fd = open_high(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_APPEND, &st);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        dp_warn("libdrainprof: cannot create a report in DRAINPROF_DIR=\"%s\" (%s); no report is written", d,
                strerror(errno));
        errno = saved;
        return -1;
    }
    dev = st.st_dev;
    ino = st.st_ino;
    errno = saved;
    return 0;
}

/* The program may have closed our descriptor or dup2'd another file over
 * it: write only to the file we created, reopening it by name if needed. */
static int check_fd(void)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
        return 0;
    int nfd = open_high(O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, &st);
    if (nfd < 0)
        return -1;
    if (st.st_dev != dev || st.st_ino != ino) {
        close(nfd); /* the name now holds another file */
        return -1;
    }
    fd = nfd;
    return 0;
}

/* A descriptor closed between the check and the write (EBADF) is reopened
 * once, so the line is not lost. */
int dp_report_line(const char *line, size_t len)
{
    if (fd < 0)
        return -1;
    int saved = errno;
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        if (check_fd() != 0)
            break;
        ssize_t w;
        do
            w = write(fd, line, len);
        while (w < 0 && errno == EINTR);
        rc = w == (ssize_t)len ? 0 : -1;
        if (w >= 0 || errno != EBADF)
            break;
    }
    errno = saved;
    return rc;
}

int dp_report_is_open(void)
{
    return fd >= 0;
}

void dp_report_forget(void)
{
    if (fd >= 0)
        close(fd);
    fd = -1;
}

