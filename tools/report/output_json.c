/* --json: the summary as one JSON object (docs/report-json.md). Figures the
 * report lacks are null; doubles are written with a fixed precision so the
 * output is deterministic. */
#include "report.h"

#include <inttypes.h>
#include <math.h>

static json_object *jint(int64_t v)
{
    return v == DPR_NA ? NULL : json_object_new_int64(v);
}

static json_object *jdbl(double v, const char *fmt)
{
    if (!isfinite(v))
        return NULL;
    char b[64];
    snprintf(b, sizeof b, fmt, v);
    return json_object_new_double_s(v, b);
}

static json_object *jstr(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *jhex(int64_t v)
{
    char b[24];
    if (v == DPR_NA)
        return NULL;
    snprintf(b, sizeof b, "0x%" PRIx64, (uint64_t)v);
    return json_object_new_string(b);
}

static void set(json_object *o, const char *k, json_object *v)
{
    json_object_object_add(o, k, v);
}

static json_object *frames(const struct dpr_report *r, int64_t id)
{
    const struct dpr_stack *st = dpr_find_stack(r, id);
    if (!st)
        return NULL;
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < st->nframes; i++) {
        const struct dpr_frame *f = &st->frames[i];
        json_object *o = json_object_new_object();
        set(o, "address", jhex((int64_t)f->addr));
        set(o, "function", jstr(f->function));
        set(o, "file", jstr(f->file));
        set(o, "line", f->line ? json_object_new_int(f->line) : NULL);
        set(o, "module", jstr(f->module));
        set(o, "offset", f->module ? jhex((int64_t)f->offset) : NULL);
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *process(const struct dpr_report *r)
{
    json_object *o = json_object_new_object();
    set(o, "file", jstr(r->file));
    set(o, "pid", jint(r->pid));
    set(o, "ppid", jint(r->ppid));
    set(o, "parent_report", jint(r->parent_report));
    set(o, "exe", jstr(r->exe));
    set(o, "comm", jstr(r->comm));
    set(o, "hostname", jstr(r->hostname));
    set(o, "allocator", jstr(r->allocator));
    set(o, "glibc_version", jstr(r->glibc_version));
    set(o, "nproc", jint(r->nproc));
    set(o, "duration_s", jdbl(dpr_duration(r), "%.3f"));
    set(o, "complete", json_object_new_boolean(r->ended));
    set(o, "cut", json_object_new_boolean(r->cut));
    return o;
}

static json_object *sys(const struct dpr_system *y)
{
    json_object *o = json_object_new_object();
    set(o, "psi_some_avg10", jdbl(y->psi_some_last, "%.2f"));
    set(o, "psi_full_avg10", jdbl(y->psi_full_last, "%.2f"));
    set(o, "psi_some_avg10_max", jdbl(y->psi_some_max, "%.2f"));
    set(o, "psi_full_avg10_max", jdbl(y->psi_full_max, "%.2f"));
    set(o, "mem_total", jint(y->mem_total));
    set(o, "mem_available", jint(y->mem_available));
    set(o, "mem_available_min", jint(y->min_available));
    set(o, "swap_used", jint(y->swap_used));
    json_object *rc = json_object_new_object();
    set(rc, "pgmajfault", jint(y->pgmajfault));
    set(rc, "pgscan_direct", jint(y->pgscan_direct));
    set(rc, "allocstall", jint(y->allocstall));
    set(rc, "compact_stall", jint(y->compact_stall));
    set(o, "reclaim", rc);
    set(o, "verdict", jstr(y->verdict));
    return o;
}

static json_object *trend(const struct dpr_trend *t)
{
    json_object *o = json_object_new_object(), *g = json_object_new_object(), *l = json_object_new_object();
    set(g, "verdict", jstr(dpr_verdict_name(t->gap)));
    set(g, "slope_bytes_per_s", jdbl(t->gap_slope, "%.1f"));
    set(g, "slope_bytes_per_min", jdbl(t->gap_slope * 60, "%.0f"));
    set(g, "window_s", jdbl(t->window_s, "%.3f"));
    set(g, "window_start_s", jdbl(t->window_start, "%.3f"));
    set(g, "points", json_object_new_int64((int64_t)t->npoints));
    set(g, "mean_bytes", jdbl(t->gap_mean, "%.0f"));
    set(l, "verdict", jstr(dpr_verdict_name(t->live)));
    set(l, "slope_bytes_per_s", jdbl(t->live_slope, "%.1f"));
    set(o, "gap", g);
    set(o, "live", l);
    set(o, "structural_leak", json_object_new_boolean(t->structural));
    return o;
}

static json_object *arenas(const struct dpr_snap *l)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; l && i < l->narenas; i++) {
        const struct dpr_arena *x = &l->arenas[i];
        json_object *o = json_object_new_object();
        set(o, "index", jint(x->index));
        set(o, "main", json_object_new_boolean(x->main));
        set(o, "system_bytes", jint(x->system));
        set(o, "resident_bytes", jint(x->resident));
        set(o, "live_bytes", jint(x->live));
        set(o, "free_bytes", jint(x->free_bytes));
        set(o, "gap_share", jdbl(dpr_arena_gap_share(l, x), "%.4f"));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *pinned(const struct dpr_report *r, const struct dpr_snap *l)
{
    if (!l || l->pinned == DPR_NA)
        return NULL;
    json_object *o = json_object_new_object();
    set(o, "bytes", jint(l->pinned));
    set(o, "resident_bytes", jint(l->pinned_resident));
    set(o, "pinner_addr", jhex(l->pinner_addr));
    set(o, "pinner_size", jint(l->pinner_size));
    set(o, "stack", jint(l->pinner_stack));
    set(o, "site", frames(r, l->pinner_stack));
    return o;
}

static json_object *sites(const struct dpr_report *r, const struct dpr_snap *l)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; l && i < l->nsites; i++) {
        const struct dpr_site *x = &l->sites[i];
        json_object *o = json_object_new_object();
        set(o, "stack", jint(x->stack));
        set(o, "live_bytes", jint(x->live));
        set(o, "live_chunks", jint(x->live_chunks));
        set(o, "pinned_pages", jint(x->pinned_pages));
        set(o, "arena", jint(x->arena));
        set(o, "frames", frames(r, x->stack));
        json_object_array_add(a, o);
    }
    return a;
}

