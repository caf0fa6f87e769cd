/* --html FILE: one self-contained page (inline CSS and SVG, no network):
 * a timeline of RSS, glibc-resident, live and gap, per-arena bars, the
 * findings and the text summary. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 900.0
#define H 320.0
#define ML 80.0
#define MR 20.0
#define MT 20.0
#define MB 40.0

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static int64_t series(const struct dpr_snap *s, int k)
{
    switch (k) {
    case 0: return s->rss_total;
    case 1: return s->resident;
    case 2: return s->live;
    default: return s->gap;
    }
}

static void timeline(FILE *f, const struct dpr_report *r)
{
    static const char *names[] = {"RSS", "glibc resident", "live", "gap"};
    static const char *colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};
    double t0 = INFINITY, t1 = -INFINITY, lo = 0, hi = 1;
    for (size_t i = 0; i < r->nsnaps; i++) {
        const struct dpr_snap *s = &r->snaps[i];
        if (!isfinite(s->t))
            continue;
        t0 = fmin(t0, s->t);
        t1 = fmax(t1, s->t);
        for (int k = 0; k < 4; k++)
            if (series(s, k) != DPR_NA) {
                lo = fmin(lo, (double)series(s, k));
                hi = fmax(hi, (double)series(s, k));
            }
    }
    if (!isfinite(t0)) {
        fputs("<p>No snapshots with a time.</p>\n", f);
        return;
    }
    if (t1 <= t0)
        t1 = t0 + 1;
    fprintf(f, "<svg class=\"timeline\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" xmlns=\"http://www.w3.org/2000/svg\">\n",
            W, H, W, H);
    fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n", ML, MT,
            W - ML - MR, H - MT - MB);
    double pw = W - ML - MR, ph = H - MT - MB;
    for (int g = 0; g <= 4; g++) {
        double v = lo + (hi - lo) * g / 4, y = MT + ph - ph * g / 4;
        char b[32];
        fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>", ML, W - MR, y, y);
        fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n", ML - 4, y + 4,
                dpr_bytes(dpr_i64(v), b, sizeof b));
        double t = t0 + (t1 - t0) * g / 4, x = ML + pw * g / 4;
        fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%.0f s</text>\n", x, H - MB + 16, t);
    }
    for (int k = 0; k < 4; k++) {
        fprintf(f, "<polyline class=\"series\" data-series=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"",
                names[k], colors[k]);
        bool first = true;
        for (size_t i = 0; i < r->nsnaps; i++) {
            const struct dpr_snap *s = &r->snaps[i];
            if (!isfinite(s->t) || series(s, k) == DPR_NA)
                continue;
            double x = ML + pw * (s->t - t0) / (t1 - t0);
            double y = MT + ph - ph * ((double)series(s, k) - lo) / (hi - lo);
            fprintf(f, "%s%.1f,%.1f", first ? "" : " ", x, y);
            first = false;
        }
        fputs("\"/>\n", f);
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"4\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s</text>\n",
                ML + 10 + k * 150, H - 12, colors[k], ML + 26 + k * 150, H - 6, names[k]);
    }
    fputs("</svg>\n", f);
}

static void arena_bars(FILE *f, const struct dpr_snap *l)
{
    if (!l || !l->narenas)
        return;
    double mx = 1;
    for (size_t i = 0; i < l->narenas; i++)
        if (l->arenas[i].resident != DPR_NA)
            mx = fmax(mx, (double)l->arenas[i].resident);
    double rowh = 22, h = rowh * (double)l->narenas + 10;
    fputs("<h2>Arenas (latest snapshot): resident, with the live part</h2>\n", f);
    fprintf(f, "<svg class=\"arenas\" width=\"%.0f\" height=\"%.0f\" xmlns=\"http://www.w3.org/2000/svg\">\n", W, h);
    for (size_t i = 0; i < l->narenas; i++) {
        const struct dpr_arena *a = &l->arenas[i];
        double y = 5 + rowh * (double)i, bw = W - 320;
        double res = a->resident == DPR_NA ? 0 : (double)a->resident, live = a->live == DPR_NA ? 0 : (double)a->live;
        char b1[32], b2[32];
        fprintf(f, "<text x=\"0\" y=\"%.0f\" font-size=\"12\">arena %lld%s</text>", y + 14, (long long)a->index,
                a->main ? " (main)" : "");
        fprintf(f, "<rect class=\"resident\" x=\"100\" y=\"%.0f\" width=\"%.1f\" height=\"16\" fill=\"#ffbb78\"/>", y,
                bw * res / mx);
        fprintf(f, "<rect class=\"live\" x=\"100\" y=\"%.0f\" width=\"%.1f\" height=\"16\" fill=\"#2ca02c\"/>", y,
                bw * fmin(live, res) / mx);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">%s resident, %s live</text>\n", 110 + bw, y + 14,
                dpr_bytes(a->resident, b1, sizeof b1), dpr_bytes(a->live, b2, sizeof b2));
    }
    fputs("</svg>\n", f);
}

static void section(FILE *f, const struct dpr_summary *s)
{
    const struct dpr_report *r = s->r;
    fputs("<section>\n<h1>", f);
    esc(f, r->exe ? r->exe : "?");
    fprintf(f, " (pid %lld)</h1>\n", (long long)(r->pid == DPR_NA ? -1 : r->pid));
    fputs("<p class=\"verdict\">System: ", f);
    esc(f, s->sys.verdict);
    fprintf(f, ". Gap trend: <b>%s</b>.</p>\n", dpr_verdict_name(s->trend.gap));
    fputs("<h2>Timeline</h2>\n", f);
    timeline(f, r);
    arena_bars(f, dpr_latest(r));
    fputs("<h2>Findings</h2>\n", f);
    if (!s->nfindings)
        fputs("<p>None above the thresholds.</p>\n", f);
    for (size_t i = 0; i < s->nfindings; i++) {
        const struct dpr_finding *x = &s->findings[i];
        char b[32];
        fprintf(f, "<div class=\"finding\"><h3>%s: expected saving %s</h3><p><b>Observation:</b> ", x->id,
                dpr_bytes(x->saving, b, sizeof b));
        esc(f, x->observation);
        fputs("</p><p><b>Likely cause:</b> ", f);
        esc(f, x->cause);
        fputs("</p><p><b>Try:</b> ", f);
        esc(f, x->action);
        fputs("</p></div>\n", f);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (m) {
        dpr_output_text(m, s);
        fclose(m);
        fputs("<details><summary>Full text summary</summary><pre>", f);
        esc(f, text);
        fputs("</pre></details>\n", f);
        free(text);
    }
    fputs("</section>\n", f);
}

void dpr_output_html(FILE *f, const struct dpr_summary *s, size_t n)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>drainprof report</title>\n"
          "<style>body{font-family:sans-serif;margin:2em;color:#222}section{margin-bottom:3em}"
          ".finding{border-left:4px solid #d62728;padding:0 1em;margin:1em 0;background:#fff5f5}"
          "pre{background:#f4f4f4;padding:1em;overflow:auto}.verdict{font-size:1.1em}</style>\n"
          "</head><body>\n",
          f);
    for (size_t i = 0; i < n; i++)
        section(f, &s[i]);
    fputs("</body></html>\n", f);
}
