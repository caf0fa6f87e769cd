/* Trend of the gap (resident - live) over the run, set against live bytes.
 *
 * Warm-up is dropped: the verdict is judged on the last 2/3 of the run by
 * time, and needs at least MIN_POINTS snapshots spanning MIN_WINDOW seconds.
 * A least-squares slope over that window, times the window, is the growth;
 * it counts as growing (shrinking) only when it exceeds both GROW_RATIO of
 * the mean |gap| and GROW_FLOOR bytes, so noise and small processes stay
 * "stable". The gap is a structural leak when it grows while live bytes grow
 * by less than half as much. */
#include "report.h"

#include <math.h>

#define MIN_POINTS 4
#define MIN_WINDOW 30.0
#define GROW_RATIO 0.05
#define GROW_FLOOR ((double)DPR_MIB)

const char *dpr_verdict_name(enum dpr_verdict v)
{
    switch (v) {
    case DPR_STABLE: return "stable";
    case DPR_GROWING: return "growing";
    case DPR_SHRINKING: return "shrinking";
    default: return "insufficient-data";
    }
}

static int64_t field(const struct dpr_snap *s, bool gap)
{
    return gap ? s->gap : s->live;
}

/* Least-squares slope of the field over snapshots with t >= from. */
static double slope(const struct dpr_report *r, bool gap, double from, size_t *np, double *tmin,
                    double *tmax, double *mean)
{
    double st = 0, sv = 0, stt = 0, stv = 0;
    size_t n = 0;
    *tmin = INFINITY;
    *tmax = -INFINITY;
    for (size_t i = 0; i < r->nsnaps; i++) {
        const struct dpr_snap *s = &r->snaps[i];
        if (!isfinite(s->t) || s->t < from || field(s, gap) == DPR_NA)
            continue;
        double v = (double)field(s, gap);
        st += s->t;
        sv += v;
        n++;
        if (s->t < *tmin)
            *tmin = s->t;
        if (s->t > *tmax)
            *tmax = s->t;
    }
    *np = n;
    if (n < 2)
        return NAN;
    double mt = st / n, mv = sv / n;
    for (size_t i = 0; i < r->nsnaps; i++) {
        const struct dpr_snap *s = &r->snaps[i];
        if (!isfinite(s->t) || s->t < from || field(s, gap) == DPR_NA)
            continue;
        double dt = s->t - mt;
        stt += dt * dt;
        stv += dt * ((double)field(s, gap) - mv);
    }
    *mean = mv;
    return stt > 0 ? stv / stt : NAN;
}

static enum dpr_verdict judge(double sl, double window, double mean, size_t n)
{
    if (n < MIN_POINTS || window < MIN_WINDOW || !isfinite(sl))
        return DPR_INSUFFICIENT;
    double growth = sl * window;
    double limit = fmax(GROW_RATIO * fabs(mean), GROW_FLOOR);
    if (growth > limit)
        return DPR_GROWING;
    if (growth < -limit)
        return DPR_SHRINKING;
    return DPR_STABLE;
}

void dpr_trend(const struct dpr_report *r, struct dpr_trend *o)
{
    double t0 = INFINITY, t1 = -INFINITY;
    for (size_t i = 0; i < r->nsnaps; i++) {
        double t = r->snaps[i].t;
        if (isfinite(t)) {
            t0 = fmin(t0, t);
            t1 = fmax(t1, t);
        }
    }
    *o = (struct dpr_trend){.gap = DPR_INSUFFICIENT, .live = DPR_INSUFFICIENT,
                            .gap_slope = NAN, .live_slope = NAN, .gap_mean = NAN};
    if (!isfinite(t0))
        return;
    double from = t0 + (t1 - t0) / 3;
    double a, b, lmean;
    size_t ln;
    o->gap_slope = slope(r, true, from, &o->npoints, &a, &b, &o->gap_mean);
    o->window_start = o->npoints ? a : from;
    o->window_s = o->npoints ? b - a : 0;
    o->gap = judge(o->gap_slope, o->window_s, o->gap_mean, o->npoints);
    o->live_slope = slope(r, false, from, &ln, &a, &b, &lmean);
    o->live = judge(o->live_slope, ln ? b - a : 0, lmean, ln);
    o->structural = o->gap == DPR_GROWING &&
                    !(isfinite(o->live_slope) && o->live_slope > 0.5 * o->gap_slope);
}
