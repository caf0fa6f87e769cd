#include "modules.h"
#include "dp.h"

#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_MODULES 1024
static struct dp_module table[MAX_MODULES];
static int count, handed;
static int lock;

static void build_id(struct dl_phdr_info *info, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof *nh;
            const unsigned char *desc = (const unsigned char *)name + ((nh->n_namesz + 3) & ~3u);
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
                size_t k = 0;
                for (unsigned d = 0; d < nh->n_descsz && k + 3 < cap; d++)
                    k += (size_t)snprintf(out + k, cap - k, "%02x", desc[d]);
                return;
            }
            p = (const char *)desc + ((nh->n_descsz + 3) & ~3u);
        }
    }
}

static int on_object(struct dl_phdr_info *info, size_t size, void *unused)
{
    (void)size;
    (void)unused;
    uintptr_t hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
            hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    }
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (!hi || !strncmp(name, "linux-vdso", 10))
        return 0;
    char path[256];
    if (name[0]) {
        snprintf(path, sizeof path, "%s", name);
    } else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        path[n > 0 ? n : 0] = 0;
    }
    /* An object is known by its load address and path: a plugin loaded
     * again elsewhere, or another one at the same place, is new. */
    for (int i = 0; i < count; i++)
        if (table[i].base == info->dlpi_addr && !strcmp(table[i].path, path))
            return 0;
    if (count == MAX_MODULES)
        return 0;
    struct dp_module *m = &table[count++];
    m->base = info->dlpi_addr;
    m->end = hi;
    memcpy(m->path, path, sizeof m->path);
    build_id(info, m->build_id, sizeof m->build_id);
    return 0;
}

void dp_modules_refresh(void)
{
    dp_spin_lock(&lock);
    dl_iterate_phdr(on_object, NULL);
    dp_spin_unlock(&lock);
}

int dp_modules_take_new(struct dp_module *out, int max)
{
    dp_spin_lock(&lock);
    int n = 0;
    while (handed < count && n < max)
        out[n++] = table[handed++];
    dp_spin_unlock(&lock);
    return n;
}

void dp_modules_rewind(void)
{
    handed = 0;
}

void dp_modules_fork_prepare(void)
{
    dp_spin_lock(&lock);
}

void dp_modules_fork_release(void)
{
    dp_spin_unlock(&lock);
}
