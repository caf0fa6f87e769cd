#include "hints.h"
#include "dp.h"
#include "mem.h"

#include <string.h>

#define STEP_PAGES 16384 /* 64 MiB */

static struct {
    uintptr_t base;
    size_t cap; /* entries */
    uint16_t *at;
    int used; /* asked for since the last sweep */
} slot[DP_HINT_SLOTS];

static void drop(int i)
{
    dp_mem_unmap(slot[i].at, slot[i].cap * sizeof *slot[i].at);
    slot[i].at = NULL;
    slot[i].cap = 0;
    slot[i].base = 0;
}

uint16_t *dp_hints_for(uintptr_t base, size_t npages)
{
    int i, free_slot = -1;
    for (i = 0; i < DP_HINT_SLOTS; i++) {
        if (slot[i].at && slot[i].base == base)
            break;
        if (!slot[i].at && free_slot < 0)
            free_slot = i;
    }
    if (i == DP_HINT_SLOTS) {
        if (free_slot < 0)
            return NULL;
        i = free_slot;
    }
    if (npages > slot[i].cap) {
        /* A brk heap grows: room for a quarter more, and a 64 MiB step. */
        size_t cap = npages + npages / 4 + STEP_PAGES;
        uint16_t *at = dp_mem_map(cap * sizeof *at);
        if (!at)
            return NULL;
        if (slot[i].at) {
            memcpy(at, slot[i].at, slot[i].cap * sizeof *at);
            drop(i);
        }
        slot[i].at = at;
        slot[i].cap = cap;
        slot[i].base = base;
    }
    slot[i].used = 1;
    return slot[i].at;
}

void dp_hints_sweep(void)
{
    for (int i = 0; i < DP_HINT_SLOTS; i++) {
        if (slot[i].at && !slot[i].used)
            drop(i);
        slot[i].used = 0;
    }
}
