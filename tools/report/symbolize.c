/* Offline symbolization with elfutils' libdwfl: each module line of the
 * report is reported at its load bias, then every return address becomes
 * function, source file and line (debug info), function only (symbol
 * table), or module+offset when the file is missing or its build-id is not
 * the one the process had loaded. */
#include "report.h"

#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct mod {
    const struct dpr_module *m;
    Dwfl_Module *dm;            /* NULL: fall back to module+offset */
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool same_build_id(Dwfl_Module *dm, const char *want)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = dwfl_module_build_id(dm, &bits, &vaddr);
    if (!want)
        return true;            /* nothing to check against */
    if (n <= 0 || strlen(want) != (size_t)n * 2)
        return false;
    for (int i = 0; i < n; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", bits[i]);
        if (strncasecmp(hex, want + 2 * i, 2))
            return false;
    }
    return true;
}

/* The module holding addr: inside [base, end), or, for a module line
 * without end, the highest base at or below addr. */
static const struct mod *lookup(const struct mod *mods, size_t n, uint64_t addr)
{
    const struct mod *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const struct dpr_module *m = mods[i].m;
        if (addr < m->base)
            continue;
        if (m->end && addr < m->end)
            return &mods[i];
        if (!m->end && (!best || m->base > best->m->base))
            best = &mods[i];
    }
    return best;
}

static void resolve(struct dpr_frame *f, const struct mod *mods, size_t n)
{
    const struct mod *md = lookup(mods, n, f->addr);
    if (!md)
        return;
    f->module = dup_or_null(md->m->path);
    f->offset = f->addr - md->m->base;
    if (!md->dm || f->addr == 0)
        return;
    /* A return address points after the call: look up the call itself. */
    Dwarf_Addr pc = f->addr - 1;
    f->function = dup_or_null(dwfl_module_addrname(md->dm, pc));
    Dwfl_Line *line = dwfl_module_getsrc(md->dm, pc);
    int lineno = 0;
    const char *file = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL) : NULL;
    if (file) {
        f->file = strdup(file);
        f->line = lineno;
    }
}

void dpr_symbolize(struct dpr_report *r, bool enabled)
{
    static char *debuginfo_path;
    static const Dwfl_Callbacks cb = {
        .find_elf = dwfl_build_id_find_elf,
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
        .debuginfo_path = &debuginfo_path,
    };
    struct mod *mods = calloc(r->nmodules ? r->nmodules : 1, sizeof *mods);
    if (!mods)
        return;
    Dwfl *dwfl = enabled && r->nmodules ? dwfl_begin(&cb) : NULL;
    if (dwfl)
        dwfl_report_begin(dwfl);
    for (size_t i = 0; i < r->nmodules; i++) {
        mods[i].m = &r->modules[i];
        if (!dwfl)
            continue;
        Dwfl_Module *dm = dwfl_report_elf(dwfl, dpr_basename(r->modules[i].path), r->modules[i].path, -1,
                                          r->modules[i].base, false);
        if (dm && same_build_id(dm, r->modules[i].build_id))
            mods[i].dm = dm;
    }
    if (dwfl)
        dwfl_report_end(dwfl, NULL, NULL);
    for (size_t i = 0; i < r->nstacks; i++) {
        struct dpr_stack *s = &r->stacks[i];
        for (size_t j = 0; j < s->nframes; j++)
            resolve(&s->frames[j], mods, r->nmodules);
        s->symbolized = true;
    }
    if (dwfl)
        dwfl_end(dwfl);
    free(mods);
}

void dpr_frame_str(const struct dpr_frame *f, char *buf, size_t cap)
{
    if (f->function && f->file)
        snprintf(buf, cap, "%s (%s:%d)", f->function, dpr_basename(f->file), f->line);
    else if (f->function)
        snprintf(buf, cap, "%s (%s)", f->function, dpr_basename(f->module));
    else if (f->module)
        snprintf(buf, cap, "%s+0x%" PRIx64, dpr_basename(f->module), f->offset);
    else
        snprintf(buf, cap, "0x%" PRIx64, f->addr);
}
