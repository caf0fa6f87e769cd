/* Small helpers over the model that every output shares. */
#include "report.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

const struct dpr_snap *dpr_latest(const struct dpr_report *r)
{
    return r->nsnaps ? &r->snaps[r->nsnaps - 1] : NULL;
}

/* Binary units with one decimal (two for GiB), so goldens stay stable. */
char *dpr_bytes(int64_t v, char *buf, size_t cap)
{
    if (v == DPR_NA) {
        snprintf(buf, cap, "n/a");
        return buf;
    }
    double a = fabs((double)v);
    const char *sign = v < 0 ? "-" : "";
    if (a < 1024)
        snprintf(buf, cap, "%s%.0f B", sign, a);
    else if (a < 1024.0 * 1024)
        snprintf(buf, cap, "%s%.1f KiB", sign, a / 1024);
    else if (a < 1024.0 * 1024 * 1024)
        snprintf(buf, cap, "%s%.1f MiB", sign, a / (1024.0 * 1024));
    else
        snprintf(buf, cap, "%s%.2f GiB", sign, a / (1024.0 * 1024 * 1024));
    return buf;
}

/* Figures come from untrusted files: conversions and sums saturate rather
 * than overflow. */
int64_t dpr_i64(double v)
{
    if (isnan(v))
        return DPR_NA;
    if (v >= 9.2e18)
        return INT64_MAX;
    if (v <= -9.2e18)
        return INT64_MIN + 1;
    return (int64_t)v;
}

int64_t dpr_add(int64_t a, int64_t b)
{
    int64_t s;
    if (!__builtin_add_overflow(a, b, &s) && s != DPR_NA)
        return s;
    return b > 0 ? INT64_MAX : INT64_MIN + 1;
}

/* Seconds the report covers: the end line's t, else the last snapshot's. */
static int64_t arena_gap(const struct dpr_arena *a)
{
    if (a->resident == DPR_NA || a->live == DPR_NA)
        return DPR_NA;
    return a->resident > a->live ? a->resident - a->live : 0;
}

double dpr_arena_gap_share(const struct dpr_snap *l, const struct dpr_arena *a)
{
    int64_t total = 0, own = arena_gap(a);
    for (size_t i = 0; i < l->narenas; i++) {
        int64_t g = arena_gap(&l->arenas[i]);
        if (g == DPR_NA)
            return NAN;
        total = dpr_add(total, g);
    }
    return own == DPR_NA || total <= 0 ? NAN : (double)own / (double)total;
}

double dpr_duration(const struct dpr_report *r)
{
    if (r->ended && isfinite(r->end_t))
        return r->end_t;
    for (size_t i = r->nsnaps; i-- > 0;)
        if (isfinite(r->snaps[i].t))
            return r->snaps[i].t;
    return NAN;
}

const char *dpr_basename(const char *p)
{
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p;
}

void dpr_summarize(const struct dpr_report *r, struct dpr_summary *s)
{
    memset(s, 0, sizeof *s);
    s->r = r;
    dpr_trend(r, &s->trend);
    dpr_system(r, &s->sys);
    s->nfindings = dpr_findings(r, &s->trend, s->findings);
}
