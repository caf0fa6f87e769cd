/* drainprof: runs a command with libdrainprof preloaded and, when it exits,
 * prints the summary of its report. The command's exit status (or signal)
 * is passed through. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DP_LIBDIR
#define DP_LIBDIR "/usr/local/lib"
#endif

static void usage(FILE *f)
{
    fprintf(f, "usage: drainprof [--interval S] [--stacks off|sample|all] [--trim off|dry-run|on]\n"
               "                 [--dir D] [--follow] [--no-summary] -- command [args...]\n");
}

/* The library beside this executable (build tree or PREFIX/bin -> PREFIX/lib). */
static int find_lib(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    *slash = 0;
    const char *cands[] = {"%s/libdrainprof.so", "%s/../lib/libdrainprof.so"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(out, cap, cands[i], self);
        if (access(out, R_OK) == 0)
            return 0;
    }
    snprintf(out, cap, "%s/libdrainprof.so", DP_LIBDIR);
    return access(out, R_OK);
}

/* --dir names where the user wants reports: create it (and its parents)
 * when missing; the library warns if it still cannot be used. */
static void make_dirs(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    mkdir(buf, 0755);
}

int main(int argc, char **argv)
{
    int i = 1, summary = 1;
    const char *dir = NULL;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char *env = NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (!strcmp(a, "--interval")) {
            env = "DRAINPROF_INTERVAL";
        } else if (!strcmp(a, "--stacks")) {
            env = "DRAINPROF_STACKS";
        } else if (!strcmp(a, "--trim")) {
            env = "DRAINPROF_TRIM";
        } else if (!strcmp(a, "--dir")) {
            env = "DRAINPROF_DIR";
        } else if (!strcmp(a, "--follow")) {
            setenv("DRAINPROF_FOLLOW", "1", 1);
            continue;
        } else if (!strcmp(a, "--no-summary")) {
            summary = 0;
            continue;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "drainprof: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else {
            break;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "drainprof: %s needs a value\n", a);
            return 2;
        }
        setenv(env, argv[++i], 1);
        if (!strcmp(env, "DRAINPROF_DIR")) {
            dir = argv[i];
            make_dirs(dir);
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    char lib[PATH_MAX + 32];
    if (find_lib(lib, sizeof lib) != 0) {
        fprintf(stderr, "drainprof: cannot find libdrainprof.so\n");
        return 2;
    }
    const char *old = getenv("LD_PRELOAD");
    char *pre = malloc(strlen(lib) + (old ? strlen(old) : 0) + 2);
    sprintf(pre, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
    char cwd[PATH_MAX];
    if (!dir && getcwd(cwd, sizeof cwd)) {
        setenv("DRAINPROF_DIR", cwd, 0);
        dir = getenv("DRAINPROF_DIR");
    }

    pid_t pid = fork();
    if (pid < 0) {
        perror("drainprof: fork");
        return 2;
    }
    if (pid == 0) {
        setenv("LD_PRELOAD", pre, 1);
        execvp(argv[i], argv + i);
        fprintf(stderr, "drainprof: cannot run %s: %s\n", argv[i], strerror(errno));
        _exit(127);
    }
    /* The child owns the terminal's signals; we wait for it. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (summary) {
        char report[PATH_MAX + 64], tool[PATH_MAX + 64], self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = 0;
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = 0;
        snprintf(tool, sizeof tool, "%s/drainprof-report", self);
        snprintf(report, sizeof report, "%s", dir ? dir : ".");
        fprintf(stderr, "\ndrainprof: summary of pid %d (reports in %s)\n", (int)pid, report);
        fflush(stderr);
        pid_t r = fork();
        if (r == 0) {
            char pidarg[32];
            snprintf(pidarg, sizeof pidarg, "%d", (int)pid);
            execl(tool, tool, "--pid", pidarg, report, (char *)NULL);
            execlp("drainprof-report", "drainprof-report", "--pid", pidarg, report, (char *)NULL);
            fprintf(stderr, "drainprof: cannot run drainprof-report: %s\n", strerror(errno));
            _exit(127);
        }
        int rst;
        if (r > 0)
            while (waitpid(r, &rst, 0) < 0 && errno == EINTR)
                ;
    }
    free(pre);
    if (WIFSIGNALED(st)) {
        signal(WTERMSIG(st), SIG_DFL);
        raise(WTERMSIG(st));
        return 128 + WTERMSIG(st);
    }
    return WEXITSTATUS(st);
}