static json_object *recs(const struct dpr_summary *s)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; i < s->nfindings; i++) {
        const struct dpr_finding *f = &s->findings[i];
        json_object *o = json_object_new_object();
        char text[1600];
        snprintf(text, sizeof text, "%s. Likely cause: %s. Try: %s.", f->observation, f->cause, f->action);
        set(o, "id", jstr(f->id));
        set(o, "text", jstr(text));
        set(o, "observation", jstr(f->observation));
        set(o, "cause", jstr(f->cause));
        set(o, "action", jstr(f->action));
        set(o, "expected_saving_bytes", jint(f->saving));
        json_object_array_add(a, o);
    }
    return a;
}

json_object *dpr_output_json(const struct dpr_summary *s)
{
    const struct dpr_report *r = s->r;
    const struct dpr_snap *l = dpr_latest(r);
    json_object *o = json_object_new_object();
    set(o, "format", jstr("drainprof-report/1"));
    set(o, "process", process(r));
    set(o, "snapshots", json_object_new_int64((int64_t)r->nsnaps));
    set(o, "system", sys(&s->sys));
    set(o, "latest", r->last_raw ? json_object_get(r->last_raw) : NULL);
    set(o, "trend", trend(&s->trend));
    set(o, "arenas", arenas(l));
    set(o, "pinned_top", pinned(r, l));
    set(o, "top_sites", sites(r, l));
    set(o, "recommendations", recs(s));
    return o;
}
