/* Loaded ELF objects, remembered for offline symbolization: including those
 * a program dlclose()s before the next snapshot writes them out. */
#ifndef DP_MODULES_H
#define DP_MODULES_H
#include <stdint.h>

struct dp_module {
    uintptr_t base, end; /* load bias and end of the highest segment */
    char path[256];
    char build_id[48];   /* hex, "" when none */
};

/* Records the objects loaded now that are not known yet (no I/O but
 * readlink of /proc/self/exe). */
void dp_modules_refresh(void);
/* Hands out modules not handed out before, up to max; returns the count. */
int dp_modules_take_new(struct dp_module *out, int max);
/* A fork child writes a new report: every module is new to it. */
void dp_modules_rewind(void);
void dp_modules_fork_prepare(void);
void dp_modules_fork_release(void);
#endif
