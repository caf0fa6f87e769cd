/* malloc_trim experiments. `dry-run` measures what malloc_trim(0) would give
 * back without touching the program: a copy of the process (made while every
 * arena lock is held, as glibc's own fork does, so its heap is consistent)
 * trims itself and reports its RSS drop through a pipe. The copy is created
 * with no exit signal, so the program gets no SIGCHLD and its wait() calls
 * never see it. `on` trims the program itself and records the release. */
#include "trim.h"
#include "dp.h"
#include "glibc.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_LOCKED 1024
#define CHILD_TIMEOUT_MS 10000

static uint64_t rss_now(void)
{
    char buf[128];
    int n = dp_read_file("/proc/self/statm", buf, sizeof buf);
    if (n <= 0)
        return 0;
    const char *p = buf, *end = buf + n;
    uint64_t size, resident;
    if (!(p = dp_parse_u64(p, end, &size)) || !dp_parse_u64(p, end, &resident))
        return 0;
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* The RSS drop, never below 0 (a copy faults a few pages back in while
 * it trims), or -1 when RSS cannot be read. */
static int64_t trim_here(void)
{
    uint64_t before = rss_now();
    malloc_trim(0);
    uint64_t after = rss_now();
    if (!before || !after)
        return -1;
    return before > after ? (int64_t)(before - after) : 0;
}

static void dry_run(struct dp_trim_result *r)
{
    struct dp_arena_info ar[MAX_LOCKED];
    int n = dp_glibc_arenas(ar, MAX_LOCKED);
    if (n == 0) {
        r->skipped = "arena layout unknown";
        return;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        r->skipped = "pipe failed";
        return;
    }
    for (int i = 0; i < n; i++)
        dp_glibc_arena_lock(ar[i].ar);
    /* exit_signal 0: no SIGCHLD, invisible to wait() without __WCLONE. */
    long pid = syscall(SYS_clone, 0, NULL, NULL, NULL, NULL);
    if (pid == 0) {
        for (int i = 0; i < n; i++)
            dp_glibc_arena_unlock(ar[i].ar);
        int64_t released = trim_here();
        ssize_t w = write(fds[1], &released, sizeof released);
        (void)w;
        syscall(SYS_exit_group, 0);
    }
    for (int i = n - 1; i >= 0; i--)
        dp_glibc_arena_unlock(ar[i].ar);
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        r->skipped = "fork failed";
        return;
    }
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int64_t released = -1;
    if (poll(&pfd, 1, CHILD_TIMEOUT_MS) != 1 || read(fds[0], &released, sizeof released) != sizeof released)
        r->skipped = "the copy did not answer in time";
    else if (released < 0)
        r->skipped = "the copy could not read its RSS";
    else
        r->released = (uint64_t)released;
    close(fds[0]);
    kill((pid_t)pid, SIGKILL);
    while (waitpid((pid_t)pid, NULL, __WCLONE) < 0 && errno == EINTR)
        ;
}

void dp_trim_run(int mode, uint64_t rss, uint64_t max_rss, struct dp_trim_result *r)
{
    int saved = errno;
    uint64_t t0 = dp_now_ns();
    r->ran = 0;
    r->released = 0;
    r->skipped = NULL;
    if (mode == DP_TRIM_DRY_RUN && rss > max_rss) {
        r->skipped = "process RSS above DRAINPROF_TRIM_MAX_RSS";
    } else if (mode == DP_TRIM_DRY_RUN) {
        dry_run(r);
        r->ran = !r->skipped;
    } else if (mode == DP_TRIM_ON) {
        int64_t released = trim_here();
        if (released >= 0) {
            r->released = (uint64_t)released;
            r->ran = 1;
        } else {
            r->skipped = "RSS unreadable";
        }
    }
    r->duration_ms = (double)(dp_now_ns() - t0) / 1e6;
    errno = saved;
}
