/* Start-up, the sampler thread, fork and exit: the library's life cycle. */
#include "dp.h"
#include "filter.h"
#include "glibc.h"
#include "mem.h"
#include "modules.h"
#include "options.h"
#include "proc.h"
#include "regions.h"
#include "report.h"
#include "shim.h"
#include "sites.h"
#include "snapshot.h"
#include "track.h"

#include <drainprof.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_key_t thread_key;
static int started;
static int report_wanted; /* profiling on and DRAINPROF_DIR usable */
static int in_fork_child; /* a fork child's exit alone writes no report */
static int dir_ok;        /* DRAINPROF_DIR was usable at start (warned once if not) */
int dp_child_pending; /* a fork child that has not set up its report yet */
static char allocator[64];

static void on_thread_exit(void *unused)
{
    (void)unused;
    dp_track_thread_exit();
}

static const char *lookup_env(const char *name)
{
    return getenv(name);
}

/* Removes our entry from LD_PRELOAD, edited in place (no allocation). */
static void strip_preload(void)
{
    extern char **environ;
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "LD_PRELOAD=", 11))
            continue;
        char *v = *e + 11, *out = v;
        int kept = 0;
        for (char *tok = v; *tok;) {
            size_t n = strcspn(tok, ": ");
            int ours = memmem(tok, n, "libdrainprof", 12) != NULL;
            if (!ours && n) {
                if (kept)
                    *out++ = ':';
                memmove(out, tok, n);
                out += n;
                kept = 1;
            }
            tok += n;
            if (*tok)
                tok++;
        }
        *out = 0;
        if (!kept)
            unsetenv("LD_PRELOAD");
        return;
    }
}

/* The report file is created by the first snapshot, not at start-up: a
 * process that only execs another program (shell wrappers, env) leaves no
 * empty report behind. */
static void open_report(void)
{
    char comm[16];
    extern char *program_invocation_short_name;
    const char *c = program_invocation_short_name ? program_invocation_short_name : "unknown";
    size_t n = 0;
    for (; c[n] && n < sizeof comm - 1; n++)
        comm[n] = (c[n] == '/' || c[n] == ' ') ? '_' : c[n];
    comm[n] = 0;
    if (dp_report_open(dp_opt.dir, comm, getpid()) == 0)
        dp_snapshot_header();
}

/* Whoever clears report_wanted, under open_lock, creates the report: once,
 * and never again after the exit snapshot closed it. */
static int open_lock;

static void take_snapshot(const char *label)
{
    dp_spin_lock(&open_lock);
    if (!dp_report_is_open() && report_wanted) {
        report_wanted = 0;
        open_report();
    }
    dp_spin_unlock(&open_lock);
    dp_snapshot_take(label);
}

static void *sampler(void *unused)
{
    (void)unused;
    double iv = dp_opt.interval;
    struct timespec ts = {(time_t)iv, (long)((iv - (double)(time_t)iv) * 1e9)};
    for (;;) {
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        ts = (struct timespec){(time_t)iv, (long)((iv - (double)(time_t)iv) * 1e9)};
        take_snapshot("interval");
    }
    return NULL;
}

