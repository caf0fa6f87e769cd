/* Reading a drainprof/1 report (docs/report-format.md) into the model.
 * Whatever the bytes, this never crashes: each line is bounded, parsed with
 * json_tokener, and a field of the wrong JSON type counts as absent. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Longer lines are not something the library writes: refuse them rather
 * than let a corrupt file make us allocate without bound. */
#define MAX_LINE ((size_t)64 << 20)
#define MAX_FILE ((size_t)2 << 30)
/* No byte figure or count of a real process comes near 2^50 (1 PiB); larger
 * ones are corrupt, and refusing them keeps all later arithmetic in range. */
#define MAX_FIGURE ((int64_t)1 << 50)

bool dpr_quiet;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("drainprof-report: out of memory\n", stderr);
        exit(2);
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

static json_object *sub(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static json_object *subobj(json_object *o, const char *key)
{
    json_object *v = sub(o, key);
    return json_object_is_type(v, json_type_object) ? v : NULL;
}

static int64_t gi(json_object *o, const char *key)
{
    json_object *v = sub(o, key);
    if (json_object_is_type(v, json_type_int)) {
        int64_t x = json_object_get_int64(v);
        return x >= -MAX_FIGURE && x <= MAX_FIGURE ? x : DPR_NA;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (isfinite(d) && d >= (double)-MAX_FIGURE && d <= (double)MAX_FIGURE)
            return (int64_t)d;
    }
    return DPR_NA;
}

static double gd(json_object *o, const char *key)
{
    json_object *v = sub(o, key);
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        return isfinite(d) ? d : NAN;
    }
    return NAN;
}

static char *gs(json_object *o, const char *key)
{
    json_object *v = sub(o, key);
    return json_object_is_type(v, json_type_string) ? xstrdup(json_object_get_string(v)) : NULL;
}

static int64_t hexval(json_object *v)
{
    if (!json_object_is_type(v, json_type_string))
        return DPR_NA;
    const char *s = json_object_get_string(v);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 16);
    if (errno || end == s || *end || x > (unsigned long long)INT64_MAX)
        return DPR_NA;
    return (int64_t)x;
}

static int64_t gaddr(json_object *o, const char *key)
{
    return hexval(sub(o, key));
}

static bool gb(json_object *o, const char *key)
{
    json_object *v = sub(o, key);
    return json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static void parse_header(struct dpr_report *r, json_object *o)
{
    r->pid = gi(o, "pid");
    r->ppid = gi(o, "ppid");
    r->parent_report = gi(o, "parent_report");
    r->page_size = gi(o, "page_size");
    r->nproc = gi(o, "nproc");
    r->exe = gs(o, "exe");
    r->comm = gs(o, "comm");
    r->allocator = gs(o, "allocator");
    r->glibc_version = gs(o, "glibc_version");
    r->hostname = gs(o, "hostname");
    json_object *opt = subobj(o, "options");
    r->stacks_mode = gs(opt, "stacks");
    r->interval = gd(opt, "interval");
}

static void parse_module(struct dpr_report *r, json_object *o)
{
    char *path = gs(o, "path");
    int64_t base = gaddr(o, "base");
    if (!path || base == DPR_NA) {
        free(path);
        return;
    }
    r->modules = xrealloc(r->modules, (r->nmodules + 1) * sizeof *r->modules);
    struct dpr_module *m = &r->modules[r->nmodules++];
    m->path = path;
    m->base = (uint64_t)base;
    int64_t end = gaddr(o, "end");
    m->end = end == DPR_NA ? 0 : (uint64_t)end;
    m->build_id = gs(o, "build_id");
}

static void parse_stack(struct dpr_report *r, json_object *o)
{
    int64_t id = gi(o, "id");
    json_object *fr = sub(o, "frames");
    if (id == DPR_NA || !json_object_is_type(fr, json_type_array))
        return;
    size_t n = json_object_array_length(fr), k = 0;
    struct dpr_frame *frames = xrealloc(NULL, n * sizeof *frames);
    for (size_t i = 0; i < n; i++) {
        int64_t a = hexval(json_object_array_get_idx(fr, i));
        if (a == DPR_NA)
            continue;
        frames[k++] = (struct dpr_frame){.addr = (uint64_t)a};
    }
    r->stacks = xrealloc(r->stacks, (r->nstacks + 1) * sizeof *r->stacks);
    r->stacks[r->nstacks++] = (struct dpr_stack){.id = id, .frames = frames, .nframes = k};
}

static void parse_arenas(struct dpr_snap *s, json_object *a)
{
    if (!json_object_is_type(a, json_type_array))
        return;
    size_t n = json_object_array_length(a);
    s->arenas = xrealloc(NULL, n * sizeof *s->arenas);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(a, i);
        if (!json_object_is_type(o, json_type_object))
            continue;
        struct dpr_arena *x = &s->arenas[s->narenas++];
        x->index = gi(o, "index");
        x->main = gb(o, "main");
        x->system = gi(o, "system_bytes");
        x->resident = gi(o, "resident_bytes");
        x->live = gi(o, "live_bytes");
        x->live_chunks = gi(o, "live_chunks");
        x->free_bytes = gi(o, "free_bytes");
        x->heaps = gi(o, "heaps");
        x->anon_huge = gi(o, "anon_huge_bytes");
    }
}

