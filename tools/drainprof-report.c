/* drainprof-report: offline summarizer of libdrainprof reports
 * (docs/report-format.md). Reads one or more report files or directories,
 * symbolizes the stacks offline, and prints a summary per process as text
 * (default), JSON, Prometheus text exposition, or a self-contained HTML page.
 * Exit status: 0 done, 2 bad usage or an input it cannot read. */
#include "report/report.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fputs("usage: drainprof-report [--json | --prometheus | --html FILE] [--pid N] [--no-symbols]\n"
          "                        REPORT|DIR...\n"
          "Summarizes libdrainprof reports (drainprof.<comm>.<pid>.jsonl): system pressure,\n"
          "the process's memory, the trend of the gap between resident and live heap\n"
          "memory, and findings with their expected saving.\n"
          "  REPORT|DIR     report files, or directories whose *.jsonl files are read\n"
          "                 (in name order); each file is one process\n"
          "  --pid N        summarize only the reports of process N; without it, every\n"
          "                 process is summarized in turn (text and HTML: one after the\n"
          "                 other; --json: an array of objects when there are several;\n"
          "                 --prometheus: one sample set per process)\n"
          "  --json         machine-readable summary (docs/report-json.md)\n"
          "  --prometheus   text exposition format for node_exporter's textfile collector\n"
          "  --html FILE    self-contained HTML page with an SVG timeline, written to FILE\n"
          "  --no-symbols   do not read the modules' ELF files: frames stay module+offset\n"
          "The gap's trend is judged on the last 2/3 of the run (at least 4 snapshots over\n"
          "30 s): growing or shrinking when the fitted change exceeds both 5% of the mean\n"
          "gap and 1 MiB, else stable. Findings fire above both 10% of glibc-managed\n"
          "resident memory and 8-16 MiB.\n"
          "A report whose last line is cut is read up to its last whole line (warning on\n"
          "stderr). Exit status: 0 done; 1 output write error; 2 bad usage, or a missing,\n"
          "garbled or wrong-format report (one line on stderr).\n",
          f);
}

struct list {
    char **v;
    size_t n;
};

static void push(struct list *l, const char *s)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof *v);
    char *d = strdup(s);
    if (!v || !d) {
        fputs("drainprof-report: out of memory\n", stderr);
        exit(2);
    }
    l->v = v;
    l->v[l->n++] = d;
}

static int jsonl(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 6 && !strcmp(d->d_name + n - 6, ".jsonl");
}

/* Expands a directory into its report files; 0, or -1 after an error line. */
static int expand(struct list *files, const char *arg)
{
    struct stat st;
    if (stat(arg, &st)) {
        fprintf(stderr, "drainprof-report: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        push(files, arg);
        return 0;
    }
    struct dirent **names;
    int n = scandir(arg, &names, jsonl, alphasort);
    if (n < 0) {
        fprintf(stderr, "drainprof-report: %s: %s\n", arg, strerror(errno));
        return -1;
    }
    if (n == 0) {
        free(names);
        fprintf(stderr, "drainprof-report: %s: no *.jsonl report in this directory\n", arg);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", arg, names[i]->d_name);
        push(files, path);
        free(names[i]);
    }
    free(names);
    return 0;
}

int main(int argc, char **argv)
{
    enum { TEXT, JSON, PROM, HTML } mode = TEXT;
    const char *html = NULL;
    bool symbols = true, want_pid = false;
    int64_t pid = 0;
    struct list files = {0};
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json"))
            mode = JSON;
        else if (!strcmp(a, "--prometheus"))
            mode = PROM;
        else if (!strcmp(a, "--no-symbols"))
            symbols = false;
        else if (!strcmp(a, "--html") && i + 1 < argc) {
            mode = HTML;
            html = argv[++i];
        } else if (!strcmp(a, "--pid") && i + 1 < argc) {
            char *end;
            errno = 0;
            pid = strtoll(argv[++i], &end, 10);
            if (errno || *end || end == argv[i]) {
                fprintf(stderr, "drainprof-report: --pid wants a number, not \"%s\"\n", argv[i]);
                return 2;
            }
            want_pid = true;
        } else if (!strcmp(a, "--") && i + 1 < argc) {
            for (i++; i < argc; i++)
                if (expand(&files, argv[i]))
                    rc = 2;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "drainprof-report: unknown or incomplete option %s (see --help)\n", a);
            return 2;
        } else if (expand(&files, a))
            rc = 2;
    }
    if (!rc && !files.n) {
        usage(stderr);
        return 2;
    }
    struct dpr_report *reps = calloc(files.n ? files.n : 1, sizeof *reps);
    size_t nrep = 0, seen_len = 0;
    char seen[256] = "";
    for (size_t i = 0; !rc && i < files.n; i++) {
        char err[1024];
        if (dpr_parse_file(files.v[i], &reps[nrep], err, sizeof err)) {
            fprintf(stderr, "drainprof-report: %s\n", err);
            dpr_report_free(&reps[nrep]);
            rc = 2;
        } else if (want_pid && reps[nrep].pid != pid) {
            if (seen_len + 24 < sizeof seen)
                seen_len += reps[nrep].pid == DPR_NA
                                ? (size_t)snprintf(seen + seen_len, sizeof seen - seen_len, " ?")
                                : (size_t)snprintf(seen + seen_len, sizeof seen - seen_len, " %" PRId64, reps[nrep].pid);
            dpr_report_free(&reps[nrep]);
        }
        else
            nrep++;
    }
    if (!rc && !nrep) {
        fprintf(stderr, "drainprof-report: no report for pid %" PRId64 " (pids found:%s)\n", pid, seen);
        rc = 2;
    }
    FILE *out = stdout;
    if (!rc && mode == HTML && !(out = fopen(html, "w"))) {
        fprintf(stderr, "drainprof-report: %s: %s\n", html, strerror(errno));
        rc = 2;
    }
    if (!rc) {
        struct dpr_summary *sum = calloc(nrep, sizeof *sum);
        for (size_t i = 0; i < nrep; i++) {
            dpr_symbolize(&reps[i], symbols);
            dpr_summarize(&reps[i], &sum[i]);
        }
        if (mode == TEXT)
            for (size_t i = 0; i < nrep; i++) {
                if (i)
                    fputs("\n----------------------------------------------------------------\n\n", out);
                dpr_output_text(out, &sum[i]);
            }
        else if (mode == JSON) {
            json_object *o = NULL;
            if (nrep == 1)
                o = dpr_output_json(&sum[0]);
            else {
                o = json_object_new_array();
                for (size_t i = 0; i < nrep; i++)
                    json_object_array_add(o, dpr_output_json(&sum[i]));
            }
            fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE),
                  out);
            fputc('\n', out);
            json_object_put(o);
        } else if (mode == PROM)
            dpr_output_prom(out, sum, nrep);
        else
            dpr_output_html(out, sum, nrep);
        free(sum);
        if (fflush(out) || ferror(out) || (out != stdout && fclose(out))) {
            fprintf(stderr, "drainprof-report: write error: %s\n", strerror(errno));
            rc = 1;
        }
    }
    for (size_t i = 0; i < nrep; i++)
        dpr_report_free(&reps[i]);
    free(reps);
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    return rc;
}