/* The sampler must never receive the program's signals. */
static void start_sampler(void)
{
    if (dp_opt.interval <= 0)
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_t t;
    if (pthread_create(&t, &attr, sampler, NULL) != 0)
        dp_warn("libdrainprof: cannot start the sampler thread; snapshots only at exit and on request");
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void fork_prepare(void)
{
    dp_spin_lock(&open_lock);
    dp_snapshot_fork_prepare();
    dp_modules_fork_prepare();
    dp_regions_fork_prepare();
    dp_sites_fork_prepare();
    dp_track_fork_prepare();
    dp_mem_fork_prepare();
    dp_filter_fork_prepare();
}

static void fork_parent(void)
{
    dp_filter_fork_release();
    dp_mem_fork_release();
    dp_track_fork_release(0);
    dp_sites_fork_release();
    dp_regions_fork_release();
    dp_modules_fork_release();
    dp_snapshot_fork_release(0);
    dp_spin_unlock(&open_lock);
}

/* The child gets its own report (its first snapshot creates it) and its
 * own sampler, started on its first allocation or at exit: a child that
 * just execs (most of them) costs nothing. */
static void fork_child(void)
{
    dp_filter_fork_release();
    dp_mem_fork_release();
    dp_track_fork_release(1);
    dp_sites_fork_release();
    dp_regions_fork_release();
    dp_modules_fork_release();
    dp_report_forget();
    dp_snapshot_fork_release(1);
    dp_spin_unlock(&open_lock);
    if (dir_ok) {
        report_wanted = 1;
        in_fork_child = 1;
        __atomic_store_n(&dp_child_pending, 1, __ATOMIC_RELEASE);
        dp_shim_rearm();
    }
}

void dp_child_start(void)
{
    if (!__atomic_exchange_n(&dp_child_pending, 0, __ATOMIC_ACQ_REL))
        return;
    dp_shim_rearm();
    dp_in_hook++;
    start_sampler();
    dp_in_hook--;
}

/* Snapshots asked for after this one (atexit handlers registered before
 * ours, other threads, the sampler) find report_wanted cleared and do not
 * start a second report. */
static void at_exit(void)
{
    __atomic_store_n(&dp_child_pending, 0, __ATOMIC_RELAXED);
    dp_shim_rearm();
    /* A fork child that ends before its first snapshot (a shell's
     * subshell, a helper that runs for a moment) leaves no report. The
     * lock makes exit wait for a sampler that is creating the report. */
    dp_spin_lock(&open_lock);
    int open_now = report_wanted && !dp_report_is_open() && !in_fork_child;
    report_wanted = 0;
    if (open_now) {
        dp_in_hook++;
        open_report();
        dp_in_hook--;
    }
    dp_spin_unlock(&open_lock);
    dp_snapshot_exit();
}

/* An exec'd program is profiled only with DRAINPROF_FOLLOW=1, but an exec
 * that keeps the pid (a wrapper script, env, nice) is the same process going
 * on: DRAINPROF_ROOT_PID names the process the user started. */
static int is_exec_child(void)
{
    const char *root = getenv("DRAINPROF_ROOT_PID");
    if (!root)
        return 0;
    long pid = 0;
    for (; *root >= '0' && *root <= '9'; root++)
        pid = pid * 10 + (*root - '0');
    return pid != (long)getpid();
}

int dp_process_profiled(void)
{
    const char *follow = getenv("DRAINPROF_FOLLOW");
    const char *enable = getenv("DRAINPROF_ENABLE");
    if (enable && !strcmp(enable, "0"))
        return 0;
    return !is_exec_child() || (follow && !strcmp(follow, "1"));
}


__attribute__((constructor(101))) static void dp_init(void)
{
    int saved = errno;
    if (!dp_shim_ready() || started)
        return;
    started = 1;
    dp_in_hook++;
    if (!dp_tracking) {
        /* Not profiled: every call is forwarded, and an exec'd child's own
         * children do not load us at all. */
        if (is_exec_child())
            strip_preload();
        dp_in_hook--;
        errno = saved;
        return;
    }
    if (!getenv("DRAINPROF_ROOT_PID")) {
        char pid[24];
        snprintf(pid, sizeof pid, "%d", (int)getpid());
        setenv("DRAINPROF_ROOT_PID", pid, 1);
    }
    dp_options_parse(&dp_opt, lookup_env);
    dp_mem_register_self();
    dp_glibc_detect((void *)dp_real.malloc, allocator, sizeof allocator);
    dp_snapshot_set_allocator(allocator);
    dp_sites_init(dp_opt.enabled ? dp_opt.stacks : DP_STACKS_OFF, dp_opt.sample, dp_opt.depth);
    pthread_key_create(&thread_key, on_thread_exit);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    if (dp_opt.enabled) {
        if (!dp_opt.dir[0] && !getcwd(dp_opt.dir, sizeof dp_opt.dir))
            dp_opt.dir[0] = 0;
        if (dp_report_check_dir(dp_opt.dir) == 0) {
            dir_ok = 1;
            report_wanted = 1;
            dp_fd_table_reserve();
            start_sampler();
            atexit(at_exit);
        }
    }
    dp_in_hook--;
    errno = saved;
}

/* Registers the calling thread's end, so its counter record is recycled;
 * 0 once its exit handler is sure to run. */
int dp_thread_seen(void)
{
    return started && pthread_setspecific(thread_key, (void *)1) == 0 ? 0 : -1;
}

DP_EXPORT void drainprof_snapshot(const char *label)
{
    char copy[64];
    if (!started)
        return;
    dp_child_start();
    snprintf(copy, sizeof copy, "%s", label ? label : "request");
    int saved = errno;
    dp_in_hook++;
    take_snapshot(copy);
    dp_in_hook--;
    errno = saved;
}
