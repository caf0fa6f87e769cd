/* The profiler's own memory: straight from mmap, never from a glibc arena
 * (a profiler that mallocs changes the arenas it measures). Every mapping is
 * remembered so snapshots can leave it out of the program's figures. */
#ifndef DP_MEM_H
#define DP_MEM_H
#include <stddef.h>
#include <stdint.h>

/* Zeroed, page-rounded memory, or NULL. Always MAP_NORESERVE: besides
 * letting sparse tables reserve more than they touch, the distinct flag
 * keeps the kernel from merging our mappings with the program's neighbouring
 * anonymous ones, so smaps entries stay either ours or the program's. */
void *dp_mem_map(size_t size);
void dp_mem_unmap(void *p, size_t size);

/* Adds the library's own writable segment (its static buffers) to the
 * list, so snapshots count it as the profiler's. */
void dp_mem_register_self(void);

/* A mapping a library made on our behalf while one of our hooks ran
 * (libunwind's per-thread trace cache, its memory pools) is counted as
 * ours; forgotten again when unmapped, by whoever unmaps it. */
void dp_mem_adopt(uintptr_t start, size_t len);
void dp_mem_forget(uintptr_t start, size_t len);

/* Is [start, end) one of ours (overlaps any of our mappings)? */
int dp_mem_is_own(uintptr_t start, uintptr_t end);

/* Resident 4 KiB pages that [start, end) touches, by mincore; not
 * reentrant (one static vector): snapshot time only. */
uint64_t dp_mem_resident_pages(uintptr_t start, uintptr_t end);

/* Resident bytes of our mappings (mincore); _in: of their parts inside
 * [lo, hi), with the parts' total size in *size. */
size_t dp_mem_resident(void);
size_t dp_mem_resident_in(uintptr_t lo, uintptr_t hi, uint64_t *size);

/* Memory for the hot path, from a reservation made once (dp_mem_pool_init,
 * at start-up): no mapping system call after start. Released pages go back
 * to the kernel; the range stays reserved. */
void dp_mem_pool_init(void);
void *dp_mem_hot(size_t size);
void dp_mem_hot_release(void *p, size_t size);

/* Bump allocator over dp_mem_hot for small objects that live as long as the
 * process (thread records, strings). Never freed; its short spinlock is
 * taken only when a thread first allocates, and around fork(). */
void *dp_mem_bump(size_t size);
void dp_mem_fork_prepare(void);
void dp_mem_fork_release(void);

#endif