static void parse_sites(struct dpr_snap *s, json_object *a)
{
    if (!json_object_is_type(a, json_type_array))
        return;
    size_t n = json_object_array_length(a);
    s->sites = xrealloc(NULL, n * sizeof *s->sites);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(a, i);
        if (!json_object_is_type(o, json_type_object))
            continue;
        struct dpr_site *x = &s->sites[s->nsites++];
        x->stack = gi(o, "stack");
        x->live = gi(o, "live_bytes");
        x->live_chunks = gi(o, "live_chunks");
        x->pinned_pages = gi(o, "pinned_pages");
        x->arena = gi(o, "arena");
    }
}

static void parse_snapshot(struct dpr_report *r, json_object *o)
{
    r->snaps = xrealloc(r->snaps, (r->nsnaps + 1) * sizeof *r->snaps);
    struct dpr_snap *s = &r->snaps[r->nsnaps++];
    memset(s, 0, sizeof *s);
    s->seq = gi(o, "seq");
    s->t = gd(o, "t");
    s->label = gs(o, "label");

    json_object *x = subobj(o, "rss");
    s->rss_total = gi(x, "total");
    s->rss_pss = gi(x, "pss");
    s->rss_uss = gi(x, "uss");
    s->rss_anon = gi(x, "anon");
    s->rss_file = gi(x, "file");
    s->rss_shmem = gi(x, "shmem");
    s->rss_swap = gi(x, "swap");
    s->rss_lazyfree = gi(x, "lazyfree");
    s->rss_anon_huge = gi(x, "anon_huge");
    s->rss_self = gi(x, "self");

    x = subobj(o, "heap");
    s->live = gi(x, "live_bytes");
    s->live_chunks = gi(x, "live_chunks");
    s->system = gi(x, "system_bytes");
    s->resident = gi(x, "resident_bytes");
    s->gap = gi(x, "gap_bytes");
    if (s->gap == DPR_NA && s->resident != DPR_NA && s->live != DPR_NA)
        s->gap = s->resident - s->live;

    parse_arenas(s, sub(o, "arenas"));

    x = subobj(o, "mmap_chunks");
    s->mmap_count = gi(x, "count");
    s->mmap_bytes = gi(x, "bytes");
    s->mmap_resident = gi(x, "resident_bytes");

    x = subobj(o, "large_in_heap");
    s->lih_count = gi(x, "count");
    s->lih_bytes = gi(x, "bytes");
    s->lih_threshold = gi(x, "threshold");

    x = subobj(o, "brk");
    s->brk_base = gaddr(x, "base");
    s->brk_top = gaddr(x, "top");
    s->brk_top_live_end = gaddr(x, "top_live_end");
    s->pinned = gi(x, "pinned_bytes");
    s->pinned_resident = gi(x, "pinned_resident_bytes");
    json_object *p = subobj(x, "pinner");
    s->pinner_addr = gaddr(p, "addr");
    s->pinner_size = gi(p, "size");
    s->pinner_stack = gi(p, "stack");

    x = subobj(o, "pages");
    s->pages_live = gi(x, "live");
    s->pages_empty_resident = gi(x, "empty_resident");
    s->pages_sparse = gi(x, "sparse");

    parse_sites(s, sub(o, "top_sites"));

    x = subobj(o, "trim");
    s->trim_mode = gs(x, "mode");
    s->trim_predicted = gi(x, "predicted_bytes");
    s->trim_released = gi(x, "released_bytes");
    s->trim_duration_ms = gd(x, "duration_ms");

    x = subobj(o, "counts");
    s->allocs = gi(x, "allocs");
    s->frees = gi(x, "frees");
    s->threads_seen = gi(x, "threads_seen");

    x = subobj(o, "psi");
    s->psi_some = gd(x, "some_avg10");
    s->psi_full = gd(x, "full_avg10");

    x = subobj(o, "cgroup");
    s->cg_usage = gi(x, "usage_bytes");
    s->cg_limit = gi(x, "limit_bytes");

    x = subobj(o, "system");
    s->mem_total = gi(x, "mem_total");
    s->mem_available = gi(x, "mem_available");
    s->swap_total = gi(x, "swap_total");
    s->swap_free = gi(x, "swap_free");
    s->pgmajfault = gi(x, "pgmajfault");
    s->pgscan_direct = gi(x, "pgscan_direct");
    s->allocstall = gi(x, "allocstall");
    s->compact_stall = gi(x, "compact_stall");
    s->thp_fault_fallback = gi(x, "thp_fault_fallback");

    x = subobj(o, "process");
    s->threads = gi(x, "threads");
    s->fds = gi(x, "fds");
    s->vm_swap = gi(x, "vm_swap");
    s->vm_hwm = gi(x, "vm_hwm");

    json_object_put(r->last_raw);
    r->last_raw = json_object_get(o);
}

