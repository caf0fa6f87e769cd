/* A program that takes over every file descriptor after its first snapshot.
 * life_fds close DIR: closes every descriptor from 3 up (close_range), then
 *   opens its own files, which take the lowest numbers again.
 * life_fds dup2 DIR: dup2s its own file over every descriptor from 3 to 20.
 * Then it allocates, writes its own lines and asks for snapshots; at the end
 * it checks that each of its files holds exactly what it wrote, and prints
 * what it found.
 * life_fds race DIR SECONDS: closes every descriptor, opens one of its files
 *   and writes a line to it, again and again, while the sampler writes the
 *   report: the descriptor numbers change hands all the time. It prints
 *   how many of its files hold exactly the lines it wrote. */
#include <drainprof.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NFILES 4

static int check(const char *path, const char *want)
{
    static char got[1 << 16];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, got, sizeof got - 1);
    close(fd);
    got[n > 0 ? n : 0] = 0;
    return n >= 0 && !strcmp(got, want);
}

static int race(const char *dir, double seconds)
{
    static const char text[] = "program line\n";
    char path[NFILES][512];
    long lines[NFILES] = {0};
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)seconds;
    for (long n = 0;; n++) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec > end.tv_nsec))
            break;
        int i = (int)(n % NFILES);
        close_range(3, ~0U, 0);
        snprintf(path[i], sizeof path[i], "%s/own.%d.txt", dir, i);
        int fd = open(path[i], O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0)
            return 3;
        free(malloc(100 + (size_t)(n % 1000)));
        if (write(fd, text, sizeof text - 1) == (ssize_t)sizeof text - 1)
            lines[i]++;
    }
    int intact = 0;
    long total = 0;
    /* A report line in one of its files would show in its size (and the
     * test greps for one). */
    for (int i = 0; i < NFILES; i++) {
        struct stat st;
        intact += stat(path[i], &st) == 0 && st.st_size == lines[i] * (long)(sizeof text - 1);
        total += lines[i];
    }
    printf("{\"files\":%d,\"intact\":%d,\"lines\":%ld}\n", NFILES, intact, total);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *mode = argv[1], *dir = argv[2];
    char path[NFILES][512];
    int fds[NFILES];
    static char want[NFILES][1 << 15];
    if (!strcmp(mode, "race"))
        return race(dir, argc > 3 ? atof(argv[3]) : 1);
    DRAINPROF_SNAPSHOT("start");
    if (!strcmp(mode, "close")) {
        if (close_range(3, ~0U, 0) != 0)
            for (int fd = 3; fd < 1024; fd++)
                close(fd);
    }
    for (int i = 0; i < NFILES; i++) {
        snprintf(path[i], sizeof path[i], "%s/own.%d.txt", dir, i);
        fds[i] = open(path[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fds[i] < 0)
            return 3;
    }
    if (!strcmp(mode, "dup2")) {
        /* Every descriptor from 3 to 20 now writes to own.0.txt. */
        for (int fd = 3; fd <= 20; fd++)
            if (fd != fds[0])
                dup2(fds[0], fd);
        for (int i = 1; i < NFILES; i++)
            fds[i] = fds[0];
    }
    int lowest = fds[0];
    for (int i = 1; i < NFILES; i++)
        if (fds[i] < lowest)
            lowest = fds[i];
    void *keep[300];
    for (int round = 0; round < 3; round++) {
        for (int k = 0; k < 100; k++)
            keep[round * 100 + k] = malloc(1000 + (size_t)k * 37);
        char label[32], text[64];
        snprintf(label, sizeof label, "after-%d", round);
        DRAINPROF_SNAPSHOT(label);
        for (int i = 0; i < NFILES; i++) {
            int n = snprintf(text, sizeof text, "program line %d to file %d\n", round, i);
            int f = !strcmp(mode, "dup2") ? 0 : i;
            if (write(fds[i], text, (size_t)n) != n)
                return 4;
            strcat(want[f], text);
        }
        usleep(100000);
    }
    for (int i = 0; i < 300; i++)
        free(keep[i]);
    int intact = 0;
    for (int i = 0; i < NFILES; i++)
        intact += check(path[i], want[i]);
    printf("{\"files\":%d,\"intact\":%d,\"lowest_fd\":%d}\n", NFILES, intact, lowest);
    return intact == NFILES ? 0 : 1;
}
