/* Stack capture with a process-wide cache of each return address's frame
 * rule, so what one thread learned serves all (libunwind's fast trace keeps
 * a 256 KiB cache per thread and fills it through its slow path, under the
 * loader's lock). Only x86-64 frames whose CFA is RSP or RBP plus an
 * offset, with the return address at CFA - 8, are handled; anything else
 * makes dp_unwind return -1 and the caller use libunwind. */
#ifndef DP_UNWIND_H
#define DP_UNWIND_H
#include <stdint.h>

/* Resolves glibc's _dl_find_object (2.35+); without it dp_unwind always
 * returns -1. */
void dp_unwind_init(void);
/* Return addresses from dp_unwind's caller outwards, at most max; -1 when
 * a frame is not one the cache can describe, or not on the thread's own
 * stack. */
int dp_unwind(uintptr_t *out, int max);
/* Forgets every rule (code may be unmapped: dlclose). */
void dp_unwind_flush(void);
/* Something was unmapped or moved (munmap, mremap): every thread checks
 * its stack memory again before reading it. */
void dp_unwind_unmapped(void);
#endif
