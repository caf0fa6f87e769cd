/* measure: runs one command and prints one line of what it cost.
 *
 *   measure [-e NAME=VALUE]... [-o LOG] [-t SECONDS] -- command [args...]
 *
 * Environment assignments are applied in the child only, so a preloaded
 * library never profiles the runner itself. The child's stdout and stderr go
 * to LOG (default /dev/null). The output line is
 *
 *   wall=S user=S sys=S maxrss_kib=N status=N signal=N timeout=0|1
 *
 * The figures come from wait4(): they cover the child and every descendant it
 * waited for (ru_maxrss is the largest of those processes, not their sum).
 * With -t the child's process group is killed after SECONDS of wall time. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double tv_sec(struct timeval tv)
{
    return tv.tv_sec + tv.tv_usec / 1e6;
}

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
    (void)sig;
    alarmed = 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: measure [-e NAME=VALUE]... [-o LOG] [-t SECONDS] -- command [args...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    char *envs[64];
    int nenv = 0;
    const char *log = "/dev/null";
    double limit = 0;
    int opt;

    while ((opt = getopt(argc, argv, "+e:o:t:")) != -1) {
        switch (opt) {
        case 'e':
            if (nenv == 64 || !strchr(optarg, '='))
                usage();
            envs[nenv++] = optarg;
            break;
        case 'o':
            log = optarg;
            break;
        case 't':
            limit = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (optind >= argc)
        usage();

    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        /* Own process group, so a timeout kills the whole tree (heaptrack
         * runs the program and its recorder as descendants). */
        setpgid(0, 0);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || in < 0) {
            perror(log);
            _exit(126);
        }
        dup2(in, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (int i = 0; i < nenv; i++)
            putenv(envs[i]);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "measure: exec %s: %s\n", argv[optind], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);

    /* Blocking wait4 keeps the wall figure exact; SIGALRM (installed without
     * SA_RESTART) interrupts it when the time limit is reached. */
    if (limit > 0) {
        struct sigaction sa = {.sa_handler = on_alarm};
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {.it_value = {(time_t)limit, (long)((limit - (time_t)limit) * 1e6)}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    int status = 0, timed_out = 0;
    struct rusage ru;
    for (;;) {
        pid_t r = wait4(pid, &status, 0, &ru);
        if (r == pid)
            break;
        if (r < 0 && errno != EINTR) {
            perror("wait4");
            return 1;
        }
        if (alarmed && !timed_out) {
            timed_out = 1;
            kill(-pid, SIGKILL);
        }
    }
    double wall = now() - t0;
    if (timed_out)
        kill(-pid, SIGKILL); /* stragglers that outlived the leader */

    printf("wall=%.6f user=%.6f sys=%.6f maxrss_kib=%ld status=%d signal=%d timeout=%d\n",
           wall, tv_sec(ru.ru_utime), tv_sec(ru.ru_stime), ru.ru_maxrss,
           WIFEXITED(status) ? WEXITSTATUS(status) : -1,
           WIFSIGNALED(status) ? WTERMSIG(status) : 0, timed_out);
    return 0;
}
