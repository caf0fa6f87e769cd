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
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_APPEND, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    if (fd < 0) {
        dp_warn("libdrainprof: cannot create a report in DRAINPROF_DIR=\"%s\" (%s); no report is written", d,
                strerror(errno));
        errno = saved;
        return -1;
    }
    fstat(fd, &st);
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
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
        return 0;
    int nfd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (nfd < 0)
        return -1;
    if (fstat(nfd, &st) != 0 || st.st_dev != dev || st.st_ino != ino) {
        close(nfd);
        return -1;
    }
    fd = nfd;
    return 0;
}

int dp_report_line(const char *line, size_t len)
{
    if (fd < 0)
        return -1;
    int saved = errno;
    int rc = -1;
    if (check_fd() == 0) {
        ssize_t w;
        do
            w = write(fd, line, len);
        while (w < 0 && errno == EINTR);
        rc = w == (ssize_t)len ? 0 : -1;
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

const char *dp_report_path(void)
{
    return path;
}
