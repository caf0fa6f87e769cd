#include "options.h"
#include "dp.h"

#include <stdio.h>
#include <string.h>

struct dp_options dp_opt;

enum kind { K_DECIMAL, K_SIZE, K_WORD, K_PATH };

/* The options table. The README's table mirrors it row for row. */
static const struct option_def {
    const char *name;
    enum kind kind;
    const char *dflt;
    double min, max;
    const char *const *words;
    size_t off;
    const char *doc;
} defs[] = {
    {"DRAINPROF_INTERVAL", K_DECIMAL, "5", 0, 86400, NULL, offsetof(struct dp_options, interval),
     "seconds between snapshots (decimal); 0 = only at exit and on request"},
    {"DRAINPROF_DIR", K_PATH, "", 0, 0, NULL, offsetof(struct dp_options, dir),
     "directory for report files (default: the working directory at start)"},
    {"DRAINPROF_STACKS", K_WORD, "sample", 0, 0, (const char *const[]){"off", "sample", "all", NULL},
     offsetof(struct dp_options, stacks), "allocation stacks: off, sample (by bytes) or all"},
    {"DRAINPROF_SAMPLE", K_SIZE, "524288", 1, (double)(1ull << 40), NULL, offsetof(struct dp_options, sample),
     "mean bytes between sampled allocations in sample mode"},
    {"DRAINPROF_TRIM", K_WORD, "off", 0, 0, (const char *const[]){"off", "dry-run", "on", NULL},
     offsetof(struct dp_options, trim), "malloc_trim experiment at each snapshot: off, dry-run or on"},
    {"DRAINPROF_TRIM_MAX_RSS", K_SIZE, "4294967296", 0, (double)(1ull << 50), NULL,
     offsetof(struct dp_options, trim_max_rss), "dry-run is skipped for a process with more RSS (bytes)"},
    {"DRAINPROF_FOLLOW", K_WORD, "0", 0, 0, (const char *const[]){"0", "1", NULL},
     offsetof(struct dp_options, follow), "1 = also profile programs its children exec (an exec that keeps the pid is always followed)"},
    {"DRAINPROF_DEPTH", K_SIZE, "24", 1, 64, NULL, offsetof(struct dp_options, depth),
     "frames kept per allocation stack"},
    {"DRAINPROF_ENABLE", K_WORD, "1", 0, 0, (const char *const[]){"0", "1", NULL},
     offsetof(struct dp_options, enabled), "0 = load but do nothing (forward every call)"},
};

int dp_parse_decimal(const char *s, double *out)
{
    double v = 0, scale = 1;
    int digits = 0, dot = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9') {
            if (dot)
                v += (*s - '0') * (scale /= 10);
            else
                v = v * 10 + (*s - '0');
            if (v > 1e15)
                return -1;
            digits++;
        } else if (*s == '.' && !dot) {
            dot = 1;
        } else {
            return -1;
        }
    }
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

/* Whole bytes, with an optional k/m/g suffix (powers of 1024). */
int dp_parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (!digits)
        return -1;
    int shift = 0;
    switch (*s) {
    case 'k': case 'K': shift = 10; s++; break;
    case 'm': case 'M': shift = 20; s++; break;
    case 'g': case 'G': shift = 30; s++; break;
    default: break;
    }
    if (*s || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = v << shift;
    return 0;
}


static int apply(struct dp_options *o, const struct option_def *d, const char *val)
{
    char *field = (char *)o + d->off;
    switch (d->kind) {
    case K_DECIMAL: {
        double v;
        if (dp_parse_decimal(val, &v) || v < d->min || v > d->max)
            return -1;
        *(double *)field = v;
        return 0;
    }
    case K_SIZE: {
        uint64_t v;
        if (dp_parse_size(val, &v) || (double)v < d->min || (double)v > d->max)
            return -1;
        if (d->off == offsetof(struct dp_options, depth))
            *(int *)field = (int)v;
        else
            *(uint64_t *)field = v;
        return 0;
    }
    case K_WORD:
        for (int i = 0; d->words[i]; i++)
            if (!strcmp(val, d->words[i])) {
                *(int *)field = i;
                return 0;
            }
        return -1;
    case K_PATH:
        if (strlen(val) >= sizeof o->dir)
            return -1;
        strcpy(field, val);
        return 0;
    }
    return -1;
}

static void set_default(struct dp_options *o, const struct option_def *d)
{
    if (!DP_CHECK(apply(o, d, d->dflt) == 0))
        return;
}

void dp_options_parse(struct dp_options *o, const char *(*lookup)(const char *name))
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        const struct option_def *d = &defs[i];
        set_default(o, d);
        const char *val = lookup(d->name);
        if (!val)
            continue;
        if (apply(o, d, val) != 0) {
            set_default(o, d);
            dp_warn("libdrainprof: %s=\"%.64s\" is not valid (%s); using %s", d->name, val, d->doc,
                    d->dflt[0] ? d->dflt : "\"\" (working directory)");
        }
    }
}

/* JSON-escapes into buf; returns bytes written (never more than cap-1). */
static size_t json_str(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    if (cap < 3)
        return 0;
    buf[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = 0;
    return n;
}

size_t dp_options_json(const struct dp_options *o, char *buf, size_t cap)
{
    static const char *const stacks[] = {"off", "sample", "all"};
    static const char *const trims[] = {"off", "dry-run", "on"};
    char dir[1100];
    json_str(dir, sizeof dir, o->dir);
    int n = snprintf(buf, cap,
                     "{\"interval\":%.3f,\"dir\":%s,\"stacks\":\"%s\",\"sample\":%llu,\"trim\":\"%s\","
                     "\"trim_max_rss\":%llu,\"follow\":%s,\"depth\":%d,\"enabled\":%s}",
                     o->interval, dir, stacks[o->stacks], (unsigned long long)o->sample, trims[o->trim],
                     (unsigned long long)o->trim_max_rss, o->follow ? "true" : "false", o->depth,
                     o->enabled ? "true" : "false");
    return n < 0 ? 0 : (size_t)n >= cap ? cap - 1 : (size_t)n;
}
