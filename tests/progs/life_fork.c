/* Processes that fork, exec, vfork and posix_spawn while allocating. Each
 * prints what it knows (its pid, its parent, the bytes it holds at each of
 * its snapshots, its children's exit statuses) as JSON lines on stdout.
 * life_fork reexec: asks for a snapshot, then execs itself (same pid, same
 * name) as "reexeced", which asks for one more and exits.
 * life_fork threadfork: a thread that allocates in its own arena forks; the
 * child holds blocks for a while, so its periodic snapshots can see them.
 * Usage: life_fork fork|exec|vfork|spawn|leaf|reexec|threadfork */
#include <drainprof.h>
#include <malloc.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LEAF_STATUS 3

extern char **environ;

struct held {
    void *p[4096];
    int n;
    uint64_t usable;
};

/* Holds about `bytes` more in blocks of mixed sizes. */
static void hold(struct held *h, uint64_t bytes)
{
    uint64_t got = 0;
    for (unsigned i = 0; got < bytes && h->n < 4096; i++) {
        size_t size = 100 + (i * 7919) % 20000;
        void *p = malloc(size);
        if (!p)
            exit(2);
        memset(p, 1, size);
        h->p[h->n++] = p;
        got += malloc_usable_size(p);
    }
    h->usable += got;
}

static void release(struct held *h)
{
    for (int i = 0; i < h->n; i++)
        free(h->p[i]);
    h->n = 0;
    h->usable = 0;
}

static int status_of(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static char *self_path;

static struct held tf_mine, tf_child;

/* Its calls are mostly forwarded as tail calls by the time it forks: the
 * child's first allocation must still start the child's own sampler. */
static void *fork_from_thread(void *arg)
{
    int *status = arg;
    hold(&tf_mine, 4 << 20);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        hold(&tf_child, 2 << 20);
        usleep(400 * 1000);
        printf("{\"child\":%d,\"inherited\":%llu,\"own\":%llu}\n", (int)getpid(),
               (unsigned long long)tf_mine.usable, (unsigned long long)tf_child.usable);
        fflush(stdout);
        release(&tf_child);
        exit(7);
    }
    *status = pid < 0 ? -1 : status_of(pid);
    release(&tf_mine);
    return NULL;
}

static pid_t run_leaf_fork(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(self_path, self_path, "leaf", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t run_leaf_vfork(void)
{
    pid_t pid = vfork();
    if (pid == 0) {
        execl(self_path, self_path, "leaf", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static pid_t run_leaf_spawn(void)
{
    pid_t pid;
    char *argv[] = {self_path, "leaf", NULL};
    if (posix_spawn(&pid, self_path, NULL, NULL, argv, environ) != 0)
        return -1;
    return pid;
}

int main(int argc, char **argv)
{
    static struct held mine, child;
    const char *mode = argc > 1 ? argv[1] : "fork";
    self_path = argv[0];
    if (!strcmp(mode, "leaf")) {
        hold(&mine, 1 << 20);
        DRAINPROF_SNAPSHOT("leaf");
        printf("{\"leaf\":%d,\"held\":%llu}\n", (int)getpid(), (unsigned long long)mine.usable);
        release(&mine);
        return LEAF_STATUS;
    }
    if (!strcmp(mode, "reexec")) {
        DRAINPROF_SNAPSHOT("before-exec");
        execl(self_path, self_path, "reexeced", (char *)NULL);
        return 127;
    }
    if (!strcmp(mode, "reexeced")) {
        DRAINPROF_SNAPSHOT("after-exec");
        return 0;
    }
    DRAINPROF_SNAPSHOT("start");
    if (!strcmp(mode, "threadfork")) {
        pthread_t t;
        int st = -1;
        if (pthread_create(&t, NULL, fork_from_thread, &st) != 0)
            return 2;
        pthread_join(t, NULL);
        printf("{\"parent\":%d,\"child_status\":%d}\n", (int)getpid(), st);
        return st == 7 ? 0 : 1;
    }
    hold(&mine, 4 << 20);
    uint64_t at_fork = mine.usable;
    fflush(stdout);
    if (!strcmp(mode, "fork")) {
        pid_t pid = fork();
        if (pid < 0)
            return 2;
        if (pid == 0) {
            /* The child carries on without exec: allocates, asks for a
             * snapshot, frees its own blocks and exits normally. */
            hold(&child, 2 << 20);
            DRAINPROF_SNAPSHOT("child");
            printf("{\"child\":%d,\"parent\":%d,\"inherited\":%llu,\"own\":%llu}\n", (int)getpid(),
                   (int)getppid(), (unsigned long long)at_fork, (unsigned long long)child.usable);
            release(&child);
            DRAINPROF_SNAPSHOT("child-freed");
            exit(7);
        }
        int st = status_of(pid);
        hold(&mine, 1 << 20);
        DRAINPROF_SNAPSHOT("after");
        printf("{\"parent\":%d,\"held\":%llu,\"child_status\":%d}\n", (int)getpid(),
               (unsigned long long)mine.usable, st);
        release(&mine);
        return st == 7 ? 0 : 1;
    }
    pid_t (*run)(void) = !strcmp(mode, "exec") ? run_leaf_fork : !strcmp(mode, "vfork") ? run_leaf_vfork
                                                                                          : run_leaf_spawn;
    int statuses[3], bad = 0;
    for (int i = 0; i < 3; i++) {
        pid_t pid = run();
        statuses[i] = pid < 0 ? -1 : status_of(pid);
        bad |= statuses[i] != LEAF_STATUS;
        hold(&mine, 256 << 10);
    }
    /* A vfork child that exits without exec. */
    pid_t pid = vfork();
    if (pid == 0)
        _exit(9);
    int direct = status_of(pid);
    DRAINPROF_SNAPSHOT("after");
    printf("{\"parent\":%d,\"held\":%llu,\"statuses\":[%d,%d,%d],\"vfork_exit\":%d}\n", (int)getpid(),
           (unsigned long long)mine.usable, statuses[0], statuses[1], statuses[2], direct);
    release(&mine);
    return bad || direct != 9 ? 1 : 0;
}