/* Parses one line; NULL when it is not one whole JSON value. */
static json_object *parse_line(json_tokener *tok, const char *s, size_t n)
{
    json_tokener_reset(tok);
    json_object *o = json_tokener_parse_ex(tok, s, (int)n);
    if (!o)
        return NULL;
    size_t end = json_tokener_get_parse_end(tok);
    while (end < n && strchr(" \t\r", s[end]) && s[end])
        end++;
    if (end != n) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr(" \t\r", s[i]) || !s[i])
            return false;
    return true;
}

static int cmp_stack(const void *a, const void *b)
{
    const struct dpr_stack *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

int dpr_parse_buffer(const char *name, const char *buf, size_t len, struct dpr_report *r,
                     char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    r->file = xstrdup(name);
    r->pid = r->ppid = r->parent_report = r->page_size = r->nproc = DPR_NA;
    r->interval = r->end_t = NAN;
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return fail(err, errcap, "%s: out of memory", name);
    bool have_header = false;
    size_t lineno = 0, pos = 0;
    int rc = 0;
    while (pos < len) {
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        bool last_cut = !nl;
        pos += n + 1;
        lineno++;
        if (blank(s, n))
            continue;
        if (n > MAX_LINE) {
            rc = fail(err, errcap, "%s:%zu: line longer than %zu MiB", name, lineno, MAX_LINE >> 20);
            break;
        }
        json_object *o = parse_line(tok, s, n);
        if (!o && last_cut && have_header) {
            /* The process was killed mid-write: everything before is whole. */
            if (!dpr_quiet)
                fprintf(stderr, "drainprof-report: warning: %s:%zu: last line is cut (process killed?); read up to line %zu\n",
                        name, lineno, lineno - 1);
            r->cut = true;
            break;
        }
        if (!o) {
            rc = have_header ? fail(err, errcap, "%s:%zu: not JSON", name, lineno)
                             : fail(err, errcap, "%s: not a drainprof report (line %zu is not JSON)", name, lineno);
            break;
        }
        if (!json_object_is_type(o, json_type_object) && have_header) {
            /* Valid JSON of another shape: an unknown line type, ignored. */
            json_object_put(o);
            continue;
        }
        json_object *tv = sub(o, "type");
        const char *type = json_object_is_type(tv, json_type_string) ? json_object_get_string(tv) : "";
        if (!have_header) {
            json_object *fv = sub(o, "format");
            const char *fmt = json_object_is_type(fv, json_type_string) ? json_object_get_string(fv) : NULL;
            if (strcmp(type, "header"))
                rc = fail(err, errcap, "%s: not a drainprof report (no header line)", name);
            else if (!fmt || strcmp(fmt, "drainprof/1"))
                rc = fail(err, errcap, "%s: unsupported report format %s%s%s (expected \"drainprof/1\")", name,
                          fmt ? "\"" : "", fmt ? fmt : "(none)", fmt ? "\"" : "");
            else {
                parse_header(r, o);
                have_header = true;
            }
            json_object_put(o);
            if (rc)
                break;
            continue;
        }
        if (!strcmp(type, "module"))
            parse_module(r, o);
        else if (!strcmp(type, "stack"))
            parse_stack(r, o);
        else if (!strcmp(type, "snapshot"))
            parse_snapshot(r, o);
        else if (!strcmp(type, "end")) {
            r->ended = true;
            r->end_t = gd(o, "t");
        }
        json_object_put(o);
    }
    json_tokener_free(tok);
    if (!rc && !have_header)
        rc = fail(err, errcap, "%s: not a drainprof report (empty)", name);
    if (!rc && r->nstacks)
        qsort(r->stacks, r->nstacks, sizeof *r->stacks, cmp_stack);
    return rc;
}

int dpr_parse_file(const char *path, struct dpr_report *r, char *err, size_t errcap)
{
    memset(r, 0, sizeof *r);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errcap, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
        fclose(f);
        return fail(err, errcap, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > MAX_FILE) {
        fclose(f);
        return fail(err, errcap, "%s: larger than %zu GiB", path, MAX_FILE >> 30);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *buf = xrealloc(NULL, cap);
    size_t got;
    while ((got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            if (cap > MAX_FILE) {
                free(buf);
                fclose(f);
                return fail(err, errcap, "%s: larger than %zu GiB", path, MAX_FILE >> 30);
            }
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return fail(err, errcap, "%s: read error", path);
    }
    int rc = dpr_parse_buffer(path, buf, len, r, err, errcap);
    free(buf);
    return rc;
}

const struct dpr_stack *dpr_find_stack(const struct dpr_report *r, int64_t id)
{
    if (id == DPR_NA || !r->nstacks)
        return NULL;
    struct dpr_stack key = {.id = id};
    return bsearch(&key, r->stacks, r->nstacks, sizeof key, cmp_stack);
}

void dpr_report_free(struct dpr_report *r)
{
    free(r->file);
    free(r->exe);
    free(r->comm);
    free(r->allocator);
    free(r->glibc_version);
    free(r->hostname);
    free(r->stacks_mode);
    for (size_t i = 0; i < r->nmodules; i++) {
        free(r->modules[i].path);
        free(r->modules[i].build_id);
    }
    free(r->modules);
    for (size_t i = 0; i < r->nstacks; i++) {
        for (size_t j = 0; j < r->stacks[i].nframes; j++) {
            free(r->stacks[i].frames[j].function);
            free(r->stacks[i].frames[j].file);
            free(r->stacks[i].frames[j].module);
        }
        free(r->stacks[i].frames);
    }
    free(r->stacks);
    for (size_t i = 0; i < r->nsnaps; i++) {
        free(r->snaps[i].label);
        free(r->snaps[i].arenas);
        free(r->snaps[i].sites);
        free(r->snaps[i].trim_mode);
    }
    free(r->snaps);
    json_object_put(r->last_raw);
    memset(r, 0, sizeof *r);
}
